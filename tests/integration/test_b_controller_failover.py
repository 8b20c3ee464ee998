"""
Scenario b: the controller's machine dies (kill -9).  ZooKeeper expires its
session, another broker takes over as controller, and the partitions the dead
broker led get new leaders with a bumped leader epoch, which clients see.  A
broker restarted right after kill -9 replaces its own stale registration at
once instead of waiting for ZooKeeper to expire it.

Brokers listen on fixed ports here (picked free by the harness), so that a
restarted broker comes back with the same endpoint, as on a real machine.
"""
import signal
import time

import pytest

import kbharness as h

TOPIC = "payments"
SOLO = "solo"  # partition 0 only on broker 1, partition 1 only on broker 2
SHORT_SESSION_MS = 2000
LONG_SESSION_MS = 10000  # ZooKeeper's maximum with tickTime=500


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start broker 1 alone so that it becomes the controller"):
        c.add_broker(1, fixed_port=True, session_timeout_ms=SHORT_SESSION_MS, metrics=True).start()
        c.brokers[1].wait_registered()
        assert c.wait_controller() == 1
    with h.step("start brokers 2 and 3 (broker 3 with a 10 s session)"):
        c.add_broker(2, fixed_port=True, session_timeout_ms=SHORT_SESSION_MS, metrics=True).start()
        c.add_broker(3, fixed_port=True, session_timeout_ms=LONG_SESSION_MS, metrics=True).start()
        c.brokers[2].wait_registered()
        c.brokers[3].wait_registered()
    with h.step(f"create topic {TOPIC} (6 partitions, RF 3)"):
        r = c.admin("create-topic", "--topic", TOPIC, "--partitions", 6, "--replication-factor", 3)
        assert r.returncode == 0, r.stderr
        c.wait_states(TOPIC)
    with h.step(f"create topic {SOLO} with one replica per partition (1, 2)"):
        r = c.admin("create-topic", "--topic", SOLO, "--replica-assignment", "1,2")
        assert r.returncode == 0, r.stderr
        c.wait_states(SOLO)
    return c


def kcat_leaders(broker):
    v = h.kcat_view(h.kcat_metadata(broker.bootstrap))
    t = v["topics"].get(TOPIC)
    return {p: x[0] for p, x in t["partitions"].items()} if t else None


def state_watchers(cluster, topics=(TOPIC, SOLO)):
    """The sessions watching each state znode of topics."""
    w = cluster.zookeeper.watchers()
    return {(t, p): w.get(f"{cluster.chroot}/brokers/topics/{t}/partitions/{p}/state", set())
            for t in topics for p in cluster.states(t)}


def session_of(broker):
    return broker.registration()[1].ephemeralOwner


def test_only_the_controller_watches_partition_states(cluster):
    """Brokers take partition states from the controller's requests; only
    the controller reads and watches the state znodes."""
    ctl = session_of(cluster.brokers[cluster.controller()])
    watched = state_watchers(cluster)
    assert watched and all(s == {ctl} for s in watched.values()), watched


