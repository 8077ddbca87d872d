#!/usr/bin/python3
"""tokenwatchd against a real pcscd with vpcd readers and virtual cards."""

import json
import os
import signal
import subprocess
import time

import twtest
from twtestbed import pcsc
from twtest import MANAGER, ROOT, BUS_NAME, GLib, Gio


class TestReaders(twtest.TokenwatchTestCase):

    def test_readers_present_at_start(self):
        card = self.card(1).insert()
        self.pcscd.client.wait_for(self.pcscd.reader_names[1], pcsc.SCARD_STATE_PRESENT, 5)
        d = self.start_daemon()
        readers = self.wait_readers(4)
        self.assertEqual(sorted(readers), sorted(self.pcscd.reader_names))
        self.assertTrue(self.manager_prop("PcscAvailable"))
        self.assertEqual(self.manager_prop("Version"), "0.1.0")
        for i, name in enumerate(self.pcscd.reader_names):
            r = readers[name]
            self.assertTrue(r["path"].startswith(ROOT + "/readers/"))
            self.assertEqual(r["CardPresent"], i == 1)
            self.assertEqual(r["CardState"], "present" if i == 1 else "empty")
            self.assertEqual(r["Atr"], card.atr.hex().upper() if i == 1 else "")
            self.assertEqual(r["Tokens"], [])
        # a card already in at start is state, not an insertion event
        self.assertEqual(self.count("CardInserted"), 0)
        self.assertEqual(self.count("ReaderAdded"), 4)
        self.wait_status(d, "4 readers, 1 card, ")

    def test_insert_remove_each_reader(self):
        self.start_daemon()
        self.wait_readers(4)
        for i in range(4):
            path = self.reader_path(i)
            card = self.card(i)
            card.insert()
            self.wait_signal("CardInserted", path)
            r = self.readers()[self.pcscd.reader_names[i]]
            self.assertTrue(r["CardPresent"])
            self.assertEqual(r["Atr"], card.atr.hex().upper())
            self.assertEqual(r["EventCount"], 1)
            # the others did not move
            for j, name in enumerate(self.pcscd.reader_names):
                if j != i:
                    self.assertFalse(self.readers()[name]["CardPresent"])
            card.remove()
            self.wait_signal("CardRemoved", path)
            r = self.readers()[self.pcscd.reader_names[i]]
            self.assertFalse(r["CardPresent"])
            self.assertEqual(r["Atr"], "")
            self.assertEqual(r["EventCount"], 2)
        self.assertEqual(self.count("CardInserted"), 4)
        self.assertEqual(self.count("CardRemoved"), 4)

    def test_properties_updated_before_signal(self):
        """A client reacting to CardInserted already sees CardPresent=true."""
        self.start_daemon()
        path = self.wait_readers(4)[self.pcscd.reader_names[0]]["path"]
        seen = []
        proxy = Gio.DBusProxy.new_sync(self.conn, Gio.DBusProxyFlags.NONE, None, BUS_NAME,
                                       path, twtest.READER, None)

        def on_signal(conn, sender, p, iface, member, params):
            if params.unpack()[0] == path:
                seen.append((member, proxy.get_cached_property("CardPresent").unpack()))

        self.conn.signal_subscribe(None, MANAGER, None, ROOT, None,
                                   Gio.DBusSignalFlags.NONE, on_signal)
        card = self.card(0).insert()
        self.wait_until(lambda: len(seen) == 1, 10, "CardInserted")
        card.remove()
        self.wait_until(lambda: len(seen) == 2, 10, "CardRemoved")
        self.assertEqual(seen, [("CardInserted", True), ("CardRemoved", False)])

    def test_fast_remove_reinsert_is_two_events(self):
        """pcscd counts events; tokenwatchd reports each even when it looks
        only after both happened (the daemon is stopped meanwhile)."""
        d = self.start_daemon()
        path = self.wait_readers(4)[self.pcscd.reader_names[0]]["path"]
        name = self.pcscd.reader_names[0]
        card = self.card(0).insert()
        self.wait_signal("CardInserted", path)
        before = self.pcscd.client.status(name)
        os.kill(d.proc.pid, signal.SIGSTOP)
        try:
            card.remove()
            self.pcscd.client.wait_for(name, pcsc.SCARD_STATE_EMPTY, 5)
            card.insert()
            after = self.pcscd.client.wait_for(name, pcsc.SCARD_STATE_PRESENT, 5)
            self.assertEqual(after.counter, (before.counter + 2) & 0xFFFF)
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)
        self.wait_signal("CardInserted", path, n=2)
        members = [m for m, a in self.signals if m.startswith("Card") and a[0] == path]
        self.assertEqual(members, ["CardInserted", "CardRemoved", "CardInserted"])
        self.assertEqual(self.readers()[name]["EventCount"], 3)
        self.assertTrue(self.readers()[name]["CardPresent"])

    def test_200_fast_cycles(self):
        """200 insert/remove cycles over the 4 readers at once, each as fast
        as pcscd can see it: every insertion and removal is signalled."""
        self.start_daemon()
        readers = self.wait_readers(4)
        paths = [readers[n]["path"] for n in self.pcscd.reader_names]
        cards = [self.card(i) for i in range(4)]
        per_reader = 50
        done = [0] * 4
        pending = {}   # reader index -> ("in"|"out", expected count)
        for i in range(4):
            cards[i].insert()
            pending[i] = ("CardInserted", 1)
        end = time.monotonic() + 240
        while pending:
            self.pump(0.002)
            self.assertLess(time.monotonic(), end, "cycles did not finish: %s" % done)
            for i, (member, n) in list(pending.items()):
                if self.count(member, paths[i]) < n:
                    continue
                if member == "CardInserted":
                    cards[i].remove()
                    pending[i] = ("CardRemoved", n)
                else:
                    done[i] += 1
                    if done[i] == per_reader:
                        del pending[i]
                    else:
                        cards[i].insert()
                        pending[i] = ("CardInserted", n + 1)
        self.pump(0.5)
        self.assertEqual(self.count("CardInserted"), 200)
        self.assertEqual(self.count("CardRemoved"), 200)
        for i, name in enumerate(self.pcscd.reader_names):
            self.assertEqual(self.readers()[name]["EventCount"], 2 * per_reader)
            # pcscd agrees: its own counter moved as often
            self.assertEqual(self.pcscd.client.status(name).counter % 65536,
                             (2 * per_reader) % 65536)

    def test_refresh(self):
        self.start_daemon()
        self.wait_readers(4)
        self.call(ROOT, MANAGER, "Refresh")
        self.pump(0.5)
        self.assertEqual(len(self.readers()), 4)
        self.assertEqual(self.count("ReaderRemoved"), 0)


