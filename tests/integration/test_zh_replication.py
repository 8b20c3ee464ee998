"""
Scenario zh: followers replicate their leaders (issue 11, zk-and-replication.md
3.1-3.8): nothing acknowledged with acks=all is lost, replicas agree byte for
byte below the high watermark, and min.insync.replicas is enforced before and
after the append.

One ZooKeeper and three brokers for the whole file (fixed ports, so that a
restarted broker is where clients last saw it; 3 s sessions; metrics;
replica.lag.time.max.ms=6000, short enough to watch an ISR stay full, long
enough that a follower busy under AddressSanitizer does not drop out).  The
scenarios, in order, each leaving all three brokers running with full ISRs:

  full ISR      an RF 3 topic keeps all three replicas in its ISR for longer
                than a leader needs to drop a follower that does not fetch
                (the hardening issue's shrink now uses follower fetch times);
  kill -9       librdkafka (idempotent, acks=all, min.insync.replicas=2)
                sends 200,000 numbered records while the leader is killed and,
                after the new leader has acknowledged 20,000, restarted: every
                record is read back once, in order; the restarted broker is in
                the ISR again within 30 s; the three logs are identical below
                the HW (small segments, so they roll at different places);
  divergence    both followers frozen (SIGSTOP, shorter than the session),
                acks=1 records only the leader has, the leader killed: after
                failover and more records, the returning ex-leader's log is
                the new leader's below the HW;
  two down      with two of three brokers down, acks=all gets
                NOT_ENOUGH_REPLICAS (19) and nothing is appended; produce
                resumes once one returns and rejoins the ISR;
  after append  both followers frozen past their sessions: a parked acks=all
                produce is in the leader's log but not readable (ListOffsets
                latest, Fetch) and ends with NOT_ENOUGH_REPLICAS_AFTER_APPEND
                (20);
  empty dir     a broker restarted with an empty log dir gets every replica
                back from the leaders and rejoins every ISR;
  stranger      a ReplicaFetch in a follower's name (the RPC port does not
                authenticate) without a leader epoch is fenced (74), one for a
                partition not led there is named back with 6, and one naming
                more partitions than the leader knows is refused whole (42);
                the real followers go on.

Frozen brokers are always resumed (kbharness.paused) before a step can fail.
"""
import shutil
import socket
import threading
import time

import pytest

import kafkawire as kw
import kbharness as h
import rpcwire

BROKERS = [1, 2, 3]
SESSION_MS = 3000
LAG_MS = 6000
# replica.fetch.max.bytes is Kafka's default, written out: the divergence
# scenario counts on it.
BROKER_CONFIG = {"replica.lag.time.max.ms": str(LAG_MS), "replica.fetch.max.bytes": "1048576"}
BIG_VALUE = 400_000
NOT_ENOUGH_REPLICAS = 19
NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20
# A broker that stops for longer than this has lost its session.
EXPIRY_WAIT_S = 30


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start brokers 1, 2, 3 (fixed ports, {SESSION_MS} ms sessions, "
                f"replica.lag.time.max.ms={LAG_MS})"):
        c.start_brokers(BROKERS, fixed_ports=True, session_timeout_ms=SESSION_MS, metrics=True,
                        extra=BROKER_CONFIG)
        c.wait_controller()
    return c


# -- helpers ---------------------------------------------------------------------

def assignment(cluster, leader_is_controller):
    """A one-partition replica assignment over the three brokers whose
    preferred (first) replica is the controller, or is not: (text, leader,
    followers)."""
    ctl = cluster.controller()
    leader = ctl if leader_is_controller else next(i for i in BROKERS if i != ctl)
    followers = [i for i in BROKERS if i != leader]
    return ":".join(str(i) for i in [leader] + followers), leader, followers


