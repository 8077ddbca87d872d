#!/usr/bin/python3
"""The tokenwatch demo: a private pcscd with four virtual readers, tokenwatchd
on a private bus, and what tokenwatchctl shows while virtual cards go in and
out and pcscd goes away and comes back. Runs by itself in about 15 s.

usage: scripts/demo.py BUILDDIR
"""

import os
import subprocess
import sys
import time
from datetime import timedelta

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "testbed"))

from twtestbed import Testbed  # noqa: E402

BOLD = "\033[1m" if sys.stdout.isatty() and "NO_COLOR" not in os.environ else ""
RESET = "\033[0m" if BOLD else ""


def step(text):
    print("\n%s==> %s%s" % (BOLD, text, RESET), flush=True)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    daemon = os.path.join(build, "daemon", "tokenwatchd")
    ctl = os.path.join(build, "cli", "tokenwatchctl")

    with Testbed(entries=2) as bed:
        env = bed.env

        def run_ctl(*args):
            print("$ tokenwatchctl %s" % " ".join(args), flush=True)
            subprocess.run([ctl, "--session"] + list(args), env=env, check=True)

        step("A private pcscd with %d virtual readers (vpcd), socket %s"
             % (len(bed.reader_names), bed.pcscd.socket_path))
        for i, name in enumerate(bed.reader_names):
            print("  %-22s card port %d" % (name, bed.port_for(i)))

        step("Certificates for the virtual cards (made with openssl)")
        qualified = bed.certs.leaf("Jan Novák", key="ec256", qc_compliance=True,
                                   qc_sscd=True, qc_type="esign",
                                   policies=["0.4.0.194112.1.2"],
                                   not_after=timedelta(days=45))
        commercial = bed.certs.leaf("Jan Novák (commercial)",
                                    policies=["0.4.0.2042.1.2"],
                                    not_after=timedelta(days=400))
        print("  %s, qualified, key in a QSCD, expires in 45 days" % qualified.cn)
        print("  %s, NCP+, expires in 400 days" % commercial.cn)

        step("tokenwatchd on a private D-Bus, talking to that pcscd, reading cards with OpenSC")
        tw = bed.spawn("tokenwatchd", [daemon, "--session", "--verbose", "--no-p11-kit",
                                       "--pkcs11-module",
                                       "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"])
        deadline = time.monotonic() + 10
        while subprocess.run([ctl, "--session", "status"], env=env,
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline or not tw.running:
                sys.exit("tokenwatchd did not come up:\n" + tw.log_text())
            time.sleep(0.1)
        run_ctl("status")
        run_ctl("readers")

        step("Live events (tokenwatchctl monitor) while cards go in and out")
        monitor = subprocess.Popen([ctl, "--session", "monitor"], env=env)
        time.sleep(0.5)
        card = bed.card(0, {"9c": qualified.der, "9a": commercial.der})
        time.sleep(1.0)
        second = bed.card(2, {"9a": commercial.der})
        time.sleep(1.0)
        card.remove()
        time.sleep(1.0)
        card.insert()
        time.sleep(1.0)

        step("pcscd stops, then comes back: tokenwatchd reconnects by itself")
        bed.pcscd.stop()
        time.sleep(1.5)
        bed.pcscd.start()
        time.sleep(2.5)
        # pcscd's restart disconnected the cards: put them back
        card.insert()
        second.insert(port=bed.port_for(2))
        time.sleep(1.5)
        monitor.terminate()
        monitor.wait(5)

        step("What tokenwatchd sees now")
        run_ctl("status")
        run_ctl("readers")
        run_ctl("tokens")
        run_ctl("certs")
        run_ctl("--json", "status")

        step("tokenwatchd's own log (last lines)")
        print("\n".join(tw.log_text().strip().splitlines()[-12:]))
        tw.stop()
        card.remove()
        second.remove()
    step("Done: pcscd, tokenwatchd and the private bus are stopped")


if __name__ == "__main__":
    main()
