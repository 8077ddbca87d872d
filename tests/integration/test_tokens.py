#!/usr/bin/python3
"""Tokens and certificates end to end: OpenSC reading virtual PIV cards that
carry the build's certificate fixtures (tests/data/make-certs.py), SoftHSM
tokens, p11-kit's configuration, and a recording module that proves
tokenwatchd never logs in."""

import hashlib
import json
import os
import subprocess
import tempfile
import time

import twtest
from twtest import BUS_NAME, MANAGER, ROOT, GLib

TOKEN = twtest.IFACE + ".Token"
CERTIFICATE = twtest.IFACE + ".Certificate"
SOFTHSM = "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"

# one certificate of every Kind, with the slot it goes in (RSA and EC keys
# only: OpenSC's PIV driver does not list a certificate whose key PIV cannot
# hold, such as Ed448)
EVERY_KIND = [
    ("9a", "personal-ncp-plus", "non-qualified-personal"),
    ("9c", "qualified-esign-qscd", "qualified-esign-qscd"),
    ("9d", "qualified-esign", "qualified-esign"),
    ("9e", "qualified-eseal-qscd", "qualified-eseal-qscd"),
    ("82", "qualified-eseal", "qualified-eseal"),
    ("83", "qualified-web", "qualified-web"),
    ("84", "ca", "ca"),
    ("85", "other-ncp-legal-person", "other"),
]
FORBIDDEN = ["C_Login", "C_Logout", "C_InitToken", "C_InitPIN", "C_SetPIN", "C_Sign",
             "C_SignInit", "C_SignUpdate", "C_SignFinal", "C_SignRecover", "C_Decrypt",
             "C_DecryptInit", "C_Encrypt", "C_EncryptInit", "C_GenerateKey",
             "C_GenerateKeyPair", "C_WrapKey", "C_UnwrapKey", "C_DeriveKey",
             "C_CreateObject", "C_DestroyObject", "C_SetAttributeValue", "C_CopyObject",
             "C_Verify", "C_VerifyInit", "C_DigestKey", "C_SeedRandom", "C_GenerateRandom"]


def fixture(name):
    d = os.environ.get("TW_CERT_FIXTURES")
    if not d:
        raise twtest.unittest.SkipTest("TW_CERT_FIXTURES is not set")
    with open(os.path.join(d, name + ".der"), "rb") as f:
        return f.read()


class TokensTestCase(twtest.TokenwatchTestCase):

    def tokens(self):
        return self.objects(TOKEN)

    def certificates(self):
        return self.objects(CERTIFICATE)

    def certificate_by_sha(self, der):
        sha = hashlib.sha256(der).hexdigest()
        for path, props in self.certificates().items():
            if props["Sha256"] == sha:
                return path, props
        self.fail("no certificate object for %s" % sha[:16])

    def insert_and_wait(self, index, certs, **kwargs):
        n = self.count("TokenAdded")
        card = self.card(index, certificates=certs, **kwargs).insert()
        self.wait_signal("TokenAdded", n=n + 1, timeout=20)
        return card