def create_rf3(cluster, topic, leader_is_controller, configs=()):
    text, leader, followers = assignment(cluster, leader_is_controller)
    cluster.create_topic(topic, assignment=text, configs=configs)
    with h.step(f"wait for {topic}'s ISR to hold all three replicas"):
        h.wait_full_isr(cluster, topic)
    return cluster.brokers[leader], [cluster.brokers[i] for i in followers]


def produce_raw(broker, topic, values, acks, timeout=30.0):
    """One record per raw Produce (kbharness.produce_one): the error codes."""
    return [h.produce_one(broker.port, topic, 0, v, acks=acks, timeout=timeout, timestamp=now_ms()) for v in values]


def now_ms():
    return int(time.time() * 1000)


def read_values(cluster, topic, partitions=(0,), bootstrap=None):
    """The values a consumer reads from the beginning (bootstrap: only these
    brokers, e.g. not frozen ones, which a client would wait on)."""
    recs, _ = h.ck_consume(bootstrap or cluster.bootstrap(), [(topic, p) for p in partitions], timeout=120)
    return [r.value for r in recs]


def wait_gone(cluster, broker):
    h.wait_until(lambda: broker.id not in cluster.registered_ids(), EXPIRY_WAIT_S,
                 f"/brokers/ids/{broker.id} to vanish", interval=0.05)


def wait_led_by_other(cluster, topic, old):
    """Waits until the controller has written a new live leader for
    topic-0; returns its state."""
    return h.wait_until(lambda: (lambda s: s if s and s["leader"] not in (-1, old) else None)(
        cluster.state(topic, 0)), 60, f"{topic}-0 to be led by a broker other than {old}", interval=0.05)


def restart(broker):
    """Starts a broker that was killed or stopped and waits for its new
    registration (after its old session, if any, has expired)."""
    old = broker.registration()
    broker.start()
    broker.wait_registered(60, newer_than=old[1].czxid if old else None)


def in_isr(cluster, topic, broker_id):
    st = cluster.state(topic, 0)
    return st if st and broker_id in st["isr"] else None


# -- scenarios -------------------------------------------------------------------

def test_rf3_topic_keeps_the_full_isr_while_every_broker_lives(cluster):
    c = cluster
    topic = "steady"
    t0 = time.monotonic()
    c.create_topic(topic, 3, 3)
    created = h.wait_full_isr(c, topic)
    versions = {p: c.get(f"/brokers/topics/{topic}/partitions/{p}/state")[1].version for p in range(3)}
    # A leader checks every LAG_MS / 2 and drops a follower that has not
    # caught up for LAG_MS: watch for longer than that, with records arriving
    # (followers must fetch them) and without (followers idle in the
    # long-poll), and see no ISR write at all.
    window = LAG_MS * 2 / 1000 + 2
    producer = h.ck_producer(c.bootstrap(), acks="all")
    sent = 0
    with h.step(f"watch {topic}'s ISR for {window:.0f} s, producing acks=all for the first half"):
        while time.monotonic() - t0 < window:
            if time.monotonic() - t0 < window / 2:
                reports = h.ck_produce(producer, [h.Rec(topic, sent % 3, None, None, b"steady-%d" % sent, (), None)])
                assert reports[0][1] is None, reports
                sent += 1
            st = c.states(topic)
            assert h.full_isr(c, topic), f"an ISR of {topic} shrank while every broker lives: {st}"
            time.sleep(0.2)  # the polling interval of an observation, not a synchronisation
    after = {p: c.get(f"/brokers/topics/{topic}/partitions/{p}/state")[1].version for p in range(3)}
    assert after == versions, f"{topic}'s state znodes were rewritten (ISR changes): {versions} -> {after}"
    assert c.states(topic) == created
    for p in range(3):
        h.wait_converged(c, topic, p)
        h.assert_same_below(list(c.brokers.values()), topic, p, h.high_watermark(c.leader(topic, p), topic, p))
    assert sorted(read_values(c, topic, range(3))) == sorted(b"steady-%d" % i for i in range(sent))
    for b in c.brokers.values():
        assert h.metric(b.metrics(), "kbroker_under_replicated_partitions") == 0, b.id


