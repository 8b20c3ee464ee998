"""
Scenario zs: partition reassignment (issue 14 item 3; zk-and-replication.md
1.3, 1.9, 2.6, 2.7 "Reassignment"): an operator moves replicas to other
brokers with kbroker-admin reassign (what kafka-reassign-partitions.sh
writes: /admin/reassign_partitions), or a client asks with
AlterPartitionReassignments; new replicas catch up by fetching, leadership
moves, the old replicas are stopped and deleted, and the request is gone
when it is done.

One ZooKeeper and three brokers for the whole file (fixed ports, 10 s
sessions so that a broker frozen for a few seconds keeps its registration,
metrics).  The scenarios, in order, each ending with every broker running:

  under load      a 6-partition RF 2 topic on brokers {1,2} moves to {2,3}
                  with kbroker-admin reassign --plan while librdkafka
                  (idempotent, acks=all) produces numbered records: every
                  acknowledged record is read back, the new replicas' logs
                  are byte-identical, broker 1's partition directories are
                  deleted, /admin/reassign_partitions is gone, the topic
                  znode lists no adding or removing replicas, --verify says
                  complete and exits 0;
  the API         with the broker to add frozen (SIGSTOP) so that it cannot
                  catch up, KafkaJS's AlterPartitionReassignments starts a
                  move and ListPartitionReassignments shows it (replicas,
                  adding, removing), as do describe-topic, --verify (exit
                  10) and the partitions_reassigning metric; resumed, it
                  completes; refusals per partition (unknown partition,
                  broker not live, cancelling nothing, a partition twice,
                  not the controller), and a cancellation back to the
                  original replicas;
  failover        a move requested through ZooKeeper while its new replica
                  is frozen, then the controller killed (kill -9): the next
                  controller resumes it from the topic znode and finishes
                  it once the replica is resumed; while the request is
                  there a second --execute is refused; kbroker-admin's
                  refusals of bad plans; an unreadable request znode is
                  deleted by the controller;
  deleted topic   --verify of a plan naming a deleted topic and a partition
                  beyond a topic's count says they do not exist (exit 6),
                  in text and JSON;
  unknown         a request naming 3,000 partitions that do not exist is
                  removed with one log line, not 3,000;
  never coming    /admin/reassign_partitions written by hand, naming
                  brokers 7 and 8 that are not registered: the moves start
                  and hang; reassign --list and kafka-reassign-partitions.sh
                  --list show them, kafka-topics.sh --describe
                  --bootstrap-server shows Adding/Removing Replicas (not
                  under-replicated: the replication factor leaves the added
                  replicas out), reassign --cancel and
                  kafka-reassign-partitions.sh --cancel (through the
                  brokers; refused through ZooKeeper) put the original
                  replicas back and the znode goes.

Frozen brokers are always resumed (kbharness.paused) before a step can fail.
"""
import json
import threading
from pathlib import Path

import pytest

import kafkawire as kw
import kbharness as h

BROKERS = [1, 2, 3]
SESSION_MS = 10000
# A deleted replica's log is renamed <dir>.<id>-delete at once and removed
# log.segment.delete.delay.ms later (Kafka's 60 s by default).
BROKER_CONFIG = {"replica.lag.time.max.ms": "10000", "log.segment.delete.delay.ms": "1000"}
KAFKAJS_DIR = Path(__file__).resolve().parent / "kafkajs"
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_REPLICA_ASSIGNMENT = 39
NOT_CONTROLLER = 41
INVALID_REQUEST = 42
NO_REASSIGNMENT_IN_PROGRESS = 85
EXIT_BUSY = 10


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start brokers 1, 2, 3 (fixed ports, {SESSION_MS} ms sessions, metrics)"):
        c.start_brokers(BROKERS, fixed_ports=True, session_timeout_ms=SESSION_MS, metrics=True,
                        extra=BROKER_CONFIG)
        c.wait_controller()
    return c


# -- helpers ---------------------------------------------------------------------

def plan_file(cluster, name, moves):
    """Kafka's reassignment JSON for {(topic, partition): [replicas]}, as
    kafka-reassign-partitions.sh --generate writes it (log_dirs "any")."""
    path = cluster.workdir / f"{name}.json"
    parts = [{"topic": t, "partition": p, "replicas": r, "log_dirs": ["any"] * len(r)}
             for (t, p), r in sorted(moves.items())]
    path.write_text(json.dumps({"version": 1, "partitions": parts}))
    return path


