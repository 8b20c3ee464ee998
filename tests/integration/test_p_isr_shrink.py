"""
Scenario p: a leader drops a follower that stops fetching from the ISR the
way Kafka 2.6 leaders do (zk-and-replication.md 3.4, 3.5, 1.4, 1.10, 2.7),
and takes it back once it has caught up; RF 3 topics keep their full ISR
while every broker lives and fetches.

Runbook: three brokers with replica.lag.time.max.ms=1500 (Kafka's default is
30000; the leaders then check every 750 ms) and 6 s ZooKeeper sessions, so
that a follower frozen with SIGSTOP for a few seconds stays registered.
With every broker running, an RF 3 topic keeps all three replicas in its
ISRs.  When one broker is frozen, within about two seconds every leader it
follows sees that it has stopped fetching, writes the state znode itself
with that follower removed (conditional on its zkVersion; leader_epoch and
controller_epoch unchanged, Kafka 2.6's JSON) and, by Kafka's timing rule
(a change quiet for 5 s, checked every 2.5 s), publishes an
/isr_change_notification/isr_change_N entry that the controller reads and
deletes.  Resumed, the follower catches up and the leaders add it back the
same way.  Meanwhile:

  - records produced with acks=1 become readable by a consumer;
  - acks=all with min.insync.replicas=1 is answered (confluent-kafka, and
    kcat, whose default is acks=all);
  - acks=all with min.insync.replicas=2 is refused with NOT_ENOUGH_REPLICAS
    (19) while both followers are frozen out of the ISR, acks=1 still works,
    and acks=all works again once they are back;
  - retention deletes old segments (it never passes the high watermark);
  - kbroker-admin describe-topic, kcat -L and confluent-kafka's Metadata
    show the ISR.

To read the notification entries before the controller deletes them, the
test takes DELETE permission on /isr_change_notification away (a ZooKeeper
ACL: brokers may still create children, the controller cannot remove
them); once they are checked it gives the permission back, and the
controller's retry deletes them.
"""
import json
import re
import time

import pytest

import kafkawire as kw
import kbharness as h

LAG_MS = 1500
SESSION_MS = 6000
BROKER_CONFIG = {"replica.lag.time.max.ms": str(LAG_MS),
                 "log.retention.check.interval.ms": "500",
                 "log.segment.delete.delay.ms": "200"}
BROKERS = [1, 2, 3]
NOTIFICATIONS = "/isr_change_notification"
NOT_ENOUGH_REPLICAS = 19
STATE_KEYS = ["controller_epoch", "leader", "version", "leader_epoch", "isr"]


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start brokers 1, 2, 3 with replica.lag.time.max.ms={LAG_MS}, {SESSION_MS} ms sessions"):
        c.start_brokers(BROKERS, extra=BROKER_CONFIG, session_timeout_ms=SESSION_MS)
        c.wait_controller()
    return c


# -- helpers ---------------------------------------------------------------------

def full(states):
    """True when every partition's ISR holds all three brokers."""
    return all(sorted(s["isr"]) == BROKERS for s in states.values())


def create_rf3(cluster, topic, partitions=1, configs=(), assignment=None):
    """kbroker-admin create-topic with RF 3 (or the assignment given); waits
    for the full ISRs and for each leader to serve its partition (the state
    znode is written before the leader applies its role: a Produce sent in
    between gets NOT_LEADER_OR_FOLLOWER), and returns (creation time, the
    states)."""
    args = ["create-topic", "--topic", topic]
    args += (["--replica-assignment", assignment] if assignment
             else ["--partitions", partitions, "--replication-factor", 3])
    for cfg in configs:
        args += ["--config", cfg]
    t0 = time.monotonic()
    r = cluster.admin(*args)
    assert r.returncode == 0, r.stderr
    states = wait_full(cluster, topic)
    h.wait_until(lambda: all(h.list_offsets(cluster.brokers[s["leader"]], topic, [p])[p][0] == 0
                             for p, s in states.items()), 30, f"the leaders of {topic} to serve it")
    return t0, states


def wait_full(cluster, topic, timeout=60):
    return cluster.wait_states(topic, timeout=timeout, pred=full)


