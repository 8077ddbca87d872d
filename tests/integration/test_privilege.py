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
for the system bus) with the actions a test allows.

TestVisibility: who may see what. Callers of other uids look at the objects
(GetManagedObjects, Get, GetAll, GetDer, Introspect) and listen to the
signals while cards come and go: a token and its certificates are shown to
its owners, and while it is in a reader to whoever polkit allows
io.github.tokenwatch.read-tokens; to nobody else."""

import json
import os
import pwd
import select
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

# a client of another uid: "look" at the objects, or "watch" the signals
# until its stdin closes; prints JSON
VIEWER = r"""
import json, select, sys
from gi.repository import Gio, GLib
addr, bus_name, root, mode, arg = sys.argv[1:6]
c = Gio.DBusConnection.new_for_address_sync(
    addr, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
    Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
IFACE = "io.github.tokenwatch.TokenWatch1."

def call(path, iface, method, args=None):
    try:
        v = c.call_sync(bus_name, path, iface, method, args, None, 0, 10000, None)
        return ["ok", v.unpack()]
    except GLib.Error as e:
        return ["error", Gio.DBusError.get_remote_error(e)]

seen = []
def on_signal(conn, sender, path, iface, member, params):
    first = params.unpack()[0] if params.n_children() else None
    seen.append([member, path, first])
if mode == "watch":
    c.signal_subscribe(bus_name, None, None, None, None, 0, on_signal)
objs = call(root, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
out = {"objects": sorted(objs[1][0]) if objs[0] == "ok" else objs}
if mode == "look":
    for path in json.loads(arg):
        iface = IFACE + ("Token" if "/tokens/" in path else "Certificate")
        r = {"GetAll": call(path, "org.freedesktop.DBus.Properties", "GetAll",
                            GLib.Variant("(s)", (iface,)))[0],
             "Get": call(path, "org.freedesktop.DBus.Properties", "Get",
                         GLib.Variant("(ss)", (iface, "Label")))}
        if iface.endswith("Certificate"):
            der = call(path, iface, "GetDer")
            r["GetDer"] = ["ok", bytes(der[1][0]).hex()] if der[0] == "ok" else der
        out[path] = r
    xml = call(root + "/tokens", "org.freedesktop.DBus.Introspectable", "Introspect")
    out["children"] = [n.path for n in Gio.DBusNodeInfo.new_for_xml(xml[1][0]).nodes]
else:
    print("ready", flush=True)
    ctx = GLib.MainContext.default()
    while not select.select([sys.stdin], [], [], 0.01)[0]:
        while ctx.pending():
            ctx.iteration(False)
    while ctx.pending():
        ctx.iteration(False)
    out["signals"] = seen
print(json.dumps(out, default=str))
"""

POLKIT_NAME = "org.freedesktop.PolicyKit1"
POLKIT_PATH = "/org/freedesktop/PolicyKit1/Authority"
DENIED = "io.github.tokenwatch.TokenWatch1.Error.PermissionDenied"


class PolkitTestCase(twtest.TokenwatchTestCase):
    """A mock polkitd, and callers of another uid."""

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



class TestAuthorization(PolkitTestCase):

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


class TestVisibility(PolkitTestCase):

    def viewer(self, user, mode, arg):
        return subprocess.Popen(
            ["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid,
             "--clear-groups", "/usr/bin/python3", "-c", VIEWER, self.bus.address,
             twtest.BUS_NAME, twtest.ROOT, mode, json.dumps(arg)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def look(self, paths, user=None):
        p = self.viewer(user or self.nobody, "look", paths)
        out, err = p.communicate(timeout=60 * twtest.TIME_SCALE)
        self.assertEqual(p.returncode, 0, err)
        return json.loads(out)

    def watch(self, user):
        """a watcher, ready: its signals come with stop_watching()"""
        p = self.viewer(user, "watch", 0)
        self.addCleanup(p.kill)
        ready = select.select([p.stdout], [], [], 30 * twtest.TIME_SCALE)[0]
        line = p.stdout.readline().strip() if ready else ""
        if line != "ready":
            p.kill()
            self.fail("the watcher did not start: %s" % p.stderr.read())
        return p

    def stop_watching(self, p):
        out, err = p.communicate("", timeout=60 * twtest.TIME_SCALE)
        self.assertEqual(p.returncode, 0, err)
        return json.loads(out)

    def reader_paths(self):
        return sorted(p["path"] for p in self.readers().values())

    def test_tokens_of_others_are_hidden(self):
        self.start_polkitd()
        self.start_daemon()
        self.wait_readers(4)
        card, tpath = self.insert_token()
        (cpath,) = self.objects(CERT)
        der = bytes(self.call(cpath, CERT, "GetDer", None, "(ay)")[0]).hex()
        # not its token, no session: the readers only, every read refused
        out = self.look([tpath, cpath])
        self.assertEqual(out["objects"], self.reader_paths())
        self.assertEqual(out[tpath], {"GetAll": "error", "Get": ["error", DENIED]})
        self.assertEqual(out[cpath]["Get"], ["error", DENIED])
        self.assertEqual(out[cpath]["GetDer"], ["error", DENIED])
        self.assertEqual(out["children"], [])
        # an active local session (polkit says yes): the tokens present
        self.allow("io.github.tokenwatch.read-tokens")
        out = self.look([tpath, cpath])
        self.assertEqual(out["objects"], sorted(self.reader_paths() + [tpath, cpath]))
        self.assertEqual(out[tpath]["GetAll"], "ok")
        self.assertEqual(out[cpath]["GetDer"], ["ok", der])
        self.assertEqual(out["children"], [tpath.rsplit("/", 1)[1]])
        # out of the reader, it is not theirs to see any more; root still does
        card.remove()
        self.wait_signal("TokenRemoved")
        out = self.look([tpath, cpath])
        self.assertEqual(out["objects"], self.reader_paths())
        self.assertEqual(out[cpath]["GetDer"], ["error", DENIED])
        self.assertIn(tpath, self.objects(TOKEN))
        self.assertFalse(self.objects(TOKEN)[tpath]["Present"])
        # what is not there at all is unknown, not refused
        out = self.look([twtest.ROOT + "/tokens/nope"])
        self.assertNotEqual(out[twtest.ROOT + "/tokens/nope"]["Get"][1], DENIED)

    def polkit_checks(self):
        with open(os.path.join(self.workdir, "polkitd.log")) as f:
            return f.read().count('"io.github.tokenwatch.read-tokens"')

    def polkit_changed(self):
        """polkit says that authorisations changed (a session became active
        or inactive): the daemon asks again for every client"""
        n = self.polkit_checks()
        self.conn.call_sync(POLKIT_NAME, POLKIT_PATH, "org.freedesktop.DBus.Mock", "EmitSignal",
                            twtest.GLib.Variant("(sssav)", ("org.freedesktop.PolicyKit1.Authority",
                                                            "Changed", "", [])),
                            None, twtest.Gio.DBusCallFlags.NONE, 5000, None)
        self.wait_until(lambda: self.polkit_checks() > n, 10, "polkit asked again")
        self.pump(0.3)

    def test_polkit_change_shows_and_hides(self):
        """A session that becomes active shows the tokens present to its
        user's clients (InterfacesAdded), and hides them when it is no
        longer (InterfacesRemoved)."""
        self.start_polkitd()
        self.start_daemon()
        self.wait_readers(4)
        card, tpath = self.insert_token()
        (cpath,) = self.objects(CERT)
        w = self.watch(self.nobody)
        self.allow("io.github.tokenwatch.read-tokens")
        self.polkit_changed()
        self.allow()
        self.polkit_changed()
        out = self.stop_watching(w)
        self.assertEqual(out["objects"], self.reader_paths())
        for path in (tpath, cpath):
            self.assertEqual([s[0] for s in out["signals"] if s[2] == path],
                             ["InterfacesAdded", "InterfacesRemoved"])
        card.remove()

    def test_owner_sees_and_hears_others_do_not(self):
        """The owner hears of its token (InterfacesAdded, TokenAdded,
        TokenRemoved) and keeps seeing it after it left the reader; another
        user hears the reader's CardInserted and nothing about the token."""
        other = pwd.getpwnam("daemon")
        self.env["TOKENWATCH_TEST_SESSION_UIDS"] = str(self.nobody.pw_uid)
        self.start_polkitd()
        self.start_daemon()
        self.wait_readers(4)
        owner_watch = self.watch(self.nobody)
        other_watch = self.watch(other)
        card, tpath = self.insert_token()
        (cpath,) = self.objects(CERT)
        card.remove()
        self.wait_signal("TokenRemoved")
        self.pump(0.3)
        owner = self.stop_watching(owner_watch)
        stranger = self.stop_watching(other_watch)

        def about(signals, path):
            return [s[0] for s in signals if path in (s[1], s[2])]

        self.assertEqual(owner["objects"], self.reader_paths())
        self.assertIn("InterfacesAdded", about(owner["signals"], tpath))
        self.assertIn("InterfacesAdded", about(owner["signals"], cpath))
        self.assertIn("TokenAdded", about(owner["signals"], tpath))
        self.assertIn("TokenRemoved", about(owner["signals"], tpath))
        self.assertIn("CardInserted", [s[0] for s in stranger["signals"]])
        self.assertEqual(about(stranger["signals"], tpath), [])
        self.assertEqual(about(stranger["signals"], cpath), [])
        self.assertFalse(any(s[1].startswith(twtest.ROOT + "/tokens") or
                             s[1].startswith(twtest.ROOT + "/certificates")
                             for s in stranger["signals"]))
        # gone from the reader, still the owner's; still nothing to another
        out = self.look([tpath, cpath])
        self.assertEqual(out["objects"], sorted(self.reader_paths() + [tpath, cpath]))
        self.assertEqual(out[cpath]["GetDer"][0], "ok")
        out = self.look([tpath], user=other)
        self.assertEqual(out[tpath]["Get"], ["error", DENIED])


if __name__ == "__main__":
    twtest.main()
