#!/usr/bin/python3
"""Tracking end to end: expiry warnings at their thresholds and only once,
across restarts and clock jumps; the real timer; device certification data
driving effective expiry, revoked-by-device and DeviceCertificationEnding;
renewals; advice; the state that survives."""

import datetime
import os
import signal
import time

import twtest
from twtest import MANAGER, ROOT, GLib

TOKEN = twtest.IFACE + ".Token"
CERTIFICATE = twtest.IFACE + ".Certificate"
DAY = 86400
HOUR = 3600
# the test bed's virtual PIV card
VIRTUAL_ATR = "3B8B810180F9A00000030800001000C9"


class TrackingTestCase(twtest.TokenwatchTestCase):

    def setUp(self):
        super().setUp()
        from twtestbed.certs import CertFactory
        # not the shared cache: times here are to the second
        self.certs = CertFactory(os.path.join(self.workdir, "certs"))
        self.devices_dir = os.path.join(self.workdir, "devices.d")
        os.makedirs(self.devices_dir)
        self.write_config("[Devices]\nDataDirectory=%s\nLocalDirectory=%s\n"
                          % (os.path.join(os.path.dirname(__file__), "..", "..", "data",
                                          "devices"), self.devices_dir))

    def cert_by_cn(self, cn):
        for path, props in self.objects(CERTIFICATE).items():
            if props["CommonName"] == cn:
                return path, props
        self.fail("no certificate %r" % cn)

    def leaf(self, cn, seconds, **kwargs):
        return self.certs.leaf(cn, not_after=datetime.timedelta(seconds=seconds),
                               **kwargs).der

    def warnings(self):
        """(common name, days_left, level) of every ExpiryWarning so far"""
        out = []
        certs = self.objects(CERTIFICATE)
        for member, args in self.signals:
            if member == "ExpiryWarning":
                out.append((certs[args[0]]["CommonName"] if args[0] in certs else args[0],
                            args[1], args[2]))
        return sorted(out)

    def insert(self, index, certs, n_tokens=1, **kwargs):
        card = self.card(index, certificates=certs, **kwargs).insert()
        self.wait_signal("TokenAdded", n=n_tokens, timeout=20)
        self.pump(0.3)
        return card

    def device_entry(self, until=None, capacity=2):
        lines = ["[Device]", "Name=Virtual PIV (test)", "Atr=" + VIRTUAL_ATR]
        src = ["[Sources]", "Atr=the test bed's virtual card (tests/testbed/twtestbed/vcard.py)"]
        if until is not None:
            lines.append("QscdCertifiedUntil=" + until.strftime("%Y-%m-%d"))
            src.append("QscdCertifiedUntil=this test")
        if capacity:
            lines.append("QualifiedCapacity=%d" % capacity)
            src.append("QualifiedCapacity=this test")
        with open(os.path.join(self.devices_dir, "virtual-piv.conf"), "w") as f:
            f.write("\n".join(lines + [""] + src) + "\n")


