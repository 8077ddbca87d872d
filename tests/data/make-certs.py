#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the certificate fixtures of tests/test-cert.c into a directory.

    make-certs.py DIR [--stamp FILE] [--openssl PATH]

Every certificate is built here, byte by byte, as DER (a small encoder
below), and signed with the `openssl` command line; keys come from
`openssl genpkey`. Building the DER by hand gives what `openssl req/ca`
cannot: exact validity times, a 10-byte and a negative serial, T61String
and broken strings in names, and QCStatements encoded wrongly on purpose.

DIR gets, per fixture, NAME.der, and NAME.pem (from `openssl x509`) for
those OpenSSL can read; SHA256SUMS (`openssl dgst -sha256 -r` of every
.der); keys/ (the keys). Garbage fixtures are named garbage-*.der. The
expected values live in tests/test-cert.c; keep the two in step.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
from datetime import datetime, timezone

OPENSSL = "openssl"

# -- OIDs -------------------------------------------------------------------
OID_CN, OID_SURNAME, OID_SERIAL_NUMBER, OID_C = "2.5.4.3", "2.5.4.4", "2.5.4.5", "2.5.4.6"
OID_O, OID_OU, OID_GIVEN_NAME, OID_ORG_ID = "2.5.4.10", "2.5.4.11", "2.5.4.42", "2.5.4.97"
OID_SHA256_RSA = "1.2.840.113549.1.1.11"
OID_BASIC_CONSTRAINTS, OID_KEY_USAGE = "2.5.29.19", "2.5.29.15"
OID_CERT_POLICIES, OID_QC_STATEMENTS = "2.5.29.32", "1.3.6.1.5.5.7.1.3"

QC_COMPLIANCE, QC_RETENTION, QC_SSCD = "0.4.0.1862.1.1", "0.4.0.1862.1.3", "0.4.0.1862.1.4"
QC_PDS, QC_TYPE = "0.4.0.1862.1.5", "0.4.0.1862.1.6"
QCT = {"esign": QC_TYPE + ".1", "eseal": QC_TYPE + ".2", "web": QC_TYPE + ".3"}
QC_PSD2 = "0.4.0.19495.2"
QC_SEMANTICS = "1.3.6.1.5.5.7.11.2"

NCP, NCP_PLUS, LCP = "0.4.0.2042.1.1", "0.4.0.2042.1.2", "0.4.0.2042.1.3"
QCP_N, QCP_L, QCP_N_QSCD = "0.4.0.194112.1.0", "0.4.0.194112.1.1", "0.4.0.194112.1.2"
QCP_L_QSCD, QCP_W = "0.4.0.194112.1.3", "0.4.0.194112.1.4"
CA_OWN_POLICY = "1.3.6.1.4.1.99999.1.1"

KEY_USAGE_BITS = ["digitalSignature", "nonRepudiation", "keyEncipherment",
                  "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign",
                  "encipherOnly", "decipherOnly"]

KEYS = {
    "rsa2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "rsa3072": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
    "ec256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "ec384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    "ed25519": ["-algorithm", "ED25519"],
    "ed448": ["-algorithm", "ED448"],
}


# -- DER --------------------------------------------------------------------
def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def seq(*items):
    return tlv(0x30, b"".join(items))


def set_of(*items):
    return tlv(0x31, b"".join(sorted(items)))


def integer(value):
    magnitude = ~value if value < 0 else value
    return tlv(0x02, value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True))


def oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.insert(0, 0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(chunk)
    return tlv(0x06, bytes(out))


def boolean(value):
    return tlv(0x01, b"\xff" if value else b"\x00")


def octets(data):
    return tlv(0x04, data)


def bits(data, unused=0):
    return tlv(0x03, bytes([unused]) + data)


def utf8(text):
    return tlv(0x0C, text.encode())


def printable(text):
    return tlv(0x13, text.encode("ascii"))


def ia5(text):
    return tlv(0x16, text.encode("ascii"))


def explicit(n, content):
    return tlv(0xA0 | n, content)


def when(text):
    """"YYYY-MM-DD HH:MM:SS" (UTC) as UTCTime before 2050, else
    GeneralizedTime (RFC 5280 4.1.2.5)."""
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    if moment.year < 2050:
        return tlv(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())
    return tlv(0x18, moment.strftime("%Y%m%d%H%M%SZ").encode())


def name(*attributes):
    """attributes: (oid, text) as UTF8String (PrintableString for C and
    serialNumber), or (oid, tag, raw bytes) for anything else."""
    rdns = []
    for attribute in attributes:
        if len(attribute) == 3:
            value = tlv(attribute[1], attribute[2])
        elif attribute[0] in (OID_C, OID_SERIAL_NUMBER):
            value = printable(attribute[1])
        else:
            value = utf8(attribute[1])
        rdns.append(set_of(seq(oid(attribute[0]), value)))
    return seq(*rdns)


# -- extensions ---------------------------------------------------------------
def extension(extn_id, value, critical=False):
    return seq(oid(extn_id), *([boolean(True)] if critical else []), octets(value))


def basic_constraints(ca):
    return extension(OID_BASIC_CONSTRAINTS, seq(boolean(True)) if ca else seq(), critical=True)


def key_usage(*names):
    value = sum(1 << KEY_USAGE_BITS.index(n) for n in names)
    nbits = value.bit_length()
    nbytes = (nbits + 7) // 8
    # bit 0 is the most significant bit of the first byte
    reversed_bits = int(format(value, "0%db" % nbits)[::-1], 2) << (nbytes * 8 - nbits)
    return extension(OID_KEY_USAGE, bits(reversed_bits.to_bytes(nbytes, "big"),
                                         nbytes * 8 - nbits), critical=True)


def policies(*oids):
    return extension(OID_CERT_POLICIES, seq(*[seq(oid(o)) for o in oids]))


def statement(statement_id, info=None):
    return seq(oid(statement_id), *([info] if info is not None else []))


def qc_type(*types):
    return statement(QC_TYPE, seq(*[oid(QCT.get(t, t)) for t in types]))


def qc_statements(*statements, critical=False):
    return extension(OID_QC_STATEMENTS, seq(*statements), critical=critical)


def qc_raw(value, critical=False):
    return extension(OID_QC_STATEMENTS, value, critical=critical)


# -- certificates -------------------------------------------------------------
class Maker:
    def __init__(self, directory):
        self.directory = directory
        self.keydir = os.path.join(directory, "keys")
        os.makedirs(self.keydir)
        self.spki = {}
        self.sig_alg = seq(oid(OID_SHA256_RSA), tlv(0x05, b""))
        self.ca_subject = name((OID_C, "CZ"), (OID_O, "Zkušební autorita, s.r.o."),
                               (OID_CN, "tokenwatch Test CA"))

    def key(self, kind):
        path = os.path.join(self.keydir, kind + ".pem")
        if kind not in self.spki:
            run([OPENSSL, "genpkey"] + KEYS[kind] + ["-out", path])
            self.spki[kind] = run([OPENSSL, "pkey", "-in", path, "-pubout", "-outform", "DER"])
        return path, self.spki[kind]

    def cert(self, filename, *, subject, serial, not_before, not_after, key="rsa2048",
             extensions=(), issuer=None, signer="ca"):
        _, spki = self.key(key)
        signer_path, _ = self.key("rsa2048" if signer == "ca" else signer)
        tbs = seq(explicit(0, integer(2)), integer(serial), self.sig_alg,
                  issuer if issuer is not None else self.ca_subject,
                  seq(when(not_before), when(not_after)), subject, spki,
                  *([explicit(3, seq(*extensions))] if extensions else []))
        tbs_path = os.path.join(self.keydir, filename + ".tbs")
        with open(tbs_path, "wb") as f:
            f.write(tbs)
        signature = run([OPENSSL, "dgst", "-sha256", "-sign", signer_path, tbs_path])
        der = seq(tbs, self.sig_alg, bits(signature))
        self.write(filename, der)
        return der

    def write(self, filename, data):
        with open(os.path.join(self.directory, filename + ".der"), "wb") as f:
            f.write(data)


def run(argv):
    done = subprocess.run(argv, capture_output=True)
    if done.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(argv), done.stderr.decode(errors="replace")))
    return done.stdout


