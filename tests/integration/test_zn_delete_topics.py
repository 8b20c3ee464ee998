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
    timeout_ms 0 (the deletion goes on), and the flexible v4 encoding;
  * a second cluster (its own chroot) runs with delete.topic.enable=false:
    DeleteTopics is refused (73 from v3, 42 before) and writes nothing, and
    a marker kbroker-admin writes is removed by the controller, the topic
    kept;
  * the controller is killed (kill -9) in the middle of a deletion, made
    deterministic by a replica's broker being down: the deletion waits for
    it, the new controller takes it over and finishes it once the broker is
    back, and a broker restarted with a leftover -delete dir removes it
    before loading its logs.
"""
import json
import re
import struct
import subprocess
import threading
from pathlib import Path

import pytest

import kbharness as h

BROKERS = [1, 2, 3]
EXTRA = {"auto.create.topics.enable": "false", "log.segment.delete.delay.ms": "1000",
         "offsets.topic.replication.factor": "3"}
TIMEOUT_S = 60
DELETE_DIR = re.compile(r"^(?P<topic>.+)-(?P<partition>\d+)\.[0-9a-f]{32}-delete$")

NONE, UNKNOWN_TOPIC, REQUEST_TIMED_OUT, NOT_CONTROLLER = 0, 3, 7, 41
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
        s.sendall(h.kafka_request(20, version, 7, delete_topics_body(names, timeout_ms, version)))
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
            r = cluster.admin("delete-topic", "--topic", topic, "--wait", "--timeout", TIMEOUT_S)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"Topic {topic} is marked for deletion.\n"
                                   "Note: This will have no impact if delete.topic.enable is not set to true.\n")
        with h.step("both clients report UNKNOWN_TOPIC_OR_PARTITION"):
            h.wait_until(lambda: load.reported("producer", {UNKNOWN_TOPIC}), TIMEOUT_S,
                         "a producer error UNKNOWN_TOPIC_OR_PART")
            h.wait_until(lambda: load.reported("consumer", {UNKNOWN_TOPIC}), TIMEOUT_S,
                         "a consumer error UNKNOWN_TOPIC_OR_PART")
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