class NumberedProducer:
    """librdkafka (enable.idempotence, acks=all) producing b"0".."N-1" to
    partition 0 from a thread, never past `budget` (the test raises it
    phase by phase); then it flushes.  Delivery reports: acked[value] =
    (offset, monotonic time of the report)."""

    def __init__(self, bootstrap, topic, n):
        from confluent_kafka import Producer
        self.topic, self.n = topic, n
        self.fatal, self.failed, self.acked = [], [], {}
        self.budget = 0
        self.produced = 0
        self.left = None
        self.producer = Producer({
            "bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
            "batch.num.messages": 1000, "message.timeout.ms": 240000, "retry.backoff.ms": 100,
            "socket.timeout.ms": 20000, "error_cb": self.on_error})
        self.thread = threading.Thread(target=self.run, daemon=True)

    def on_error(self, err):
        if err.fatal():
            self.fatal.append(str(err))

    def report(self, err, m):
        if err is not None:
            self.failed.append((m.value(), str(err)))
        else:
            self.acked[int(m.value())] = (m.offset(), time.monotonic())

    def run(self):
        i = 0
        while i < self.n and not self.fatal:
            if i >= self.budget:
                self.producer.poll(0.05)
                continue
            try:
                self.producer.produce(self.topic, value=b"%d" % i, partition=0, on_delivery=self.report)
                i += 1
                self.produced = i
            except BufferError:
                self.producer.poll(0.05)
            if i % 500 == 0:
                self.producer.poll(0)
        self.left = self.producer.flush(240)

    def acked_from(self, offset, before=None):
        """Acknowledged records at offset or later (reported before `before`)."""
        return sum(1 for o, t in list(self.acked.values()) if o >= offset and (before is None or t < before))


def first_offset_of_epoch(broker, topic, epoch):
    """Base offset of the first batch broker's log holds with
    PartitionLeaderEpoch epoch (stamped by the leader of that epoch)."""
    _, batches = h.log_batches(broker, topic, 0)
    return next((b.base_offset for b in batches if b.leader_epoch == epoch), None)


