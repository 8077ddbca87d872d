#!/usr/bin/python3
"""tokenwatch-agent end to end: the real tokenwatchd on the private bus, the
agent following it (--daemon-session) and python-dbusmock's
notification_daemon template as the notification server, all on the same
private bus (it serves as the agent's session bus). What the agent shows is
read back from the mock's call log (org.freedesktop.DBus.Mock.GetCalls).

Environment: TOKENWATCH_AGENT_WRAPPER runs the agent under a tool
(valgrind), TOKENWATCH_AGENT (default: agent/tokenwatch-agent next to the
daemon's build directory), TOKENWATCH_LOCALEDIR (default: po/ of the same
build directory; the agent's test hook for the translations of the build
tree)."""

import configparser
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import twtest
from twtest import Gio, GLib
from twtestbed import procs

DAY = 86400
HOUR = 3600
NOTIFY_NAME = "org.freedesktop.Notifications"
NOTIFY_PATH = "/org/freedesktop/Notifications"
MOCK_IFACE = "org.freedesktop.DBus.Mock"
AGENT_NAME = "io.github.tokenwatch.Agent"
TOKEN = twtest.IFACE + ".Token"
CAPS_ACTIONS = "actions body icon-static"
CAPS_PLAIN = "body icon-static"
# the test bed's virtual PIV card
VIRTUAL_ATR = "3B8B810180F9A00000030800001000C9"


def build_root():
    return os.path.dirname(os.path.dirname(twtest.tool("TOKENWATCHD")))