def reassignment_over(cluster, topic):
    """The topic znode when no reassignment of topic is under way and
    /admin/reassign_partitions is gone, else None."""
    t = cluster.topic(topic)
    if t is None or t["adding_replicas"] or t["removing_replicas"]:
        return None
    return t if cluster.get("/admin/reassign_partitions") is None else None


def kafkajs(cluster, command, topics=None, brokers=None):
    """tests/integration/kafkajs/reassign.js: its one JSON line."""
    import shutil
    import subprocess
    node = shutil.which("node")
    if node is None or not (KAFKAJS_DIR / "node_modules" / "kafkajs").is_dir():
        pytest.skip("node or the kafkajs module is missing (run `npm ci` in tests/integration/kafkajs)")
    argv = [node, str(KAFKAJS_DIR / "reassign.js"), command, "--brokers", brokers or cluster.bootstrap()]
    if topics is not None:
        argv += ["--topics", json.dumps(topics)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=KAFKAJS_DIR)
    print(f"$ reassign.js {command} {topics if topics is not None else ''}\n  {r.stdout.strip()}"
          f"{('  stderr: ' + r.stderr.strip()[:500]) if r.stderr.strip() else ''}", flush=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def metric_on_all(cluster, name):
    return {b.id: h.metric(b.metrics(), name) for b in cluster.brokers.values() if b.alive()}


PAD = b" " + b"x" * 189  # 200-byte records, so that the new replicas have megabytes to copy


class LoadProducer:
    """librdkafka (idempotent, acks=all) sending b"0000000000", ... (then PAD)
    round-robin
    over the topic's partitions from a thread until stopped, then flushing.
    acked: {number: (partition, offset)}."""

    def __init__(self, bootstrap, topic, partitions):
        from confluent_kafka import Producer
        self.topic, self.partitions = topic, partitions
        self.acked, self.failed, self.fatal = {}, [], []
        self.stop = threading.Event()
        self.sent = 0
        self.left = None
        self.producer = Producer({
            "bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
            "message.timeout.ms": 240000, "retry.backoff.ms": 100, "socket.timeout.ms": 20000,
            "error_cb": lambda e: self.fatal.append(str(e)) if e.fatal() else None})
        self.thread = threading.Thread(target=self.run, daemon=True)

    def report(self, err, m):
        if err is not None:
            self.failed.append((m.value(), str(err)))
        else:
            self.acked[int(m.value()[:10])] = (m.partition(), m.offset())

    def run(self):
        i = 0
        while not self.stop.is_set() and not self.fatal:
            try:
                self.producer.produce(self.topic, value=b"%010d" % i + PAD, partition=i % self.partitions,
                                      on_delivery=self.report)
                i += 1
                self.sent = i
            except BufferError:
                self.producer.poll(0.05)
            if i % 200 == 0:
                self.producer.poll(0.005)  # pacing: about 40,000 records a second at most
        self.left = self.producer.flush(240)

    def finish(self):
        self.stop.set()
        self.thread.join(300)
        assert not self.thread.is_alive(), "the producer thread did not finish"


# -- scenarios -------------------------------------------------------------------

def test_six_partitions_move_from_brokers_1_2_to_2_3_under_acks_all_load(cluster):
    c = cluster
    topic, n = "moving", 6
    old = {p: [1, 2] if p % 2 == 0 else [2, 1] for p in range(n)}
    new = {p: [2, 3] if p % 2 == 0 else [3, 2] for p in range(n)}
    c.create_topic(topic, assignment=",".join(":".join(map(str, old[p])) for p in range(n)))
    h.wait_full_isr(c, topic)
    load = LoadProducer(c.bootstrap(), topic, n)
    with h.step("librdkafka (idempotent, acks=all) produces until 30,000 records are acknowledged"):
        load.thread.start()
        h.wait_until(lambda: len(load.acked) >= 30_000 or load.fatal, 180, "30,000 acknowledgements")
    try:
        plan = plan_file(c, "moving", {(topic, p): r for p, r in new.items()})
        with h.step(f"kbroker-admin reassign --plan {plan.name} (the producer goes on)"):
            r = c.admin("reassign", "--plan", plan)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == "Current partition replica assignment" and lines[1] == "", lines
        rollback = json.loads(lines[2])
        assert rollback == {"version": 1, "partitions": [
            {"topic": topic, "partition": p, "replicas": old[p], "log_dirs": ["any", "any"]} for p in range(n)]}
        assert lines[3:] == ["", "Save this to use as the --reassignment-json-file option during rollback",
                             "Successfully started partition reassignments for "
                             + ",".join(f"{topic}-{p}" for p in range(n))], lines
        with h.step("wait until /admin/reassign_partitions is gone and the topic znode lists no "
                    "adding or removing replicas"):
            done = h.wait_until(lambda: reassignment_over(c, topic), 240, f"the reassignment of {topic}")
        assert {int(p): r for p, r in done["partitions"].items()} == new
        with h.step("50,000 more records acknowledged after the move"):
            target = len(load.acked) + 50_000
            h.wait_until(lambda: len(load.acked) >= target or load.fatal, 240, "50,000 more acknowledgements")
    finally:
        load.finish()
    print(f"    sent {load.sent}, acked {len(load.acked)}, failed {len(load.failed)}, left {load.left}, "
          f"fatal {load.fatal}", flush=True)
    assert not load.fatal and not load.failed and load.left == 0, (load.fatal, load.failed[:3], load.left)

    states = c.states(topic)
    for p in range(n):
        assert sorted(states[p]["isr"]) == [2, 3], (p, states[p])
        assert states[p]["leader"] in (2, 3), (p, states[p])
    with h.step("every record acknowledged is read back, once per acknowledgement"):
        recs, _ = h.ck_consume(c.bootstrap(), [(topic, p) for p in range(n)], timeout=240)
        got = {}
        for rec in recs:
            got.setdefault(int(rec.value[:10]), (rec.partition, rec.offset))
    lost = [v for v in load.acked if v not in got]
    assert not lost, f"{len(lost)} acknowledged records lost, e.g. {lost[:5]}"
    assert all(got[v] == load.acked[v] for v in load.acked), "a record was read at another offset than acknowledged"
    with h.step("brokers 2 and 3 hold byte-identical logs of every partition"):
        for p in range(n):
            hw = h.wait_converged(c, topic, p, timeout=120)
            size = h.assert_same_below([c.brokers[2], c.brokers[3]], topic, p, hw)
            assert hw > 0 and size > 0
            data2, _ = h.log_batches(c.brokers[2], topic, p)
            data3, _ = h.log_batches(c.brokers[3], topic, p)
            assert data2 == data3, f"{topic}-{p}: the logs differ past the HW"
    with h.step("broker 1's partition directories of the topic are deleted"):
        h.wait_until(lambda: not any(d.name.startswith(f"{topic}-") for d in c.brokers[1].log_dir.iterdir()),
                     60, f"broker 1 to delete its {topic} directories")
    with h.step("kbroker-admin reassign --verify says every partition is complete"):
        r = c.admin("reassign", "--plan", plan, "--verify")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["Status of partition reassignment:"] + [
        f"Reassignment of partition {topic}-{p} is complete." for p in range(n)]
    assert set(metric_on_all(c, "kbroker_partitions_reassigning").values()) == {0}


def wire_call(broker, api_key, body):
    """One flexible (request header v2) v0 request on a fresh connection."""
    s = h.connect(broker.port)
    try:
        s.sendall(h.kafka_request(api_key, 0, 1, body, flexible_header=True))
        return h.recv_frame(s)
    finally:
        s.close()


def wire_alter(broker, topics):
    frame = wire_call(broker, kw.ALTER_PARTITION_REASSIGNMENTS, kw.alter_reassignments_body(topics))
    return kw.parse_alter_reassignments_response(frame)


def wire_list(broker, topics=None):
    frame = wire_call(broker, kw.LIST_PARTITION_REASSIGNMENTS, kw.list_reassignments_body(topics))
    return kw.parse_list_reassignments_response(frame)


def test_alter_and_list_partition_reassignments_from_kafkajs(cluster):
    c = cluster
    ctl = c.controller()
    a, b = [i for i in BROKERS if i != ctl]
    topic = "api-moves"
    # Partition 0 moves from [ctl, a] to [a, b]; b, the broker to add, is
    # not the controller, so freezing it stops only its catching up.
    c.create_topic(topic, assignment=f"{ctl}:{a},{a}:{ctl}")
    h.wait_full_isr(c, topic)
    h.ck_produce(h.ck_producer(c.bootstrap(), acks="all"),
                 [h.Rec(topic, 0, None, None, b"api-%d" % i, (), None) for i in range(1000)])
    plan = plan_file(c, "api-moves", {(topic, 0): [a, b]})

    with h.step("refusals per partition: unknown partition, broker 9 not live, cancelling nothing, an empty or "
                "negative replica list, a partition twice, not the controller"):
        got = kafkajs(c, "alter", [{"topic": "no-such-topic", "partitionAssignment": [{"partition": 0, "replicas": [a]}]},
                                   {"topic": topic, "partitionAssignment": [{"partition": 0, "replicas": [a, 9]},
                                                                            {"partition": 7, "replicas": [a]}]}])
        assert got["error"] == "KafkaJSAggregateError", got
        assert sorted((e["topic"], e["partition"], e["type"]) for e in got["errors"]) == [
            (topic, 0, "INVALID_REPLICA_ASSIGNMENT"), (topic, 7, "UNKNOWN_TOPIC_OR_PARTITION"),
            ("no-such-topic", 0, "UNKNOWN_TOPIC_OR_PARTITION")]
        controller = c.brokers[ctl]
        err, _, parts = wire_alter(controller, [(topic, [(1, None), (0, [b, b]), (0, [a])]), (topic, [(1, [ctl])])])
        assert err == 0
        assert parts[(topic, 1)][0] == INVALID_REQUEST, parts  # named twice
        assert parts[(topic, 0)][0] == INVALID_REQUEST, parts
        err, _, parts = wire_alter(controller, [(topic, [(1, None)])])
        assert (err, parts[(topic, 1)][0]) == (0, NO_REASSIGNMENT_IN_PROGRESS), parts
        err, _, parts = wire_alter(controller, [(topic, [(1, []), (0, [a, -1])])])
        assert parts[(topic, 1)] == (INVALID_REPLICA_ASSIGNMENT,
                                     "Empty replica list specified in partition reassignment."), parts
        assert parts[(topic, 0)][0] == INVALID_REPLICA_ASSIGNMENT, parts
        err, msg, parts = wire_alter(c.brokers[a], [(topic, [(0, [a, b])])])
        assert (err, parts) == (NOT_CONTROLLER, {}), (err, msg, parts)
        assert wire_list(c.brokers[a])[0] == NOT_CONTROLLER
    assert reassignment_over(c, topic) is not None

    with h.paused(c.brokers[b]):
        with h.step(f"broker {b} frozen: KafkaJS asks to move {topic}-0 to [{a},{b}]"):
            assert kafkajs(c, "alter", [{"topic": topic, "partitionAssignment": [{"partition": 0, "replicas": [a, b]}]}]) \
                == {"ok": True}
        with h.step("ListPartitionReassignments (KafkaJS, all and by partition; raw) shows it under way"):
            want = {"partition": 0, "replicas": [a, b, ctl], "addingReplicas": [b], "removingReplicas": [ctl]}
            assert kafkajs(c, "list") == {"topics": [{"name": topic, "partitions": [want]}]}
            assert kafkajs(c, "list", [{"topic": topic, "partitions": [0, 1]}]) == \
                {"topics": [{"name": topic, "partitions": [want]}]}
            assert wire_list(c.brokers[ctl], [(topic, [1])]) == (0, None, {})
        t = c.topic(topic)
        assert (t["partitions"]["0"], t["adding_replicas"], t["removing_replicas"]) == \
            ([a, b, ctl], {"0": [b]}, {"0": [ctl]}), t
        r = c.admin("describe-topic", "--topic", topic)
        assert f"Replicas: {a},{b},{ctl}\tIsr: " in r.stdout and f"\tAdding Replicas: {b}\tRemoving Replicas: {ctl}\n" \
            in r.stdout, r.stdout
        r = c.admin("reassign", "--plan", plan, "--verify")
        assert r.returncode == EXIT_BUSY and f"Reassignment of partition {topic}-0 is still in progress." in r.stdout
        assert h.metric(c.brokers[ctl].metrics(), "kbroker_partitions_reassigning") == 1  # (b cannot answer)
    with h.step(f"broker {b} resumed: the move completes"):
        done = h.wait_until(lambda: reassignment_over(c, topic), 120, f"the reassignment of {topic}-0")
    assert done["partitions"]["0"] == [a, b]
    st = c.state(topic, 0)
    assert st["leader"] == a and sorted(st["isr"]) == sorted([a, b]), st
    assert kafkajs(c, "list") == {"topics": []}
    assert c.admin("reassign", "--plan", plan, "--verify").returncode == 0
    h.wait_until(lambda: not c.brokers[ctl].partition_dir(topic, 0).exists(), 60,
                 f"broker {ctl} to delete its {topic}-0 directory")
    recs, _ = h.ck_consume(c.bootstrap(), [(topic, 0)])
    assert [r.value for r in recs] == [b"api-%d" % i for i in range(1000)]

    with h.paused(c.brokers[b]):
        with h.step(f"broker {b} frozen: {topic}-1 ([{a},{ctl}]) asked to move to [{b},{ctl}], then cancelled"):
            err, _, parts = wire_alter(c.brokers[ctl], [(topic, [(1, [b, ctl])])])
            assert (err, parts[(topic, 1)][0]) == (0, 0), parts
            t = h.wait_until(lambda: c.topic(topic) if c.topic(topic)["adding_replicas"] else None, 30,
                             f"{topic}-1's reassignment to start")
            assert t["partitions"]["1"] == [b, ctl, a] and t["adding_replicas"] == {"1": [b]}, t
            err, _, parts = wire_alter(c.brokers[ctl], [(topic, [(1, None)])])
            assert (err, parts[(topic, 1)][0]) == (0, 0), parts
            t = h.wait_until(lambda: reassignment_over(c, topic), 30, f"{topic}-1's cancellation")
            # Back to the original replicas; their order is what remains of
            # the reassignment's list once b is out (Kafka keeps no other).
            assert t["partitions"]["1"] == [ctl, a], t
    st = c.state(topic, 1)
    assert sorted(st["isr"]) == sorted([a, ctl]) and b not in st["isr"], st
    h.wait_until(lambda: not c.brokers[b].partition_dir(topic, 1).exists(), 60,
                 f"broker {b} to delete the {topic}-1 replica the cancellation stopped")


def test_controller_killed_mid_reassignment_and_the_next_one_finishes_it(cluster):
    c = cluster
    ctl = c.controller()
    other, target = [i for i in BROKERS if i != ctl]
    topic, api_topic = "failover-moves", "failover-api"
    c.create_topic(topic, assignment=f"{ctl}:{other},{other}:{ctl}")
    c.create_topic(api_topic, assignment=f"{ctl}:{other}")
    h.wait_full_isr(c, topic)
    h.wait_full_isr(c, api_topic)
    h.ck_produce(h.ck_producer(c.bootstrap(), acks="all"),
                 [h.Rec(topic, i % 2, None, None, b"f-%d" % i, (), None) for i in range(2000)])
    plan = plan_file(c, "failover", {(topic, 0): [other, target], (topic, 1): [target, other]})

    with h.step("kbroker-admin refuses bad plans before writing anything"):
        bad = c.workdir / "bad.json"
        bad.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 5, "replicas": [1]}]}))
        r = c.admin("reassign", "--plan", bad)
        assert r.returncode == 6 and f"non-existent partitions: {topic}-5" in r.stderr, r.stderr
        bad.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 0, "replicas": [1, 9]}]}))
        r = c.admin("reassign", "--plan", bad)
        assert r.returncode == 5 and "non-existent brokerIDs: 9" in r.stderr, r.stderr
        bad.write_text(json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 0, "replicas": [1]},
                                                               {"topic": topic, "partition": 0, "replicas": [2]}]}))
        r = c.admin("reassign", "--reassignment-json-file", bad, "--execute")
        assert r.returncode == 1 and f"duplicate topic partitions: {topic}-0" in r.stderr, r.stderr
    assert c.get("/admin/reassign_partitions") is None

    with h.paused(c.brokers[target]):
        with h.step(f"broker {target} frozen: reassign --plan moves {topic} to include it"):
            r = c.admin("reassign", "--plan", plan)
            assert r.returncode == 0, r.stderr
            h.wait_until(lambda: c.topic(topic)["adding_replicas"] == {"0": [target], "1": [target]} or None, 30,
                         "both partitions' reassignments to start")
        with h.step(f"and AlterPartitionReassignments moves {api_topic}-0 to [{other},{target}] (no znode entry)"):
            err, _, parts = wire_alter(c.brokers[ctl], [(api_topic, [(0, [other, target])])])
            assert (err, parts) == (0, {(api_topic, 0): (0, None)}), parts
            assert c.topic(api_topic)["adding_replicas"] == {"0": [target]}
        with h.step("a second --execute is refused while the request is there"):
            r = c.admin("reassign", "--plan", plan_file(c, "other", {(topic, 0): [ctl, other]}))
            assert r.returncode == EXIT_BUSY, r
            assert "Cannot execute because there is an existing partition assignment." in r.stderr
        with h.step(f"kill -9 broker {ctl}, the controller, while broker {target} is frozen"):
            c.brokers[ctl].kill9()
    # Resumed at once: frozen until the takeover (a whole session timeout)
    # it could lose its own session too.  It catches up while nobody is
    # controller; the reassignments stay half done until one is.
    with h.step(f"broker {target} resumed; broker {other} or {target} becomes the controller"):
        c.wait_controller(among=[other, target], timeout=60)
    with h.step("the new controller finishes the three moves, the API's resumed from the topic znode alone"):
        done = h.wait_until(lambda: reassignment_over(c, topic), 120, f"the reassignment of {topic}")
        api_done = h.wait_until(lambda: reassignment_over(c, api_topic), 120, f"the reassignment of {api_topic}")
    assert api_done["partitions"]["0"] == [other, target]
    assert {p: done["partitions"][str(p)] for p in (0, 1)} == {0: [other, target], 1: [target, other]}
    for p in (0, 1):
        st = c.state(topic, p)
        assert sorted(st["isr"]) == sorted([other, target]) and st["leader"] in (other, target), st
    r = c.admin("reassign", "--plan", plan, "--verify")
    assert r.returncode == 0 and r.stdout.count("is complete.") == 2, r.stdout
    recs, _ = h.ck_consume(c.bootstrap(), [(topic, 0), (topic, 1)])
    assert sorted(r.value for r in recs) == sorted(b"f-%d" % i for i in range(2000))
    with h.step(f"restart broker {ctl}"):
        old = c.brokers[ctl].registration()
        c.brokers[ctl].start()
        c.brokers[ctl].wait_registered(60, newer_than=old[1].czxid if old else None)

    with h.step("an unreadable /admin/reassign_partitions is deleted by the controller"):
        c.zk.create("/admin/reassign_partitions", b"{not json")
        h.wait_until(lambda: c.get("/admin/reassign_partitions") is None or None, 60,
                     "the controller to delete the unreadable request")


