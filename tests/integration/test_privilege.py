#!/usr/bin/python3
"""Privileges, both ways.

TestUnprivileged: tokenwatchd without privileges, as tokenwatch.service runs
it (User=tokenwatch, no capability): here as nobody through setpriv, with
every capability dropped and no_new_privs, against the test bed's pcscd and
a virtual card. It must read the card, keep its state in its own state
directory and stop cleanly, with nothing but the rights of an ordinary user.

TestAuthorization: who may change state. Callers that are not root (nobody,
through setpriv) call Forget and ReloadConfig; python-dbusmock's polkitd
template answers polkit's CheckAuthorization on the test bus (which stands in
for the system bus) with the actions a test allows."""

import json
import os
import pwd
import subprocess

import twtest
from test_tokens import fixture

TOKEN = twtest.IFACE + ".Token"
CERT = twtest.IFACE + ".Certificate"


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


class TestUnprivileged(twtest.TokenwatchTestCase):

    def test_runs_as_an_ordinary_user(self):
        nobody = pwd.getpwnam("nobody")
        user = (nobody.pw_uid, nobody.pw_gid)
        if os.geteuid() != 0:
            self.fail("needs root to switch to nobody (CI runs as root)")
        # what systemd does for StateDirectory= with User=: the user's own
        # directory; the test's directories are only traversable
        os.chmod(self.workdir, 0o755)
        os.makedirs(self.state_dir, mode=0o700)
        os.chown(self.state_dir, *user)
        d = self.start_daemon(user=user)
        self.wait_readers(4)

        # which process is the daemon (under valgrind in that pass: the same pid)
        pid = d.proc.pid
        status = proc_status(pid)
        self.assertEqual(status["Uid"], [str(user[0])] * 4)
        self.assertEqual(status["Gid"], [str(user[1])] * 4)
        self.assertEqual(status["CapEff"], ["0000000000000000"])
        self.assertEqual(status["CapBnd"], ["0000000000000000"])
        self.assertEqual(status["NoNewPrivs"], ["1"])

        card = self.card(0, certificates={"9a": fixture("qualified-esign-qscd")}).insert()
        self.wait_signal("TokenAdded", timeout=20)
        (token,) = self.objects(TOKEN).values()
        self.assertTrue(token["Present"])
        self.assertEqual(token["Error"], "")
        self.assertEqual(len(self.objects(CERT)), 1)
        # remembered, in files of its own
        self.wait_until(lambda: any(os.scandir(self.state_dir)), 10, "the state written")
        for root, _, files in os.walk(self.state_dir):
            for name in files:
                st = os.stat(os.path.join(root, name))
                self.assertEqual((st.st_uid, st.st_gid), user, name)
        card.remove()
        self.wait_signal("TokenRemoved")


# Runs as another user: calls METHOD on the manager with ARGS (JSON list of
# object paths or nothing), prints "ok" or the D-Bus error name and message.
CALLER = r"""
import json, sys
from gi.repository import Gio, GLib
addr, bus_name, path, iface, method, args, interactive = sys.argv[1:8]
c = Gio.DBusConnection.new_for_address_sync(
    addr, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
    Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
params = json.loads(args)
v = GLib.Variant("(o)", tuple(params)) if params else None
flags = Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION if interactive == "1" else 0
try:
    c.call_sync(bus_name, path, iface, method, v, None, flags, 10000, None)
    print("ok")
except GLib.Error as e:
    name = Gio.DBusError.get_remote_error(e)
    Gio.DBusError.strip_remote_error(e)
    print(name, e.message)
"""

POLKIT_NAME = "org.freedesktop.PolicyKit1"
POLKIT_PATH = "/org/freedesktop/PolicyKit1/Authority"
DENIED = "io.github.tokenwatch.TokenWatch1.Error.PermissionDenied"


