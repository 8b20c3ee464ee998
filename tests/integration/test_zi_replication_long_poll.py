"""
Scenario zi: replication with long-polling followers (issue 11): the leader
wakes a parked follower fetch as soon as it appends, sends the records with
sendfile, and a follower that restarts before it learns the high watermark
does not lose acknowledged records (Kafka's KIP-101 schedule).

One ZooKeeper and three brokers for the file, all with
replica.fetch.wait.max.ms=10000 (a follower's fetch waits up to 10 s at the
leader for data) and replica.lag.time.max.ms=15000 (it must be at least the
wait).  Broker 1 starts first and is the controller throughout; broker 2 has
a 10 s ZooKeeper session (the KIP-101 scenario freezes it for a few seconds
and needs it to stay registered meanwhile), brokers 1 and 3 have 3 s.
Broker 3 checkpoints its high watermarks only every 60 s, so that a kill -9
leaves a stale one behind whatever the timing.

  long-poll  30 acks=all Produce requests of one record, one after the
             other, to an RF 3 topic: each needs both followers to fetch
             the record, so without the wake-up each would take up to 10 s;
             all 30 take less than 20 s.  The leader's counters
             kbroker_replica_fetch_bytes_total (record bytes sent in answers
             to follower fetches) and kbroker_replica_fetch_sendfile_bytes_total
             (those of them sent with sendfile) grow by at least the 2 x 30
             batches, at least 95% by sendfile.
  KIP-101    see the scenario's comment.
"""
import signal
import time

import pytest

import kafkawire as kw
import kbharness as h

WAIT_MS = 10000
LAG_MS = 15000
COMMON = {"replica.fetch.wait.max.ms": str(WAIT_MS), "replica.lag.time.max.ms": str(LAG_MS)}
CONTROLLER, LONG_SESSION, SHORT_SESSION = 1, 2, 3
SESSIONS = {CONTROLLER: 3000, LONG_SESSION: 10000, SHORT_SESSION: 3000}
EXTRA = {SHORT_SESSION: {"replica.high.watermark.checkpoint.interval.ms": "60000"}}
REPLICA_FETCH_BYTES = "kbroker_replica_fetch_bytes_total"
REPLICA_SENDFILE_BYTES = "kbroker_replica_fetch_sendfile_bytes_total"


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start broker 1 (the controller), then 2 and 3; replica.fetch.wait.max.ms={WAIT_MS}"):
        for i in (CONTROLLER, LONG_SESSION, SHORT_SESSION):
            c.add_broker(i, fixed_port=True, session_timeout_ms=SESSIONS[i], metrics=True,
                         extra={**COMMON, **EXTRA.get(i, {})}).start()
            c.brokers[i].wait_registered()
            if i == CONTROLLER:
                assert c.wait_controller() == CONTROLLER
    return c


def produce(broker, topic, value):
    """One record, acks=all, in a raw Produce with the current time as its
    timestamp: the error code."""
    return h.produce_one(broker.port, topic, 0, value, acks=-1, timeout=30, timestamp=int(time.time() * 1000))


def values_of(cluster, topic):
    recs, _ = h.ck_consume(cluster.bootstrap(), [(topic, 0)], timeout=120)
    return [r.value for r in recs]


def test_long_poll_followers_are_woken_by_each_append_and_fed_by_sendfile(cluster):
    c = cluster
    topic = "longpoll"
    c.create_topic(topic, assignment="2:1:3", configs=["min.insync.replicas=3"])
    h.wait_full_isr(c, topic)
    leader = c.brokers[2]
    # Followers that have nothing to fetch wait in the long-poll now.
    h.wait_converged(c, topic, 0)
    before = leader.metrics()
    values = [b"one-%02d" % i for i in range(30)]
    sizes = sum(len(kw.build_batch([(None, v)])) for v in values)
    t0 = time.monotonic()
    with h.step("30 acks=all Produce requests of one record, one after the other"):
        codes = [produce(leader, topic, v) for v in values]
    took = time.monotonic() - t0
    h.note("30 sequential acks=all produces", took)
    after = leader.metrics()
    assert codes == [0] * 30, codes
    # The acceptance bound: without the wake-up each request waits for the
    # followers' 10 s long-poll to end.
    assert took < 20, f"30 sequential acks=all produces took {took:.1f}s (the followers' fetches wait {WAIT_MS} ms)"
    sent = h.metric(after, REPLICA_FETCH_BYTES) - h.metric(before, REPLICA_FETCH_BYTES)
    by_sendfile = h.metric(after, REPLICA_SENDFILE_BYTES) - h.metric(before, REPLICA_SENDFILE_BYTES)
    print(f"    {sizes} bytes of batches produced; the leader sent {sent:.0f} record bytes to followers, "
          f"{by_sendfile:.0f} with sendfile", flush=True)
    assert sent >= 2 * sizes, f"two followers fetched {sizes} bytes each, the leader counted {sent:.0f}"
    assert by_sendfile >= 0.95 * sent, f"only {by_sendfile:.0f} of {sent:.0f} replicated bytes by sendfile"
    hw = h.wait_converged(c, topic, 0)
    h.assert_same_below(list(c.brokers.values()), topic, 0, hw)
    assert values_of(c, topic) == values