def test_controller_kill9_moves_controller_and_leadership(cluster):
    dead = cluster.controller()
    assert dead == 1
    survivors = [b for b in cluster.brokers.values() if b.id != dead]
    before = cluster.states(TOPIC)
    led_by_dead = sorted(p for p, s in before.items() if s["leader"] == dead)
    assert len(led_by_dead) == 2
    epoch_before = cluster.controller_epoch()

    t_kill = time.monotonic()
    cluster.brokers[dead].kill9()
    with h.step(f"wait for ZooKeeper to expire broker {dead}'s session"):
        h.wait_until(lambda: dead not in cluster.registered_ids(), 60,
                     f"/brokers/ids/{dead} to vanish", interval=0.02)
    t_expired = time.monotonic()
    h.note(f"kill -9 of controller {dead} -> its /brokers/ids znode vanished", t_expired - t_kill)

    def new_controller():
        c = cluster.controller()
        return c is not None and c != dead

    def reelected():
        st = cluster.states(TOPIC)
        return st if all(st[p]["leader"] not in (dead, -1) and
                         st[p]["leader_epoch"] == before[p]["leader_epoch"] + 1
                         for p in led_by_dead) else None

    def kcat_sees(b):
        return lambda: all(x not in (dead, -1) for x in kcat_leaders(b).values())

    def solo_offline():
        s = cluster.state(SOLO, 0)
        return s if s["leader"] == -1 else None

    def first_ack():
        # A raw acks=1 Produce to the leader the state znode names, as soon
        # as one lives: the failover as a client feels it.
        lid = cluster.state(TOPIC, led_by_dead[0])["leader"]
        if lid in (dead, -1):
            return None
        return h.produce_one(cluster.brokers[lid].port, TOPIC, led_by_dead[0], b"first", acks=1) == 0

    conditions = {"another broker holds /controller": new_controller,
                  f"a record on {TOPIC}-{led_by_dead[0]} is acknowledged": first_ack,
                  "state znodes name new leaders": reelected,
                  f"{SOLO}-0 (only on broker {dead}) is offline": solo_offline}
    for b in survivors:
        conditions[f"kcat via broker {b.id} shows the new leaders"] = kcat_sees(b)
    with h.step("wait for failover (measured from the znode's disappearance)"):
        times = h.wait_all(conditions, 60)
    for what, secs in times.items():
        h.note(f"after expiry: {what}", secs)

    # The new controller read every state and watches it.
    ctl = session_of(cluster.brokers[cluster.controller()])
    h.wait_until(lambda: all(s == {ctl} for s in state_watchers(cluster).values()), 30,
                 "only the new controller to watch every state znode")
    after = cluster.states(TOPIC)
    assert cluster.controller_epoch() == epoch_before + 1
    for p in led_by_dead:
        s = after[p]
        assert s["leader"] in [b.id for b in survivors]
        assert s["leader_epoch"] == before[p]["leader_epoch"] + 1
        assert s["controller_epoch"] == epoch_before + 1
        assert dead not in s["isr"], f"partition {p}: dead broker still in ISR {s['isr']}"
        # Leader = first live replica in assignment order.
        assignment = cluster.topic(TOPIC)["partitions"][str(p)]
        assert s["leader"] == [r for r in assignment if r != dead][0]
    for p in set(before) - set(led_by_dead):
        assert after[p]["leader"] == before[p]["leader"], "partitions of live leaders keep them"
    for b in survivors:
        v = h.kcat_view(h.kcat_metadata(b.bootstrap))
        assert sorted(v["brokers"]) == sorted(x.id for x in survivors)
        assert v["controller"] == cluster.controller()
        assert {p: x[0] for p, x in v["topics"][TOPIC]["partitions"].items()} == h.leaders_of(after)
    # Each survivor took its new roles as role updates with a newer epoch:
    # none was refused as stale.
    for b in survivors:
        m = b.metrics()
        assert h.metric(m, "kbroker_role_updates_applied_total") >= 1, m
        assert h.metric(m, "kbroker_role_updates_refused_stale_epoch_total") == 0, m

    # A partition whose only replica died has no leader; Kafka keeps the last
    # ISR member in the ISR, and clients get LEADER_NOT_AVAILABLE for it.
    solo = cluster.state(SOLO, 0)
    assert solo["leader"] == -1 and solo["isr"] == [dead] and solo["leader_epoch"] == 1, solo
    assert cluster.state(SOLO, 1)["leader"] == 2
    leader, _, _, err = h.kcat_view(h.kcat_metadata(survivors[0].bootstrap))["topics"][SOLO]["partitions"][0]
    assert leader == -1 and err and "leader not available" in err.lower(), (leader, err)
    # The controller says so at WARN: an operator must see an offline partition.
    ctl_log = cluster.brokers[cluster.controller()].process.last_run_text()
    assert any("WARN" in ln and f"partition {SOLO}/0 is offline" in ln for ln in ctl_log.splitlines()), \
        ctl_log[-2000:]

    # Before the dead broker returns, kcat produces to and consumes from
    # every partition it led, through the survivors.
    bootstrap = ",".join(b.bootstrap for b in survivors)
    for p in led_by_dead:
        path = cluster.workdir / f"after-failover-{p}.txt"
        path.write_text("".join(f"k{i}\tfailover-{p}-{i}\n" for i in range(20)))
        with h.step(f"kcat produces 20 records to {TOPIC}-{p} and consumes them back"):
            h.kcat_produce(bootstrap, TOPIC, path, partition=p)
            got = [r.value for r in h.kcat_consume(bootstrap, TOPIC, partition=p)]
        assert got[-20:] == [f"failover-{p}-{i}".encode() for i in range(20)], got


def test_killed_broker_rejoins_on_restart(cluster):
    b = cluster.brokers[1]
    assert not b.alive()
    with h.step("restart broker 1 with the same config and port"):
        b.start()
        b.wait_registered(30)
    assert cluster.registered_ids() == [1, 2, 3]
    v = h.wait_until(lambda: (lambda v: v if sorted(v["brokers"]) == [1, 2, 3] else None)(
        h.kcat_view(h.kcat_metadata(b.bootstrap))), 20, "broker 1 to list all three brokers")
    assert v["controller"] == cluster.controller()
    with h.step(f"wait for {SOLO}-0 to get its only replica, broker 1, back as leader"):
        solo = h.wait_until(lambda: (lambda s: s if s["leader"] == 1 else None)(cluster.state(SOLO, 0)),
                            20, f"{SOLO}-0 to be led by broker 1 again")
    assert solo["leader_epoch"] == 2 and solo["isr"] == [1], solo


def test_restart_right_after_kill9_replaces_the_stale_registration_at_once(cluster):
    b = cluster.brokers[3]
    _, old = b.registration()
    b.kill9()
    t0 = time.monotonic()
    with h.step("restart broker 3 at once after kill -9 (its old session lives 10 s)"):
        b.start()
        stat = b.wait_registered(LONG_SESSION_MS / 1000.0, newer_than=old.czxid)
    h.note("kill -9 + restart -> new registration (new czxid)", time.monotonic() - t0)
    assert stat.czxid > old.czxid
    # ZooKeeper still holds the killed process's session: the new
    # registration did not wait for it to expire.
    assert old.ephemeralOwner in cluster.zookeeper.live_sessions(), \
        f"session 0x{old.ephemeralOwner:x} of the killed broker 3 had expired before it registered again"
    assert stat.ephemeralOwner != old.ephemeralOwner
    h.wait_until(lambda: sorted(h.kcat_view(h.kcat_metadata(b.bootstrap))["brokers"]) == [1, 2, 3],
                 20, "restarted broker 3 to list all three brokers")


def test_sigterm_exits_0_and_deletes_the_registration(cluster):
    b = cluster.brokers[2]
    with h.step("SIGTERM broker 2"):
        rc = b.stop(signal.SIGTERM, timeout=15)
    assert rc == 0
    assert 2 not in cluster.registered_ids(), "a clean exit deletes /brokers/ids/2 itself"
