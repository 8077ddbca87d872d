"""Socket-activation launcher for pcscd (standalone: run it by file path).

    /usr/bin/python3 sockact.py [--isolate] SOCKET -- COMMAND [ARG...]

Does what systemd does for a socket unit, for one AF_UNIX stream socket:
binds and listens on SOCKET (replacing a stale file), puts the listening
socket on fd 3, sets LISTEN_FDS=1 and LISTEN_PID=<own pid> and execs
COMMAND in the same process (so LISTEN_PID stays right).

pcscd ignores PCSCLITE_CSOCK_NAME, so this is the only way to give it a
private socket.  But even socket-activated it writes, and on exit deletes,
/run/pcscd/pcscd.pid, and it grabs every USB reader it finds.  --isolate
therefore first moves into a private mount namespace with a tmpfs over
/run/pcscd and an empty tmpfs over /usr/lib/pcsc/drivers (reader.conf
drivers must live elsewhere).  If that fails (not root, chroot without a
mount point at /), it prints a line starting with WARNING_TAG on stderr and
goes on without isolation.
"""

import ctypes
import os
import socket
import sys

WARNING_TAG = "twtestbed-sockact: WARNING:"

_CLONE_NEWNS = 0x00020000
_MS_NOSUID = 0x2
_MS_NODEV = 0x4
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18

_PRIVATE_RUN = "/run/pcscd"
_DRIVERS = "/usr/lib/pcsc/drivers"


def private_mounts(tmpfs):
    """Move into a mount namespace of our own and mount a tmpfs over each
    existing directory of `tmpfs`, a list of (directory, mount options).
    Raises OSError.  Also used by mountns.py."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                           ctypes.c_ulong, ctypes.c_char_p)

    def check(ret, what):
        if ret != 0:
            err = ctypes.get_errno()
            raise OSError(err, "%s: %s" % (what, os.strerror(err)))

    check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    # Without this, mounts below would propagate back to the host's
    # namespace when / is a shared mount (the systemd default).
    check(libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None),
          "make / private")
    for target, options in tmpfs:
        if os.path.isdir(target):
            check(libc.mount(b"tmpfs", os.fsencode(target), b"tmpfs",
                             _MS_NOSUID | _MS_NODEV, options.encode()),
                  "tmpfs over " + target)


def isolate():
    # A mount point must exist.  /run/pcscd is missing when no system pcscd
    # ever ran; creating the empty directory is the only trace left on the
    # host (pcscd would create it itself).
    os.makedirs(_PRIVATE_RUN, mode=0o755, exist_ok=True)
    private_mounts([(_PRIVATE_RUN, "mode=0755"), (_DRIVERS, "mode=0755")])


def listen_on_fd3(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    os.chmod(path, 0o666)           # like systemd's default SocketMode
    sock.listen(socket.SOMAXCONN)
    fd = sock.detach()
    if fd == 3:
        os.set_inheritable(3, True)  # Python opens sockets close-on-exec
    else:
        os.dup2(fd, 3, inheritable=True)
        os.close(fd)


def main(argv):
    args = list(argv)
    want_isolation = args[:1] == ["--isolate"]
    if want_isolation:
        args.pop(0)
    if len(args) < 3 or args[1] != "--":
        sys.exit("usage: sockact.py [--isolate] SOCKET -- COMMAND [ARG...]")
    path, command = args[0], args[2:]

    if want_isolation:
        try:
            isolate()
        except OSError as e:
            print("%s mount-namespace isolation failed (%s); pcscd may use "
                  "the host's /run/pcscd and USB readers" % (WARNING_TAG, e),
                  file=sys.stderr, flush=True)

    listen_on_fd3(path)
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.environ.pop("LISTEN_FDNAMES", None)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