def checkpointed_hw(broker, topic, partition):
    """The high watermark broker's replication-offset-checkpoint holds for
    topic-partition (Kafka's text format, spec 4.5), or None."""
    path = broker.log_dir / "replication-offset-checkpoint"
    if not path.exists():
        return None
    lines = path.read_text().splitlines()
    for line in lines[2:]:
        t, p, off = line.rsplit(" ", 2)
        if t == topic and int(p) == partition:
            return int(off)
    return None


def holds_value(broker, topic, value):
    for seg in broker.segments(topic, 0):
        for b in kw.read_segment(seg, verify_crc=False, decode=True)[0]:
            if any(r.value == value for r in b.records):
                return True
    return False


def test_kip101_follower_restarted_before_learning_the_hw_then_leader_dies(cluster):
    """KIP-101's first schedule, driven step by step.  Topic kip101: RF 2,
    leader L = broker 2, follower F = broker 3, min.insync.replicas=2 (so an
    acknowledged record is on F), unclean.leader.election.enable=true (see
    step 4).

      1. m is produced with acks=all and acknowledged: F has appended it and
         fetched past it, which moved L's HW; F learns that HW only from
         the answer to its next fetch, which L parks for up to 10 s.
      2. At once: kill -9 F (its checkpointed HW is older still: every 60 s)
         and SIGSTOP L (so that the restarted F cannot fetch anything).
      3. F restarts.  The controller dropped F from the ISR when its session
         ended (ISR [L]) and makes it L's follower again.  A follower that
         truncates to its HW now drops m; one that asks L for the end of
         its epoch (OffsetForLeaderEpoch) gets no answer and keeps its log.
         L's 10 s session is still alive while this happens.
      4. L dies (kill -9).  F is the only live replica, outside the ISR: the
         topic's unclean.leader.election.enable makes it leader.  Unclean
         election loses what F lacks; F lacks m only if it truncated it.
      5. m must be readable from F; L returns, truncates by leader epoch,
         rejoins; both logs are identical below the HW, and every
         acknowledged record is there once, in order.
    """
    c = cluster
    topic = "kip101"
    L, F = c.brokers[LONG_SESSION], c.brokers[SHORT_SESSION]
    c.create_topic(topic, assignment=f"{L.id}:{F.id}",
                   configs=["min.insync.replicas=2", "unclean.leader.election.enable=true"])
    h.wait_full_isr(c, topic)
    base = [b"base-%d" % i for i in range(10)]
    assert [produce(L, topic, v) for v in base] == [0] * 10
    m = b"m: acknowledged, then on the restarting follower only"
    _, f_old = F.registration()

    with h.step("1-2. produce m (acks=all), then at once kill -9 F and SIGSTOP L"):
        assert produce(L, topic, m) == 0
        F.kill9()
        L.send_signal(signal.SIGSTOP)
    t_stop = time.monotonic()
    try:
        m_end = len(base) + 1
        assert holds_value(F, topic, m), "precondition: F appended m before it was acknowledged"
        hw_f = checkpointed_hw(F, topic, 0)
        print(f"    F's checkpointed HW for {topic}-0: {hw_f} (m ends at {m_end})", flush=True)
        assert hw_f is None or hw_f < m_end, "precondition not reached: F had checkpointed a HW past m"

        with h.step("3. restart F; wait until it has its roles (follower of the frozen L)"):
            F.start()
            F.wait_registered(30, newer_than=f_old.czxid)
            hosted = sum(1 for t in c.children("/brokers/topics")
                         for reps in c.topic(t)["partitions"].values() if F.id in reps)
            h.wait_until(lambda: h.metric(F.metrics(), "kbroker_role_updates_applied_total") >= hosted, 30,
                         f"broker {F.id} to apply the roles of its {hosted} partitions")
        frozen = time.monotonic() - t_stop
        assert L.id in c.registered_ids(), (f"precondition not reached: L's session ended {frozen:.1f}s into its "
                                            "freeze, before F became its follower")
        h.note("L frozen until F is its follower", frozen)
        with h.step("4. kill -9 L; the controller makes F leader (unclean election)"):
            L.kill9()
    finally:
        L.send_signal(signal.SIGCONT)  # no-op once killed
    st = c.wait_states(topic, pred=lambda s: s[0]["leader"] == F.id, timeout=60)[0]
    print(f"    state after L's death: {st}", flush=True)
    h.wait_until(lambda: h.metadata(F, [topic])["topics"][topic][1][0].leader == F.id, 30,
                 f"broker {F.id} to serve {topic}-0")
    with h.step("5. m is on the new leader"):
        got = values_of(c, topic)
    assert got == base + [m], f"acknowledged records lost: read {got}"

    with h.step("L returns, truncates by leader epoch and rejoins the ISR"):
        L.start()
        L.wait_registered(30)
        h.wait_full_isr(c, topic, timeout=60)
    more = [b"more-%d" % i for i in range(10)]
    assert [produce(F, topic, v) for v in more] == [0] * 10
    hw = h.wait_converged(c, topic, 0)
    h.assert_same_below([L, F], topic, 0, hw)
    assert values_of(c, topic) == base + [m] + more


