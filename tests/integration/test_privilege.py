#!/usr/bin/python3
"""tokenwatchd without privileges, as tokenwatch.service runs it (User=
tokenwatch, no capability): here as nobody through setpriv, with every
capability dropped and no_new_privs, against the test bed's pcscd and a
virtual card. It must read the card, keep its state in its own state
directory and stop cleanly, with nothing but the rights of an ordinary
user."""

import os
import pwd

import twtest
from test_tokens import fixture

TOKEN = twtest.IFACE + ".Token"
CERT = twtest.IFACE + ".Certificate"


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


class TestUnprivileged(twtest.TokenwatchTestCase):

    def test_runs_as_an_ordinary_user(self):
        nobody = pwd.getpwnam("nobody")
        user = (nobody.pw_uid, nobody.pw_gid)
        if os.geteuid() != 0:
            self.fail("needs root to switch to nobody (CI runs as root)")
        # what systemd does for StateDirectory= with User=: the user's own
        # directory; the test's directories are only traversable
        os.chmod(self.workdir, 0o755)
        os.makedirs(self.state_dir, mode=0o700)
        os.chown(self.state_dir, *user)
        d = self.start_daemon(user=user)
        self.wait_readers(4)

        # which process is the daemon (under valgrind in that pass: the same pid)
        pid = d.proc.pid
        status = proc_status(pid)
        self.assertEqual(status["Uid"], [str(user[0])] * 4)
        self.assertEqual(status["Gid"], [str(user[1])] * 4)
        self.assertEqual(status["CapEff"], ["0000000000000000"])
        self.assertEqual(status["CapBnd"], ["0000000000000000"])
        self.assertEqual(status["NoNewPrivs"], ["1"])

        card = self.card(0, certificates={"9a": fixture("qualified-esign-qscd")}).insert()
        self.wait_signal("TokenAdded", timeout=20)
        (token,) = self.objects(TOKEN).values()
        self.assertTrue(token["Present"])
        self.assertEqual(token["Error"], "")
        self.assertEqual(len(self.objects(CERT)), 1)
        # remembered, in files of its own
        self.wait_until(lambda: any(os.scandir(self.state_dir)), 10, "the state written")
        for root, _, files in os.walk(self.state_dir):
            for name in files:
                st = os.stat(os.path.join(root, name))
                self.assertEqual((st.st_uid, st.st_gid), user, name)
        card.remove()
        self.wait_signal("TokenRemoved")


if __name__ == "__main__":
    twtest.main()
