"""
Scenario n: old data goes - retention by size set at runtime through
AlterConfigs, and DeleteRecords.

One broker with log.retention.check.interval.ms=1000 and
log.segment.delete.delay.ms=500 (zk-and-replication.md 4.7).

Retention: a topic gets segment.bytes=4096 and retention.bytes=10000 through
confluent-kafka's AdminClient.alter_configs (AlterConfigs v0; if the broker
refuses it, the override znode and its change notification are written with
kazoo exactly as Kafka's tools do), without a restart.  Records produced in
small batches fill many small segments; within a few retention checks the
oldest segment files are renamed to .deleted and then removed, ListOffsets
EARLIEST moves to the base offset of the first remaining segment, and what
is left is no smaller than retention.bytes.  A confluent-kafka consumer
assigned at offset 0 gets OFFSET_OUT_OF_RANGE, resets with
auto.offset.reset=earliest and receives exactly the records from the new log
start to the end.

DeleteRecords (wire-protocol.md 4.9; confluent-kafka 1.7 has no
delete_records, so raw v1 requests built with kafkawire): an offset inside
the log raises the low watermark to it and deletes the segment files wholly
below it, -1 means the high watermark, an offset past the high watermark
gets 1 OFFSET_OUT_OF_RANGE and an unknown topic 3; the low watermark
survives a restart (log-start-offset-checkpoint).
"""
import json
import time

import pytest

import kafkawire as kw
import kbharness as h

RETAINED = "retained"
TRIMMED = "trimmed"
SEGMENT_BYTES = 4096
RETENTION_BYTES = 10000
VALUE = b"r" * 300
RECORDS = 300
DELETE_DELAY_MS = 500
BROKER_CONFIG = {"log.retention.check.interval.ms": "1000",
                 "log.segment.delete.delay.ms": str(DELETE_DELAY_MS)}
DELETE_RECORDS = 21
OFFSET_OUT_OF_RANGE = 1
UNKNOWN_TOPIC_OR_PARTITION = 3


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start broker 1 (retention checked every second, files removed 0.5 s after deletion)"):
        c.start_brokers([1], extra=BROKER_CONFIG)
        c.wait_controller()
    return c


# -- helpers ---------------------------------------------------------------------

def earliest(broker, topic):
    (err, _, offset), = h.list_offsets(broker, topic, [0], timestamp=kw.EARLIEST).values()
    assert err == 0, f"ListOffsets EARLIEST of {topic}-0: error {err}"
    return offset


def latest(broker, topic):
    (err, _, offset), = h.list_offsets(broker, topic, [0], timestamp=kw.LATEST).values()
    assert err == 0, f"ListOffsets LATEST of {topic}-0: error {err}"
    return offset


def partition_files(broker, topic, pattern):
    return sorted(p.name for p in broker.partition_dir(topic, 0).glob(pattern))


def retention_settled(broker, topic):
    """(log start, segment names, sizes) once the partition holds no more
    than retention.bytes requires (without its oldest segment it would be
    below the limit), its log start is its first segment's base offset and
    no .deleted file is left; else None."""
    if partition_files(broker, topic, "*.deleted"):
        return None
    logs = partition_files(broker, topic, "*.log")
    sizes = [(broker.partition_dir(topic, 0) / n).stat().st_size for n in logs]
    start = earliest(broker, topic)
    if sum(sizes) - sizes[0] >= RETENTION_BYTES or start != int(logs[0][:20]):
        return None
    return start, logs, sizes


def produce_small_batches(bootstrap, topic, n):
    """n records of 300 bytes in batches of 5 (about 1.6 KB each)."""
    producer = h.ck_producer(bootstrap, **{"linger.ms": 0, "batch.num.messages": 5})
    recs = [h.Rec(topic, 0, None, f"k{i}".encode(), VALUE, (), None) for i in range(n)]
    reports = h.ck_produce(producer, recs, flush_every=5)
    failed = [e for _, e in reports if e is not None]
    assert not failed, f"{len(failed)} records not delivered, first: {failed[0]}"


