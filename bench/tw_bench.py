#!/usr/bin/python3
"""tokenwatch benchmarks on the test bed (real pcscd, vpcd readers, virtual
cards, private bus). Results go to stdout as a Markdown table and to a JSON
file; docs/PERFORMANCE.md records them with the method.

  idle     wake-ups and CPU time of tokenwatchd over --seconds with 4 readers,
           2 cards in, nothing happening (target: 0 wake-ups)
  rss      resident memory after start, and after --cycles insert/remove cycles
  latency  time from pcscd's card event to tokenwatchd's D-Bus signal, over
           --rounds insertions and removals with random jitter
  tokens   time from pcscd's insertion event to TokenAdded with every
           certificate parsed, and the card's APDUs for it, against
           `pkcs11-tool --list-objects --type cert` on the same card
  startup  time to READY=1, RSS and GetManagedObjects time with an empty
           state and with 1,000 tokens and 10,000 certificates in it (made
           by BUILDDIR/tests/store/bench-store)
  notify   insertion to the desktop notification: tokenwatch-agent's (with
           the expiry facts) against opensc-notify's bare "card inserted",
           both on python-dbusmock's notification server (bench/tw_notify.py)
  scale, clients, cycles: see bench/tw_scale.py

usage: bench/tw_bench.py BUILDDIR [--seconds 120] [--rounds 40] [--cycles 200]
                         [--scale-seconds 600] [--clients 50]
                         [--long-cycles 10000] [--json FILE] [PART...]
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "testbed"))

import gi  # noqa: E402

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

from twtestbed import Testbed  # noqa: E402

import tw_scale  # noqa: E402

BUS_NAME = "io.github.tokenwatch.TokenWatch1"
ROOT = "/io/github/tokenwatch/TokenWatch1"
MANAGER = BUS_NAME + ".Manager"


def proc_status(pid):
    """{'wakeups': voluntary+involuntary context switches over all threads,
    'cpu_s': user+system CPU seconds, 'rss_kb': VmRSS, 'threads': n}"""
    out = {"wakeups": 0, "voluntary": 0, "threads": 0, "per_thread": {}}
    for tid in os.listdir("/proc/%d/task" % pid):
        n = 0
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith("Name:"):
                    name = line.split(None, 1)[1].strip()
                elif line.startswith("voluntary_ctxt_switches"):
                    v = int(line.split()[1])
                    out["voluntary"] += v
                    n += v
                elif line.startswith("nonvoluntary_ctxt_switches"):
                    n += int(line.split()[1])
        out["wakeups"] += n
        out["per_thread"]["%s/%s" % (name, tid)] = n
        out["threads"] += 1
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS"):
                out["rss_kb"] = int(line.split()[1])
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    out["cpu_s"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


OPENSC = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"


class Bench:
    """tokenwatchd on the bed; `prefix`: a wrapper (e.g. valgrind) and its
    options; `env`: the daemon's environment (default: the bed's)."""

    def __init__(self, bed, build, prefix=(), env=None):
        self.bed = bed
        # a state of its own, in the bed's directory: never the user's
        env = dict(env if env is not None else bed.env)
        env.setdefault("STATE_DIRECTORY", os.path.join(bed.workdir, "state"))
        self.daemon = bed.spawn("tokenwatchd", list(prefix) + [
            os.path.join(build, "daemon", "tokenwatchd"), "--session", "--no-p11-kit",
            "--pkcs11-module", OPENSC], env=env)
        self.conn = Gio.DBusConnection.new_for_address_sync(
            bed.bus.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.signals = []
        self.conn.signal_subscribe(None, MANAGER, None, ROOT, None, Gio.DBusSignalFlags.NONE,
                                   self._on_signal)
        self.wait(lambda: self._n_readers() == len(bed.reader_names), 10)

    def _on_signal(self, conn, sender, path, iface, member, params):
        self.signals.append((time.monotonic(), member, params.unpack()[0]))

    def _n_readers(self):
        try:
            v = self.conn.call_sync(BUS_NAME, ROOT, "org.freedesktop.DBus.ObjectManager",
                                    "GetManagedObjects", None, None, Gio.DBusCallFlags.NONE,
                                    2000, None)
        except GLib.Error:
            return -1
        return sum(1 for ifaces in v.unpack()[0].values() if BUS_NAME + ".Reader" in ifaces)

    def wait(self, predicate, timeout):
        tw_scale.wait(predicate, timeout)

    def pump(self, seconds):
        ctx = GLib.MainContext.default()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            while ctx.pending():
                ctx.iteration(False)
            time.sleep(0.001)


def bench_idle(b, seconds):
    bed = b.bed
    cards = [bed.card(0), bed.card(2)]
    b.wait(lambda: sum(1 for s in b.signals if s[1] == "TokenAdded") == 2, 20)
    b.pump(1.0)  # let everything settle
    for c in cards:
        c.clear_log()
    before = proc_status(b.daemon.pid)
    # every system call of every thread, counted by the kernel (perf), not
    # strace: strace slows libpcsclite's loops and undercounts (TESTBED.md)
    helpers = tw_scale.children(b.daemon.pid)
    perf = subprocess.run(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter",
                           "-p", ",".join(str(p) for p in [b.daemon.pid] + helpers), "--",
                           "sleep", str(seconds)], capture_output=True, text=True)
    after = proc_status(b.daemon.pid)
    syscalls = None
    for line in perf.stderr.splitlines():
        if "raw_syscalls:sys_enter" in line and line.split(",")[0].isdigit():
            syscalls = int(line.split(",")[0])
    apdus = sum(c.apdu_count for c in cards)
    for c in cards:
        c.remove()
    # threads alive at both ends (a thread that ended took its count along)
    per_thread = {k: v - before["per_thread"][k] for k, v in after["per_thread"].items()
                  if k in before["per_thread"]}
    return {
        "syscalls_daemon_and_helpers": syscalls,
        "helpers": len(helpers),
        "apdus": apdus,
        "seconds": seconds,
        "readers": len(bed.reader_names),
        "cards": len(cards),
        "wakeups": sum(per_thread.values()),
        "cpu_ms": round((after["cpu_s"] - before["cpu_s"]) * 1000, 1),
        "threads": after["threads"],
        "wakeups_per_thread": per_thread,
    }


def bench_rss(b, cycles):
    rss_start = proc_status(b.daemon.pid)["rss_kb"]
    card = b.bed.card(1, insert=False)
    def count(member):
        return sum(1 for s in b.signals if s[1] == member)

    for _ in range(cycles):
        n_in, n_out = count("CardInserted"), count("CardRemoved")
        card.insert()
        b.wait(lambda: count("CardInserted") > n_in, 10)
        card.remove()
        b.wait(lambda: count("CardRemoved") > n_out, 10)
    b.pump(0.5)
    rss_after = proc_status(b.daemon.pid)["rss_kb"]
    return {"rss_start_kb": rss_start, "cycles": cycles, "rss_after_cycles_kb": rss_after}


def summary(values, digits=2):
    v = sorted(values)
    return {"n": len(v), "min": round(v[0], digits),
            "median": round(statistics.median(v), digits),
            "p90": round(v[int(0.9 * (len(v) - 1))], digits), "max": round(v[-1], digits)}


def bench_tokens(b, rounds, n_certs):
    """Insertion to TokenAdded, and the raw read by pkcs11-tool, n_certs
    certificates on the card."""
    bed = b.bed
    certs = {}
    slots = ["9a", "9c", "9d", "9e", "82", "83", "84", "85", "86", "87", "88", "89"][:n_certs]
    for i, slot in enumerate(slots):
        certs[slot] = bed.certs.leaf("Bench %d" % i, key="ec256" if i % 2 else "rsa2048",
                                     qc_compliance=bool(i % 2), qc_sscd=bool(i % 2),
                                     qc_type="esign" if i % 2 else None,
                                     policies=["0.4.0.2042.1.2"]).der
    card = bed.card(1, certs, insert=False)
    w = tw_scale.Watchers(bed, [1])
    daemon_ms, daemon_apdus, tool_ms, tool_apdus = [], [], [], []
    for _ in range(rounds):
        time.sleep(random.uniform(0, 0.5))
        n_stamps = len(w.events)
        n_added = sum(1 for s in b.signals if s[1] == "TokenAdded")
        card.clear_log()
        card.insert()
        b.wait(lambda: sum(1 for s in b.signals if s[1] == "TokenAdded") > n_added
               and any(e[2] for e in w.events[n_stamps:]), 20)
        added = [s[0] for s in b.signals if s[1] == "TokenAdded"][-1]
        inserted = [e[0] for e in w.events[n_stamps:] if e[2]][0]
        daemon_ms.append((added - inserted) * 1000)
        b.pump(0.3)
        daemon_apdus.append(card.apdu_count)
        # the raw read, on the same card, with nothing else going on
        card.clear_log()
        t0 = time.monotonic()
        subprocess.run(["pkcs11-tool", "--module", OPENSC, "--list-objects", "--type", "cert"],
                       env=bed.env, check=True, capture_output=True)
        tool_ms.append((time.monotonic() - t0) * 1000)
        tool_apdus.append(card.apdu_count)
        n_removed = sum(1 for s in b.signals if s[1] == "TokenRemoved")
        card.remove()
        b.wait(lambda: sum(1 for s in b.signals if s[1] == "TokenRemoved") > n_removed, 10)
    w.close()
    out = {"certificates": n_certs,
           "daemon_insert_to_token_added_ms": summary(daemon_ms),
           "daemon_apdus": summary(daemon_apdus, 0),
           "pkcs11_tool_ms": summary(tool_ms),
           "pkcs11_tool_apdus": summary(tool_apdus, 0)}
    out["ratio_median"] = round(out["daemon_insert_to_token_added_ms"]["median"]
                                / out["pkcs11_tool_ms"]["median"], 3)
    return out


def bench_startup(build, state_dir):
    """One daemon start on a state directory: READY=1 on our NOTIFY_SOCKET,
    then RSS and GetManagedObjects."""
    import socket
    with Testbed(entries=2) as bed:
        sock_path = os.path.join(bed.workdir, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        env = dict(bed.env, STATE_DIRECTORY=state_dir, NOTIFY_SOCKET=sock_path)
        t0 = time.monotonic()
        d = bed.spawn("tokenwatchd", [os.path.join(build, "daemon", "tokenwatchd"), "--session",
                                      "--no-p11-kit", "--pkcs11-module", OPENSC], env=env)
        while "READY=1" not in sock.recv(4096).decode():
            pass
        ready = time.monotonic() - t0
        time.sleep(2)
        rss = proc_status(d.pid)["rss_kb"]
        conn = Gio.DBusConnection.new_for_address_sync(
            bed.bus.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        times = []
        for _ in range(5):
            t1 = time.monotonic()
            v = conn.call_sync(BUS_NAME, ROOT, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", None, None, Gio.DBusCallFlags.NONE,
                               120000, None)
            times.append((time.monotonic() - t1) * 1000)
        d.stop()
        return {"ready_ms": round(ready * 1000, 1), "rss_kb": rss,
                "get_managed_objects_ms": summary(times, 1),
                "objects": len(v.unpack()[0]), "reply_bytes": v.get_size()}


def bench_startups(build):
    import shutil
    import tempfile
    work = tempfile.mkdtemp(prefix="tw-bench-", dir="/var/tmp")
    try:
        empty = os.path.join(work, "empty")
        os.makedirs(empty)
        big = os.path.join(work, "big")
        subprocess.run([os.path.join(build, "tests", "store", "bench-store"), "--dir", big,
                        "--der-dir", os.path.join(build, "tests", "data", "certs"),
                        "--loads", "1"], check=True, capture_output=True)
        return {"empty": bench_startup(build, empty),
                "1000_tokens_10000_certificates": bench_startup(build, big)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_latency(b, rounds):
    """A second PC/SC client, blocked in SCardGetStatusChange like the daemon,
    stamps the moment pcscd announces each change; the bench stamps the
    arrival of tokenwatchd's signal for it. Both are woken by the same event."""
    bed = b.bed
    card = bed.card(3, insert=False)
    w = tw_scale.Watchers(bed, [3])
    lat = {"CardInserted": [], "CardRemoved": []}
    for _ in range(rounds):
        for member, act in (("CardInserted", card.insert), ("CardRemoved", card.remove)):
            time.sleep(random.uniform(0, 0.5))  # no phase-locking to pcscd's poll
            n_stamps = len(w.events)
            n_sig = sum(1 for s in b.signals if s[1] == member)
            present = member == "CardInserted"

            def seen():
                return [e[0] for e in w.events[n_stamps:] if e[2] == present]

            act()
            b.wait(lambda: sum(1 for s in b.signals if s[1] == member) > n_sig and seen(), 10)
            sig_t = [s[0] for s in b.signals if s[1] == member][-1]
            lat[member].append((sig_t - seen()[0]) * 1000)
    w.close()

    def summary(values):
        v = sorted(values)
        return {"n": len(v), "min_ms": round(v[0], 2), "median_ms": round(statistics.median(v), 2),
                "p90_ms": round(v[int(0.9 * (len(v) - 1))], 2), "max_ms": round(v[-1], 2)}

    return {k: summary(v) for k, v in lat.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("which", nargs="*",
                    default=["idle", "rss", "latency", "tokens", "startup", "notify", "scale",
                             "clients", "cycles"])
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--scale-seconds", type=int, default=600)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--long-cycles", type=int, default=10000)
    ap.add_argument("--json")
    args = ap.parse_args()
    results = {"machine": {"nproc": os.cpu_count(), "kernel": os.uname().release}}
    if "startup" in args.which:
        results["startup"] = bench_startups(os.path.abspath(args.build))
    if any(w in args.which for w in ("idle", "latency", "rss", "tokens")):
        with Testbed(entries=2) as bed:
            b = Bench(bed, os.path.abspath(args.build))
            results["rss_after_start_kb"] = proc_status(b.daemon.pid)["rss_kb"]
            if "idle" in args.which:
                results["idle"] = bench_idle(b, args.seconds)
            if "latency" in args.which:
                results["latency"] = bench_latency(b, args.rounds)
            if "rss" in args.which:
                results["rss"] = bench_rss(b, args.cycles)
            if "tokens" in args.which:
                results["tokens"] = [bench_tokens(b, min(args.rounds, 20), n) for n in (2, 8)]
            b.daemon.stop()
    build = os.path.abspath(args.build)
    if "notify" in args.which:
        import tw_notify
        results["notify"] = tw_notify.bench_notify(build, min(args.rounds, 20))
    if "scale" in args.which:
        results["scale"] = tw_scale.bench_scale(Bench, build, args.scale_seconds)
    if "clients" in args.which:
        results["clients"] = tw_scale.bench_clients(Bench, build, args.clients,
                                                    min(args.rounds, 20))
    if "cycles" in args.which:
        results["cycles"] = tw_scale.bench_cycles(Bench, build, args.long_cycles)
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