class TestPcscdLifecycle(twtest.TokenwatchTestCase):

    def test_readers_appear_and_disappear(self):
        """pcscd restarted with another reader configuration."""
        self.start_daemon()
        self.wait_readers(4)
        self.pcscd.restart(entries=1)
        readers = self.wait_readers(2, timeout=15)
        self.assertEqual(sorted(readers), sorted(self.pcscd.reader_names))
        self.assertEqual(self.count("ReaderRemoved"), 4)
        self.pcscd.restart(entries=3)
        readers = self.wait_readers(6, timeout=15)
        self.assertEqual(sorted(readers), sorted(self.pcscd.reader_names))
        self.card(5).insert()
        self.wait_signal("CardInserted", readers[self.pcscd.reader_names[5]]["path"])

    def test_pcscd_killed_and_restarted(self):
        d = self.start_daemon()
        self.wait_readers(4)
        self.assertTrue(self.manager_prop("PcscAvailable"))
        self.pcscd.kill()
        self.wait_until(lambda: not self.manager_prop("PcscAvailable"), 10,
                        "PcscAvailable=false")
        self.assertEqual(self.readers(), {})
        self.assertEqual(self.count("ReaderRemoved"), 4)
        self.assertIn("pcscd not available, waiting for it", d.notify.assignments("STATUS"))
        # stays down a while: the daemon must neither die nor spin
        time.sleep(3)
        self.assertTrue(d.proc.running)
        cpu = self._cpu_seconds(d.proc.pid)
        time.sleep(2)
        self.assertLess(self._cpu_seconds(d.proc.pid) - cpu, 0.2, "busy while pcscd is away")
        self.pcscd.start()
        back = time.monotonic()
        self.wait_readers(4, timeout=10)
        # bounded backoff: at most 2 s after pcscd is back (+ pcscd's own start)
        self.assertLess(time.monotonic() - back, 4.0)
        self.assertTrue(self.manager_prop("PcscAvailable"))
        card = self.card(2).insert()
        self.wait_signal("CardInserted", self.reader_path(2))
        card.remove()

    @staticmethod
    def _cpu_seconds(pid):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TestStartBeforePcscd(twtest.TokenwatchTestCase):
    START_PCSCD = False

    def test_daemon_started_before_pcscd(self):
        d = self.start_daemon()
        self.assertFalse(self.manager_prop("PcscAvailable"))
        self.assertEqual(self.readers(), {})
        self.assertEqual(d.notify.assignments("STATUS")[-1],
                         "pcscd not available, waiting for it")
        self.pcscd.start()
        self.wait_readers(4, timeout=10)
        self.assertTrue(self.manager_prop("PcscAvailable"))
        self.assertEqual(self.count("ReaderAdded"), 4)


