"""
Scenario r: zookeeper.connect names ZooKeeper by host name, and the name
stops resolving (DNS down, a hosts file being rewritten).  The ZooKeeper C
client cannot even create its handle then (zookeeper_init returns NULL).

The broker runs in a mount namespace of its own (unshare -m) whose
/etc/hosts and /etc/nsswitch.conf are this test's files (bind mounts; no
DNS is asked), so the test makes the name resolve or not by rewriting one
file, with no fake in the broker or the ZooKeeper client:

  1. at start-up the name does not resolve: the broker retries with backoff,
     logs it (rate-limited: fewer lines than failures), /metrics shows the
     state no_handle and counts the failures; once the name resolves it
     connects and registers;
  2. the issue's case: the broker's session expires (SIGSTOP past the
     timeout), and the name stops resolving just before the broker opens its
     new session.  The order is made certain by pausing ZooKeeper too: the
     woken broker reconnects (the name still resolves) and waits for the
     paused server's answer; the test removes the name and resumes ZooKeeper,
     which answers "expired"; the new handle then cannot be created.  The
     broker keeps retrying instead of sitting there silently, and registers
     again as soon as the name resolves.
"""
import contextlib
import os
import shutil
import signal
import subprocess
import time

import pytest

import kbharness as h

NAME = "zookeeper.kbroker-test"
SESSION_MS = 10000  # the window the broker waits for ZooKeeper's answer is 2/3 of it
TCP_STATES = {"01": "ESTABLISHED", "08": "CLOSE_WAIT"}


def unshare_prefix():
    """unshare's argv for a private mount namespace, or None when this
    machine does not allow one."""
    base = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(base + ["sh", "-c", "mount --bind /etc/hostname /etc/hostname"],
                           capture_output=True, timeout=30)
    return base if probe.returncode == 0 else None


class Resolver:
    """The hosts and nsswitch.conf files the broker's namespace sees."""

    def __init__(self, workdir):
        self.hosts = workdir / "hosts"
        self.nsswitch = workdir / "nsswitch.conf"
        self.nsswitch.write_text("passwd: files\ngroup: files\nhosts: files\n")
        self.resolve(False)

    def resolve(self, yes):
        # Rewritten in place: the bind mount holds this inode.
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost\n" + (f"127.0.0.1 {NAME}\n" if yes else ""))

    def launcher(self):
        """The command the broker runs under: a private mount namespace
        with this test's files bind-mounted, then exec of the broker."""
        script = (f'mount --bind "{self.hosts}" /etc/hosts && '
                  f'mount --bind "{self.nsswitch}" /etc/nsswitch.conf && exec "$0" "$@"')
        return PREFIX + ["sh", "-c", script]


PREFIX = unshare_prefix()
pytestmark = pytest.mark.skipif(PREFIX is None, reason="no private mount namespace (unshare -m) on this machine")