class TestExpiry(TrackingTestCase):

    def test_thresholds_once_restart_and_clock_jump(self):
        d = self.start_daemon()
        self.wait_readers(4)
        certs = {"9a": self.leaf("half a day", 12 * HOUR),
                 "9c": self.leaf("two days", 2 * DAY + HOUR),
                 "9d": self.leaf("ten days", 10 * DAY + HOUR),
                 "9e": self.leaf("forty days", 40 * DAY + HOUR),
                 "82": self.leaf("four hundred days", 400 * DAY + HOUR)}
        card = self.insert(0, certs)
        self.wait_signal("ExpiryWarning", n=4)
        self.pump(0.5)
        # the nearest crossed threshold of each, once: 1, 3, 14, 60 days
        self.assertEqual(self.warnings(), [("forty days", 40, "info"),
                                           ("half a day", 0, "critical"),
                                           ("ten days", 10, "warning"),
                                           ("two days", 2, "critical")])
        _, props = self.cert_by_cn("ten days")
        self.assertEqual(props["Status"], "expiring")
        self.assertEqual(props["DaysLeft"], 10)
        _, props = self.cert_by_cn("four hundred days")
        self.assertEqual(props["Status"], "valid")
        # re-inserting says nothing new
        card.remove()
        self.wait_signal("TokenRemoved")
        card.insert()
        self.wait_signal("TokenAdded", n=2, timeout=20)
        self.pump(0.5)
        self.assertEqual(self.count("ExpiryWarning"), 4)
        # nor does a restart: what was announced is remembered
        self.assertEqual(d.stop(), 0)
        self.signals.clear()
        d = self.start_daemon(name="tokenwatchd-2")
        self.wait_signal("TokenAdded", timeout=20)
        self.pump(1.0)
        self.assertEqual(self.count("ExpiryWarning"), 0)
        # a day later (the clock jumps): the half-day one has expired
        self.move_clock(DAY)
        self.wait_signal("ExpiryWarning")
        self.pump(0.5)
        self.assertEqual(self.warnings(), [("half a day", -1, "expired")])
        _, props = self.cert_by_cn("half a day")
        self.assertEqual(props["Status"], "expired")
        _, props = self.cert_by_cn("two days")
        self.assertEqual(props["DaysLeft"], 1)
        card.remove()

    def test_timer(self):
        """No clock tricks: the one timer fires at the deadline."""
        d = self.start_daemon()
        self.wait_readers(4)
        card = self.insert(1, {"9a": self.leaf("five seconds", 5)})
        self.wait_signal("ExpiryWarning")
        self.assertEqual(self.warnings(), [("five seconds", 0, "critical")])
        self.wait_signal("ExpiryWarning", n=2, timeout=15)
        self.assertEqual(self.warnings()[1][2], "expired")
        _, props = self.cert_by_cn("five seconds")
        self.assertEqual(props["Status"], "expired")
        self.assertIn("next deadline", d.log())
        card.remove()

    def test_resume_from_sleep(self):
        """logind's PrepareForSleep(false) makes the daemon look again."""
        d = self.start_daemon()
        self.wait_readers(4)
        # logind on the test's bus (the daemon's system bus)
        Gio = twtest.Gio
        owned = []
        Gio.bus_own_name_on_connection(self.conn, "org.freedesktop.login1",
                                       Gio.BusNameOwnerFlags.NONE,
                                       lambda *a: owned.append(True), None)
        self.wait_until(lambda: owned, 5, "owning org.freedesktop.login1")
        self.conn.emit_signal(None, "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
                              "PrepareForSleep", GLib.Variant("(b)", (False,)))
        self.wait_until(lambda: "resumed from sleep" in d.log(), 5, "the daemon to notice")