class AgentTestCase(twtest.TokenwatchTestCase):

    def setUp(self):
        super().setUp()
        from twtestbed.certs import CertFactory
        self.certs = CertFactory(os.path.join(self.workdir, "certs"))
        self.agent_bin = os.environ.get("TOKENWATCH_AGENT") or os.path.join(
            build_root(), "agent", "tokenwatch-agent")
        if not os.access(self.agent_bin, os.X_OK):
            self.skipTest("tokenwatch-agent is not built: %s" % self.agent_bin)
        self.localedir = os.environ.get("TOKENWATCH_LOCALEDIR") or os.path.join(
            build_root(), "po")
        self.agent_state = os.path.join(self.workdir, "agent-state")
        # the agent's home: its NSS databases and p11-kit configuration
        self.home = os.path.join(self.workdir, "home")
        self.agent_config = os.path.join(self.home, ".config")
        os.makedirs(self.agent_config)
        self.agents = []
        self.notifiers = []
        self.n_agent = 0

    def leaf(self, cn, seconds, **kwargs):
        return self.certs.leaf(cn, not_after=datetime.timedelta(seconds=seconds),
                               **kwargs).der

    def device_entry(self, until):
        """Device data for the test bed's virtual card (see test_tracking.py)."""
        devices_dir = os.path.join(self.workdir, "devices.d")
        os.makedirs(devices_dir, exist_ok=True)
        self.write_config("[Devices]\nDataDirectory=%s\nLocalDirectory=%s\n"
                          % (os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                          "..", "data", "devices"), devices_dir))
        with open(os.path.join(devices_dir, "virtual-piv.conf"), "w") as f:
            f.write("[Device]\nName=Virtual PIV (test)\nAtr=%s\nQscdCertifiedUntil=%s\n"
                    "QualifiedCapacity=2\n\n[Sources]\nAtr=the test bed's virtual card\n"
                    "QscdCertifiedUntil=this test\nQualifiedCapacity=this test\n"
                    % (VIRTUAL_ATR, until.strftime("%Y-%m-%d")))

    def insert(self, index, certs, n_tokens=1, **kwargs):
        card = self.card(index, certificates=certs, **kwargs).insert()
        self.wait_signal("TokenAdded", n=n_tokens, timeout=20)
        return card

    # -- the bus ------------------------------------------------------------
    def has_owner(self, name):
        return self.conn.call_sync(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "NameHasOwner", GLib.Variant("(s)", (name,)), GLib.VariantType("(b)"),
            Gio.DBusCallFlags.NONE, 5000, None).unpack()[0]

    # -- the notification server --------------------------------------------
    def start_notifier(self, caps=CAPS_ACTIONS):
        log = os.path.join(self.workdir, "notifier-%d.log" % len(self.notifiers))
        p = procs.Proc(["/usr/bin/python3", "-m", "dbusmock", "--template",
                        "notification_daemon", "-p", json.dumps({"capabilities": caps})],
                       log, env=self.env)
        self.notifiers.append(p)
        self.addCleanup(p.stop)
        self.wait_until(lambda: self.has_owner(NOTIFY_NAME), 15, "the notification server")
        return p

    def stop_notifier(self, p):
        p.stop()
        self.wait_until(lambda: not self.has_owner(NOTIFY_NAME), 10, "the server to go")

    def notifications(self):
        """[{app, replaces, icon, summary, body, actions, hints, timeout}], in order"""
        if not self.has_owner(NOTIFY_NAME):
            return []
        calls = self.conn.call_sync(NOTIFY_NAME, NOTIFY_PATH, MOCK_IFACE, "GetCalls", None,
                                    GLib.VariantType("(a(tsav))",), Gio.DBusCallFlags.NONE,
                                    5000, None).unpack()[0]
        out = []
        for _, method, args in calls:
            if method == "Notify":
                keys = ("app", "replaces", "icon", "summary", "body", "actions", "hints",
                        "timeout")
                out.append(dict(zip(keys, args)))
        return out

    def wait_notifications(self, n, timeout=15):
        return self.wait_until(lambda: len(self.notifications()) >= n and self.notifications(),
                               timeout, "%d notifications" % n)

    def invoke_action(self, notification_id, action):
        self.conn.call_sync(NOTIFY_NAME, NOTIFY_PATH, MOCK_IFACE, "EmitSignal",
                            GLib.Variant("(sssav)", (NOTIFY_NAME, "ActionInvoked", "us",
                                                     [GLib.Variant("u", notification_id),
                                                      GLib.Variant("s", action)])),
                            None, Gio.DBusCallFlags.NONE, 5000, None)

    # -- the agent ----------------------------------------------------------
    def agent_env(self):
        env = dict(self.env)
        env["HOME"] = self.home
        env["XDG_CONFIG_HOME"] = self.agent_config
        env["XDG_STATE_HOME"] = self.agent_state
        return env

    def write_agent_config(self, text):
        os.makedirs(os.path.join(self.agent_config, "tokenwatch"), exist_ok=True)
        with open(os.path.join(self.agent_config, "tokenwatch", "agent.conf"), "w") as f:
            f.write(text)

    def locale_env(self, env, lang=None):
        """English (C.UTF-8) unless lang, e.g. "cs_CZ.UTF-8", is given: then
        LANG alone, as a user's session sets it (install-deps.sh generates
        cs_CZ.UTF-8)."""
        env["TOKENWATCH_LOCALEDIR"] = self.localedir
        for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LC_TIME"):
            env.pop(var, None)
        if lang:
            env["LANG"] = lang
        else:
            env.pop("LANG", None)
            env["LC_ALL"] = "C.UTF-8"
        return env

    def start_agent(self, lang=None):
        env = self.locale_env(self.agent_env(), lang)
        # TOKENWATCH_AGENT_WRAPPER: e.g. valgrind with its options
        wrapper = os.environ.get("TOKENWATCH_AGENT_WRAPPER", "").split()
        self.n_agent += 1
        p = procs.Proc(wrapper + [self.agent_bin, "--daemon-session", "--verbose"],
                       os.path.join(self.workdir, "agent-%d.log" % self.n_agent), env=env)
        self.agents.append(p)
        self.addCleanup(self._stop_agent, p)
        self.wait_until(lambda: self.has_owner(AGENT_NAME) or not p.running, 10 * 3,
                        "the agent's bus name")
        self.assertTrue(p.running, p.log_text())
        return p

    def _stop_agent(self, p):
        if not p.running:
            return
        status = p.stop(15 * twtest.TIME_SCALE, signal.SIGTERM)
        if status != 0:
            sys.stderr.write(p.log_text()[-20000:])
            self.fail("tokenwatch-agent exited with %s on SIGTERM" % status)

    def stop_agent(self, p):
        self._stop_agent(p)
        self.wait_until(lambda: not self.has_owner(AGENT_NAME), 10, "the agent to go")

    def agent_state_file(self):
        cp = configparser.ConfigParser(interpolation=None)
        cp.optionxform = str
        cp.read(os.path.join(self.agent_state, "tokenwatch-agent", "notified.ini"))
        return cp


