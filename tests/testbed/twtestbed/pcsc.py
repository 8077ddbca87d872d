"""A small ctypes binding of libpcsclite, bound to one private pcscd.

libpcsclite reads PCSCLITE_CSOCK_NAME once, on its first call, and keeps it
in a static buffer for the life of the process.  So that one process can
talk to several test beds one after another, every socket path gets its own
*copy* of the library file (a separate dlopen() with separate statics),
first called while PCSCLITE_CSOCK_NAME names that socket.

Layout (Linux x86_64, pcsc-lite 1.9.9, /usr/include/PCSC/): DWORD is
`unsigned long`, LONG and SCARDCONTEXT are `long`; SCARD_READERSTATE has its
natural alignment (#pragma pack(1) is for __APPLE__ only), i.e. 80 bytes.
"""

import ctypes
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass

LIBPCSCLITE = "/usr/lib/x86_64-linux-gnu/libpcsclite.so.1"

SCARD_S_SUCCESS = 0x00000000
SCARD_E_TIMEOUT = 0x8010000A
SCARD_F_COMM_ERROR = 0x80100013
SCARD_E_NO_SERVICE = 0x8010001D
SCARD_E_SERVICE_STOPPED = 0x8010001E
SCARD_E_NO_READERS_AVAILABLE = 0x8010002E
SCARD_E_UNKNOWN_READER = 0x80100009

SCARD_SCOPE_SYSTEM = 2
INFINITE = 0xFFFFFFFF

SCARD_STATE_UNAWARE = 0x0000
SCARD_STATE_CHANGED = 0x0002
SCARD_STATE_UNKNOWN = 0x0004
SCARD_STATE_UNAVAILABLE = 0x0008
SCARD_STATE_EMPTY = 0x0010
SCARD_STATE_PRESENT = 0x0020
SCARD_STATE_MUTE = 0x0200

_ERROR_NAMES = {
    SCARD_E_TIMEOUT: "SCARD_E_TIMEOUT",
    SCARD_F_COMM_ERROR: "SCARD_F_COMM_ERROR",
    SCARD_E_NO_SERVICE: "SCARD_E_NO_SERVICE",
    SCARD_E_SERVICE_STOPPED: "SCARD_E_SERVICE_STOPPED",
    SCARD_E_NO_READERS_AVAILABLE: "SCARD_E_NO_READERS_AVAILABLE",
    SCARD_E_UNKNOWN_READER: "SCARD_E_UNKNOWN_READER",
}

DWORD = ctypes.c_ulong
LONG = ctypes.c_long
SCARDCONTEXT = LONG


class SCARD_READERSTATE(ctypes.Structure):
    _fields_ = [
        ("szReader", ctypes.c_char_p),
        ("pvUserData", ctypes.c_void_p),
        ("dwCurrentState", DWORD),
        ("dwEventState", DWORD),
        ("cbAtr", DWORD),
        ("rgbAtr", ctypes.c_ubyte * 33),
    ]


assert ctypes.sizeof(SCARD_READERSTATE) == 80


class PcscError(Exception):
    def __init__(self, function, code):
        self.function = function
        self.code = code & 0xFFFFFFFF
        super().__init__("%s: %s (0x%08X)" % (
            function, _ERROR_NAMES.get(self.code, "error"), self.code))


@dataclass(frozen=True)
class ReaderState:
    reader: str
    state: int        # SCARD_STATE_* bits of dwEventState (lower 16 bits)
    counter: int      # pcsc-lite's event counter (upper 16 bits)
    atr: bytes
    raw: int          # dwEventState as returned

    @property
    def present(self):
        return bool(self.state & SCARD_STATE_PRESENT)

    @property
    def empty(self):
        return bool(self.state & SCARD_STATE_EMPTY)


_libs = {}                # socket path -> loaded private copy
_libs_lock = threading.Lock()


def _load_for(socket_path):
    with _libs_lock:
        lib = _libs.get(socket_path)
        if lib is not None:
            return lib
        fd, copy = tempfile.mkstemp(prefix="twtestbed-libpcsclite-",
                                    suffix=".so",
                                    dir=os.path.dirname(socket_path))
        os.close(fd)
        try:
            shutil.copyfile(LIBPCSCLITE, copy)
            lib = ctypes.CDLL(copy)
        finally:
            os.unlink(copy)    # stays mapped
        lib.SCardEstablishContext.argtypes = (
            DWORD, ctypes.c_void_p, ctypes.c_void_p,
            ctypes.POINTER(SCARDCONTEXT))
        lib.SCardReleaseContext.argtypes = (SCARDCONTEXT,)
        lib.SCardListReaders.argtypes = (
            SCARDCONTEXT, ctypes.c_char_p, ctypes.c_char_p,
            ctypes.POINTER(DWORD))
        lib.SCardGetStatusChange.argtypes = (
            SCARDCONTEXT, DWORD, ctypes.POINTER(SCARD_READERSTATE), DWORD)
        for fn in (lib.SCardEstablishContext, lib.SCardReleaseContext,
                   lib.SCardListReaders, lib.SCardGetStatusChange):
            fn.restype = LONG
        # Fix the socket name of this copy: its first call reads the
        # variable (the context is released at once, if one was made).
        saved = os.environ.get("PCSCLITE_CSOCK_NAME")
        os.environ["PCSCLITE_CSOCK_NAME"] = socket_path
        try:
            ctx = SCARDCONTEXT()
            if lib.SCardEstablishContext(SCARD_SCOPE_SYSTEM, None, None,
                                         ctypes.byref(ctx)) == 0:
                lib.SCardReleaseContext(ctx)
        finally:
            if saved is None:
                del os.environ["PCSCLITE_CSOCK_NAME"]
            else:
                os.environ["PCSCLITE_CSOCK_NAME"] = saved
        _libs[socket_path] = lib
        return lib


