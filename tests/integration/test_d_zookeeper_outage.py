"""
Scenario d: ZooKeeper goes away for a while (a restart, a network blip): until
every broker's ZooKeeper client has noticed (kbroker_zookeeper_connected is 0
in its /metrics).  Brokers keep answering Metadata from their in-memory cache
throughout, and when ZooKeeper returns they reconnect by themselves: their
registrations are there, a topic created after the outage reaches every
broker, and nothing is restarted.

The brokers' session timeout is 10 s (ZooKeeper's maximum at tickTime 500), so
a short outage does not have to expire their sessions; if one does expire, the
broker must register again by itself, which this test accepts too.

Leaders cannot tell an outage from being cut off while a controller moves
their partitions, so once they have heard nothing from ZooKeeper for two
thirds of the session timeout they refuse produces (NOT_LEADER_OR_FOLLOWER,
which clients retry) until ZooKeeper is back; then produces succeed again.
"""
import time

import pytest

import kbharness as h

BEFORE = "before-outage"
AFTER = "after-outage"


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2, 3 with a 10 s ZooKeeper session"):
        c.start_brokers([1, 2, 3], session_timeout_ms=10000, metrics=True)
        c.wait_controller()
    with h.step(f"create topic {BEFORE} (3 partitions, RF 2)"):
        r = c.admin("create-topic", "--topic", BEFORE, "--partitions", 3, "--replication-factor", 2)
        assert r.returncode == 0, r.stderr
        states = c.wait_states(BEFORE)
    for b in c.brokers.values():
        h.wait_until(lambda: BEFORE in h.kcat_view(h.kcat_metadata(b.bootstrap))["topics"], 20,
                     f"broker {b.id} to know {BEFORE}")
    c.states_before = states
    return c


def test_brokers_serve_metadata_while_zookeeper_is_down_and_recover_when_it_returns(cluster, zookeeper):
    leaders = h.leaders_of(cluster.states_before)
    t0 = time.monotonic()
    with h.step("stop ZooKeeper (SIGTERM)"):
        rc = zookeeper.stop()
    assert rc is not None
    try:
        # Ask every broker at the start of the outage and again once every
        # broker's ZooKeeper client has noticed it (its /metrics says so).
        for when in ("at once", "once every broker sees ZooKeeper gone"):
            if when != "at once":
                for b in cluster.brokers.values():
                    h.wait_until(lambda: h.metric(b.metrics(), "kbroker_zookeeper_connected") == 0, 30,
                                 f"broker {b.id} to notice that ZooKeeper is gone")
            with h.step(f"kcat -L against every broker while ZooKeeper is down ({when})"):
                for b in cluster.brokers.values():
                    v = h.kcat_view(h.kcat_metadata(b.bootstrap))
                    assert sorted(v["brokers"]) == [1, 2, 3], v["brokers"]
                    assert {p: x[0] for p, x in v["topics"][BEFORE]["partitions"].items()} == leaders
                    assert b.alive()
        with h.step("a produce to the leader of partition 0 is refused (6) while ZooKeeper is down"):
            leader = cluster.brokers[leaders[0]]
            h.wait_until(lambda: h.produce_one(leader.port, BEFORE, 0, b"during-the-outage") == 6, 30,
                         f"broker {leader.id} to refuse produces without ZooKeeper", interval=0.2)
    finally:
        with h.step("start ZooKeeper again (same dataDir and port)"):
            zookeeper.start()
    h.note("ZooKeeper outage", time.monotonic() - t0)

    t_back = time.monotonic()
    with h.step("wait for all three registrations"):
        h.wait_until(lambda: cluster.registered_ids() == [1, 2, 3], 30, "brokers 1-3 registered")
        cluster.wait_controller(30)
    h.note("ZooKeeper back -> all registered, controller present", time.monotonic() - t_back)
    with h.step("produces to partition 0's leader succeed again"):
        h.wait_until(lambda: h.produce_one(cluster.leader(BEFORE, 0).port, BEFORE, 0,
                                           b"after-the-outage") == 0, 30, "a produce to succeed again", interval=0.2)

    with h.step(f"create topic {AFTER} and wait for every broker to show it"):
        r = cluster.admin("create-topic", "--topic", AFTER, "--partitions", 2, "--replication-factor", 3)
        assert r.returncode == 0, r.stderr
        states = cluster.wait_states(AFTER, timeout=30)
        for b in cluster.brokers.values():
            def shows(b=b):
                t = h.kcat_view(h.kcat_metadata(b.bootstrap))["topics"].get(AFTER)
                return t and {p: x[0] for p, x in t["partitions"].items()} == h.leaders_of(states)
            h.wait_until(shows, 30, f"broker {b.id} to show {AFTER} with its leaders")
    h.note("ZooKeeper back -> new topic visible on every broker", time.monotonic() - t_back)
    for b in cluster.brokers.values():
        assert b.alive(), f"broker {b.id} exited"