def alter_topic_configs(cluster, topic, configs):
    """AlterConfigs through confluent-kafka; falls back to what Kafka's
    tools write in ZooKeeper when the broker does not take it.  Returns how
    the override was set."""
    from confluent_kafka.admin import AdminClient, ConfigResource
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap(), "socket.timeout.ms": 30000})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config=configs)
    try:
        for f in admin.alter_configs([res], request_timeout=30).values():
            f.result(timeout=60)
        return "AlterConfigs"
    except Exception as e:  # noqa: BLE001 - fall back, saying why
        print(f"    AlterConfigs failed ({e}); writing /config/topics/{topic} and a change notification")
    cluster.zk.set(f"/config/topics/{topic}",
                   json.dumps({"version": 1, "config": configs}).encode())
    cluster.zk.create("/config/changes/config_change_",
                      json.dumps({"version": 2, "entity_path": f"topics/{topic}"}).encode(),
                      sequence=True, makepath=True)
    return "ZooKeeper"


def described(cluster, topic, key):
    """The value DescribeConfigs gives for one topic config key."""
    from confluent_kafka.admin import AdminClient, ConfigResource
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap(), "socket.timeout.ms": 10000})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    for f in admin.describe_configs([res], request_timeout=10).values():
        return f.result(timeout=20)[key].value
    return None


def delete_records(broker, partitions_by_topic, timeout_ms=10000):
    """Raw DeleteRecords v1: {(topic, partition): (error, low_watermark)}."""
    body = kw.array(list(partitions_by_topic.items()), lambda t: kw.string(t[0]) + kw.array(
        t[1], lambda p: kw.i32(p[0]) + kw.i64(p[1])))
    body += kw.i32(timeout_ms)
    s = h.connect(broker.port)
    try:
        s.sendall(h.kafka_request(DELETE_RECORDS, 1, 7, body))
        _, r = kw.response_body(h.recv_frame(s))
    finally:
        s.close()
    assert r.i32() == 0, "throttle_time_ms"
    out = {}
    for _ in range(r.i32()):
        topic = r.string()
        for _ in range(r.i32()):
            p = r.i32()
            low_watermark = r.i64()
            out[(topic, p)] = (r.i16(), low_watermark)
    assert r.left() == 0, f"{r.left()} trailing bytes after the DeleteRecords v1 response"
    return out


