"""
Scenario k: Produce requests crafted by hand over a raw socket get Kafka's
error code per partition (wire-protocol.md sections 4.3 and 5.10).

One Produce v7 names a topic that does not exist and, for a topic whose six
partitions all live on broker 1: two good batches, a batch with a wrong
CRC-32C (2 CORRUPT_MESSAGE), one with magic 1 (87 INVALID_RECORD, or 2), one
larger than max.message.bytes (10 MESSAGE_TOO_LARGE), a partition that does
not exist (3 UNKNOWN_TOPIC_OR_PARTITION) and, last in the frame, a batch whose
length field runs past the end of the frame (2 or 87).  The good partitions
are appended and the bad ones are not.  A Produce v2 gets 35
UNSUPPORTED_VERSION on every partition and acks=5 gets 21
INVALID_REQUIRED_ACKS on every partition, appending nothing.  The connection
stays usable, and the broker keeps serving other clients (kcat -L, produce
and consume).
"""
import time

import pytest

import kafkawire as kw
import kbharness as h

TOPIC = "crafted"
PARTITIONS = 6
DEFAULT_MAX_MESSAGE_BYTES = 1048588


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2, 3"):
        c.start_brokers([1, 2, 3])
        c.wait_controller()
    c.create_topic(TOPIC, assignment=",".join(["1"] * PARTITIONS))
    return c


@pytest.fixture(scope="module")
def broker(cluster):
    return cluster.brokers[1]


NOW = int(time.time() * 1000)


def good_batch(tag):
    return kw.build_batch([(f"{tag}-0".encode(), b"v0"), (f"{tag}-1".encode(), b"v1", [("h", b"x")]),
                           (f"{tag}-2".encode(), b"v2")], base_timestamp=NOW)


def bad_crc_batch():
    right = good_batch("badcrc")
    crc = int.from_bytes(right[17:21], "big")
    return kw.build_batch([(b"badcrc", b"v")], base_timestamp=NOW, crc=crc ^ 0x5A5A5A5A)


