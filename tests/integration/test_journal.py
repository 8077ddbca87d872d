#!/usr/bin/python3
"""The journal: tokenwatchd under a journald of its own (a private mount
namespace, its stderr a journal stream as under systemd) logs each event a
person searches for once, with its MESSAGE_ID and TOKENWATCH_* fields that
match what the D-Bus API says; the catalog explains every MESSAGE_ID."""

import datetime
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

import twtest
from test_tracking import CERTIFICATE, DAY, HOUR, TOKEN, TrackingTestCase

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
IDS = {
    "token-inserted": "37f514e80fea4ee4869de5b4aab16b52",
    "token-removed": "e3eaf6ea004b47b4a05468f7d424805a",
    "cert-expiring": "6c640c7fcc1c4e49aad85e099b776290",
    "cert-expired": "0cdf14e1d06346fc98159e5b60041633",
    "cert-renewed": "3bdd95d5b899419ba6c7e673c4dd17b3",
    "device-ending": "7fbdb86db7874884aba14a1aa2666c85",
}


class TestJournal(TrackingTestCase):

    def setUp(self):
        super().setUp()
        self.jdir = os.path.join(self.workdir, "journal")
        os.makedirs(self.jdir)
        self.addCleanup(self._stop_journald)

    def _stop_journald(self):
        try:
            with open(os.path.join(self.jdir, "journald.pid")) as f:
                os.kill(int(f.read()), signal.SIGTERM)
        except (OSError, ValueError):
            pass

    def entries(self):
        r = subprocess.run(["journalctl", "--directory", os.path.join(self.jdir, "log"),
                            "--output", "json", "--no-pager", "SYSLOG_IDENTIFIER=tokenwatchd"],
                           capture_output=True, text=True, timeout=20)
        out = []
        for line in r.stdout.splitlines():
            e = json.loads(line)
            if "MESSAGE_ID" in e:
                out.append(e)
        return out

    def of(self, kind, **match):
        return [e for e in self.entries() if e["MESSAGE_ID"] == IDS[kind]
                and all(e.get(k) == v for k, v in match.items())]

    def wait_entries(self, kind, n=1, **match):
        self.wait_until(lambda: len(self.of(kind, **match)) >= n, 10,
                        "%d× %s %s in the journal" % (n, kind, match))
        return self.of(kind, **match)

    def test_events_and_fields(self):
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=20)
        self.device_entry(until=until)
        self.start_daemon(prefix=[os.path.join(HERE, "journald-wrap.sh"), self.jdir])
        self.wait_readers(4)
        certs = {"9c": self.leaf("in the QSCD", 400 * DAY, qc_compliance=True, qc_sscd=True,
                                 qc_type="esign", policies=["0.4.0.194112.1.2"]),
                 "9a": self.leaf("Jan Novák", 2 * DAY + HOUR),
                 "9d": self.leaf("Petr Dvořák", 12 * HOUR)}
        card = self.insert(0, certs)
        self.wait_signal("ExpiryWarning", n=3)
        self.wait_signal("DeviceCertificationEnding")
        token_path, token = next(iter(self.objects(TOKEN).items()))
        token_id = token_path.rsplit("/", 1)[1]

        e, = self.wait_entries("token-inserted")
        self.assertEqual(e["TOKENWATCH_TOKEN_ID"], token_id)
        self.assertEqual(e["TOKENWATCH_TOKEN_LABEL"], token["Label"])
        self.assertEqual(e["TOKENWATCH_TOKEN_SERIAL"], token["SerialNumber"])
        self.assertEqual(e["TOKENWATCH_READER"], self.pcscd.reader_names[0])
        self.assertEqual(e["TOKENWATCH_CERTIFICATES"], "3")
        self.assertEqual(e["PRIORITY"], "5")
        self.assertIn("inserted in", e["MESSAGE"])

        # one entry per warning, its fields those of the certificate on D-Bus
        _, jan = self.cert_by_cn("Jan Novák")
        e, = self.wait_entries("cert-expiring", TOKENWATCH_CERT_CN="Jan Novák")
        self.assertEqual(e["TOKENWATCH_LEVEL"], "critical")
        self.assertEqual(e["TOKENWATCH_DAYS_LEFT"], "2")
        self.assertEqual(e["TOKENWATCH_CERT_SERIAL"], jan["SerialNumberDecimal"])
        self.assertEqual(e["TOKENWATCH_TOKEN_ID"], token_id)
        not_after = datetime.datetime.fromtimestamp(jan["EffectiveNotAfter"],
                                                    datetime.timezone.utc)
        self.assertEqual(e["TOKENWATCH_CERT_NOT_AFTER"], not_after.strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.assertEqual(e["PRIORITY"], "4")
        self.assertIn("expires in 2 days", e["MESSAGE"])
        e, = self.wait_entries("cert-expiring", TOKENWATCH_CERT_CN="in the QSCD")
        self.assertEqual((e["TOKENWATCH_LEVEL"], e["TOKENWATCH_DAYS_LEFT"]), ("warning", "20"))
        self.assertEqual(e["TOKENWATCH_CERT_KIND"], "qualified-esign-qscd")
        e, = self.wait_entries("device-ending")
        self.assertEqual(e["TOKENWATCH_DAYS_LEFT"], "20")
        self.assertEqual(e["TOKENWATCH_TOKEN_ID"], token_id)
        qscd_end = datetime.datetime.fromtimestamp(token["QscdCertifiedUntil"],
                                                   datetime.timezone.utc)
        self.assertEqual(e["TOKENWATCH_QSCD_CERTIFIED_UNTIL"],
                         qscd_end.strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.assertIn("ends in 20 days", e["MESSAGE"])
        # the 12-hour one: critical now, expired after a day
        self.wait_entries("cert-expiring", TOKENWATCH_CERT_CN="Petr Dvořák")
        self.move_clock(DAY)
        e, = self.wait_entries("cert-expired", TOKENWATCH_CERT_CN="Petr Dvořák")
        self.assertEqual(e["TOKENWATCH_LEVEL"], "expired")
        self.assertIn("expired on", e["MESSAGE"])

        card.remove()
        e, = self.wait_entries("token-removed")
        self.assertEqual(e["TOKENWATCH_TOKEN_ID"], token_id)

        # Jan Novák's renewal, on another card
        new = self.leaf("Jan Novák", 400 * DAY)
        card2 = self.insert(1, {"9a": new}, n_tokens=2)
        self.wait_signal("CertificateRenewed")
        (old_path, new_path), = [a for m, a in self.signals if m == "CertificateRenewed"]
        certs = self.objects(CERTIFICATE)
        e, = self.wait_entries("cert-renewed")
        self.assertEqual(e["TOKENWATCH_CERT_SERIAL"], certs[new_path]["SerialNumberDecimal"])
        self.assertEqual(e["TOKENWATCH_OLD_CERT_SERIAL"],
                         certs[old_path]["SerialNumberDecimal"])
        self.assertEqual(e["TOKENWATCH_OLD_CERT_ID"], old_path.rsplit("/", 1)[1])
        self.assertIn("replaces serial " + certs[old_path]["SerialNumberDecimal"], e["MESSAGE"])
        card2.remove()
        self.wait_entries("token-removed", n=2)
        # nothing twice: each warning once, one insertion per card
        self.assertEqual(len(self.of("cert-expiring")), 3)
        self.assertEqual(len(self.of("token-inserted")), 2)


class TestCatalog(unittest.TestCase):
    """The catalog file, compiled by journalctl as systemd does it at
    installation (in a root of its own), holds an entry for every MESSAGE_ID
    in English and in Czech."""

    def test_catalog(self):
        root = tempfile.mkdtemp(prefix="tw-catalog-")
        self.addCleanup(shutil.rmtree, root, True)
        catalog_dir = os.path.join(root, "usr", "lib", "systemd", "catalog")
        os.makedirs(catalog_dir)
        shutil.copy(os.path.join(TOP, "data", "tokenwatch.catalog"), catalog_dir)
        r = subprocess.run(["journalctl", "--root", root, "--update-catalog"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        r = subprocess.run(["journalctl", "--root", root, "--list-catalog"],
                           capture_output=True, text=True, check=True)
        listed = {line.split()[0] for line in r.stdout.splitlines()}
        self.assertEqual(listed, set(IDS.values()))
        for mid in IDS.values():
            dumps = {}
            for lang in ("C.UTF-8", "cs_CZ.UTF-8"):
                r = subprocess.run(["journalctl", "--root", root, "--dump-catalog", mid],
                                   capture_output=True, text=True, check=True,
                                   env=dict(os.environ, LC_ALL=lang, LANGUAGE=""))
                self.assertIn("Subject: ", r.stdout)
                self.assertIn("Documentation: ", r.stdout)
                self.assertIn("@TOKENWATCH_", r.stdout)
                dumps[lang] = r.stdout
            # Czech: an entry of its own
            self.assertNotEqual(dumps["C.UTF-8"], dumps["cs_CZ.UTF-8"], mid)

if __name__ == "__main__":
    twtest.main()
