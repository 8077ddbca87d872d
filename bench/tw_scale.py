"""Scale benchmarks for bench/tw_bench.py (imported from there).

  scale    8 readers, cards inserted and removed at random for --scale-seconds:
           every event pcscd announced delivered (CardInserted/CardRemoved per
           reader, Reader.EventCount against pcscd's counter, a TokenAdded per
           insertion), latency percentiles from pcscd's event to the signal
  clients  --clients D-Bus clients (default 50) each calling
           GetManagedObjects back to back: calls per second, and the event
           latency on one reader meanwhile against the same without them
  cycles   --long-cycles insert/remove cycles over 8 readers (default
           10,000), every one waiting for TokenAdded and TokenRemoved:
           tokenwatchd's RSS and heap, and its PKCS#11 helper's RSS, along
           the way (flat)
"""

import contextlib
import os
import random
import statistics
import subprocess
import sys
import threading
import time

import gi

gi.require_version("Gio", "2.0")
from gi.repository import GLib  # noqa: E402

from twtestbed import Testbed, pcsc  # noqa: E402

BUS_NAME = "io.github.tokenwatch.TokenWatch1"
ROOT = "/io/github/tokenwatch/TokenWatch1"


def wait(predicate, timeout):
    """Dispatch D-Bus traffic until predicate() holds"""
    ctx = GLib.MainContext.default()
    end = time.monotonic() + timeout
    while not predicate():
        while ctx.pending():
            ctx.iteration(False)
        if time.monotonic() > end:
            raise RuntimeError("timed out")
        time.sleep(0.001)


def pct(values, digits=2):
    v = sorted(values)
    if not v:
        return {"n": 0}

    def at(q):
        return round(v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))], digits)

    return {"n": len(v), "min": round(v[0], digits), "p50": round(statistics.median(v), digits),
            "p90": at(0.90), "p99": at(0.99), "max": round(v[-1], digits)}


class Watchers:
    """One PC/SC client per reader, each in a thread of its own blocked in
    SCardGetStatusChange like the daemon, stamping every change of presence
    that pcscd announces (monotonic clock)."""

    def __init__(self, bed, indices):
        self.events = []  # (t, reader index, present, counter)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(bed, i), daemon=True)
                         for i in indices]
        for t in self._threads:
            t.start()

    def _run(self, bed, i):
        name = bed.reader_names[i]
        ctx = bed.pcsc.context()
        cur = ctx.status(name)
        while not self._stop.is_set():
            try:
                new = ctx.get_status_change(name, cur.raw, 500)
            except pcsc.PcscError:
                continue
            if new.present != cur.present or new.counter != cur.counter:
                self.events.append((time.monotonic(), i, new.present, new.counter))
            cur = new
        ctx.release()

    def close(self):
        self._stop.set()
        for t in self._threads:
            t.join()


def eight_reader_env(bed):
    """OpenSC shows max_virtual_slots (16) / slots_per_card (4) = 4 readers by
    default; 8 readers need more virtual slots (a machine with 8 readers
    needs the same in /etc/opensc/opensc.conf)"""
    conf = os.path.join(bed.workdir, "opensc.conf")
    with open(conf, "w") as f:
        f.write("app default {\n}\napp opensc-pkcs11 {\n  pkcs11 {\n"
                "    max_virtual_slots = 64;\n  }\n}\n")
    return dict(bed.env, OPENSC_CONF=conf)


@contextlib.contextmanager
def eight_readers(bench_cls, build):
    """A bed with 8 readers, tokenwatchd on it, and a card of its own (not
    inserted) for each reader: yields (bed, bench, cards)"""
    with Testbed(entries=4) as bed:
        b = bench_cls(bed, build, env=eight_reader_env(bed))
        cards = [bed.card(i, {"9a": bed.certs.leaf("Scale %d" % i, key="ec256").der},
                          insert=False) for i in range(len(bed.reader_names))]
        yield bed, b, cards


def reader_indices(b, bed):
    """{reader object path: index in bed.reader_names}"""
    v = b.conn.call_sync(BUS_NAME, ROOT, "org.freedesktop.DBus.ObjectManager",
                         "GetManagedObjects", None, None, 0, 10000, None).unpack()[0]
    out = {}
    for path, ifaces in v.items():
        props = ifaces.get(BUS_NAME + ".Reader")
        if props is not None:
            out[path] = bed.reader_names.index(props["Name"])
    return out


def reader_event_counts(b):
    v = b.conn.call_sync(BUS_NAME, ROOT, "org.freedesktop.DBus.ObjectManager",
                         "GetManagedObjects", None, None, 0, 10000, None).unpack()[0]
    return {path: ifaces[BUS_NAME + ".Reader"]["EventCount"] for path, ifaces in v.items()
            if BUS_NAME + ".Reader" in ifaces}


