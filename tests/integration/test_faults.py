#!/usr/bin/python3
"""Faults, each a test: what pcscd, a reader, the disk, a D-Bus client, a
huge token or the clock can do to tokenwatchd. Every test ends with the
daemon stopped by SIGTERM and exiting 0 (the base class checks), after it
showed that it kept serving, said what went wrong where it belongs, lost
nothing, and recovered.

Covered elsewhere, not repeated here: a card pulled during a read
(test_tokens.py), pcscd killed between reads (test_daemon.py), bad calls
and a flood of 500 from one client (test_daemon.py), SIGKILL while writing,
a state directory that is a file, and the clock jumping forward
(test_tracking.py)."""

import datetime
import os
import shutil
import subprocess
import tempfile
import time

import twtest
from twtest import BUS_NAME, MANAGER, ROOT, Gio, GLib
from twtestbed import mountns, procs
from twtestbed.p11write import P11Writer

TOKEN = twtest.IFACE + ".Token"
CERTIFICATE = twtest.IFACE + ".Certificate"
SOFTHSM = "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"
MB = 1024 * 1024
DAY = 86400
HOUR = 3600


def fixture(name):
    d = os.environ.get("TW_CERT_FIXTURES")
    if not d:
        raise twtest.unittest.SkipTest("TW_CERT_FIXTURES is not set")
    with open(os.path.join(d, name + ".der"), "rb") as f:
        return f.read()


# eight certificates: a read of them by a slow card takes a few seconds
SLOW_CARD = {"9a": "personal-ncp-plus", "9c": "qualified-esign-qscd",
             "9d": "qualified-esign", "9e": "qualified-eseal-qscd",
             "82": "qualified-eseal", "83": "qualified-web", "84": "ca",
             "85": "other-ncp-legal-person"}


class TmpfsStateDaemon(twtest.Daemon):
    """tokenwatchd in a mount namespace of its own, where its state
    directory is a tmpfs of `size` (twtestbed.mountns)."""

    def __init__(self, workdir, env, args, name, state_dir, size):
        self.name = name
        self.notify = twtest.NotifySocket(os.path.join(workdir, name + ".notify"))
        env = dict(env, NOTIFY_SOCKET=self.notify.path)
        wrapper = os.environ.get("TOKENWATCHD_WRAPPER", "").split()
        self.proc = procs.Proc([procs.PYTHON, mountns.__file__, "--tmpfs",
                                "%s:%s" % (state_dir, size), "--"] + wrapper +
                               [twtest.tool("TOKENWATCHD"), "--session", "-v"] + list(args),
                               os.path.join(workdir, name + ".log"), env=env)


