"""Objects written to a PKCS#11 token, many in one session (standard library
only: ctypes).  pkcs11-tool takes a process and a login per object (about
70 ms here); this writes a hundred certificates to a SoftHSM token in a
fraction of a second.

    with P11Writer(SOFTHSM, "Testbed HSM", "123456") as token:
        token.add_certificate(der, b"\\x01", "auth cert")
        token.add_data(b"\\0" * 1000000, "filler")

Public objects (CKA_PRIVATE false) on the token (CKA_TOKEN true).  The
environment chooses the token store as usual (SOFTHSM2_CONF: set it in
os.environ before opening, the module reads it at C_Initialize).
"""

import ctypes

CKF_RW_SESSION = 0x2
CKF_SERIAL_SESSION = 0x4
CKU_USER = 1
CKO_DATA = 0
CKO_CERTIFICATE = 1
CKC_X_509 = 0
CKA_CLASS = 0x0
CKA_TOKEN = 0x1
CKA_PRIVATE = 0x2
CKA_LABEL = 0x3
CKA_APPLICATION = 0x10
CKA_VALUE = 0x11
CKA_CERTIFICATE_TYPE = 0x80
CKA_ISSUER = 0x81
CKA_SERIAL_NUMBER = 0x82
CKA_SUBJECT = 0x101
CKA_ID = 0x102
CKR_USER_ALREADY_LOGGED_IN = 0x100

_ULONG = ctypes.c_ulong


class _Attribute(ctypes.Structure):
    _fields_ = [("type", _ULONG), ("value", ctypes.c_void_p), ("value_len", _ULONG)]


class P11Error(RuntimeError):
    pass


def _tlv(data, pos):
    """(tag, value start, value end) of the DER element at `pos`."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length


def certificate_names(der):
    """(issuer, serial number, subject) of an X.509 certificate, each the
    DER of its element, as PKCS#11 wants them."""
    _, pos, _ = _tlv(der, 0)             # Certificate
    _, pos, _ = _tlv(der, pos)           # TBSCertificate
    items = []
    while len(items) < 5:
        tag, start, end = _tlv(der, pos)
        if not (not items and tag == 0xA0):  # skip the version
            items.append(der[pos:end])
        pos = end
    serial, _, issuer, _, subject = items[0], items[1], items[2], items[3], items[4]
    # the serial number's value without its tag and length
    _, start, end = _tlv(serial, 0)
    return issuer, serial[start:end], subject


class P11Writer:
    """A read-write session, logged in as the user, on the token labelled
    `label` of the module at `module`."""

    def __init__(self, module, label, pin):
        self.lib = ctypes.CDLL(module)
        self.label = label
        self.pin = pin.encode()
        self.session = _ULONG()
        for name, argtypes in (
                ("C_Initialize", [ctypes.c_void_p]),
                ("C_Finalize", [ctypes.c_void_p]),
                ("C_GetSlotList", [ctypes.c_ubyte, ctypes.POINTER(_ULONG),
                                   ctypes.POINTER(_ULONG)]),
                ("C_GetTokenInfo", [_ULONG, ctypes.c_void_p]),
                ("C_OpenSession", [_ULONG, _ULONG, ctypes.c_void_p, ctypes.c_void_p,
                                   ctypes.POINTER(_ULONG)]),
                ("C_CloseSession", [_ULONG]),
                ("C_Login", [_ULONG, _ULONG, ctypes.c_char_p, _ULONG]),
                ("C_CreateObject", [_ULONG, ctypes.POINTER(_Attribute), _ULONG,
                                    ctypes.POINTER(_ULONG)])):
            fn = getattr(self.lib, name)
            fn.argtypes = argtypes
            fn.restype = _ULONG

    def _check(self, name, *args, allow=()):
        rv = getattr(self.lib, name)(*args)
        if rv != 0 and rv not in allow:
            raise P11Error("%s: 0x%x" % (name, rv))

    def open(self):
        self._check("C_Initialize", None)
        n = _ULONG()
        self._check("C_GetSlotList", 1, None, ctypes.byref(n))
        slots = (_ULONG * max(n.value, 1))()
        self._check("C_GetSlotList", 1, slots, ctypes.byref(n))
        want = self.label.encode().ljust(32)
        for slot in slots[:n.value]:
            info = ctypes.create_string_buffer(512)  # CK_TOKEN_INFO: the label first
            self._check("C_GetTokenInfo", slot, info)
            if info.raw[:32] == want:
                break
        else:
            self.close()
            raise P11Error("no token labelled %r" % self.label)
        self._check("C_OpenSession", slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, None, None,
                    ctypes.byref(self.session))
        self._check("C_Login", self.session, CKU_USER, self.pin, len(self.pin),
                    allow=(CKR_USER_ALREADY_LOGGED_IN,))
        return self

    def close(self):
        if self.session.value:
            self.lib.C_CloseSession(self.session)
            self.session = _ULONG()
        self.lib.C_Finalize(None)

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    def _create(self, attrs):
        """attrs: (type, bytes) pairs"""
        keep = [ctypes.create_string_buffer(value, len(value)) for _, value in attrs]
        tmpl = (_Attribute * len(attrs))(*[
            _Attribute(t, ctypes.cast(buf, ctypes.c_void_p), len(value))
            for (t, value), buf in zip(attrs, keep)])
        handle = _ULONG()
        self._check("C_CreateObject", self.session, tmpl, len(attrs), ctypes.byref(handle))
        return handle.value

    @staticmethod
    def _ulong(value):
        return bytes(_ULONG(value))

    def add_certificate(self, der, ckaid, label):
        """An X.509 certificate object holding `der` (its names are taken
        from it; it need not parse otherwise)."""
        issuer, serial, subject = certificate_names(der)
        return self._create([
            (CKA_CLASS, self._ulong(CKO_CERTIFICATE)),
            (CKA_CERTIFICATE_TYPE, self._ulong(CKC_X_509)),
            (CKA_TOKEN, b"\x01"), (CKA_PRIVATE, b"\x00"),
            (CKA_SUBJECT, subject), (CKA_ISSUER, issuer), (CKA_SERIAL_NUMBER, serial),
            (CKA_ID, bytes(ckaid)), (CKA_LABEL, label.encode()), (CKA_VALUE, bytes(der))])

    def add_data(self, value, label, application="twtestbed"):
        """A data object holding `value`."""
        return self._create([
            (CKA_CLASS, self._ulong(CKO_DATA)), (CKA_TOKEN, b"\x01"),
            (CKA_PRIVATE, b"\x00"), (CKA_LABEL, label.encode()),
            (CKA_APPLICATION, application.encode()), (CKA_VALUE, bytes(value))])