def test_verify_of_a_deleted_topic_says_the_partition_does_not_exist(cluster):
    """Kafka 2.6's --verify would print "replica set is  rather than 2,1"
    for a partition whose topic is gone; kbroker-admin says it does not
    exist (exit 6), next to the lines of partitions that do."""
    c = cluster
    ids = sorted(c.brokers)
    c.create_topic("zs-gone", 1, 1, assignment=str(ids[0]))
    c.create_topic("zs-kept", 1, 1, assignment=str(ids[0]))
    plan = plan_file(c, "gone", {("zs-gone", 0): [ids[1], ids[0]], ("zs-kept", 0): [ids[0]],
                                 ("zs-kept", 3): [ids[0]]})
    with h.step("delete topic zs-gone, then reassign --verify a plan naming it"):
        assert c.admin("delete-topic", "--topic", "zs-gone", "--wait").returncode == 0
        r = c.admin("reassign", "--plan", plan, "--verify")
    assert (r.returncode, r.stdout) == (6, "Status of partition reassignment:\n"
                                           "There is no active reassignment of partition zs-gone-0, but the "
                                           "partition does not exist.\n"
                                           "Reassignment of partition zs-kept-0 is complete.\n"
                                           "There is no active reassignment of partition zs-kept-3, but the "
                                           "partition does not exist.\n"), r.stdout
    r = c.admin("--output", "json", "reassign", "--plan", plan, "--verify")
    doc = json.loads(r.stdout)
    assert [(d["topic"], d["partition"], d["status"], d["current"]) for d in doc] == [
        ("zs-gone", 0, "does not exist", None), ("zs-kept", 0, "complete", [ids[0]]),
        ("zs-kept", 3, "does not exist", None)], doc


