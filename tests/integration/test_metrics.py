#!/usr/bin/python3
"""The metrics file for node_exporter's textfile collector: written when
[Metrics] TextfileDirectory is set, in the Prometheus text format (read back
with prometheus_client's parser, checked with `promtool check metrics`),
with the same figures as the D-Bus API; names left out on request; a
directory it cannot write to costs a warning, never the daemon. And the
example alert rules, with `promtool test rules`."""

import datetime
import os
import shutil
import stat
import subprocess
import unittest

from prometheus_client.parser import text_string_to_metric_families

import twtest
from test_tracking import CERTIFICATE, DAY, TOKEN, TrackingTestCase
from twtest import MANAGER, ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
PROMETHEUS_DIR = os.path.join(HERE, "..", "..", "data", "prometheus")
PROMTOOL = shutil.which("promtool")


class TestMetrics(TrackingTestCase):

    def setUp(self):
        super().setUp()
        self.metrics_dir = os.path.join(self.workdir, "textfile")
        os.makedirs(self.metrics_dir)
        self.prom = os.path.join(self.metrics_dir, "tokenwatch.prom")

    def configure(self, extra=""):
        with open(self.env["TOKENWATCH_CONFIG"]) as f:
            base = f.read().split("[Metrics]")[0]
        self.write_config(base + "[Metrics]\n" + extra)

    def samples(self):
        """{(name, frozenset(labels)): value} of the file"""
        with open(self.prom) as f:
            text = f.read()
        out = {}
        for family in text_string_to_metric_families(text):
            self.assertEqual(family.type, "gauge")
            self.assertTrue(family.documentation)
            for s in family.samples:
                out[(s.name, frozenset(s.labels.items()))] = s.value
        return out

    def find(self, samples, name, **labels):
        found = [(dict(k[1]), v) for k, v in samples.items()
                 if k[0] == name and all(dict(k[1]).get(a) == b for a, b in labels.items())]
        self.assertEqual(len(found), 1, "%s %s in %s" % (name, labels, found))
        return found[0]

    def wait_file(self, predicate, what):
        def ready():
            try:
                return predicate(self.samples())
            except (OSError, KeyError):
                return False
        self.wait_until(ready, 10, what)
        return self.samples()

    def promtool_check(self):
        if PROMTOOL is None:
            return
        with open(self.prom) as f:
            r = subprocess.run([PROMTOOL, "check", "metrics"], stdin=f, capture_output=True,
                               text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout + r.stderr, "")

    def test_metrics_file(self):
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=20)
        self.device_entry(until=until)
        self.configure("TextfileDirectory=%s\n" % self.metrics_dir)
        self.start_daemon()
        self.wait_readers(4)
        s = self.wait_file(lambda s: s[("tokenwatch_readers", frozenset())] == 4, "4 readers")
        self.assertEqual(s[("tokenwatch_pcsc_available", frozenset())], 1)
        mode = os.stat(self.prom).st_mode
        self.assertEqual(stat.S_IMODE(mode), 0o644)

        odd = 'Jan "Honza" \\ Novák'
        card = self.insert(0, {
            "9c": self.leaf("in the QSCD", 400 * DAY, qc_compliance=True, qc_sscd=True,
                            qc_type="esign", policies=["0.4.0.194112.1.2"]),
            "9a": self.leaf(odd, 10 * DAY + 3600)}, pin_tries=1)
        token_path, token = next(iter(self.objects(TOKEN).items()))
        token_id = token_path.rsplit("/", 1)[1]
        s = self.wait_file(lambda s: any(k[0] == "tokenwatch_certificate_expiry_timestamp_seconds"
                                         for k in s) and
                           self.find(s, "tokenwatch_token_present", token=token_id)[1] == 1,
                           "the token's metrics")
        labels, value = self.find(s, "tokenwatch_token_present", token=token_id)
        self.assertEqual(labels["label"], token["Label"])
        self.assertEqual(labels["serial"], token["SerialNumber"])
        self.assertEqual(labels["device"], "Virtual PIV (test)")
        _, value = self.find(s, "tokenwatch_token_qscd_certified_until_timestamp_seconds",
                             token=token_id)
        self.assertEqual(value, token["QscdCertifiedUntil"])
        labels, _ = self.find(s, "tokenwatch_token_pin_state", token=token_id, pin="user")
        self.assertEqual(labels["state"], token["UserPinState"])
        self.assertEqual(labels["state"], "final-try")
        self.find(s, "tokenwatch_token_advice", token=token_id, code="pin-final-try")
        # every certificate, with the figures of the D-Bus API
        certs = self.objects(CERTIFICATE)
        self.assertEqual(len(certs), 2)
        for path, props in certs.items():
            labels, end = self.find(s, "tokenwatch_certificate_expiry_timestamp_seconds",
                                    certificate=path.rsplit("/", 1)[1])
            self.assertEqual(end, props["EffectiveNotAfter"])
            self.assertEqual(labels["serial"], props["SerialNumberDecimal"])
            self.assertEqual(labels["status"], props["Status"])
            self.assertEqual(labels["kind"], props["Kind"])
            self.assertEqual(labels["cn"], props["CommonName"])
            self.assertEqual(labels["token"], token_id)
        # the quote and the backslash came through the escaping
        _, end = self.find(s, "tokenwatch_certificate_expiry_timestamp_seconds", cn=odd)
        self.assertEqual(end, certs[self.cert_by_cn(odd)[0]]["EffectiveNotAfter"])
        self.promtool_check()

        # out: remembered, not present
        card.remove()
        self.wait_signal("TokenRemoved")
        self.wait_file(lambda s: self.find(s, "tokenwatch_token_present",
                                           token=token_id)[1] == 0, "present 0")

        # names of people and tokens left out on request
        self.configure("TextfileDirectory=%s\nIncludeNames=false\n" % self.metrics_dir)
        self.call(ROOT, MANAGER, "ReloadConfig")
        s = self.wait_file(lambda s: "label" not in self.find(
            s, "tokenwatch_token_present", token=token_id)[0], "no names")
        with open(self.prom) as f:
            text = f.read()
        self.assertNotIn("Novák", text)
        self.assertNotIn(token["Label"], text)
        self.assertEqual(len([k for k in s if k[0] == "tokenwatch_certificate_expiry_timestamp_seconds"]), 2)
        self.promtool_check()

    def test_unwritable_directory(self):
        # a directory that is not there: a warning, the daemon serves
        missing = os.path.join(self.workdir, "missing")
        self.configure("TextfileDirectory=%s\n" % missing)
        d = self.start_daemon()
        self.wait_readers(4)
        self.wait_until(lambda: "cannot write the metrics file" in d.log(), 10,
                        "the warning in the log")
        card = self.insert(0, {"9a": self.leaf("Jan Novák", 400 * DAY)})
        self.pump(1.0)
        self.assertEqual(d.log().count("cannot write the metrics file"), 1)
        # a relative path is refused by ReloadConfig, and nothing changes
        self.configure("TextfileDirectory=relative/dir\n")
        with self.assertRaises(twtest.GLib.Error) as cm:
            self.call(ROOT, MANAGER, "ReloadConfig")
        self.assertIn("TextfileDirectory", cm.exception.message)
        # made, and reloaded: written, and said so
        os.makedirs(missing)
        self.configure("TextfileDirectory=%s\n" % missing)
        self.call(ROOT, MANAGER, "ReloadConfig")
        self.prom = os.path.join(missing, "tokenwatch.prom")
        self.wait_file(lambda s: any(k[0] == "tokenwatch_certificate_expiry_timestamp_seconds" for k in s),
                       "the file")
        self.wait_until(lambda: "works again" in d.log(), 10, "works again")
        card.remove()

    def test_off_by_default(self):
        self.start_daemon()
        self.wait_readers(4)
        card = self.insert(0, {"9a": self.leaf("Jan Novák", 400 * DAY)})
        self.pump(1.0)
        self.assertEqual(os.listdir(self.metrics_dir), [])
        card.remove()


@unittest.skipIf(PROMTOOL is None, "promtool (Debian: prometheus) is not installed")
class TestAlertRules(unittest.TestCase):

    def test_rules(self):
        for args in (["check", "rules", "tokenwatch-alerts.yml"],
                     ["test", "rules", "tokenwatch-alerts.test.yml"]):
            r = subprocess.run([PROMTOOL] + args, cwd=PROMETHEUS_DIR, capture_output=True,
                               text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("SUCCESS", r.stdout)


if __name__ == "__main__":
    twtest.main()