class TestDevices(TrackingTestCase):

    def test_device_certification(self):
        until = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=20))
        self.device_entry(until=until)
        self.start_daemon()
        self.wait_readers(4)
        certs = {"9c": self.leaf("in the QSCD", 400 * DAY, qc_compliance=True, qc_sscd=True,
                                 qc_type="esign", policies=["0.4.0.194112.1.2"]),
                 "9a": self.leaf("commercial", 400 * DAY, policies=["0.4.0.2042.1.2"])}
        card = self.insert(0, certs)
        token_path, token = next(iter(self.objects(TOKEN).items()))
        self.assertEqual(token["DeviceName"], "Virtual PIV (test)")
        end = int(datetime.datetime(until.year, until.month, until.day,
                                    tzinfo=datetime.timezone.utc).timestamp()) + DAY
        self.assertEqual(token["QscdCertifiedUntil"], end)
        self.assertTrue(token["Qualified"])
        self.wait_signal("DeviceCertificationEnding")
        self.assertEqual([a for m, a in self.signals if m == "DeviceCertificationEnding"],
                         [(token_path, 20)])
        self.assertIn("device-certification-ending", [a[0] for a in token["Advice"]])
        # the key in the QSCD dies with the certification; the other one does not
        _, qscd = self.cert_by_cn("in the QSCD")
        self.assertEqual(qscd["EffectiveNotAfter"], end)
        self.assertEqual(qscd["DaysLeft"], 20)
        _, commercial = self.cert_by_cn("commercial")
        self.assertEqual(commercial["EffectiveNotAfter"], commercial["NotAfter"])
        self.wait_signal("ExpiryWarning")
        self.pump(0.3)
        self.assertEqual(self.warnings(), [("in the QSCD", 20, "warning")])
        # after the end
        self.move_clock(21 * DAY)
        self.wait_signal("ExpiryWarning", n=2)
        self.pump(0.5)
        _, qscd = self.cert_by_cn("in the QSCD")
        self.assertEqual(qscd["Status"], "revoked-by-device")
        token = self.objects(TOKEN)[token_path]
        self.assertFalse(token["Qualified"])
        self.assertEqual(token["Advice"][0][0], "device-certification-ended")
        self.assertEqual(token["Advice"][0][1], "critical")
        self.assertIn(("in the QSCD", -1, "expired"), self.warnings())
        _, commercial = self.cert_by_cn("commercial")
        self.assertEqual(commercial["Status"], "valid")
        card.remove()

    def test_reload(self):
        self.start_daemon()
        self.wait_readers(4)
        card = self.insert(0, {"9a": self.leaf("any", 400 * DAY)})
        token_path, token = next(iter(self.objects(TOKEN).items()))
        self.assertEqual(token["DeviceName"], "")
        # an administrator adds a local entry and reloads
        self.device_entry(capacity=2)
        self.call(ROOT, MANAGER, "ReloadConfig")
        self.pump(0.3)
        self.assertEqual(self.objects(TOKEN)[token_path]["DeviceName"], "Virtual PIV (test)")
        # a broken file: refused, nothing changes
        with open(self.env["TOKENWATCH_CONFIG"], "a") as f:
            f.write("[Warnings]\nExpiryDays=soon\n")
        with self.assertRaises(GLib.Error) as cm:
            self.call(ROOT, MANAGER, "ReloadConfig")
        self.assertIn("InvalidArgument", cm.exception.message)
        self.assertIn("ExpiryDays", cm.exception.message)
        self.assertEqual(self.objects(TOKEN)[token_path]["DeviceName"], "Virtual PIV (test)")
        card.remove()


class TestRenewal(TrackingTestCase):

    def test_renewal(self):
        self.start_daemon()
        self.wait_readers(4)
        old = self.leaf("Jan Novák", 20 * DAY + HOUR, qc_compliance=True, qc_sscd=True)
        new = self.leaf("Jan Novák", 400 * DAY + HOUR, qc_compliance=True, qc_sscd=True)
        card = self.insert(0, {"9c": old})
        self.wait_signal("ExpiryWarning")
        card.remove()
        self.wait_signal("TokenRemoved")
        # the renewed certificate, on a new card
        card2 = self.insert(1, {"9c": new}, n_tokens=2)
        self.wait_signal("CertificateRenewed")
        (old_path, new_path), = [a for m, a in self.signals if m == "CertificateRenewed"]
        certs = self.objects(CERTIFICATE)
        self.assertEqual(certs[old_path]["Status"], "superseded")
        self.assertEqual(certs[new_path]["NotAfter"] > certs[old_path]["NotAfter"], True)
        self.assertTrue(certs[new_path]["SerialNumberDecimal"].isdigit())
        # the superseded one's warnings stop
        self.move_clock(19 * DAY)
        self.pump(1.0)
        self.assertEqual(self.count("ExpiryWarning"), 1)
        card2.remove()


