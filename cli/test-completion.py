#!/usr/bin/python3
"""The shell completions of tokenwatchctl (data/completions) against what
tokenwatchctl itself says: the commands of `tokenwatchctl --help`, the
options of `tokenwatchctl COMMAND --help`. bash completes them as a user's
shell would (COMP_WORDS, the function, COMPREPLY); the zsh function is
checked by zsh's parser and for naming every command and option."""

import os
import re
import subprocess
import tempfile
import unittest

CTL = os.environ["TOKENWATCHCTL"]
BASH = os.environ["TW_BASH_COMPLETION"]
ZSH = os.environ["TW_ZSH_COMPLETION"]


def help_of(*args):
    out = subprocess.run([CTL] + list(args) + ["--help"], capture_output=True, text=True,
                         env=dict(os.environ, LC_ALL="C.UTF-8"))
    return out.stdout


def commands():
    text = help_of()
    block = text.split("Commands:", 1)[1]
    return sorted(m.group(1) for m in re.finditer(r"^  ([a-z]+)\s", block, re.M))


def options(*command):
    text = help_of(*command)
    return sorted(set(re.findall(r"^  (?:-[a-z], )?(--[a-z-]+)", text, re.M)))


def complete(*words):
    """what bash offers for the last of `words` (the word being typed)"""
    script = ("source %s\nCOMP_WORDS=(tokenwatchctl %s)\nCOMP_CWORD=%d\n_tokenwatchctl\n"
              "printf '%%s\\n' \"${COMPREPLY[@]}\"\n"
              % (BASH, " ".join("'%s'" % w for w in words), len(words)))
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                         text=True, check=True)
    return sorted(line for line in out.stdout.splitlines() if line)


class TestBash(unittest.TestCase):

    def test_commands(self):
        self.assertEqual(complete(""), commands())
        self.assertEqual(complete("ex"), ["expiring", "export"])
        self.assertEqual(complete("help", "re"), ["readers", "reload"])

    def test_global_options(self):
        self.assertEqual(complete("--"), options())
        self.assertIn("--version", options())

    def test_options_of_each_command(self):
        for command in commands():
            if command == "help":
                continue
            with self.subTest(command=command):
                self.assertEqual(complete(command, "--"), options(command))
        self.assertEqual(complete("--json", "certs", "--t"), ["--token"])

    def test_values(self):
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "jan.pem"), "w").close()
            self.assertEqual(complete("export", "-o", os.path.join(d, "j")),
                             [os.path.join(d, "jan.pem")])
        self.assertEqual(complete("expiring", "--within", ""), [])


class TestZsh(unittest.TestCase):

    def test_parses(self):
        subprocess.run(["zsh", "-n", ZSH], check=True)

    def test_names_everything(self):
        with open(ZSH) as f:
            text = f.read()
        for command in commands():
            self.assertIn("'%s:" % command, text)
            if command != "help":
                for option in options(command):
                    self.assertRegex(text, re.escape(option) + r"[\[=}]")


if __name__ == "__main__":
    unittest.main(verbosity=2)