def test_idempotent_acks_all_through_kill9_of_the_leader_loses_and_duplicates_nothing(cluster):
    c = cluster
    topic, n = "chaos", 200_000
    leader, followers = create_rf3(c, topic, leader_is_controller=False,
                                   configs=["min.insync.replicas=2", "segment.bytes=65536"])
    p = NumberedProducer(c.bootstrap(), topic, n)
    with h.step("librdkafka (idempotent, acks=all) produces until 30,000 records are acknowledged"):
        p.budget = 60_000
        p.thread.start()
        h.wait_until(lambda: p.acked_from(0) >= 30_000 or p.fatal or p.failed, 180, "30,000 acknowledgements")
    assert not p.fatal and not p.failed, (p.fatal, p.failed[:3])

    with h.step(f"kill -9 broker {leader.id}, the leader (acked {len(p.acked)}, produced {p.produced})"):
        leader.kill9()
        wait_gone(c, leader)
        new = wait_led_by_other(c, topic, leader.id)
    new_leader = c.brokers[new["leader"]]
    print(f"    new leader {new_leader.id}, leader epoch {new['leader_epoch']}, ISR {new['isr']}", flush=True)

    # Records the new leader appended are in batches stamped with its epoch;
    # at and after the first such offset, every acknowledgement is its own
    # (the old leader is dead, and never held those offsets).
    with h.step(f"produce until broker {new_leader.id} has acknowledged 20,000 records of its own"):
        p.budget = 150_000
        start = h.wait_until(lambda: first_offset_of_epoch(new_leader, topic, new["leader_epoch"]), 120,
                             f"a batch of leader epoch {new['leader_epoch']} on broker {new_leader.id}")
        h.wait_until(lambda: p.acked_from(start) >= 20_000 or p.fatal, 240,
                     f"20,000 acknowledgements at offset {start} or later")
    assert not p.fatal, p.fatal

    t_restart = time.monotonic()
    with h.step(f"restart broker {leader.id}; the producer goes on to {n}"):
        restart(leader)
        p.budget = n
    by_new_leader = p.acked_from(start, before=t_restart)
    with h.step(f"broker {leader.id} is back in {topic}'s ISR within 30 s of its restart"):
        h.wait_until(lambda: in_isr(c, topic, leader.id), 30 - (time.monotonic() - t_restart),
                     f"broker {leader.id} in the ISR of {topic}-0")
    h.note("restart -> back in the ISR", time.monotonic() - t_restart)
    with h.step("wait for the producer to hand over and flush every record"):
        p.thread.join(300)
        assert not p.thread.is_alive(), "the producer thread did not finish"
    print(f"    acked {len(p.acked)}, failed {len(p.failed)}, fatal {p.fatal}, left {p.left}; "
          f"{by_new_leader} acknowledged by broker {new_leader.id} before broker {leader.id} returned", flush=True)
    assert p.left == 0 and not p.fatal and not p.failed, (p.left, p.fatal, p.failed[:3])
    assert len(p.acked) == n
    assert by_new_leader >= 20_000

    with h.step("every replica reaches the leader's LEO; their logs are identical below the HW"):
        hw = h.wait_converged(c, topic, 0, timeout=120)
        size = h.assert_same_below(list(c.brokers.values()), topic, 0, hw)
    segments = {b.id: len(b.segments(topic, 0)) for b in c.brokers.values()}
    print(f"    HW {hw}, {size} identical bytes, segments per broker {segments}", flush=True)
    assert min(segments.values()) > 3, f"segment.bytes=65536 should have rolled the logs: {segments}"
    assert hw == n

    with h.step("read the partition back: every acknowledged record once, in order"):
        values = [int(v) for v in read_values(c, topic)]
    dups = len(values) - len(set(values))
    first_bad = next((i for i, (a, b) in enumerate(zip(values, range(n))) if a != b), None)
    assert values == list(range(n)), (f"{len(values)} records, {dups} duplicated, first out of place at "
                                      f"index {first_bad}")
    assert all(p.acked[v][0] == o for o, v in enumerate(values)), "a delivery report named another offset"


def test_divergent_tail_of_a_dead_leader_is_replaced_by_the_new_leaders_log(cluster):
    c = cluster
    topic = "diverge"
    leader, followers = create_rf3(c, topic, leader_is_controller=False)
    assert produce_raw(leader, topic, [b"base-%d" % i for i in range(20)], acks=-1) == [0] * 20
    base = h.wait_converged(c, topic, 0)

    # Frozen followers keep their sessions (a few hundred ms of 3 s) and their
    # ISR places (6 s lag), so the controller elects one of them.  A frozen
    # follower may still find, on waking, the answer to the fetch it had
    # parked at the leader: at most replica.fetch.max.bytes (1 MiB) of the
    # tail, whole batches.  Four batches of 400 kB are 1.6 MB, so at least
    # two exist on the old leader only, whatever was in flight.
    tail = [b"lost-%d-" % i + bytes(BIG_VALUE) for i in range(4)]
    with h.step(f"SIGSTOP followers {[f.id for f in followers]}, 4 records of 400 kB acks=1 to broker "
                f"{leader.id}, kill -9 broker {leader.id}, SIGCONT"):
        with h.paused(*followers):
            assert produce_raw(leader, topic, tail, acks=1) == [0] * 4
            leader.kill9()
    assert h.log_end_offset(leader, topic, 0) == base + 4, "the old leader's log holds the acks=1 tail"
    with h.step("wait for the failover"):
        wait_gone(c, leader)
        new = wait_led_by_other(c, topic, leader.id)
    new_leader = c.brokers[new["leader"]]
    with h.step(f"30 records acks=all to the new leader, broker {new_leader.id}"):
        h.wait_until(lambda: h.metadata(new_leader, [topic])["topics"][topic][1][0].leader == new_leader.id, 30,
                     f"broker {new_leader.id} to serve {topic}-0")
        assert produce_raw(new_leader, topic, [b"after-%d" % i for i in range(30)], acks=-1) == [0] * 30
    with h.step(f"restart broker {leader.id}: it rejoins the ISR with the new leader's log"):
        restart(leader)
        h.wait_full_isr(c, topic)
        hw = h.wait_converged(c, topic, 0)
    h.assert_same_below(list(c.brokers.values()), topic, 0, hw)
    values = read_values(c, topic)
    kept = len(values) - 20 - 30
    print(f"    the new leader had {kept} of the 4 acks=1 records when it took over", flush=True)
    assert 0 <= kept <= 2 and hw == base + kept + 30, (kept, hw, base)
    assert values == [b"base-%d" % i for i in range(20)] + tail[:kept] + [b"after-%d" % i for i in range(30)]


