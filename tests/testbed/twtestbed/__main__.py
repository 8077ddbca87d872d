"""Run a test bed until SIGINT/SIGTERM (for demos and manual testing).

    cd tests/testbed && /usr/bin/python3 -m twtestbed --entries 2

Prints shell assignments (`export NAME='value'`) for the environment of
clients and the port of each reader, then `# ready`.  Cards are started
separately: /usr/bin/python3 -m twtestbed.vcard --port PORT ...
"""

import argparse
import shlex
import signal

from . import Testbed


def main():
    ap = argparse.ArgumentParser(prog="python3 -m twtestbed",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=2,
                    help="vpcd entries (2 readers each)")
    ap.add_argument("--no-bus", action="store_true",
                    help="no private dbus-daemon")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp dir (logs) at exit")
    args = ap.parse_args()

    signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    with Testbed(args.entries, bus=not args.no_bus, keep=args.keep) as tb:
        for name, value in dict(tb.env_vars,
                                TWTESTBED_DIR=tb.workdir).items():
            print("export %s=%s" % (name, shlex.quote(value)))
        for i, reader in enumerate(tb.reader_names):
            print("# reader %d: %s, card port %d" % (i, reader,
                                                     tb.port_for(i)))
        print("# ready", flush=True)
        signal.sigwait(signals)


if __name__ == "__main__":
    main()
