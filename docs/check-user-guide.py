#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fail when a user guide does not explain a notification of the agent.

usage: check-user-guide.py [--source-root DIR] GUIDE.LANG.md...

What the guides must cover is read from the sources, so that a new
notification or advice code cannot be added without its explanation:

  - every advice code tokenwatchd gives (daemon/tw-advice.c), the library
    documents (client-lib/tokenwatch-advice.c) or the agent words
    (agent/tw-agent.c);
  - every level of the expiry warning ("expiry-<level>": the levels of the
    ExpiryWarning signal in dbus/...Manager.xml and of the agent);
  - the agent's other notifications: "device-certification-ending",
    "certificate-renewed", and "needs-attention" (an advice code the agent
    has no words for).

Each must have a marker in every guide, before the section that explains it:

    <!-- notification: pin-locked -->

(several ids may share one marker, separated by spaces). Every notification
title the agent can show (the summaries in agent/tw-agent.c) must also be
quoted in the guide, in the guide's language: the English title in
*.en.md, its translation from po/<lang>.po in the others; "%s" and "%d"
stand for any text. Titles with no translation are not checked.
"""

import argparse
import os
import re
import sys

MARKER_RE = re.compile(r"<!--\s*notification:\s*([^>]*?)\s*-->")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# notifications that are not advice codes or expiry levels
OTHER_IDS = ["device-certification-ending", "certificate-renewed", "needs-attention"]


def read(root, path):
    full = os.path.join(root, path)
    try:
        with open(full, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        sys.exit(f"check-user-guide.py: cannot read {path}: {e.strerror}")


def c_strings(text, start):
    """The C string literals (concatenated) from text[start:], and the end"""
    out = []
    pos = start
    lit = re.compile(r'\s*"((?:[^"\\]|\\.)*)"')
    while True:
        m = lit.match(text, pos)
        if not m:
            break
        out.append(m.group(1))
        pos = m.end()
    s = "".join(out)
    s = s.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
    return s, pos


def advice_codes(root):
    codes = set()
    daemon = read(root, "daemon/tw-advice.c")
    codes |= set(re.findall(r'tw_advice_add\s*\(\s*\w+\s*,\s*"([a-z0-9-]+)"', daemon))
    if not codes:
        sys.exit("check-user-guide.py: no advice codes found in daemon/tw-advice.c")
    lib = read(root, "client-lib/tokenwatch-advice.c")
    m = re.search(r"tokenwatch_advice_get_code:(.*?)\*/", lib, re.S)
    if m:
        codes |= set(re.findall(r'[“"]([a-z0-9]+(?:-[a-z0-9]+)+)[”"]', m.group(1)))
    agent = read(root, "agent/tw-agent.c")
    codes |= set(re.findall(r'g_strcmp0\(code,\s*"([a-z0-9-]+)"\)', agent))
    m = re.search(r"tw_advice_silent\[\]\s*=\s*\{([^}]*)\}", agent)
    if m:
        codes |= set(re.findall(r'"([a-z0-9-]+)"', m.group(1)))
    return codes


def expiry_levels(root):
    levels = set()
    xml = read(root, "dbus/io.github.tokenwatch.TokenWatch1.Manager.xml")
    m = re.search(r"@level:([^\n]*)", xml)
    if m:
        levels |= set(re.findall(r'"([a-z-]+)"', m.group(1)))
    agent = read(root, "agent/tw-agent.c")
    m = re.search(r"tw_agent_level_for_days\([^)]*\)\s*\{(.*?)\n\}", agent, re.S)
    if m:
        levels |= set(re.findall(r'return\s+"([a-z-]+)"', m.group(1)))
    if not levels:
        sys.exit("check-user-guide.py: no expiry levels found")
    return levels


def titles(root):
    """The notification titles of the agent: [(msgid, msgid_plural or None)]"""
    agent = read(root, "agent/tw-agent.c")
    out = []
    for m in re.finditer(r"summary\s*=\s*g_strdup(?:_printf)?\s*\(\s*(_|ngettext)\s*\(", agent):
        singular, pos = c_strings(agent, m.end())
        plural = None
        if m.group(1) == "ngettext":
            pos = agent.index(",", pos) + 1
            plural, _ = c_strings(agent, pos)
        if singular:
            out.append((singular, plural))
    if not out:
        sys.exit("check-user-guide.py: no notification titles found in agent/tw-agent.c")
    return out


def po_entries(text):
    """{msgid: [msgstr, ...]} of the translated, non-fuzzy entries"""
    entries = {}
    for block in re.split(r"\n\s*\n", text):
        if re.search(r"^#,.*\bfuzzy\b", block, re.M):
            continue
        fields = {}
        key = None
        for line in block.splitlines():
            m = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+"(.*)"\s*$', line)
            if m:
                key = m.group(1)
                fields[key] = m.group(2)
            elif key and re.match(r'^\s*"(.*)"\s*$', line):
                fields[key] += re.match(r'^\s*"(.*)"\s*$', line).group(1)
            elif not line.startswith("#"):
                key = None
        if "msgid" not in fields:
            continue
        unescape = lambda s: s.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        strs = [unescape(v) for k, v in sorted(fields.items()) if k.startswith("msgstr") and v]
        if strs:
            entries[unescape(fields["msgid"])] = strs
    return entries


def pattern(fmt):
    """A regex for a title as quoted in a guide: %s and %d stand for any text"""
    parts = re.split(r"(%[sd])", " ".join(fmt.split()))
    rx = "".join(r".+?" if p in ("%s", "%d") else re.escape(p) for p in parts)
    return re.compile(rx)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-root", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("guides", nargs="+")
    args = ap.parse_args()
    root = args.source_root

    required = {c: "advice code" for c in advice_codes(root)}
    for level in expiry_levels(root):
        required[f"expiry-{level}"] = "expiry warning level"
    for i in OTHER_IDS:
        required.setdefault(i, "notification")
    summaries = titles(root)

    problems = []
    for guide in args.guides:
        m = re.search(r"\.([a-z]{2}(?:_[A-Z]{2})?)\.md$", guide)
        if not m:
            problems.append(f"{guide}: the name must end in .LANG.md")
            continue
        lang = m.group(1)
        with open(guide, encoding="utf-8") as f:
            text = f.read()
        marked = set()
        for m in MARKER_RE.finditer(text):
            for i in m.group(1).replace(",", " ").split():
                if not ID_RE.match(i):
                    problems.append(f"{guide}: bad notification id {i!r} in a marker")
                marked.add(i)
        for i, what in sorted(required.items()):
            if i not in marked:
                problems.append(f"{guide}: {what} {i!r} is not explained "
                                f"(expected a marker <!-- notification: {i} -->)")
        for i in sorted(marked - set(required)):
            problems.append(f"{guide}: marker {i!r} names nothing the sources have "
                            "(renamed or removed?)")

        flat = " ".join(text.split())
        translations = None
        if lang != "en":
            translations = po_entries(read(root, f"po/{lang}.po"))
        for singular, plural in summaries:
            if translations is None:
                wanted = [singular] + ([plural] if plural else [])
            else:
                wanted = translations.get(singular)
                if wanted is None:
                    continue  # not translated: the agent shows English
            if not any(pattern(w).search(flat) for w in wanted):
                problems.append(f"{guide}: the notification title {wanted[0]!r} is not quoted")

    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"FAIL: {len(problems)} problem(s) in the user guides", file=sys.stderr)
        return 1
    print(f"{len(args.guides)} guides explain {len(required)} notifications and quote "
          f"{len(summaries)} titles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