def test_two_of_three_down_refuses_acks_all_until_one_returns(cluster):
    c = cluster
    topic = "quorum"
    leader, followers = create_rf3(c, topic, leader_is_controller=True, configs=["min.insync.replicas=2"])
    assert produce_raw(leader, topic, [b"before-%d" % i for i in range(5)], acks=-1) == [0] * 5
    with h.step(f"kill -9 followers {[f.id for f in followers]}; the controller shrinks the ISR to [{leader.id}]"):
        for f in followers:
            f.kill9()
        for f in followers:
            wait_gone(c, f)
        c.wait_states(topic, pred=lambda st: st[0]["isr"] == [leader.id], timeout=60)
        # The znode changes before the leader hears of it: its Metadata
        # (UpdateMetadata follows the LeaderAndIsr on the same connection)
        # says when it has.
        h.wait_until(lambda: h.metadata(leader, [topic])["topics"][topic][1][0].isr == [leader.id], 30,
                     f"broker {leader.id} to apply the ISR [{leader.id}]")
    assert h.metric(leader.metrics(), "kbroker_under_replicated_partitions") >= 1
    end = h.log_end_offset(leader, topic, 0)

    def produce_ck(tag):
        producer = h.ck_producer(leader.bootstrap, acks="all", retries=0, enable_idempotence=False, linger_ms=0)
        return h.ck_produce(producer, [h.Rec(topic, 0, None, None, b"%s-%d" % (tag, i), (), None) for i in range(5)])
    with h.step("librdkafka (retries=0, acks=all): 5 records"):
        reports = produce_ck(b"refused")
    codes = [e.code() if e else None for _, e in reports]
    assert codes == [NOT_ENOUGH_REPLICAS] * 5, f"expected NOT_ENOUGH_REPLICAS for each: {reports}"
    assert h.log_end_offset(leader, topic, 0) == end, "a refused record was appended"
    assert h.high_watermark(leader, topic, 0) == end

    back = followers[0]
    with h.step(f"restart broker {back.id}; it catches up and rejoins the ISR"):
        restart(back)
        h.wait_until(lambda: in_isr(c, topic, back.id), 60, f"broker {back.id} in the ISR")
    with h.step("the same producer settings now get every record acknowledged"):
        reports = produce_ck(b"resumed")
    assert [e for _, e in reports] == [None] * 5, reports
    assert [r.offset for r, _ in reports] == list(range(end, end + 5))
    with h.step(f"restart broker {followers[1].id} too"):
        restart(followers[1])
        h.wait_full_isr(c, topic)
    assert read_values(c, topic) == [b"before-%d" % i for i in range(5)] + [b"resumed-%d" % i for i in range(5)]
    h.assert_same_below(list(c.brokers.values()), topic, 0, h.wait_converged(c, topic, 0))


