#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""tokenwatchctl against a fake tokenwatchd.

The fake runs in a child process on a private bus (Gio.TestDBus): it serves
the Manager (with Forget and ReloadConfig), a reader, tokens and certificates
of the D-Bus contract (the XML in dbus/) with the ObjectManager, and takes
commands on its stdin (one JSON object per line) to add and remove objects,
load a set of objects (a fixture), and emit the Manager's signals. The tests
run the real tokenwatchctl against it; each starts from the "initial"
fixture.

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
C4 = ROOT + "/certificates/4444000044440000"
C5 = ROOT + "/certificates/5555000055550000"
DER = b"\x30\x03\x02\x01\x00"
PEM = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n"
# the same in the tests and in the fake, which gets it from the environment
NOW = int(os.environ.get("TW_TEST_NOW") or GLib.get_real_time() / 1000000)
DAY = 86400
LONG_NAME = "Ing. Jan Novák, Ph.D., " + "velmi dlouhé jméno " * 4 + "konec"

OM_XML = """<node><interface name='org.freedesktop.DBus.ObjectManager'>
<method name='GetManagedObjects'><arg type='a{oa{sa{sv}}}' direction='out'/></method>
<signal name='InterfacesAdded'><arg type='o'/><arg type='a{sa{sv}}'/></signal>
<signal name='InterfacesRemoved'><arg type='o'/><arg type='as'/></signal>
</interface></node>"""


def v(sig, value):
    return GLib.Variant(sig, value)


ADVICE_PUK = ("factory-pin", "warning", "The PUK is still the factory PUK: change it.")
ADVICE_KEYS = ("unpaired-keys", "info",
               "1 key has no certificate: it takes room and makes renewals fail.")
ADVICE_FULL = ("qualified-area-full", "warning",
               "The qualified area is full: remove \"Jan Novák\" (serial number 77, expired) "
               "before renewing.")