PERSON = name((OID_C, "CZ"), (OID_GIVEN_NAME, "Jan"), (OID_SURNAME, "Novák"),
              (OID_SERIAL_NUMBER, "PNOCZ-1234567890"), (OID_CN, "Jan Novák"))
PERSON2 = name((OID_C, "CZ"), (OID_GIVEN_NAME, "Eva"), (OID_SURNAME, "Dvořáková"),
               (OID_CN, "Eva Dvořáková"))
CITY = name((OID_C, "CZ"), (OID_O, "Město Příklad"), (OID_ORG_ID, "NTRCZ-12345678"),
            (OID_CN, "Město Příklad – pečeť"))
WEB = name((OID_C, "CZ"), (OID_O, "Příklad a.s."), (OID_ORG_ID, "VATCZ-87654321"),
           (OID_CN, "www.example.cz"))

NB, NA = "2024-01-15 10:00:00", "2027-01-15 09:59:59"
QC_SIGN_QSCD = [statement(QC_COMPLIANCE), statement(QC_SSCD), qc_type("esign")]


def make_kinds(m):
    """One certificate per row of the rules table (docs/classification.md)."""
    m.cert("ca", subject=m.ca_subject, issuer=m.ca_subject, serial=1,
           not_before="2020-01-01 00:00:00", not_after="2051-01-01 00:00:00",
           extensions=[basic_constraints(True), key_usage("keyCertSign", "cRLSign")])
    m.cert("ca-intermediate-qc", serial=2, not_before="2020-01-01 00:00:00",
           not_after="2040-01-01 00:00:00", key="ec384",
           subject=name((OID_C, "CZ"), (OID_O, "Zkušební autorita, s.r.o."),
                        (OID_CN, "tokenwatch Qualified Sub CA")),
           extensions=[basic_constraints(True), key_usage("keyCertSign", "cRLSign"),
                       policies(QCP_N_QSCD), qc_statements(*QC_SIGN_QSCD)])
    m.cert("qualified-esign-qscd", subject=PERSON, serial=0x0123456789ABCDEF0123,
           not_before=NB, not_after=NA,
           extensions=[basic_constraints(False), key_usage("nonRepudiation"),
                       policies(QCP_N_QSCD, CA_OWN_POLICY), qc_statements(*QC_SIGN_QSCD)])
    m.cert("qualified-esign", subject=PERSON2, serial=0x10, key="ec256",
           not_before=NB, not_after=NA,
           extensions=[basic_constraints(False),
                       key_usage("digitalSignature", "nonRepudiation"), policies(QCP_N),
                       qc_statements(statement(QC_COMPLIANCE), qc_type("esign"))])
    m.cert("qualified-no-qctype", subject=PERSON, serial=0x11, key="rsa3072",
           not_before=NB, not_after=NA,
           extensions=[basic_constraints(False), key_usage("nonRepudiation"),
                       policies(QCP_N_QSCD),
                       qc_statements(statement(QC_COMPLIANCE), statement(QC_SSCD))])
    m.cert("qualified-eseal-qscd", subject=CITY, serial=0x12, key="ec384",
           not_before=NB, not_after=NA,
           extensions=[basic_constraints(False), key_usage("nonRepudiation"),
                       policies(QCP_L_QSCD),
                       qc_statements(statement(QC_COMPLIANCE), statement(QC_SSCD),
                                     qc_type("eseal"))])
    m.cert("qualified-eseal", subject=CITY, serial=0x13, key="ed25519",
           not_before=NB, not_after=NA,
           extensions=[basic_constraints(False),
                       key_usage("digitalSignature", "nonRepudiation"), policies(QCP_L),
                       qc_statements(statement(QC_COMPLIANCE), qc_type("eseal"))])
    m.cert("qualified-web", subject=WEB, serial=0x14, not_before=NB, not_after=NA,
           extensions=[basic_constraints(False),
                       key_usage("digitalSignature", "keyEncipherment"), policies(QCP_W),
                       qc_statements(statement(QC_COMPLIANCE), qc_type("web"))])
    m.cert("qualified-several-types", subject=PERSON, serial=0x15, not_before=NB,
           not_after=NA,
           extensions=[basic_constraints(False), key_usage("nonRepudiation"),
                       qc_statements(statement(QC_COMPLIANCE), statement(QC_SSCD),
                                     qc_type("eseal", "esign"))])
    m.cert("qualified-unknown-type", subject=PERSON, serial=0x16, not_before=NB,
           not_after=NA,
           extensions=[basic_constraints(False), key_usage("nonRepudiation"),
                       qc_statements(statement(QC_COMPLIANCE), qc_type(QC_TYPE + ".9"))])
    m.cert("personal-ncp-plus", subject=PERSON2, serial=0x17, key="ec256",
           not_before=NB, not_after=NA,
           extensions=[basic_constraints(False),
                       key_usage("digitalSignature", "keyAgreement"), policies(NCP_PLUS)])
    m.cert("personal-lcp-cn-only", subject=name((OID_CN, "Petr Svoboda")), serial=0x18,
           not_before=NB, not_after=NA,
           extensions=[basic_constraints(False), key_usage("digitalSignature"),
                       policies(LCP)])
    m.cert("other-ncp-legal-person", subject=CITY, serial=0x19, not_before=NB,
           not_after=NA,
           extensions=[basic_constraints(False), key_usage("digitalSignature"),
                       policies(NCP)])
    m.cert("other-plain", subject=name((OID_CN, "server.example")), serial=-5,
           key="ed448", not_before=NB, not_after=NA)
    m.cert("policy-qcp-n-qscd-without-qc", subject=PERSON, serial=0x1A, not_before=NB,
           not_after=NA,
           extensions=[basic_constraints(False), key_usage("nonRepudiation"),
                       policies(QCP_N_QSCD)])
    m.cert("policy-qcp-l-without-qc", subject=CITY, serial=0x1B, not_before=NB,
           not_after=NA,
           extensions=[basic_constraints(False), key_usage("nonRepudiation"),
                       policies(QCP_L)])