def test_followers_frozen_past_their_sessions_give_not_enough_replicas_after_append(cluster):
    c = cluster
    topic = "after-append"
    leader, followers = create_rf3(c, topic, leader_is_controller=True, configs=["min.insync.replicas=2"])
    assert produce_raw(leader, topic, [b"visible-%d" % i for i in range(5)], acks=-1) == [0] * 5
    hw = h.wait_converged(c, topic, 0)
    batch = kw.build_batch([(None, b"parked-%d" % i) for i in range(3)], base_timestamp=int(time.time() * 1000))
    s = h.connect(leader.port, timeout=90)
    try:
        with h.paused(*followers):
            with h.step("SIGSTOP both followers; acks=all Produce of 3 records with timeout_ms=60000"):
                s.sendall(h.kafka_request(0, 3, 5, kw.produce_body([(topic, [(0, batch)])], acks=-1,
                                                                   timeout_ms=60000, version=3)))
                h.wait_until(lambda: h.log_end_offset(leader, topic, 0) == hw + 3, 30,
                             "the 3 records in the leader's log")
            # Parked: in the log, but below nobody's high watermark.
            with h.step("while it is parked: ListOffsets latest and Fetch stop at the old HW"):
                assert h.high_watermark(leader, topic, 0) == hw
                f = h.connect(leader.port)
                try:
                    f.sendall(h.kafka_request(1, 4, 6, kw.fetch_v4_body([(topic, [(0, hw, 1 << 20)])], max_wait_ms=0)))
                    _, _, got = kw.parse_fetch_v4_response(h.recv_frame(f))
                finally:
                    f.close()
                part = got[(topic, 0)]
                assert part.error == 0 and part.high_watermark == hw and not part.records, part
                assert read_values(c, topic, bootstrap=leader.bootstrap) == [b"visible-%d" % i for i in range(5)]
            with h.step("the followers' sessions expire; the produce is answered"):
                for fl in followers:
                    wait_gone(c, fl)
                _, parts, _, _ = kw.parse_produce_response(h.recv_frame(s), version=3)
    finally:
        s.close()
    answer = parts[(topic, 0)]
    print(f"    answer {answer}; ISR {c.state(topic, 0)['isr']}; HW now {h.high_watermark(leader, topic, 0)}",
          flush=True)
    assert answer.error == NOT_ENOUGH_REPLICAS_AFTER_APPEND, answer
    assert h.log_end_offset(leader, topic, 0) == hw + 3, "the records stay in the leader's log"
    # Whether they become readable once the ISR is [leader] is left open here
    # (Kafka's HW then follows the leader's LEO, spec 3.2); it is printed above.
    with h.step("the followers come back with new sessions and rejoin the ISR"):
        for fl in followers:
            fl.wait_registered(60)
        h.wait_full_isr(c, topic)
    h.assert_same_below(list(c.brokers.values()), topic, 0, h.wait_converged(c, topic, 0))


def test_broker_restarted_with_an_empty_log_dir_is_refilled_and_rejoins_every_isr(cluster):
    c = cluster
    ctl = c.controller()
    victim = next(b for i, b in c.brokers.items() if i != ctl)
    topics = [t for t in c.children("/brokers/topics") if victim.id in replicas_all(c, t)]
    for t in topics:
        h.wait_full_isr(c, t)
    ends = {(t, int(p)): h.log_end_offset(c.leader(t, int(p)), t, int(p))
            for t in topics for p in c.topic(t)["partitions"]}
    with h.step(f"stop broker {victim.id} (SIGTERM), empty its log dir, start it"):
        assert victim.stop() == 0
        shutil.rmtree(victim.log_dir)
        victim.log_dir.mkdir()
        restart(victim)
    with h.step(f"broker {victim.id} rejoins the ISR of {len(ends)} partitions of {topics}"):
        for t in topics:
            h.wait_full_isr(c, t, timeout=120)
    for (t, p), end in sorted(ends.items()):
        hw = h.wait_converged(c, t, p, timeout=120)
        assert hw >= end, f"{t}-{p}: HW {hw} below the {end} records it had before"
        size = h.assert_same_below(list(c.brokers.values()), t, p, hw)
        print(f"    {t}-{p}: {size} bytes refilled on broker {victim.id}", flush=True)


