"""
Scenario zn: deleting topics, as Kafka 2.6 does in ZooKeeper mode
(zk-and-replication.md 1.9, 2.7 "Topic deletion", 4.10).

On three brokers (auto.create.topics.enable=false, so that no client brings
a deleted topic back; log.segment.delete.delay.ms=1000, so that deleted
logs leave the disk within the scenario):

  * an operator deletes a topic with `kbroker-admin delete-topic` while a
    confluent-kafka producer writes to it and a consumer reads it: the
    clients get UNKNOWN_TOPIC_OR_PARTITION (producer delivery reports,
    consumer errors), the partition dirs are renamed <topic>-<p>.<uuid>-delete
    and then gone on every broker, /brokers/topics/T, /config/topics/T and
    /admin/delete_topics/T are gone, and a topic of the same name created
    again is empty (nothing from the beginning, high watermark 0);
  * DeleteTopics through kafka-python's KafkaAdminClient and confluent-kafka's
    AdminClient deletes topics; raw requests show Kafka's answers: 3 for an
    unknown topic, 41 from a broker that is not the controller, 7 for
    timeout_ms 0 (the deletion goes on), and the flexible v4 encoding; a
    name given twice is answered twice, as Kafka 2.6 answers it;
  * deletions race the other admin requests: DeleteTopics of 40 topics
    released together with AlterPartitionReassignments of them (or with
    /admin/reassign_partitions naming them all, or with ElectLeaders,
    CreatePartitions and AlterPartitionReassignments at once): every
    deletion completes (znodes, markers, every broker's dirs, the
    request's entries), and the names, created again, reassign and delete
    like new ones (the controller kept nothing of the old topics); a topic
    deleted while its reassignment waits for a frozen broker leaves nothing
    in /admin/reassign_partitions;
  * a second cluster (its own chroot) runs with delete.topic.enable=false:
    DeleteTopics is refused (73 from v3, 42 before) and writes nothing, and
    a marker kbroker-admin writes is removed by the controller, the topic
    kept;
  * the controller is killed (kill -9) in the middle of a deletion, made
    deterministic by a replica's broker being down: the deletion waits for
    it, the new controller takes it over and finishes it once the broker is
    back, and a broker restarted with a leftover -delete dir removes it
    before loading its logs;
  * a topic whose /brokers/topics/T is no readable assignment (every broker
    ignores it) and which is marked, by a znode written directly or by
    `kbroker-admin delete-topic`, has its znodes and marker deleted by the
    controller, which logs it a few times at most (it once looped on it).
"""
import json
import re
import struct
import subprocess
import threading
from pathlib import Path

import pytest

import kafkawire as kw
import kbharness as h

BROKERS = [1, 2, 3]
EXTRA = {"auto.create.topics.enable": "false", "log.segment.delete.delay.ms": "1000",
         "offsets.topic.replication.factor": "3"}
TIMEOUT_S = 60
DELETE_DIR = re.compile(r"^(?P<topic>.+)-(?P<partition>\d+)\.[0-9a-f]{32}-delete$")

NONE, UNKNOWN_TOPIC, REQUEST_TIMED_OUT, NOT_CONTROLLER = 0, 3, 7, 41
LOCAL_UNKNOWN_TOPIC = -188  # librdkafka's RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC
INVALID_REQUEST, TOPIC_DELETION_DISABLED = 42, 73


# -- raw DeleteTopics (wire-protocol.md 4.7) ----------------------------------------

def delete_topics_body(names, timeout_ms, version):
    if version >= 4:  # flexible: compact array and strings, tag sections
        body = bytes([len(names) + 1])
        for n in names:
            b = n.encode()
            body += bytes([len(b) + 1]) + b
        return body + struct.pack(">i", timeout_ms) + b"\x00"
    body = struct.pack(">i", len(names))
    for n in names:
        b = n.encode()
        body += struct.pack(">h", len(b)) + b
    return body + struct.pack(">i", timeout_ms)


def parse_delete_topics_response(frame, version):
    """[(name, error code)] of a DeleteTopics response frame."""
    pos = 8 + (1 if version >= 4 else 0)  # size, correlation id (+ the v1 header's tag section)
    if version >= 1:
        pos += 4  # throttle_time_ms
    if version >= 4:
        n, pos = frame[pos] - 1, pos + 1
    else:
        n, pos = struct.unpack_from(">i", frame, pos)[0], pos + 4
    out = []
    for _ in range(n):
        if version >= 4:
            ln, pos = frame[pos] - 1, pos + 1
        else:
            ln, pos = struct.unpack_from(">h", frame, pos)[0], pos + 2
        name = frame[pos:pos + ln].decode()
        err = struct.unpack_from(">h", frame, pos + ln)[0]
        pos += ln + 2 + (1 if version >= 4 else 0)
        out.append((name, err))
    assert pos == len(frame) - (1 if version >= 4 else 0), "trailing bytes after the DeleteTopics response"
    return out