def make_odd(m):
    """QCStatements encoded wrongly, in the ways seen in the wild."""
    common = [basic_constraints(False), key_usage("nonRepudiation")]
    # SEQUENCE OF SEQUENCE OF QCStatement
    m.cert("odd-qc-double-wrap", subject=PERSON, serial=0x20, not_before=NB, not_after=NA,
           extensions=common + [qc_raw(seq(seq(*QC_SIGN_QSCD)))])
    # QcType as a bare OBJECT IDENTIFIER
    m.cert("odd-qc-bare-qctype", subject=CITY, serial=0x21, not_before=NB, not_after=NA,
           extensions=common + [qc_statements(statement(QC_COMPLIANCE), statement(QC_SSCD),
                                              statement(QC_TYPE, oid(QCT["eseal"])))])
    # the statements without the outer SEQUENCE
    m.cert("odd-qc-no-outer-seq", subject=WEB, serial=0x22, not_before=NB, not_after=NA,
           extensions=common + [qc_raw(statement(QC_COMPLIANCE) + qc_type("web"))])
    # statements tokenwatch has no use for, around the ones it reads
    pds = seq(seq(ia5("https://example.cz/pds_en.pdf"), printable("en")))
    psd2 = seq(seq(seq(oid("0.4.0.19495.1.1"), utf8("PSP_AS"))), utf8("Czech National Bank"),
               utf8("CZ-CNB"))
    m.cert("odd-qc-unknown-statements", subject=PERSON, serial=0x23, not_before=NB,
           not_after=NA,
           extensions=common + [qc_statements(
               statement(QC_SEMANTICS, seq(oid("0.4.0.194121.1.1"))),
               statement(QC_COMPLIANCE), statement(QC_RETENTION, integer(10)),
               statement(QC_PDS, pds), statement(QC_PSD2, psd2), statement("1.2.3.4"),
               statement(QC_SSCD), qc_type("esign"))])
    m.cert("odd-qc-critical", subject=PERSON, serial=0x24, not_before=NB, not_after=NA,
           extensions=common + [qc_statements(*QC_SIGN_QSCD, critical=True)])
    # cut inside the last statement (QcSSCD); the outer length still
    # claims the whole
    whole = seq(statement(QC_COMPLIANCE), qc_type("eseal"), statement(QC_SSCD))
    m.cert("odd-qc-truncated", subject=CITY, serial=0x25, not_before=NB, not_after=NA,
           extensions=common + [qc_raw(whole[:-3])])
    m.cert("odd-qc-garbage", subject=PERSON2, serial=0x26, not_before=NB, not_after=NA,
           extensions=common + [policies(NCP_PLUS), qc_raw(b"\x01\x02\xff\xff")])


