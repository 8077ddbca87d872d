"""tokenwatch test bed: a private pcscd with vpcd readers, virtual PIV
cards, test certificates and a private D-Bus daemon, without hardware.

    from twtestbed import Testbed

    with Testbed(entries=2) as tb:                  # 4 readers
        cert = tb.certs.leaf("Testbed Auth")
        card = tb.card(0, {"9a": cert.der})         # inserted in reader 0
        daemon = tb.spawn("tokenwatchd", ["build/daemon/tokenwatchd"])
        ...                                          # talk to it on tb.bus
        card.remove()

Every instance uses its own temp dir, socket paths and free TCP ports, so
tests can run in parallel; children die with the test process (see procs).
The temp dir (all logs) is deleted at the end, unless the with-block
raised or TWTESTBED_KEEP=1 is set.  TWTESTBED_CERT_CACHE=DIR shares
generated certificates between tests.
"""

import os
import shutil
import sys
import tempfile

from .bus import PrivateBus
from .certs import CertFactory
from .pcsc import PcscClient
from .pcscd import Pcscd
from .procs import Proc
from .vcard import VirtualPivCard

__all__ = ["Testbed", "Pcscd", "PrivateBus", "PcscClient", "CertFactory",
           "VirtualPivCard", "Proc"]


class Testbed:
    """A temp dir, a Pcscd with `entries` vpcd entries (2 readers each), a
    PrivateBus (unless bus=False) and a factory of virtual cards.

    Attributes once started: workdir, pcscd, bus, certs (CertFactory),
    pcsc (PcscClient for the private pcscd), env, env_vars."""

    def __init__(self, entries=2, *, bus=True, isolate=True,
                 service_dirs=(), keep=None):
        self.entries = entries
        self.with_bus = bus
        self.isolate = isolate
        self.service_dirs = service_dirs
        self.keep = bool(os.environ.get("TWTESTBED_KEEP")) if keep is None \
            else keep
        self.workdir = None
        self.pcscd = None
        self.bus = None
        self.certs = None
        self._cards = []
        self._procs = []

    # -- life cycle --------------------------------------------------------
    def start(self):
        self.workdir = tempfile.mkdtemp(prefix="twtestbed-")
        try:
            self.certs = CertFactory(os.environ.get("TWTESTBED_CERT_CACHE")
                                     or os.path.join(self.workdir, "certs"))
            self.pcscd = Pcscd(self.workdir, self.entries,
                               isolate=self.isolate).start()
            if self.with_bus:
                self.bus = PrivateBus(self.workdir, self.service_dirs).start()
        except BaseException:
            self.close()
            raise
        return self

    def close(self):
        """Stop spawned processes, remove the cards, stop pcscd and the bus,
        delete the temp dir (unless keep).  Idempotent."""
        for proc in reversed(self._procs):
            proc.stop()
        for card in self._cards:
            card.remove()
        if self.pcscd is not None:
            self.pcscd.stop()
        if self.bus is not None:
            self.bus.stop()
        if self.workdir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and self.workdir and not self.keep:
            # Keep the logs of a failed test.
            self.keep = True
            sys.stderr.write("twtestbed: test failed, logs kept in %s\n"
                             % self.workdir)
        self.close()

    # -- readers and cards ---------------------------------------------------
    @property
    def pcsc(self):
        return self.pcscd.client

    @property
    def reader_names(self):
        return self.pcscd.reader_names

    def port_for(self, reader_index):
        return self.pcscd.port_for(reader_index)

    def card(self, reader_index, certificates=None, *, insert=True,
             **kwargs):
        """A VirtualPivCard for reader `reader_index` (inserted unless
        insert=False); keyword arguments go to VirtualPivCard.  It is
        removed at close()."""
        card = VirtualPivCard(self.port_for(reader_index), certificates,
                              **kwargs)
        self._cards.append(card)
        if insert:
            card.insert()
        return card

    # -- processes under test ------------------------------------------------
    @property
    def env_vars(self):
        """The variables that point a child at this bed's pcscd and bus."""
        env = {"PCSCLITE_CSOCK_NAME": self.pcscd.socket_path}
        if self.bus is not None:
            env["DBUS_SESSION_BUS_ADDRESS"] = self.bus.address
            env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus.address
        return env

    @property
    def env(self):
        """os.environ plus env_vars, for child processes."""
        return dict(os.environ, **self.env_vars)

    def spawn(self, name, argv, *, env=None, **kwargs):
        """Start `argv` with `env` (default: self.env), logging to
        `workdir`/`name`.log; stopped (SIGTERM, then SIGKILL) at close().
        Further keyword arguments go to procs.Proc."""
        proc = Proc(argv, os.path.join(self.workdir, name + ".log"),
                    env=self.env if env is None else env, **kwargs)
        self._procs.append(proc)
        return proc
