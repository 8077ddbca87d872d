"""Spawning helpers: children that cannot outlive the test.

Every child started here
  * gets PR_SET_PDEATHSIG=SIGKILL, so it is killed when the thread that
    spawned it dies (for whatever reason, even SIGKILL of the test);
  * leads its own process group (start_new_session), so teardown can signal
    the child together with anything it started;
  * writes stdout and stderr to a log file of its own in the instance's
    temp dir.

Note that the parent-death signal follows the *thread* that forked the
child: spawn from the main thread, or from a thread that lives as long as
the test bed.
"""

import ctypes
import os
import re
import signal
import subprocess
import time

#: Debian's interpreter (the `python3` on PATH may be another one).
PYTHON = "/usr/bin/python3"

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
# Resolved now: the child between fork and exec should only make the call.
_prctl = _libc.prctl


class ProcError(RuntimeError):
    pass


def _child_setup(parent_pid):
    def setup():
        if _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            os._exit(126)
        # The parent may have died before prctl() took effect.
        if os.getppid() != parent_pid:
            os._exit(126)
        # The signal mask survives exec: a parent that blocks SIGTERM (to
        # sigwait() for it) would otherwise make its children deaf to it.
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
    return setup


class Proc:
    """A child process in its own process group, logging to `log_path`.

    `stdout=subprocess.PIPE` keeps stdout as a pipe (e.g. to read the vcard
    CLI's `inserted`/`removed` lines, `proc.popen.stdout`); stderr always
    goes to the log file.  `stdin` defaults to /dev/null
    (`subprocess.PIPE`: `proc.popen.stdin`)."""

    def __init__(self, argv, log_path, *, env=None, cwd=None, stdin=None,
                 stdout=None, pass_fds=()):
        self.argv = [str(a) for a in argv]
        self.log_path = str(log_path)
        with open(self.log_path, "ab") as log:
            log.write(("=== twtestbed: %s\n" % " ".join(self.argv)).encode())
            log.flush()
            # Offset of this run's output, for wait_for_log()/log_text().
            self.log_start = log.tell()
            self.popen = subprocess.Popen(
                self.argv, env=env, cwd=cwd,
                stdin=subprocess.DEVNULL if stdin is None else stdin,
                stdout=log if stdout is None else stdout, stderr=log,
                pass_fds=pass_fds, start_new_session=True,
                preexec_fn=_child_setup(os.getpid()))
        self.pid = self.popen.pid
        self._reaped = False

    # -- state ---------------------------------------------------------
    def poll(self):
        """Exit status, or None while running (does not reap)."""
        if self._reaped:
            return self.popen.returncode
        try:
            info = os.waitid(os.P_PID, self.pid,
                             os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            self._reap()
            return self.popen.returncode
        if info is None:
            return None
        if info.si_code == os.CLD_EXITED:
            return info.si_status
        return -info.si_status

    @property
    def running(self):
        return self.poll() is None

    # -- logs ----------------------------------------------------------
    def log_text(self, whole_file=False):
        """This run's output (or the whole log file with earlier runs)."""
        with open(self.log_path, "rb") as f:
            if not whole_file:
                f.seek(self.log_start)
            return f.read().decode("utf-8", "replace")

    def wait_for_log(self, pattern, timeout):
        """Wait until regex `pattern` appears in this run's output.

        Raises ProcError if the process exits first or on timeout."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_text())
            if m:
                return m
            status = self.poll()
            if status is not None:
                raise ProcError("%s exited with %s before logging %r; log %s"
                                % (self.argv[0], status, pattern, self.log_path))
            if time.monotonic() > deadline:
                raise ProcError("%s did not log %r within %.1f s; log %s"
                                % (self.argv[0], pattern, timeout, self.log_path))
            time.sleep(0.01)

    # -- ending --------------------------------------------------------
    def signal_group(self, sig):
        """Send `sig` to the child's process group (no-op once reaped)."""
        if self._reaped:
            return
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout):
        """Wait up to `timeout` s for the child to exit; True if it did.

        The child stays a zombie until _reap(), so that its pid, which is
        also the process group id, cannot be reused in between."""
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def _reap(self):
        if not self._reaped:
            self.popen.wait()
            self._reaped = True

    def stop(self, timeout=5.0, sig=signal.SIGTERM):
        """`sig` to the group, wait, SIGKILL the group if needed; reap.

        Returns the exit status."""
        self.signal_group(sig)
        self.wait(timeout)
        # SIGKILL leftovers of the group (or the child itself on timeout).
        self.signal_group(signal.SIGKILL)
        self._reap()
        return self.popen.returncode

    def kill(self):
        """SIGKILL the whole group and reap."""
        return self.stop(timeout=5.0, sig=signal.SIGKILL)