def test_thousands_of_unknown_partitions_are_refused_in_one_line(cluster):
    """/admin/reassign_partitions naming 3,000 partitions of topics that do
    not exist: the controller removes them all and says so in one line
    with the count and the first few names, not one line each."""
    c = cluster
    ids = sorted(c.brokers)
    n = 3000
    with h.step(f"write /admin/reassign_partitions naming {n} partitions that do not exist"):
        c.zk.create("/admin/reassign_partitions", json.dumps(
            {"version": 1, "partitions": [{"topic": f"zs-none-{i}", "partition": 0, "replicas": [ids[0]]}
                                          for i in range(n)]}).encode())
        h.wait_until(lambda: c.get("/admin/reassign_partitions") is None or None, 60,
                     "the controller to remove every entry and the znode")
    lines = [ln for b in c.brokers.values() for ln in b.process.log_text().splitlines() if "zs-none-" in ln]
    assert len(lines) == 1, lines[:5]
    assert f"asks to reassign {n} partition(s) that do not exist" in lines[0], lines[0]
    assert "zs-none-0-0, zs-none-1-0, zs-none-2-0, ..." in lines[0], lines[0]


# -- a reassignment to brokers that never come, cancelled -------------------------

BIN_DIR = Path(h.KBROKER_ADMIN_BIN).resolve().parent


