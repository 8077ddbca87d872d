"""Insertion to the desktop notification, for bench/tw_bench.py.

tokenwatchd with tokenwatch-agent, and opensc-notify (OpenSC's notifier),
run side by side on the same test bed: the same pcscd, the same card
insertions, one private session bus with python-dbusmock's
notification_daemon as the notification server. A PC/SC client blocked in
SCardGetStatusChange stamps pcscd's insertion event; a D-Bus monitor on the
bus (BecomeMonitor) stamps every Notify call as the bus delivers it, on the
same clock. opensc-notify says "card inserted" and reads nothing;
tokenwatch-agent's notification says which certificate expires when, so it
comes after the card is read. Each round is a new card whose certificate
expires in 10 days (a warning the daemon has not given before).
"""

import datetime
import json
import os
import random
import shutil
import tempfile
import time

import gi

gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

from twtestbed import Testbed  # noqa: E402

import tw_scale  # noqa: E402

NOTIFY_NAME = "org.freedesktop.Notifications"
OPENSC = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"


class NotifyMonitor:
    """Every Notify call on the bus, stamped as the bus hands it to us"""

    def __init__(self, address):
        self.calls = []  # (t, app_name, summary)
        self.conn = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.conn.add_filter(self._filter)
        self.conn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                            "org.freedesktop.DBus.Monitoring", "BecomeMonitor",
                            GLib.Variant("(asu)", (["type='method_call',interface='%s',"
                                                    "member='Notify'" % NOTIFY_NAME], 0)),
                            None, Gio.DBusCallFlags.NONE, 5000, None)

    def _filter(self, conn, message, incoming):
        if incoming and message.get_member() == "Notify":
            body = message.get_body()
            self.calls.append((time.monotonic(), body[0], body[3]))
            # a copy for us to see only: GDBus must not answer it (a monitor
            # that sends anything is disconnected)
            return None
        return message


def bench_notify(build, rounds):
    home = tempfile.mkdtemp(prefix="tw-bench-home-", dir="/var/tmp")
    try:
        with Testbed(entries=2) as bed:
            env = dict(bed.env, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                       XDG_STATE_HOME=os.path.join(home, ".local", "state"),
                       STATE_DIRECTORY=os.path.join(home, "daemon-state"), LC_ALL="C.UTF-8")
            bed.spawn("notifier", ["/usr/bin/python3", "-m", "dbusmock", "--template",
                                   "notification_daemon"], env=env)
            mon = NotifyMonitor(bed.bus.address)
            busconn = Gio.DBusConnection.new_for_address_sync(
                bed.bus.address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
                | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)

            def has_owner(name):
                return busconn.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                         "org.freedesktop.DBus", "NameHasOwner",
                                         GLib.Variant("(s)", (name,)), None, 0, 5000,
                                         None).unpack()[0]

            tw_scale.wait(lambda: has_owner(NOTIFY_NAME), 15)
            bed.spawn("tokenwatchd", [os.path.join(build, "daemon", "tokenwatchd"), "--session",
                                      "--no-p11-kit", "--pkcs11-module", OPENSC], env=env)
            tw_scale.wait(lambda: has_owner("io.github.tokenwatch.TokenWatch1"), 15)
            bed.spawn("agent", [os.path.join(build, "agent", "tokenwatch-agent"),
                                "--daemon-session"], env=env)
            tw_scale.wait(lambda: has_owner("io.github.tokenwatch.Agent"), 15)
            bed.spawn("opensc-notify", ["opensc-notify"], env=env)
            time.sleep(2.0)  # opensc-notify has no bus name to wait for
            w = tw_scale.Watchers(bed, [0])
            ours, theirs = [], []
            for r in range(rounds):
                der = bed.certs.leaf("Notify %d %d" % (os.getpid(), r), key="ec256",
                                     not_after=datetime.timedelta(days=10, hours=1)).der
                card = bed.card(0, {"9a": der}, insert=False)
                time.sleep(random.uniform(0.3, 0.8))
                n_ev, n_calls = len(w.events), len(mon.calls)
                card.insert()

                def both():
                    calls = mon.calls[n_calls:]
                    return (any(e[2] for e in w.events[n_ev:])
                            and any(c[1] != "tokenwatch" for c in calls)
                            and any(c[1] == "tokenwatch" for c in calls))

                try:
                    tw_scale.wait(both, 30)
                except RuntimeError:
                    raise RuntimeError("no notifications: %s %s" % (mon.calls, w.events))
                t0 = [e[0] for e in w.events[n_ev:] if e[2]][0]
                calls = mon.calls[n_calls:]
                # opensc-notify sends no application name (GNotification)
                theirs.append(([c[0] for c in calls if c[1] != "tokenwatch"][0] - t0) * 1000)
                ours.append(([c[0] for c in calls if c[1] == "tokenwatch"][0] - t0) * 1000)
                sample = [c for c in calls if c[1] == "tokenwatch"][0]
                card.remove()
                time.sleep(1.0)
            w.close()
            out = {"rounds": rounds,
                   "tokenwatch_agent_ms": tw_scale.pct(ours),
                   "opensc_notify_ms": tw_scale.pct(theirs),
                   "tokenwatch_summary": sample[2]}
            out["ratio_p50"] = round(out["tokenwatch_agent_ms"]["p50"]
                                     / out["opensc_notify_ms"]["p50"], 2)
            return out
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    import sys
    print(json.dumps(bench_notify(os.path.abspath(sys.argv[1]), int(sys.argv[2])), indent=2))