class TestTokens(TokensTestCase):

    def test_every_kind(self):
        self.start_daemon()
        readers = self.wait_readers(4)
        reader_path = readers[self.pcscd.reader_names[0]]["path"]
        ders = {slot: fixture(name) for slot, name, _ in EVERY_KIND}
        card = self.insert_and_wait(0, ders)
        tokens = self.tokens()
        self.assertEqual(len(tokens), 1)
        token_path, token = next(iter(tokens.items()))
        self.assertTrue(token_path.startswith(ROOT + "/tokens/"))
        self.assertEqual(token["Manufacturer"], "piv_II")
        self.assertEqual(token["Model"], "PKCS#15 emulated")
        self.assertEqual(token["SerialNumber"], card.pkcs11_serial)
        self.assertTrue(token["Present"])
        self.assertEqual(token["Reader"], reader_path)
        self.assertEqual(token["UserPinState"], "ok")
        self.assertEqual(token["Module"], twtest.OPENSC)
        self.assertEqual(os.path.realpath(token["ModulePath"]), os.path.realpath(twtest.OPENSC))
        self.assertEqual(token["Error"], "")
        self.assertEqual(token["UnpairedKeys"], 0)
        self.assertGreater(token["FirstSeen"], time.time() - 60)
        self.assertEqual(len(token["Certificates"]), len(EVERY_KIND))
        self.assertEqual(self.readers()[self.pcscd.reader_names[0]]["Tokens"], [token_path])
        # every certificate announced before the token that lists it
        members = [m for m, _ in self.signals if m in ("CertificateAdded", "TokenAdded")]
        self.assertEqual(members, ["CertificateAdded"] * len(EVERY_KIND) + ["TokenAdded"])
        for slot, name, kind in EVERY_KIND:
            der = ders[slot]
            path, cert = self.certificate_by_sha(der)
            self.assertEqual(path, ROOT + "/certificates/" + hashlib.sha256(der).hexdigest()[:16])
            self.assertEqual(cert["Kind"], kind, name)
            self.assertEqual(cert["Token"], token_path)
            self.assertIn(path, token["Certificates"])
            self.assertEqual(int(cert["SerialNumber"], 16), int(cert["SerialNumberDecimal"]))
            self.assertEqual(cert["Error"], "", name)
            self.assertTrue(cert["Label"])
            self.assertTrue(cert["Id"])
            # the DER back, byte for byte, and the PEM of it
            got = bytes(self.call(path, CERTIFICATE, "GetDer", reply="(ay)")[0])
            self.assertEqual(got, der)
            pem = self.call(path, CERTIFICATE, "GetPem", reply="(s)")[0]
            out = subprocess.run(["openssl", "x509", "-outform", "DER"], input=pem.encode(),
                                 capture_output=True, check=True).stdout
            self.assertEqual(out, der)
        _, esign = self.certificate_by_sha(ders["9c"])
        self.assertTrue(esign["QcCompliance"])
        self.assertTrue(esign["QcSscd"])
        self.assertEqual(esign["QcTypes"], ["esign"])
        _, ca = self.certificate_by_sha(ders["84"])
        self.assertTrue(ca["IsCa"])
        card.remove()

    def test_remove_and_reinsert(self):
        """Remembered while the card is out, the same objects when it is back,
        gone only when forgotten."""
        self.start_daemon()
        self.wait_readers(4)
        certs = {slot: fixture(name) for slot, name, _ in EVERY_KIND[:5]}
        card = self.insert_and_wait(1, certs)
        token_path = next(iter(self.tokens()))
        before_certs = set(self.certificates())
        self.assertEqual(len(before_certs), 5)
        card.remove()
        self.wait_signal("TokenRemoved", token_path)
        token = self.tokens()[token_path]
        self.assertFalse(token["Present"])
        self.assertEqual(token["Reader"], "/")
        self.assertEqual(len(token["Certificates"]), 5)
        self.assertEqual(set(self.certificates()), before_certs)
        self.assertEqual(self.readers()[self.pcscd.reader_names[1]]["Tokens"], [])
        # the card's removal first, then the token's; certificates stay tracked
        members = [m for m, _ in self.signals
                   if m in ("CardRemoved", "TokenRemoved", "CertificateRemoved")]
        self.assertEqual(members, ["CardRemoved", "TokenRemoved"])
        card.insert()
        self.wait_signal("TokenAdded", n=2, timeout=20)
        self.assertEqual(set(self.tokens()), {token_path})
        self.assertTrue(self.tokens()[token_path]["Present"])
        self.assertEqual(set(self.certificates()), before_certs)
        # forgotten: the token goes, and the certificates only it held
        card.remove()
        self.wait_signal("TokenRemoved", n=2)
        self.call(ROOT, MANAGER, "Forget", GLib.Variant("(o)", (token_path,)))
        self.wait_signal("CertificateRemoved", n=5)
        self.assertEqual(self.tokens(), {})
        self.assertEqual(self.certificates(), {})
        with self.assertRaises(GLib.Error) as cm:
            self.call(ROOT, MANAGER, "Forget",
                      GLib.Variant("(o)", (ROOT + "/tokens/0000000000000000",)))
        self.assertIn("io.github.tokenwatch.TokenWatch1.Error.NotFound", cm.exception.message)
        # back in: a new token, as new
        card.insert()
        self.wait_signal("TokenAdded", n=3, timeout=20)
        self.assertEqual(set(self.tokens()), {token_path})

    def test_same_certificate_on_two_cards(self):
        self.start_daemon()
        self.wait_readers(4)
        der = fixture("qualified-esign-qscd")
        a = self.insert_and_wait(0, {"9c": der})
        b = self.insert_and_wait(2, {"9c": der})
        self.assertEqual(len(self.tokens()), 2)
        self.assertEqual(len(self.certificates()), 1)
        path, cert = self.certificate_by_sha(der)
        self.assertIn(cert["Token"], self.tokens())
        a.remove()
        b.remove()
        self.wait_signal("TokenRemoved", n=2)
        # both remembered, the certificate tracked
        self.assertEqual(len(self.certificates()), 1)
        tokens = list(self.tokens())
        self.call(ROOT, MANAGER, "Forget", GLib.Variant("(o)", (tokens[0],)))
        self.pump(0.3)
        self.assertEqual(len(self.certificates()), 1)
        self.call(ROOT, MANAGER, "Forget", GLib.Variant("(o)", (tokens[1],)))
        self.wait_signal("CertificateRemoved", path)

    def test_garbage_and_odd_certificates(self):
        """Whatever a certificate holds, the token is read, the daemon stays."""
        self.start_daemon()
        self.wait_readers(4)
        certs = {"9a": fixture("personal-ncp-plus"), "9c": fixture("garbage-random"),
                 "9d": fixture("odd-qc-double-wrap"), "9e": fixture("garbage-truncated"),
                 "82": fixture("odd-qc-bare-qctype")}
        card = self.insert_and_wait(0, certs)
        _, good = self.certificate_by_sha(certs["9a"])
        self.assertEqual(good["Kind"], "non-qualified-personal")
        for slot in ("9d", "82"):
            _, odd = self.certificate_by_sha(certs[slot])
            self.assertNotEqual(odd["Error"], "")
            self.assertTrue(odd["Kind"].startswith("qualified-"), odd["Kind"])
        # OpenSC may or may not show a certificate it cannot parse itself;
        # what it shows is listed, with Kind other and an Error
        for slot in ("9c", "9e"):
            sha = hashlib.sha256(certs[slot]).hexdigest()
            for path, props in self.certificates().items():
                if props["Sha256"] == sha:
                    self.assertEqual(props["Kind"], "other")
                    self.assertNotEqual(props["Error"], "")
        self.assertEqual(len(self.tokens()), 1)
        card.remove()

    def test_odd_names(self):
        """A token labelled from a T61String (Latin-1) name, and odd
        certificate names: valid UTF-8 on the bus."""
        self.start_daemon()
        self.wait_readers(4)
        certs = {"9a": fixture("name-t61-latin1"), "9c": fixture("name-bmp")}
        card = self.insert_and_wait(0, certs)
        token = next(iter(self.tokens().values()))
        # D-Bus would not carry anything else; the test is that we got here
        self.assertIsInstance(token["Label"], str)
        _, latin = self.certificate_by_sha(certs["9a"])
        self.assertIn("Jürgen Müller", latin["CommonName"])
        _, bmp = self.certificate_by_sha(certs["9c"])
        self.assertEqual(bmp["CommonName"], "Łukasz Řehoř")
        card.remove()

    def test_card_pulled_during_read(self):
        d = self.start_daemon()
        self.wait_readers(4)
        certs = {slot: fixture(name) for slot, name, _ in EVERY_KIND}
        card = self.card(0, certificates=certs)
        card.apdu_delay = 0.02  # a slow card: the read takes a while
        card.insert()
        self.wait_signal("CardInserted", timeout=10)
        start = card.apdu_count
        # pull it once the daemon is reading it
        self.wait_until(lambda: card.apdu_count > start + 15, 20, "the daemon reading the card")
        card.remove()
        self.wait_signal("CardRemoved", timeout=10)
        self.pump(1.5)
        self.assertTrue(d.proc.running)
        self.assertEqual(self.tokens(), {})
        # a good card afterwards is read as usual
        card.apdu_delay = 0
        card.insert()
        self.wait_signal("TokenAdded", timeout=20)
        self.assertEqual(len(next(iter(self.tokens().values()))["Certificates"]),
                         len(EVERY_KIND))