def run(*argv, timeout=120):
    """A build-tree program (kbroker-admin, kafka-*.sh) with argv, printed."""
    import subprocess
    import time
    t0 = time.monotonic()
    r = subprocess.run([str(BIN_DIR / argv[0]), *[str(a) for a in argv[1:]]], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    print(f"$ {' '.join(str(a) for a in argv)}\n  exit {r.returncode} in {time.monotonic() - t0:.2f}s"
          f"\n  stdout: {r.stdout.strip()[:2000]!r}\n  stderr: {r.stderr.strip()[:2000]!r}", flush=True)
    return r


NO_MOVES = "None of the specified partition moves are active.\n"


def test_a_reassignment_to_unregistered_brokers_is_cancelled_through_the_brokers(cluster):
    """An entry written straight into /admin/reassign_partitions naming
    brokers 7 and 8, which are not registered, is taken by the controller
    as Kafka's is and never completes.  kafka-topics.sh --describe
    --bootstrap-server shows it (Adding/Removing Replicas, the replication
    factor without the added replicas, so not under-replicated; through
    ZooKeeper Kafka counts every assigned replica), reassign --list and
    kafka-reassign-partitions.sh --list list it, and reassign --cancel
    (AlterPartitionReassignments with null replicas, through the brokers
    only) puts the original replicas back and the controller removes the
    entry."""
    c = cluster
    ids = sorted(c.brokers)
    a = ids[0]
    topic = "stuck"
    c.create_topic(topic, assignment=f"{a},{a}")
    bootstrap = c.bootstrap()
    zk = c.zk_connect
    with h.step("write /admin/reassign_partitions moving stuck-0 and stuck-1 to brokers 7 and 8 (not registered)"):
        c.zk.create("/admin/reassign_partitions", json.dumps(
            {"version": 1, "partitions": [{"topic": topic, "partition": p, "replicas": [7, 8]} for p in (0, 1)]}
        ).encode())
        t = h.wait_until(lambda: c.topic(topic) if c.topic(topic)["adding_replicas"] else None, 60,
                         "the controller to start both reassignments")
    assert t["adding_replicas"] == {"0": [7, 8], "1": [7, 8]} and t["partitions"]["0"] == [7, 8, a], t
    plan = plan_file(c, "stuck", {(topic, 0): [7, 8], (topic, 1): [7, 8]})
    assert c.admin("reassign", "--plan", plan, "--verify").returncode == EXIT_BUSY

    with h.step("reassign --list and kafka-reassign-partitions.sh --list (through the brokers)"):
        want = (f"Current partition reassignments:\n{topic}-0: replicas: 7,8,{a}. adding: 7,8. removing: {a}.\n"
                f"{topic}-1: replicas: 7,8,{a}. adding: 7,8. removing: {a}.\n")
        r = run("kbroker-admin", "--bootstrap-server", bootstrap, "reassign", "--list")
        assert (r.returncode, r.stdout, r.stderr) == (0, want, "")
        r = run("kafka-reassign-partitions.sh", "--bootstrap-server", bootstrap, "--list")
        assert (r.returncode, r.stdout) == (0, want)
    with h.step("kafka-topics.sh --describe: Adding and Removing Replicas through the brokers"):
        r = run("kafka-topics.sh", "--describe", "--bootstrap-server", bootstrap, "--topic", topic)
        lines = r.stdout.splitlines()
        assert r.returncode == 0 and lines[0].startswith(f"Topic: {topic}\tPartitionCount: 2\tReplicationFactor: 1\t")
        assert [x.split("\tIsr: ")[1] for x in lines[1:]] == [f"{a}\tAdding Replicas: 7,8\tRemoving Replicas: {a}"] * 2
    with h.step("--under-replicated-partitions: not through the brokers (RF 1, ISR 1), through ZooKeeper yes"):
        r = run("kafka-topics.sh", "--describe", "--bootstrap-server", bootstrap, "--topic", topic,
                "--under-replicated-partitions")
        assert (r.returncode, r.stdout) == (0, "")
        r = run("kbroker-admin", "--zookeeper", zk, "describe-topic", "--topic", topic, "--under-replicated-partitions")
        assert (r.returncode, r.stdout) == (0, "")
        r = run("kafka-topics.sh", "--describe", "--zookeeper", zk, "--topic", topic, "--under-replicated-partitions")
        assert (r.returncode, r.stdout) == (0, "".join(f"\tTopic: {topic}\tPartition: {p}\tLeader: {a}\t"
                                                       f"Replicas: 7,8,{a}\tIsr: {a}\n" for p in (0, 1)))

    with h.step("--cancel through ZooKeeper is refused, naming the way that works"):
        r = run("kbroker-admin", "--zookeeper", zk, "reassign", "--plan", plan, "--cancel")
        assert r.returncode == 1 and "--bootstrap-server" in r.stderr and r.stdout == "", r.stderr
        r = run("kafka-reassign-partitions.sh", "--zookeeper", zk, "--reassignment-json-file", plan, "--cancel")
        assert r.returncode == 1 and r.stderr.startswith('Option "[zookeeper]" can\'t be used with action "[cancel]"\n')
    one = plan_file(c, "stuck-0", {(topic, 0): [7, 8]})
    with h.step("kbroker-admin --bootstrap-server reassign --plan stuck-0.json --cancel"):
        r = run("kbroker-admin", "--bootstrap-server", bootstrap, "reassign", "--plan", one, "--cancel")
        assert (r.returncode, r.stdout, r.stderr) == (
            0, f"Successfully cancelled partition reassignment for: {topic}-0\n" + NO_MOVES, "")
        h.wait_until(lambda: c.topic(topic)["adding_replicas"] == {"1": [7, 8]} or None, 60,
                     f"{topic}-0's cancellation")
    assert c.topic(topic)["partitions"]["0"] == [a]
    assert [e["partition"] for e in c.get_json("/admin/reassign_partitions")[0]["partitions"]] == [1], \
        "the controller takes the cancelled partition out of the request"
    with h.step("kafka-reassign-partitions.sh --bootstrap-server --reassignment-json-file stuck.json --cancel"):
        r = run("kafka-reassign-partitions.sh", "--bootstrap-server", bootstrap, "--reassignment-json-file", plan,
                "--cancel")
        assert (r.returncode, r.stdout, r.stderr) == (
            0, f"Successfully cancelled partition reassignment for: {topic}-1\n" + NO_MOVES, "")
        t = h.wait_until(lambda: reassignment_over(c, topic), 60, f"{topic}-1's cancellation and the znode's removal")
    assert t["partitions"] == {"0": [a], "1": [a]}, t
    with h.step("nothing left to cancel or list"):
        r = run("kbroker-admin", "--bootstrap-server", bootstrap, "reassign", "--plan", plan, "--cancel")
        assert (r.returncode, r.stdout) == (0, "None of the specified partition reassignments are active.\n" + NO_MOVES)
        r = run("kafka-reassign-partitions.sh", "--bootstrap-server", bootstrap, "--list")
        assert (r.returncode, r.stdout) == (0, "No partition reassignments found.\n")
    assert c.admin("reassign", "--plan", plan_file(c, "stuck-back", {(topic, 0): [a], (topic, 1): [a]}),
                   "--verify").returncode == 0
