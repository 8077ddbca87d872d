#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Load the bus policy into a real, private dbus-daemon and check what it
allows.

usage: test-bus-policy.py POLICY.conf ACTIVATION.service INTERFACE.xml...

A private bus is started from the distribution's system.conf (its own
<includedir>s and service directories dropped, our policy <include>d, a
service directory holding only our activation file), so dbus-daemon itself
parses the policy and the activation file; the name must then be listed by
ListActivatableNames. Then, when run as root (as CI does):
  - the daemon's user tokenwatch (or, where it does not exist, the system
    user daemon given its rules) and root may own
    io.github.tokenwatch.TokenWatch1;
  - an unprivileged user (nobody, through setpriv) may not own it;
  - that user's calls on every contract interface and on Properties,
    Introspectable, Peer and ObjectManager reach the owner (they fail with
    the owner's UnknownMethod, not with the bus's AccessDenied);
  - a call on any other interface is refused by the bus.
Not root: only the parse check runs, and the test exits 77 (skipped).
"""

import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import xml.dom.minidom

BUS_NAME = "io.github.tokenwatch.TokenWatch1"
OBJECT_PATH = "/io/github/tokenwatch/TokenWatch1"
STANDARD_INTERFACES = [
    "org.freedesktop.DBus.Properties",
    "org.freedesktop.DBus.Introspectable",
    "org.freedesktop.DBus.Peer",
    "org.freedesktop.DBus.ObjectManager",
]
SYSTEM_CONF = "/usr/share/dbus-1/system.conf"
NOBODY = "65534"
DAEMON_USER = "tokenwatch"
# where the daemon's user does not exist (a build machine), the policy is
# checked with its rules given to this existing system user instead
STAND_IN_USER = "daemon"

# Runs as the daemon's user: may it become the name's primary owner?
OWNER = r"""
import sys
from gi.repository import Gio, GLib
c = Gio.DBusConnection.new_for_address_sync(
    sys.argv[1], Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
    Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
r = c.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "RequestName", GLib.Variant("(su)", (sys.argv[2], 4)), None, 0, 5000, None)
print(r.unpack()[0])
"""

# Runs as nobody: reads the bus address and the interfaces on stdin-less argv,
# prints one "interface result" line per call.
CLIENT = r"""
import sys
from gi.repository import Gio, GLib
addr, bus_name, path = sys.argv[1:4]
c = Gio.DBusConnection.new_for_address_sync(
    addr, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
    Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
def result(dest, dpath, iface, member, args):
    try:
        c.call_sync(dest, dpath, iface, member, args, None, 0, 5000, None)
        return "ok"
    except GLib.Error as e:
        return Gio.DBusError.get_remote_error(e) or e.message
print("own", result("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                    "RequestName", GLib.Variant("(su)", (bus_name, 4))))
for iface in sys.argv[4:]:
    print(iface, result(bus_name, path, iface, "NoSuchMember", None))
"""


def bus_config(policy, socket, servicedir):
    with open(SYSTEM_CONF, encoding="utf-8") as f:
        conf = f.read()
    # no host policy snippets, no pid file, no service helper, no syslog
    conf = re.sub(r"<includedir>.*?</includedir>", "", conf, flags=re.S)
    conf = re.sub(r"<include [^>]*>.*?</include>", "", conf, flags=re.S)
    conf = re.sub(r"<(user|pidfile|servicehelper)>.*?</\1>", "", conf, flags=re.S)
    conf = re.sub(r"<(standard_system_servicedirs|syslog)\s*/>", "", conf)
    conf = re.sub(r"<listen>.*?</listen>", f"<listen>unix:path={socket}</listen>", conf,
                  flags=re.S)
    return conf.replace("</busconfig>", f"<include>{os.path.abspath(policy)}</include>\n"
                        f"<servicedir>{servicedir}</servicedir>\n</busconfig>")


def interfaces_of(paths):
    names = []
    for p in paths:
        for iface in xml.dom.minidom.parse(p).getElementsByTagName("interface"):
            names.append(iface.getAttribute("name"))
    return names


def main():
    policy, activation, xmls = sys.argv[1], sys.argv[2], sys.argv[3:]
    dbus_daemon = shutil.which("dbus-daemon")
    if dbus_daemon is None or not os.path.exists(SYSTEM_CONF):
        print(f"SKIP: needs dbus-daemon and {SYSTEM_CONF} (Debian: dbus-daemon, dbus)")
        return 77

    tmp = tempfile.mkdtemp(prefix="tw-bus-policy-")
    os.chmod(tmp, 0o755)
    socket = os.path.join(tmp, "bus")
    conf = os.path.join(tmp, "bus.conf")
    servicedir = os.path.join(tmp, "services")
    os.mkdir(servicedir)
    shutil.copy(activation, os.path.join(servicedir, f"{BUS_NAME}.service"))
    daemon_user = DAEMON_USER
    try:
        pwd.getpwnam(DAEMON_USER)
    except KeyError:
        daemon_user = STAND_IN_USER
        with open(policy, encoding="utf-8") as f:
            text = f.read()
        policy = os.path.join(tmp, os.path.basename(policy))
        with open(policy, "w", encoding="utf-8") as f:
            f.write(text.replace(f'user="{DAEMON_USER}"', f'user="{STAND_IN_USER}"'))
        print(f"no user {DAEMON_USER} here: its rules are checked as {STAND_IN_USER}'s")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(bus_config(policy, socket, servicedir))

    bus = subprocess.Popen([dbus_daemon, "--config-file", conf, "--nofork", "--print-address"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        addr = bus.stdout.readline().strip()
        if not addr:
            bus.wait(5)
            print(f"FAIL: dbus-daemon refused the configuration:\n{bus.stderr.read()}")
            return 1
        print(f"dbus-daemon loaded {policy}")
        if not activatable(addr):
            print(f"FAIL: dbus-daemon does not list {BUS_NAME} as activatable from {activation}")
            return 1
        print(f"dbus-daemon lists {BUS_NAME} as activatable")

        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            print("SKIP: the ownership and send checks need root and setpriv (util-linux)")
            return 77
        return check_rules(addr, interfaces_of(xmls), daemon_user)
    finally:
        bus.terminate()
        bus.wait(5)
        shutil.rmtree(tmp, ignore_errors=True)


def connect(addr):
    from gi.repository import Gio
    return Gio.DBusConnection.new_for_address_sync(
        addr, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)


def activatable(addr):
    reply = connect(addr).call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                    "org.freedesktop.DBus", "ListActivatableNames",
                                    None, None, 0, 5000, None)
    return BUS_NAME in reply.unpack()[0]


def check_rules(addr, contract, daemon_user):
    from gi.repository import GLib

    failures = []
    # the daemon's user may own the name (and gives it back when it exits)
    uid = pwd.getpwnam(daemon_user).pw_uid
    gid = pwd.getpwnam(daemon_user).pw_gid
    out = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                          sys.executable, "-c", OWNER, addr, BUS_NAME],
                         capture_output=True, text=True, timeout=60)
    if out.stdout.strip() != "1":
        failures.append(f"{daemon_user} could not become primary owner: "
                        f"{out.stdout.strip()} {out.stderr.strip()}")
    else:
        print(f"  {daemon_user}: primary owner of {BUS_NAME}")
    owner = connect(addr)
    reply = owner.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus", "RequestName",
                            GLib.Variant("(su)", (BUS_NAME, 4)), None, 0, 5000, None)
    if reply.unpack()[0] != 1:
        failures.append(f"root could not become primary owner: {reply.unpack()}")

    # The owner exports nothing: GDBus answers every call that reaches it
    # with UnknownMethod from its worker thread, which is all we need.
    allowed = contract + STANDARD_INTERFACES
    refused = ["org.example.NotTokenwatch", "io.github.tokenwatch.TokenWatch1.Other"]
    out = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                          sys.executable, "-c", CLIENT, addr, BUS_NAME, OBJECT_PATH]
                         + allowed + refused,
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        print(out.stderr)
        failures.append(f"client exited with {out.returncode}")
    results = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    denied = "org.freedesktop.DBus.Error.AccessDenied"

    if results.get("own") != denied:
        failures.append(f"nobody RequestName {BUS_NAME}: {results.get('own')}, expected {denied}")
    for iface in allowed:
        if results.get(iface) in (None, denied):
            failures.append(f"nobody -> {iface}: {results.get(iface)}, expected to reach the owner")
    for iface in refused:
        if results.get(iface) != denied:
            failures.append(f"nobody -> {iface}: {results.get(iface)}, expected {denied}")

    for line in out.stdout.splitlines():
        print("  nobody:", line)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