class TestExpiry(AgentTestCase):

    def test_expiry_then_expired_and_restart(self):
        self.start_notifier()
        self.start_daemon()
        self.wait_readers(4)
        agent = self.start_agent()
        card = self.insert(0, {"9a": self.leaf("Jan Novák", 10 * DAY + HOUR)})
        self.wait_signal("ExpiryWarning")
        (n,) = self.wait_notifications(1)
        self.pump(1.0)
        self.assertEqual(len(self.notifications()), 1)
        self.assertEqual(n["app"], "tokenwatch")
        self.assertEqual(n["replaces"], 0)
        self.assertEqual(n["icon"], "dialog-warning")
        self.assertEqual(n["summary"], "Certificate expires in 10 days")
        self.assertIn("Holder: Jan Novák", n["body"])
        self.assertIn("Renew it by ", n["body"])
        self.assertIn("Renew it now, while it is still valid", n["body"])
        self.assertEqual(n["hints"]["urgency"], 1)
        self.assertEqual(n["actions"], ["default", "Details", "snooze", "Remind me tomorrow"])
        self.assertEqual(n["timeout"], -1)

        # the clock jumps past the end: expired, critical, in place of the first
        self.move_clock(11 * DAY)
        self.wait_signal("ExpiryWarning", n=2)
        ns = self.wait_notifications(2)
        self.assertEqual(ns[1]["summary"], "Certificate has expired")
        self.assertEqual(ns[1]["hints"]["urgency"], 2)
        self.assertEqual(ns[1]["icon"], "dialog-error")
        self.assertEqual(ns[1]["replaces"], 1)
        self.assertIn("visit in person", ns[1]["body"])
        self.assertEqual(ns[1]["actions"], ["default", "Details"])

        # a restarted agent shows nothing again
        self.stop_agent(agent)
        self.start_agent()
        self.pump(3.0)
        self.assertEqual(len(self.notifications()), 2)
        card.remove()

    def test_czech(self):
        self.start_notifier()
        self.start_daemon()
        self.wait_readers(4)
        self.start_agent(lang="cs_CZ.UTF-8")
        card = self.insert(0, {"9a": self.leaf("Jana Nováková", 10 * DAY + HOUR)})
        (n,) = self.wait_notifications(1)
        self.assertEqual(n["summary"], "Platnost certifikátu skončí za 10 dní")
        self.assertIn("Držitel: Jana Nováková", n["body"])
        self.assertIn("nutná osobní návštěva", n["body"])
        self.assertEqual(n["actions"], ["default", "Podrobnosti", "snooze", "Připomenout zítra"])
        # the date in the Czech way (the test bed's certificates end at a whole second)
        (cert,) = self.objects(twtest.IFACE + ".Certificate").values()
        end = datetime.datetime.fromtimestamp(cert["EffectiveNotAfter"])
        self.assertIn("nejpozději %d.%d.%d." % (end.day, end.month, end.year), n["body"])

        # tokenwatchctl speaks Czech with the same LANG
        env = self.locale_env(dict(self.env), "cs_CZ.UTF-8")
        out = subprocess.run([twtest.tool("TOKENWATCHCTL"), "--session", "certs"], env=env,
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("Sériové číslo", out.stdout)
        self.assertIn("Jana Nováková", out.stdout)
        out = subprocess.run([twtest.tool("TOKENWATCHCTL"), "--session", "nonsense"], env=env,
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 2)
        self.assertIn("Neznámý příkaz", out.stderr)
        card.remove()

    def test_without_actions_and_snooze(self):
        self.start_notifier(CAPS_PLAIN)
        self.start_daemon()
        self.wait_readers(4)
        self.start_agent()
        card = self.insert(0, {"9a": self.leaf("no actions", 40 * DAY + HOUR)})
        (n,) = self.wait_notifications(1)
        self.assertEqual(n["actions"], [])
        self.assertEqual(n["hints"]["urgency"], 0)  # info
        # "Remind me tomorrow", as a server with actions would send it
        # the agent records what was shown once the server replied
        self.wait_until(lambda: self.agent_state_file().has_section("notified") and
                        len(self.agent_state_file()["notified"]) > 0, 10,
                        "the notification in notified.ini")
        # read before snoozing: the snooze may change the record
        sha = next(iter(self.agent_state_file()["notified"])).split("/")[0]
        self.invoke_action(1, "snooze")
        self.wait_until(lambda: self.agent_state_file().has_option("snoozed", "cert/" + sha),
                        10, "the snooze in notified.ini")
        card.remove()


class TestEvents(AgentTestCase):

    def test_renewal(self):
        self.start_notifier()
        self.start_daemon()
        self.wait_readers(4)
        self.start_agent()
        old = self.leaf("Jan Novák", 20 * DAY + HOUR, qc_compliance=True, qc_sscd=True)
        new = self.leaf("Jan Novák", 400 * DAY + HOUR, qc_compliance=True, qc_sscd=True)
        card = self.insert(0, {"9c": old})
        self.wait_notifications(1)
        card.remove()
        self.wait_signal("TokenRemoved")
        card2 = self.insert(1, {"9c": new}, n_tokens=2)
        self.wait_signal("CertificateRenewed")
        ns = self.wait_notifications(2)
        (_, new_path), = [a for m, a in self.signals if m == "CertificateRenewed"]
        serial = self.call(new_path, "org.freedesktop.DBus.Properties", "Get",
                           GLib.Variant("(ss)", (twtest.IFACE + ".Certificate",
                                                 "SerialNumberDecimal")), "(v)")[0]
        self.assertTrue(serial.isdigit())
        self.assertEqual(ns[1]["summary"], "Certificate renewed")
        self.assertIn("New serial number: %s" % serial, ns[1]["body"])
        self.assertIn("JIP", ns[1]["body"])
        self.assertEqual(ns[1]["replaces"], 1)  # in place of the old one's warning
        card2.remove()

    def test_device_certification_ending(self):
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=20)
        self.device_entry(until)
        self.start_notifier()
        self.start_daemon()
        self.wait_readers(4)
        self.start_agent()
        card = self.insert(0, {"9c": self.leaf("in the QSCD", 400 * DAY, qc_compliance=True,
                                               qc_sscd=True, qc_type="esign",
                                               policies=["0.4.0.194112.1.2"])})
        self.wait_signal("DeviceCertificationEnding")
        self.wait_signal("ExpiryWarning")
        self.wait_notifications(2)
        self.pump(1.0)
        by_summary = {n["summary"]: n for n in self.notifications()}
        self.assertEqual(len(by_summary), 2, by_summary)
        device = by_summary["The qualified certification of your Virtual PIV (test) ends "
                            "in 20 days"]
        self.assertIn("Every qualified certificate on it will be revoked on ", device["body"])
        self.assertEqual(device["hints"]["urgency"], 2)
        # the certificate's effective end is the device's
        self.assertIn("Certificate expires in 20 days", by_summary)
        card.remove()

    def test_locked_pin(self):
        self.start_notifier()
        self.start_daemon()
        self.wait_readers(4)
        self.start_agent()
        card = self.insert(0, {"9a": self.leaf("locked", 400 * DAY)}, pin_tries=0)
        (n,) = self.wait_notifications(1)
        self.assertRegex(n["summary"], r"^The PIN of your .* is blocked$")
        self.assertIn("PUK", n["body"])
        self.assertEqual(n["hints"]["urgency"], 2)
        self.assertEqual(n["icon"], "dialog-error")
        # taken out and put back: the advice is still there, nothing new
        card.remove()
        self.wait_signal("TokenRemoved")
        card.insert()
        self.wait_signal("TokenAdded", n=2, timeout=20)
        self.pump(1.5)
        self.assertEqual(len(self.notifications()), 1)
        card.remove()


