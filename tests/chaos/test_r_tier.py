"""
The chaos tier, R1-R8 of reliability-tests.md section 6.2: each test a fresh
3-broker cluster (RF 3, min.insync.replicas 2, unclean election off) under the
section 6.1 workload, one schedule of real faults, a heal, a drain and the
checker's verdict: every counter 0 (kbcheck.py), plus the test's own criteria.
"""
import frame_fuzz
from chaos import ChaosRun, assert_valid, hard_bounce, jepsen_2013


def test_r1_leader_hard_bounce(topo):
    """Kafka's replication_test hard_bounce: the leader of partition 0 is
    killed with SIGKILL three times, each time restarted once ZooKeeper has
    dropped it; a new leader is elected each time and records keep being
    acknowledged between the kills."""
    with ChaosRun(topo, "R1", seed=1) as run:
        run.warm_up()
        hard_bounce(run)
    assert_valid(run)


def test_r2_zombie_leader(topo):
    """A leader paused (SIGSTOP) until ZooKeeper dropped its session, another
    leader elected and 50 records acknowledged by it, then continued: it
    must not acknowledge anything for a partition it no longer leads, and it
    rejoins the ISR.  Twice: the second time on the new leader."""
    with ChaosRun(topo, "R2", seed=2) as run:
        run.warm_up()
        for _ in range(2):
            victim = run.leader_of(0)
            run.pause(victim)
            run.wait_deregistered(victim)
            run.wait_leader_other_than(0, victim)
            run.wait_acks(50, 30.0, "acks by the new leader while the old one is paused")
            run.resume(victim)
            run.wait_registered(victim)
            run.wait_isr(0, lambda isr, v=victim: v in isr, 30.0, f"broker {victim} back in the ISR")
    assert_valid(run)


def test_r3_isr_shrink_expand_min_insync(topo):
    """Kafka's replication_replica_failure_test: a follower cut from the other
    brokers (ZooKeeper reachable) leaves the ISR and acks continue; with the
    second follower cut too the ISR is the leader alone and acks=all stops
    (no ack with an ISR below min.insync.replicas: kbcheck's
    min_isr_violation); after the heal both return."""
    with ChaosRun(topo, "R3", seed=3) as run:
        run.warm_up()
        leader = run.leader_of(0)
        f1, f2 = [r for r in run.state_replicas(0) if r != leader]
        run.cut_brokers(f1)
        run.wait_isr(0, lambda isr: f1 not in isr, 4 + 10, f"follower {f1} out of the ISR")
        run.wait_acks(100, 30.0, f"acks with follower {f1} out")
        run.cut_brokers(f2)
        run.wait_isr(0, lambda isr: isr == [leader], 4 + 10, f"the ISR shrunk to leader {leader}")
        t_alone = run.history.now()
        before = run.acked()
        run.hold(5.0)
        print(f"    acks while the ISR was the leader alone: {run.acked() - before} "
              f"(on partition 0: {run.acks_between(t_alone, run.history.now(), 0)})", flush=True)
        run.heal_net(f1)
        run.heal_net(f2)
    assert_valid(run)


def test_r4_jepsen_2013(topo):
    """Jepsen's 2013 Kafka schedule with unclean election off: the leader of
    partition 0 first stops hearing its followers (they cannot fetch: the ISR
    shrinks to it alone and min.insync.replicas stops acks=all), then is cut
    from everything including ZooKeeper past its session; the partition may
    be offline meanwhile, but no acknowledged record may be lost."""
    with ChaosRun(topo, "R4", seed=4) as run:
        run.warm_up()
        jepsen_2013(run)
    assert_valid(run)


def test_r5_client_cut_and_clean_bounce(topo):
    """The clients lose the leader of partition 0 for 10 s (the brokers do
    not), then that leader is stopped with SIGTERM (it must exit within
    30 s) and restarted; twice.  Idempotent retries must not duplicate."""
    with ChaosRun(topo, "R5", seed=5) as run:
        run.warm_up()
        for _ in range(2):
            leader = run.leader_of(0)
            run.cut_clients(leader)
            run.hold(10.0)
            run.heal_net(leader, f"clients reach broker {leader} again")
            run.wait_acks(100, 30.0, "acks after the client cut")
            t_stop = run.history.now()
            took = run.terminate(leader, timeout=30.0)
            run.wait_leader_other_than(0, leader)
            run.restart(leader)
            run.wait_acks(100, 30.0, "acks after the bounce")
            gap = run.longest_ack_gap(t_stop, run.history.now(), partition=0)
            print(f"    SIGTERM: exit after {took:.1f}s, longest gap between acks on partition 0 "
                  f"{gap:.1f}s", flush=True)
            run.stats.setdefault("sigterm_ack_gap_s", []).append(round(gap, 2))
    assert_valid(run)