def oversize_batch():
    filler = b"0123456789abcdef" * (55_000 // 16)
    b = kw.build_batch([(f"big-{i}".encode(), filler) for i in range(20)], base_timestamp=NOW)
    assert len(b) > DEFAULT_MAX_MESSAGE_BYTES
    return b


def past_the_frame_batch():
    """A batch whose batch_length claims 100 bytes more than it has."""
    real = kw.build_batch([(b"pastframe", b"v")], base_timestamp=NOW)
    return kw.build_batch([(b"pastframe", b"v")], base_timestamp=NOW,
                          batch_length=len(real) - kw.LOG_OVERHEAD + 100)


def ends(broker):
    got = h.list_offsets(broker, TOPIC, list(range(PARTITIONS)))
    assert all(v[0] == 0 for v in got.values()), got
    return {p: v[2] for p, v in got.items()}


def still_served(cluster, broker):
    v = h.kcat_view(h.kcat_metadata(broker.bootstrap))
    assert TOPIC in v["topics"] and sorted(v["brokers"]) == sorted(cluster.brokers), v
    assert broker.alive()


def produce(sock, corr, topic_data, version=7, acks=1):
    sock.sendall(h.kafka_request(0, version, corr, kw.produce_body(topic_data, acks=acks, version=version)))
    got_corr, parts, order, throttle = kw.parse_produce_response(h.recv_frame(sock), version)
    assert got_corr == corr and throttle == 0, (got_corr, throttle)
    asked = [(t, p) for t, ps in topic_data for p, _ in ps]
    assert sorted(order) == sorted(asked), f"the response names {order}, the request {asked}"
    return parts


def test_crc32c_check_value():
    assert kw.crc32c(b"123456789") == 0xE3069283


def test_one_request_many_defects_each_partition_gets_its_own_error(cluster, broker):
    bystander = h.connect(broker.port)
    s = h.connect(broker.port, timeout=30)
    topic_data = [
        ("no-such-topic", [(0, good_batch("nosuch"))]),
        (TOPIC, [(0, good_batch("good0")),
                 (1, bad_crc_batch()),
                 (2, kw.build_batch([(b"magic1", b"v")], base_timestamp=NOW, magic=1)),
                 (5, good_batch("good5")),
                 (3, oversize_batch()),
                 (99, good_batch("p99")),
                 (4, past_the_frame_batch())]),  # last: its length points past the frame
    ]
    with h.step("Produce v7 with one defect per partition"):
        parts = produce(s, 71, topic_data)
    print({k: v for k, v in parts.items()})
    expected = {("no-such-topic", 0): {3}, (TOPIC, 0): {0}, (TOPIC, 1): {2}, (TOPIC, 2): {87, 2},
                (TOPIC, 5): {0}, (TOPIC, 3): {10}, (TOPIC, 99): {3}, (TOPIC, 4): {2, 87}}
    wrong = {k: parts[k].error for k, codes in expected.items() if parts[k].error not in codes}
    assert not wrong, f"wrong error codes {wrong}; expected {expected}; whole answer {parts}"
    for p in (0, 5):
        assert parts[(TOPIC, p)][1:] == (0, -1, 0), \
            f"partition {p}: base_offset 0, log_append_time -1 (CreateTime), log_start_offset 0 expected: {parts}"
    bad_offsets = {k: v.base_offset for k, v in parts.items() if v.error and v.base_offset != -1}
    assert not bad_offsets, f"partitions with an error must answer base_offset -1: {bad_offsets}"

    assert ends(broker) == {0: 3, 1: 0, 2: 0, 3: 0, 4: 0, 5: 3}
    # On disk: the batch as sent, with only the base offset and the partition
    # leader epoch rewritten (wire-protocol.md section 5.9).
    sent = dict(topic_data[1][1])[0]
    stored = broker.segment(TOPIC, 0).read_bytes()
    epoch = cluster.state(TOPIC, 0)["leader_epoch"]
    assert len(stored) == len(sent) and stored[16:] == sent[16:], "the stored batch differs beyond its header"
    assert kw.parse_batches(stored)[0][0][2:5] == (0, len(sent) - kw.LOG_OVERHEAD, epoch)
    recs = h.kcat_consume(cluster.bootstrap(), TOPIC, partition=0)
    assert [(r.offset, r.key, r.value, r.headers, r.timestamp) for r in recs] == [
        (0, b"good0-0", b"v0", (), NOW), (1, b"good0-1", b"v1", (("h", b"x"),), NOW + 1),
        (2, b"good0-2", b"v2", (), NOW + 2)], recs

    # The same connection and another one still work.
    for sock, corr in ((s, 72), (bystander, 73)):
        sock.sendall(h.kafka_request(18, 0, corr))
        assert h.parse_apiversions_v0(h.recv_frame(sock))[:2] == (corr, 0)
    s.close()
    bystander.close()
    still_served(cluster, broker)


def test_produce_v2_gets_unsupported_version_per_partition(cluster, broker):
    before = ends(broker)
    s = h.connect(broker.port)
    legacy = kw.legacy_message_set([(b"old-k", b"old-v")], magic=1)
    with h.step("Produce v2 with magic-1 message sets for partitions 0 and 1"):
        parts = produce(s, 21, [(TOPIC, [(0, legacy), (1, legacy)])], version=2)
    assert {k: (v.error, v.base_offset) for k, v in parts.items()} == \
           {(TOPIC, 0): (35, -1), (TOPIC, 1): (35, -1)}, parts
    s.sendall(h.kafka_request(18, 0, 22))
    assert h.parse_apiversions_v0(h.recv_frame(s))[:2] == (22, 0)
    s.close()
    assert ends(broker) == before
    still_served(cluster, broker)


def test_acks_5_gets_invalid_required_acks_per_partition(cluster, broker):
    before = ends(broker)
    s = h.connect(broker.port)
    with h.step("Produce v7 with acks=5 and good batches for partitions 0 and 5"):
        parts = produce(s, 51, [(TOPIC, [(0, good_batch("acks5")), (5, good_batch("acks5"))])], acks=5)
    assert {k: (v.error, v.base_offset) for k, v in parts.items()} == \
           {(TOPIC, 0): (21, -1), (TOPIC, 5): (21, -1)}, parts
    s.close()
    assert ends(broker) == before
    still_served(cluster, broker)


def test_broker_keeps_serving_produce_and_fetch_after_the_crafted_requests(cluster, broker, tmp_path):
    path = tmp_path / "after.txt"
    path.write_text("after-crafted\n")
    h.kcat_produce(cluster.bootstrap(), TOPIC, path, key_delim=None, partition=1)
    recs = h.kcat_consume(cluster.bootstrap(), TOPIC, partition=1)
    assert [(r.offset, r.value) for r in recs] == [(0, b"after-crafted")], recs
    still_served(cluster, broker)
