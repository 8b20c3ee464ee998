"""
Scenario w: the disk holding the logs fills up (issue 8, item 3).

Broker 1's log.dirs is a 2 MiB tmpfs, with log.segment.bytes=1024 (every
batch of 1.5 KB records rolls a segment) and log.index.interval.bytes=1.  A
confluent-kafka producer (acks=1, no retries) writes until deliveries fail:
every failure is KAFKA_STORAGE_ERROR (56).  256 KiB set aside at the start
are then freed for one more record, and a filler file takes the rest, so
that a Produce crafted by hand has to roll the segment holding that record
on a full disk: it gets 56 too.  The broker stays up (it used to die of
SIGBUS, exit 135, writing an index entry through its memory map into a hole
of the full filesystem), keeps answering Metadata, and serves every
acknowledged record.  Once the filler is deleted, producing works again and
nothing acknowledged before is missing.

The tmpfs is mounted before the broker starts and unmounted after it stops,
whatever the outcome (the test runs as root, as scripts/test.sh does).
"""
import os
import time

import pytest

import kafkawire as kw
import kbharness as h

TOPIC = "full"
DISK_SIZE = "2m"
VALUE = b"x" * 1500
STORAGE_ERROR = 56
OUT_OF_ORDER = 45
MAX_ROUNDS = 200  # 2 MiB / ~16 KiB per rolled record: the disk is full long before


@pytest.fixture(scope="module")
def full(make_cluster):
    c = make_cluster()
    b = c.add_broker(1, metrics=True, extra={"log.segment.bytes": "1024", "log.index.interval.bytes": "1"})
    h.mount_tmpfs(b.log_dir, DISK_SIZE)
    state = {"acked": [], "filler": b.log_dir / "filler", "reserve": b.log_dir / "reserve"}
    try:
        with h.step(f"start broker 1 with its log dir on a {DISK_SIZE} tmpfs"):
            b.start()
            b.wait_registered(30)
            c.wait_controller()
        c.create_topic(TOPIC, assignment="1")
        # Set aside now, freed at the end: room enough to produce again.
        state["reserve"].write_bytes(b"\0" * (256 << 10))
        yield c, b, state
        rc = b.stop()
        assert rc == 0, f"broker 1 exited with status {rc} on SIGTERM"
    finally:
        b.stop()
        h.unmount(b.log_dir)


def produce_round(cluster, i, n=4):
    p = h.ck_producer(cluster.bootstrap(), retries=0, linger_ms=0, message_timeout_ms=30000)
    recs = [h.Rec(TOPIC, 0, None, f"r{i}-{j}".encode(), VALUE, (), None) for j in range(n)]
    return h.ck_produce(p, recs)


def raw_produce(broker, corr):
    s = h.connect(broker.port, timeout=30)
    try:
        batch = kw.build_batch([(b"raw", VALUE)], base_timestamp=int(time.time() * 1000))
        s.sendall(h.kafka_request(0, 7, corr, kw.produce_body([(TOPIC, [(0, batch)])], acks=1)))
        _, parts, _, _ = kw.parse_produce_response(h.recv_frame(s), 7)
    finally:
        s.close()
    return parts[(TOPIC, 0)]


def consume_all(cluster):
    recs, _ = h.ck_consume(cluster.bootstrap(), [(TOPIC, 0)])
    return {(r.offset, r.key, r.value) for r in recs}


def test_a_full_disk_gives_storage_errors_and_the_broker_stays_up(full):
    cluster, broker, state = full
    errors = []
    with h.step("confluent-kafka produces 1.5 KB records until deliveries fail"):
        for i in range(MAX_ROUNDS):
            for rec, err in produce_round(cluster, i):
                if err is None:
                    state["acked"].append(rec)
                else:
                    errors.append(err)
            assert broker.alive(), f"broker died (status {broker.process.proc.returncode}):\n{broker.process.tail(20)}"
            if errors:
                break
    print(f"{len(state['acked'])} records acknowledged before the disk filled; errors: {set(map(str, errors))}")
    assert state["acked"] and errors, f"the disk never filled: {len(state['acked'])} records acknowledged"
    assert {e.code() for e in errors} == {STORAGE_ERROR}, [str(e) for e in errors]
    # Room for one more record, so that the active segment holds a batch:
    # the next append must roll it, and the roll writes index entries.
    os.unlink(state["reserve"])
    with h.step("one more record once 256 KiB are free"):
        reports = produce_round(cluster, "one", n=1)
    assert all(err is None for _, err in reports), [str(e) for _, e in reports]
    state["acked"] += [r for r, _ in reports]
    with h.step("a filler file takes the rest of the tmpfs"):
        h.fill_rest(state["filler"])
    with h.step("Produce crafted by hand on the full disk"):
        for corr in range(1, 4):
            got = raw_produce(broker, corr)
            assert got.error == STORAGE_ERROR and got.base_offset == -1, got
    assert broker.alive(), f"broker died (status {broker.process.proc.returncode}):\n{broker.process.tail(20)}"
    h.kcat_metadata(broker.bootstrap)  # still answers
    values = broker.metrics()
    assert h.metric(values, "kbroker_log_batches_appended_total") >= len(state["acked"]) / 4


