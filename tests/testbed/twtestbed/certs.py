"""Test certificates made with the `openssl` command line.

    certs = CertFactory(directory)
    auth = certs.leaf("Testbed Auth")                      # RSA 2048
    sign = certs.leaf("Testbed Sign", key="ec256",
                      qc_compliance=True, qc_sscd=True, qc_type="esign",
                      policies=[QCP_N_QSCD])
    old = certs.leaf("Expired", not_before=timedelta(days=-30),
                     not_after=timedelta(days=-1))
    auth.der, auth.der_path, auth.pem_path, auth.key_path

Leaves are issued by a CA (`certs.ca()`, made on first use).  Dates are
datetimes (naive = UTC) or timedeltas from now; `openssl ca` is used
because `openssl x509` (3.0) cannot set arbitrary validity dates.
Certificates are cached in `directory` by their parameters (relative dates
count by the day), so asking twice gives the same certificate; a lock file
makes this safe for parallel processes sharing the directory.
"""

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

OID_QC_STATEMENTS = "1.3.6.1.5.5.7.1.3"
OID_QC_COMPLIANCE = "0.4.0.1862.1.1"
OID_QC_SSCD = "0.4.0.1862.1.4"
OID_QC_TYPE = "0.4.0.1862.1.6"
QC_TYPES = {"esign": OID_QC_TYPE + ".1", "eseal": OID_QC_TYPE + ".2",
            "web": OID_QC_TYPE + ".3"}

QCP_N_QSCD = "0.4.0.194112.1.2"   # EU qualified cert, natural person, QSCD
NCP_PLUS = "0.4.0.2042.1.2"       # ETSI NCP+

KEY_TYPES = {
    "rsa2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "ec256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-pkeyopt", "ec_param_enc:named_curve"],
}
_DEFAULT_KEY_USAGE = {"rsa2048": "digitalSignature,keyEncipherment",
                      "ec256": "digitalSignature,keyAgreement"}


@dataclass(frozen=True)
class Cert:
    cn: str
    der: bytes
    der_path: str
    pem_path: str
    key_path: str
    directory: str      # the cache entry (also the CA dir of a CA)

    @property
    def sha256(self):
        """SHA-256 of the DER, lower-case hex."""
        return hashlib.sha256(self.der).hexdigest()


def _date_spec(value):
    """Cache-key form of a date parameter."""
    if isinstance(value, timedelta):
        return "rel:%d" % value.total_seconds()
    return "abs:" + _utc(value).strftime("%Y%m%d%H%M%SZ")


def _utc(value):
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _resolve(value, now):
    """openssl ca date argument (GeneralizedTime form, converted by
    openssl to UTCTime for years before 2050)."""
    moment = now + value if isinstance(value, timedelta) else _utc(value)
    return moment.strftime("%Y%m%d%H%M%SZ")


def _run(argv, cwd=None):
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv),
                                                   done.returncode,
                                                   done.stderr.strip()))