class TestLifecycle(twtest.TokenwatchTestCase):

    def test_ready_status_stopping_sigterm(self):
        d = self.start_daemon()
        self.wait_readers(4)
        self.assertEqual(d.notify.assignments("READY"), ["1"])
        self.wait_status(d, "4 readers, 0 cards, 0 tokens, 0 certificates")
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        self.assertEqual(d.notify.assignments("STOPPING"), ["1"])
        # the name is released
        self.pump(0.2)
        owner = self.conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                    "org.freedesktop.DBus", "NameHasOwner",
                                    GLib.Variant("(s)", (BUS_NAME,)), None,
                                    Gio.DBusCallFlags.NONE, 5000, None).unpack()[0]
        self.assertFalse(owner)

    def test_sigint_exit_0(self):
        d = self.start_daemon()
        self.assertEqual(d.stop(signal.SIGINT), 0)

    def test_second_instance_fails(self):
        self.start_daemon()
        second = self.start_daemon(wait=False, name="second")
        self.assertEqual(second.wait_exit(10), 1)
        self.assertIn("another tokenwatchd already owns io.github.tokenwatch.TokenWatch1",
                      second.log())
        self.assertEqual(second.notify.assignments("READY"), [])

    def test_replace(self):
        first = self.start_daemon()
        self.start_daemon(args=["--replace"], name="second")
        self.assertEqual(first.wait_exit(10), 0)
        self.assertIn("taken over", first.log())

    def test_watchdog(self):
        self.env["WATCHDOG_USEC"] = "400000"
        d = self.start_daemon()
        time.sleep(1.5)
        pets = d.notify.assignments("WATCHDOG")
        self.assertGreaterEqual(len(pets), 4)
        self.assertEqual(set(pets), {"1"})

    def test_no_watchdog_no_pets(self):
        d = self.start_daemon()
        time.sleep(1)
        self.assertEqual(d.notify.assignments("WATCHDOG"), [])

    def test_bad_command_line(self):
        r = subprocess.run([twtest.tool("TOKENWATCHD"), "--no-such-option"], env=self.env,
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("Unknown option", r.stderr)
        r = subprocess.run([twtest.tool("TOKENWATCHD"), "--version"], env=self.env,
                           capture_output=True, text=True, timeout=10)
        self.assertEqual((r.returncode, r.stdout), (0, "tokenwatchd 0.1.0\n"))


class TestBadInput(twtest.TokenwatchTestCase):

    def assertDBusError(self, name, *args, **kwargs):
        with self.assertRaises(GLib.Error) as cm:
            self.call(*args, **kwargs)
        self.assertIn(name, Gio.DBusError.get_remote_error(cm.exception) or cm.exception.message)

    def test_bad_calls(self):
        d = self.start_daemon()
        self.wait_readers(4)
        path = self.reader_path(0)
        # arguments to a method that takes none
        with self.assertRaises(GLib.Error):
            self.conn.call_sync(BUS_NAME, ROOT, MANAGER, "Refresh", GLib.Variant("(i)", (1,)),
                                None, Gio.DBusCallFlags.NONE, 5000, None)
        self.assertDBusError("UnknownMethod", ROOT, MANAGER, "NoSuchMethod")
        self.assertDBusError("org.freedesktop.DBus.Error", path, twtest.READER, "Eject")
        # read-only properties
        with self.assertRaises(GLib.Error):
            self.call(path, "org.freedesktop.DBus.Properties", "Set",
                      GLib.Variant("(ssv)", (twtest.READER, "CardPresent",
                                             GLib.Variant("b", True))))
        with self.assertRaises(GLib.Error):
            self.call(ROOT, "org.freedesktop.DBus.Properties", "Get",
                      GLib.Variant("(ss)", (MANAGER, "NoSuchProperty")), "(v)")
        with self.assertRaises(GLib.Error):
            self.call(ROOT + "/readers/nothing_here", "org.freedesktop.DBus.Properties",
                      "GetAll", GLib.Variant("(s)", (twtest.READER,)), "(a{sv})")
        # a flood of calls
        for _ in range(500):
            self.conn.call(BUS_NAME, ROOT, MANAGER, "Refresh", None, None,
                           Gio.DBusCallFlags.NONE, 5000, None, None)
        self.pump(1)
        self.assertTrue(d.proc.running)
        self.assertEqual(len(self.readers()), 4)
        self.assertTrue(self.manager_prop("PcscAvailable"))
        card = self.card(0).insert()
        self.wait_signal("CardInserted", path)
        card.remove()


class TestOddReaderNames(twtest.TokenwatchTestCase):
    """Reader names as drivers give them: Latin-1 bytes and a control
    character, and a name pcscd cuts at its limit of 127 bytes."""
    FRIENDLY_NAMES = [b"\xc8te\xe8ka \x01caf\xe9", "Čtečka ".encode() * 40]

    def test_odd_names(self):
        self.start_daemon()
        readers = self.wait_readers(4)
        expected = {"\ufffdte\ufffdka  caf\ufffd 00 00", "\ufffdte\ufffdka  caf\ufffd 00 01"}
        self.assertTrue(expected <= set(readers), readers.keys())
        paths = {r["path"] for r in readers.values()}
        self.assertEqual(len(paths), 4)
        for name, r in readers.items():
            self.assertTrue(GLib.Variant.is_object_path(r["path"]))
            self.assertLessEqual(len(name.encode()), 3 * 127)
        # the long one: pcscd cut a multi-byte character in half; the rest is kept
        long_names = [n for n in readers if n.startswith("Čtečka")]
        self.assertEqual(len(long_names), 2)
        for n in long_names:
            self.assertTrue(n.endswith((" 00 00", " 00 01")))
        # events on them as on any reader
        card = self.card(0).insert()
        self.wait_signal("CardInserted", readers[sorted(expected)[0]]["path"])
        card.remove()
        card = self.card(3).insert()
        self.wait_signal("CardInserted")
        j = json.loads(self.ctl("--json", "readers").stdout)
        self.assertEqual({r["name"] for r in j["readers"]}, set(readers))
        card.remove()


class TestCli(twtest.TokenwatchTestCase):

    def test_status_text_and_json(self):
        self.start_daemon()
        self.wait_readers(4)
        card = self.card(3).insert()
        self.wait_signal("CardInserted")
        # a card with no certificate: OpenSC still shows a token
        self.wait_signal("TokenAdded", timeout=20)
        r = self.ctl("status")
        self.assertIn("0.1.0", r.stdout)
        j = json.loads(self.ctl("--json", "status").stdout)
        self.assertEqual(j, {"version": "0.1.0", "pcsc_available": True, "readers": 4,
                             "cards": 1, "tokens": 1, "tokens_present": 1,
                             "tokens_remembered": 0, "certificates": 0})
        card.remove()

    def test_readers_text_and_json(self):
        self.start_daemon()
        readers = self.wait_readers(4)
        card = self.card(0).insert()
        self.wait_signal("CardInserted")
        text = self.ctl("readers").stdout
        for name in self.pcscd.reader_names:
            self.assertIn(name, text)
        self.assertIn(card.atr.hex().upper(), text)
        j = json.loads(self.ctl("readers", "--json").stdout)
        by_name = {r["name"]: r for r in j["readers"]}
        self.assertEqual(sorted(by_name), sorted(self.pcscd.reader_names))
        first = by_name[self.pcscd.reader_names[0]]
        self.assertEqual(first["object_path"], readers[self.pcscd.reader_names[0]]["path"])
        self.assertTrue(first["card_present"])
        self.assertEqual(first["card_state"], "present")
        self.assertEqual(first["atr"], card.atr.hex().upper())
        self.assertEqual(first["event_count"], 1)
        self.assertFalse(by_name[self.pcscd.reader_names[1]]["card_present"])

    def test_monitor(self):
        self.start_daemon()
        self.wait_readers(4)
        log = open(os.path.join(self.workdir, "monitor.out"), "w+")
        mon = subprocess.Popen([twtest.tool("TOKENWATCHCTL"), "--session", "--json", "monitor"],
                               env=self.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            time.sleep(0.5)
            card = self.card(2).insert()
            self.wait_signal("CardInserted")
            card.remove()
            self.wait_signal("CardRemoved")
            self.pcscd.kill()
            self.wait_until(lambda: not self.manager_prop("PcscAvailable"), 10, "pcscd gone")
            self.pump(0.5)
        finally:
            mon.send_signal(signal.SIGINT)
            rc = mon.wait(10)
        self.assertEqual(rc, 0)
        log.seek(0)
        events = [json.loads(line) for line in log.read().splitlines() if line.strip()]
        kinds = [e["event"] for e in events]
        self.assertIn("card-inserted", kinds)
        self.assertIn("card-removed", kinds)
        self.assertLess(kinds.index("card-inserted"), kinds.index("card-removed"))
        ins = events[kinds.index("card-inserted")]
        self.assertEqual(ins["reader"], self.pcscd.reader_names[2])
        self.assertEqual(ins["atr"], card.atr.hex().upper())
        self.assertEqual(kinds.count("reader-removed"), 4)
        self.assertIn("pcsc-available", kinds)

    def test_exit_codes(self):
        # no daemon on the bus: error
        r = self.ctl("status", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not running", r.stderr)
        r = self.ctl("no-such-command", check=False)
        self.assertEqual(r.returncode, 2)
        r = self.ctl("--no-such-option", "status", check=False)
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    twtest.main()
