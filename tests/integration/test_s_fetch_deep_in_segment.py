"""
Scenario s: a Fetch answered from deep inside a segment costs no more memory
than its own encoded bytes.

The answer to a Fetch is encoded fields with record ranges of segment files
between them, queued as libevent file segments for sendfile.  libevent 2.1
sizes the chain it allocates for bytes added right after a file segment from
that segment's end position in its file, rounded up to a power of two: 128
MiB for a range 100 MB into a segment, close to 1 GiB near the end of a
default 1 GiB segment, per answer.  The runbook fills one partition with
about 100 MB (one segment), then asks for its last batch together with a
second partition, so that encoded bytes follow the deep range, and reads the
broker's peak virtual size (VmPeak in /proc/PID/status) before and after.
The answer itself is about 1 MB of sendfile plus a few dozen bytes; the
bound below leaves room for allocator noise and stays eight times under the
128 MiB the old code took.
"""
import pytest

import kafkawire as kw
import kbharness as h

TOPIC = "deep"
FILL_BYTES = 100 * 1024 * 1024
VALUE = b"d" * 1000
RECORDS_PER_BATCH = 1000  # about 1 MB per batch, under max.message.bytes
PEAK_GROWTH_LIMIT = 16 * 1024 * 1024


@pytest.fixture(scope="module")
def broker(make_cluster):
    c = make_cluster()
    with h.step("start broker 1"):
        c.start_brokers([1])
        c.wait_controller()
    c.create_topic(TOPIC, assignment="1,1")
    return c.brokers[1]


def vm_peak(broker):
    with open(f"/proc/{broker.process.pid}/status") as f:
        for line in f:
            if line.startswith("VmPeak:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmPeak in /proc/PID/status")


def fill_partition(broker, partition, nbytes):
    """Appends the same ~1 MB batch until the partition holds nbytes; the
    broker assigns offsets, so one encoded batch serves every request.
    Returns the base offset of the last batch."""
    batch = kw.build_batch([(f"k{i}".encode(), VALUE) for i in range(RECORDS_PER_BATCH)])
    s = h.connect(broker.port, timeout=60)
    last = None
    try:
        for n in range(nbytes // len(batch) + 1):
            body = kw.produce_body([(TOPIC, [(partition, batch)])], acks=1)
            s.sendall(h.kafka_request(0, 7, n, body))
            _, parts, _, _ = kw.parse_produce_response(h.recv_frame(s))
            got = parts[(TOPIC, partition)]
            assert got.error == 0, f"produce {n} answered error {got.error}"
            last = got.base_offset
    finally:
        s.close()
    return last


def test_fetch_100MB_into_a_segment_allocates_only_its_own_bytes(broker):
    with h.step(f"fill {TOPIC}-0 with {FILL_BYTES >> 20} MB in one segment"):
        last = fill_partition(broker, 0, FILL_BYTES)
    segs = broker.segments(TOPIC, 0)
    assert len(segs) == 1 and segs[0].stat().st_size >= FILL_BYTES, segs
    before = vm_peak(broker)
    with h.step("Fetch the last batch of partition 0 and the start of partition 1"):
        s = h.connect(broker.port, timeout=30)
        body = kw.fetch_v4_body([(TOPIC, [(0, last, 1 << 20), (1, 0, 1 << 20)])], max_wait_ms=0, min_bytes=0)
        s.sendall(h.kafka_request(1, 4, 77, body))
        corr, _, parts = kw.parse_fetch_v4_response(h.recv_frame(s))
        s.close()
    after = vm_peak(broker)
    assert corr == 77
    p0, p1 = parts[(TOPIC, 0)], parts[(TOPIC, 1)]
    assert p0.error == 0 and p1.error == 0, parts
    batches, _ = kw.parse_batches(p0.records)
    assert batches and batches[0].base_offset == last, [b.base_offset for b in batches]
    print(f"VmPeak {before >> 10} kB -> {after >> 10} kB (+{(after - before) >> 10} kB) for an answer "
          f"of {len(p0.records)} record bytes from {segs[0].stat().st_size >> 20} MB into the segment")
    assert after - before <= PEAK_GROWTH_LIMIT, \
        f"the broker's peak virtual size grew by {(after - before) >> 20} MiB for one Fetch answer"