def token_props(label, serial, reader, certs, total=32768, free=26000, present=None,
                advice=(), qscd_until=NOW + 400 * DAY):
    return {
        "Label": v("s", label), "Manufacturer": v("s", "Monet+"),
        "Model": v("s", "ProID+Q"), "SerialNumber": v("s", serial),
        "Present": v("b", reader != "/" if present is None else present),
        "Reader": v("o", reader),
        "FirstSeen": v("t", NOW - 100 * DAY), "LastSeen": v("t", NOW - 2 * DAY),
        "Certificates": v("ao", certs), "UserPinState": v("s", "ok"),
        "SoPinState": v("s", "to-be-changed"), "TotalMemory": v("t", total),
        "FreeMemory": v("t", free), "DeviceName": v("s", "ProID+Q gen. 2"),
        "QscdCertifiedUntil": v("t", qscd_until), "Qualified": v("b", qscd_until > NOW),
        "UnpairedKeys": v("u", 1), "Module": v("s", "opensc-pkcs11.so"),
        "Error": v("s", ""), "Advice": v("a(sss)", list(advice)),
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


def reader(tokens):
    return ("Reader", {
        "Name": v("s", "Reader A"), "CardPresent": v("b", True), "Atr": v("s", "3B00"),
        "Tokens": v("ao", tokens), "CardState": v("s", "present"), "EventCount": v("u", 1)})


def initial_objects():
    return {
        READER_PATH: reader([T1, T2]),
        T1: ("Token", token_props("ProID+Q", "1234", READER_PATH, [C2, C3],
                                  advice=[ADVICE_PUK, ADVICE_KEYS])),
        T2: ("Token", token_props("ProID+Q QSCD", "1234", READER_PATH, [C1],
                                  advice=[ADVICE_FULL])),
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


def fixture_ok():
    """nothing to act on: advice of severity info, a superseded certificate"""
    return {
        READER_PATH: reader([T1]),
        T1: ("Token", token_props("ProID+Q", "1234", READER_PATH, [C2, C4],
                                  advice=[ADVICE_KEYS])),
        C2: ("Certificate", cert_props("Jan Novák", 4242, "non-qualified-personal", "valid",
                                       200, T1, sha="1111222233334444" + "1" * 48)),
        C4: ("Certificate", cert_props("Jan Novák", 4141, "non-qualified-personal",
                                       "superseded", 5, T1, sha="4444000044440000" + "4" * 48)),
    }


def fixture_warning():
    """a certificate expiring, in tokenwatchd's warning period"""
    return {
        READER_PATH: reader([T1]),
        T1: ("Token", token_props("ProID+Q", "1234", READER_PATH, [C1, C2])),
        C1: ("Certificate", cert_props("Jan Novák", 1234567890123456789,
                                       "qualified-esign-qscd", "expiring", 20, T1,
                                       cert_id="02")),
        C2: ("Certificate", cert_props("Jan Novák", 4242, "non-qualified-personal", "valid",
                                       200, T1, sha="1111222233334444" + "1" * 48)),
    }


def fixture_revoked():
    """the QSCD certification of the device ended: its qualified certificate is
    revoked, its commercial one is fine; a renewed one superseded an old one"""
    ended = ("device-certification-ended", "critical",
             "The QSCD certification of this device ended on 2026-11-11: its qualified "
             "certificates are revoked.")
    return {
        READER_PATH: reader([T1]),
        T1: ("Token", token_props("ProID+Q", "1234", READER_PATH, [C2, C5, C4],
                                  advice=[ended], qscd_until=NOW - 10 * DAY)),
        C2: ("Certificate", cert_props("Jan Novák", 4242, "non-qualified-personal", "valid",
                                       200, T1, sha="1111222233334444" + "1" * 48)),
        C4: ("Certificate", cert_props("Jan Novák", 4141, "non-qualified-personal",
                                       "superseded", 5, T1, sha="4444000044440000" + "4" * 48)),
        C5: ("Certificate", cert_props("Jan Novák", 5373003642731685151011,
                                       "qualified-esign-qscd", "revoked-by-device", -10, T1,
                                       early=True, sha="5555000055550000" + "5" * 48)),
    }


FIXTURES = {"initial": initial_objects, "ok": fixture_ok, "warning": fixture_warning,
            "revoked": fixture_revoked}


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
        self.reloads = 0
        self.errors = {}  # method → (D-Bus error name, message)
        self.conn = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        self.conn.register_object(ROOT, self.infos["Manager"], self.manager_call,
                                  self.get_manager_prop, None)
        self.conn.register_object(ROOT, self.om_info, self.om_call, None, None)
        for path, (noun, props) in initial_objects().items():
            self.add(path, noun, props, announce=False)

    def get_manager_prop(self, conn, sender, path, iface, name):
        if name == "Version":
            self.manager_loads += 1
        return {"Version": v("s", "9.9.9"), "PcscAvailable": v("b", True)}[name]

    def manager_call(self, conn, sender, path, iface, method, params, invocation):
        if method in self.errors:
            invocation.return_dbus_error(*self.errors[method])
        elif method == "ReloadConfig":
            self.reloads += 1
            invocation.return_value(None)
        elif method == "Forget":
            token = params.unpack()[0]
            if self.objects.get(token, ("",))[0] != "Token":
                invocation.return_dbus_error(IFACE + "Error.NotFound",
                                             "%s is not a token" % token)
                return
            self.remove(token)
            for cert in [p for p, (noun, props) in self.objects.items()
                         if noun == "Certificate" and props["Token"].unpack() == token]:
                self.remove(cert)
            invocation.return_value(None)
        else:
            invocation.return_value(None)

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
        elif cmd["op"] == "load":
            for path in list(self.objects):
                self.remove(path)
            for path, (noun, props) in FIXTURES[cmd["fixture"]]().items():
                self.add(path, noun, props)
        elif cmd["op"] == "error":
            if cmd.get("name"):
                self.errors[cmd["method"]] = (cmd["name"], cmd["message"])
            else:
                self.errors.pop(cmd["method"], None)
        elif cmd["op"] == "signal":
            self.emit(ROOT, IFACE + "Manager", cmd["name"],
                      GLib.Variant(cmd["sig"], tuple(cmd["args"])))
        self.conn.flush_sync(None)
        print("done %d %d" % (self.manager_loads, self.reloads), flush=True)


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
                       LC_ALL="C.UTF-8", NO_COLOR="1", TW_TEST_NOW=str(NOW))
        cls.fake = subprocess.Popen([sys.executable, __file__, "--fake"], env=cls.env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert cls.fake.stdout.readline().strip() == "ready"

    @classmethod
    def tearDownClass(cls):
        cls.fake.stdin.close()
        cls.fake.wait(10)
        cls.fake.stdout.close()
        cls.bus.down()

    def setUp(self):
        self.fake_command(op="load", fixture="initial")
        self.fake_command(op="error", method="Forget")
        self.fake_command(op="error", method="ReloadConfig")

    def fake_command(self, **cmd):
        """Runs @cmd in the fake; returns how many clients have loaded the
        Manager's properties so far (a client does that once it listens to
        the Manager's signals)."""
        return self.fake_command_counts(**cmd)[0]

    def fake_command_counts(self, **cmd):
        """Runs @cmd in the fake; returns how many clients have loaded the
        Manager's properties and how many times ReloadConfig succeeded."""
        self.fake.stdin.write(json.dumps(cmd) + "\n")
        self.fake.stdin.flush()
        word, loads, reloads = self.fake.stdout.readline().split()
        self.assertEqual(word, "done")
        return int(loads), int(reloads)

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
                          "cards": 1, "tokens": 3, "tokens_present": 2,
                          "tokens_remembered": 1, "certificates": 3})
        out, _ = self.ctl("status")
        self.assertRegex(out, r"Tokens:\s+3 \(2 present, 1 remembered\)\n")
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
            "qscd_certified_until", "qualified", "unpaired_keys", "advice", "module", "error",
            "certificates"})
        self.assertEqual(t["advice"], [
            {"code": "factory-pin", "severity": "warning",
             "text": "The PUK is still the factory PUK: change it."},
            {"code": "unpaired-keys", "severity": "info",
             "text": "1 key has no certificate: it takes room and makes renewals fail."}])
        self.assertEqual(tokens[0]["advice"], [])
        self.assertIs(tokens[0]["present"], False)
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
        self.assertRegex(blocks[0], r"Present:\s+no, last seen \d{4}-\d{2}-\d{2} \d{2}:\d{2}\n")
        self.assertNotIn("Advice:", blocks[0])
        self.assertRegex(blocks[1], r"Present:\s+yes, in Reader A")
        self.assertRegex(blocks[1], r"Memory:\s+6\.6\sKiB of 32\.0\sKiB used \(21%\)")
        self.assertRegex(blocks[1], r"SO PIN \(PUK\):\s+to be changed")
        self.assertRegex(blocks[1], r"Unpaired keys:\s+1")
        self.assertRegex(blocks[1], r"Certificates:\s+2")
        self.assertRegex(blocks[1], r"Device:\s+ProID\+Q gen\. 2\n")
        self.assertRegex(blocks[1], r"QSCD certified until:\s+\d{4}-\d{2}-\d{2}\n")
        self.assertRegex(blocks[1], r"Qualified:\s+yes\n")
        self.assertNotIn("Error:", out)
        # each advice on its own line, the values aligned
        lines = blocks[1].splitlines()
        first = [i for i, line in enumerate(lines) if line.startswith("  Advice:")][0]
        self.assertRegex(lines[first], r"^  Advice:\s+warning factory-pin: The PUK is still")
        self.assertEqual(lines[first + 1].strip(),
                         "info unpaired-keys: 1 key has no certificate: it takes room and "
                         "makes renewals fail.")
        self.assertEqual(lines[first].index("warning"), lines[first + 1].index("info"))
        self.assertIn("warning qualified-area-full: The qualified area is full: remove "
                      "\"Jan Novák\"", blocks[2])

    def test_tokens_device_certification_ended(self):
        self.fake_command(op="load", fixture="revoked")
        out, _ = self.ctl("tokens")
        self.assertRegex(out, r"QSCD certified until:\s+\d{4}-\d{2}-\d{2} \(ended\)\n")
        self.assertRegex(out, r"Qualified:\s+no \(its QSCD certification ended\)\n")
        self.assertIn("critical device-certification-ended: The QSCD certification", out)
        t = self.ctl_json("tokens")["tokens"][0]
        self.assertEqual((t["qualified"], t["qscd_certified_until"]), (False, NOW - 10 * DAY))

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

    # certs: what can no longer be used although its date has not come
    def test_certs_marks(self):
        self.fake_command(op="load", fixture="revoked")
        out, _ = self.ctl("certs")
        lines = out.splitlines()
        revoked = [r for r in lines if "5373003642731685151011" in r][0]
        superseded = [r for r in lines if "4141" in r][0]
        valid = [r for r in lines if "4242" in r][0]
        self.assertTrue(revoked.endswith("  revoked by device"), revoked)
        self.assertTrue(superseded.endswith("  superseded"), superseded)
        self.assertTrue(valid.endswith("commercial personal"), valid)
        self.assertEqual(revoked.index("revoked by"), superseded.index("superseded"))
        self.assertFalse(lines[0].endswith(" "))
        self.assertIn("\nsuperseded: a renewed certificate is known", out)
        self.assertIn("\nrevoked by device: the QSCD certification of its device", out)
        statuses = {c["serial_number_decimal"]: c["status"]
                    for c in self.ctl_json("certs")["certificates"]}
        self.assertEqual(statuses, {"4242": "valid", "4141": "superseded",
                                    "5373003642731685151011": "revoked-by-device"})
        # nothing to mark: no note column, no legend
        self.fake_command(op="load", fixture="warning")
        out, _ = self.ctl("certs")
        self.assertNotIn("superseded", out)
        self.assertNotIn("revoked", out)

    # expiring
    def test_expiring(self):
        by_path = {c["object_path"]: c for c in self.ctl_json("certs")["certificates"]}
        # the most urgent first; 60 days by default
        certs = self.ctl_json("expiring")["certificates"]
        self.assertEqual([c["object_path"] for c in certs], [C3, C1])
        self.assertEqual(certs, [by_path[C3], by_path[C1]])
        self.assertEqual([c["object_path"] for c in
                          self.ctl_json("expiring", "--within", "365")["certificates"]],
                         [C3, C1, C2])
        self.assertEqual([c["object_path"] for c in
                          self.ctl_json("expiring", "-w", "0")["certificates"]], [C3])
        out, _ = self.ctl("expiring")
        lines = out.splitlines()
        self.assertEqual(lines[0], self.ctl("certs")[0].splitlines()[0])
        self.assertIn(LONG_NAME, lines[1])
        self.assertIn("1234567890123456789", lines[2])
        self.assertNotIn("4242", out)
        self.ctl("expiring", "--within", "-1", rc=2)
        self.ctl("expiring", "--within", "soon", rc=2)
        self.ctl("expiring", "extra", rc=2)

    def test_expiring_revoked_and_superseded(self):
        self.fake_command(op="load", fixture="revoked")
        # revoked whatever the horizon; superseded never
        for within in ("0", "60"):
            certs = self.ctl_json("expiring", "--within", within)["certificates"]
            self.assertEqual([c["serial_number_decimal"] for c in certs],
                             ["5373003642731685151011"])
        self.fake_command(op="load", fixture="ok")
        self.assertEqual(self.ctl_json("expiring")["certificates"], [])
        out, _ = self.ctl("expiring")
        self.assertEqual(out, "No certificate expires within 60 days or has expired.\n")

    # check
    def check(self, *args, rc):
        out, err = self.ctl("check", *args, rc=rc)
        data = json.loads(self.ctl("--json", "check", *args, rc=rc)[0])
        self.assertEqual(set(data), {"status", "findings"})
        for f in data["findings"]:
            self.assertEqual(set(f), {"severity", "kind", "object_path", "code", "message"})
        # the text is the JSON, line by line
        self.assertEqual(out.splitlines(),
                         ["%s %s" % (f["severity"].upper(), f["message"])
                          for f in data["findings"]])
        return out, data

    def test_check_critical(self):
        out, data = self.check(rc=2)
        self.assertEqual(data["status"], "critical")
        self.assertEqual([(f["severity"], f["kind"], f["code"], f["object_path"])
                          for f in data["findings"]],
                         [("critical", "certificate", "expired", C3),
                          ("warning", "certificate", "expiring", C1),
                          ("warning", "token", "factory-pin", T1),
                          ("warning", "token", "qualified-area-full", T2),
                          ("info", "token", "unpaired-keys", T1)])
        lines = out.splitlines()
        self.assertRegex(lines[0], r'^CRITICAL certificate "\ufffd\[31m%s" \(serial 77\) '
                         r'expired 3 days ago \(\d{4}-\d{2}-\d{2}\)$' % LONG_NAME)
        self.assertRegex(lines[1], r'^WARNING certificate "Jan Novák" '
                         r'\(serial 1234567890123456789\) expires in 14 days '
                         r'\(\d{4}-\d{2}-\d{2}\)$')
        self.assertEqual(lines[2], 'WARNING token "ProID+Q" factory-pin: The PUK is still '
                         'the factory PUK: change it.')
        self.assertTrue(lines[3].startswith('WARNING token "ProID+Q QSCD" '
                                            'qualified-area-full: The qualified area is full'))
        self.assertTrue(lines[4].startswith('INFO token "ProID+Q" unpaired-keys: '))

    def test_check_revoked(self):
        self.fake_command(op="load", fixture="revoked")
        out, data = self.check(rc=2)
        self.assertEqual(data["status"], "critical")
        self.assertEqual([(f["severity"], f["code"]) for f in data["findings"]],
                         [("critical", "revoked-by-device"),
                          ("critical", "device-certification-ended")])
        self.assertRegex(out, r'CRITICAL certificate "Jan Novák" \(serial '
                         r'5373003642731685151011\) was revoked on \d{4}-\d{2}-\d{2}: the QSCD '
                         r'certification of its device ended\n')
        self.assertNotIn("4141", out)   # superseded: nothing to act on

    def test_check_warning(self):
        self.fake_command(op="load", fixture="warning")
        out, data = self.check(rc=1)
        self.assertEqual(data, {"status": "warning", "findings": [{
            "severity": "warning", "kind": "certificate", "object_path": C1,
            "code": "expiring", "message": data["findings"][0]["message"]}]})
        self.assertRegex(out, r'^WARNING certificate "Jan Novák" \(serial 1234567890123456789\) '
                         r'expires in 20 days \(\d{4}-\d{2}-\d{2}\)\n$')
        # --within moves the horizon, either way
        out, data = self.check("--within", "10", rc=0)
        self.assertEqual((out, data), ("", {"status": "ok", "findings": []}))
        out, data = self.check("--within", "365", rc=1)
        self.assertEqual([f["object_path"] for f in data["findings"]], [C1, C2])
        self.assertIn("expires in 200 days", out)

    def test_check_ok(self):
        self.fake_command(op="load", fixture="ok")
        out, data = self.check(rc=0)
        self.assertEqual(data["status"], "ok")
        self.assertEqual([(f["severity"], f["code"]) for f in data["findings"]],
                         [("info", "unpaired-keys")])
        self.assertTrue(out.startswith('INFO token "ProID+Q" unpaired-keys: '))
        out, data = self.check("--within", "200", rc=1)
        self.assertEqual([f["object_path"] for f in data["findings"]][0], C2)
        self.check("--within", "199", rc=0)

    def test_check_cannot_check(self):
        # usage errors, and no bus or no tokenwatchd: 3, never 1 or 2
        _, err = self.ctl("check", "--within", "-1", rc=3)
        self.assertIn("--within", err)
        self.ctl("check", "--bogus", rc=3)
        self.ctl("check", "extra", rc=3)
        env = dict(self.env, DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent/bus")
        out, err = self.ctl("check", rc=3, env=env)
        self.assertEqual(out, "")
        self.assertTrue(err)
        out, _ = self.ctl("--json", "check", rc=3, env=env)
        self.assertEqual(out, "")
        # other commands keep 1 for errors
        self.ctl("expiring", rc=1, env=env)

    # forget
    def test_forget(self):
        out, _ = self.ctl("forget", "Old card")
        self.assertEqual(out, "Forgot Old card (%s)\n" % T3)
        self.assertEqual([t["object_path"] for t in self.ctl_json("tokens")["tokens"]],
                         [T1, T2])
        # its certificates go with it
        self.assertEqual(self.ctl_json("forget", "Monet_ProIDQ_1234"), {"forgotten": T1})
        self.assertEqual(sorted(c["object_path"] for c in self.ctl_json("certs")["certificates"]),
                         [C1])

    def test_forget_lookup(self):
        # the ID exactly, else the start of the ID, serial number or label
        self.assertEqual(self.ctl_json("forget", "Gemalto")["forgotten"], T3)
        _, err = self.ctl("forget", "1234", rc=1)
        self.assertIn("matches 2 tokens", err)
        _, err = self.ctl("forget", "ProID", rc=1)
        self.assertIn("matches 2 tokens", err)
        self.assertEqual(self.ctl_json("forget", "ProID+Q Q")["forgotten"], T2)
        _, err = self.ctl("forget", "nothing", rc=1)
        self.assertIn("No token matches", err)
        _, err = self.ctl("forget", ROOT + "/tokens/gone", rc=1)
        self.assertIn("No token matches", err)
        self.ctl("forget", rc=2)
        self.ctl("forget", "a", "b", rc=2)

    def test_forget_refused(self):
        self.fake_command(op="error", method="Forget", name=IFACE + "Error.PermissionDenied",
                          message="Not authorized to forget tokens")
        _, err = self.ctl("forget", T3, rc=1)
        self.assertIn("Forgetting token %s failed: Not authorized to forget tokens" % T3, err)
        self.fake_command(op="error", method="Forget", name=IFACE + "Error.NotFound",
                          message="no such token")
        _, err = self.ctl("forget", T3, rc=1)
        self.assertIn("no such token", err)
        self.assertNotIn("GDBus", err)

    # reload
    def test_reload(self):
        _, before = self.fake_command_counts(op="nothing")
        out, _ = self.ctl("reload")
        self.assertEqual(out, "Configuration reloaded.\n")
        self.assertEqual(self.ctl_json("reload"), {"reloaded": True})
        self.assertEqual(self.fake_command_counts(op="nothing")[1], before + 2)
        self.fake_command(op="error", method="ReloadConfig",
                          name=IFACE + "Error.InvalidArgument",
                          message="/etc/tokenwatch/tokenwatch.conf: [Warnings] "
                                  "WarnDaysBeforeExpiry: “soon” is not a number")
        out, err = self.ctl("reload", rc=1)
        self.assertEqual(out, "")
        self.assertEqual(err, "tokenwatchctl: Reloading the configuration failed: "
                         "/etc/tokenwatch/tokenwatch.conf: [Warnings] WarnDaysBeforeExpiry: "
                         "“soon” is not a number\n")
        self.ctl("reload", "extra", rc=2)

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
            self.fake_command(op="signal", name="ExpiryWarning", sig="(ois)",
                              args=[c4, -2, "expired"])
            self.fake_command(op="signal", name="DeviceCertificationEnding", sig="(oi)",
                              args=[t4, 90])
            self.fake_command(op="signal", name="DeviceCertificationEnding", sig="(oi)",
                              args=[t4, -1])
            self.fake_command(op="add-cert", path=c5, cn="Jana Nová", serial=101, days=700,
                              token=t4)
            self.fake_command(op="signal", name="CertificateRenewed", sig="(oo)",
                              args=[c4, c5])
            self.fake_command(op="remove", path=c4)
            self.fake_command(op="remove", path=c5)
            self.fake_command(op="remove", path=t4)
            events = self.read_events(proc, 11)
            # the text monitor may be a little behind: up to its last event
            lines = []
            while not any("token-removed" in line for line in lines):
                line = text.stdout.readline()
                if not line:
                    break
                lines.append(line.rstrip("\n"))
        finally:
            proc.terminate()
            text.terminate()
            self.assertEqual(proc.wait(10), 0)
            self.assertEqual(text.wait(10), 0)
            proc.stdout.close()
        names = [e["event"] for e in events]
        self.assertEqual(names, ["token-added", "certificate-added", "expiry-warning",
                                 "expiry-warning", "device-certification-ending",
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
        self.assertEqual((events[3]["days_left"], events[3]["level"]), (-2, "expired"))
        self.assertEqual((events[4]["days_left"], events[4]["object_path"]), (90, t4))
        self.assertEqual(events[5]["days_left"], -1)
        self.assertEqual((events[7]["old_object_path"], events[7]["new_object_path"],
                          events[7]["old_serial_number_decimal"],
                          events[7]["new_serial_number_decimal"]), (c4, c5, "100", "101"))
        for e in events:
            self.assertIsInstance(e["time"], float)
        lines += text.stdout.read().splitlines()
        text.stdout.close()
        joined = "\n".join(lines)
        self.assertIn("token-added Nový token (serial number 999)", joined)
        self.assertIn("expiry-warning Jana Nová (serial number 100): 5 days left (critical)\n",
                      joined + "\n")
        self.assertIn("expiry-warning Jana Nová (serial number 100): expired 2 days ago\n",
                      joined + "\n")
        self.assertIn("device-certification-ending Nový token (serial number 999): QSCD "
                      "certification ends in 90 days", joined)
        self.assertIn("device-certification-ending Nový token (serial number 999): QSCD "
                      "certification ended 1 day ago, on ", joined)
        self.assertIn("certificate-renewed Jana Nová: serial number 100 -> 101", joined)
        self.assertNotIn("none", joined)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fake"]:
        fake_main()
        sys.exit(0)
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
