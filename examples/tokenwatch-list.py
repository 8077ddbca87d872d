#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""List what tokenwatchd sees, through libtokenwatch's GObject introspection
(gi.repository.Tokenwatch), and with --watch follow the changes.

    tokenwatch-list.py [--session] [--watch] [--seconds N]

--session talks to a tokenwatchd on the session bus (tokenwatchd --session),
as the tests do; the default is the system bus. Needs python3-gi and the
typelib Tokenwatch-1.0 (GI_TYPELIB_PATH for an uninstalled build).
"""

import argparse
import sys

import gi

gi.require_version("Gio", "2.0")
gi.require_version("Tokenwatch", "1.0")
from gi.repository import Gio, GLib, Tokenwatch  # noqa: E402


def nick(value):
    """The wire name of an enum value ("final-try"), as tokenwatchctl prints it"""
    return value.value_nick


def show(client):
    print("tokenwatchd %s, pcscd %s" % (client.get_version(),
                                        "available" if client.get_pcsc_available()
                                        else "not available"))
    for reader in client.get_readers():
        print("reader %s: %s" % (reader.get_name(), nick(reader.get_card_state())))
        for token in client.get_tokens_for_reader(reader):
            show_token(client, token)
    for token in client.get_tokens():
        if token.get_reader_path() == "/" and token.get_present():
            show_token(client, token)  # SoftHSM and other tokens with no reader
    soon = client.get_certificates_expiring(30)
    print("%d certificate(s) expiring within 30 days" % len(soon))


def show_token(client, token):
    print("  token %s (%s %s), user PIN %s" % (token.get_label(), token.get_manufacturer(),
                                               token.get_model(),
                                               nick(token.get_user_pin_state())))
    for cert in client.get_certificates_for_token(token):
        print("    certificate %s: %s, %d days left (%s)"
              % (cert.get_common_name(), nick(cert.get_kind()), cert.get_days_left(),
                 nick(cert.get_status())))


def follow_presence(token):
    """a remembered token stays known while out of its reader: Present tells"""
    token.connect("notify::present",
                  lambda t, _: print("token %s: %s" % ("in" if t.get_present() else "out",
                                                       t.get_label()), flush=True))


def new_token(client, token):
    print("token added: %s" % token.get_label(), flush=True)
    follow_presence(token)


def watch(client, seconds):
    loop = GLib.MainLoop()
    client.connect("card-inserted", lambda c, r: print("card inserted: %s" % r.get_name(),
                                                       flush=True))
    client.connect("card-removed", lambda c, r: print("card removed: %s" % r.get_name(),
                                                      flush=True))
    # tokens seen for the first time, and tokens forgotten
    client.connect("token-added", new_token)
    client.connect("token-removed", lambda c, t: print("token forgotten: %s" % t.get_label(),
                                                       flush=True))
    for token in client.get_tokens():
        follow_presence(token)
    client.connect("expiry-warning",
                   lambda c, cert, days, level: print("expiry warning: %s, %d days (%s)"
                                                      % (cert.get_common_name(), days, level),
                                                      flush=True))
    if seconds:
        GLib.timeout_add_seconds(seconds, loop.quit)
    print("watching", flush=True)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--session", action="store_true", help="tokenwatchd on the session bus")
    ap.add_argument("--watch", action="store_true", help="then follow the changes")
    ap.add_argument("--seconds", type=int, default=0, help="stop watching after N seconds")
    args = ap.parse_args()
    bus = Gio.BusType.SESSION if args.session else Gio.BusType.SYSTEM
    try:
        client = Tokenwatch.Client.new_for_bus(bus, None)
    except GLib.Error as e:
        print("tokenwatch-list: %s" % e.message, file=sys.stderr)
        return 1
    if not client.get_daemon_running():
        print("tokenwatch-list: tokenwatchd is not running", file=sys.stderr)
        return 1
    show(client)
    if args.watch:
        watch(client, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
