#!/usr/bin/python3
"""tokenwatchctl doctor against the real thing: all well; tokenwatchd not
running and not startable; pcscd not running; pcscd taking connections and
closing them (what its polkit check does to tokenwatchd without a session);
a card no PKCS#11 module reads; p11-kit's configuration hiding a module
from tokenwatchd, or naming one that is not there (in a mount namespace of
the test's own over p11-kit's module directory); NSS databases the agent
could not update."""

import json
import os
import shlex
import socket
import subprocess
import threading

import twtest
from test_tracking import DAY, TrackingTestCase

P11KIT_MODULES = "/usr/share/p11-kit/modules"


class DoctorTestCase(TrackingTestCase):

    def setUp(self):
        super().setUp()
        self.env["XDG_STATE_HOME"] = os.path.join(self.workdir, "user-state")

    def doctor(self, prefix=(), expect=0):
        argv = list(prefix) + [twtest.tool("TOKENWATCHCTL"), "--session", "doctor"]
        text = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(text.returncode, expect, text.stdout + text.stderr)
        r = subprocess.run(argv + ["--json"], env=self.env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, expect, r.stdout + r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["problems"],
                         len([f for f in out["findings"] if f["status"] == "problem"]))
        return out["findings"], text.stdout

    def finding(self, findings, check, status=None):
        found = [f for f in findings if f["check"] == check]
        self.assertEqual(len(found), 1, found)
        if status is not None:
            self.assertEqual(found[0]["status"], status, found[0])
        return found[0]


class TestDoctor(DoctorTestCase):

    def test_all_well(self):
        self.start_daemon()
        self.wait_readers(4)
        card = self.insert(0, {"9a": self.leaf("Jan Novák", 400 * DAY)})
        findings, text = self.doctor()
        self.assertIn("is running", self.finding(findings, "daemon", "ok")["summary"])
        self.assertIn("4 readers", self.finding(findings, "pcscd", "ok")["summary"])
        self.finding(findings, "cards", "ok")
        self.finding(findings, "modules", "ok")
        self.finding(findings, "stores", "skipped")
        self.assertTrue(text.endswith("No problems found.\n"), text)
        card.remove()

    def test_daemon_not_running(self):
        # the test's bus has no service file for tokenwatchd
        findings, text = self.doctor(expect=1)
        f = self.finding(findings, "daemon", "problem")
        self.assertEqual(f["summary"], "tokenwatchd is not running, and D-Bus cannot start it")
        self.assertIn("systemctl reload dbus", f["fix"])
        self.finding(findings, "pcscd", "skipped")
        self.assertIn("[PROBLEM] tokenwatchd is not running", text)
        self.assertIn("What to do: Install tokenwatch", text)
        self.assertIn("1 problem found.", text)

    def test_card_without_module(self):
        # no PKCS#11 module at all: the card is seen, not read
        self.start_daemon(p11_args=["--no-p11-kit"])
        self.wait_readers(4)
        self.card(2, certificates={"9a": self.leaf("Jan Novák", 400 * DAY)}).insert()
        self.wait_until(lambda: any(r["CardPresent"] for r in self.readers().values()),
                        10, "a card")
        findings, _ = self.doctor(expect=1)
        f = self.finding(findings, "cards", "problem")
        self.assertIn("No PKCS#11 module reads the card in “%s”"
                      % self.pcscd.reader_names[2], f["summary"])
        self.assertIn("3B8B810180F9A00000030800001000C9", f["detail"])
        self.assertIn("opensc-pkcs11", f["fix"])

    def test_p11kit_hides_module(self):
        self.start_daemon()
        self.wait_readers(4)
        # p11-kit's module directory as this test writes it: OpenSC for
        # Firefox only, a module file that is not there, the trust module
        files = {
            "opensc-pkcs11.module": "module: opensc-pkcs11.so\nenable-in: firefox, "
                                    "thunderbird\n",
            "vendor.module": "module: /usr/lib/vendor/libvendor-pkcs11.so\n",
            "hidden.module": "module: opensc-pkcs11.so\ndisable-in: tokenwatchd\n",
            "p11-kit-trust.module": "module: p11-kit-trust.so\ntrust-policy: yes\n",
        }
        script = "mount -t tmpfs tmpfs %s && cd %s && " % (P11KIT_MODULES, P11KIT_MODULES)
        script += " && ".join("printf %%s %s > %s" % (shlex.quote(text), name)
                              for name, text in files.items())
        script += ' && exec "$@"'
        prefix = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script,
                  "sh"]
        findings, text = self.doctor(prefix=prefix, expect=1)
        problems = [f for f in findings if f["check"] == "modules"]
        self.assertEqual(len(problems), 3, problems)
        by_summary = {f["summary"]: f for f in problems}
        f = by_summary["p11-kit hides the module opensc-pkcs11.so from tokenwatchd"]
        self.assertIn("enable-in: firefox, thunderbird", f["detail"])
        self.assertIn("add tokenwatchd to its enable-in", f["fix"])
        self.assertIn("The PKCS#11 module /usr/lib/vendor/libvendor-pkcs11.so is missing",
                      by_summary)
        self.assertEqual(len([f for f in problems if f["summary"].startswith("p11-kit hides")]), 2)
        # the host's own directory is untouched
        self.assertFalse(os.path.exists(os.path.join(P11KIT_MODULES, "vendor.module")))

    def test_stores(self):
        self.start_daemon()
        self.wait_readers(4)
        state = os.path.join(self.env["XDG_STATE_HOME"], "tokenwatch-agent")
        os.makedirs(state)
        with open(os.path.join(state, "results.ini"), "w") as f:
            f.write("[/home/jan/.pki/nssdb]\nResult=ok\nMessage=\nTime=1\n"
                    "[/home/jan/.mozilla/firefox/x.default]\nResult=busy\n"
                    "Message=in use by Firefox\nTime=1\n"
                    "[/home/jan/.thunderbird/y.default]\nResult=failed\n"
                    "Message=SEC_ERROR_BAD_DATABASE: the database is damaged\nTime=1\n")
        findings, _ = self.doctor(expect=1)
        stores = {f["status"]: f for f in findings if f["check"] == "stores"}
        self.assertIn("/home/jan/.thunderbird/y.default", stores["problem"]["summary"])
        self.assertIn("SEC_ERROR_BAD_DATABASE", stores["problem"]["detail"])
        self.assertIn("x.default was in use", stores["warning"]["summary"])
        # a file that is not a key file: said, not a crash
        with open(os.path.join(state, "results.ini"), "wb") as f:
            f.write(b"\xff\xfe garbage [[[\n")
        findings, _ = self.doctor()
        self.assertIn("Cannot read", self.finding(findings, "stores", "warning")["summary"])


