#!/usr/bin/python3
"""The library's ABI is what the version script lets out: check that it
exports exactly the functions its GIR describes (no generated TwDBus code, no
forgotten public function), all in the TOKENWATCH_0.1 version node.

usage: check-abi.py LIBRARY GIR
"""

import subprocess
import sys
import xml.etree.ElementTree as ET

C_NS = "{http://www.gtk.org/introspection/c/1.0}"
CORE_NS = "{http://www.gtk.org/introspection/core/1.0}"


def main():
    lib, gir = sys.argv[1:3]
    out = subprocess.run(["nm", "-D", "--defined-only", "--with-symbol-versions", lib],
                         check=True, capture_output=True, text=True).stdout
    exported = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("T", "D", "R", "B"):
            name, _, version = parts[2].partition("@")
            if version.strip("@") == "TOKENWATCH_0.1" or not name.startswith("TOKENWATCH"):
                exported[name] = version.strip("@")
    exported.pop("TOKENWATCH_0.1", None)

    described = set()
    for el in ET.parse(gir).iter():
        ident = el.get(C_NS + "identifier")
        if el.tag in (CORE_NS + "function", CORE_NS + "method", CORE_NS + "constructor") \
                and ident:
            described.add(ident)
        for attr in ("{http://www.gtk.org/introspection/glib/1.0}get-type",):
            if el.get(attr) and el.get(attr) != "intern":
                described.add(el.get(attr))

    bad = 0
    for name in sorted(set(exported) - described):
        print("exported but not in the GIR: %s" % name)
        bad = 1
    for name in sorted(described - set(exported)):
        print("in the GIR but not exported: %s" % name)
        bad = 1
    for name, version in sorted(exported.items()):
        if version != "TOKENWATCH_0.1":
            print("exported outside the version node: %s@%s" % (name, version))
            bad = 1
    print("%d symbols exported, %d described" % (len(exported), len(described)))
    sys.exit(bad)


if __name__ == "__main__":
    main()
