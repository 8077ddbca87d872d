#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tokenwatchctl against a fake tokenwatchd.

The fake runs in a child process on a private bus (Gio.TestDBus): it serves
the Manager, a reader, tokens and certificates of the D-Bus contract (the XML
in dbus/) with the ObjectManager, and takes commands on its stdin (one JSON
object per line) to add and remove objects and emit the Manager's signals.
The tests run the real tokenwatchctl against it.

usage: test-twctl-cli.py [TEST...]   (env: TOKENWATCHCTL, TW_DBUS_XML_DIR)
Exits 77 when python3-gi is missing.
"""

import json
import os
import pty
import subprocess
import sys
import tempfile
import time
import unittest

try:
    import gi
    gi.require_version("Gio", "2.0")
    from gi.repository import Gio, GLib
except (ImportError, ValueError):
    print("python3-gi is missing", file=sys.stderr)
    sys.exit(77)

BUS_NAME = "io.github.tokenwatch.TokenWatch1"
ROOT = "/io/github/tokenwatch/TokenWatch1"
IFACE = "io.github.tokenwatch.TokenWatch1."
READER_PATH = ROOT + "/readers/Reader_20A"
T1 = ROOT + "/tokens/Monet_ProIDQ_1234"
T2 = ROOT + "/tokens/Monet_ProIDQ_1234_Q"
T3 = ROOT + "/tokens/Gemalto_old_77"
C1 = ROOT + "/certificates/0123456789abcdef"
C2 = ROOT + "/certificates/1111222233334444"
C3 = ROOT + "/certificates/aaaabbbbccccdddd"
DER = b"\x30\x03\x02\x01\x00"
PEM = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n"
NOW = int(GLib.get_real_time() / 1000000)
DAY = 86400
LONG_NAME = "Ing. Jan Novák, Ph.D., " + "velmi dlouhé jméno " * 4 + "konec"

OM_XML = """<node><interface name='org.freedesktop.DBus.ObjectManager'>
<method name='GetManagedObjects'><arg type='a{oa{sa{sv}}}' direction='out'/></method>
<signal name='InterfacesAdded'><arg type='o'/><arg type='a{sa{sv}}'/></signal>
<signal name='InterfacesRemoved'><arg type='o'/><arg type='as'/></signal>
</interface></node>"""


def v(sig, value):
    return GLib.Variant(sig, value)


def token_props(label, serial, reader, certs, total=32768, free=26000, present=None):
    return {
        "Label": v("s", label), "Manufacturer": v("s", "Monet+"),
        "Model": v("s", "ProID+Q"), "SerialNumber": v("s", serial),
        "Present": v("b", reader != "/" if present is None else present),
        "Reader": v("o", reader),
        "FirstSeen": v("t", NOW - 100 * DAY), "LastSeen": v("t", NOW - 2 * DAY),
        "Certificates": v("ao", certs), "UserPinState": v("s", "ok"),
        "SoPinState": v("s", "to-be-changed"), "TotalMemory": v("t", total),
        "FreeMemory": v("t", free), "DeviceName": v("s", "ProID+Q gen. 2"),
        "QscdCertifiedUntil": v("t", NOW + 400 * DAY), "Qualified": v("b", True),
        "UnpairedKeys": v("u", 1), "Module": v("s", "opensc-pkcs11.so"),
        "Error": v("s", ""),
    }


def cert_props(cn, serial, kind, status, days, token, cert_id="01", early=False,
               issuer="CN=PostSignum Qualified CA 4,O=Česká pošta\\, s.p.,C=CZ",
               sha="0123456789abcdef" + "0" * 48):
    effective = NOW + days * DAY
    return {
        "Subject": v("s", "CN=%s,O=Example\\, s.r.o.,C=CZ" % cn.replace(",", "\\,")),
        "CommonName": v("s", cn), "Issuer": v("s", issuer),
        "SerialNumber": v("s", "%X" % serial), "SerialNumberDecimal": v("s", str(serial)),
        "NotBefore": v("t", NOW - 300 * DAY),
        "NotAfter": v("t", effective + (30 * DAY if early else 0)),
        "EffectiveNotAfter": v("t", effective), "DaysLeft": v("i", days),
        "Kind": v("s", kind), "QcCompliance": v("b", kind.startswith("qualified")),
        "QcSscd": v("b", kind.endswith("qscd")), "QcTypes": v("as", ["esign"]),
        "Policies": v("as", ["0.4.0.194112.1.2", "1.3.6.1.4.1.21528.2.1.1.190"]),
        "IsCa": v("b", kind == "ca"), "KeyType": v("s", "rsa"), "KeyBits": v("u", 2048),
        "KeyUsage": v("as", ["digitalSignature", "nonRepudiation"]),
        "Sha256": v("s", sha), "Label": v("s", "Podpis"), "Id": v("s", cert_id),
        "Error": v("s", ""), "Token": v("o", token), "Status": v("s", status),
    }


def initial_objects():
    return {
        READER_PATH: ("Reader", {
            "Name": v("s", "Reader A"), "CardPresent": v("b", True), "Atr": v("s", "3B00"),
            "Tokens": v("ao", [T1, T2]), "CardState": v("s", "present"),
            "EventCount": v("u", 1)}),
        T1: ("Token", token_props("ProID+Q", "1234", READER_PATH, [C2, C3])),
        T2: ("Token", token_props("ProID+Q QSCD", "1234", READER_PATH, [C1])),
        T3: ("Token", token_props("Old card", "77", "/", [], total=0, free=0)),
        C1: ("Certificate", cert_props("Jan Novák", 1234567890123456789,
                                       "qualified-esign-qscd", "expiring", 14, T2,
                                       cert_id="02", early=True)),
        C2: ("Certificate", cert_props("Jan Novák", 4242, "non-qualified-personal", "valid",
                                       200, T1, sha="1111222233334444" + "1" * 48)),
        C3: ("Certificate", cert_props("\x1b[31m" + LONG_NAME, 77, "ca", "expired", -3, T1,
                                       issuer="O=Only An Organisation,C=CZ",
                                       sha="aaaabbbbccccdddd" + "2" * 48)),
    }


# -- the fake tokenwatchd (child process) ------------------------------------

class Fake:
    def __init__(self, xml_dir):
        self.infos = {}
        for noun in ("Manager", "Reader", "Token", "Certificate"):
            with open(os.path.join(xml_dir, "%s%s.xml" % (IFACE, noun))) as f:
                self.infos[noun] = Gio.DBusNodeInfo.new_for_xml(f.read()).interfaces[0]
        self.om_info = Gio.DBusNodeInfo.new_for_xml(OM_XML).interfaces[0]
        self.objects = {}  # path → (noun, props)
        self.ids = {}
        self.manager_loads = 0  # how many clients loaded the Manager's properties
        self.conn = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        self.conn.register_object(ROOT, self.infos["Manager"], None, self.get_manager_prop,
                                  None)
        self.conn.register_object(ROOT, self.om_info, self.om_call, None, None)
        for path, (noun, props) in initial_objects().items():
            self.add(path, noun, props, announce=False)

    def get_manager_prop(self, conn, sender, path, iface, name):
        if name == "Version":
            self.manager_loads += 1
        return {"Version": v("s", "9.9.9"), "PcscAvailable": v("b", True)}[name]

    def om_call(self, conn, sender, path, iface, method, params, invocation):
        objects = {p: {IFACE + noun: props} for p, (noun, props) in self.objects.items()}
        invocation.return_value(GLib.Variant("(a{oa{sa{sv}}})", (objects,)))

    def object_call(self, conn, sender, path, iface, method, params, invocation):
        if method == "GetDer":
            invocation.return_value(GLib.Variant("(ay)", (DER,)))
        else:
            invocation.return_value(GLib.Variant("(s)", (PEM,)))

    def get_object_prop(self, conn, sender, path, iface, name):
        return self.objects[path][1][name]

    def emit(self, path, iface, signal, params):
        self.conn.emit_signal(None, path, iface, signal, params)

    def add(self, path, noun, props, announce=True):
        self.objects[path] = (noun, props)
        self.ids[path] = self.conn.register_object(
            path, self.infos[noun], self.object_call, self.get_object_prop, None)
        if announce:
            self.emit(ROOT, "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
                      GLib.Variant("(oa{sa{sv}})", (path, {IFACE + noun: props})))
            self.emit(ROOT, IFACE + "Manager", noun + "Added", GLib.Variant("(o)", (path,)))

    def remove(self, path):
        noun, _ = self.objects.pop(path)
        self.conn.unregister_object(self.ids.pop(path))
        self.emit(ROOT, "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                  GLib.Variant("(oas)", (path, [IFACE + noun])))
        self.emit(ROOT, IFACE + "Manager", noun + "Removed", GLib.Variant("(o)", (path,)))

    def command(self, line):
        cmd = json.loads(line)
        if cmd["op"] == "add-token":
            self.add(cmd["path"], "Token", token_props(cmd["label"], cmd["serial"], "/", []))
        elif cmd["op"] == "add-cert":
            self.add(cmd["path"], "Certificate",
                     cert_props(cmd["cn"], cmd["serial"], "qualified-esign-qscd", "valid",
                                cmd["days"], cmd["token"], sha=cmd["path"][-16:] + "3" * 48))
        elif cmd["op"] == "remove":
            self.remove(cmd["path"])
        elif cmd["op"] == "signal":
            self.emit(ROOT, IFACE + "Manager", cmd["name"],
                      GLib.Variant(cmd["sig"], tuple(cmd["args"])))
        self.conn.flush_sync(None)
        print("done %d" % self.manager_loads, flush=True)


def fake_main():
    loop = GLib.MainLoop()
    fake = Fake(os.environ["TW_DBUS_XML_DIR"])

    def on_stdin(channel, condition):
        line = sys.stdin.readline()
        if not line:
            loop.quit()
            return False
        fake.command(line)
        return True

    def on_name(conn, name):
        print("ready", flush=True)

    Gio.bus_own_name_on_connection(fake.conn, BUS_NAME, Gio.BusNameOwnerFlags.NONE,
                                   on_name, lambda *a: loop.quit())
    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()),
                      GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP,
                      on_stdin)
    loop.run()


# -- the tests ---------------------------------------------------------------

class TestCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bus = Gio.TestDBus.new(Gio.TestDBusFlags.NONE)
        cls.bus.up()
        cls.env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS=cls.bus.get_bus_address(),
                       LC_ALL="C.UTF-8", NO_COLOR="1")
        cls.fake = subprocess.Popen([sys.executable, __file__, "--fake"], env=cls.env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert cls.fake.stdout.readline().strip() == "ready"

    @classmethod
    def tearDownClass(cls):
        cls.fake.stdin.close()
        cls.fake.wait(10)
        cls.fake.stdout.close()
        cls.bus.down()

    def fake_command(self, **cmd):
        """Runs @cmd in the fake; returns how many clients have loaded the
        Manager's properties so far (a client does that once it listens to
        the Manager's signals)."""
        self.fake.stdin.write(json.dumps(cmd) + "\n")
        self.fake.stdin.flush()
        word, loads = self.fake.stdout.readline().split()
        self.assertEqual(word, "done")
        return int(loads)

    def wait_for_clients(self, n, before):
        deadline = time.monotonic() + 10
        while self.fake_command(op="nothing") < before + n:
            self.assertLess(time.monotonic(), deadline, "the monitors did not connect")
            time.sleep(0.05)

    def ctl(self, *args, rc=0, env=None, stdout=subprocess.PIPE):
        r = subprocess.run([os.environ["TOKENWATCHCTL"], "--session"] + list(args),
                           env=env or self.env, stdout=stdout, stderr=subprocess.PIPE,
                           timeout=20)
        out = r.stdout.decode() if r.stdout is not None else ""
        if r.returncode != rc:
            self.fail("tokenwatchctl %s: exit %d, not %d\n%s%s"
                      % (" ".join(args), r.returncode, rc, out, r.stderr.decode()))
        return out, r.stderr.decode()

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args)[0])

    # status
    def test_status(self):
        self.assertEqual(self.ctl_json("status"),
                         {"version": "9.9.9", "pcsc_available": True, "readers": 1,
                          "cards": 1, "tokens": 3, "certificates": 3})
        out, _ = self.ctl("status")
        self.assertRegex(out, r"Tokens:\s+3\n")
        self.assertRegex(out, r"Certificates:\s+3\n")

    # tokens
    def test_tokens_json(self):
        tokens = self.ctl_json("tokens")["tokens"]
        self.assertEqual([t["label"] for t in tokens], ["Old card", "ProID+Q", "ProID+Q QSCD"])
        t = tokens[1]
        self.assertEqual(set(t), {
            "object_path", "label", "manufacturer", "model", "serial_number", "present",
            "reader", "reader_name", "first_seen", "last_seen", "user_pin_state",
            "so_pin_state", "total_memory", "free_memory", "device_name",
            "qscd_certified_until", "qualified", "unpaired_keys", "module", "error",
            "certificates"})
        self.assertEqual(t["object_path"], T1)
        self.assertEqual(t["reader"], READER_PATH)
        self.assertEqual(t["reader_name"], "Reader A")
        self.assertEqual(t["certificates"], [C2, C3])
        self.assertEqual(t["so_pin_state"], "to-be-changed")
        self.assertEqual(t["total_memory"], 32768)
        self.assertIs(t["present"], True)
        self.assertIsNone(tokens[0]["reader"])
        self.assertIsNone(tokens[0]["reader_name"])

    def test_tokens_text(self):
        out, _ = self.ctl("tokens")
        blocks = out.split("\n\n")
        self.assertEqual(len(blocks), 3)
        self.assertTrue(blocks[0].startswith("Old card\n"))
        self.assertRegex(blocks[0], r"Memory:\s+unknown")
        self.assertRegex(blocks[0], r"Present:\s+no \(last seen \d{4}-")
        self.assertRegex(blocks[1], r"Present:\s+yes, in Reader A")
        self.assertRegex(blocks[1], r"Memory:\s+6\.6\sKiB of 32\.0\sKiB used \(21%\)")
        self.assertRegex(blocks[1], r"SO PIN \(PUK\):\s+to be changed")
        self.assertRegex(blocks[1], r"Unpaired keys:\s+1")
        self.assertRegex(blocks[1], r"Certificates:\s+2")
        self.assertRegex(blocks[1], r"Device:\s+ProID\+Q gen\. 2, QSCD certified until ")
        self.assertNotIn("Error:", out)

    # certs
    def test_certs_json(self):
        certs = self.ctl_json("certs")["certificates"]
        self.assertEqual(len(certs), 3)
        by_path = {c["object_path"]: c for c in certs}
        c = by_path[C1]
        self.assertEqual(set(c), {
            "object_path", "common_name", "subject", "issuer", "serial_number",
            "serial_number_decimal", "not_before", "not_after", "effective_not_after",
            "days_left", "kind", "status", "qc_compliance", "qc_sscd", "qc_types", "policies",
            "is_ca", "key_type", "key_bits", "key_usage", "sha256", "label", "id", "error",
            "token"})
        self.assertEqual(c["serial_number"], "112210F47DE98115")
        self.assertEqual(c["serial_number_decimal"], "1234567890123456789")
        self.assertEqual(c["kind"], "qualified-esign-qscd")
        self.assertEqual(c["token"], T2)
        self.assertEqual(c["common_name"], "Jan Novák")
        self.assertEqual(by_path[C3]["days_left"], -3)
        self.assertEqual(by_path[C3]["status"], "expired")
        self.assertEqual(c["key_usage"], ["digitalSignature", "nonRepudiation"])

    def test_certs_json_is_utf8_in_any_locale(self):
        out, _ = self.ctl("--json", "certs", env=dict(self.env, LC_ALL="C"))
        self.assertIn("Jan Novák", out)
        self.assertIn("Česká pošta", out)

    def test_certs_text(self):
        out, _ = self.ctl("certs")
        lines = out.splitlines()
        header = lines[0]
        for col in ("Name", "Serial number", "Valid until", "Days left", "Issuer", "Kind"):
            self.assertIn(col, header)
        self.assertNotIn("\x1b", out)
        self.assertIn("\ufffd[31m" + LONG_NAME, out)   # not cut: no terminal
        self.assertNotIn("…", out)
        rows = lines[1:4]
        # the columns line up (all ASCII up to there, or one char per column)
        serial_col = header.index("Serial number")
        for row in rows:
            self.assertEqual(row[serial_col - 2:serial_col], "  ")
        c1 = [r for r in rows if "1234567890123456789" in r][0]
        self.assertRegex(c1, r"\d{4}-\d{2}-\d{2}\*")
        self.assertRegex(c1, r"\s14\s")
        self.assertIn("PostSignum Qualified CA 4", c1)
        self.assertIn("qualified signature, QSCD", c1)
        c3 = [r for r in rows if LONG_NAME in r][0]
        self.assertIn("Only An Organisation", c3)
        self.assertRegex(c3, r"\s-3\s")
        self.assertIn("* the QSCD certification", out)

    def test_certs_text_truncated_on_a_terminal(self):
        master, slave = pty.openpty()
        try:
            env = dict(self.env, COLUMNS="100")
            r = subprocess.run([os.environ["TOKENWATCHCTL"], "--session", "certs"], env=env,
                               stdout=slave, stderr=subprocess.PIPE, timeout=20)
            self.assertEqual(r.returncode, 0, r.stderr)
            os.close(slave)
            slave = None
            out = b""
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            if slave is not None:
                os.close(slave)
            os.close(master)
        text = out.decode()
        self.assertIn("…", text)
        self.assertNotIn(LONG_NAME, text)

    def test_certs_for_token(self):
        certs = self.ctl_json("certs", "--token", "ProID+Q")["certificates"]
        self.assertEqual([c["object_path"] for c in certs], [C2, C3])
        certs = self.ctl_json("certs", "--token", T2)["certificates"]
        self.assertEqual([c["object_path"] for c in certs], [C1])
        _, err = self.ctl("certs", "--token", "1234", rc=1)
        self.assertIn("matches 2 tokens", err)
        self.assertIn(T1, err)
        _, err = self.ctl("certs", "--token", "nothing", rc=1)
        self.assertIn("No token matches", err)
        self.assertIn("No certificates.", self.ctl("certs", "--token", "Old card")[0])

    # show
    def test_show_lookup(self):
        by_path = {c["object_path"]: c for c in self.ctl_json("certs")["certificates"]}
        for spec, path in ((C1, C1), ("0123456789", C1), ("0123456789ABCDEF", C1),
                           ("1234567890123456789", C1), ("02", C1), ("4242", C2),
                           ("aaaabbbb", C3)):
            self.assertEqual(self.ctl_json("show", spec), by_path[path], spec)
        _, err = self.ctl("show", "01", rc=1)
        self.assertIn("“01” matches 2 certificates", err)
        self.assertIn(C2, err)
        self.assertIn(C3, err)
        _, err = self.ctl("show", "0123", rc=1)   # too short for a SHA-256 prefix
        self.assertIn("No certificate matches", err)
        self.ctl("show", rc=2)
        self.ctl("show", "a", "b", rc=2)

    def test_show_text(self):
        out, _ = self.ctl("show", "1234567890123456789")
        self.assertTrue(out.startswith("Jan Novák\n"))
        self.assertRegex(out, r"Serial number:\s+1234567890123456789 \(hex 112210F47DE98115\)")
        self.assertRegex(out, r"Valid until:\s+\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
        self.assertRegex(out, r"Usable until:\s+.*QSCD certification of the device ends first")
        self.assertRegex(out, r"Policies:\s+0\.4\.0\.194112\.1\.2 \(QCP-n-qscd\), ")
        self.assertRegex(out, r"Kind:\s+qualified signature, QSCD \(qualified-esign-qscd\)")
        self.assertRegex(out, r"Token:\s+ProID\+Q QSCD \(" + T2 + r"\)")
        self.assertRegex(out, r"Key:\s+rsa, 2048 bits")
        for label in ("Object path", "Subject", "Issuer", "Valid from", "Days left", "Status",
                      "QcCompliance", "QcSSCD", "QcTypes", "CA", "Key usage", "SHA-256",
                      "Label", "ID", "Error"):
            self.assertRegex(out, r"\n  %s:\s" % label)

    # export
    def test_export(self):
        out, _ = self.ctl("export", "02")
        self.assertEqual(out, PEM)
        r = subprocess.run([os.environ["TOKENWATCHCTL"], "--session", "export", "--der", "02"],
                           env=self.env, capture_output=True, timeout=20)
        self.assertEqual((r.returncode, r.stdout), (0, DER))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "cert.der")
            self.ctl("export", C1, "--der", "-o", path)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), DER)
            path = os.path.join(tmp, "cert.pem")
            self.ctl("export", "-o", path, "4242")
            with open(path) as f:
                self.assertEqual(f.read(), PEM)
            _, err = self.ctl("export", "02", "-o", os.path.join(tmp, "no", "such"), rc=1)
            self.assertTrue(err)
        _, err = self.ctl("--json", "export", "02", rc=2)
        self.assertIn("--json", err)
        self.ctl("export", "02", "--json", rc=2)
        self.ctl("export", rc=2)
        self.ctl("export", "01", rc=1)   # ambiguous

    def test_export_der_refused_on_a_terminal(self):
        master, slave = pty.openpty()
        try:
            r = subprocess.run([os.environ["TOKENWATCHCTL"], "--session", "export", "--der",
                                "02"], env=self.env, stdout=slave, stderr=subprocess.PIPE,
                               timeout=20)
        finally:
            os.close(slave)
            os.close(master)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"terminal", r.stderr)

    # monitor
    def read_events(self, proc, n):
        return [json.loads(proc.stdout.readline()) for _ in range(n)]

    def test_monitor(self):
        before = self.fake_command(op="nothing")
        proc = subprocess.Popen([os.environ["TOKENWATCHCTL"], "--session", "--json", "monitor"],
                                env=self.env, stdout=subprocess.PIPE, text=True)
        text = subprocess.Popen([os.environ["TOKENWATCHCTL"], "--session", "monitor"],
                                env=self.env, stdout=subprocess.PIPE, text=True)
        try:
            t4 = ROOT + "/tokens/new_token"
            c4 = ROOT + "/certificates/4444444444444444"
            c5 = ROOT + "/certificates/5555555555555555"
            self.wait_for_clients(2, before)
            # about an object tokenwatchctl does not know: dropped
            self.fake_command(op="signal", name="ExpiryWarning", sig="(ois)",
                              args=[ROOT + "/certificates/none", 1, "critical"])
            self.fake_command(op="add-token", path=t4, label="Nový token", serial="999")
            self.fake_command(op="add-cert", path=c4, cn="Jana Nová", serial=100, days=5,
                              token=t4)
            self.fake_command(op="signal", name="ExpiryWarning", sig="(ois)",
                              args=[c4, 5, "critical"])
            self.fake_command(op="signal", name="DeviceCertificationEnding", sig="(oi)",
                              args=[t4, 90])
            self.fake_command(op="add-cert", path=c5, cn="Jana Nová", serial=101, days=700,
                              token=t4)
            self.fake_command(op="signal", name="CertificateRenewed", sig="(oo)",
                              args=[c4, c5])
            self.fake_command(op="remove", path=c4)
            self.fake_command(op="remove", path=c5)
            self.fake_command(op="remove", path=t4)
            events = self.read_events(proc, 9)
        finally:
            proc.terminate()
            text.terminate()
            self.assertEqual(proc.wait(10), 0)
            self.assertEqual(text.wait(10), 0)
            proc.stdout.close()
        names = [e["event"] for e in events]
        self.assertEqual(names, ["token-added", "certificate-added", "expiry-warning",
                                 "device-certification-ending", "certificate-added",
                                 "certificate-renewed", "certificate-removed",
                                 "certificate-removed", "token-removed"])
        self.assertEqual(events[0]["label"], "Nový token")
        self.assertEqual(events[0]["serial_number"], "999")
        self.assertEqual(events[0]["object_path"], t4)
        self.assertEqual(events[1]["serial_number_decimal"], "100")
        self.assertEqual(events[1]["token"], t4)
        self.assertEqual((events[2]["days_left"], events[2]["level"],
                          events[2]["object_path"]), (5, "critical", c4))
        self.assertEqual((events[3]["days_left"], events[3]["object_path"]), (90, t4))
        self.assertEqual((events[5]["old_object_path"], events[5]["new_object_path"],
                          events[5]["old_serial_number_decimal"],
                          events[5]["new_serial_number_decimal"]), (c4, c5, "100", "101"))
        for e in events:
            self.assertIsInstance(e["time"], float)
        lines = text.stdout.read().splitlines()
        text.stdout.close()
        joined = "\n".join(lines)
        self.assertIn("token-added Nový token (serial number 999)", joined)
        self.assertIn("expiry-warning critical Jana Nová (serial number 100): 5 days left",
                      joined)
        self.assertIn("device-certification-ending Nový token (serial number 999): QSCD "
                      "certification ends in 90 days", joined)
        self.assertIn("certificate-renewed Jana Nová: serial number 100 -> 101", joined)
        self.assertNotIn("none", joined)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fake"]:
        fake_main()
        sys.exit(0)
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
