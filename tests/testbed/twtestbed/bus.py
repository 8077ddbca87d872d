"""A private D-Bus daemon on a unix socket in the instance's temp dir.

The policy allows everything (like a session bus), so the same bus can
stand in for both the session and the system bus of the code under test;
any user may connect (a test may run a program as another uid).
"""

import os
import select
from xml.sax.saxutils import escape

from .procs import Proc

DBUS_DAEMON = "/usr/bin/dbus-daemon"

_CONFIG = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%(socket)s</listen>
  <auth>EXTERNAL</auth>
%(servicedirs)s  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class BusError(RuntimeError):
    pass


class PrivateBus:
    """dbus-daemon listening on `workdir`/bus.sock.

    `service_dirs`: directories of .service files for D-Bus activation.
    Use as a context manager, or start() and stop()."""

    def __init__(self, workdir, service_dirs=(), start_timeout=10.0):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.socket_path = os.path.join(self.workdir, "bus.sock")
        self.config_path = os.path.join(self.workdir, "bus.conf")
        self.log_path = os.path.join(self.workdir, "dbus-daemon.log")
        self.service_dirs = [os.path.abspath(d) for d in service_dirs]
        self.start_timeout = start_timeout
        self.address = None
        self.proc = None

    def start(self):
        with open(self.config_path, "w") as f:
            f.write(_CONFIG % {
                "socket": escape(self.socket_path),
                "servicedirs": "".join("  <servicedir>%s</servicedir>\n"
                                       % escape(d)
                                       for d in self.service_dirs)})
        # The address comes on a pipe of its own, printed once the bus
        # listens.  (Not on stdout: activated services inherit that, and
        # would get EPIPE once the reading end is closed.)
        r, w = os.pipe()
        try:
            self.proc = Proc([DBUS_DAEMON, "--config-file=" + self.config_path,
                              "--nofork", "--nopidfile",
                              "--print-address=%d" % w],
                             self.log_path, pass_fds=(w,))
        finally:
            os.close(w)
        with os.fdopen(r, "rb") as out:
            ready, _, _ = select.select([out], [], [], self.start_timeout)
            line = out.readline().decode().strip() if ready else ""
        if not line:
            self.proc.kill()
            raise BusError("dbus-daemon did not start; log %s"
                           % self.log_path)
        self.address = line
        return self

    def stop(self, timeout=5.0):
        if self.proc is not None:
            self.proc.stop(timeout)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