class TestDoctorPcscd(DoctorTestCase):
    START_PCSCD = False

    def test_pcscd_not_running(self):
        self.start_daemon()
        self.wait_until(lambda: self.manager_prop("PcscAvailable") is False, 10,
                        "PcscAvailable false")
        findings, _ = self.doctor(expect=1)
        f = self.finding(findings, "pcscd", "problem")
        self.assertEqual(f["summary"], "pcscd is not running")
        self.assertIn(self.pcscd.socket_path, f["detail"])
        self.assertIn("pcscd.socket", f["fix"])

    def test_pcscd_refuses(self):
        # what pcscd does to a client its polkit check refuses: it takes
        # the connection, then closes it
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.pcscd.socket_path)
        listener.listen(16)
        self.addCleanup(listener.close)
        stop = threading.Event()

        def refuse():
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    continue
                conn.close()
        t = threading.Thread(target=refuse, daemon=True)
        t.start()
        self.addCleanup(t.join)
        self.addCleanup(stop.set)
        self.start_daemon()
        self.pump(1.0)
        self.assertFalse(self.manager_prop("PcscAvailable"))
        findings, text = self.doctor(expect=1)
        f = self.finding(findings, "pcscd", "problem")
        self.assertEqual(f["summary"], "pcscd refuses tokenwatchd")
        self.assertIn("polkit", f["detail"])
        self.assertIn("tokenwatch-pcscd.rules", f["fix"] + f["detail"] + text)


if __name__ == "__main__":
    twtest.main()