class TestRobustness(AgentTestCase):

    def test_server_absent_at_first(self):
        self.start_daemon()
        self.wait_readers(4)
        agent = self.start_agent()
        card = self.insert(0, {"9a": self.leaf("later", 10 * DAY + HOUR)})
        self.wait_signal("ExpiryWarning")
        self.pump(1.0)
        self.assertTrue(agent.running)
        self.start_notifier()
        (n,) = self.wait_notifications(1)
        self.assertEqual(n["summary"], "Certificate expires in 10 days")
        self.pump(1.5)
        self.assertEqual(len(self.notifications()), 1)
        card.remove()

    def test_never_shown_is_not_remembered(self):
        """An agent that ends before any server appeared leaves nothing marked
        as shown: the next one shows it."""
        self.start_daemon()
        self.wait_readers(4)
        agent = self.start_agent()
        card = self.insert(0, {"9a": self.leaf("unseen", 10 * DAY + HOUR)})
        self.wait_signal("ExpiryWarning")
        self.pump(1.0)
        self.stop_agent(agent)
        self.assertFalse(self.agent_state_file().has_section("notified")
                         and len(self.agent_state_file()["notified"]) > 0)
        self.start_notifier()
        self.start_agent()
        (n,) = self.wait_notifications(1)
        self.assertEqual(n["summary"], "Certificate expires in 10 days")
        card.remove()

    def test_daemon_restart(self):
        self.start_notifier()
        self.start_agent()  # before the daemon: it waits
        d = self.start_daemon()
        self.wait_readers(4)
        card = self.insert(0, {"9a": self.leaf("before", 10 * DAY + HOUR)})
        self.wait_notifications(1)
        card.remove()
        self.wait_signal("TokenRemoved")
        self.assertEqual(d.stop(), 0)
        self.pump(0.5)
        self.signals.clear()
        self.start_daemon(name="tokenwatchd-2")
        self.wait_readers(4)
        card2 = self.insert(1, {"9a": self.leaf("after", 3 * DAY + HOUR)})
        ns = self.wait_notifications(2)
        self.assertEqual(ns[1]["summary"], "Certificate expires in 3 days")
        self.assertEqual(ns[1]["hints"]["urgency"], 2)
        self.pump(2.0)
        self.assertEqual(len(self.notifications()), 2)
        card2.remove()

    def test_other_users_token(self):
        """A token whose Owners are other users is theirs: the daemon still
        warns on the bus, this user's agent shows nothing. Once this user has
        been an owner too, the warnings are shown here."""
        other = os.getuid() + 1
        self.env["TOKENWATCH_TEST_SESSION_UIDS"] = str(other)
        self.start_notifier()
        d = self.start_daemon()
        self.wait_readers(4)
        self.start_agent()
        card = self.insert(0, {"9a": self.leaf("Cizí Token", 5 * DAY + HOUR)})
        self.wait_signal("ExpiryWarning")
        self.pump(2.0)
        self.assertEqual(self.notifications(), [])
        card.remove()
        self.wait_signal("TokenRemoved")
        self.assertEqual(d.stop(), 0)

        self.env["TOKENWATCH_TEST_SESSION_UIDS"] = "%d,%d" % (other, os.getuid())
        self.signals.clear()
        self.start_daemon(name="tokenwatchd-2")
        self.wait_readers(4)
        card.insert()
        self.wait_signal("TokenAdded", timeout=20)
        self.pump(0.5)
        token_path = next(iter(self.objects(TOKEN)))
        self.assertEqual(self.objects(TOKEN)[token_path]["Owners"], [other, os.getuid()])
        # the threshold was crossed once already: the daemon does not repeat
        # it, but the agent shows its current state when the token is its own
        (n,) = self.wait_notifications(1)
        self.assertIn("Cizí Token", n["body"])
        card.remove()

    def test_one_agent_per_session(self):
        self.start_agent()
        second = procs.Proc([self.agent_bin, "--daemon-session"],
                            os.path.join(self.workdir, "agent-second.log"), env=self.agent_env())
        self.assertTrue(second.wait(10))
        self.assertEqual(second.poll(), 0)


