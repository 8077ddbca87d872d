#!/usr/bin/python3
"""Self-test of the test bed: real pcscd, vpcd readers, virtual PIV cards,
OpenSC and a private D-Bus daemon.  Exit status 0 if everything works.

    /usr/bin/python3 tests/testbed/selftest.py            # 2 runs in parallel
    /usr/bin/python3 tests/testbed/selftest.py --single   # one run

The default runs `--single` twice at the same time (they must not collide)
and checks that a test process killed with SIGKILL leaves no process behind.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from twtestbed import Testbed                          # noqa: E402
from twtestbed import pcsc                             # noqa: E402
from twtestbed.procs import PYTHON                     # noqa: E402

OPENSC_PKCS11 = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"


class Failed(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failed(what)
    print("ok    " + what, flush=True)


class Timer:
    def __init__(self):
        self.figures = []

    def __call__(self, label):
        timer = self

        class _Span:
            def __enter__(self):
                self.t0 = time.monotonic()
                return self

            def __exit__(self, *exc):
                self.seconds = time.monotonic() - self.t0
                if exc[0] is None:
                    timer.figures.append((label, self.seconds))
        return _Span()


def run(argv, env, timeout=30):
    done = subprocess.run(argv, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise Failed("%s exited %d: %s" % (" ".join(argv), done.returncode,
                                           done.stderr.strip()))
    return done.stdout


def pkcs11_slots(text):
    """pkcs11-tool -L output -> {slot description: {field: value}}."""
    slots, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"Slot \d+ \(0x[0-9a-f]+\): (.*)$", line)
        if m:
            cur = slots.setdefault(m.group(1).strip(), {})
            continue
        m = re.match(r"\s+([a-z /]+?)\s*: (.*)$", line)
        if m and cur is not None:
            cur[m.group(1)] = m.group(2).strip()
    return slots


def pids_mentioning(text):
    done = subprocess.run(["pgrep", "-f", text], capture_output=True,
                          text=True)
    return done.stdout.split()


# ---------------------------------------------------------------------------
def single_run():
    t = Timer()
    pkcs11 = ["pkcs11-tool", "--module", OPENSC_PKCS11]
    with t("start bed (pcscd with 4 readers + dbus-daemon)"):
        tb = Testbed(entries=2).start()
    workdir = tb.workdir
    print("workdir %s ports %s isolated %s" % (workdir, tb.pcscd.ports,
                                               tb.pcscd.isolated), flush=True)
    try:
        env = tb.env
        names = tb.reader_names
        with t("ctypes SCardListReaders"):
            listed = tb.pcsc.list_readers()
        expect(listed == names, "ctypes client lists 4 readers %s" % listed)
        out = run(["dbus-send", "--bus=" + tb.bus.address, "--print-reply",
                   "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                   "org.freedesktop.DBus.ListNames"], env)
        expect("org.freedesktop.DBus" in out, "private bus answers")

        with t("certificates (CA + RSA 2048 + EC P-256 with QC)"):
            auth = tb.certs.leaf("Testbed Auth")
            sign = tb.certs.leaf("Testbed Sign", key="ec256",
                                 qc_compliance=True, qc_sscd=True,
                                 qc_type="esign",
                                 policies=["0.4.0.194112.1.2"])

        # -- one card in reader 0 ------------------------------------------
        with tb.pcsc.context() as ctx:
            before = ctx.status(names[0])
            expect(before.empty, "reader 0 EMPTY before insertion")
            card = tb.card(0, {"9a": auth.der, "9c": sign.der}, insert=False)
            with t("insert -> PRESENT event"):
                card.insert()
                st = ctx.wait_for(names[0], pcsc.SCARD_STATE_PRESENT, 5,
                                  since=before)
        expect(st.counter == before.counter + 1 and st.atr == card.atr,
               "PRESENT, event counter %d -> %d, ATR %s"
               % (before.counter, st.counter, st.atr.hex()))

        with t("opensc-tool -n"):
            out = run(["opensc-tool", "-r", "0", "-n"], env)
        expect("Personal Identity Verification Card" in out,
               "opensc-tool -n: Personal Identity Verification Card")

        card.clear_log()
        out = run(pkcs11 + ["-L"], env)
        apdus_l = card.apdu_count
        samples = []
        for _ in range(5):
            t0 = time.monotonic()
            run(pkcs11 + ["-L"], env)
            samples.append(time.monotonic() - t0)
        t.figures.append(("pkcs11-tool -L (median of 5)",
                          sorted(samples)[2]))
        slot = pkcs11_slots(out).get(names[0], {})
        expect(slot.get("token label") == "Testbed Auth" and
               slot.get("serial num") == card.pkcs11_serial,
               "pkcs11-tool -L: label %r serial %s (GUID %s)"
               % (slot.get("token label"), slot.get("serial num"), card.guid))

        with t("pkcs11-tool -O"):
            out = run(pkcs11 + ["-O"], env)
        expect(out.count("Certificate Object") == 2 and
               "CN=Testbed Auth" in out and "CN=Testbed Sign" in out,
               "pkcs11-tool -O lists both certificates")

        for cid, cert in (("01", auth), ("02", sign)):
            path = os.path.join(workdir, "read-%s.der" % cid)
            with t("pkcs11-tool --read-object (cert %s)" % cid):
                run(pkcs11 + ["--read-object", "--type", "cert", "--id", cid,
                              "-o", path], env)
            with open(path, "rb") as f:
                expect(f.read() == cert.der,
                       "cert id %s read back byte for byte (%d bytes)"
                       % (cid, len(cert.der)))

        expect(("inserted", names[0]) in tb.pcscd.event_log() and
               any(kind == "APDU" for kind, _ in tb.pcscd.apdu_log()),
               "pcscd log has the insertion and %d APDU lines"
               % len(tb.pcscd.apdu_log()))

        with tb.pcsc.context() as ctx:
            before = ctx.status(names[0])
            with t("remove -> EMPTY event"):
                card.remove()
                st = ctx.wait_for(names[0], pcsc.SCARD_STATE_EMPTY, 5,
                                  since=before)
        expect(st.counter == before.counter + 1, "removed: EMPTY")

        # -- a card in each reader, independently --------------------------
        cards = []
        with tb.pcsc.context() as ctx:
            for i, name in enumerate(names):
                before = [ctx.status(n) for n in names]
                cert = tb.certs.leaf("Card %d" % i, key="ec256")
                cards.append(tb.card(i, {"9a": cert.der}))
                ctx.wait_for(name, pcsc.SCARD_STATE_PRESENT, 5,
                             since=before[i])
                after = [ctx.status(n) for n in names]
                expect(all(a.counter == b.counter and a.state == b.state
                           for j, (a, b) in enumerate(zip(after, before))
                           if j != i),
                       "card in reader %d: only reader %d changed" % (i, i))
            slots = pkcs11_slots(run(pkcs11 + ["-L"], env))
            expect(all(slots[n].get("serial num") == c.pkcs11_serial and
                       slots[n].get("token label") == "Card %d" % i
                       for i, (n, c) in enumerate(zip(names, cards))),
                   "pkcs11-tool -L: 4 tokens, each in its own reader")
            for i, name in enumerate(names):
                before = [ctx.status(n) for n in names]
                cards[i].remove()
                ctx.wait_for(name, pcsc.SCARD_STATE_EMPTY, 5,
                             since=before[i])
                after = [ctx.status(n) for n in names]
                expect(all(a.counter == b.counter
                           for j, (a, b) in enumerate(zip(after, before))
                           if j != i),
                       "card out of reader %d: only reader %d changed"
                       % (i, i))

        # -- PIN states, retired certificates, no CHUID ------------------------
        final = tb.card(0, {"9a": auth.der, "82": sign.der, "84": auth.der},
                        pin_tries=1)
        locked = tb.card(1, {"9d": sign.der}, pin_tries=0, chuid=False,
                         atr_style="generic")
        for name in names[:2]:
            tb.pcsc.wait_for(name, pcsc.SCARD_STATE_PRESENT, 5)
        slots = pkcs11_slots(run(pkcs11 + ["-L"], env))
        expect("final user PIN try" in slots[names[0]].get("token flags", "")
               and "user PIN locked" in slots[names[1]].get("token flags", "")
               and slots[names[1]].get("serial num") == "00000000"
               and slots[names[1]].get("token label") == "Testbed Sign",
               "PIN final try / PIN locked, no CHUID -> serial 00000000, "
               "generic ATR recognised")
        out = run(pkcs11 + ["--slot-index", "0", "-O", "--type", "cert"], env)
        expect(out.count("Certificate Object") == 3 and
               "Retired Certificate for Key Management 3" in out,
               "retired certificates 82 and 84 listed")
        out = run(pkcs11 + ["--slot-index", "0", "--login", "--pin", "123456",
                            "-O", "--type", "privkey"], env)
        expect(out.count("Private Key Object") == 3 and final.pin_tries == 3,
               "login: 3 private keys, PIN tries reset to 3")
        final.remove()
        locked.remove()

        # -- command-line card, toggled with signals -------------------------
        der_path = os.path.join(workdir, "cli-9a.der")
        shutil.copyfile(auth.der_path, der_path)
        cli = tb.spawn("vcard-cli", [PYTHON, "-m", "twtestbed.vcard",
                                     "--port", str(tb.port_for(3)),
                                     "--cert", "9a:" + der_path,
                                     "--no-stdin"], cwd=HERE)
        with tb.pcsc.context() as ctx:
            st = ctx.wait_for(names[3], pcsc.SCARD_STATE_PRESENT, 10)
            cli.signal_group(signal.SIGUSR2)
            st = ctx.wait_for(names[3], pcsc.SCARD_STATE_EMPTY, 5, since=st)
            cli.signal_group(signal.SIGUSR1)
            st = ctx.wait_for(names[3], pcsc.SCARD_STATE_PRESENT, 5,
                              since=st)
        expect(True, "vcard CLI: present, SIGUSR2 -> EMPTY, SIGUSR1 -> "
               "PRESENT")

        # -- readers disappearing: restart with 1 entry ----------------------
        port0 = tb.port_for(0)
        with t("pcscd restart with 1 entry"):
            tb.pcscd.restart(entries=1)
            listed = tb.pcsc.list_readers()
        expect(listed == names[:2] == tb.reader_names,
               "after restart: 2 readers %s" % listed)
        expect(tb.port_for(0) == port0, "reader 0 kept its port")
        card.insert()
        tb.pcsc.wait_for(names[0], pcsc.SCARD_STATE_PRESENT, 5)
        expect(True, "card re-inserted after restart: PRESENT")

        # -- pcscd killed under a waiting client ------------------------------
        result = {}

        def wait_forever():
            try:
                with tb.pcsc.context() as ctx:
                    cur = ctx.status(names[0])
                    result["ready"] = time.monotonic()
                    ctx.get_status_change(names[0], cur.raw, None)
            except pcsc.PcscError as e:
                result["error"] = e
                result["at"] = time.monotonic()

        waiter = threading.Thread(target=wait_forever, daemon=True)
        waiter.start()
        while "ready" not in result and "error" not in result:
            time.sleep(0.01)
        time.sleep(0.2)
        killed_at = time.monotonic()
        tb.pcscd.kill()
        waiter.join(5)
        err = result.get("error")
        expect(err is not None and err.code == pcsc.SCARD_F_COMM_ERROR,
               "pcscd killed: blocked SCardGetStatusChange -> %s after "
               "%.3f s" % (err, result.get("at", killed_at) - killed_at))
        try:
            tb.pcsc.list_readers()
            err = None
        except pcsc.PcscError as e:
            err = e
        expect(err is not None and err.code == pcsc.SCARD_E_NO_SERVICE,
               "pcscd gone: SCardEstablishContext -> %s" % err)
    finally:
        tb.close()

    if not tb.keep:
        expect(not os.path.exists(workdir), "temp dir removed")
    expect(pids_mentioning(workdir) == [],
           "no process left mentioning %s" % workdir)
    print("timings:")
    for label, seconds in t.figures:
        print("  %-50s %7.3f s" % (label, seconds))
    print("  %-50s %7d" % ("APDUs for pkcs11-tool -L (2 certs)", apdus_l))
    return 0


# ---------------------------------------------------------------------------
def orphan_child():
    """Start a bed and a CLI card, say where, then wait to be killed."""
    tb = Testbed(entries=1).start()
    der = os.path.join(tb.workdir, "orphan.der")
    with open(der, "wb") as f:
        f.write(tb.certs.leaf("Orphan").der)
    tb.spawn("vcard-cli", [PYTHON, "-m", "twtestbed.vcard", "--port",
                           str(tb.port_for(0)), "--cert", "9a:" + der,
                           "--no-stdin"], cwd=HERE)
    print(tb.workdir, flush=True)
    time.sleep(3600)


def orphan_check():
    """SIGKILL a test process: its children must die with it."""
    child = subprocess.Popen([PYTHON, os.path.abspath(__file__),
                              "--orphan-child"], stdout=subprocess.PIPE,
                             text=True)
    workdir = child.stdout.readline().strip()
    try:
        deadline = time.monotonic() + 10
        while len(pids_mentioning(workdir)) < 3:   # pcscd, dbus, vcard
            if time.monotonic() > deadline:
                raise Failed("orphan child did not start its processes")
            time.sleep(0.05)
        before = len(pids_mentioning(workdir))
        child.kill()
        child.wait()
        killed = time.monotonic()
        while pids_mentioning(workdir) and time.monotonic() < killed + 3:
            time.sleep(0.02)
        left = pids_mentioning(workdir)
        expect(not left, "test process SIGKILLed: its %d processes died "
               "with it (%.3f s)" % (before, time.monotonic() - killed))
    finally:
        child.kill()
        shutil.rmtree(workdir, ignore_errors=True)   # nobody else can


def parallel(jobs):
    procs = []
    for i in range(jobs):
        procs.append(subprocess.Popen(
            [PYTHON, os.path.abspath(__file__), "--single"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))

    def relay(i, p):
        for line in p.stdout:
            print("[%d] %s" % (i + 1, line), end="", flush=True)

    relays = [threading.Thread(target=relay, args=(i, p))
              for i, p in enumerate(procs)]
    for r in relays:
        r.start()
    for r in relays:
        r.join()
    status = [p.wait() for p in procs]
    expect(all(s == 0 for s in status),
           "%d self-tests in parallel: exit status %s" % (jobs, status))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--single", action="store_true", help="one run only")
    ap.add_argument("--jobs", type=int, default=2,
                    help="parallel runs (default 2)")
    ap.add_argument("--orphan-child", action="store_true",
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    try:
        if args.orphan_child:
            orphan_child()
        elif args.single:
            single_run()
        else:
            parallel(args.jobs)
            orphan_check()
    except Failed as e:
        print("FAIL  %s" % e, flush=True)
        return 1
    except Exception:
        traceback.print_exc()
        print("FAIL", flush=True)
        return 1
    print("PASS", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