def _check(function, rv):
    if rv != SCARD_S_SUCCESS:
        raise PcscError(function, rv)


class Context:
    """One SCARDCONTEXT (a connection to pcscd).  Use as a context manager.

    A context must not be used by two threads at once."""

    def __init__(self, lib):
        self._lib = lib
        self._handle = SCARDCONTEXT()
        _check("SCardEstablishContext", lib.SCardEstablishContext(
            SCARD_SCOPE_SYSTEM, None, None, ctypes.byref(self._handle)))
        self._released = False

    def release(self):
        if not self._released:
            self._released = True
            # Fails with a transport error once pcscd is gone: nothing to do.
            self._lib.SCardReleaseContext(self._handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def list_readers(self):
        """Reader names in pcscd's order; [] when there are none."""
        size = DWORD(0)
        rv = self._lib.SCardListReaders(self._handle, None, None,
                                        ctypes.byref(size))
        if rv == SCARD_E_NO_READERS_AVAILABLE:
            return []
        _check("SCardListReaders", rv)
        buf = ctypes.create_string_buffer(size.value)
        rv = self._lib.SCardListReaders(self._handle, None, buf,
                                        ctypes.byref(size))
        if rv == SCARD_E_NO_READERS_AVAILABLE:
            return []
        _check("SCardListReaders", rv)
        # Multi-string: names separated by NUL, ended by an empty name.
        return [os.fsdecode(n) for n in buf.raw[:size.value].split(b"\0") if n]

    def get_status_change(self, reader, current_state, timeout_ms):
        """One SCardGetStatusChange call for one reader.

        `current_state` is what the caller believes (a raw dwEventState
        from before, or SCARD_STATE_UNAWARE); returns the new ReaderState.
        Raises PcscError, e.g. SCARD_E_TIMEOUT."""
        rs = SCARD_READERSTATE()
        rs.szReader = os.fsencode(reader)
        rs.dwCurrentState = current_state
        timeout = INFINITE if timeout_ms is None else int(timeout_ms)
        _check("SCardGetStatusChange", self._lib.SCardGetStatusChange(
            self._handle, timeout, ctypes.byref(rs), 1))
        raw = rs.dwEventState
        return ReaderState(reader=reader, state=raw & 0xFFFF,
                           counter=(raw >> 16) & 0xFFFF,
                           atr=bytes(rs.rgbAtr[:rs.cbAtr]), raw=raw)

    def status(self, reader):
        """The reader's current state, without waiting."""
        return self.get_status_change(reader, SCARD_STATE_UNAWARE, 0)

    def wait_for(self, reader, state_bit, timeout, since=None):
        """Wait until the reader's state has `state_bit` (e.g.
        SCARD_STATE_PRESENT) and, if `since` (a ReaderState) is given,
        its event counter has moved past since.counter.

        Returns the ReaderState; raises PcscError(SCARD_E_TIMEOUT)."""
        deadline = time.monotonic() + timeout
        cur = self.status(reader)
        while not (cur.state & state_bit and
                   (since is None or cur.counter != since.counter)):
            left = deadline - time.monotonic()
            if left <= 0:
                raise PcscError("SCardGetStatusChange", SCARD_E_TIMEOUT)
            cur = self.get_status_change(reader, cur.raw,
                                         max(1, int(left * 1000)))
        return cur


class PcscClient:
    """libpcsclite talking to the pcscd behind `socket_path`."""

    def __init__(self, socket_path):
        self.socket_path = os.path.abspath(socket_path)
        self._lib = _load_for(self.socket_path)

    def context(self):
        """A new Context (raises PcscError, e.g. SCARD_E_NO_SERVICE)."""
        return Context(self._lib)

    def list_readers(self):
        with self.context() as ctx:
            return ctx.list_readers()

    def status(self, reader):
        with self.context() as ctx:
            return ctx.status(reader)

    def wait_for(self, reader, state_bit, timeout, since=None):
        with self.context() as ctx:
            return ctx.wait_for(reader, state_bit, timeout, since)