def replicas_all(cluster, topic):
    return {r for reps in cluster.topic(topic)["partitions"].values() for r in reps}


# -- a stranger on the RPC port ----------------------------------------------------

METHOD_REPLICA_FETCH = 6
FENCED_LEADER_EPOCH = 74
NOT_LEADER_OR_FOLLOWER = 6
INVALID_REQUEST = 42


def replica_fetch_body(parts, max_wait_ms=0):
    """A ReplicaFetchRequest by hand (proto/kbroker_rpc.proto): parts are
    (topic, partition, fetch_offset, current_leader_epoch)."""
    f, b = rpcwire.field_varint, rpcwire.field_bytes
    encoded = [b(1, t.encode()) + f(2, p) + f(3, o) + f(4, e) + f(6, 1 << 20) for t, p, o, e in parts]
    return f(2, max_wait_ms) + f(3, 1) + f(4, 1 << 20) + b"".join(b(5, x) for x in encoded)


def replica_fetch_as(leader, follower, body):
    """One ReplicaFetch to leader's RPC port after a Hello in follower's name
    (its id and czxid, as anyone who reads ZooKeeper can send them): the
    envelope's error and the first partition's answer as {field: value}."""
    data, _ = leader.registration()
    _, stat = follower.registration()
    with socket.create_connection((data["kbroker_rpc"]["host"], data["kbroker_rpc"]["port"]), timeout=10) as s:
        s.sendall(rpcwire.hello_frame(follower.id, stat.czxid))
        assert rpcwire.read_frame(s) is not None, "the Hello was not answered"
        s.sendall(rpcwire.request_frame(METHOD_REPLICA_FETCH, body, follower.id, stat.czxid, 2))
        env = rpcwire.read_frame(s)
    assert env is not None, "the leader closed the connection instead of answering"
    first = rpcwire.parse_message(rpcwire.parse_message(env.get(7, b"")).get(3, b""))
    return rpcwire._signed(env.get(4, 0), 32), first


def test_the_leader_refuses_what_no_follower_sends(cluster):
    c = cluster
    topic = "stranger"
    leader, followers = create_rf3(c, topic, leader_is_controller=False)
    follower = followers[0]
    state = c.state(topic, 0)
    with h.step("a fetch without a leader epoch is fenced, and the answer names its partition"):
        err, part = replica_fetch_as(leader, follower, replica_fetch_body([(topic, 0, 0, -1)]))
    assert err == 0 and part.get(1) == topic.encode() and part.get(2, 0) == 0, (err, part)
    assert rpcwire._signed(part.get(3, 0), 32) == FENCED_LEADER_EPOCH, part
    with h.step("a partition the leader does not lead is named back with NOT_LEADER_OR_FOLLOWER"):
        err, part = replica_fetch_as(leader, follower, replica_fetch_body([("nowhere", 3, 0, 0)]))
    assert err == 0 and part.get(1) == b"nowhere" and part.get(2) == 3, (err, part)
    assert part.get(3) == NOT_LEADER_OR_FOLLOWER, part
    with h.step("a fetch naming more partitions than the leader knows is refused whole"):
        err, _ = replica_fetch_as(leader, follower,
                                  replica_fetch_body([(topic, 0, 0, state["leader_epoch"])] * 5000))
    assert err == INVALID_REQUEST, err
    with h.step("the real followers are unaffected"):
        assert produce_raw(leader, topic, [b"after-the-stranger"], acks=-1) == [0]
        h.wait_full_isr(c, topic)