def test_r6_controller_failover(topo):
    """The controller's session expires (paused past it): /controller moves
    and controller_epoch grows; then another partition leader is killed and
    the new controller moves its partitions within session + 5 s."""
    with ChaosRun(topo, "R6", seed=6) as run:
        run.warm_up()
        old, epoch = run.controller()
        run.pause(old)
        run.wait_deregistered(old)
        new, new_epoch = run.wait_controller_other_than(old)
        run.resume(old)
        run.wait_registered(old)
        assert new_epoch > epoch, f"controller_epoch {epoch} -> {new_epoch}"
        states = {p: run.state(p) for p in range(run.partitions)}
        led = [p for p, st in states.items() if st["leader"] not in (new, -1)]
        victim = states[led[0]]["leader"]
        run.kill(victim)
        took = run.wait_deregistered(victim) + run.wait_leader_other_than(led[0], victim)
        print(f"    controller {old} -> {new} (epoch {epoch} -> {new_epoch}); "
              f"partition {led[0]} left broker {victim} {took:.1f}s after the kill", flush=True)
        run.restart(victim)
    assert_valid(run)


def test_r7_disk_full(topo):
    """Log dirs on a 64 MiB tmpfs: a follower's disk is full for 15 s (at
    least until it has left the ISR), then the leader's for 10 s.  Nothing
    is acknowledged that was not written, the follower comes back, the
    drained batches pass their CRC (the drain's consumer checks them and a
    failure is kbcheck's drain_error) and no broker crashes.  The producer's
    requests time out after 3 s, so that batches waiting on the stalled ISR
    are retried while the disk is full: the full broker also leads other
    partitions, where a pipelined idempotent producer's second batch arrives
    behind a first that failed (found here: answered 45, it made librdkafka
    bump its epoch and write records twice)."""
    with ChaosRun(topo, "R7", seed=7, tmpfs_mb=64,
                  broker_config={"log.segment.bytes": 8 << 20},
                  producer_conf={"request.timeout.ms": 3000, "socket.timeout.ms": 3000}) as run:
        run.warm_up()
        leader = run.leader_of(0)
        follower = [r for r in run.state_replicas(0) if r != leader][0]
        run.fill_disk(follower)
        t_full = run.history.now()
        run.wait_isr(0, lambda isr: follower not in isr, 60.0, f"follower {follower} out of the ISR")
        run.hold(max(0.0, 15.0 - (run.history.now() - t_full)))
        run.release_disk(follower)
        run.wait_acks(100, 30.0, "acks after the follower's disk came back")
        leader = run.leader_of(0)
        run.fill_disk(leader)
        run.hold(10.0)
        run.release_disk(leader)
    assert_valid(run)


def test_r8_fuzz_smoke(topo):
    """20 s of hostile frames (mutated requests, broken framing, random
    bytes: frame_fuzz.py) against the leader of partition 0 while the workload
    runs: the broker keeps serving the valid clients, nothing is lost and no
    sanitizer report appears.  The libFuzzer half of R8 is scripts/test.sh's
    fuzz stage, which runs every target from its committed corpus."""
    with ChaosRun(topo, "R8", seed=8) as run:
        run.warm_up()
        leader = run.brokers[run.leader_of(0)]
        run.history.fault(f"hostile frames to broker {leader.id}")
        before = run.acked()
        # Each connection's case and seed go to clients.log, for --replay.
        stats = frame_fuzz.run(leader.node.ip, leader.port, 20.0, seed=8, log=run.history.logger.info)
        run.history.heal("hostile frames stopped")
        print(f"    frame fuzz: {stats}", flush=True)
        assert leader.alive(), f"broker {leader.id} died under hostile frames"
        assert run.acked() - before >= 100, \
            f"only {run.acked() - before} acks in 20 s of hostile frames (200/s offered)"
        assert stats["frames_sent"] > 1000, stats
        run.stats.update({k: stats[k] for k in ("connections", "frames_sent", "closed_by_broker")})
    assert_valid(run)