class CertFactory:
    def __init__(self, directory, openssl="openssl"):
        self.directory = os.path.abspath(directory)
        self.openssl = openssl
        os.makedirs(self.directory, exist_ok=True)

    # -- public ------------------------------------------------------------
    def ca(self, cn="Testbed CA", *, key="rsa2048",
           not_before=timedelta(days=-1), not_after=timedelta(days=3650)):
        """A self-signed CA certificate."""
        params = {"kind": "ca", "cn": cn, "key": key,
                  "not_before": _date_spec(not_before),
                  "not_after": _date_spec(not_after)}
        ext = ["basicConstraints = critical,CA:TRUE",
               "keyUsage = critical,keyCertSign,cRLSign",
               "subjectKeyIdentifier = hash"]
        return self._make(params, cn, "/CN=" + _escape(cn), key, not_before,
                          not_after, ext, issuer=None)

    def leaf(self, cn, *, key="rsa2048", issuer=None, subject=None,
             not_before=timedelta(days=-1), not_after=timedelta(days=365),
             key_usage=None, policies=(), qc_compliance=False,
             qc_sscd=False, qc_type=None, extensions=()):
        """An end-entity certificate.

        key: "rsa2048" or "ec256".  issuer: a Cert from ca() (default: the
        default CA).  subject: an openssl DN ("/C=DE/O=x/CN=y"; default
        "/CN=<cn>").  key_usage: openssl keyUsage value (critical is added;
        default per key type).  policies: certificatePolicies OIDs.
        qc_compliance, qc_sscd, qc_type ("esign", "eseal", "web"): the
        QCStatements extension (ETSI EN 319 412-5).  extensions: further
        openssl x509v3 config lines, e.g. "extendedKeyUsage = clientAuth".
        """
        if qc_type is not None and qc_type not in QC_TYPES:
            raise ValueError("qc_type must be one of %s" % sorted(QC_TYPES))
        issuer = issuer or self.ca()
        subject = subject or "/CN=" + _escape(cn)
        params = {"kind": "leaf", "cn": cn, "key": key,
                  "issuer": issuer.directory, "subject": subject,
                  "not_before": _date_spec(not_before),
                  "not_after": _date_spec(not_after),
                  "key_usage": key_usage, "policies": list(policies),
                  "qc": [qc_compliance, qc_sscd, qc_type],
                  "extensions": list(extensions)}
        ext = ["basicConstraints = critical,CA:FALSE",
               "keyUsage = critical," + (key_usage or _DEFAULT_KEY_USAGE[key]),
               "subjectKeyIdentifier = hash",
               "authorityKeyIdentifier = keyid"]
        if policies:
            ext.append("certificatePolicies = " + ", ".join(policies))
        ext += list(extensions)
        sections = _qc_statements(qc_compliance, qc_sscd, qc_type)
        if sections:
            ext.append("%s = ASN1:SEQUENCE:qc_statements" % OID_QC_STATEMENTS)
        return self._make(params, cn, subject, key, not_before, not_after,
                          ext, issuer, sections)

    # -- implementation ------------------------------------------------------
    def _make(self, params, cn, subject, key, not_before, not_after, ext,
              issuer, sections=""):
        if key not in KEY_TYPES:
            raise ValueError("key must be one of %s" % sorted(KEY_TYPES))
        now = datetime.now(timezone.utc)
        if "rel:" in json.dumps(params):
            params = dict(params, day=now.strftime("%Y%m%d"))
        digest = hashlib.sha256(json.dumps(params, sort_keys=True)
                                .encode()).hexdigest()[:12]
        slug = re.sub(r"[^A-Za-z0-9]+", "-", cn).strip("-").lower()
        entry = os.path.join(self.directory, "%s-%s" % (slug or "cert",
                                                        digest))
        with open(os.path.join(self.directory, ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not os.path.exists(os.path.join(entry, "cert.der")):
                self._generate(entry, subject, key, _resolve(not_before, now),
                               _resolve(not_after, now), ext, issuer,
                               sections)
        with open(os.path.join(entry, "cert.der"), "rb") as f:
            der = f.read()
        return Cert(cn=cn, der=der, der_path=os.path.join(entry, "cert.der"),
                    pem_path=os.path.join(entry, "cert.pem"),
                    key_path=os.path.join(entry, "key.pem"), directory=entry)

    def _generate(self, entry, subject, key, start, end, ext, issuer,
                  sections):
        work = entry + ".tmp"
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(os.path.join(work, "issued"))
        # Every cert dir is also a CA dir (only CAs will issue from it).
        open(os.path.join(work, "index.txt"), "w").close()
        ca_dir = issuer.directory if issuer else work
        config = os.path.join(work, "openssl.cnf")
        with open(config, "w") as f:
            f.write(_CA_CONFIG % {"ca_dir": ca_dir,
                                  "ext": "\n".join(ext),
                                  "sections": sections})
        openssl = self.openssl
        _run([openssl, "genpkey"] + KEY_TYPES[key] + ["-out", "key.pem"],
             cwd=work)
        _run([openssl, "req", "-new", "-utf8", "-key", "key.pem", "-subj",
              subject, "-out", "req.csr"], cwd=work)
        argv = [openssl, "ca", "-batch", "-config", config, "-utf8",
                "-notext", "-preserveDN", "-startdate", start, "-enddate",
                end, "-extensions", "ext", "-in", "req.csr",
                "-out", "cert.pem"]
        if issuer:
            argv += ["-cert", issuer.pem_path, "-keyfile", issuer.key_path]
        else:
            argv += ["-selfsign", "-keyfile", "key.pem"]
        _run(argv, cwd=work)
        _run([openssl, "x509", "-in", "cert.pem", "-outform", "DER",
              "-out", "cert.der"], cwd=work)
        os.rename(work, entry)


def _escape(value):
    # openssl -subj syntax: '/' and '=' inside values need a backslash.
    return re.sub(r"([/=\\+])", r"\\\1", value)


def _qc_statements(compliance, sscd, qc_type):
    """openssl ASN1 config sections for QCStatements, or "" for none.

    QCStatements ::= SEQUENCE OF SEQUENCE { statementId OID,
                                            statementInfo ANY OPTIONAL }
    QcType's statementInfo is SEQUENCE OF OID."""
    statements = []
    if compliance:
        statements.append(("qc_compliance", "id = OID:" + OID_QC_COMPLIANCE))
    if sscd:
        statements.append(("qc_sscd", "id = OID:" + OID_QC_SSCD))
    if qc_type:
        statements.append(("qc_type", "id = OID:%s\ntypes = SEQUENCE:qc_types"
                           % OID_QC_TYPE))
    if not statements:
        return ""
    # Items of a SEQUENCE section are encoded in the order written.
    out = ["[ qc_statements ]"]
    out += ["s%d = SEQUENCE:%s" % (i, name)
            for i, (name, _) in enumerate(statements)]
    for name, body in statements:
        out += ["", "[ %s ]" % name, body]
    if qc_type:
        out += ["", "[ qc_types ]", "t0 = OID:" + QC_TYPES[qc_type]]
    return "\n".join(out)


_CA_CONFIG = """\
[ ca ]
default_ca = testbed_ca

[ testbed_ca ]
dir = %(ca_dir)s
database = $dir/index.txt
new_certs_dir = $dir/issued
rand_serial = yes
unique_subject = no
default_md = sha256
policy = policy_any
copy_extensions = none

[ policy_any ]
commonName = supplied

[ ext ]
%(ext)s

%(sections)s
"""