def delete_topics(broker, names, timeout_ms=TIMEOUT_S * 1000, version=1):
    s = h.connect(broker.port, timeout=TIMEOUT_S + 15)
    try:
        s.sendall(h.kafka_request(20, version, 7, delete_topics_body(names, timeout_ms, version),
                                  flexible_header=version >= 4))
        return parse_delete_topics_response(h.recv_frame(s), version)
    finally:
        s.close()


# -- what a deleted topic leaves -----------------------------------------------------

def partition_dirs(broker, topic):
    """The dirs of topic's partitions in the broker's log dir: live ones and
    ones renamed for deletion."""
    if not broker.log_dir.exists():
        return []
    out = []
    for d in broker.log_dir.iterdir():
        m = DELETE_DIR.match(d.name)
        if (m and m["topic"] == topic) or re.fullmatch(re.escape(topic) + r"-\d+", d.name):
            out.append(d.name)
    return sorted(out)


def znodes_left(cluster, topic):
    paths = [f"/brokers/topics/{topic}", f"/config/topics/{topic}", f"/admin/delete_topics/{topic}"]
    return [p for p in paths if cluster.get(p) is not None]


def wait_deleted_everywhere(cluster, topic, brokers=None, timeout=TIMEOUT_S):
    """Until the znodes are gone and no broker has a dir of the topic left."""
    brokers = brokers or list(cluster.brokers.values())

    def gone():
        left = znodes_left(cluster, topic)
        dirs = {b.id: partition_dirs(b, topic) for b in brokers}
        return not left and not any(dirs.values()) or None
    h.wait_until(gone, timeout, f"topic {topic}'s znodes and partition dirs to be gone")


# -- fixtures -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2, 3 (auto-creation off, deleted files removed after 1 s)"):
        c.start_brokers(BROKERS, extra=EXTRA)
        c.wait_controller()
    return c


def controller_broker(cluster):
    return cluster.brokers[cluster.wait_controller()]


def other_broker(cluster, than):
    return next(b for b in cluster.brokers.values() if b.id != than and b.alive())


# -- clients under load -------------------------------------------------------------

HELPER = Path(__file__).with_name("delete_load.py")


class Load:
    """delete_load.py's producer and consumer on one topic, in a process of
    their own, and what they reported."""

    def __init__(self, workdir, bootstrap, topic, partitions):
        arg = json.dumps({"bootstrap": bootstrap, "topic": topic, "partitions": partitions})
        self.proc = subprocess.Popen(["/usr/bin/python3", str(HELPER), arg], stdout=subprocess.PIPE,
                                     stderr=open(workdir / f"load-{topic}.log", "w"), text=True,
                                     stdin=subprocess.DEVNULL)
        self.counts = {"produced": 0, "consumed": 0}
        self.errors = {"producer": [], "consumer": []}
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            ev = json.loads(line)
            if ev["ev"] == "counts":
                self.counts = ev
            else:
                self.errors[ev["who"]].append((ev["code"], ev["name"]))

    def reported(self, who, codes):
        return any(code in codes for code, _ in self.errors[who])

    def finish(self):
        """Ends the process by PID (librdkafka may hang in its close)."""
        self.proc.kill()
        self.proc.wait(30)
        self.reader.join(30)


# -- the operator's deletion under load ------------------------------------------

def test_delete_topic_while_clients_produce_and_consume(cluster):
    topic = "doomed"
    cluster.create_topic(topic, partitions=3, rf=3)
    load = Load(cluster.workdir, cluster.bootstrap(), topic, 3)
    try:
        with h.step("the producer and the consumer move records"):
            h.wait_until(lambda: load.counts["produced"] > 200 and load.counts["consumed"] > 200, TIMEOUT_S,
                         "records produced and consumed before the deletion")
        with h.step("kbroker-admin delete-topic --topic doomed --wait"):
            r = cluster.admin("delete-topic", "--topic", topic, "--wait", "--timeout", TIMEOUT_S,
                              timeout=TIMEOUT_S + 30)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"Topic {topic} is marked for deletion.\n"
                                   "Note: This will have no impact if delete.topic.enable is not set to true.\n")
        with h.step("the consumer reports UNKNOWN_TOPIC_OR_PARTITION"):
            h.wait_until(lambda: load.reported("consumer", {UNKNOWN_TOPIC}), TIMEOUT_S,
                         "a consumer error UNKNOWN_TOPIC_OR_PART")
        # librdkafka reports the broker's UNKNOWN_TOPIC_OR_PARTITION as such
        # for a produce a leader refused, and as _UNKNOWN_TOPIC (-188) for
        # records it fails itself once Metadata answered the topic with it;
        # which comes first depends on what was in flight.
        with h.step("the producer reports UNKNOWN_TOPIC_OR_PARTITION"):
            h.wait_until(lambda: load.reported("producer", {UNKNOWN_TOPIC, LOCAL_UNKNOWN_TOPIC}), TIMEOUT_S,
                         "a producer error UNKNOWN_TOPIC_OR_PART or _UNKNOWN_TOPIC")
    finally:
        load.finish()
    print(f"{load.counts}; errors: producer {sorted(set(load.errors['producer']))}, "
          f"consumer {sorted(set(load.errors['consumer']))}")
    with h.step("the znodes and every broker's partition dirs are gone"):
        assert znodes_left(cluster, topic) == []
        wait_deleted_everywhere(cluster, topic)
    for b in cluster.brokers.values():
        for kind in ("recovery-point-offset-checkpoint", "replication-offset-checkpoint"):
            h.wait_until(lambda: f"{topic} " not in (b.log_dir / kind).read_text(), TIMEOUT_S,
                         f"broker {b.id}'s {kind} to drop {topic}")