class TestAdvice(TrackingTestCase):

    def test_qualified_area_full(self):
        self.device_entry(capacity=2)
        self.start_daemon()
        self.wait_readers(4)
        expired = self.certs.leaf("Old Signature", qc_compliance=True, qc_sscd=True,
                                  not_before=datetime.timedelta(days=-800),
                                  not_after=datetime.timedelta(days=-30))
        valid = self.certs.leaf("Current Signature", qc_compliance=True, qc_sscd=True,
                                not_after=datetime.timedelta(days=300))
        card = self.insert(0, {"9c": valid.der, "9d": expired.der})
        token = next(iter(self.objects(TOKEN).values()))
        full = [a for a in token["Advice"] if a[0] == "qualified-area-full"]
        self.assertEqual(len(full), 1)
        _, old = self.cert_by_cn("Old Signature")
        _, cur = self.cert_by_cn("Current Signature")
        self.assertIn(old["SerialNumberDecimal"], full[0][2])
        self.assertNotIn(cur["SerialNumberDecimal"], full[0][2])
        self.assertIn("621/622", full[0][2])
        card.remove()

    def test_locked_pin(self):
        self.start_daemon()
        self.wait_readers(4)
        card = self.insert(0, {"9a": self.leaf("locked", 400 * DAY)}, pin_tries=0)
        token = next(iter(self.objects(TOKEN).values()))
        self.assertEqual(token["UserPinState"], "locked")
        self.assertEqual(token["Advice"][0][:2], ("pin-locked", "critical"))
        self.assertIn("PUK", token["Advice"][0][2])
        card.remove()


