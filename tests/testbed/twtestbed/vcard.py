"""A small virtual PIV card for vpcd readers (standard library only).

vpcd protocol: the card is a TCP client of the reader's port (connect =
insert, close = remove).  Every message, both ways, is a big-endian uint16
length and a payload.  A 1-byte payload from vpcd is a control code (0 power
off, 1 power on, 2 reset: no answer; 4 get ATR: answered with the ATR);
anything longer is a C-APDU, answered with an R-APDU.

The card implements what OpenSC 0.23's PIV driver needs to recognise it and
list the token and its certificates without login: SELECT of the PIV AID
(other applets: 6A82), GET DATA for the discovery object, CCC, CHUID (GUID ->
PKCS#11 serial, FASC-N agency 9999), key history and certificate containers,
GET RESPONSE / 61xx chaining, VERIFY (tries left with no data), and the
Printed Information object answering 6982 until VERIFY.  No private-key
operation: GENERAL AUTHENTICATE answers 6A81.

Also a command-line card, see main() (`-m twtestbed.vcard --help`); this
file does not import the rest of the package, so it also runs by path.
"""

import argparse
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time

PIV_AID = bytes.fromhex("A000000308000010000100")   # with version 01 00
PIV_RID_PIX = PIV_AID[:9]                           # as OpenSC selects it

#: Certificate slot (key reference) -> GET DATA tag of its container.
CONTAINERS = {0x9A: 0x5FC105, 0x9C: 0x5FC10A, 0x9D: 0x5FC10B, 0x9E: 0x5FC101}
CONTAINERS.update({0x82 + i: 0x5FC10D + i for i in range(20)})  # retired

TAG_DISCOVERY = 0x7E
TAG_CCC = 0x5FC107
TAG_CHUID = 0x5FC102
TAG_KEY_HISTORY = 0x5FC10C
TAG_PRINTED_INFO = 0x5FC109

SW_OK = 0x9000
SW_WRONG_LENGTH = 0x6700
SW_SECURITY_NOT_SATISFIED = 0x6982
SW_PIN_BLOCKED = 0x6983
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_WRONG_DATA = 0x6A80
SW_FUNC_NOT_SUPPORTED = 0x6A81
SW_NOT_FOUND = 0x6A82
SW_WRONG_P1P2 = 0x6A86
SW_REF_NOT_FOUND = 0x6A88
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00

_CTRL_OFF, _CTRL_ON, _CTRL_RESET, _CTRL_ATR = 0, 1, 2, 4


def _with_tck(atr):
    # T=1 is indicated, so the ATR ends with TCK: XOR of T0..last byte.
    tck = 0
    for b in atr[1:]:
        tck ^= b
    return atr + bytes([tck])


ATRS = {
    # T=1; historical bytes: compact-TLV with the PIV AID (tag F, len 9):
    # OpenSC types the card "PIV-II (hist)" from the ATR alone.
    "piv": _with_tck(bytes.fromhex("3B8B8101") + b"\x80\xF9" + PIV_RID_PIX),
    # T=1; historical bytes: compact-TLV card issuer's data "TESTBED":
    # an unknown ATR, so OpenSC has to find the PIV applet by probing.
    "generic": _with_tck(bytes.fromhex("3B898101") + b"\x80\x57TESTBED"),
}


def tlv(tag, value):
    """BER-TLV with a 1..3 byte tag (given as int) and definite length."""
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    return tag_bytes + length + value


def fascn(agency="9999", system="9999", credential="999999", cs="0",
          ici="1", person="0000000000", org_category="3", org="0000",
          association="1"):
    """A FASC-N (25 bytes, 40 five-bit characters: 4 data bits LSB first
    plus odd parity).  Agency code 9999 makes OpenSC take the PKCS#11
    serial number from the CHUID's GUID."""
    SS, FS, ES = 0b1011, 0b1101, 0b1111     # data bits of the sentinels
    chars = ([SS] + [int(c) for c in agency] + [FS] +
             [int(c) for c in system] + [FS] +
             [int(c) for c in credential] + [FS] + [int(cs)] + [FS] +
             [int(ici)] + [FS] +
             [int(c) for c in person + org_category + org + association] +
             [ES])
    lrc = 0
    for c in chars:
        lrc ^= c
    bits = ""
    for c in chars + [lrc]:
        data = "".join("1" if c >> i & 1 else "0" for i in range(4))
        bits += data + ("0" if data.count("1") % 2 else "1")
    return int(bits, 2).to_bytes(25, "big")


