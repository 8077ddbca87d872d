"""A private pcscd with vpcd virtual readers.

Each reader.conf entry of vpcd gives two readers (`Virtual PCD <i> 00 00` on
TCP port P, `Virtual PCD <i> 00 01` on P+1).  Every entry needs its own copy
of libifdvpcd.so (the driver keeps its sockets in a static array indexed by
Lun & 0xffff, so entries sharing the .so clobber each other) and its own
FRIENDLYNAME (or reader names repeat).  vpcd listens on 0.0.0.0 and a busy
port only costs a reader (pcscd logs `Open Port 0x0 Failed` and goes on),
so ports are picked free, at random, and the reader list is checked after
start; on a mismatch pcscd is restarted on other ports.
"""

import os
import random
import re
import shutil
import socket
import time
import warnings

from . import pcsc
from .procs import PYTHON, Proc, ProcError
from .sockact import WARNING_TAG

VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
PCSCD = "/usr/sbin/pcscd"
_SOCKACT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "sockact.py")
FIRST_PORT = 35970       # above the system vpcd's 35963/35964
LAST_PORT = 60000
_READY = re.compile(r"daemon ready")
_APDU = re.compile(r"^\d+ (APDU|SW): ((?:[0-9A-F]{2} )*)", re.M)
_EVENT = re.compile(r"Card (inserted into|Removed From) (.+)$", re.M)


def friendly_name(entry):
    return b"Virtual PCD %d" % entry


def reader_name(entry, slot, friendly=None):
    """The name pcscd gives a vpcd reader; non-UTF-8 bytes of a friendly
    name come back as surrogates (os.fsdecode), as pcscd gives them."""
    # pcscd cuts the friendly name so that the whole fits MAX_READERNAME
    # (128 bytes with the NUL): 121 bytes and " 00 00"
    name = (friendly or friendly_name(entry))[:121] + b" 00 %02X" % slot
    return os.fsdecode(name)