class TestCliTokens(TokensTestCase):

    def test_tokens_certs_show_export(self):
        self.start_daemon()
        self.wait_readers(4)
        ders = {slot: fixture(name) for slot, name, _ in EVERY_KIND[:3]}
        card = self.insert_and_wait(0, ders)
        token_path = next(iter(self.tokens()))
        # tokens
        text = self.ctl("tokens").stdout
        self.assertIn(card.pkcs11_serial, text)
        j = json.loads(self.ctl("--json", "tokens").stdout)
        self.assertEqual(len(j["tokens"]), 1)
        t = j["tokens"][0]
        self.assertEqual(t["object_path"], token_path)
        self.assertEqual(t["serial_number"], card.pkcs11_serial)
        self.assertEqual(t["user_pin_state"], "ok")
        self.assertEqual(len(t["certificates"]), 3)
        # certs: the vendor tool's table, serial numbers in decimal
        _, esign = self.certificate_by_sha(ders["9c"])
        text = self.ctl("certs").stdout
        self.assertIn(esign["SerialNumberDecimal"], text)
        self.assertIn(esign["CommonName"], text)
        self.assertIn("qualified signature, QSCD", text)
        j = json.loads(self.ctl("--json", "certs").stdout)
        self.assertEqual(len(j["certificates"]), 3)
        by_sha = {c["sha256"]: c for c in j["certificates"]}
        c = by_sha[hashlib.sha256(ders["9c"]).hexdigest()]
        self.assertEqual(c["kind"], "qualified-esign-qscd")
        self.assertEqual(c["serial_number_decimal"], esign["SerialNumberDecimal"])
        self.assertEqual(c["token"], token_path)
        # show, by decimal serial and by SHA-256 prefix
        for ref in (esign["SerialNumberDecimal"], esign["Sha256"][:12]):
            out = json.loads(self.ctl("--json", "show", ref).stdout)
            self.assertEqual(out["sha256"], esign["Sha256"])
        self.assertIn(esign["Subject"], self.ctl("show", esign["Sha256"][:12]).stdout)
        r = self.ctl("show", "0000000000", check=False)
        self.assertEqual(r.returncode, 1)
        # export: PEM to stdout, DER to a file, byte for byte
        pem = self.ctl("export", esign["Sha256"][:12]).stdout
        der = subprocess.run(["openssl", "x509", "-outform", "DER"], input=pem.encode(),
                             capture_output=True, check=True).stdout
        self.assertEqual(der, ders["9c"])
        out = os.path.join(self.workdir, "cert.der")
        self.ctl("export", esign["Sha256"][:12], "--der", "-o", out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), ders["9c"])
        card.remove()