def test_the_same_name_created_again_is_empty(cluster):
    topic = "doomed"
    wait_deleted_everywhere(cluster, topic)
    cluster.create_topic(topic, partitions=2, rf=3)
    with h.step("the new doomed: high watermark 0 and nothing from the beginning"):
        for p in range(2):
            leader = cluster.leader(topic, p)
            err, _, offset = h.list_offsets(leader, topic, [p])[p]
            assert (err, offset) == (NONE, 0)
        recs = h.kcat_consume(cluster.bootstrap(), topic, offset="beginning", timeout=60)
    assert recs == []
    with h.step("and takes new records from offset 0"):
        reports = h.ck_produce(h.ck_producer(cluster.bootstrap(), acks="all"),
                               [h.Rec(topic, 0, None, b"k", b"fresh", (), None)])
    assert reports[0][1] is None and reports[0][0].offset == 0, reports



def test_committed_offsets_of_a_deleted_topic_are_removed(cluster):
    from confluent_kafka import Consumer, TopicPartition
    topic, group = "with-offsets", "offsets-of-the-deleted"
    cluster.create_topic(topic, partitions=2, rf=3)
    cluster.create_topic("stays", partitions=1, rf=3)
    with h.step(f"group {group} commits offsets for {topic} and stays"):
        c = Consumer({"bootstrap.servers": cluster.bootstrap(), "group.id": group, "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition(topic, 0, 5), TopicPartition(topic, 1, 7), TopicPartition("stays", 0, 3)],
                 asynchronous=False)
        c.close()
        coordinator = h.wait_coordinator(cluster, group)
        err, got = h.fetch_offsets(coordinator, group)
        assert err == NONE and {tp: o.offset for tp, o in got.items()} == \
            {(topic, 0): 5, (topic, 1): 7, ("stays", 0): 3}, got
    with h.step(f"delete {topic}: the coordinator drops (and tombstones) its offsets"):
        r = cluster.admin("delete-topic", "--topic", topic, "--wait", "--timeout", TIMEOUT_S, timeout=TIMEOUT_S + 30)
        assert r.returncode == 0, r.stderr
        h.wait_until(lambda: set(h.fetch_offsets(coordinator, group)[1]) == {("stays", 0)}, TIMEOUT_S,
                     f"{group}'s offsets of {topic} to be gone")
    assert f"removed 2 committed offset(s) of the deleted topic {topic}" in coordinator.process.log_text()


# -- DeleteTopics ---------------------------------------------------------------

def test_kafka_python_admin_deletes_a_topic(cluster):
    import logging
    from kafka.admin import KafkaAdminClient
    from kafka.errors import UnknownTopicOrPartitionError
    logging.getLogger("kafka").setLevel(logging.ERROR)
    cluster.create_topic("kp-gone", partitions=2, rf=2)
    ka = KafkaAdminClient(bootstrap_servers=cluster.bootstrap().split(","), api_version_auto_timeout_ms=15000,
                          request_timeout_ms=(TIMEOUT_S + 15) * 1000)
    try:
        with h.step("KafkaAdminClient.delete_topics([kp-gone])"):
            resp = ka.delete_topics(["kp-gone"], timeout_ms=TIMEOUT_S * 1000)
        assert [tuple(t) for t in resp.topic_error_codes] == [("kp-gone", NONE)], resp
        # Answered once the topic znode was gone: its name is free again.
        assert znodes_left(cluster, "kp-gone") == []
        with h.step("KafkaAdminClient.delete_topics([never-was]) raises UnknownTopicOrPartitionError"):
            with pytest.raises(UnknownTopicOrPartitionError):
                ka.delete_topics(["never-was"], timeout_ms=TIMEOUT_S * 1000)
    finally:
        ka.close()
    wait_deleted_everywhere(cluster, "kp-gone")


def test_confluent_admin_deletes_topics(cluster):
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AdminClient
    cluster.create_topic("ck-gone-a", partitions=3, rf=3)
    cluster.create_topic("ck-gone-b", partitions=1, rf=1)
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
    with h.step("AdminClient.delete_topics([ck-gone-a, ck-gone-b, ck-never])"):
        futures = admin.delete_topics(["ck-gone-a", "ck-gone-b", "ck-never"], operation_timeout=TIMEOUT_S,
                                      request_timeout=TIMEOUT_S + 15)
        got = {}
        for name, f in futures.items():
            try:
                got[name] = f.result(timeout=TIMEOUT_S + 30)
            except Exception as e:  # noqa: BLE001 - the KafkaException is the answer
                got[name] = e.args[0].code()
    assert got == {"ck-gone-a": None, "ck-gone-b": None, "ck-never": KafkaError.UNKNOWN_TOPIC_OR_PART}, got
    for t in ("ck-gone-a", "ck-gone-b"):
        wait_deleted_everywhere(cluster, t)


def test_raw_delete_topics_answers_as_kafka(cluster):
    cluster.create_topic("raw-gone", partitions=2, rf=2)
    cluster.create_topic("raw-later", partitions=1, rf=3)
    ctl = controller_broker(cluster)
    with h.step("DeleteTopics to a broker that is not the controller: 41 for every topic"):
        assert delete_topics(other_broker(cluster, ctl.id), ["raw-gone", "x"]) == \
            [("raw-gone", NOT_CONTROLLER), ("x", NOT_CONTROLLER)]
    assert cluster.topic("raw-gone") is not None
    with h.step("DeleteTopics v4 (flexible) to the controller: 0 once gone, 3 for an unknown name"):
        assert delete_topics(ctl, ["raw-gone", "no-such-topic"], version=4) == \
            [("raw-gone", NONE), ("no-such-topic", UNKNOWN_TOPIC)]
    assert znodes_left(cluster, "raw-gone") == []
    with h.step("timeout_ms 0: 7 at once, and the deletion goes on"):
        assert delete_topics(ctl, ["raw-later"], timeout_ms=0, version=0) == [("raw-later", REQUEST_TIMED_OUT)]
    wait_deleted_everywhere(cluster, "raw-later")
    with h.step("the name is free again once the deletion is complete"):
        r = cluster.admin("create-topic", "--topic", "raw-later", "--partitions", 1, "--replication-factor", 1)
        assert r.returncode == 0, r.stderr


def test_a_name_given_twice_is_answered_twice_as_kafka_does(cluster):
    """Kafka 2.6's answer holds a result per requested name, repeats
    included (KafkaApis.handleDeleteTopicsRequest adds one to a
    DeletableTopicResultCollection, a multi-collection, for each name), so
    librdkafka, which matches results to names, fails such a request against
    Kafka too ("Broker returned topic T multiple times")."""
    cluster.create_topic("twice", partitions=1, rf=2)
    ctl = controller_broker(cluster)
    with h.step("DeleteTopics [twice, twice, never, never]: each answered where it was asked"):
        got = delete_topics(ctl, ["twice", "twice", "never", "never"], version=4)
    assert got == [("twice", NONE), ("twice", NONE), ("never", UNKNOWN_TOPIC), ("never", UNKNOWN_TOPIC)], got
    wait_deleted_everywhere(cluster, "twice")
    assert delete_topics(other_broker(cluster, ctl.id), ["x", "x"]) == [("x", NOT_CONTROLLER), ("x", NOT_CONTROLLER)]


# -- deletion racing the other admin requests --------------------------------------

RACE_TOPICS = 40
MOVES = {0: [3, 1], 1: [1, 3]}  # each raced topic's reassignment: broker 3 in, broker 2 out
ELECT_PREFERRED, CREATE_PARTITIONS = 43, 37


def alter_reassignments(broker, topic, moves):
    """AlterPartitionReassignments v0 for {partition: [replicas]}: its error
    codes by partition."""
    s = h.connect(broker.port, timeout=TIMEOUT_S + 15)
    try:
        body = kw.alter_reassignments_body([(topic, sorted(moves.items()))], timeout_ms=TIMEOUT_S * 1000)
        s.sendall(h.kafka_request(kw.ALTER_PARTITION_REASSIGNMENTS, 0, 7, body, flexible_header=True))
        _, _, parts = kw.parse_alter_reassignments_response(h.recv_frame(s))
        return {p: e for (_, p), (e, _) in parts.items()}
    finally:
        s.close()


def elect_preferred(broker, topic):
    """ElectLeaders v1 (preferred) for partitions 0 and 1: the top-level code."""
    frame = h.kafka_call(broker, ELECT_PREFERRED, 1, kw.elect_leaders_body({topic: [0, 1]}, timeout_ms=5000),
                         timeout=TIMEOUT_S)
    return kw.parse_elect_leaders_response(frame)[0]


def grow_to_six(broker, topic):
    """CreatePartitions v1 to 6 partitions: the frame's size (its answer may
    be any of Kafka's for a topic deleted meanwhile)."""
    body = (struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic.encode() + struct.pack(">ii", 6, -1)
            + struct.pack(">i?", 5000, False))
    return len(h.kafka_call(broker, CREATE_PARTITIONS, 1, body, timeout=TIMEOUT_S))


def create_topics_at_once(cluster, names, assignment):
    """CreateTopics for every name in one request (librdkafka's AdminClient),
    then every partition's full ISR."""
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})
    futures = admin.create_topics([NewTopic(n, num_partitions=len(assignment), replica_assignment=assignment)
                                   for n in names], operation_timeout=TIMEOUT_S, request_timeout=TIMEOUT_S + 15)
    for f in futures.values():
        f.result(timeout=TIMEOUT_S + 30)
    for n in names:
        h.wait_full_isr(cluster, n, TIMEOUT_S)