def zk_connections(pid, zk_port):
    """{local port: TCP state} of the process's connections to zk_port."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    out = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[9] in inodes and int(f[2].rsplit(":", 1)[1], 16) == zk_port:
                out[int(f[1].rsplit(":", 1)[1], 16)] = TCP_STATES.get(f[3], f[3])
    return out


def zk_metrics(broker):
    m = broker.metrics()
    return {"state": next((s for s in ("no_handle", "connecting", "connected", "disconnected")
                           if m.get(f'kbroker_zookeeper_session_state{{state="{s}"}}') == 1), None),
            "failures": h.metric(m, "kbroker_zookeeper_handle_failures_total"),
            "expirations": h.metric(m, "kbroker_zookeeper_session_expirations_total"),
            "connected": h.metric(m, "kbroker_zookeeper_connected"),
            "registered": h.metric(m, "kbroker_registered")}


@pytest.fixture(scope="module")
def resolver(workdir):
    return Resolver(workdir)


@pytest.fixture(scope="module")
def cluster(make_cluster):
    return make_cluster()


@pytest.fixture(scope="module")
def broker(cluster, resolver, zookeeper):
    b = cluster.add_broker(1, session_timeout_ms=SESSION_MS, metrics=True,
                           extra={"zookeeper.connect": f"{NAME}:{zookeeper.port}",
                                  "zookeeper.connection.timeout.ms": 120000})
    b.launcher = resolver.launcher()
    return b


def test_name_that_does_not_resolve_at_start_is_retried_until_it_does(broker, resolver):
    resolver.resolve(False)
    with h.step(f"start broker 1 with zookeeper.connect={NAME}:PORT while {NAME} does not resolve"):
        broker.start()
        m = h.wait_until(lambda: (lambda m: m if m["failures"] >= 3 else None)(zk_metrics(broker)), 60,
                         "three failed handle creations in /metrics")
    assert m["state"] == "no_handle" and m["connected"] == 0 and m["registered"] == 0, m
    log = broker.process.last_run_text()
    refusals = log.count(f"cannot create a ZooKeeper client handle for {NAME}:")
    assert refusals >= 1 and "none of its host names resolves" in log, log
    assert refusals < m["failures"], f"{refusals} lines for {m['failures']} failures: not rate-limited"
    assert " zkclient: " in log and "ZOO_ERROR@" not in log, log
    with h.step(f"{NAME} resolves again: wait for broker 1 to register"):
        resolver.resolve(True)
        broker.wait_registered(60)
    # The znode can be seen before the broker has handled the answer to its
    # create: wait for /metrics to say registered too.
    m = h.wait_until(lambda: (lambda m: m if m["state"] == "connected" and m["registered"] == 1 else None)(
        zk_metrics(broker)), 30, "/metrics to show the session connected and the broker registered")
    assert m["connected"] == 1 and m["registered"] == 1, m
    assert "created a ZooKeeper client handle for" in broker.process.last_run_text()


def test_handle_lost_to_an_expiry_while_the_name_does_not_resolve_is_recreated(broker, resolver, zookeeper,
                                                                                cluster):
    resolver.resolve(True)
    if not broker.alive():  # the scenario before failed
        with h.step(f"start broker 1 while {NAME} resolves"):
            broker.start()
            broker.wait_registered(60)
    _, old = broker.registration()
    before = {"state": None, "failures": 0, "expirations": 0}
    with contextlib.suppress(Exception):  # an older broker without these metrics
        before = zk_metrics(broker)
    if before["state"] is not None:
        assert before["state"] == "connected", before
    (old_port,) = [p for p, st in zk_connections(broker.process.pid, zookeeper.port).items() if st == "ESTABLISHED"]
    t0 = time.monotonic()
    broker.send_signal(signal.SIGSTOP)
    zk_paused = False
    try:
        with h.step("SIGSTOP broker 1 until ZooKeeper expires its session and closes its connection"):
            h.wait_until(lambda: 1 not in cluster.registered_ids(), 60, "/brokers/ids/1 to vanish", interval=0.1)
            h.wait_until(lambda: zk_connections(broker.process.pid, zookeeper.port).get(old_port) == "CLOSE_WAIT",
                         30, "ZooKeeper to close the expired session's connection")
        h.note("SIGSTOP -> session expired", time.monotonic() - t0)
        with h.step("SIGSTOP ZooKeeper, SIGCONT broker 1: it reconnects and waits for the paused server"):
            zookeeper.process.send_signal(signal.SIGSTOP)
            zk_paused = True
            broker.send_signal(signal.SIGCONT)
            h.wait_until(lambda: any(p != old_port and st == "ESTABLISHED" for p, st in
                                     zk_connections(broker.process.pid, zookeeper.port).items()),
                         SESSION_MS / 1000 / 3, "broker 1's new connection to ZooKeeper", interval=0.02)
        with h.step(f"{NAME} stops resolving; SIGCONT ZooKeeper, which answers 'session expired'"):
            resolver.resolve(False)
            zookeeper.process.send_signal(signal.SIGCONT)
            zk_paused = False
            m = h.wait_until(lambda: (lambda m: m if m["expirations"] >= before["expirations"] + 1 and
                                      m["failures"] >= before["failures"] + 3 else None)(zk_metrics(broker)),
                             60, "an expiry and three failed handle creations in /metrics")
    finally:
        broker.send_signal(signal.SIGCONT)
        if zk_paused:
            zookeeper.process.send_signal(signal.SIGCONT)
    assert m["state"] == "no_handle" and m["connected"] == 0 and m["registered"] == 0, m
    log = broker.process.last_run_text()
    assert f"ZooKeeper session 0x{old.ephemeralOwner:x} expired" in log, log
    assert "none of its host names resolves" in log.split(f"session 0x{old.ephemeralOwner:x} expired", 1)[1], log
    with h.step(f"{NAME} resolves again: wait for broker 1 to register under a new session"):
        resolver.resolve(True)
        stat = broker.wait_registered(60, newer_than=old.czxid)
    assert stat.ephemeralOwner != old.ephemeralOwner
    m = h.wait_until(lambda: (lambda m: m if m["state"] == "connected" else None)(zk_metrics(broker)), 30,
                     "/metrics to show the session connected")
    assert m["registered"] == 1 and m["connected"] == 1, m
    assert broker.alive()
