#!/usr/bin/python3
"""Soak: tokenwatchd over many insert/remove cycles of a card with two
certificates on the test bed (real pcscd, vpcd, the virtual PIV card OpenSC
reads, a private bus). Every cycle waits for TokenAdded (the token read and
its certificates parsed) and then TokenRemoved.

  default     VmRSS of the daemon (and of its PKCS#11 helper processes) every
              --every cycles: memory stays flat
  --valgrind  the daemon under valgrind memcheck (--leak-check=full): no
              error and no definitely lost block when it exits on SIGTERM

usage: bench/soak.py BUILDDIR [--cycles 1000] [--every 100] [--valgrind]
                     [--json FILE]
The method and the figures are in docs/security.md (Memory and leaks).
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tw_bench import Bench, Testbed, proc_status  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
            "--suppressions=" + os.path.join(TOP, "tests", "valgrind.supp")]


def fixture(build, name):
    with open(os.path.join(build, "tests", "data", "certs", name + ".der"), "rb") as f:
        return f.read()


def helper_rss_kb(pid):
    """VmRSS of the daemon's PKCS#11 helper processes (tokenwatchd --p11-helper)"""
    total = 0
    out = subprocess.run(["pgrep", "-f", "p11-helper"], capture_output=True, text=True)
    for p in out.stdout.split():
        try:
            with open("/proc/%s/status" % p) as f:
                status = f.read()
            if "\nPPid:\t%d\n" % pid not in status:
                continue
            total += int(status.split("VmRSS:")[1].split()[0])
        except (OSError, IndexError):
            pass
    return total


def count(b, member):
    return sum(1 for s in b.signals if s[1] == member)


def soak(build, cycles, every, valgrind):
    with Testbed(entries=2) as bed:
        vlog = os.path.join(bed.workdir, "valgrind.log")
        prefix = VALGRIND + ["--log-file=" + vlog] if valgrind else []
        env = dict(bed.env, STATE_DIRECTORY=os.path.join(bed.workdir, "state"),
                   TOKENWATCH_CONFIG=os.path.join(bed.workdir, "none.conf"))
        b = Bench(bed, build, prefix, env)
        card = bed.card(1, {"9a": fixture(build, "qualified-esign-qscd"),
                            "9c": fixture(build, "personal-ncp-plus")}, insert=False)
        timeout = 60 if valgrind else 20
        samples = []
        start = time.monotonic()
        for i in range(cycles + 1):
            if i % every == 0:
                b.pump(0.2)
                samples.append({"cycle": i, "rss_kb": proc_status(b.daemon.pid)["rss_kb"],
                                "helpers_rss_kb": helper_rss_kb(b.daemon.pid),
                                "seconds": round(time.monotonic() - start, 1)})
                print("cycle %5d  VmRSS %6d kB  helpers %6d kB  %6.1f s"
                      % (i, samples[-1]["rss_kb"], samples[-1]["helpers_rss_kb"],
                         samples[-1]["seconds"]), file=sys.stderr, flush=True)
            if i == cycles:
                break
            added, removed = count(b, "TokenAdded"), count(b, "TokenRemoved")
            card.insert()
            b.wait(lambda: count(b, "TokenAdded") > added, timeout)
            card.remove()
            b.wait(lambda: count(b, "TokenRemoved") > removed, timeout)
        out = {"cycles": cycles, "valgrind": valgrind, "samples": samples,
               "token_added": count(b, "TokenAdded"), "token_removed": count(b, "TokenRemoved"),
               "seconds": round(time.monotonic() - start, 1)}
        # after the first 100 cycles (caches, the module's first read) the
        # growth per 100 cycles
        later = [s for s in samples if s["cycle"] >= min(every, cycles)]
        if len(later) >= 2:
            out["rss_growth_kb_per_100_cycles"] = round(
                (later[-1]["rss_kb"] - later[0]["rss_kb"]) * 100
                / max(1, later[-1]["cycle"] - later[0]["cycle"]), 1)
        b.daemon.stop(120 if valgrind else 10, signal.SIGTERM)
        out["exit_status"] = b.daemon.poll()
        if valgrind:
            with open(vlog) as f:
                text = f.read()
            m = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
            out["definitely_lost_bytes"] = int(m.group(1).replace(",", "")) if m else 0
            m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
            out["valgrind_errors"] = int(m.group(1)) if m else None
            m = re.search(r"in use at exit: ([\d,]+) bytes in ([\d,]+) blocks", text)
            out["in_use_at_exit_bytes"] = int(m.group(1).replace(",", "")) if m else None
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--valgrind", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    out = soak(os.path.abspath(args.build), args.cycles, args.every, args.valgrind)
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    ok = out["exit_status"] == 0 and (not args.valgrind or (
        out["definitely_lost_bytes"] == 0 and out["valgrind_errors"] == 0))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