def dbus_error_name(error):
    return Gio.DBusError.get_remote_error(error) or error.message


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class FaultsTestCase(twtest.TokenwatchTestCase):

    def tokens(self):
        return self.objects(TOKEN)

    def certificates(self):
        return self.objects(CERTIFICATE)

    def slow_card(self, index, delay=0.02):
        """A card whose read takes a while (delay per APDU), not inserted."""
        card = self.card(index, certificates={s: fixture(n) for s, n in SLOW_CARD.items()})
        card.apdu_delay = delay
        return card

    def start_daemon_tmpfs_state(self, size="64k"):
        """tokenwatchd whose state directory is a small tmpfs of its own."""
        os.makedirs(self.state_dir)
        d = TmpfsStateDaemon(self.workdir, self.env, twtest.DEFAULT_P11_ARGS, "tokenwatchd",
                             self.state_dir, size)
        self.daemons.append(d)
        self.addCleanup(self._stop_daemon, d)
        self.wait_until(lambda: "1" in d.notify.assignments("READY") or not d.proc.running,
                        10, "READY=1 from tokenwatchd")
        self.assertTrue(d.proc.running, d.log())
        return d

    def make_softhsm(self):
        """A SoftHSM token "Testbed HSM" with two certificates
        (tests/p11/make-softhsm.sh); the daemon's environment points at it.
        In /dev/shm if there is one: SoftHSM rewrites its files per object,
        and on ext4 each rewrite waits for the disk (100 objects: 6 s, not
        0.1 s)."""
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else self.workdir
        d = tempfile.mkdtemp(prefix="tw-softhsm-", dir=shm)
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        subprocess.run(["bash", os.environ["TW_P11_MAKE_SOFTHSM"], d], check=True,
                       capture_output=True)
        self.env["SOFTHSM2_CONF"] = os.path.join(d, "softhsm2.conf")
        # P11Writer loads SoftHSM here, in the test's process
        old = os.environ.get("SOFTHSM2_CONF")
        os.environ["SOFTHSM2_CONF"] = self.env["SOFTHSM2_CONF"]
        self.addCleanup(lambda: os.environ.pop("SOFTHSM2_CONF") if old is None
                        else os.environ.update(SOFTHSM2_CONF=old))
        return d

    def make_certs(self, n, extension_bytes=0):
        """`n` self-signed certificates (DER), CN "Cert 000".., valid for a
        year and more; each with an extension of `extension_bytes` if given."""
        d = os.path.join(self.workdir, "many-certs")
        os.makedirs(d, exist_ok=True)
        key = os.path.join(d, "key.pem")
        if not os.path.exists(key):
            subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-out", key], check=True,
                           capture_output=True)
        config = os.path.join(d, "openssl.cnf")
        with open(config, "w") as f:
            f.write("[req]\ndistinguished_name = dn\n[dn]\n[ext]\n")
            if extension_bytes:
                # an opaque private extension: an OCTET STRING that big
                f.write("1.3.6.1.4.1.99999.1 = DER:04%s\n" % (
                    "83" + extension_bytes.to_bytes(3, "big").hex() + "ab" * extension_bytes))
            else:
                f.write("subjectKeyIdentifier = hash\n")
        ders = []
        for i in range(n):
            out = os.path.join(d, "cert-%03d-%d.der" % (i, extension_bytes))
            subprocess.run(["openssl", "req", "-x509", "-key", key, "-config", config,
                            "-extensions", "ext", "-subj", "/CN=Cert %03d" % i,
                            "-set_serial", str(1000 * extension_bytes + i + 1),
                            "-days", str(400 + i), "-outform", "DER", "-out", out],
                           check=True, capture_output=True)
            with open(out, "rb") as f:
                ders.append(f.read())
        return ders

    def daemon_memory_kb(self, d, field="VmHWM"):
        with open("/proc/%d/status" % d.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def certificates_written(self):
        d = os.path.join(self.state_dir, "certificates")
        return len(os.listdir(d)) if os.path.isdir(d) else 0

    def state_files(self, d):
        """{"tokens/ID.token": keyfile text, ...} as the daemon sees its state"""
        root = mountns.path_in(d.proc.pid, self.state_dir)
        out = {}
        for kind in ("tokens", "certificates"):
            sub = os.path.join(root, kind)
            for name in sorted(os.listdir(sub)) if os.path.isdir(sub) else []:
                with open(os.path.join(sub, name)) as f:
                    out[kind + "/" + name] = f.read()
        return out

    def assert_state_matches(self, files):
        """The state files hold every token and certificate the daemon
        shows now, whole, and nothing else."""
        tokens = self.tokens()
        certs = self.certificates()
        expect = {"tokens/%s.token" % p.rsplit("/", 1)[1] for p in tokens}
        expect |= {"certificates/%s.cert" % p.rsplit("/", 1)[1] for p in certs}
        self.assertEqual(set(files), expect)
        for path, token in tokens.items():
            text = files["tokens/%s.token" % path.rsplit("/", 1)[1]]
            kf = GLib.KeyFile()
            kf.load_from_data(text, len(text.encode()), GLib.KeyFileFlags.NONE)
            self.assertEqual(kf.get_integer("store", "version"), 1)
            self.assertEqual(sorted(kf.get_string_list("token", "certificates")),
                             sorted(c.rsplit("/", 1)[1] for c in token["Certificates"]))

    def log_count(self, d, text):
        return d.log().count(text)

    def call_error(self, path, iface, method, args, reply=None):
        """The D-Bus error name a call must end with (fails if it succeeds)."""
        with self.assertRaises(GLib.Error) as cm:
            self.conn.call_sync(BUS_NAME, path, iface, method, args,
                                GLib.VariantType(reply) if reply else None,
                                Gio.DBusCallFlags.NONE, int(20000 * twtest.TIME_SCALE), None)
        return dbus_error_name(cm.exception)

    def start_daemon_slow_softhsm(self, ms):
        """tokenwatchd reading the SoftHSM token through the recording
        module, which makes every C_GetAttributeValue take `ms` more (until
        set_p11_delay(0))."""
        recorder = os.environ.get("TW_P11_RECORDER")
        if not recorder:
            raise twtest.unittest.SkipTest("TW_P11_RECORDER is not set")
        self.env["TW_P11_RECORDER_TARGET"] = SOFTHSM
        self.env["TW_P11_RECORDER_FAULT_FILE"] = os.path.join(self.workdir, "p11-faults")
        self.set_p11_delay(ms)
        return self.start_daemon(p11_args=["--no-p11-kit", "--pkcs11-module", recorder])

    def set_p11_delay(self, ms):
        with open(self.env["TW_P11_RECORDER_FAULT_FILE"], "w") as f:
            f.write("hang:C_GetAttributeValue:%d\n" % ms if ms else "")

    def serve_until_token_added(self, d, n=1):
        """Calls the daemon again and again until the n-th TokenAdded.
        Calls made while the module is read must be answered within 0.5 s,
        the one that waits for the result to be taken in (a few ms here,
        seconds under valgrind) within 3 s (x TIME_SCALE). Returns how many
        calls were made during the read."""
        during = 0
        end = time.monotonic() + 30 * twtest.TIME_SCALE
        while self.count("TokenAdded") < n:
            self.assertLess(time.monotonic(), end, "no TokenAdded after 30 s")
            reading = "read 2 tokens in" not in d.log()
            start = time.monotonic()
            self.assertEqual(self.manager_prop("Version"), "0.1.0")
            self.managed_objects()
            took = time.monotonic() - start
            if reading and "read 2 tokens in" not in d.log():
                self.assertLess(took, 0.5 * twtest.TIME_SCALE, "a call during the read")
                during += 1
            else:
                self.assertLess(took, 3 * twtest.TIME_SCALE, "a call as the read ends")
            self.pump(0.05)
        return during

    def instrumented(self, d):
        """Under valgrind or ASan, memory figures say nothing."""
        if os.environ.get("TOKENWATCHD_WRAPPER"):
            return True
        with open("/proc/%d/maps" % d.proc.pid) as f:
            return "libasan" in f.read()

    def wait_reading(self, card, apdus=15):
        """Until the daemon is in the middle of reading `card`."""
        start = card.apdu_count
        self.wait_until(lambda: card.apdu_count > start + apdus, 20,
                        "the daemon reading the card")


class TestFaults(FaultsTestCase):

    def test_pcscd_killed_during_read(self):
        """pcscd dies while a slow card is read, early in the read and late:
        the read ends, the readers go, the token read before stays known
        (absent), D-Bus is served; with pcscd back, both cards are read."""
        d = self.start_daemon()
        self.wait_readers(4)
        known = self.card(0, certificates={"9a": fixture("personal-ncp-plus")}).insert()
        self.wait_signal("TokenAdded", timeout=20)
        (known_path,) = self.tokens()
        slow = self.slow_card(1)
        for round_, apdus in enumerate((5, 40)):
            slow.insert()
            self.wait_reading(slow, apdus)
            self.pcscd.kill()
            self.wait_until(lambda: not self.manager_prop("PcscAvailable"), 10,
                            "PcscAvailable=false")
            self.assertEqual(self.readers(), {})
            self.wait_status(d, "pcscd not available")
            # the read of the slow card left nothing half-made behind
            tokens = self.tokens()
            self.assertEqual(list(tokens), [known_path])
            self.assertFalse(tokens[known_path]["Present"])
            self.assertEqual(len(tokens[known_path]["Certificates"]), 1)
            self.assertEqual(len(self.certificates()), 1)
            self.pcscd.start()
            self.wait_readers(4, timeout=15)
            n = self.count("TokenAdded")
            # the card connections died with pcscd: both cards go in again
            self.wait_until(lambda: not known.inserted, 5, "the reader to drop the card")
            known.insert(port=self.pcscd.port_for(0))
            self.wait_signal("TokenAdded", known_path, n=round_ + 2, timeout=20)
            self.assertEqual(list(self.tokens()), [known_path])
            slow.remove()
        self.assertIn("lost pcscd", d.log())
        # what was being read is read in full once pcscd is back
        slow.apdu_delay = 0
        slow.insert(port=self.pcscd.port_for(1))
        self.wait_signal("TokenAdded", n=n + 2, timeout=20)
        tokens = self.tokens()
        self.assertEqual(len(tokens), 2)
        (slow_path,) = set(tokens) - {known_path}
        self.assertEqual(tokens[slow_path]["Error"], "")
        self.assertEqual(tokens[slow_path]["SerialNumber"], slow.pkcs11_serial)
        self.assertEqual(len(tokens[slow_path]["Certificates"]), len(SLOW_CARD))
        self.assertTrue(tokens[known_path]["Present"])
        self.assertEqual(tokens[known_path]["Error"], "")

    def test_reader_vanishes_during_read(self):
        """The reader a slow card is being read in goes away (vpcd readers
        are fixed by pcscd's configuration: pcscd restarts without it). The
        other readers come back and serve, the token known there is the
        same, nothing half-read stays; when the reader is back, its card is
        read in full."""
        d = self.start_daemon()
        readers = self.wait_readers(4)
        gone_name = self.pcscd.reader_names[2]
        gone_path = readers[gone_name]["path"]
        known = self.card(0, certificates={"9a": fixture("personal-ncp-plus")}).insert()
        self.wait_signal("TokenAdded", timeout=20)
        (known_path,) = self.tokens()
        slow = self.slow_card(2)
        slow.insert()
        self.wait_signal("CardInserted", gone_path)
        self.wait_reading(slow)
        self.pcscd.restart(entries=1)
        readers = self.wait_readers(2, timeout=15)
        self.assertNotIn(gone_name, readers)
        self.assertIn(("ReaderRemoved", (gone_path,)), self.signals)
        self.assertEqual(list(self.tokens()), [known_path])
        self.assertEqual(len(self.certificates()), 1)
        # the readers that stayed serve: the known card is read again, a new one too
        self.wait_until(lambda: not known.inserted, 5, "the reader to drop the card")
        known.insert(port=self.pcscd.port_for(0))
        self.wait_signal("TokenAdded", known_path, n=2, timeout=20)
        other = self.card(1, certificates={"9c": fixture("qualified-esign")}).insert()
        self.wait_signal("TokenAdded", n=3, timeout=20)
        self.assertEqual(len(self.tokens()), 2)
        self.assertTrue(all(t["Error"] == "" for t in self.tokens().values()))
        self.assertTrue(d.proc.running)
        # the reader comes back; its card is read in full
        slow.remove()
        known.remove()
        other.remove()
        self.pcscd.restart(entries=2)
        readers = self.wait_readers(4, timeout=15)
        self.assertEqual(readers[gone_name]["path"], gone_path)
        slow.apdu_delay = 0
        slow.insert(port=self.pcscd.port_for(2))
        self.wait_signal("TokenAdded", n=4, timeout=20)
        tokens = self.tokens()
        self.assertEqual(len(tokens), 3)
        (slow_path,) = [p for p, t in tokens.items() if t["SerialNumber"] == slow.pkcs11_serial]
        self.assertEqual(tokens[slow_path]["Reader"], gone_path)
        self.assertEqual(tokens[slow_path]["Error"], "")
        self.assertEqual(len(tokens[slow_path]["Certificates"]), len(SLOW_CARD))

    def test_state_read_only(self):
        """The state directory turns read-only: a token seen and one
        forgotten meanwhile are served from memory, the failure is a warning
        once, retried with backoff (no spinning); once writable, the state is
        written again, and a restart from it loses nothing."""
        d = self.start_daemon_tmpfs_state()
        self.wait_readers(4)
        first = self.card(0, certificates={"9a": fixture("personal-ncp-plus")}).insert()
        self.wait_signal("TokenAdded", timeout=20)
        (first_path,) = self.tokens()
        self.wait_until(lambda: len(self.state_files(d)) == 2, 10, "the state written")
        first.remove()
        self.wait_signal("TokenRemoved", first_path)
        mountns.remount(d.proc.pid, self.state_dir, "ro")
        # changes while it cannot write: a new token, one forgotten
        card = self.card(1, certificates={"9c": fixture("qualified-esign-qscd"),
                                          "9d": fixture("qualified-esign")}).insert()
        self.wait_signal("TokenAdded", n=2, timeout=20)
        self.call(ROOT, MANAGER, "Forget", GLib.Variant("(o)", (first_path,)))
        self.wait_signal("CertificateRemoved")
        self.wait_until(lambda: "Read-only file system" in d.log(), 10, "a warning")
        self.assertIn("cannot write the state", d.log())
        # retried, with backoff, and the warning not repeated
        self.wait_until(lambda: "still cannot write" in d.log(), 10, "a retry")
        cpu = cpu_seconds(d.proc.pid)
        time.sleep(1)
        self.assertLess(cpu_seconds(d.proc.pid) - cpu, 0.2 * twtest.TIME_SCALE,
                        "busy while the state is read-only")
        self.assertEqual(self.log_count(d, "cannot write the state:"), 1)
        self.assertEqual(len(self.tokens()), 1)
        self.assertEqual(len(self.certificates()), 2)
        self.assertEqual(len(self.state_files(d)), 2)  # the old state, untouched
        mountns.remount(d.proc.pid, self.state_dir, "rw")
        self.wait_until(lambda: "state written again" in d.log(), 10 + 4, "the state written")
        files = self.state_files(d)
        self.assert_state_matches(files)
        # a daemon started from that state has it all
        self.assertEqual(d.stop(), 0)
        self.signals.clear()
        self.state_dir = os.path.join(self.workdir, "state-copy")
        for name, text in files.items():
            os.makedirs(os.path.join(self.state_dir, os.path.dirname(name)), exist_ok=True)
            with open(os.path.join(self.state_dir, name), "w") as f:
                f.write(text)
        self.env["STATE_DIRECTORY"] = self.state_dir
        self.start_daemon(name="tokenwatchd-2")
        tokens = self.tokens()
        self.assertEqual(len(tokens), 1)
        self.assertEqual(len(next(iter(tokens.values()))["Certificates"]), 2)
        self.assertEqual(len(self.certificates()), 2)
        card.remove()

    def test_state_full(self):
        """The state directory is full (a 64 kB tmpfs): tokens are read and
        served all the same, the failure is a warning once, no half-written
        file is left behind, nothing spins; with space back, everything is
        written."""
        d = self.start_daemon_tmpfs_state("64k")
        self.wait_readers(4)
        filler = os.path.join(mountns.path_in(d.proc.pid, self.state_dir), "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as e:
            self.assertEqual(e.errno, 28)  # ENOSPC
        finally:
            os.close(fd)
        card = self.card(0, certificates={s: fixture(n) for s, n in SLOW_CARD.items()}).insert()
        self.wait_signal("TokenAdded", timeout=20)
        self.wait_until(lambda: "No space left on device" in d.log(), 10, "a warning")
        self.wait_until(lambda: "still cannot write" in d.log(), 10, "a retry")
        cpu = cpu_seconds(d.proc.pid)
        time.sleep(1)
        self.assertLess(cpu_seconds(d.proc.pid) - cpu, 0.2 * twtest.TIME_SCALE,
                        "busy while the state directory is full")
        self.assertEqual(self.log_count(d, "cannot write the state:"), 1)
        # served from memory; on disk nothing, not even a temporary file (a
        # retry's temporary file exists for a moment, until its write fails:
        # none may stay)
        token = next(iter(self.tokens().values()))
        self.assertEqual(len(token["Certificates"]), len(SLOW_CARD))
        root = mountns.path_in(d.proc.pid, self.state_dir)
        self.wait_until(lambda: self.state_files(d) == {} and
                        [f for _, _, fs in os.walk(root) for f in fs] == ["filler"],
                        5 * twtest.TIME_SCALE, "no file but the filler")
        # space again
        os.unlink(filler)
        self.wait_until(lambda: "state written again" in d.log(), 10 + 4, "the state written")
        self.assert_state_matches(self.state_files(d))
        card.remove()
        self.wait_signal("TokenRemoved")

    def test_oversized_and_invalid_arguments(self):
        """Forget with a 1 MB object path, paths that name no token, the
        wrong types, a huge array, 1 MB property and interface names: each
        call gets its error, nothing is forgotten, the daemon serves on."""
        d = self.start_daemon()
        self.wait_readers(4)
        card = self.card(0, certificates={"9a": fixture("personal-ncp-plus")}).insert()
        self.wait_signal("TokenAdded", timeout=20)
        (token_path,) = self.tokens()
        (cert_path,) = self.certificates()
        reader_path = self.reader_path(0)
        mb = 1024 * 1024
        not_found = "io.github.tokenwatch.TokenWatch1.Error.NotFound"
        invalid_args = "org.freedesktop.DBus.Error.InvalidArgs"
        for path in ["/" + "a/" * (mb // 2 - 1) + "a",             # 1 MB
                     ROOT + "/tokens/" + "f" * mb,
                     ROOT + "/tokens/" + "\u00e9".encode().hex() * 8,
                     "/", ROOT, ROOT + "/tokens", reader_path, cert_path,
                     token_path + "/x", token_path + "_", ROOT + "/tokens/_"]:
            self.assertEqual(self.call_error(ROOT, MANAGER, "Forget",
                                             GLib.Variant("(o)", (path,))), not_found,
                             path[:80])
        wrong = [GLib.Variant("(s)", ("x" * mb,)), GLib.Variant("(s)", (token_path,)),
                 GLib.Variant("(i)", (7,)), GLib.Variant("()", ()),
                 GLib.Variant("(oo)", (token_path, token_path)),
                 GLib.Variant("(ao)", ([token_path] * 100000,)),     # 6 MB
                 GLib.Variant("(ay)", (b"\xff" * mb,)),
                 GLib.Variant("(v)", (GLib.Variant("o", token_path),))]
        for args in wrong:
            self.assertEqual(self.call_error(ROOT, MANAGER, "Forget", args), invalid_args,
                             args.get_type_string())
        self.assertEqual(self.call_error(cert_path, CERTIFICATE, "GetDer",
                                         GLib.Variant("(s)", ("x" * mb,))), invalid_args)
        props = "org.freedesktop.DBus.Properties"
        for args in [("x" * mb, "Version"), (MANAGER, "x" * mb), ("", ""),
                     ("x" * mb, "x" * mb)]:
            self.assertTrue(self.call_error(ROOT, props, "Get", GLib.Variant("(ss)", args))
                            .startswith("org.freedesktop.DBus.Error."))
        self.assertTrue(self.call_error(token_path, props, "GetAll",
                                        GLib.Variant("(s)", ("x" * mb,)))
                        .startswith("org.freedesktop.DBus.Error."))
        self.assertTrue(self.call_error(token_path, props, "Set",
                                        GLib.Variant("(ssv)", (TOKEN, "Label",
                                                               GLib.Variant("s", "x" * mb))))
                        .startswith("org.freedesktop.DBus.Error."))
        self.assertTrue(self.call_error("/" + "a/" * (mb // 2 - 1) + "a", MANAGER, "Refresh",
                                        None).startswith("org.freedesktop.DBus.Error."))
        # nothing was forgotten, everything still answers
        self.assertEqual(list(self.tokens()), [token_path])
        self.assertEqual(list(self.certificates()), [cert_path])
        self.assertEqual(bytes(self.call(cert_path, CERTIFICATE, "GetDer", reply="(ay)")[0]),
                         fixture("personal-ncp-plus"))
        self.assertNotIn("forgotten", d.log())
        self.assertTrue(d.proc.running)
        card.remove()
        self.wait_signal("TokenRemoved", token_path)
        self.card(3).insert()
        self.wait_signal("CardInserted", self.reader_path(3))
        # and a real Forget still works
        self.call(ROOT, MANAGER, "Forget", GLib.Variant("(o)", (token_path,)))
        self.wait_signal("CertificateRemoved", cert_path)

    def test_flood_from_clients_while_cards_move(self):
        """Four clients flood the daemon with calls, good and bad (up to 400
        unanswered at any time), while cards go in and out of every reader:
        every call is answered (a result or its error, no time-out), every
        card event is signalled, in the middle of the flood."""
        self.start_daemon()
        readers = self.wait_readers(4)
        paths = [readers[n]["path"] for n in self.pcscd.reader_names]
        cards = [self.card(i, certificates={"9a": fixture("personal-ncp-plus")} if i == 0
                           else None) for i in range(4)]
        cards[0].insert()
        self.wait_signal("TokenAdded", timeout=20)
        (token_path,) = self.tokens()
        (cert_path,) = self.certificates()
        props = "org.freedesktop.DBus.Properties"
        calls = [
            (ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", None, None),
            (ROOT, props, "GetAll", GLib.Variant("(s)", (MANAGER,)), None),
            (ROOT, MANAGER, "Refresh", None, None),
            (ROOT, MANAGER, "Forget", GLib.Variant("(o)", (ROOT + "/tokens/0000000000000000",)),
             "io.github.tokenwatch.TokenWatch1.Error.NotFound"),
            (ROOT, MANAGER, "Forget", GLib.Variant("(s)", ("x" * 4096,)),
             "org.freedesktop.DBus.Error.InvalidArgs"),
            (cert_path, CERTIFICATE, "GetPem", None, None),
            (token_path, props, "Get", GLib.Variant("(ss)", (TOKEN, "NoSuchProperty")),
             "org.freedesktop.DBus.Error.InvalidArgs"),
            (paths[1], "org.freedesktop.DBus.Introspectable", "Introspect", None, None),
        ]
        clients = []
        for _ in range(4):
            conn = Gio.DBusConnection.new_for_address_sync(
                self.bus.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
            self.addCleanup(conn.close_sync, None)
            clients.append(conn)
        answers = []  # (expected error or None, error name or None)

        def done(conn, res, expected):
            try:
                conn.call_finish(res)
                answers.append((expected, None))
            except GLib.Error as e:
                answers.append((expected, dbus_error_name(e)))

        sent = [0]
        # calls still unanswered when each card event came
        overlap = []
        self.conn.signal_subscribe(
            None, MANAGER, None, ROOT, None, Gio.DBusSignalFlags.NONE,
            lambda *a: overlap.append(sent[0] - len(answers)) if a[4].startswith("Card") else None)

        def burst():
            # a steady stream, at most 400 calls in flight
            if sent[0] - len(answers) < 400:
                for conn in clients:
                    for path, iface, method, args, expected in calls:
                        conn.call(BUS_NAME, path, iface, method, args, None,
                                  Gio.DBusCallFlags.NONE, int(60000 * twtest.TIME_SCALE), None,
                                  done, expected)
                        sent[0] += 1
            return GLib.SOURCE_CONTINUE

        stream = GLib.timeout_add(10, burst)
        # cards out and in, in every reader, in the middle of the stream
        for cycle in range(2):
            for i, card in enumerate(cards):
                if card.inserted:
                    n = self.count("CardRemoved", paths[i])
                    card.remove()
                    self.wait_signal("CardRemoved", paths[i], n=n + 1)
                n = self.count("CardInserted", paths[i])
                card.insert()
                self.wait_signal("CardInserted", paths[i], n=n + 1)
        GLib.source_remove(stream)
        n_calls = sent[0]
        self.wait_until(lambda: len(answers) == n_calls, 60, "%d answers" % n_calls)
        # the events came while the daemon had calls to answer
        self.assertEqual(len(overlap), 13)
        self.assertGreater(sum(1 for n in overlap if n > 0), len(overlap) // 2, overlap)
        wrong = [a for a in answers if a[0] != a[1]]
        self.assertEqual(wrong[:5], [], "%d of %d calls answered wrongly" % (len(wrong), n_calls))
        self.assertEqual(self.count("CardRemoved"), 5)
        self.assertEqual(self.count("CardInserted"), 9)
        # the token came back each time it went in, and is present now
        self.wait_signal("TokenAdded", token_path, n=3, timeout=20)
        self.assertTrue(self.tokens()[token_path]["Present"])
        for card in cards:
            card.remove()

    def test_hundred_certificates(self):
        """A token with 102 certificates, read slowly (15 ms per attribute
        call): all read within the time limit, D-Bus answered promptly all
        along, all of it written to the state."""
        self.make_softhsm()
        ders = self.make_certs(100)
        with P11Writer(SOFTHSM, "Testbed HSM", "123456") as token:
            for i, der in enumerate(ders):
                token.add_certificate(der, bytes([0x10, i]), "cert %03d" % i)
        d = self.start_daemon_slow_softhsm(15)
        self.assertGreater(self.serve_until_token_added(d), 10)  # the read took a while
        (path, token), = self.tokens().items()
        self.assertEqual(token["Error"], "")
        self.assertEqual(len(token["Certificates"]), 102)
        certs = self.certificates()
        self.assertEqual({c["CommonName"] for c in certs.values()},
                         {"Cert %03d" % i for i in range(100)} | {"Testbed Auth", "Testbed Sign"})
        self.assertTrue(all(c["Token"] == path and c["Error"] == "" for c in certs.values()))
        self.wait_until(lambda: self.certificates_written() == 102, 10,
                        "102 certificates written")
        self.assertTrue(d.proc.running)

    def test_ten_megabytes_of_objects(self):
        """A token with ten 1 MB certificates, one of them over the limit of
        an attribute (1 MiB), and 10 MB of data objects: read while D-Bus is
        answered; the nine are read, the tenth is a clear Token.Error; memory
        stays flat over re-reads; all of it is remembered across a restart
        (records of 1.4 MB: the store used to move them aside as broken)."""
        self.make_softhsm()
        ders = self.make_certs(9, 1000000) + self.make_certs(1, 1100000)
        with P11Writer(SOFTHSM, "Testbed HSM", "123456") as token:
            for i, der in enumerate(ders):
                token.add_certificate(der, bytes([0x20, i]), "big %d" % i)
            for i in range(10):
                token.add_data(os.urandom(MB), "data %d" % i)
        d = self.start_daemon_slow_softhsm(50)
        start_kb = self.daemon_memory_kb(d)
        self.assertGreater(self.serve_until_token_added(d), 5)
        (path, token), = self.tokens().items()
        self.assertTrue(token["Error"].startswith("1 object(s) could not be read whole"),
                        token["Error"])
        self.assertIn("CKA_VALUE: a length of %d bytes is absurd" % len(ders[-1]),
                      token["Error"])
        self.assertIn(token["Error"], d.log())
        # the nine whole, and the one not read (no DER, says so)
        self.assertEqual(len(token["Certificates"]), 2 + 9 + 1)
        certs = self.certificates()
        big = {c["CommonName"]: p for p, c in certs.items() if c["CommonName"].startswith("Cert")}
        self.assertEqual(sorted(big), ["Cert %03d" % i for i in range(9)])
        self.assertEqual(bytes(self.call(big["Cert 004"], CERTIFICATE, "GetDer",
                                         reply="(ay)")[0]), ders[4])
        (unread,) = [c for c in certs.values() if c["CommonName"] == ""]
        self.assertNotEqual(unread["Error"], "")
        # all of it written
        self.wait_until(lambda: self.certificates_written() == 12, 10,
                        "12 certificates written")
        # re-read six times, at full speed: memory does not grow with the reads
        # (a read that kept its 10 MB would add 60 MB; the peak wanders by a
        # few MB as reads and writes of the state overlap)
        first_kb = self.daemon_memory_kb(d)
        self.set_p11_delay(0)
        reads = d.log().count("read 2 tokens in")
        for i in range(6):
            self.call(ROOT, MANAGER, "Refresh")
            self.wait_until(lambda: d.log().count("read 2 tokens in") > reads + i, 20,
                            "the re-read")
        if not self.instrumented(d):
            self.assertLess(first_kb - start_kb, 100 * 1024, "memory for a 10 MB token")
            self.assertLess(self.daemon_memory_kb(d) - first_kb, 20 * 1024,
                            "memory growing with the reads")
        # and read back whole
        self.assertEqual(d.stop(), 0)
        d = self.start_daemon(p11_args=["--no-p11-kit", "--pkcs11-module", SOFTHSM],
                              name="tokenwatchd-2")
        self.assertIn("1 tokens and 12 certificates remembered", d.log())
        self.assertNotIn("broken", d.log())

    def test_clock_set_back_a_year(self):
        """The clock goes back a year, and forward again: while back, days
        left and status follow it (not yet valid), a token read then is
        read, and nothing is announced; once forward, what was announced
        is not repeated and what is newly due is announced, once."""
        from twtestbed.certs import CertFactory
        certs = CertFactory(os.path.join(self.workdir, "certs"))  # times to the second

        def leaf(cn, seconds):
            return certs.leaf(cn, key="ec256",
                              not_after=datetime.timedelta(seconds=seconds)).der

        d = self.start_daemon()
        self.wait_readers(4)
        self.card(0, certificates={"9a": leaf("ten days", 10 * DAY + HOUR),
                                   "9c": leaf("forty days", 40 * DAY + HOUR)}).insert()
        self.wait_signal("ExpiryWarning", n=2, timeout=20)

        def cert(cn):
            (c,) = [c for c in self.certificates().values() if c["CommonName"] == cn]
            return c

        def warnings():
            names = {p: c["CommonName"] for p, c in self.certificates().items()}
            return sorted((names[a[0]], a[1], a[2]) for m, a in self.signals
                          if m == "ExpiryWarning")

        self.assertEqual(warnings(), [("forty days", 40, "info"), ("ten days", 10, "warning")])
        self.move_clock(-365 * DAY)
        self.wait_until(lambda: cert("ten days")["DaysLeft"] == 375, 10, "the clock back")
        self.assertEqual(cert("ten days")["Status"], "not-yet-valid")
        self.assertEqual(cert("forty days")["DaysLeft"], 405)
        # a token read while the clock is back
        self.card(1, certificates={"9a": leaf("twenty days", 20 * DAY + HOUR)}).insert()
        self.wait_signal("TokenAdded", n=2, timeout=20)
        self.assertEqual(cert("twenty days")["DaysLeft"], 385)
        # nothing to announce, nothing busy
        cpu = cpu_seconds(d.proc.pid)
        self.pump(1)
        self.assertLess(cpu_seconds(d.proc.pid) - cpu, 0.2 * twtest.TIME_SCALE)
        self.assertEqual(self.count("ExpiryWarning"), 2)
        # back to now: the twenty days' first warning, the others not again
        self.move_clock(0)
        self.wait_signal("ExpiryWarning", n=3)
        self.pump(0.5)
        self.assertEqual(warnings(), [("forty days", 40, "info"), ("ten days", 10, "warning"),
                                      ("twenty days", 20, "warning")])
        self.assertEqual(cert("ten days")["Status"], "expiring")
        # and on: the next threshold of each, once
        self.move_clock(4 * DAY)
        self.wait_signal("ExpiryWarning", n=4)
        self.pump(0.5)
        self.assertEqual(warnings(), [("forty days", 40, "info"), ("ten days", 6, "critical"),
                                      ("ten days", 10, "warning"),
                                      ("twenty days", 20, "warning")])
        self.assertEqual(self.count("ExpiryWarning"), 4)
        self.assertTrue(d.proc.running)


if __name__ == "__main__":
    twtest.main()