class TestSoftHsm(TokensTestCase):

    def make_softhsm(self):
        d = os.path.join(self.workdir, "softhsm")
        os.makedirs(d)
        subprocess.run(["bash", os.environ["TW_P11_MAKE_SOFTHSM"], d], check=True,
                       capture_output=True)
        self.env["SOFTHSM2_CONF"] = os.path.join(d, "softhsm2.conf")
        return d

    def test_softhsm_at_start_and_on_refresh(self):
        d = self.make_softhsm()
        self.start_daemon(p11_args=["--no-p11-kit", "--pkcs11-module", SOFTHSM])
        self.wait_signal("TokenAdded", timeout=20)
        path, token = next(iter(self.tokens().items()))
        self.assertEqual(token["Label"], "Testbed HSM")
        self.assertEqual(token["Reader"], "/")
        self.assertEqual(os.path.realpath(token["ModulePath"]), os.path.realpath(SOFTHSM))
        self.assertEqual(token["Module"], SOFTHSM)
        self.assertEqual(token["UnpairedKeys"], 1)  # pub-07 has no certificate
        self.assertEqual(len(token["Certificates"]), 2)
        with open(os.path.join(d, "cert-01.der"), "rb") as f:
            _, cert = self.certificate_by_sha(f.read())
        self.assertEqual(cert["Label"], "auth cert")
        self.assertEqual(cert["Id"], "01")
        # a certificate written meanwhile shows up on Refresh
        new = fixture("qualified-eseal")
        der = os.path.join(self.workdir, "new.der")
        with open(der, "wb") as f:
            f.write(new)
        subprocess.run(["pkcs11-tool", "--module", SOFTHSM, "--token-label", "Testbed HSM",
                        "--login", "--pin", "123456", "--write-object", der, "--type", "cert",
                        "--id", "09", "--label", "new"], env=self.env, check=True,
                       capture_output=True)
        self.call(ROOT, MANAGER, "Refresh")
        self.wait_signal("CertificateAdded", n=3, timeout=20)
        _, cert = self.certificate_by_sha(new)
        self.assertEqual(cert["Kind"], "qualified-eseal")
        self.assertIn(self.certificate_by_sha(new)[0], self.tokens()[path]["Certificates"])
        self.assertEqual(len(self.tokens()[path]["Certificates"]), 3)

    def test_label_not_utf8(self):
        d = self.make_softhsm()
        subprocess.run([b"softhsm2-util", b"--init-token", b"--free", b"--label",
                        b"\xc8te\xe8ka \x01\xff", b"--so-pin", b"12345678", b"--pin", b"123456"],
                       env=self.env, check=True, capture_output=True)
        self.start_daemon(p11_args=["--no-p11-kit", "--pkcs11-module", SOFTHSM])
        self.wait_signal("TokenAdded", n=2, timeout=20)
        labels = sorted(t["Label"] for t in self.tokens().values())
        self.assertEqual(labels, ["Testbed HSM", "\ufffdte\ufffdka  \ufffd"])
        # the certificate label with a Latin-1 byte, likewise
        with open(os.path.join(d, "cert-02.der"), "rb") as f:
            _, cert = self.certificate_by_sha(f.read())
        self.assertEqual(cert["Label"], "sign \ufffd")

    def test_module_errors(self):
        """A module that answers nonsense: the token says so, the daemon
        stays, the log says what happened."""
        recorder = os.environ.get("TW_P11_RECORDER")
        if not recorder:
            raise twtest.unittest.SkipTest("TW_P11_RECORDER is not set")
        self.make_softhsm()
        self.env["TW_P11_RECORDER_TARGET"] = SOFTHSM
        self.env["TW_P11_RECORDER_LOG"] = os.path.join(self.workdir, "p11-calls.log")
        self.env["TW_P11_RECORDER_FAULT"] = "badlen:C_GetAttributeValue"
        d = self.start_daemon(p11_args=["--no-p11-kit", "--pkcs11-module", recorder])
        self.wait_signal("TokenAdded", timeout=20)
        token = next(iter(self.tokens().values()))
        self.assertEqual(token["Label"], "Testbed HSM")
        self.assertNotEqual(token["Error"], "")
        self.assertTrue(d.proc.running)
        self.assertIn(token["Error"].split(":")[0], d.log())

    def test_p11_kit_configuration(self):
        """Modules from p11-kit's configuration: OpenSC and SoftHSM read,
        p11-kit-trust (144 CA certificates here) skipped."""
        self.make_softhsm()
        self.start_daemon(p11_args=[])
        self.wait_signal("TokenAdded", timeout=20)
        card = self.insert_and_wait(0, {"9a": fixture("personal-ncp-plus")})
        tokens = self.tokens()
        models = sorted(t["Model"] for t in tokens.values())
        self.assertNotIn("p11-kit-trust", models)
        self.assertEqual(len(tokens), 2, models)
        self.assertEqual(sorted(t["Label"] for t in tokens.values())[-1], "Testbed HSM")
        self.assertLess(len(self.certificates()), 10)
        card.remove()