def test_every_acknowledged_record_is_served_while_the_disk_is_full(full):
    cluster, broker, state = full
    assert state["filler"].exists(), "the previous scenario left the disk full"
    with h.step("read the partition back with confluent-kafka"):
        got = consume_all(cluster)
    want = {(r.offset, r.key, r.value) for r in state["acked"]}
    assert want <= got, f"missing acknowledged records: {sorted(want - got)[:5]}"
    assert len(got) == len(want), f"read {len(got)} records, {len(want)} were acknowledged"


def idempotent_produce(broker, producer_id, sequence):
    """One record of an idempotent producer (epoch 0) in a raw Produce v7:
    (error, base offset, the Rec it would be)."""
    key = b"idem-%d" % sequence
    batch = kw.build_batch([(key, VALUE)], base_timestamp=int(time.time() * 1000),
                           producer_id=producer_id, producer_epoch=0, base_sequence=sequence)
    s = h.connect(broker.port, timeout=30)
    try:
        s.sendall(h.kafka_request(0, 7, sequence + 1, kw.produce_body([(TOPIC, [(0, batch)])], acks=1)))
        _, parts, _, _ = kw.parse_produce_response(h.recv_frame(s), 7)
    finally:
        s.close()
    got = parts[(TOPIC, 0)]
    return got.error, got.base_offset, h.Rec(TOPIC, 0, got.base_offset, key, VALUE, (), None)


def test_a_pipelined_idempotent_producer_gets_storage_errors_not_out_of_order(full):
    """An idempotent producer keeps up to 5 batches in flight.  When the
    first fails on the full disk, the next ones arrive with a gap in their
    sequence numbers: they must get 56 KAFKA_STORAGE_ERROR as Kafka's
    offline log dir answers, not 45 OUT_OF_ORDER_SEQUENCE_NUMBER, after
    which librdkafka 2.0 bumps its epoch and resends records that may be
    written already (the chaos tier's R7 saw them twice).  Once space is
    back, the retried batches go in, in order."""
    cluster, broker, state = full
    pid, other = 4242, 4343
    os.unlink(state["filler"])
    for p in (pid, other):
        err, _, rec = idempotent_produce(broker, p, 0)
        assert err == 0, f"producer {p}, sequence 0 with room on the disk: error {err}"
        state["acked"].append(rec)
    h.fill_rest(state["filler"])
    with h.step("sequence 1 fails on the full disk; 2 and 3 arrive with the gap"):
        answers = [idempotent_produce(broker, pid, seq)[0] for seq in (1, 2, 3)]
    assert answers == [STORAGE_ERROR] * 3, f"answers to sequences 1, 2, 3: {answers}"
    # A producer whose own appends did not fail keeps Kafka's answer to a gap.
    err = idempotent_produce(broker, other, 2)[0]
    assert err == OUT_OF_ORDER, f"another producer's sequence gap: error {err}, not {OUT_OF_ORDER}"
    os.unlink(state["filler"])
    with h.step("with room again, the retries of 1, 2 and 3 are appended in order"):
        for seq in (1, 2, 3):
            err, base, rec = idempotent_produce(broker, pid, seq)
            assert err == 0, f"retried sequence {seq}: error {err}"
            state["acked"].append(rec)
    h.fill_rest(state["filler"])  # the next scenario frees it


def test_after_freeing_space_producing_works_again(full):
    cluster, broker, state = full
    os.unlink(state["filler"])
    with h.step("produce again once the filler is deleted"):
        reports = produce_round(cluster, "after")
    assert all(err is None for _, err in reports), [str(e) for _, e in reports]
    state["acked"] += [r for r, _ in reports]
    got = consume_all(cluster)
    want = {(r.offset, r.key, r.value) for r in state["acked"]}
    assert got == want, f"differences: {sorted(got ^ want)[:5]}"
    assert not broker.process.sanitizer_report()