def create_race_topics(cluster, prefix):
    names = [f"{prefix}{i}" for i in range(RACE_TOPICS)]
    with h.step(f"create {RACE_TOPICS} topics {prefix}0..{prefix}{RACE_TOPICS - 1} (2 partitions, RF 2, "
                "on brokers 1 and 2) and wait for their full ISRs"):
        create_topics_at_once(cluster, names, [[1, 2], [2, 1]])
    return names


def at_once(calls):
    """Runs every (key, fn) in a thread of its own, all released together;
    {key: fn's result}.  Every call must be answered."""
    results, gate = {}, threading.Barrier(len(calls))

    def run(key, fn):
        gate.wait(TIMEOUT_S)
        try:
            results[key] = fn()
        except Exception as e:  # noqa: BLE001 - reported below
            results[key] = e
    threads = [threading.Thread(target=run, args=c, daemon=True) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT_S + 60)
    assert not any(t.is_alive() for t in threads), "a request was never answered"
    errors = {k: v for k, v in results.items() if isinstance(v, Exception)}
    assert not errors, errors
    return results


def wait_all_deleted(cluster, names):
    """Every topic's znodes (topic, config, marker) and every broker's dirs of
    it gone, and nothing left in /admin/reassign_partitions."""
    def gone():
        if any(znodes_left(cluster, n) for n in names):
            return None
        dirs = [d for b in cluster.brokers.values() for n in names for d in partition_dirs(b, n)]
        return not dirs and cluster.get("/admin/reassign_partitions") is None
    with h.step(f"wait until the {len(names)} topics are gone (znodes, markers, every broker's dirs) and "
                "/admin/reassign_partitions too"):
        try:
            h.wait_until(gone, TIMEOUT_S, "every raced topic to be deleted")
        except h.Timeout:
            stuck = {n: znodes_left(cluster, n) for n in names if znodes_left(cluster, n)}
            dirs = {b.id: [d for n in names for d in partition_dirs(b, n)] for b in cluster.brokers.values()}
            request = cluster.get_json("/admin/reassign_partitions")
            raise AssertionError(f"{len(stuck)} of {len(names)} deletions never completed: {stuck}; dirs left: "
                                 f"{dirs}; /admin/reassign_partitions: {request and request[0]}") from None