def deny_deletes(cluster):
    from kazoo.security import make_acl
    cluster.zk.set_acls(NOTIFICATIONS, [make_acl("world", "anyone", read=True, write=True, create=True,
                                                 admin=True)])


def allow_deletes(cluster):
    from kazoo.security import OPEN_ACL_UNSAFE
    cluster.zk.set_acls(NOTIFICATIONS, OPEN_ACL_UNSAFE)


def notifications(cluster):
    """{child name: (raw bytes, parsed JSON)} of /isr_change_notification."""
    out = {}
    for name in cluster.children(NOTIFICATIONS) or []:
        got = cluster.get(f"{NOTIFICATIONS}/{name}")
        if got is not None:
            out[name] = (got[0], json.loads(got[0].decode()))
    return out


def listed(notes, topic):
    """The partitions of topic the notifications name (each once)."""
    return sorted({p["partition"] for _, doc in notes.values() for p in doc["partitions"] if p["topic"] == topic})


def non_controller(cluster):
    return cluster.brokers[next(i for i in BROKERS if i != cluster.controller())]


# -- scenarios -------------------------------------------------------------------

def test_leaders_drop_a_frozen_follower_in_kafka_form_and_take_it_back(cluster):
    c = cluster
    topic = "orders"
    epoch = c.controller_epoch()
    with h.step("take DELETE on /isr_change_notification away, so its entries stay readable"):
        deny_deletes(c)
    with h.step(f"create {topic}: 3 partitions, RF 3; every ISR stays full"):
        _, first = create_rf3(c, topic, partitions=3)
    for p, s in first.items():
        assert sorted(s["isr"]) == BROKERS and s["leader_epoch"] == 0, (p, s)
    frozen = non_controller(c)
    followed = sorted(p for p, s in first.items() if s["leader"] != frozen.id)
    assert len(followed) == 2, first

    def dropped(st):
        return all(frozen.id not in st[p]["isr"] for p in followed)
    t0 = time.monotonic()
    with h.step(f"SIGSTOP broker {frozen.id}: the leaders of partitions {followed} drop it from their ISR"):
        with h.paused(frozen):
            # Kafka's rule drops only a follower that lags: one whose log end
            # offset equals the leader's stays in sync however long it is
            # silent.  One record per followed partition makes it lag.
            for p in followed:
                port = c.brokers[first[p]["leader"]].port
                assert h.produce_one(port, topic, p, b"lag", acks=1, timestamp=int(time.time() * 1000)) == 0
            after = c.wait_states(topic, timeout=30, pred=dropped)
            written = {p: c.get(f"/brokers/topics/{topic}/partitions/{p}/state") for p in followed}
    h.note(f"SIGSTOP -> follower dropped from {len(followed)} ISRs (replica.lag.time.max.ms={LAG_MS})",
           time.monotonic() - t0)
    for p in followed:
        raw, stat = written[p]
        doc = json.loads(raw.decode())
        leader = first[p]["leader"]
        # Kafka 2.6's form: compact JSON, these five keys in this order, the
        # leader's leader_epoch and the controller epoch of the state it
        # replaced; the ISR is the old one without the frozen follower.
        assert list(doc) == STATE_KEYS and b" " not in raw, raw
        assert (doc["controller_epoch"], doc["leader"], doc["version"], doc["leader_epoch"]) == \
            (epoch, leader, 1, 0), raw
        assert sorted(doc["isr"]) == sorted(set(BROKERS) - {frozen.id}), raw
        assert stat.version == 1, f"partition {p}: one conditional write after the controller's create"
        log = c.brokers[leader].process.log_text()
        assert re.search(rf"{topic}-{p}: shrinking ISR from \[[0-9,]+\] to \[[0-9,]+\]", log), \
            f"broker {leader} does not say it shrank {topic}-{p}"
    # The partition the frozen broker leads keeps its ISR: its followers
    # cannot fetch, but only a leader removes followers.
    own = next(p for p in first if p not in followed)
    assert after[own] == first[own], after[own]

    with h.step(f"broker {frozen.id} resumed: the leaders take it back into every ISR"):
        back = wait_full(c, topic)
    for p, s in back.items():
        assert s["leader"] == first[p]["leader"] and s["leader_epoch"] == 0, (p, s)

    with h.step("wait for the leaders' /isr_change_notification entries"):
        notes = h.wait_until(lambda: (lambda n: n if set(followed) <= set(listed(n, topic)) else None)(
            notifications(c)), 60, f"notifications naming {topic}-{followed}")
    for name, (raw, doc) in notes.items():
        assert re.fullmatch(r"isr_change_\d{10}", name), name
        assert set(doc) == {"version", "partitions"} and doc["version"] == 1, doc
        assert all(set(x) == {"topic", "partition"} for x in doc["partitions"]), doc
        assert b" " not in raw, raw
    assert own not in listed(notes, topic), "nobody changed the ISR of the frozen broker's own partition"

    with h.step("give DELETE back: the controller deletes the entries"):
        allow_deletes(c)
        h.wait_until(lambda: c.children(NOTIFICATIONS) == [], 60, "the controller to delete the notifications")
    controller = c.brokers[c.controller()]
    assert f"ISR change notification {sorted(notes)[0]}" in controller.process.log_text()
    assert full(c.states(topic))
    assert c.controller_epoch() == epoch