class TestAuthorization(twtest.TokenwatchTestCase):

    def setUp(self):
        super().setUp()
        os.chmod(self.workdir, 0o755)
        self.nobody = pwd.getpwnam("nobody")

    def start_polkitd(self):
        from twtestbed import procs
        p = procs.Proc(["/usr/bin/python3", "-m", "dbusmock", "--system", "--template",
                        "polkitd"], os.path.join(self.workdir, "polkitd.log"), env=self.env)
        self.addCleanup(p.stop)
        self.wait_until(lambda: self.name_has_owner(POLKIT_NAME), 15, "the mock polkitd")

    def name_has_owner(self, name):
        return self.conn.call_sync(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "NameHasOwner", twtest.GLib.Variant("(s)", (name,)), twtest.GLib.VariantType("(b)"),
            twtest.Gio.DBusCallFlags.NONE, 5000, None).unpack()[0]

    def allow(self, *actions):
        self.conn.call_sync(POLKIT_NAME, POLKIT_PATH, "org.freedesktop.DBus.Mock", "SetAllowed",
                            twtest.GLib.Variant("(as)", (list(actions),)), None,
                            twtest.Gio.DBusCallFlags.NONE, 5000, None)

    def call_as_nobody(self, method, args=(), interactive=False):
        out = subprocess.run(["setpriv", "--reuid=%d" % self.nobody.pw_uid,
                              "--regid=%d" % self.nobody.pw_gid, "--clear-groups",
                              "/usr/bin/python3", "-c", CALLER, self.bus.address,
                              twtest.BUS_NAME, twtest.ROOT, twtest.MANAGER, method,
                              json.dumps(list(args)), "1" if interactive else "0"],
                             capture_output=True, text=True, timeout=60 * twtest.TIME_SCALE)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.strip()

    def insert_token(self):
        card = self.card(0, certificates={"9a": fixture("qualified-esign-qscd")}).insert()
        self.wait_signal("TokenAdded", timeout=20)
        (path,) = self.objects(TOKEN)
        return card, path

    def test_forget_and_reload_need_polkit(self):
        self.start_polkitd()
        self.start_daemon()
        self.wait_readers(4)
        card, path = self.insert_token()
        # nobody's: no session on the seat, so not the owner
        self.assertNotIn(self.nobody.pw_uid, self.objects(TOKEN)[path]["Owners"])
        out = self.call_as_nobody("Forget", [path])
        self.assertTrue(out.startswith(DENIED + " "), out)
        self.assertIn("io.github.tokenwatch.forget", out)
        self.assertIn(path, self.objects(TOKEN))
        out = self.call_as_nobody("ReloadConfig")
        self.assertTrue(out.startswith(DENIED + " "), out)
        # allowing forget-own-token does not allow forgetting another's token
        self.allow("io.github.tokenwatch.forget-own-token")
        self.assertTrue(self.call_as_nobody("Forget", [path]).startswith(DENIED))
        # an administrator's authorisation
        self.allow("io.github.tokenwatch.forget", "io.github.tokenwatch.reload-config")
        self.assertEqual(self.call_as_nobody("ReloadConfig"), "ok")
        self.assertEqual(self.call_as_nobody("Forget", [path], interactive=True), "ok")
        self.wait_signal("TokenRemoved")
        self.assertNotIn(path, self.objects(TOKEN))
        # root needs nothing from polkit (the test runs as root)
        self.allow()
        self.call(twtest.ROOT, twtest.MANAGER, "ReloadConfig")
        # a path that is no token: NotFound, before any question
        out = self.call_as_nobody("Forget", [twtest.ROOT + "/tokens/nope"])
        self.assertTrue(out.startswith("io.github.tokenwatch.TokenWatch1.Error.NotFound"), out)
        card.remove()

    def test_own_token(self):
        self.env["TOKENWATCH_TEST_SESSION_UIDS"] = str(self.nobody.pw_uid)
        self.start_polkitd()
        self.start_daemon()
        self.wait_readers(4)
        card, path = self.insert_token()
        self.assertEqual(self.objects(TOKEN)[path]["Owners"], [self.nobody.pw_uid])
        self.assertTrue(self.call_as_nobody("Forget", [path]).startswith(DENIED))
        self.allow("io.github.tokenwatch.forget-own-token")
        self.assertEqual(self.call_as_nobody("Forget", [path]), "ok")
        self.wait_signal("TokenRemoved")
        card.remove()

    def test_without_polkit_the_answer_is_no(self):
        self.start_daemon()
        self.wait_readers(4)
        out = self.call_as_nobody("ReloadConfig")
        self.assertTrue(out.startswith(DENIED + " "), out)
        self.assertIn("polkit", out)
        # and the daemon still serves
        self.assertTrue(self.manager_prop("PcscAvailable"))


if __name__ == "__main__":
    twtest.main()