def _port_pair_free(port):
    """True if `port` and `port`+1 can both be bound on 0.0.0.0 now."""
    socks = []
    try:
        for p in (port, port + 1):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.bind(("0.0.0.0", p))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def pick_port_pairs(count, avoid=()):
    """`count` free (P, P+1) base ports, random in FIRST_PORT..LAST_PORT."""
    rng = random.SystemRandom()
    chosen = []
    for _ in range(1000):
        if len(chosen) == count:
            return chosen
        port = FIRST_PORT + 2 * rng.randrange((LAST_PORT - FIRST_PORT) // 2)
        if port in chosen or port in avoid:
            continue
        if _port_pair_free(port):
            chosen.append(port)
    raise RuntimeError("no %d free vpcd port pairs found" % count)


class PcscdError(RuntimeError):
    pass


class Pcscd:
    """A pcscd on a private socket `workdir`/pcscd.comm.

    `entries` vpcd entries give 2*entries readers.  Use as a context
    manager, or call start() and stop().  `isolate` runs it in a private
    mount namespace (see sockact.py)."""

    def __init__(self, workdir, entries=2, *, isolate=True,
                 start_timeout=10.0, attempts=5, friendly_names=None):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.socket_path = os.path.join(self.workdir, "pcscd.comm")
        if len(self.socket_path.encode()) >= 108:
            raise PcscdError("socket path too long for AF_UNIX: %s"
                             % self.socket_path)
        self.log_path = os.path.join(self.workdir, "pcscd.log")
        self.entries = entries
        # bytes per entry, to give readers odd names (not UTF-8, long)
        self.friendly_names = dict(enumerate(friendly_names or ()))
        self.isolate = isolate
        self.start_timeout = start_timeout
        self.attempts = attempts
        self.isolated = None     # known after start
        self.ports = []          # base port of each entry
        self.proc = None
        self.client = pcsc.PcscClient(self.socket_path)

    # -- configuration ---------------------------------------------------
    @property
    def reader_names(self):
        """Reader names in reader-index order (entry i: 2i, 2i+1)."""
        return [reader_name(e, s, self.friendly_names.get(e))
                for e in range(self.entries) for s in (0, 1)]

    def port_for(self, reader_index):
        """The TCP port a card must connect to for this reader."""
        if not 0 <= reader_index < 2 * self.entries:
            raise IndexError("reader %d of %d" % (reader_index,
                                                  2 * self.entries))
        return self.ports[reader_index // 2] + reader_index % 2

    def _write_config(self):
        drivers = os.path.join(self.workdir, "drivers")
        confdir = os.path.join(self.workdir, "reader.conf.d")
        os.makedirs(drivers, exist_ok=True)
        # Only our file may be in it: pcscd reads every file there.
        shutil.rmtree(confdir, ignore_errors=True)
        os.makedirs(confdir)
        stanzas = []
        for i, port in enumerate(self.ports):
            lib = os.path.join(drivers, "libifdvpcd-%d.so" % i)
            if not os.path.exists(lib):
                shutil.copyfile(os.path.realpath(VPCD_DRIVER), lib)
            stanzas.append(
                b'FRIENDLYNAME "%s"\n'
                b"DEVICENAME   /dev/null:0x%04X\n"
                b"LIBPATH      %s\n"
                b"CHANNELID    0x%04X\n"
                % (self.friendly_names.get(i, friendly_name(i)), port,
                   os.fsencode(lib), port))
        with open(os.path.join(confdir, "vpcd"), "wb") as f:
            f.write(b"\n".join(stanzas))
        return confdir

    # -- life cycle --------------------------------------------------------
    def start(self):
        """Start pcscd and wait until it serves all its readers."""
        if self.proc is not None and self.proc.running:
            raise PcscdError("pcscd already running")
        failures = []
        for attempt in range(self.attempts):
            if attempt > 0 or len(self.ports) != self.entries:
                # Keep the ports of entries that survive a restart, so that
                # cards can come back on the same port.
                keep = self.ports[:self.entries] if attempt == 0 else []
                self.ports = keep + pick_port_pairs(
                    self.entries - len(keep), avoid=keep)
            try:
                self._start_once()
                return self
            except PcscdError as e:
                failures.append(str(e))
                self.proc.kill()
        raise PcscdError("pcscd did not start with %d readers after %d "
                         "attempts:\n  %s" % (2 * self.entries, self.attempts,
                                              "\n  ".join(failures)))

    def _start_once(self):
        confdir = self._write_config()
        argv = [PYTHON, _SOCKACT]
        if self.isolate:
            argv.append("--isolate")
        argv += [self.socket_path, "--", PCSCD, "-f", "-a", "-d",
                 "-c", confdir]
        self.proc = Proc(argv, self.log_path)
        try:
            self.proc.wait_for_log(_READY, self.start_timeout)
        except ProcError as e:
            raise PcscdError(str(e)) from None
        log = self.proc.log_text()
        self.isolated = self.isolate and WARNING_TAG not in log
        if self.isolate and not self.isolated:
            line = next(ln for ln in log.splitlines() if WARNING_TAG in ln)
            warnings.warn("pcscd: " + line, RuntimeWarning)
        # "daemon ready" is logged before pcscd accepts clients, but the
        # socket already listens: this waits in its backlog.
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                readers = self.client.list_readers()
                break
            except pcsc.PcscError as e:
                if time.monotonic() > deadline or not self.proc.running:
                    raise PcscdError("cannot list readers: %s" % e) from None
                time.sleep(0.02)
        if sorted(readers) != sorted(self.reader_names):
            raise PcscdError("readers %s instead of %s (ports %s busy?)"
                             % (readers, self.reader_names, self.ports))

    def restart(self, entries=None):
        """Stop pcscd and start it again on the same socket path, with
        `entries` vpcd entries (default: as before).  Entries that remain
        keep their ports when these are still free."""
        self.stop()
        if entries is not None:
            self.entries = entries
        return self.start()

    @property
    def running(self):
        return self.proc is not None and self.proc.running

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self, timeout=5.0):
        """SIGTERM, wait (SIGKILL after `timeout`).  Returns exit status."""
        if self.proc is not None:
            return self.proc.stop(timeout)
        return None

    def kill(self):
        """SIGKILL (a crash: no cleanup by pcscd)."""
        if self.proc is not None:
            return self.proc.kill()
        return None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- logs ------------------------------------------------------------
    def log_text(self, all_runs=False):
        """pcscd's log (stdout+stderr) of the current run, or of all runs."""
        if self.proc is None:
            return ""
        return self.proc.log_text(whole_file=all_runs)

    def apdu_log(self, all_runs=False):
        """The APDUs pcscd logged (-a): a list of (kind, bytes) with kind
        "APDU" (command) or "SW" (response incl. status word), in order."""
        return [(m.group(1), bytes.fromhex(m.group(2)))
                for m in _APDU.finditer(self.log_text(all_runs))]

    def event_log(self, all_runs=False):
        """Card events pcscd logged: a list of ("inserted" or "removed",
        reader name), in order."""
        return [("inserted" if m.group(1) == "inserted into" else "removed",
                 m.group(2)) for m in _EVENT.finditer(self.log_text(all_runs))]