def names_work_again(cluster, names):
    """The names, created again, reassign and delete: the controller kept
    nothing of the topics deleted under them."""
    with h.step(f"the {len(names)} names created again (1 partition on brokers 1, 2)"):
        create_topics_at_once(cluster, names, [[1, 2]])
    ctl = controller_broker(cluster)
    with h.step("each moves to brokers [3, 1] (AlterPartitionReassignments) and completes"):
        for n in names:
            assert alter_reassignments(ctl, n, {0: [3, 1]}) == {0: NONE}, n
        for n in names:
            h.wait_until(lambda n=n: cluster.topic(n)["partitions"]["0"] == [3, 1] and
                         not cluster.topic(n)["adding_replicas"] and not cluster.topic(n)["removing_replicas"],
                         TIMEOUT_S, f"{n}-0 to move to [3, 1]")
    with h.step("and each is deleted again (DeleteTopics)"):
        got = at_once([(n, lambda n=n: delete_topics(ctl, [n], timeout_ms=TIMEOUT_S * 1000)) for n in names])
        assert got == {n: [(n, NONE)] for n in names}, got
    wait_all_deleted(cluster, names)


def test_deletions_racing_reassignments_all_complete(cluster):
    """AlterPartitionReassignments and DeleteTopics of the same 40 topics at
    once: every deletion completes (a topic queued for deletion abandons its
    reassignments; the deletion waits only for a topic znode write in
    flight), every replica's dir goes, and the names work again."""
    names = create_race_topics(cluster, "race-ra-")
    ctl = controller_broker(cluster)
    calls = [(("ra", n), lambda n=n: alter_reassignments(ctl, n, MOVES)) for n in names]
    calls += [(("dt", n), lambda n=n: delete_topics(ctl, [n])) for n in names]
    with h.step(f"{len(names)} AlterPartitionReassignments ({MOVES}) and {len(names)} DeleteTopics, each in "
                "a thread, released together"):
        got = at_once(calls)
    wait_all_deleted(cluster, names)
    for n in names:
        # 7 is Kafka's answer when timeout_ms passes first; it may not here.
        assert got[("dt", n)] == [(n, NONE)], got[("dt", n)]
        assert set(got[("ra", n)].values()) <= {NONE, UNKNOWN_TOPIC}, got[("ra", n)]
    names_work_again(cluster, names)


