"""Integration test harness for tokenwatch: the daemon built in-tree, run
against a real pcscd (socket-activated on a private socket, in its own mount
namespace), vpcd virtual readers, virtual PIV cards and a private
dbus-daemon. Every test gets its own ports, sockets and directories and
leaves no process behind.

Run one test: /usr/bin/python3 tests/integration/test_daemon.py Class.test
Environment (set by meson): TOKENWATCHD, TOKENWATCHCTL, TW_TESTBED_PATH;
TOKENWATCHD_WRAPPER runs the daemon under a tool (valgrind), TW_TIME_SCALE
stretches the tests' time limits for slow runs.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.environ.get(
    "TW_TESTBED_PATH",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testbed")))

import gi  # noqa: E402

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

from twtestbed import procs  # noqa: E402
from twtestbed.bus import PrivateBus  # noqa: E402
from twtestbed.pcscd import Pcscd  # noqa: E402
from twtestbed.vcard import VirtualPivCard  # noqa: E402

BUS_NAME = "io.github.tokenwatch.TokenWatch1"
ROOT = "/io/github/tokenwatch/TokenWatch1"
IFACE = BUS_NAME
MANAGER = IFACE + ".Manager"
READER = IFACE + ".Reader"
EXIT_SKIP = 77
OPENSC = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
# the modules every test daemon loads, unless a test says otherwise: the
# machine's p11-kit configuration is not the test's business
DEFAULT_P11_ARGS = ["--no-p11-kit", "--pkcs11-module", OPENSC]
# > 1 stretches every wait (a daemon under valgrind starts and answers slower)
TIME_SCALE = float(os.environ.get("TW_TIME_SCALE", "1"))


def tool(name):
    path = os.environ.get(name)
    if not path or not os.access(path, os.X_OK):
        raise unittest.SkipTest("%s is not set to a built program" % name)
    return path


class NotifySocket:
    """An sd_notify(3) socket the test owns: records every datagram."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.messages.append((time.monotonic(), data.decode()))

    def assignments(self, key):
        """Values given to KEY= in order, e.g. assignments('STATUS')."""
        with self._lock:
            msgs = list(self.messages)
        out = []
        for _, msg in msgs:
            for line in msg.split("\n"):
                if line.startswith(key + "="):
                    out.append(line[len(key) + 1:])
        return out

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Daemon:
    """tokenwatchd --session on the private bus."""

    def __init__(self, workdir, env, args=(), name="tokenwatchd", user=None, prefix=()):
        self.name = name
        self.notify = NotifySocket(os.path.join(workdir, name + ".notify"))
        env = dict(env)
        env["NOTIFY_SOCKET"] = self.notify.path
        # TOKENWATCHD_WRAPPER: e.g. valgrind with its options, split on spaces
        wrapper = os.environ.get("TOKENWATCHD_WRAPPER", "").split()
        # user: (uid, gid) to run as, without any capability (setpriv)
        if user is not None:
            os.chmod(self.notify.path, 0o777)
            wrapper = ["setpriv", "--reuid=%d" % user[0], "--regid=%d" % user[1],
                       "--clear-groups", "--inh-caps=-all", "--bounding-set=-all",
                       "--no-new-privs"] + wrapper
        # prefix: a command that runs the rest (e.g. journald-wrap.sh DIR)
        self.proc = procs.Proc(list(prefix) + wrapper + [tool("TOKENWATCHD"), "--session", "-v"] + list(args),
                               os.path.join(workdir, name + ".log"), env=env)

    def log(self):
        return self.proc.log_text()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Send `sig`, wait; the exit status (negative: killed by a signal)."""
        return self.proc.stop(timeout, sig)

    def wait_exit(self, timeout=10):
        """The exit status once it exited by itself, None if still running."""
        self.proc.wait(timeout)
        return self.proc.poll()

    def cleanup(self):
        if self.proc.running:
            self.proc.kill()
        self.notify.close()


class TokenwatchTestCase(unittest.TestCase):
    """Base: a private bus, a pcscd with `ENTRIES` vpcd entries, helpers to
    start tokenwatchd and to watch what it says on the bus."""

    ENTRIES = 2
    FRIENDLY_NAMES = None  # bytes per vpcd entry, for odd reader names
    START_PCSCD = True

    def setUp(self):
        # short: AF_UNIX paths are limited to 108 bytes
        self.workdir = tempfile.mkdtemp(prefix="tw-", dir="/tmp")
        self.cards = []
        self.daemons = []
        self.addCleanup(self._cleanup_workdir)
        for sub in ("bus", "pcscd"):
            os.makedirs(os.path.join(self.workdir, sub))
        self.bus = PrivateBus(os.path.join(self.workdir, "bus"))
        self.bus.start()
        self.addCleanup(self.bus.stop)
        self.pcscd = Pcscd(os.path.join(self.workdir, "pcscd"), entries=self.ENTRIES,
                           friendly_names=self.FRIENDLY_NAMES)
        self.addCleanup(self.pcscd.stop)
        if self.START_PCSCD:
            self.pcscd.start()
        self.env = dict(os.environ)
        self.env.update({
            "PCSCLITE_CSOCK_NAME": self.pcscd.socket_path,
            "DBUS_SESSION_BUS_ADDRESS": self.bus.address,
            "DBUS_SYSTEM_BUS_ADDRESS": self.bus.address,
            "G_DEBUG": "fatal-criticals",
        })
        self.env.pop("NOTIFY_SOCKET", None)
        self.env.pop("WATCHDOG_USEC", None)
        # each test its own memory, and no configuration but its own
        self.state_dir = os.path.join(self.workdir, "state")
        self.env["STATE_DIRECTORY"] = self.state_dir
        self.env["TOKENWATCH_CONFIG"] = os.path.join(self.workdir, "tokenwatch.conf")
        self.env.pop("CONFIGURATION_DIRECTORY", None)
        # the test clock: seconds added to the real time (see daemon/tw-clock.c)
        self.clock_file = os.path.join(self.workdir, "clock-offset")
        self.env["TOKENWATCH_TEST_CLOCK_OFFSET_FILE"] = self.clock_file
        self.conn = Gio.DBusConnection.new_for_address_sync(
            self.bus.address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.addCleanup(self.conn.close_sync, None)
        self.signals = []  # (member, unpacked args)
        self.conn.signal_subscribe(None, MANAGER, None, ROOT, None,
                                   Gio.DBusSignalFlags.NONE, self._on_signal)

    def _cleanup_workdir(self):
        for card in self.cards:
            card.remove()
        for d in self.daemons:
            d.cleanup()
        if self._outcome_failed():
            self._dump_logs()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _stop_daemon(self, d):
        """Every test ends with a clean stop: SIGTERM, exit 0. Under ASan or
        valgrind (TOKENWATCHD_WRAPPER) a leak or a memory error makes the
        exit status non-zero, and so fails the test."""
        if not d.proc.running:
            return
        status = d.stop(signal.SIGTERM, timeout=15 * TIME_SCALE)
        if status != 0:
            sys.stderr.write(d.log()[-20000:])
            self.fail("%s exited with %s on SIGTERM" % (d.name, status))

    def _outcome_failed(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return False
        return any(t is self for t, _ in result.failures + result.errors)

    def _dump_logs(self):
        for root, _, files in os.walk(self.workdir):
            for f in files:
                if f.endswith(".log"):
                    p = os.path.join(root, f)
                    with open(p, errors="replace") as fh:
                        text = fh.read()[-6000:]
                    sys.stderr.write("\n----- %s -----\n%s\n" % (p, text))

    def _on_signal(self, conn, sender, path, iface, member, params):
        self.signals.append((member, params.unpack()))

    # -- the main loop ------------------------------------------------------
    def pump(self, seconds=0.0):
        """Dispatch D-Bus traffic for `seconds`."""
        end = time.monotonic() + seconds
        ctx = GLib.MainContext.default()
        while True:
            while ctx.pending():
                ctx.iteration(False)
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.01))

    def wait_until(self, predicate, timeout=10.0, what="condition"):
        timeout *= TIME_SCALE
        end = time.monotonic() + timeout
        ctx = GLib.MainContext.default()
        while True:
            while ctx.pending():
                ctx.iteration(False)
            value = predicate()
            if value:
                # signals that came before the replies the predicate read
                while ctx.pending():
                    ctx.iteration(False)
                return value
            if time.monotonic() > end:
                self.fail("timed out after %.1f s waiting for %s" % (timeout, what))
            time.sleep(0.005)

    def write_config(self, text):
        """The daemon's configuration file (read at start and on ReloadConfig)."""
        with open(self.env["TOKENWATCH_CONFIG"], "w") as f:
            f.write(text)

    def move_clock(self, seconds):
        """Jump the daemon's clock to real time + seconds (atomically)."""
        tmp = self.clock_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % seconds)
        os.rename(tmp, self.clock_file)

    def statuses(self, d):
        return d.notify.assignments("STATUS")

    def wait_status(self, d, prefix, timeout=10.0):
        self.wait_until(lambda: any(st.startswith(prefix) for st in self.statuses(d)),
                        timeout, "STATUS=%s..." % prefix)

    def count(self, member, arg=None):
        return sum(1 for m, a in self.signals
                   if m == member and (arg is None or a[0] == arg))

    def wait_signal(self, member, arg=None, n=1, timeout=10.0):
        self.wait_until(lambda: self.count(member, arg) >= n, timeout,
                        "%d× %s(%s)" % (n, member, arg or ""))

    # -- the daemon ---------------------------------------------------------
    def start_daemon(self, args=(), wait=True, name="tokenwatchd", p11_args=None, user=None,
                     prefix=()):
        args = list(DEFAULT_P11_ARGS if p11_args is None else p11_args) + list(args)
        self._introduce_when_up()
        d = Daemon(self.workdir, self.env, args, name, user, prefix)
        self.daemons.append(d)
        # runs before the workdir cleanup: cleanups go last in, first out
        self.addCleanup(self._stop_daemon, d)
        if wait:
            self.wait_until(lambda: "1" in d.notify.assignments("READY"), 10,
                            "READY=1 from tokenwatchd")
        return d

    def _introduce_when_up(self):
        """Signals about tokens go only to clients the daemon knows, that is
        clients that called it (as GDBusObjectManagerClient does first): call
        GetManagedObjects as soon as the name is owned, so that the test hears
        of the tokens read at start."""
        watch = []

        def appeared(conn, name, owner):
            conn.call(BUS_NAME, ROOT, "org.freedesktop.DBus.ObjectManager",
                      "GetManagedObjects", None, None, Gio.DBusCallFlags.NONE, 5000, None,
                      None, None)
            if watch:
                Gio.bus_unwatch_name(watch.pop())

        watch.append(Gio.bus_watch_name_on_connection(
            self.conn, BUS_NAME, Gio.BusNameWatcherFlags.NONE, appeared, None))

    def call(self, path, iface, method, args=None, reply="()"):
        v = self.conn.call_sync(BUS_NAME, path, iface, method, args,
                                GLib.VariantType(reply), Gio.DBusCallFlags.NONE,
                                5000, None)
        return v.unpack()

    def manager_prop(self, name):
        return self.call(ROOT, "org.freedesktop.DBus.Properties", "Get",
                         GLib.Variant("(ss)", (MANAGER, name)), "(v)")[0]

    def managed_objects(self):
        return self.call(ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                         None, "(a{oa{sa{sv}}})")[0]

    def objects(self, iface):
        """{path: {property: value}} of the objects with @iface"""
        return {p: dict(i[iface]) for p, i in self.managed_objects().items() if iface in i}

    def readers(self):
        """{reader name: properties} as the daemon shows them now."""
        out = {}
        for path, ifaces in self.managed_objects().items():
            if READER in ifaces:
                props = dict(ifaces[READER])
                props["path"] = path
                out[props["Name"]] = props
        return out

    def reader_path(self, index):
        return self.readers()[self.pcscd.reader_names[index]]["path"]

    def wait_readers(self, n, timeout=10.0):
        return self.wait_until(lambda: len(self.readers()) == n and self.readers(),
                               timeout, "%d readers" % n)

    # -- cards --------------------------------------------------------------
    def card(self, reader_index, **kwargs):
        c = VirtualPivCard(self.pcscd.port_for(reader_index), **kwargs)
        self.cards.append(c)
        return c

    def ctl(self, *args, check=True, timeout=20):
        r = subprocess.run([tool("TOKENWATCHCTL"), "--session"] + list(args),
                           env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            self.fail("tokenwatchctl %s: exit %d\n%s%s" % (" ".join(args), r.returncode,
                                                           r.stdout, r.stderr))
        return r


def main():
    """Run the tests named on the command line (all if none); exit 77 when
    the whole run was skipped, so meson reports a skip and CI fails it."""
    loader = unittest.TestLoader()
    module = sys.modules["__main__"]
    names = sys.argv[1:]
    suite = (loader.loadTestsFromNames(names, module) if names
             else loader.loadTestsFromModule(module))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stderr).run(suite)
    if result.wasSuccessful():
        if result.skipped and len(result.skipped) == result.testsRun:
            sys.exit(EXIT_SKIP)
        sys.exit(0)
    sys.exit(1)