def test_new_leader_refuses_list_offsets_until_its_hw_reaches_its_epoch_start(cluster):
    """KIP-207, found by the chaos tier (hw_regression: ListOffsets(latest)
    answered below acknowledged offsets right after a failover).  Topic
    kip207: leader 3, followers 1 and 2.  Follower 2 is frozen while in the
    ISR, so the leader's HW stays at 1 while records 1 and 2 are appended
    with acks=1 and fetched by follower 1.  Leader 3 dies; broker 1 leads
    with its HW still 1 but a log that ends at 3.  Until its HW reaches 3
    (its epoch's start) ListOffsets(latest) must answer 5
    LEADER_NOT_AVAILABLE (v1; 78 OFFSET_NOT_AVAILABLE from v5), not the
    stale 1; once follower 2 thaws and fetches, it answers 3."""
    c = cluster
    topic = "kip207"
    leader, f1, f2 = c.brokers[SHORT_SESSION], c.brokers[CONTROLLER], c.brokers[LONG_SESSION]
    c.create_topic(topic, assignment=f"{leader.id}:{f1.id}:{f2.id}")
    h.wait_full_isr(c, topic)
    assert produce(leader, topic, b"acked by all") == 0
    h.wait_converged(c, topic, 0)
    with h.paused(f2):
        with h.step("records 1 and 2 with acks=1; follower 1 fetches them, frozen follower 2 does not"):
            for v in (b"one", b"two"):
                assert h.produce_one(leader.port, topic, 0, v, acks=1) == 0
            h.wait_until(lambda: h.log_end_offset(f1, topic, 0) == 3, 30, "follower 1 to fetch to offset 3")
            assert h.list_offsets(leader, topic, [0])[0] == (0, -1, 1), "precondition: the leader's HW is 1"
        with h.step("kill -9 the leader; broker 1 leads"):
            leader.kill9()
            c.wait_states(topic, pred=lambda s: s[0]["leader"] == f1.id, timeout=30)
        got = h.wait_until(lambda: (lambda r: r if r[0] != 6 else None)(h.list_offsets(f1, topic, [0])[0]),
                           30, "broker 1 to answer ListOffsets as the leader")
        assert got[0] == 5, f"a new leader whose HW lags its epoch start answered {got}, not error 5"
        future = int(time.time() * 1000) + 3_600_000
        got = h.list_offsets(f1, topic, [0], timestamp=future)[0]
        assert got[0] == 5, f"a timestamp found nowhere below the stale HW: {got}, not error 5"
    with h.step("follower 2 thaws and fetches: the HW reaches 3"):
        h.wait_until(lambda: h.list_offsets(f1, topic, [0])[0] == (0, -1, 3), 30,
                     "ListOffsets(latest) to answer 3")
    leader.start()
    leader.wait_registered(30)
    h.wait_full_isr(c, topic, timeout=60)