def test_deletions_racing_a_reassign_partitions_request_all_complete(cluster):
    """What kafka-reassign-partitions.sh writes, /admin/reassign_partitions
    for all 40 topics, and DeleteTopics of each at the same moment: every
    deletion completes and the request's entries go with the topics."""
    names = create_race_topics(cluster, "race-zk-")
    ctl = controller_broker(cluster)
    plan = json.dumps({"version": 1, "partitions": [{"topic": n, "partition": p, "replicas": r}
                                                    for n in names for p, r in MOVES.items()]}).encode()
    calls = [("znode", lambda: cluster.zk.create("/admin/reassign_partitions", plan))]
    calls += [(n, lambda n=n: delete_topics(ctl, [n])) for n in names]
    with h.step(f"/admin/reassign_partitions ({MOVES} for each) and {len(names)} DeleteTopics, released together"):
        got = at_once(calls)
    wait_all_deleted(cluster, names)
    assert all(got[n] == [(n, NONE)] for n in names), got


def test_deletions_racing_elections_new_partitions_and_reassignments_all_complete(cluster):
    """DeleteTopics of 40 topics while ElectLeaders, CreatePartitions (to 6)
    and AlterPartitionReassignments name them: every deletion completes,
    every request is answered, and the names work again."""
    names = create_race_topics(cluster, "race-mix-")
    ctl = controller_broker(cluster)
    ops = {"el": elect_preferred, "cp": grow_to_six, "ra": lambda b, n: alter_reassignments(b, n, MOVES),
           "dt": lambda b, n: delete_topics(b, [n])}
    calls = [((o, n), lambda o=o, n=n: ops[o](ctl, n)) for n in names for o in ops]
    with h.step(f"ElectLeaders, CreatePartitions, AlterPartitionReassignments and DeleteTopics of each of "
                f"{len(names)} topics, each in a thread, released together"):
        got = at_once(calls)
    wait_all_deleted(cluster, names)
    assert all(got[("dt", n)] == [(n, NONE)] for n in names), got
    names_work_again(cluster, names)


def test_deleting_a_topic_mid_reassignment_clears_the_reassign_request(cluster):
    """kafka-reassign-partitions.sh's request moves a topic to a broker that
    cannot catch up (frozen), then the topic is deleted: the reassignment is
    abandoned, the deletion completes, and /admin/reassign_partitions loses
    the topic's entries (it is deleted with its last one), so that the next
    --execute is not refused for good."""
    ctl = controller_broker(cluster)
    add = next(b for b in cluster.brokers.values() if b.id != ctl.id)
    o1, o2 = [i for i in BROKERS if i != add.id]
    topic = "mid-move"
    with h.step(f"create {topic} on brokers {o1} and {o2}"):
        create_topics_at_once(cluster, [topic], [[o1, o2], [o2, o1]])
    plan = json.dumps({"version": 1, "partitions": [{"topic": topic, "partition": 0, "replicas": [add.id, o1]},
                                                    {"topic": topic, "partition": 1, "replicas": [o1, add.id]}]})
    # Frozen for well under a session (the 2 s default): should it expire
    # all the same, the broker registers again and the deletion waits for
    # it, with the same end.
    with h.paused(add):
        with h.step(f"broker {add.id} frozen: /admin/reassign_partitions moves {topic} onto it; the move starts"):
            cluster.zk.create("/admin/reassign_partitions", plan.encode())
            h.wait_until(lambda: cluster.topic(topic)["adding_replicas"] == {"0": [add.id], "1": [add.id]}, TIMEOUT_S,
                         f"the reassignment of {topic} to start")
        with h.step(f"DeleteTopics {topic} (timeout_ms 0: answered 7 at once, the deletion goes on)"):
            assert delete_topics(ctl, [topic], timeout_ms=0) == [(topic, REQUEST_TIMED_OUT)]
    wait_all_deleted(cluster, [topic])