def consume_from(bootstrap, topic, offset, timeout=60):
    """confluent-kafka assigned at an explicit offset with
    auto.offset.reset=earliest, until EOF: the offsets received."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "kbroker-tests-retention",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "auto.offset.reset": "earliest", "socket.timeout.ms": 20000})
    offsets = []
    deadline = time.monotonic() + timeout
    try:
        c.assign([TopicPartition(topic, 0, offset)])
        while True:
            if time.monotonic() > deadline:
                raise h.Timeout(f"consumer from {topic}-0@{offset}: no EOF after {timeout}s, got {len(offsets)}")
            m = c.poll(0.5)
            if m is None:
                continue
            err = m.error()
            if err is not None and err.code() == KafkaError._PARTITION_EOF:
                return offsets
            if err is not None:
                raise AssertionError(f"consumer error: {err}")
            offsets.append(m.offset())
    finally:
        c.close()


# -- retention ---------------------------------------------------------------------

def test_retention_bytes_set_at_runtime_deletes_old_segments(cluster):
    broker = cluster.brokers[1]
    cluster.create_topic(RETAINED, assignment="1")
    with h.step(f"alter {RETAINED}: segment.bytes={SEGMENT_BYTES}, retention.bytes={RETENTION_BYTES}"):
        how = alter_topic_configs(cluster, RETAINED, {"segment.bytes": str(SEGMENT_BYTES),
                                                      "retention.bytes": str(RETENTION_BYTES)})
        print(f"    override set through {how}")
    # The override reaches the broker through its config change watch; the
    # broker's DescribeConfigs answers from the same view its logs use.
    with h.step("wait until the broker describes the overrides"):
        h.wait_until(lambda: described(cluster, RETAINED, "segment.bytes") == str(SEGMENT_BYTES)
                     and described(cluster, RETAINED, "retention.bytes") == str(RETENTION_BYTES),
                     30, f"DescribeConfigs of {RETAINED} to show the overrides")
    with h.step(f"produce {RECORDS} records of {len(VALUE)} bytes in batches of 5"):
        produce_small_batches(cluster.bootstrap(), RETAINED, RECORDS)
    assert latest(broker, RETAINED) == RECORDS

    with h.step("wait for retention: ListOffsets EARLIEST moves past 0"):
        h.wait_until(lambda: earliest(broker, RETAINED), 30, f"the log start of {RETAINED}-0 to move")
    with h.step("wait until retention has caught up and the deleted files are gone (removed 0.5 s after)"):
        start, logs, sizes = h.wait_until(lambda: retention_settled(broker, RETAINED), 30,
                                          f"{RETAINED}-0 to hold no more than retention.bytes needs, "
                                          f"without .deleted files")
    print(f"    log start {start}; segments left {logs} of {sizes} bytes")
    assert len(logs) >= 2, f"retention should leave a few small segments, left {logs}"
    assert sum(sizes) >= RETENTION_BYTES, f"retention deleted too much: {sizes} < {RETENTION_BYTES}"
    assert max(sizes) <= SEGMENT_BYTES, f"segment.bytes={SEGMENT_BYTES} not applied: {sizes}"

    with h.step("consumer assigned at offset 0 resets to the log start (auto.offset.reset=earliest)"):
        got = consume_from(cluster.bootstrap(), RETAINED, 0)
    assert got == list(range(start, RECORDS)), \
        f"expected offsets {start}..{RECORDS - 1}, got {got[:3]}..{got[-3:]} ({len(got)})"


# -- DeleteRecords -------------------------------------------------------------------

def test_delete_records_moves_the_log_start(cluster):
    broker = cluster.brokers[1]
    cluster.create_topic(TRIMMED, assignment="1", configs=[f"segment.bytes={SEGMENT_BYTES}"])
    with h.step(f"produce {RECORDS} records into {TRIMMED}"):
        produce_small_batches(cluster.bootstrap(), TRIMMED, RECORDS)
    first_logs = partition_files(broker, TRIMMED, "*.log")
    assert len(first_logs) > 4, f"expected several segments, got {first_logs}"
    cut = int(first_logs[3][:20]) + 2  # inside the fourth segment

    with h.step(f"DeleteRecords {TRIMMED}-0 below {cut}"):
        got = delete_records(broker, {TRIMMED: [(0, cut)], "no-such-topic": [(0, 5)]})
    assert got[(TRIMMED, 0)] == (0, cut), f"DeleteRecords {TRIMMED}-0 to {cut}: {got}"
    assert got[("no-such-topic", 0)][0] == UNKNOWN_TOPIC_OR_PARTITION, got
    assert earliest(broker, TRIMMED) == cut
    with h.step("the three segments wholly below it go from disk"):
        h.wait_until(lambda: partition_files(broker, TRIMMED, "*.log") == first_logs[3:]
                     and not partition_files(broker, TRIMMED, "*.deleted"), 30,
                     f"segments {first_logs[:3]} to be deleted")

    with h.step("a lower offset leaves it; past the high watermark is OFFSET_OUT_OF_RANGE"):
        assert delete_records(broker, {TRIMMED: [(0, 1)]})[(TRIMMED, 0)] == (0, cut)
        err, _ = delete_records(broker, {TRIMMED: [(0, RECORDS + 1)]})[(TRIMMED, 0)]
        assert err == OFFSET_OUT_OF_RANGE
    assert consume_from(cluster.bootstrap(), TRIMMED, 0) == list(range(cut, RECORDS))

    with h.step("restart the broker: the low watermark is kept"):
        broker.stop()
        broker.start()
        broker.wait_registered()
        cluster.wait_topic_ready(TRIMMED)
    assert earliest(broker, TRIMMED) == cut

    with h.step("DeleteRecords -1 (the high watermark)"):
        got = delete_records(broker, {TRIMMED: [(0, -1)]})
    assert got[(TRIMMED, 0)] == (0, RECORDS), got
    assert earliest(broker, TRIMMED) == RECORDS
    assert consume_from(cluster.bootstrap(), TRIMMED, 0) == []
