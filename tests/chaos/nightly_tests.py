"""
The nightly soak, N1-N9 of reliability-tests.md section 6.3, run by
tests/chaos/nightly.sh (not by CI: about an hour).  ZooKeeper is a 3-server
ensemble here (KB_CHAOS_ZK=3).  Same cluster, workload and checker as the CI
tier (chaos.ChaosRun); what this machine cannot do is said where the test
would be and in tests/chaos/README: no netem (N1 has no delay fault), no
device-mapper (N3 is not run), no lazyfs (N5 is not run), no reassignment
before issue 14 (N6 is the rolling restart alone).

Durations scale with KB_NIGHTLY_N1_S (seconds per N1 run, default 600).
"""
import os
import random
import signal

import pytest

import nemesis
from chaos import ChaosRun, assert_valid, hard_bounce, jepsen_2013

N1_SECONDS = float(os.environ.get("KB_NIGHTLY_N1_S", "600"))
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


@pytest.mark.parametrize("seed,concurrent", [(101, 1), (202, 2)])
def test_n1_random_nemesis(topo, seed, concurrent):
    """Jepsen's mix: kill, pause, one broker cut from the others, a majorities
    ring, a broker cut from ZooKeeper, a session expiry, 20 % packet loss;
    mean interval 15 s, each held 5-20 s; then 60 s to heal."""
    with ChaosRun(topo, f"N1-{seed}", seed=seed, ack_within=60.0, isr_within=60.0) as run:
        run.warm_up()
        nemesis.run_random(run, N1_SECONDS, seed, concurrent=concurrent)
    assert_valid(run)


def test_n2_zookeeper_faults(topo):
    """The ZooKeeper leader is killed and restarted; then two of the three
    servers stop for 30 s (no quorum: nothing can be written to ZooKeeper)
    while the producer runs; then they come back."""
    assert len(topo.zk) == 3, "N2 needs the 3-server ensemble (KB_CHAOS_ZK=3)"
    with ChaosRun(topo, "N2", seed=2) as run:
        run.warm_up()
        leader = next(z for z in topo.zk if z.mode() == "leader")
        run.history.fault(f"kill -9 ZooKeeper leader {leader.index}")
        leader.process.stop(signal.SIGKILL, timeout=10)
        run.wait_zookeeper_quorum(exclude=leader)
        run.wait_acks(100, 60.0, "acks with a new ZooKeeper leader")
        leader.start()
        run.history.heal(f"ZooKeeper server {leader.index} restarted")
        run.wait_zookeeper_quorum()
        stopped = random.Random(2).sample(topo.zk, 2)
        for z in stopped:
            run.history.fault(f"SIGTERM ZooKeeper server {z.index}")
            z.process.stop(signal.SIGTERM, timeout=15)
        run.hold(30.0)
        for z in stopped:
            z.start()
            run.history.heal(f"ZooKeeper server {z.index} restarted")
        run.wait_zookeeper_quorum()
    assert_valid(run)


@pytest.mark.parametrize("monotonic", ["faked", "real"])
def test_n4_clock_skew(topo, monotonic):
    """Each broker in turn restarts under libfaketime 300 s behind, then 300 s
    ahead; once with CLOCK_MONOTONIC faked too, once left real.  Retention
    stays off (it follows the wall clock on purpose)."""
    # libfaketime preloaded directly: the faketime command forks, and the
    # harness must signal the broker itself.  ASan insists on being first
    # in the library list unless told not to check.
    env = {"LD_PRELOAD": LIBFAKETIME,
           "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"}
    if monotonic == "real":
        env["DONT_FAKE_MONOTONIC"] = "1"
    with ChaosRun(topo, f"N4-{monotonic}", seed=4, broker_config={"log.retention.ms": -1}) as run:
        run.warm_up()
        for skew in ("-300s", "+300s"):
            for bid in sorted(run.brokers):
                run.terminate(bid)
                run.restart(bid, env={**env, "FAKETIME": skew})
                run.wait_full_isr(60.0)
                run.wait_acks(100, 60.0, f"acks with broker {bid} at {skew}")
    assert_valid(run)


def test_n6_rolling_restart(topo):
    """Every broker stopped with SIGTERM (exit within 30 s) and restarted, one
    after the other, twice; each waits for a full ISR before the next.
    (Preferred-leader election and reassignment come with issue 14.)"""
    with ChaosRun(topo, "N6", seed=6) as run:
        run.warm_up()
        for _ in range(2):
            for bid in sorted(run.brokers):
                run.terminate(bid, timeout=30.0)
                run.restart(bid)
                run.wait_full_isr(60.0)
                run.wait_acks(100, 60.0, f"acks after broker {bid} restarted")
    assert_valid(run)


def lost(run):
    """(acked_lost, unseen): acknowledged records the checker found missing."""
    c = run.result["counters"]
    return c["acked_lost"], c["unseen"]


@pytest.mark.parametrize("control", ["unclean-min-isr-1", "acks-1"])
def test_n7_negative_controls(topo, control):
    """The harness must be able to see loss: the R4 schedule with unclean
    leader election on and min.insync.replicas=1, and the R1 schedule with
    acks=1 (at a higher rate, so that a kill lands on unreplicated records),
    must each report lost acknowledged records.  Two runs reporting none in a
    row fail the test."""
    seen = []
    for attempt in range(2):
        if control == "unclean-min-isr-1":
            run = ChaosRun(topo, f"N7-unclean-{attempt}", seed=70 + attempt, min_isr=1, unclean=True)
            schedule = lambda r: jepsen_2013(r, alone_s=5.0)  # noqa: E731
        else:
            run = ChaosRun(topo, f"N7-acks1-{attempt}", seed=80 + attempt, acks="1", rate=2000)
            schedule = hard_bounce
        with run:
            run.warm_up()
            schedule(run)
        seen.append(lost(run))
        if any(seen[-1]):
            break
    print(f"    {control}: (acked_lost, unseen) per attempt: {seen}", flush=True)
    assert any(seen[-1]), f"{control}: the checker saw no loss in {len(seen)} runs: it cannot see loss"


@pytest.mark.parametrize("producer", ["kafka-python", "kcat"])
def test_n8_client_diversity(topo, producer):
    """The R1 schedule with kafka-python's producer, then with kcat's."""
    with ChaosRun(topo, f"N8-{producer}", seed=8, producer=producer) as run:
        run.warm_up()
        hard_bounce(run)
    assert_valid(run)