class TestUnit(AgentTestCase):
    """The systemd user unit and the autostart entry, with the agent built here."""

    START_PCSCD = False

    def test_user_unit_verifies(self):
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            self.skipTest("systemd-analyze is not installed")
        with open(os.path.join(src, "systemd", "tokenwatch-agent.service.in")) as f:
            unit = f.read().replace("@bindir@", os.path.dirname(self.agent_bin))
        self.assertNotIn("@", unit)
        with tempfile.TemporaryDirectory(dir=self.workdir) as tmp:
            path = os.path.join(tmp, "tokenwatch-agent.service")
            with open(path, "w") as f:
                f.write(unit)
            runtime = os.path.join(tmp, "runtime")
            os.mkdir(runtime, 0o700)
            env = dict(os.environ, XDG_RUNTIME_DIR=runtime, SYSTEMD_LOG_COLOR="0")
            r = subprocess.run([analyze, "--user", "verify", "--man=no", path], env=env,
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        # any complaint about the unit is a failure
        self.assertEqual(r.stderr.strip(), "", r.stderr)
        self.assertEqual(r.stdout.strip(), "", r.stdout)

    def test_autostart_entry(self):
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        cp = configparser.ConfigParser(interpolation=None)
        cp.optionxform = str
        cp.read(os.path.join(src, "data", "tokenwatch-agent.desktop.in"))
        entry = cp["Desktop Entry"]
        self.assertEqual(entry["Type"], "Application")
        self.assertEqual(entry["Exec"], "@bindir@/tokenwatch-agent")
        self.assertEqual(entry["NoDisplay"], "true")
        self.assertEqual(entry["X-GNOME-Autostart-enabled"], "true")
        self.assertNotIn("OnlyShowIn", entry)


if __name__ == "__main__":
    twtest.main()