def make_names(m):
    # T61String read as Latin-1 by OpenSSL; a C0 and a C1 control character
    m.cert("name-t61-latin1", serial=0x30, not_before=NB, not_after=NA,
           subject=name((OID_C, "DE"), (OID_O, 0x14, b"M\xfcller & S\xf6hne\x85"),
                        (OID_OU, 0x14, b"a\x01b"), (OID_CN, 0x14, b"J\xfcrgen M\xfcller")),
           extensions=[basic_constraints(False), key_usage("digitalSignature"),
                       policies(NCP_PLUS)])
    # BMPString (UTF-16) and UniversalString (UTF-32, beyond the BMP)
    m.cert("name-bmp", serial=0x31, not_before=NB, not_after=NA,
           subject=name((OID_O, 0x1C, "Ústí 𝄞".encode("utf-32-be")),
                        (OID_CN, 0x1E, "Łukasz Řehoř".encode("utf-16-be"))),
           extensions=[basic_constraints(False)])
    # a UTF8String that is not UTF-8: OpenSSL 3.0 refuses the whole
    # certificate (it canonicalises names while decoding)
    m.cert("garbage-name-invalid-utf8", serial=0x32, not_before=NB, not_after=NA,
           subject=name((OID_CN, 0x0C, b"Caf\xe9 \xff")),
           extensions=[basic_constraints(False)])


def make_garbage(m):
    with open(os.path.join(m.directory, "qualified-esign-qscd.der"), "rb") as f:
        good = f.read()
    m.write("garbage-empty", b"")
    m.write("garbage-one-byte", b"\x30")
    m.write("garbage-random", random.Random(20260101).randbytes(4096))
    m.write("garbage-truncated", good[: len(good) // 2])
    m.write("trailing-bytes", good + b"\x00\x00\x00")


def finish(directory):
    ders = sorted(f for f in os.listdir(directory) if f.endswith(".der"))
    sums = []
    for f in ders:
        path = os.path.join(directory, f)
        sums.append(run([OPENSSL, "dgst", "-sha256", "-r", path]).decode()
                    .replace(path, f))
        if not f.startswith("garbage-"):
            run([OPENSSL, "x509", "-inform", "DER", "-in", path, "-outform", "PEM", "-out",
                 path[:-4] + ".pem"])
    with open(os.path.join(directory, "SHA256SUMS"), "w") as out:
        out.write("".join(sums))


def main():
    global OPENSSL
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--stamp")
    parser.add_argument("--openssl", default="openssl")
    args = parser.parse_args()
    OPENSSL = args.openssl

    final = os.path.abspath(args.directory)
    work = final + ".tmp"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    m = Maker(work)
    make_kinds(m)
    make_odd(m)
    make_names(m)
    make_garbage(m)
    finish(work)
    shutil.rmtree(final, ignore_errors=True)
    os.rename(work, final)
    if args.stamp:
        with open(args.stamp, "w") as f:
            f.write("%s\n" % final)


if __name__ == "__main__":
    main()
