"""
Scenario y: timestamps, offsets and sequence numbers at the ends of their
ranges (issue 8, item 8).

Every value in a record batch header is the client's choice.  Produce
requests crafted by hand send batches whose timestamps are INT64_MIN and
INT64_MAX (and records whose timestamp deltas run past INT64_MAX), an
idempotent producer whose last timestamp is INT64_MIN, and one whose
sequence numbers wrap from INT32_MAX to 0.  The broker runs under UBSan,
which aborts on a signed overflow: the roll check (a batch's timestamp minus
its segment's first one), the producer-state expiry (now minus a producer's
last timestamp) and the ListOffsets walk (base timestamp plus a record's
delta) each used to overflow here.  Every batch is acknowledged with the
offsets that follow, the sequence rules hold across the wrap, ListOffsets
answers (a record time past INT64_MAX counts as INT64_MAX), the broker stops
cleanly (writing its producer snapshot), and after
a restart every record reads back.
"""
import time

import pytest

import kafkawire as kw
import kbharness as h

TOPIC = "extreme"
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
INT32_MAX = (1 << 31) - 1
NOW = int(time.time() * 1000)
OK, OUT_OF_ORDER_SEQUENCE = 0, 45


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start broker 1"):
        c.start_brokers([1], fixed_ports=True)
        c.wait_controller()
    c.create_topic(TOPIC, partitions=1, rf=1)
    return c


def batch(tag, timestamps, base_ts=None, max_ts=None, **kw_):
    recs = [(f"{tag}-{i}".encode(), b"v", (), ts) for i, ts in enumerate(timestamps)]
    return kw.build_batch(recs, base_timestamp=timestamps[0] if base_ts is None else base_ts,
                          max_timestamp=max_ts, **kw_)


# (name, batch bytes, expected error); in produce order.
BATCHES = [
    ("now", batch("now", [NOW, NOW + 1]), OK),
    ("int64-min", batch("min", [INT64_MIN, INT64_MIN + 1]), OK),
    # The second record's timestamp, base + 5, is past INT64_MAX.
    ("past-int64-max", batch("max", [INT64_MAX - 1, INT64_MAX + 4], max_ts=INT64_MAX), OK),
    ("idempotent-int64-min", batch("pmin", [INT64_MIN], producer_id=4242, producer_epoch=0, base_sequence=0), OK),
    # Sequences INT32_MAX - 1, INT32_MAX, 0; the next batch starts at 1.
    ("sequence-wraps", batch("wrap", [NOW] * 3, producer_id=4243, producer_epoch=0, base_sequence=INT32_MAX - 1), OK),
    ("after-the-wrap", batch("after", [NOW], producer_id=4243, producer_epoch=0, base_sequence=1), OK),
    ("out-of-order", batch("ooo", [NOW], producer_id=4243, producer_epoch=0, base_sequence=5),
     OUT_OF_ORDER_SEQUENCE),
    ("now-again", batch("again", [NOW + 2]), OK),
]


@pytest.fixture(scope="module")
def produced(cluster):
    broker = cluster.brokers[1]
    s = h.connect(broker.port, timeout=30)
    out = {}
    try:
        with h.step(f"{len(BATCHES)} crafted Produce v7 requests"):
            for corr, (name, data, _) in enumerate(BATCHES, 1):
                s.sendall(h.kafka_request(0, 7, corr, kw.produce_body([(TOPIC, [(0, data)])], acks=1)))
                got_corr, parts, _, _ = kw.parse_produce_response(h.recv_frame(s), 7)
                assert got_corr == corr
                out[name] = parts[(TOPIC, 0)]
    finally:
        s.close()
    print(out)
    return out


def test_every_batch_gets_kafkas_answer_and_the_next_offsets(cluster, produced):
    wrong = {name: produced[name].error for name, _, err in BATCHES if produced[name].error != err}
    assert not wrong, f"wrong error codes: {wrong}; whole answer {produced}"
    next_offset = 0
    for name, data, err in BATCHES:
        if err != OK:
            assert produced[name].base_offset == -1, (name, produced[name])
            continue
        assert produced[name].base_offset == next_offset, (name, produced[name], next_offset)
        next_offset += kw.parse_batches(data)[0][0].count
    assert cluster.brokers[1].alive()


def test_list_offsets_by_extreme_timestamps(cluster, produced):
    broker = cluster.brokers[1]
    base = {name: produced[name].base_offset for name, _, _ in BATCHES}
    # The second record's base + delta is past INT64_MAX: the sum saturates,
    # so that record is the first at INT64_MAX.
    got = h.list_offsets(broker, TOPIC, [0], timestamp=INT64_MAX)[0]
    assert got == (0, INT64_MAX, base["past-int64-max"] + 1), got
    got = h.list_offsets(broker, TOPIC, [0], timestamp=0)[0]
    assert got == (0, NOW, base["now"]), got
    got = h.list_offsets(broker, TOPIC, [0], timestamp=NOW + 2)[0]
    assert got[0] == 0 and got[2] == base["past-int64-max"], got
    assert broker.alive() and not broker.process.sanitizer_report()


def test_clean_stop_and_everything_reads_back(cluster, produced):
    broker = cluster.brokers[1]
    _, old = broker.registration()
    with h.step("stop broker 1 (writes the producer snapshot) and start it again"):
        assert broker.stop() == 0, broker.process.tail(30)
        assert not broker.process.sanitizer_report(), broker.process.sanitizer_report()
        broker.start()
        broker.wait_registered(30, newer_than=old.czxid)
        cluster.wait_topic_ready(TOPIC, 60)
    recs, _ = h.ck_consume(cluster.bootstrap(), [(TOPIC, 0)])
    want = [r.key for name, data, err in BATCHES if err == OK for r in kw.parse_batches(data, decode=True)[0][0].records]
    assert [r.key for r in recs] == want
    assert [r.offset for r in recs] == list(range(len(want)))