class TestNeverLogsIn(TokensTestCase):

    def test_no_forbidden_call(self):
        recorder = os.environ.get("TW_P11_RECORDER")
        if not recorder:
            raise twtest.unittest.SkipTest("TW_P11_RECORDER is not set")
        log = os.path.join(self.workdir, "p11-calls.log")
        self.env["TW_P11_RECORDER_TARGET"] = twtest.OPENSC
        self.env["TW_P11_RECORDER_LOG"] = log
        self.start_daemon(p11_args=["--no-p11-kit", "--pkcs11-module", recorder])
        self.wait_readers(4)
        # a card with a PIN one try from locked: still nobody asks for it
        card = self.insert_and_wait(0, {"9a": fixture("qualified-esign-qscd")}, pin_tries=1)
        token = next(iter(self.tokens().values()))
        self.assertEqual(token["UserPinState"], "final-try")
        card.remove()
        self.wait_signal("TokenRemoved")
        self.call(ROOT, MANAGER, "Refresh")
        self.pump(1)
        with open(log) as f:
            calls = [line.split()[0] for line in f if line.strip()]
        self.assertIn("C_GetTokenInfo", calls)
        self.assertIn("C_FindObjects", calls)
        for name in FORBIDDEN:
            self.assertNotIn(name, calls)
        opened = [line for line in open(log) if line.startswith("C_OpenSession")]
        self.assertTrue(opened)


if __name__ == "__main__":
    twtest.main()
