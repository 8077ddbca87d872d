#!/usr/bin/python3
"""The Python example (examples/tokenwatch-list.py) against the real daemon:
libtokenwatch through GObject introspection (gi.repository.Tokenwatch), as a
script of a user's would use it. Registered only when the build makes the
typelib (GI_TYPELIB_PATH points at it)."""

import os
import queue
import subprocess
import threading

import twtest
from test_tokens import fixture

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                       "tokenwatch-list.py")


class TestPythonExample(twtest.TokenwatchTestCase):

    def example(self, *args):
        return subprocess.Popen(["/usr/bin/python3", EXAMPLE, "--session"] + list(args),
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def follow(self, p):
        """its lines, as they come, through a queue (select() on the pipe
        misses lines already in the reader's buffer)"""
        p.lines = queue.Queue()

        def reader():
            for line in p.stdout:
                p.lines.put(line.strip())

        threading.Thread(target=reader, daemon=True).start()
        return p

    def read_line(self, p, timeout=20):
        try:
            return p.lines.get(timeout=timeout * twtest.TIME_SCALE)
        except queue.Empty:
            self.fail("no output from the example")

    def test_list_and_watch(self):
        self.start_daemon()
        self.wait_readers(4)
        card = self.card(0, certificates={"9a": fixture("qualified-esign-qscd")}).insert()
        self.wait_signal("TokenAdded", timeout=20)
        p = self.example()
        out, err = p.communicate(timeout=60 * twtest.TIME_SCALE)
        self.assertEqual(p.returncode, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], "tokenwatchd 0.1.0, pcscd available")
        self.assertIn("reader %s: present" % self.pcscd.reader_names[0], lines)
        self.assertIn("reader %s: empty" % self.pcscd.reader_names[1], lines)
        (cert,) = [line for line in lines if line.startswith("    certificate ")]
        self.assertRegex(cert, r"^    certificate Jan Novák: qualified-esign-qscd, \d+ days left "
                               r"\((valid|expiring)\)$")
        self.assertTrue(any(line.startswith("  token ") and "user PIN ok" in line
                            for line in lines), out)
        # --watch: the events as they come
        p = self.follow(self.example("--watch", "--seconds", str(int(60 * twtest.TIME_SCALE))))
        self.addCleanup(p.kill)
        while self.read_line(p) != "watching":
            pass
        card.remove()
        self.assertEqual(self.read_line(p), "card removed: %s" % self.pcscd.reader_names[0])
        self.assertTrue(self.read_line(p).startswith("token out: "))
        card.insert()
        self.assertEqual(self.read_line(p), "card inserted: %s" % self.pcscd.reader_names[0])
        self.assertTrue(self.read_line(p).startswith("token in: "))
        # a token never seen before
        self.card(1, certificates={"9a": fixture("other-plain")}).insert()
        self.assertEqual(self.read_line(p), "card inserted: %s" % self.pcscd.reader_names[1])
        self.assertTrue(self.read_line(p).startswith("token added: "))
        p.kill()
        p.wait()

    def test_no_daemon(self):
        p = self.example()
        out, err = p.communicate(timeout=60 * twtest.TIME_SCALE)
        self.assertEqual(p.returncode, 1)
        self.assertIn("tokenwatchd is not running", err)


if __name__ == "__main__":
    twtest.main()