# -- delete.topic.enable=false ----------------------------------------------------

@pytest.fixture(scope="module")
def no_delete(make_cluster):
    c = make_cluster(chroot="/no-delete")
    with h.step("a second cluster (chroot /no-delete): broker 11 with delete.topic.enable=false"):
        c.start_brokers([11], extra={**EXTRA, "delete.topic.enable": "false"})
        c.wait_controller()
    return c


def test_deletion_disabled_refuses_and_removes_the_marker(no_delete):
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AdminClient
    c = no_delete
    c.create_topic("kept", partitions=2, rf=1)
    b = c.brokers[11]
    with h.step("DeleteTopics: 73 TOPIC_DELETION_DISABLED from v3, 42 INVALID_REQUEST before; no marker"):
        assert delete_topics(b, ["kept"], version=3) == [("kept", TOPIC_DELETION_DISABLED)]
        assert delete_topics(b, ["kept"], version=1) == [("kept", INVALID_REQUEST)]
        assert c.get("/admin/delete_topics/kept") is None
    with h.step("AdminClient.delete_topics([kept]) fails: INVALID_REQUEST, librdkafka sending v1"):
        admin = AdminClient({"bootstrap.servers": c.bootstrap()})
        f = admin.delete_topics(["kept"], operation_timeout=TIMEOUT_S, request_timeout=TIMEOUT_S + 15)["kept"]
        with pytest.raises(Exception) as e:
            f.result(timeout=TIMEOUT_S + 30)
        assert e.value.args[0].code() == KafkaError.INVALID_REQUEST
    with h.step("kbroker-admin delete-topic --wait: marked, then the controller removes the marker"):
        r = c.admin("delete-topic", "--topic", "kept", "--wait", "--timeout", TIMEOUT_S, timeout=TIMEOUT_S + 30)
    assert r.returncode == 7, r
    assert r.stdout.startswith("Topic kept is marked for deletion.\n")
    assert "delete.topic.enable is false" in r.stderr
    assert c.get("/admin/delete_topics/kept") is None
    assert c.topic("kept") is not None and sorted(partition_dirs(b, "kept")) == ["kept-0", "kept-1"]
    assert "delete.topic.enable is false: removing the marker" in b.process.log_text()


# -- a controller killed mid-deletion -----------------------------------------------

def live_dirs(broker, topic):
    """The topic's partition dirs not renamed for deletion."""
    return [d for d in partition_dirs(broker, topic) if not DELETE_DIR.match(d)]


def test_new_controller_finishes_a_deletion_its_predecessor_began(cluster):
    topic = "survivor"
    cluster.create_topic(topic, partitions=3, rf=3)
    h.ck_produce(h.ck_producer(cluster.bootstrap(), acks="all"),
                 [h.Rec(topic, p, None, None, b"r", (), None) for p in range(3)])
    ctl = controller_broker(cluster)
    down = other_broker(cluster, ctl.id)
    third = next(b for b in cluster.brokers.values() if b.id not in (ctl.id, down.id))
    with h.step(f"broker {down.id} (a replica of every partition) goes down"):
        down.stop()
        h.wait_until(lambda: down.id not in cluster.registered_ids(), TIMEOUT_S, f"broker {down.id} to leave")
    with h.step("kbroker-admin delete-topic --topic survivor: the live replicas go, the deletion waits"):
        r = cluster.admin("delete-topic", "--topic", topic)
        assert r.returncode == 0, r.stderr
        h.wait_until(lambda: not live_dirs(ctl, topic) and not live_dirs(third, topic), TIMEOUT_S,
                     f"brokers {ctl.id} and {third.id} to delete their replicas")
    assert cluster.topic(topic) is not None and cluster.get(f"/admin/delete_topics/{topic}") is not None
    assert len(live_dirs(down, topic)) == 3
    with h.step("meanwhile the name cannot be created again, in AdminZkClient's words, every way"):
        marked = f"Topic '{topic}' is marked for deletion."
        r = cluster.admin("create-topic", "--topic", topic, "--partitions", 1, "--replication-factor", 1)
        assert r.returncode == 3 and marked in r.stderr, r
        kt = [str(Path(h.KBROKER_ADMIN_BIN).resolve().with_name("kafka-topics.sh")), "--zookeeper", cluster.zk_connect,
              "--create", "--topic", topic, "--partitions", "1", "--replication-factor", "1"]
        r = subprocess.run(kt, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 1 and marked in r.stdout + r.stderr, r
        # TopicCommand skips a topic that exists under --if-not-exists.
        r = subprocess.run(kt + ["--if-not-exists"], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0 and not r.stdout and not r.stderr, r
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap()})  # kept alive until answered
        f = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)],
                                request_timeout=TIMEOUT_S)[topic]
        with pytest.raises(Exception) as e:
            f.result(timeout=TIMEOUT_S)
        err = e.value.args[0]
        assert err.code() == 36 and marked in err.str(), err
    with h.step(f"kill -9 the controller (broker {ctl.id}); broker {third.id} takes over"):
        old = ctl.registration()[1]
        ctl.kill9()
        cluster.wait_controller(among=[third.id])
    with h.step(f"broker {down.id} and then broker {ctl.id} start again: the deletion completes"):
        down.start()
        down.wait_registered(TIMEOUT_S)
        ctl.start()
        ctl.wait_registered(TIMEOUT_S, newer_than=old.czxid)
        wait_deleted_everywhere(cluster, topic)
    assert "deleting topic survivor" in third.process.log_text()


