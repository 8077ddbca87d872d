#!/usr/bin/python3
"""tokenwatch-agent's registration in the user's stores, end to end: the real
tokenwatchd and agent (see test_agent.py), OpenSC reading the test bed's
virtual card, and NSS databases in the test's own home: the shared
~/.pki/nssdb the agent creates, and a Firefox-like and a Thunderbird-like
profile tree made here with certutil. What is in them is read back with
certutil -L and modutil -list, as a user would."""

import base64
import configparser
import hashlib
import json
import os
import subprocess
import time

import twtest
from test_agent import AgentTestCase, DAY, HOUR, TOKEN

MODULE = "opensc-pkcs11 (tokenwatch)"


def certutil_nicknames(dbdir, check=True):
    r = subprocess.run(["certutil", "-L", "-d", "sql:" + dbdir], check=check,
                       capture_output=True, text=True)
    if r.returncode != 0:
        return []  # being created by the agent's helper, at this moment
    out = r.stdout
    names = []
    for line in out.splitlines()[4:]:
        if line.strip():
            # "<nickname>   <trust>": the trust column is the last word
            names.append(line.rsplit(None, 1)[0].strip())
    return names


def modutil_modules(dbdir, env):
    out = subprocess.run(["modutil", "-list", "-dbdir", "sql:" + dbdir], check=True,
                         capture_output=True, text=True, env=env, input="\n").stdout
    modules = {}
    name = None
    for line in out.splitlines():
        s = line.strip()
        if len(s) > 3 and s[0].isdigit() and ". " in s:
            name = s.split(". ", 1)[1]
            modules[name] = None
        elif s.startswith("library name:") and name:
            modules[name] = s.split(":", 1)[1].strip()
    return modules


class StoresTestCase(AgentTestCase):

    def setUp(self):
        super().setUp()
        self.shared = os.path.join(self.home, ".pki", "nssdb")
        firefox = os.path.join(self.home, ".mozilla", "firefox")
        self.firefox = os.path.join(firefox, "abcd1234.default-release")
        self.thunderbird = os.path.join(self.home, ".thunderbird", "wxyz9876.default")
        for profile in (self.firefox, self.thunderbird):
            os.makedirs(profile)
            subprocess.run(["certutil", "-N", "--empty-password", "-d", "sql:" + profile],
                           check=True)
        with open(os.path.join(firefox, "profiles.ini"), "w") as f:
            f.write("[Profile0]\nName=default-release\nIsRelative=1\n"
                    "Path=abcd1234.default-release\nDefault=1\n\n"
                    "[General]\nStartWithLastProfile=1\nVersion=2\n")
        self.record = os.path.join(self.agent_state, "tokenwatch-agent", "stores.ini")

    def run_agent(self, *args, check=True):
        return subprocess.run([self.agent_bin] + list(args), capture_output=True, text=True,
                              env=self.agent_env(), check=check, timeout=60)

    def user_certificate(self, dbdir, nickname, cn):
        """A certificate the user imported by hand: never the agent's."""
        der = self.leaf(cn, 300 * DAY)
        path = os.path.join(self.workdir, "user-%s.der" % cn.replace(" ", "_"))
        with open(path, "wb") as f:
            f.write(der)
        subprocess.run(["certutil", "-A", "-d", "sql:" + dbdir, "-n", nickname, "-t", ",,",
                        "-i", path], check=True)

    def token_label(self):
        (token,) = self.objects(TOKEN).values()
        return token["Label"]

    def wait_registered(self, dbdir, nickname, timeout=30):
        def registered():
            time.sleep(0.1)  # certutil, like any reader, locks the database a moment
            return os.path.exists(os.path.join(dbdir, "cert9.db")) and \
                nickname in certutil_nicknames(dbdir, check=False)
        self.wait_until(registered, timeout * twtest.TIME_SCALE,
                        "%s in %s" % (nickname, dbdir))

    def wait_registered_everywhere(self, nickname):
        """Registered in every database of the test, the run of the agent's
        helper over: the card may be pulled without pulling it from under
        the helper (see the agent's helper time limit for when that
        happens)."""
        for db in (self.shared, self.firefox, self.thunderbird):
            self.wait_registered(db, nickname)
        self.wait_until(lambda: self.record_group(self.thunderbird).get("certificates"),
                        10, "the record")

    def record_file(self):
        cp = configparser.ConfigParser(interpolation=None)
        cp.optionxform = str
        cp.read(self.record)
        return cp

    def record_group(self, dbdir):
        cp = self.record_file()
        for group in cp.sections():
            if group.startswith("database ") and \
                    os.path.realpath(dbdir) in group.replace("%20", " "):
                return cp[group]
        return {}


