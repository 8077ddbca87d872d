"""A command in a private mount namespace with a small tmpfs over a
directory (standalone: run it by file path), and the test's side of it.

    /usr/bin/python3 mountns.py --tmpfs DIR:SIZE [--tmpfs ...] -- COMMAND [ARG...]

moves into a mount namespace of its own (/ made private first, so nothing
propagates back to the host), mounts a tmpfs of SIZE bytes (a number with
an optional k/m suffix, as mount(8) takes it) over each existing DIR, and
execs COMMAND in the same process: its pid is the command's.  A test gives
a daemon a state directory that fills up or turns read-only this way,
without touching the host's mounts.  If the namespace cannot be made (not
root), it exits with EXIT_NO_NAMESPACE and says why on stderr: it never
mounts anything outside a namespace of its own.

From outside, while the command runs (as root):
    path_in(pid, dir)            the path of `dir` as the command sees it
    remount(pid, dir, options)   e.g. "ro", "rw", "size=1m"
The tmpfs goes when the last process in the namespace exits.
"""

import os
import subprocess
import sys

EXIT_NO_NAMESPACE = 125


def path_in(pid, directory):
    """`directory` as process `pid` sees it (through /proc/PID/root)."""
    return "/proc/%d/root%s" % (pid, os.path.abspath(directory))


def remount(pid, directory, options):
    """Remount the tmpfs over `directory` in `pid`'s namespace with
    `options` ("ro", "rw", "size=1m", ...)."""
    subprocess.run(["nsenter", "--target", str(pid), "--mount", "--",
                    "mount", "-o", "remount," + options, directory],
                   check=True, capture_output=True)


def main(argv):
    args = list(argv)
    mounts = []
    while args[:1] == ["--tmpfs"] and len(args) > 1:
        directory, _, size = args[1].rpartition(":")
        if not directory or not size:
            sys.exit("mountns.py: --tmpfs takes DIR:SIZE, not %r" % args[1])
        if not os.path.isdir(directory):
            sys.exit("mountns.py: no directory %s to mount a tmpfs over" % directory)
        mounts.append((os.path.abspath(directory), size))
        del args[:2]
    if not mounts or len(args) < 2 or args[0] != "--":
        sys.exit("usage: mountns.py --tmpfs DIR:SIZE [--tmpfs ...] -- "
                 "COMMAND [ARG...]")
    # run by file path: sockact.py is beside it on sys.path
    from sockact import private_mounts
    try:
        private_mounts([(d, "size=%s,mode=0700" % size) for d, size in mounts])
    except OSError as e:
        print("mountns.py: no private mount namespace (%s); not running %s"
              % (e, args[1]), file=sys.stderr, flush=True)
        sys.exit(EXIT_NO_NAMESPACE)
    os.execvp(args[1], args[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
