#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fail when docs/dbus-api.md falls behind the D-Bus contract.

usage: check-dbus-docs.py [--errors SOURCE]... DBUS-API.md INTERFACE.xml...

For every interface in the XML files, dbus-api.md must have a section
"## <interface name>", and in that section:
  - every property as a table row "| `Name` | `type` | ...";
  - every method as "`Name(in s arg, out ay der)`" (direction, type, name);
  - every signal as "`Name(o reader, i days_left)`" (type, name);
  - every quoted value in the XML comments (the enumeration strings, e.g.
    "in-use") in backticks, with or without the quotes.
It also fails on documented members that the contract does not have (a
"| `Name` | `type` |" row or a "#### `Name(...)`" heading in an interface
section), and, for each --errors SOURCE (e.g. client-lib/tokenwatch-error.c),
on D-Bus error names that the source and the page do not share.
"""

import argparse
import re
import sys
import xml.dom.minidom

ERROR_RE = re.compile(r"io\.github\.tokenwatch\.TokenWatch1\.Error\.[A-Za-z]+")
ROW_RE = re.compile(r"^\|\s*`([A-Za-z0-9_]+)`\s*\|\s*`([^`]+)`\s*\|")
HEADING_MEMBER_RE = re.compile(r"^#{3,6}\s+`([A-Za-z0-9_]+)\(")
QUOTED_RE = re.compile(r'"([^"\s]+)"')


def sections(markdown):
    """{heading text of a level-2 section: its body}"""
    out = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line[3:].strip().strip("`")
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def comments(node):
    for child in node.childNodes:
        if child.nodeType == child.COMMENT_NODE:
            yield child.data
        elif child.hasChildNodes():
            yield from comments(child)


def check_interface(iface, comment_text, body, problems):
    name = iface.getAttribute("name")
    members = set()
    rows = {}
    for line in body.splitlines():
        m = ROW_RE.match(line)
        if m:
            rows[m.group(1)] = m.group(2)

    for prop in iface.getElementsByTagName("property"):
        pname, ptype = prop.getAttribute("name"), prop.getAttribute("type")
        members.add(pname)
        if pname not in rows:
            problems.append(f"{name}: property {pname} ({ptype}) is not documented "
                            f"(expected a row \"| `{pname}` | `{ptype}` | ...\")")
        elif rows[pname] != ptype:
            problems.append(f"{name}: property {pname} is documented as `{rows[pname]}`, "
                            f"the contract says `{ptype}`")

    for kind in ("method", "signal"):
        for member in iface.getElementsByTagName(kind):
            mname = member.getAttribute("name")
            members.add(mname)
            args = []
            for arg in member.getElementsByTagName("arg"):
                parts = [arg.getAttribute("type"), arg.getAttribute("name")]
                if kind == "method":
                    parts.insert(0, arg.getAttribute("direction") or "in")
                args.append(" ".join(p for p in parts if p))
            sig = f"`{mname}({', '.join(args)})`"
            if sig not in body:
                problems.append(f"{name}: {kind} {mname} is not documented (expected {sig})")

    for value in sorted(set(QUOTED_RE.findall(comment_text))):
        if f'`"{value}"`' not in body and f"`{value}`" not in body:
            problems.append(f'{name}: value "{value}" from the contract is not documented '
                            f'(expected `"{value}"` in its section)')

    for line in body.splitlines():
        m = ROW_RE.match(line) or HEADING_MEMBER_RE.match(line)
        if m and m.group(1) not in members:
            problems.append(f"{name}: documents {m.group(1)}, which the contract does not have")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--errors", action="append", default=[],
                    help="a source file registering the D-Bus error names")
    ap.add_argument("markdown")
    ap.add_argument("xml", nargs="+")
    args = ap.parse_args()

    with open(args.markdown, encoding="utf-8") as f:
        markdown = f.read()
    secs = sections(markdown)
    problems = []
    n_interfaces = 0

    for path in args.xml:
        doc = xml.dom.minidom.parse(path)
        comment_text = "\n".join(comments(doc))
        for iface in doc.getElementsByTagName("interface"):
            n_interfaces += 1
            name = iface.getAttribute("name")
            if name not in secs:
                problems.append(f"{name}: no \"## {name}\" section")
                continue
            check_interface(iface, comment_text, secs[name], problems)

    documented_errors = set(ERROR_RE.findall(markdown))
    for path in args.errors:
        with open(path, encoding="utf-8") as f:
            registered = set(ERROR_RE.findall(f.read()))
        if not registered:
            problems.append(f"{path}: no error names found")
        for e in sorted(registered - documented_errors):
            problems.append(f"error {e} (registered in {path}) is not documented")
        for e in sorted(documented_errors - registered):
            problems.append(f"error {e} is documented but not registered in {path}")

    for p in problems:
        print(f"{args.markdown}: {p}", file=sys.stderr)
    if problems:
        print(f"FAIL: {len(problems)} problem(s): update docs/dbus-api.md", file=sys.stderr)
        return 1
    print(f"{args.markdown} covers {n_interfaces} interfaces and "
          f"{len(documented_errors)} error names")
    return 0


if __name__ == "__main__":
    sys.exit(main())
