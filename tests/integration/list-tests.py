#!/usr/bin/python3
"""Print Class.test for every test in a unittest file, one per line, so that
meson registers each as a test of its own (run in parallel, reported alone)."""

import ast
import sys

tree = ast.parse(open(sys.argv[1]).read())
for node in tree.body:
    if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name.startswith("test_"):
                print("%s.%s" % (node.name, item.name))
