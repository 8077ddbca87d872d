#!/usr/bin/python3
"""PKCS#11 modules out of process: each module runs in a helper process of
tokenwatchd's own (tokenwatchd --p11-helper). OpenSC reads the test bed's
virtual cards; tests/p11-recorder.c, wrapping SoftHSM, is the module that
misbehaves: its faults come from a file the test writes while the daemon
runs (TW_P11_RECORDER_FAULT_FILE). A module that crashes or hangs must cost
that token's read and nothing else: the daemon stays up, reads the other
module's cards meanwhile, reports the error on the token, and recovers when
the module behaves again."""

import os
import subprocess

import twtest
from test_tokens import SOFTHSM, fixture

TOKEN = twtest.IFACE + ".Token"


class TestIsolation(twtest.TokenwatchTestCase):

    def setUp(self):
        super().setUp()
        recorder = os.environ.get("TW_P11_RECORDER")
        if not recorder:
            self.fail("TW_P11_RECORDER is not set")
        d = os.path.join(self.workdir, "softhsm")
        os.makedirs(d)
        subprocess.run(["bash", os.environ["TW_P11_MAKE_SOFTHSM"], d], check=True,
                       capture_output=True)
        self.env["SOFTHSM2_CONF"] = os.path.join(d, "softhsm2.conf")
        self.env["TW_P11_RECORDER_TARGET"] = SOFTHSM
        self.faults = os.path.join(self.workdir, "faults")
        self.env["TW_P11_RECORDER_FAULT_FILE"] = self.faults
        self.p11_args = ["--no-p11-kit", "--pkcs11-module", twtest.OPENSC,
                         "--pkcs11-module", recorder]

    def set_faults(self, text):
        tmp = self.faults + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.rename(tmp, self.faults)

    def hsm(self):
        for path, token in self.objects(TOKEN).items():
            if token["Label"] == "Testbed HSM":
                return path, token
        return None, None

    def helpers(self, d):
        """pids of the daemon's PKCS#11 helper processes"""
        out = subprocess.run(["pgrep", "-P", str(d.proc.pid), "-f", "p11-helper"],
                             capture_output=True, text=True)
        return sorted(int(p) for p in out.stdout.split())

    def start(self, timeout_s=None):
        if timeout_s is not None:
            self.write_config("[PKCS11]\nTokenTimeout=%d\n" % timeout_s)
        d = self.start_daemon(p11_args=self.p11_args)
        self.wait_readers(4)
        self.wait_until(lambda: self.hsm()[1] is not None, 20 * twtest.TIME_SCALE,
                        "the SoftHSM token")
        self.assertEqual(self.hsm()[1]["Error"], "")
        return d

    def insert_card(self, index, n):
        card = self.card(index, certificates={"9a": fixture("qualified-esign-qscd")}).insert()
        self.wait_until(lambda: sum(1 for t in self.objects(TOKEN).values()
                                    if t["Present"] and t["Reader"] != "/") >= n,
                        20 * twtest.TIME_SCALE, "the card's token")
        return card

    def card_tokens(self):
        return [t for t in self.objects(TOKEN).values() if t["Reader"] != "/"]

    def test_crashing_module(self):
        d = self.start()
        self.assertEqual(len(self.helpers(d)), 2)
        path, _ = self.hsm()
        # the module aborts: its helper dies, the daemon does not
        self.set_faults("crash:C_GetTokenInfo")
        self.call(twtest.ROOT, twtest.MANAGER, "Refresh")
        self.wait_until(lambda: "crashed" in self.objects(TOKEN)[path]["Error"],
                        20 * twtest.TIME_SCALE, "the crash reported on the token")
        self.assertIn("Aborted", self.objects(TOKEN)[path]["Error"])
        self.assertTrue(self.objects(TOKEN)[path]["Present"])
        # OpenSC's cards are read meanwhile, without error
        card = self.insert_card(0, 1)
        (token,) = self.card_tokens()
        self.assertEqual(token["Error"], "")
        self.assertEqual(len(token["Certificates"]), 1)
        self.assertTrue(self.manager_prop("PcscAvailable"))
        # the module behaves again: the next read starts a fresh helper
        self.set_faults("")
        self.call(twtest.ROOT, twtest.MANAGER, "Refresh")
        self.wait_until(lambda: self.objects(TOKEN)[path]["Error"] == "",
                        20 * twtest.TIME_SCALE, "the SoftHSM token read again")
        self.assertIn("crashed (Aborted)", d.log())
        card.remove()

    def test_hanging_module(self):
        d = self.start(timeout_s=2)
        path, _ = self.hsm()
        before = self.helpers(d)
        self.set_faults("hang:C_GetTokenInfo")
        self.call(twtest.ROOT, twtest.MANAGER, "Refresh")
        # a card goes in while the module hangs: read at once all the same
        card = self.insert_card(1, 1)
        (token,) = self.card_tokens()
        self.assertEqual(token["Error"], "")
        self.wait_until(lambda: "did not return within 2000 ms"
                        in self.objects(TOKEN)[path]["Error"], 20 * twtest.TIME_SCALE,
                        "the time-out reported on the token")
        # the stuck helper is gone (killed), the other one still runs
        self.wait_until(lambda: len(self.helpers(d)) == 1, 10, "the stuck helper to go")
        self.assertIn(self.helpers(d)[0], before)
        # the daemon kept answering meanwhile, and recovers
        self.set_faults("")
        self.call(twtest.ROOT, twtest.MANAGER, "Refresh")
        self.wait_until(lambda: self.objects(TOKEN)[path]["Error"] == "",
                        20 * twtest.TIME_SCALE, "the SoftHSM token read again")
        self.assertEqual(len(self.helpers(d)), 2)
        card.remove()

    def test_helpers_end_with_the_daemon(self):
        d = self.start()
        pids = self.helpers(d)
        self.assertEqual(len(pids), 2)
        self.assertEqual(d.stop(), 0)
        for pid in pids:
            self.wait_until(lambda: not os.path.exists("/proc/%d" % pid) or
                            open("/proc/%d/stat" % pid).read().split()[2] == "Z", 5,
                            "helper %d to end" % pid)


if __name__ == "__main__":
    twtest.main()