def test_metadata_and_describe_topic_show_the_full_isr(cluster):
    c = cluster
    topic = "orders"
    states = wait_full(c, topic)
    r = c.admin("--output", "json", "describe-topic", "--topic", topic)
    assert r.returncode == 0, r.stderr
    for p in json.loads(r.stdout)[0]["partitions"]:
        assert sorted(p["isr"]) == BROKERS and p["leader_epoch"] == 0, p
    text = c.admin("describe-topic", "--topic", topic).stdout
    for p, s in states.items():
        assert f"Partition: {p}\tLeader: {s['leader']}\t" in text, text
        assert f"\tIsr: {','.join(str(i) for i in s['isr'])}\n" in text, text

    def metadata_agrees(b):
        view = h.kcat_view(h.kcat_metadata(b.bootstrap))["topics"][topic]["partitions"]
        return all(x[0] == states[p]["leader"] and sorted(x[2]) == BROKERS for p, x in view.items())
    for b in c.brokers.values():
        h.wait_until(lambda b=b: metadata_agrees(b), 60, f"broker {b.id}'s Metadata to show the full ISRs")
    from confluent_kafka.admin import AdminClient
    md = AdminClient({"bootstrap.servers": c.bootstrap()}).list_topics(topic, timeout=30)
    for p, pm in md.topics[topic].partitions.items():
        assert pm.leader == states[p]["leader"] and sorted(pm.isrs) == BROKERS, (p, pm.isrs)


def test_records_produced_with_acks_1_become_readable(cluster):
    c = cluster
    topic = "acks-one"
    create_rf3(c, topic, partitions=3)
    recs = [h.Rec(topic, i % 3, None, f"k{i}".encode(), f"v{i}".encode(), (), None) for i in range(60)]
    with h.step("produce 60 records with acks=1 right after creation"):
        reports = h.ck_produce(h.ck_producer(c.bootstrap(), acks=1), recs)
    assert all(e is None for _, e in reports), reports
    with h.step("a consumer reads all 60 (bounded wait: once the followers have fetched them)"):
        def all_read():
            got, _ = h.ck_consume(c.bootstrap(), [(topic, p) for p in range(3)], timeout=60)
            return got if len(got) == 60 else None
        got = h.wait_until(all_read, 60, "a consumer to read all 60 records", interval=0.5)
    assert sorted((r.key, r.value) for r in got) == sorted((r.key, r.value) for r in recs)
    assert full(c.states(topic))


def test_acks_all_with_min_insync_1_is_answered_with_the_full_isr(cluster):
    c = cluster
    topic = "acks-all"
    t0, _ = create_rf3(c, topic)
    recs = [h.Rec(topic, 0, None, b"k", f"v{i}".encode(), (), None) for i in range(10)]
    with h.step("produce 10 records with acks=all (min.insync.replicas=1) right after creation"):
        reports = h.ck_produce(h.ck_producer(c.bootstrap(), acks="all"), recs, timeout=90)
    h.note("create-topic -> acks=all produce answered", time.monotonic() - t0)
    assert [e for _, e in reports] == [None] * 10, reports
    assert sorted(r.offset for r, _ in reports) == list(range(10))
    assert full(c.states(topic))
    assert [r.value for r in h.kcat_consume(c.bootstrap(), topic)] == [r.value for r in recs]