class Apdu:
    """A parsed command APDU (short or extended).  `ne` is None if absent."""

    def __init__(self, raw):
        if len(raw) < 4:
            raise ValueError("APDU shorter than 4 bytes")
        self.cla, self.ins, self.p1, self.p2 = raw[:4]
        body = raw[4:]
        self.data, self.ne = b"", None
        if len(body) == 0:                      # case 1
            return
        if len(body) == 1:                      # case 2 short
            self.ne = body[0] or 256
        elif body[0] != 0:                      # case 3/4 short
            lc = body[0]
            self.data, rest = body[1:1 + lc], body[1 + lc:]
            if len(self.data) != lc or len(rest) > 1:
                raise ValueError("bad short APDU length")
            if rest:
                self.ne = rest[0] or 256
        elif len(body) == 3:                    # case 2 extended
            self.ne = int.from_bytes(body[1:3], "big") or 65536
        else:                                   # case 3/4 extended
            lc = int.from_bytes(body[1:3], "big")
            self.data, rest = body[3:3 + lc], body[3 + lc:]
            if lc == 0 or len(self.data) != lc or len(rest) not in (0, 2):
                raise ValueError("bad extended APDU length")
            if rest:
                self.ne = int.from_bytes(rest, "big") or 65536


class VirtualPivCard:
    """A virtual PIV card for the vpcd reader listening on `port`.

    certificates: {slot: DER bytes}, slot 0x9A, 0x9C, 0x9D, 0x9E or retired
        0x82..0x95 (ints, or hex strings like "9a").  The card's content is
        built here: changing `certificates` later has no effect.
    guid: 32 hex digits for the CHUID (default: random); the PKCS#11 serial
        number OpenSC shows is its last 16 digits (`pkcs11_serial`).
    chuid: False for a card without CHUID (OpenSC serial 00000000).
    pin, pin_tries: the PIV PIN and its tries left (0: blocked).
    atr_style: "piv" or "generic" (see ATRS).
    """

    def __init__(self, port, certificates=None, *, guid=None, chuid=True,
                 pin="123456", pin_tries=3, atr_style="piv",
                 host="127.0.0.1"):
        self.port = port
        self.host = host
        self.certificates = {self._slot(k): bytes(v)
                             for k, v in (certificates or {}).items()}
        self.guid = (guid or os.urandom(16).hex()).lower()
        if len(bytes.fromhex(self.guid)) != 16:
            raise ValueError("guid must be 32 hex digits")
        self.chuid = chuid
        self.pin = pin.encode()
        self.pin_max_tries = max(3, pin_tries)
        self.pin_tries = pin_tries
        self.atr = ATRS[atr_style]
        self._objects = self._build_objects()
        self._verified = False
        self._pending = b""           # data left for GET RESPONSE
        self._sock = None
        self._thread = None
        self._lock = threading.Lock()
        self._exchanges = []          # (C-APDU, R-APDU)
        self.apdu_delay = 0.0         # seconds before each answer: a slow card

    @staticmethod
    def _slot(key):
        slot = int(key, 16) if isinstance(key, str) else int(key)
        if slot not in CONTAINERS:
            raise ValueError("no PIV certificate slot %02X" % slot)
        return slot

    @property
    def pkcs11_serial(self):
        """The token serial number OpenSC derives from the GUID."""
        return self.guid[-16:] if self.chuid else "00000000"

    # -- card content ----------------------------------------------------
    def _build_objects(self):
        objs = {
            TAG_DISCOVERY: tlv(TAG_DISCOVERY,
                               tlv(0x4F, PIV_AID) +
                               tlv(0x5F2F, b"\x40\x00")),   # PIV PIN only
            TAG_CCC: tlv(0x53, b"".join([
                # GSC-RID A000000116, manufacturer FF, card type 01, id
                tlv(0xF0, bytes.fromhex("A000000116FF01") +
                    bytes.fromhex(self.guid)[:14]),
                tlv(0xF1, b"\x21"), tlv(0xF2, b"\x21"), tlv(0xF3, b""),
                tlv(0xF4, b"\x00"), tlv(0xF5, b"\x10"), tlv(0xF6, b""),
                tlv(0xF7, b""), tlv(0xFA, b""), tlv(0xFB, b""),
                tlv(0xFC, b""), tlv(0xFD, b""), tlv(0xFE, b"")])),
        }
        # Key history: OpenSC reads retired containers 1..C1 only.
        retired = max((s - 0x81 for s in self.certificates
                       if 0x82 <= s <= 0x95), default=0)
        objs[TAG_KEY_HISTORY] = tlv(0x53, tlv(0xC1, bytes([retired])) +
                                    tlv(0xC2, b"\x00") + tlv(0xFE, b""))
        if self.chuid:
            objs[TAG_CHUID] = tlv(0x53, b"".join([
                tlv(0x30, fascn()), tlv(0x34, bytes.fromhex(self.guid)),
                tlv(0x35, b"20991231"), tlv(0x3E, b""), tlv(0xFE, b"")]))
        for slot, der in self.certificates.items():
            objs[CONTAINERS[slot]] = tlv(0x53, tlv(0x70, der) +
                                         tlv(0x71, b"\x00") + tlv(0xFE, b""))
        return objs

    # -- APDU processing ----------------------------------------------------
    def reset(self):
        """Power cycle / reset: the security state and pending data go."""
        self._verified = False
        self._pending = b""

    def process_apdu(self, raw):
        """Answer one C-APDU (bytes) with an R-APDU (bytes)."""
        try:
            apdu = Apdu(raw)
        except ValueError:
            self._pending = b""
            return SW_WRONG_LENGTH.to_bytes(2, "big")
        pending, self._pending = self._pending, b""
        if apdu.cla not in (0x00, 0x10):
            data, sw = b"", SW_CLA_NOT_SUPPORTED
        elif apdu.ins == 0xC0:
            if not pending:
                data, sw = b"", SW_CONDITIONS_NOT_SATISFIED
            else:
                return self._respond(pending, apdu.ne)
        elif apdu.ins not in self._HANDLERS:
            data, sw = b"", SW_INS_NOT_SUPPORTED
        else:
            data, sw = getattr(self, self._HANDLERS[apdu.ins])(apdu)
            if sw == SW_OK:
                return self._respond(data, apdu.ne)
        return data + sw.to_bytes(2, "big")

    _HANDLERS = {0xA4: "_select", 0xCB: "_get_data", 0x20: "_verify",
                 0x87: "_general_authenticate"}

    def _respond(self, data, ne):
        # Up to Ne bytes now; the rest announced with 61xx for GET RESPONSE.
        ne = min(ne or 0, 256)
        now, self._pending = data[:ne], data[ne:]
        if self._pending:
            return now + bytes([0x61, min(len(self._pending), 256) & 0xFF])
        return now + b"\x90\x00"

    def _select(self, apdu):
        if (apdu.p1 == 0x04 and len(apdu.data) >= 5 and
                PIV_AID.startswith(apdu.data)):
            if apdu.p2 == 0x0C:             # no response data wanted
                return b"", SW_OK
            # Application property template: PIX and coexistent tag
            # allocation authority, as NIST SP 800-73-4 part 2 shows it.
            return tlv(0x61, tlv(0x4F, PIV_AID[5:]) +
                       tlv(0x79, tlv(0x4F, PIV_AID[:5])) +
                       tlv(0x50, b"Testbed PIV")), SW_OK
        return b"", SW_NOT_FOUND

    def _get_data(self, apdu):
        if (apdu.p1, apdu.p2) != (0x3F, 0xFF):
            return b"", SW_WRONG_P1P2
        d = apdu.data
        if len(d) < 3 or d[0] != 0x5C or d[1] != len(d) - 2:
            return b"", SW_WRONG_DATA
        tag = int.from_bytes(d[2:], "big")
        if tag == TAG_PRINTED_INFO and not self._verified:
            return b"", SW_SECURITY_NOT_SATISFIED
        obj = self._objects.get(tag)
        return (obj, SW_OK) if obj is not None else (b"", SW_NOT_FOUND)

    def _verify(self, apdu):
        if apdu.p1 == 0xFF:                  # reset security status
            self._verified = False
            return b"", SW_OK
        if apdu.p1 != 0x00 or apdu.p2 != 0x80:
            return b"", SW_REF_NOT_FOUND
        if not apdu.data:                    # ask for the state
            if self._verified:
                return b"", SW_OK
            return b"", self._tries_sw()
        if len(apdu.data) != 8:
            return b"", SW_WRONG_LENGTH
        if self.pin_tries == 0:
            return b"", SW_PIN_BLOCKED
        if apdu.data.rstrip(b"\xFF") == self.pin:
            self.pin_tries = self.pin_max_tries
            self._verified = True
            return b"", SW_OK
        self.pin_tries -= 1
        self._verified = False
        return b"", self._tries_sw()

    def _general_authenticate(self, apdu):
        return b"", SW_FUNC_NOT_SUPPORTED      # no private-key operations

    def _tries_sw(self):
        if self.pin_tries == 0:
            return SW_PIN_BLOCKED
        return 0x63C0 | min(self.pin_tries, 15)

    # -- the vpcd connection ----------------------------------------------
    def insert(self, port=None, timeout=5.0):
        """Connect to the reader (a new `port` moves the card)."""
        if self.inserted:
            raise RuntimeError("card already inserted")
        self.remove()            # forget a connection the reader closed
        if port is not None:
            self.port = port
        sock = socket.create_connection((self.host, self.port), timeout)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reset()
        self._sock = sock
        self._thread = threading.Thread(
            target=self._serve, args=(sock,), daemon=True,
            name="vcard-%d" % self.port)
        self._thread.start()
        return self

    def remove(self):
        """Disconnect from the reader (no-op if not inserted)."""
        sock, thread = self._sock, self._thread
        self._sock = self._thread = None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)   # wakes the serving thread
            except OSError:
                pass
            thread.join()
            sock.close()

    @property
    def inserted(self):
        """True while connected (False too once the reader went away)."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self):
        return self.insert()

    def __exit__(self, *exc):
        self.remove()

    def _serve(self, sock):
        try:
            while True:
                msg = self._recv_message(sock)
                if msg is None:
                    return
                if len(msg) == 1:
                    if msg[0] == _CTRL_ATR:
                        self._send_message(sock, self.atr)
                    elif msg[0] in (_CTRL_OFF, _CTRL_ON, _CTRL_RESET):
                        self.reset()
                    continue
                rapdu = self.process_apdu(msg)
                with self._lock:
                    self._exchanges.append((msg, rapdu))
                if self.apdu_delay:
                    time.sleep(self.apdu_delay)  # a slow card
                self._send_message(sock, rapdu)
        except OSError:
            return

    @staticmethod
    def _recv_exact(sock, n):
        buf = b""
        while len(buf) < n:
            # vpcd sends the length and the payload in separate segments:
            # with a delayed ACK here, its second send() waits ~40 ms for
            # our ACK (Nagle).  Quick ACK mode is reset by the kernel, so
            # it is re-armed before every recv().
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            chunk = sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def _recv_message(self, sock):
        head = self._recv_exact(sock, 2)
        if head is None:
            return None
        (length,) = struct.unpack(">H", head)
        return self._recv_exact(sock, length) if length else b""

    @staticmethod
    def _send_message(sock, payload):
        sock.sendall(struct.pack(">H", len(payload)) + payload)

    # -- what the card saw -------------------------------------------------
    @property
    def exchanges(self):
        """A copy of the (C-APDU, R-APDU) pairs seen so far, in order."""
        with self._lock:
            return list(self._exchanges)

    @property
    def apdu_count(self):
        with self._lock:
            return len(self._exchanges)

    def clear_log(self):
        with self._lock:
            self._exchanges.clear()


def _read_cert(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.lstrip().startswith(b"-----BEGIN"):
        return ssl.PEM_cert_to_DER_cert(data.decode())
    return data


def main(argv=None):
    """Command-line card: inserted at start; SIGUSR1 inserts, SIGUSR2
    removes; stdin lines `insert`, `remove`, `status`, `quit` (EOF = quit
    unless --no-stdin).  Prints `inserted`/`removed` on stdout."""
    ap = argparse.ArgumentParser(prog="python3 -m twtestbed.vcard",
                                 description=main.__doc__)
    ap.add_argument("--port", type=int, required=True,
                    help="the vpcd reader's TCP port")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--cert", action="append", default=[],
                    metavar="SLOT:FILE",
                    help="certificate (DER or PEM) for slot 9a/9c/9d/9e/82..95")
    ap.add_argument("--guid", help="CHUID GUID, 32 hex digits")
    ap.add_argument("--no-chuid", action="store_true")
    ap.add_argument("--pin", default="123456")
    ap.add_argument("--pin-tries", type=int, default=3)
    ap.add_argument("--atr-style", choices=sorted(ATRS), default="piv")
    ap.add_argument("--removed", action="store_true",
                    help="start removed")
    ap.add_argument("--no-stdin", action="store_true",
                    help="ignore stdin: only signals control the card")
    args = ap.parse_args(argv)

    certs = {}
    for spec in args.cert:
        slot, _, path = spec.partition(":")
        certs[slot] = _read_cert(path)
    card = VirtualPivCard(args.port, certs, guid=args.guid,
                          chuid=not args.no_chuid, pin=args.pin,
                          pin_tries=args.pin_tries, atr_style=args.atr_style,
                          host=args.host)

    def say(word):
        print(word, flush=True)

    def do(command):
        if command == "insert" and not card.inserted:
            card.insert()
            say("inserted")
        elif command == "remove" and card.inserted:
            card.remove()
            say("removed")
        elif command == "status":
            say("inserted" if card.inserted else "removed")

    def on_exit(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGUSR1, lambda s, f: do("insert"))
    signal.signal(signal.SIGUSR2, lambda s, f: do("remove"))
    signal.signal(signal.SIGTERM, on_exit)
    say("guid %s serial %s" % (card.guid, card.pkcs11_serial))
    if not args.removed:
        do("insert")
    try:
        if args.no_stdin:
            while True:
                signal.pause()
        for line in sys.stdin:
            command = line.strip()
            if command == "quit":
                break
            do(command)
    except KeyboardInterrupt:
        pass
    finally:
        card.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