class TestStores(StoresTestCase):

    def doctor_stores(self):
        """what `tokenwatchctl doctor --json` says of the user's NSS databases"""
        r = subprocess.run([twtest.tool("TOKENWATCHCTL"), "--session", "doctor", "--json"],
                           env=self.agent_env(), capture_output=True, text=True, timeout=60)
        return [f for f in json.loads(r.stdout)["findings"] if f["check"] == "stores"]

    def test_register_then_unregister_all(self):
        self.user_certificate(self.firefox, "Mine", "Moje Vlastní")
        self.start_daemon()
        self.wait_readers(4)
        self.start_agent()
        card = self.insert(0, {"9a": self.leaf("Jan Novák", 300 * DAY),
                               "9c": self.leaf("Jan Novák podpis", 300 * DAY,
                                               qc_compliance=True, qc_sscd=True)})
        label = self.token_label()
        nick = "%s - Jan Novák" % label
        nick_sign = "%s - Jan Novák podpis" % label
        for db in (self.shared, self.firefox, self.thunderbird):
            self.wait_registered(db, nick)
            self.wait_registered(db, nick_sign)
            modules = modutil_modules(db, self.agent_env())
            self.assertEqual(os.path.realpath(modules.get(MODULE) or ""),
                             os.path.realpath(twtest.OPENSC), modules)
        self.assertEqual(certutil_nicknames(self.firefox).count("Mine"), 1)
        # public copies only: no key was put into any database
        keys = subprocess.run(["certutil", "-K", "-d", "sql:" + self.shared],
                              capture_output=True, text=True)
        self.assertNotIn("rsa", keys.stdout)
        # OpenSC is known to p11-kit already: no user module file
        self.assertEqual(os.listdir(os.path.join(self.agent_config)), [])
        group = self.record_group(self.firefox)
        self.assertEqual(group.get("modules"), MODULE + ";")

        # a second insertion adds nothing twice
        card.remove()
        self.wait_signal("TokenRemoved")
        card.insert()
        self.wait_signal("TokenAdded", n=2, timeout=20)
        self.pump(3.0)
        self.assertEqual(certutil_nicknames(self.shared).count(nick), 1)
        card.remove()
        self.wait_signal("TokenRemoved", n=2)

        # tokenwatchctl unregister: exactly what was added goes
        env = self.agent_env()
        env["TOKENWATCH_AGENT"] = self.agent_bin
        out = subprocess.run([twtest.tool("TOKENWATCHCTL"), "unregister"], env=env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("Removed what tokenwatch-agent had added to %s"
                      % os.path.realpath(self.firefox), out.stdout)
        for db in (self.shared, self.firefox, self.thunderbird):
            self.assertNotIn(nick, certutil_nicknames(db))
            self.assertNotIn(nick_sign, certutil_nicknames(db))
            self.assertNotIn(MODULE, modutil_modules(db, self.agent_env()))
        self.assertEqual(certutil_nicknames(self.firefox), ["Mine"])
        self.assertEqual(self.record_group(self.firefox).get("modules", ""), "")
        # and again: nothing left to do
        out = self.run_agent("--unregister-all")
        self.assertIn("nothing registered", out.stdout)

    def test_user_removed_module_by_hand(self):
        self.start_daemon()
        self.wait_readers(4)
        self.start_agent()
        card = self.insert(0, {"9a": self.leaf("Eva Malá", 300 * DAY)})
        nick = "%s - Eva Malá" % self.token_label()
        self.wait_registered_everywhere(nick)
        self.wait_until(lambda: MODULE in modutil_modules(self.firefox, self.agent_env()),
                        10, "the module")
        # the user deletes the module and the copy in Firefox's device manager
        subprocess.run(["modutil", "-delete", MODULE, "-dbdir", "sql:" + self.firefox,
                        "-force"], check=True, capture_output=True, env=self.agent_env())
        subprocess.run(["certutil", "-D", "-d", "sql:" + self.firefox, "-n", nick],
                       check=True)
        card.remove()
        self.wait_signal("TokenRemoved")
        card.insert()
        self.wait_signal("TokenAdded", n=2, timeout=20)
        self.wait_until(lambda: self.record_group(self.firefox).get("removed-modules"),
                        30 * twtest.TIME_SCALE, "the removal noticed")
        self.pump(1.0)
        self.assertNotIn(MODULE, modutil_modules(self.firefox, self.agent_env()))
        self.assertNotIn(nick, certutil_nicknames(self.firefox))
        group = self.record_group(self.firefox)
        self.assertEqual(group.get("removed-modules"), MODULE + ";")
        self.assertTrue(group.get("removed-certificates"))
        # the other databases keep theirs
        self.assertIn(nick, certutil_nicknames(self.shared))
        self.assertIn(MODULE, modutil_modules(self.shared, self.agent_env()))
        # and unregistering leaves the user's choice alone
        self.run_agent("--unregister-all")
        self.assertNotIn(MODULE, modutil_modules(self.shared, self.agent_env()))
        card.remove()

    def test_profile_in_use_is_retried(self):
        # Firefox runs with the profile: its "lock" names a live process
        lock = os.path.join(self.firefox, "lock")
        os.symlink("127.0.0.1:+%d" % os.getpid(), lock)
        self.write_agent_config("[Stores]\nRetrySeconds=1\n")
        self.start_daemon()
        self.wait_readers(4)
        agent = self.start_agent()
        card = self.insert(0, {"9a": self.leaf("Petr Zaneprázdněný", 300 * DAY)})
        nick = "%s - Petr Zaneprázdněný" % self.token_label()
        self.wait_registered(self.shared, nick)
        self.pump(2.5)
        self.assertNotIn(nick, certutil_nicknames(self.firefox))
        self.assertIn("is in use", agent.log_text())
        # tokenwatchctl doctor says so, from what the agent recorded
        stores = self.doctor_stores()
        self.assertEqual([f["status"] for f in stores], ["warning"], stores)
        self.assertIn(os.path.realpath(self.firefox), stores[0]["summary"])
        # Firefox quits: the next try registers
        os.unlink(lock)
        self.wait_registered(self.firefox, nick)
        self.wait_until(lambda: self.doctor_stores()[0]["status"] == "ok", 10,
                        "doctor: stores ok")
        self.assertIn("NSS databases up to date", self.doctor_stores()[0]["summary"])
        # unregister-all refuses a profile in use and says so
        os.symlink("127.0.0.1:+%d" % os.getpid(), lock)
        out = self.run_agent("--unregister-all", check=False)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("Close it and run this again", out.stderr)
        self.assertIn(nick, certutil_nicknames(self.firefox))
        os.unlink(lock)
        card.remove()

    def test_superseded_copy_removed_after_grace(self):
        self.write_agent_config("[Stores]\nRemoveStaleAfterDays=0\n")
        self.start_daemon()
        self.wait_readers(4)
        self.start_agent()
        old = self.leaf("Jan Obnovený", 20 * DAY + HOUR, qc_compliance=True, qc_sscd=True)
        new = self.leaf("Jan Obnovený", 400 * DAY + HOUR, qc_compliance=True, qc_sscd=True)
        card = self.insert(0, {"9c": old})
        nick = "%s - Jan Obnovený" % self.token_label()
        self.wait_registered_everywhere(nick)
        card.remove()
        self.wait_signal("TokenRemoved")
        card2 = self.insert(1, {"9c": new}, n_tokens=2)
        self.wait_signal("CertificateRenewed")
        # one copy again: the new one; the old is gone (grace 0 days)
        def copies():
            time.sleep(0.1)
            out = subprocess.run(["certutil", "-L", "-d", "sql:" + self.shared, "-n", nick,
                                  "-a"], capture_output=True, text=True)
            blocks = out.stdout.split("-----END CERTIFICATE-----")
            return [base64.b64decode("".join(b.split("-----BEGIN CERTIFICATE-----")[1].split()))
                    for b in blocks if "BEGIN CERTIFICATE" in b]
        recorded = hashlib.sha256(new).hexdigest() + ";"
        self.wait_until(lambda: copies() == [new] and
                        self.record_group(self.shared).get("certificates") == recorded,
                        30 * twtest.TIME_SCALE, "the new copy only")
        card2.remove()


class TestStoresOwners(StoresTestCase):

    def test_other_users_token_not_registered(self):
        self.env["TOKENWATCH_TEST_SESSION_UIDS"] = str(os.getuid() + 1)
        self.start_daemon()
        self.wait_readers(4)
        agent = self.start_agent()
        card = self.insert(0, {"9a": self.leaf("Cizí Držitel", 300 * DAY)})
        self.pump(3.0)
        self.assertFalse(os.path.exists(os.path.join(self.shared, "cert9.db")))
        self.assertEqual(certutil_nicknames(self.firefox), [])
        self.assertIn("Nothing to register", agent.log_text())
        card.remove()

    def test_absent_token_of_another_user(self):
        """Another user's token, remembered by the daemon and no longer in a
        reader, with a warning due: this user's agent, starting after it,
        neither shows it nor registers anything; the daemon still lists it."""
        self.env["TOKENWATCH_TEST_SESSION_UIDS"] = str(os.getuid() + 1)
        self.start_notifier()
        self.start_daemon()
        self.wait_readers(4)
        card = self.insert(0, {"9a": self.leaf("Cizí Nepřítomný", 5 * DAY + HOUR)})
        self.wait_signal("ExpiryWarning")
        card.remove()
        self.wait_signal("TokenRemoved")
        agent = self.start_agent()
        self.wait_until(lambda: "tokenwatchd is running" in agent.log_text(), 10,
                        "the agent to follow the daemon")
        self.pump(3.0)  # past the agent's catch-up
        self.assertEqual(self.notifications(), [])
        self.assertFalse(os.path.exists(os.path.join(self.shared, "cert9.db")))
        self.assertEqual(certutil_nicknames(self.firefox), [])
        (token,) = self.objects(TOKEN).values()
        self.assertFalse(token["Present"])

    def test_session_becomes_active_while_token_present(self):
        """A user switch with the card in the reader: the user whose session
        became active owns the token from then on, and its agent registers
        it (sd-login's session monitor; a file the daemon follows stands in
        for logind here)."""
        other = os.getuid() + 1
        sessions = os.path.join(self.workdir, "sessions")
        with open(sessions, "w") as f:
            f.write("%d\n" % other)
        self.env["TOKENWATCH_TEST_SESSIONS_FILE"] = sessions
        self.start_daemon()
        self.wait_readers(4)
        self.start_agent()
        card = self.insert(0, {"9a": self.leaf("Sdílený Počítač", 300 * DAY)})
        nick = "%s - Sdílený Počítač" % self.token_label()
        self.pump(2.0)
        self.assertEqual(certutil_nicknames(self.firefox), [])
        (token,) = self.objects(TOKEN).values()
        self.assertEqual(token["Owners"], [other])
        # this user's session becomes active (atomically, as logind writes)
        with open(sessions + ".tmp", "w") as f:
            f.write("%d\n" % os.getuid())
        os.rename(sessions + ".tmp", sessions)
        self.wait_until(lambda: list(self.objects(TOKEN).values())[0]["Owners"]
                        == [other, os.getuid()], 10, "Owners to grow")
        self.wait_registered(self.firefox, nick)
        card.remove()

    def test_register_disabled(self):
        self.write_agent_config("[Stores]\nRegister=false\nRetrySeconds=0\nBogus=1\n")
        self.start_daemon()
        self.wait_readers(4)
        agent = self.start_agent()
        card = self.insert(0, {"9a": self.leaf("Nikdo Nechce", 300 * DAY)})
        self.pump(3.0)
        self.assertEqual(certutil_nicknames(self.firefox), [])
        log = agent.log_text()
        self.assertIn("[Stores] RetrySeconds", log)
        self.assertIn("unknown key Bogus in [Stores]", log)
        card.remove()


if __name__ == "__main__":
    twtest.main()