def prime_tokens(b, cards):
    """Each card in and out once: {token path: card index}"""
    out = {}
    for i, card in enumerate(cards):
        n = len([s for s in b.signals if s[1] == "TokenAdded"])
        card.insert()
        b.wait(lambda: len([s for s in b.signals if s[1] == "TokenAdded"]) > n, 20)
        out[[s for s in b.signals if s[1] == "TokenAdded"][-1][2]] = i
        n = len([s for s in b.signals if s[1] == "TokenRemoved"])
        card.remove()
        b.wait(lambda: len([s for s in b.signals if s[1] == "TokenRemoved"]) > n, 20)
    return out


def match_latencies(pcscd_events, signals):
    """Each daemon signal against the last event pcscd announced for the same
    reader and kind before it (the watcher may stamp an event a moment after
    the daemon's signal for it: 20 ms of slack): (latencies ms, matched)"""
    by_key = {}
    for t, i, present, _ in pcscd_events:
        by_key.setdefault((i, present), []).append(t)
    lat = []
    for t, i, present in signals:
        before = [t0 for t0 in by_key.get((i, present), []) if t0 <= t + 0.02]
        if before:
            lat.append((t - before[-1]) * 1000)
    return lat


def counters(bed, n):
    """pcscd's event counter of each reader"""
    with bed.pcsc.context() as ctx:
        return [ctx.status(bed.reader_names[i]).counter for i in range(n)]


def bench_scale(bench_cls, build, seconds):
    with eight_readers(bench_cls, build) as (bed, b, cards):
        n = len(bed.reader_names)
        token_reader = prime_tokens(b, cards)
        index_of = reader_indices(b, bed)
        counts_before = reader_event_counts(b)
        pcscd_before = counters(bed, n)
        start_signal = len(b.signals)
        w = Watchers(bed, range(n))
        time.sleep(0.5)
        rng = random.Random(7)
        inserted = [False] * n
        next_at = [time.monotonic() + rng.uniform(0, 1.0) for _ in range(n)]
        end = time.monotonic() + seconds
        insertions = 0
        while time.monotonic() < end:
            now = time.monotonic()
            for i in range(n):
                if now >= next_at[i]:
                    if inserted[i]:
                        cards[i].remove()
                    else:
                        cards[i].insert()
                        insertions += 1
                    inserted[i] = not inserted[i]
                    # long enough for pcscd's 400 ms poll to see each state
                    next_at[i] = now + rng.uniform(0.6, 2.0)
            b.pump(0.005)
        for i in range(n):
            if inserted[i]:
                cards[i].remove()
        b.pump(3.0)
        w.close()
        sigs = b.signals[start_signal:]
        card_sigs = [(t, index_of[arg], m == "CardInserted") for t, m, arg in sigs
                     if m in ("CardInserted", "CardRemoved")]
        token_sigs = [(t, token_reader[arg], m == "TokenAdded") for t, m, arg in sigs
                      if m in ("TokenAdded", "TokenRemoved") and arg in token_reader]
        card_lat = match_latencies(w.events, card_sigs)
        token_lat = match_latencies([e for e in w.events if e[2]],
                                    [s for s in token_sigs if s[2]])
        counts_after = reader_event_counts(b)
        pcscd_after = counters(bed, n)
        pcscd_counts = [(pcscd_after[i] - pcscd_before[i]) % 65536 for i in range(n)]
        daemon_counts = [0] * n
        for p in counts_after:
            daemon_counts[index_of[p]] = counts_after[p] - counts_before[p]
        per_reader_signals = [0] * n
        for _, i, _ in card_sigs:
            per_reader_signals[i] += 1
        rss = None
        with open("/proc/%d/status" % b.daemon.pid) as f:
            for line in f:
                if line.startswith("VmRSS"):
                    rss = int(line.split()[1])
        b.daemon.stop()
        return {
            "seconds": seconds, "readers": n, "insertions": insertions,
            "pcscd_events": sum(pcscd_counts), "card_signals": len(card_sigs),
            "token_added": sum(1 for s in token_sigs if s[2]),
            "token_removed": sum(1 for s in token_sigs if not s[2]),
            "pcscd_events_per_reader": pcscd_counts,
            "event_count_per_reader": daemon_counts,
            "card_signals_per_reader": per_reader_signals,
            "card_signal_latency_ms": pct(card_lat),
            "token_added_latency_ms": pct(token_lat),
            "rss_kb_at_end": rss,
        }


CLIENT = r"""
import sys, time
from gi.repository import Gio, GLib
addr, n, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
         Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
conns = [Gio.DBusConnection.new_for_address_sync(addr, flags, None, None) for _ in range(n)]
loop = GLib.MainLoop()
state = {"calls": 0, "errors": 0, "open": n, "bytes": 0}
print("ready", flush=True)
sys.stdin.readline()
end = time.monotonic() + seconds

def issue(c):
    c.call("io.github.tokenwatch.TokenWatch1", "/io/github/tokenwatch/TokenWatch1",
           "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", None, None, 0, 60000,
           None, done, None)

def done(c, res, _):
    try:
        v = c.call_finish(res)
        state["calls"] += 1
        state["bytes"] = v.get_size()
    except GLib.Error:
        state["errors"] += 1
    if time.monotonic() < end:
        issue(c)
    else:
        state["open"] -= 1
        if state["open"] == 0:
            loop.quit()

for c in conns:
    issue(c)
loop.run()
print("%d %d %d" % (state["calls"], state["errors"], state["bytes"]), flush=True)
"""


