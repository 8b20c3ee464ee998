"""
Scenario c: the controller freezes (SIGSTOP: a long GC pause, a stalled VM)
for longer than its ZooKeeper session timeout.  ZooKeeper expires the session
and another broker takes over.  When the frozen broker wakes up (SIGCONT) it
learns its session is gone, registers again under a new session (new czxid =
new broker epoch), does not act as controller any more, and serves clients.
"""
import signal
import time

import pytest

import kbharness as h

TOPIC = "inventory"


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start broker 1 alone so that it becomes the controller, then 2 and 3"):
        c.start_brokers([1])
        assert c.wait_controller() == 1
        c.start_brokers([2, 3])
    with h.step(f"create topic {TOPIC} (3 partitions, RF 3)"):
        r = c.admin("create-topic", "--topic", TOPIC, "--partitions", 3, "--replication-factor", 3)
        assert r.returncode == 0, r.stderr
        c.wait_states(TOPIC)
    return c


def test_frozen_controller_reregisters_and_gives_up_the_controller_role(cluster):
    frozen = cluster.brokers[cluster.controller()]
    _, old = frozen.registration()
    epoch_before = cluster.controller_epoch()

    t0 = time.monotonic()
    frozen.send_signal(signal.SIGSTOP)
    try:
        with h.step(f"SIGSTOP controller {frozen.id}; wait for ZooKeeper to expire its session"):
            h.wait_until(lambda: frozen.id not in cluster.registered_ids(), 30,
                         f"/brokers/ids/{frozen.id} to vanish", interval=0.05)
        h.note(f"SIGSTOP -> /brokers/ids/{frozen.id} vanished", time.monotonic() - t0)
        with h.step("wait for another broker to become controller"):
            new = cluster.wait_controller(30, other_than=frozen.id)
        h.note(f"SIGSTOP -> broker {new} is controller", time.monotonic() - t0)
    finally:
        frozen.send_signal(signal.SIGCONT)
    t_cont = time.monotonic()

    with h.step(f"SIGCONT broker {frozen.id}; wait for it to register again"):
        stat = frozen.wait_registered(30, newer_than=old.czxid)
    h.note("SIGCONT -> new registration", time.monotonic() - t_cont)
    assert stat.czxid > old.czxid
    assert stat.ephemeralOwner != old.ephemeralOwner

    ctl = cluster.controller()
    assert ctl is not None
    if ctl == frozen.id:
        assert cluster.controller_epoch() > epoch_before + 1, \
            "the woken broker may only be controller again through a new election"
    else:
        assert cluster.controller_epoch() == epoch_before + 1

    with h.step(f"kcat -L against the woken broker {frozen.id}"):
        def serves():
            v = h.kcat_view(h.kcat_metadata(frozen.bootstrap))
            return v if (sorted(v["brokers"]) == [1, 2, 3] and TOPIC in v["topics"]
                         and v["controller"] == cluster.controller()) else None
        v = h.wait_until(serves, 20, f"broker {frozen.id} to serve current metadata")
    assert len(v["topics"][TOPIC]["partitions"]) == 3
    # Every broker agrees on who the controller is.
    for b in cluster.brokers.values():
        h.wait_until(lambda: h.kcat_view(h.kcat_metadata(b.bootstrap))["controller"] == cluster.controller(),
                     10, f"broker {b.id} to report controller {cluster.controller()}")