def test_kcat_default_acks_all_producer_finishes_on_a_new_rf3_topic(cluster):
    c = cluster
    topic = "kcat-default"
    t0, _ = create_rf3(c, topic)
    path = c.workdir / "kcat-lines.txt"
    path.write_text("".join(f"kcat{i}\n" for i in range(5)))
    with h.step("kcat -P (its default is acks=all) right after creation"):
        h.kcat_produce(c.bootstrap(), topic, path, key_delim=None, timeout=120)
    h.note("create-topic -> kcat -P done", time.monotonic() - t0)
    assert full(c.states(topic))
    assert [r.value for r in h.kcat_consume(c.bootstrap(), topic)] == [f"kcat{i}".encode() for i in range(5)]


def test_acks_all_with_min_insync_2_is_refused_while_both_followers_are_out(cluster):
    c = cluster
    topic = "strict"
    ctl = c.controller()
    others = [i for i in BROKERS if i != ctl]
    # The controller leads, so freezing the followers leaves it running.
    create_rf3(c, topic, configs=["min.insync.replicas=2"], assignment=":".join(map(str, [ctl] + others)))
    leader, followers = c.brokers[ctl], [c.brokers[i] for i in others]
    rec = h.Rec(topic, 0, None, b"k", b"must not be written", (), None)
    # Only the leader's address: a client would wait on a frozen broker.
    with h.step(f"SIGSTOP brokers {others}: the leader shrinks the ISR to itself; produce meanwhile"):
        with h.paused(*followers):
            c.wait_states(topic, timeout=30, pred=lambda st: st[0]["isr"] == [ctl])
            (_, refused), = h.ck_produce(h.ck_producer(leader.bootstrap, acks="all", retries=0), [rec])
            (ok, err), = h.ck_produce(h.ck_producer(leader.bootstrap, acks=1), [rec._replace(value=b"acks=1")])
    assert refused is not None and refused.code() == NOT_ENOUGH_REPLICAS, refused
    assert err is None and ok.offset == 0, (ok, err)
    with h.step("resumed, both followers are back in the ISR and acks=all is answered"):
        wait_full(c, topic)
        (again, err), = h.ck_produce(h.ck_producer(leader.bootstrap, acks="all", retries=0),
                                     [rec._replace(value=b"acks=all")])
    assert err is None and again.offset == 1, (again, err)
    assert [r.value for r in h.kcat_consume(c.bootstrap(), topic)] == [b"acks=1", b"acks=all"]


def test_retention_deletes_old_segments_with_replicating_followers(cluster):
    c = cluster
    topic = "retained"
    create_rf3(c, topic, configs=["segment.bytes=4096", "retention.bytes=10000"])
    leader = c.leader(topic, 0)
    producer = h.ck_producer(c.bootstrap(), **{"linger.ms": 0, "batch.num.messages": 5})
    recs = [h.Rec(topic, 0, None, f"k{i}".encode(), b"r" * 300, (), None) for i in range(300)]
    with h.step("produce 300 records of 300 bytes in batches of 5 (acks=1)"):
        reports = h.ck_produce(producer, recs, flush_every=5)
    assert all(e is None for _, e in reports)

    def earliest():
        (err, _, offset), = h.list_offsets(leader, topic, [0], timestamp=kw.EARLIEST).values()
        return offset if err == 0 and offset > 0 else None
    def oldest_segment_gone():
        start = earliest()
        first = leader.segments(topic, 0)[0].name
        return start if start and int(first[:20]) == start else None
    with h.step("wait for retention to delete the oldest segments"):
        start = h.wait_until(oldest_segment_gone, 60, f"the first segments of {topic}-0 to be deleted",
                             interval=0.2)
    assert start > 0 and (leader.partition_dir(topic, 0) / kw.segment_name(0, ".log")).exists() is False
    assert full(c.states(topic))