def event_latencies(b, bed, index, card, rounds):
    """CardInserted and TokenAdded latency on one reader, `rounds` times"""
    w = Watchers(bed, [index])
    card_lat, token_lat = [], []
    for _ in range(rounds):
        time.sleep(random.uniform(0.1, 0.5))
        n_ev = len(w.events)
        n_sig = len(b.signals)
        card.insert()
        b.wait(lambda: any(s[1] == "TokenAdded" for s in b.signals[n_sig:])
               and any(e[2] for e in w.events[n_ev:]), 30)
        t0 = [e[0] for e in w.events[n_ev:] if e[2]][0]
        sigs = b.signals[n_sig:]
        card_lat.append(([s[0] for s in sigs if s[1] == "CardInserted"][0] - t0) * 1000)
        token_lat.append(([s[0] for s in sigs if s[1] == "TokenAdded"][0] - t0) * 1000)
        n_sig = len(b.signals)
        card.remove()
        b.wait(lambda: any(s[1] == "TokenRemoved" for s in b.signals[n_sig:]), 30)
    w.close()
    return pct(card_lat), pct(token_lat)


def bench_clients(bench_cls, build, n_clients, rounds):
    with eight_readers(bench_cls, build) as (bed, b, cards):
        n = len(bed.reader_names)
        prime_tokens(b, cards)
        # six cards stay in: the clients read 8 readers, 8 tokens, 8 certificates
        for c in cards[2:]:
            c.insert()
        b.wait(lambda: len([s for s in b.signals if s[1] == "TokenAdded"]) >= n + n - 2, 30)
        quiet = event_latencies(b, bed, 0, cards[0], rounds)
        procs_per = 5
        per_proc = n_clients // procs_per
        seconds = rounds * 1.6 + 5
        procs = [subprocess.Popen([sys.executable, "-c", CLIENT, bed.bus.address,
                                   str(per_proc), str(seconds)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                 for _ in range(procs_per)]
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        time.sleep(1.0)
        loaded = event_latencies(b, bed, 0, cards[0], rounds)
        results = [p.communicate(timeout=seconds + 120)[0].split() for p in procs]
        took = time.monotonic() - t0
        calls = sum(int(r[0]) for r in results)
        errors = sum(int(r[1]) for r in results)
        cpu = None
        with open("/proc/%d/stat" % b.daemon.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        b.daemon.stop()
        return {
            "clients": procs_per * per_proc, "seconds": round(took, 1),
            "get_managed_objects_calls": calls, "errors": errors,
            "calls_per_second": round(calls / took, 1),
            "reply_bytes": int(results[0][2]),
            "daemon_cpu_s_total": round(cpu, 1),
            "quiet": {"card_inserted_ms": quiet[0], "token_added_ms": quiet[1]},
            "with_clients": {"card_inserted_ms": loaded[0], "token_added_ms": loaded[1]},
        }


def memory(pid):
    out = {"rss_kb": 0, "heap_kb": 0}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS"):
                out["rss_kb"] = int(line.split()[1])
    in_heap = False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if not line[0].isupper() or line.startswith(("0", "1", "2", "3", "4", "5", "6",
                                                         "7", "8", "9")):
                in_heap = line.rstrip().endswith("[heap]")
            elif in_heap and line.startswith("Rss:"):
                out["heap_kb"] += int(line.split()[1])
    return out


def children(pid):
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def bench_cycles(bench_cls, build, cycles):
    with eight_readers(bench_cls, build) as (bed, b, cards):
        n = len(bed.reader_names)

        def count(member):
            return sum(1 for s in b.signals if s[1] == member)

        samples = []
        rounds = max(1, cycles // n)
        every = max(1, rounds // 20)
        t_start = time.monotonic()
        for r in range(rounds + 1):
            if r % every == 0 or r == rounds:
                helpers = [memory(c)["rss_kb"] for c in children(b.daemon.pid)]
                samples.append(dict(memory(b.daemon.pid), cycles=r * n,
                                    helper_rss_kb=helpers,
                                    seconds=round(time.monotonic() - t_start)))
                sys.stderr.write("cycles %d: %s\n" % (r * n, samples[-1]))
                # the bench's own record of signals stays small
                del b.signals[:]
            if r == rounds:
                break
            added, removed = count("TokenAdded"), count("TokenRemoved")
            for c in cards:
                c.insert()
            b.wait(lambda: count("TokenAdded") >= added + n, 60)
            for c in cards:
                c.remove()
            b.wait(lambda: count("TokenRemoved") >= removed + n, 60)
        b.daemon.stop()
        return {"cycles": rounds * n, "readers": n,
                "seconds": round(time.monotonic() - t_start), "samples": samples}
