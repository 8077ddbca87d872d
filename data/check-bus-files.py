#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check the D-Bus bus policy, the activation file and the systemd unit
against each other and against the D-Bus contract (dbus/*.xml).

usage: check-bus-files.py --policy CONF --activation SERVICE --unit UNIT.in
                          INTERFACE.xml...

Fails (exit 1) with one line per problem when:
  - the policy is not well-formed XML, is not a <busconfig>, or lacks the
    busconfig DOCTYPE;
  - anybody but root and the daemon's user (tokenwatch) may own the name,
    or a rule owns another name;
  - a send_destination is not the bus name (e.g. an interface name used as
    a destination), or comes without a send_interface;
  - an interface of the contract, or one of the standard interfaces the
    daemon serves, is not allowed; or an unknown interface is;
  - the activation file is not a valid [D-BUS Service] file for the name,
    with an absolute Exec=, User=tokenwatch and SystemdService=tokenwatch.service;
  - the unit's BusName=/Type=/Alias=/User=/Group= do not match.
"""

import argparse
import configparser
import os
import sys
import xml.dom.minidom
import xml.parsers.expat

BUS_NAME = "io.github.tokenwatch.TokenWatch1"
DAEMON_USER = "tokenwatch"
UNIT_NAME = "tokenwatch.service"
BUSCONFIG_PUBLIC_ID = "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
STANDARD_INTERFACES = {
    "org.freedesktop.DBus.Properties",
    "org.freedesktop.DBus.Introspectable",
    "org.freedesktop.DBus.Peer",
    "org.freedesktop.DBus.ObjectManager",
}
ACTIVATION_KEYS = {"Name", "Exec", "User", "SystemdService", "AssumedAppArmorLabel"}

problems = []


def problem(path, msg):
    problems.append(f"{path}: {msg}")


def contract_interfaces(paths):
    names = set()
    for path in paths:
        try:
            doc = xml.dom.minidom.parse(path)
        except (xml.parsers.expat.ExpatError, OSError) as e:
            problem(path, f"cannot parse: {e}")
            continue
        for iface in doc.getElementsByTagName("interface"):
            names.add(iface.getAttribute("name"))
    return names


def check_policy(path, interfaces):
    try:
        doc = xml.dom.minidom.parse(path)
    except (xml.parsers.expat.ExpatError, OSError) as e:
        problem(path, f"cannot parse: {e}")
        return
    if doc.doctype is None or doc.doctype.publicId != BUSCONFIG_PUBLIC_ID:
        problem(path, f'missing DOCTYPE busconfig PUBLIC "{BUSCONFIG_PUBLIC_ID}"')
    root = doc.documentElement
    if root.tagName != "busconfig":
        problem(path, f"root element is <{root.tagName}>, not <busconfig>")
        return

    allowed = set()
    for policy in root.getElementsByTagName("policy"):
        context = dict(policy.attributes.items())
        for rule in policy.childNodes:
            if rule.nodeType != rule.ELEMENT_NODE:
                continue
            attrs = dict(rule.attributes.items())
            where = f"<{rule.tagName} {' '.join(f'{k}={v!r}' for k, v in attrs.items())}>"
            if rule.tagName not in ("allow", "deny"):
                problem(path, f"unexpected element {where}")
                continue
            if "own" in attrs or "own_prefix" in attrs:
                if rule.tagName == "allow":
                    if attrs.get("own") != BUS_NAME:
                        problem(path, f"{where}: owns a name other than {BUS_NAME}")
                    if context not in ({"user": "root"}, {"user": DAEMON_USER}):
                        problem(path, f"{where}: only <policy user=\"root\"> and "
                                f"<policy user=\"{DAEMON_USER}\"> may own the name")
                continue
            dest = attrs.get("send_destination")
            if dest is not None:
                if dest in interfaces or dest in STANDARD_INTERFACES:
                    problem(path, f"{where}: an interface name used as send_destination")
                elif dest != BUS_NAME:
                    problem(path, f"{where}: send_destination is not {BUS_NAME}")
                iface = attrs.get("send_interface")
                if iface is None:
                    problem(path, f"{where}: send_destination without send_interface")
                elif rule.tagName == "allow":
                    if iface not in interfaces and iface not in STANDARD_INTERFACES:
                        problem(path, f"{where}: {iface} is not an interface of the contract")
                    allowed.add(iface)
            elif rule.tagName == "allow" and any(k.startswith("send_") for k in attrs):
                problem(path, f"{where}: send rule without send_destination")

    for iface in sorted((interfaces | STANDARD_INTERFACES) - allowed):
        problem(path, f"interface {iface} is not allowed for send_destination={BUS_NAME}")


def read_ini(path, strict=True):
    parser = configparser.ConfigParser(interpolation=None, strict=strict,
                                       delimiters=("=",), comment_prefixes=("#", ";"))
    parser.optionxform = str  # keys are case-sensitive
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except (configparser.Error, OSError, UnicodeDecodeError) as e:
        problem(path, f"cannot parse: {e}")
        return None
    return parser


def check_activation(path):
    ini = read_ini(path)
    if ini is None:
        return
    if ini.sections() != ["D-BUS Service"]:
        problem(path, f"sections are {ini.sections()}, expected only [D-BUS Service]")
        return
    sec = ini["D-BUS Service"]
    for key in sorted(set(sec) - ACTIVATION_KEYS):
        problem(path, f"unknown key {key}=")
    if sec.get("Name") != BUS_NAME:
        problem(path, f"Name= is {sec.get('Name')!r}, expected {BUS_NAME!r}")
    exec_ = sec.get("Exec", "")
    argv0 = exec_.split()[0] if exec_.split() else ""
    if not os.path.isabs(argv0) or os.path.basename(argv0) != "tokenwatchd" or "@" in exec_:
        problem(path, f"Exec= is {exec_!r}, expected an absolute path to tokenwatchd")
    if sec.get("User") != DAEMON_USER:
        problem(path, f"User= is {sec.get('User')!r}, expected {DAEMON_USER!r}")
    if sec.get("SystemdService") != UNIT_NAME:
        problem(path, f"SystemdService= is {sec.get('SystemdService')!r}, expected {UNIT_NAME!r}")


def check_unit(path):
    # systemd allows repeated keys; configparser does not, so only look at
    # the ones we care about.
    values = {}
    section = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            key, _, value = line.partition("=")
            values.setdefault((section, key), []).append(value)
    expect = {
        ("Service", "Type"): "dbus",
        ("Service", "BusName"): BUS_NAME,
        ("Install", "Alias"): f"dbus-{BUS_NAME}.service",
        ("Service", "User"): "@daemon_user@",
        ("Service", "Group"): "@daemon_user@",
    }
    for (sec, key), want in expect.items():
        got = values.get((sec, key))
        if got != [want]:
            problem(path, f"[{sec}] {key}= is {got}, expected {want!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--policy", required=True)
    ap.add_argument("--activation", required=True)
    ap.add_argument("--unit", required=True)
    ap.add_argument("interface_xml", nargs="+")
    args = ap.parse_args()

    interfaces = contract_interfaces(args.interface_xml)
    if not interfaces:
        problem("dbus/*.xml", "no interfaces found")
    check_policy(args.policy, interfaces)
    check_activation(args.activation)
    check_unit(args.unit)

    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"FAIL: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"bus policy, activation file and unit agree on {BUS_NAME} "
          f"({len(interfaces)} contract interfaces)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