class TestCliTracking(TrackingTestCase):

    def test_expiring_check_forget(self):
        import json
        self.start_daemon()
        self.wait_readers(4)
        card = self.insert(0, {"9a": self.leaf("soon", 2 * DAY + HOUR),
                               "9c": self.leaf("later", 10 * DAY + HOUR),
                               "9d": self.leaf("far", 400 * DAY)})
        serial = next(iter(self.objects(TOKEN).values()))["SerialNumber"]
        out = json.loads(self.ctl("--json", "expiring", "--within", "30").stdout)
        self.assertEqual(sorted(c["common_name"] for c in out["certificates"]),
                         ["later", "soon"])
        self.assertIn("soon", self.ctl("expiring").stdout)
        # check: something to act on soon (exit 1), one line per finding
        r = self.ctl("check", check=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("soon", r.stdout)
        self.assertNotIn("far", r.stdout)
        j = json.loads(self.ctl("--json", "check", check=False).stdout)
        self.assertEqual(j["status"], "warning")
        # a locked PIN is critical (exit 2)
        locked = self.insert(2, {"9a": self.leaf("locked card", 400 * DAY)}, n_tokens=2,
                             pin_tries=0)
        self.assertEqual(self.ctl("check", check=False).returncode, 2)
        locked.remove()
        card.remove()
        self.wait_signal("TokenRemoved", n=2)
        # forget by serial number
        self.ctl("forget", serial)
        self.wait_signal("CertificateRemoved", n=3)
        self.assertEqual(len(self.objects(TOKEN)), 1)


class TestState(TrackingTestCase):

    def files(self, kind):
        d = os.path.join(self.state_dir, kind)
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def test_remembered_while_away(self):
        """A token in a drawer: after a restart it is still there, absent,
        with its certificates."""
        d = self.start_daemon()
        self.wait_readers(4)
        card = self.insert(0, {"9a": self.leaf("drawer", 100 * DAY + HOUR)})
        token_path = next(iter(self.objects(TOKEN)))
        card.remove()
        self.wait_signal("TokenRemoved")
        self.assertEqual(d.stop(), 0)
        self.assertEqual(len(self.files("tokens")), 1)
        self.assertEqual(len(self.files("certificates")), 1)
        self.signals.clear()
        self.start_daemon(name="tokenwatchd-2")
        self.wait_readers(4)
        tokens = self.objects(TOKEN)
        self.assertEqual(list(tokens), [token_path])
        self.assertFalse(tokens[token_path]["Present"])
        self.assertEqual(tokens[token_path]["Reader"], "/")
        _, cert = self.cert_by_cn("drawer")
        self.assertEqual(cert["Token"], token_path)
        self.assertEqual(cert["DaysLeft"], 100)
        self.assertEqual(self.count("TokenAdded"), 0)

    def test_owners(self):
        """The users of the active sessions when a token is seen are its
        owners, kept across restarts (logind stood in for by a test hook)."""
        self.env["TOKENWATCH_TEST_SESSION_UIDS"] = "1000"
        d = self.start_daemon()
        self.wait_readers(4)
        card = self.insert(0, {"9a": self.leaf("owned", 100 * DAY)})
        token_path = next(iter(self.objects(TOKEN)))
        self.assertEqual(self.objects(TOKEN)[token_path]["Owners"], [1000])
        card.remove()
        self.wait_signal("TokenRemoved")
        self.assertEqual(d.stop(), 0)
        # another user's session now: both own it, in the order first seen
        self.env["TOKENWATCH_TEST_SESSION_UIDS"] = "1001"
        self.signals.clear()
        self.start_daemon(name="tokenwatchd-2")
        self.wait_readers(4)
        self.assertEqual(self.objects(TOKEN)[token_path]["Owners"], [1000])
        card.insert()
        self.wait_signal("TokenAdded", timeout=20)
        self.pump(0.3)
        self.assertEqual(self.objects(TOKEN)[token_path]["Owners"], [1000, 1001])
        card.remove()

    def test_broken_state_files(self):
        d = self.start_daemon()
        self.wait_readers(4)
        card = self.insert(0, {"9a": self.leaf("one", 100 * DAY),
                               "9c": self.leaf("two", 200 * DAY)})
        card.remove()
        self.wait_signal("TokenRemoved")
        self.assertEqual(d.stop(), 0)
        token_file = os.path.join(self.state_dir, "tokens", self.files("tokens")[0])
        certs = [os.path.join(self.state_dir, "certificates", f)
                 for f in self.files("certificates")]
        with open(token_file, "r+b") as f:
            f.truncate(os.path.getsize(token_file) // 2)
        with open(certs[0], "wb") as f:
            f.write(os.urandom(700))
        self.signals.clear()
        d = self.start_daemon(name="tokenwatchd-2")
        self.wait_readers(4)
        # moved aside and logged; the daemon serves
        self.assertTrue(any(".broken-" in f for f in self.files("tokens")), self.files("tokens"))
        self.assertTrue(any(".broken-" in f for f in self.files("certificates")))
        self.assertIn("moved aside", d.log())
        self.assertEqual(self.objects(TOKEN), {})
        # and rebuilt from what is seen next
        card.insert()
        self.wait_signal("TokenAdded", timeout=20)
        self.pump(0.5)
        self.assertEqual(len(self.objects(CERTIFICATE)), 2)
        self.assertEqual(d.stop(), 0)
        self.assertEqual(len([f for f in self.files("tokens") if ".broken-" not in f]), 1)

    def test_sigkill_while_writing(self):
        """Killed at random moments while it writes: every start loads."""
        import random
        rng = random.Random(4)
        card = self.card(0, certificates={"9a": self.leaf("kill", 100 * DAY)})
        for i in range(8):
            d = self.start_daemon(name="tokenwatchd-%d" % i)
            if i == 0:
                self.wait_readers(4)
            card.insert() if not card.inserted else None
            time.sleep(rng.uniform(0.05, 0.6))
            os.kill(d.proc.pid, signal.SIGKILL)
            d.proc.wait(5)
            d.proc.stop()
            card.remove()
            broken = [f for k in ("tokens", "certificates") for f in self.files(k)
                      if ".broken-" in f]
            self.assertEqual(broken, [])
        d = self.start_daemon(name="tokenwatchd-last")
        self.wait_readers(4)
        self.assertNotIn("moved aside", d.log())
        self.assertLessEqual(len(self.objects(TOKEN)), 1)

    def test_unwritable_state(self):
        """A state directory that cannot be written: logged, retried, and the
        daemon serves all the same."""
        with open(self.state_dir, "w") as f:
            f.write("not a directory\n")
        d = self.start_daemon()
        self.wait_readers(4)
        card = self.insert(0, {"9a": self.leaf("unwritable", 100 * DAY)})
        self.assertEqual(len(self.objects(CERTIFICATE)), 1)
        self.wait_until(lambda: "Not a directory" in d.log() or "not a directory" in d.log(),
                        10, "a warning about the state directory")
        card.remove()
        # the daemon stops anyway, and says what it could not write
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    twtest.main()