def test_a_leftover_delete_dir_is_removed_at_start(cluster):
    b = cluster.brokers[BROKERS[-1]]
    with h.step(f"stop broker {b.id} and leave a renamed partition dir in its log dir"):
        b.stop()
        left = b.log_dir / ("leftover-0." + "0123456789abcdef" * 2 + "-delete")
        left.mkdir()
        (left / "00000000000000000000.log").write_bytes(b"x" * 100)
    with h.step(f"start broker {b.id}: the dir is gone before it serves"):
        old = cluster.get(f"/brokers/ids/{b.id}")
        b.start()
        b.wait_registered(TIMEOUT_S, newer_than=old[1].czxid if old else None)
    assert not left.exists()
    assert f"deleted {left}" in b.process.log_text()


# -- a marked topic whose assignment no broker can read ------------------------------

def controller_lines_about(cluster, topic):
    """Every controller line any broker logged about topic."""
    return [ln for b in cluster.brokers.values() for ln in b.process.log_text().splitlines()
            if "controller:" in ln and topic in ln]


def write_unreadable_topic(cluster, topic):
    """/brokers/topics/T that is no JSON (brokers ignore it), with a
    partition state under it and a config, as a broken tool might leave."""
    cluster.zk.create(f"/brokers/topics/{topic}", b"{")
    cluster.zk.create(f"/brokers/topics/{topic}/partitions/0/state",
                      b'{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1]}',
                      makepath=True)
    cluster.zk.create(f"/config/topics/{topic}", b'{"version":1,"config":{}}', makepath=True)


def test_a_marked_unreadable_topic_is_deleted_once(cluster):
    topic = "unreadable-marked"
    with h.step(f"write an unreadable /brokers/topics/{topic}, then its deletion marker"):
        write_unreadable_topic(cluster, topic)
        h.wait_until(lambda: all(f"unreadable assignment of topic {topic}" in b.process.log_text()
                                 for b in cluster.brokers.values()) or None,
                     TIMEOUT_S, "every broker to have read (and ignored) the topic znode")
        cluster.zk.create(f"/admin/delete_topics/{topic}", b"")
    with h.step("the controller deletes its znodes and the marker, logging it a bounded number of times"):
        h.wait_until(lambda: not znodes_left(cluster, topic) or None, TIMEOUT_S,
                     f"the znodes of {topic} and its marker to be gone")
    lines = controller_lines_about(cluster, topic)
    assert 1 <= len(lines) <= 3, lines
    with h.step("the name can be created again and works"):
        cluster.create_topic(topic, partitions=1, rf=1)
        assert cluster.topic(topic) is not None


def test_kbroker_admin_deletes_an_unreadable_topic(cluster):
    topic = "unreadable-admin"
    write_unreadable_topic(cluster, topic)
    with h.step("kbroker-admin delete-topic --wait marks it (the view does not list it) and sees it gone"):
        r = cluster.admin("delete-topic", "--topic", topic, "--wait", "--timeout", TIMEOUT_S, timeout=TIMEOUT_S + 30)
    assert r.returncode == 0, r
    assert r.stdout.startswith(f"Topic {topic} is marked for deletion.\n"), r
    assert not znodes_left(cluster, topic)
    lines = controller_lines_about(cluster, topic)
    assert 1 <= len(lines) <= 3, lines
    with h.step("a topic that does not exist at all is still refused (exit 6)"):
        r = cluster.admin("delete-topic", "--topic", "never-there", timeout=TIMEOUT_S)
    assert r.returncode == 6 and "does not exist" in r.stderr, r
