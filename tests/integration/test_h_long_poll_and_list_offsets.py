"""
Scenario h: a consumer waiting at the end of a partition is woken by the next
produce, and clients find offsets by position and by time.

A raw Fetch v4 (wire-protocol.md section 4.4) with min_bytes 1 at the log end
offset is parked by the leader (its kbroker_fetch_requests_parked gauge says
so) and answered, with the new record, after a kcat produce to that
partition.  Its max_wait_ms is the largest the protocol allows (24 days), so
an answer within the test's bound can only come from the produce waking it;
the interval is printed.  A broker stopped with SIGTERM while Fetch requests
are parked exits cleanly.

ListOffsets: confluent-kafka (get_watermark_offsets, offsets_for_times),
kafka-python (beginning_offsets, end_offsets, offsets_for_times) and kcat -Q
get the log start and end offsets, and the earliest offset whose timestamp is
at or after a given time, for records produced with explicit timestamps over
several batches (in offset order or not, uncompressed or compressed with
gzip and lz4, so that the broker must look inside compressed batches).
"""
import select
import subprocess
import time

import pytest

import kafkawire as kw
import kbharness as h

LONGPOLL = "longpoll"
TIMES = "times"
EMPTY = "empty"
PER_PARTITION = 120
BATCH = 20
T0 = 1_700_000_000_000
FOREVER_MS = 0x7FFFFFFF  # max_wait_ms no test outlives: only a wake can answer


def wait_parked(broker, n, what):
    """Waits until broker has exactly n Fetch requests parked."""
    h.wait_until(lambda: h.metric(broker.metrics(), "kbroker_fetch_requests_parked") == n, 30,
                 f"{n} Fetch request(s) parked on broker {broker.id} ({what})")


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2, 3"):
        c.start_brokers([1, 2, 3], metrics=True)
        c.wait_controller()
    return c


# --- long poll -----------------------------------------------------------------

def test_parked_fetch_is_answered_by_the_next_produce(cluster, tmp_path):
    cluster.create_topic(LONGPOLL, assignment="2,2")
    bootstrap = cluster.bootstrap()
    seed = tmp_path / "seed.txt"
    seed.write_text("".join(f"seed-{i}\n" for i in range(5)))
    h.kcat_produce(bootstrap, LONGPOLL, seed, key_delim=None, partition=0)
    leader = cluster.leader(LONGPOLL, 0)
    (err, _, leo), = h.list_offsets(leader, LONGPOLL, [0]).values()
    assert (err, leo) == (0, 5), f"ListOffsets latest of {LONGPOLL}-0: error {err}, offset {leo}"

    s = h.connect(leader.port, timeout=90)
    body = kw.fetch_v4_body([(LONGPOLL, [(0, leo, 1 << 20)])], max_wait_ms=FOREVER_MS, min_bytes=1)
    s.sendall(h.kafka_request(1, 4, 4242, body))
    with h.step("Fetch v4 parked at the log end offset"):
        wait_parked(leader, 1, "min_bytes 1 at the log end")
    readable, _, _ = select.select([s], [], [], 0)
    if readable:
        frame = h.recv_frame(s)
        _, _, parts = kw.parse_fetch_v4_response(frame)
        pytest.fail(f"a parked Fetch with min_bytes 1 at the log end was answered before any produce: {parts}")

    wake = tmp_path / "wake.txt"
    wake.write_text("wake-up\n")
    t0 = time.monotonic()
    kcat = subprocess.Popen([h.KCAT_BIN, "-P", "-b", bootstrap, "-t", LONGPOLL, "-p", "0", "-l", str(wake)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        s.settimeout(65)
        frame = h.recv_frame(s)
        t_answer = time.monotonic()
        kcat_rc = kcat.wait(timeout=30)
        t_kcat = time.monotonic()
    finally:
        if kcat.poll() is None:
            kcat.kill()
            kcat.wait()
        s.close()
    h.note("kcat produce started -> parked Fetch answered", t_answer - t0)
    h.note("kcat produce started -> kcat exited", t_kcat - t0)
    assert kcat_rc == 0, kcat.stderr.read()
    corr, _, parts = kw.parse_fetch_v4_response(frame)
    assert corr == 4242
    p0 = parts[(LONGPOLL, 0)]
    assert p0.error == 0 and p0.high_watermark == p0.last_stable_offset == leo + 1, p0
    batches, _ = kw.parse_batches(p0.records or b"", decode=True)
    recs = [r for b in batches for r in b.records if r.offset >= leo]
    assert recs and (recs[0].offset, recs[0].value) == (leo, b"wake-up"), batches


def test_parked_fetch_on_two_partitions_wakes_on_either(cluster, tmp_path):
    """A Fetch naming both partitions, parked at both ends, answers when one grows."""
    leader0 = cluster.leader(LONGPOLL, 0)
    assert cluster.leader(LONGPOLL, 1) is leader0
    ends = {p: v[2] for p, v in h.list_offsets(leader0, LONGPOLL, [0, 1]).items()}
    s = h.connect(leader0.port, timeout=90)
    body = kw.fetch_v4_body([(LONGPOLL, [(0, ends[0], 1 << 20), (1, ends[1], 1 << 20)])],
                            max_wait_ms=FOREVER_MS, min_bytes=1)
    s.sendall(h.kafka_request(1, 4, 7, body))
    wait_parked(leader0, 1, "at the end of both partitions")
    wake = tmp_path / "wake1.txt"
    wake.write_text("wake-partition-1\n")
    t0 = time.monotonic()
    h.kcat_produce(cluster.bootstrap(), LONGPOLL, wake, key_delim=None, partition=1)
    s.settimeout(65)
    frame = h.recv_frame(s)
    took = time.monotonic() - t0
    s.close()
    h.note("produce to partition 1 -> two-partition Fetch answered", took)
    _, _, parts = kw.parse_fetch_v4_response(frame)
    assert parts[(LONGPOLL, 0)].error == 0 and parts[(LONGPOLL, 1)].error == 0, parts
    batches, _ = kw.parse_batches(parts[(LONGPOLL, 1)].records or b"", decode=True)
    assert [r.value for b in batches for r in b.records if r.offset >= ends[1]] == [b"wake-partition-1"]


def test_sigterm_with_parked_fetches_exits_0_without_leaks(cluster):
    """A broker stopped while Fetch requests are parked (one client still
    connected, one gone) answers or drops them and exits cleanly."""
    b = cluster.add_broker(4, metrics=True)
    b.start()
    b.wait_registered(30)
    cluster.create_topic("parked", assignment="4")
    body = kw.fetch_v4_body([("parked", [(0, 0, 1 << 20)])], max_wait_ms=60_000, min_bytes=1)
    stays, leaves = h.connect(b.port), h.connect(b.port)
    for s in (stays, leaves):
        s.sendall(h.kafka_request(1, 4, 9, body))
    wait_parked(b, 2, "one per connection")
    leaves.close()  # the broker reads a connection again only once its request is answered
    with h.step("SIGTERM broker 4 with two Fetch requests parked"):
        rc = b.stop()
    stays.close()
    report = b.process.sanitizer_report()
    assert rc == 0 and not report, f"broker 4 exited with status {rc}:\n" + "\n".join(report[:5]) + \
        f"\n(full report in {b.process.log_path})"


# --- ListOffsets -------------------------------------------------------------------

# Partition -> (codec its batches are compressed with, timestamps in offset order?)
TIME_PARTITIONS = {0: ("none", True), 1: ("none", True), 2: ("none", False), 3: ("gzip", True), 4: ("lz4", False)}


def timestamps(p):
    """Record timestamps of partition p: in offset order, or zig-zag."""
    if TIME_PARTITIONS[p][1]:
        return [T0 + p * 10_000_000 + i * 1000 for i in range(PER_PARTITION)]
    # Each batch of 20 runs backwards (later batches still later overall), and
    # one record in the middle is far in the future.
    out = []
    for b in range(PER_PARTITION // BATCH):
        out += [T0 + p * 10_000_000 + b * 100_000 + (BATCH - j) * 1000 for j in range(BATCH)]
    out[50] = T0 + p * 10_000_000 + 9_000_000
    return out


def earliest_at_or_after(ts_list, target):
    """Kafka's answer: the first offset whose timestamp >= target, or None."""
    return next((o for o, t in enumerate(ts_list) if t >= target), None)


def targets(ts_list):
    firsts = [ts_list[0] - 5000, ts_list[0], ts_list[37], ts_list[37] + 1, ts_list[59] + 500,
              ts_list[-1], max(ts_list), max(ts_list) + 1]
    return sorted(set(firsts))


@pytest.fixture(scope="module")
def times(cluster):
    """Batches of 20 records with explicit timestamps, uncompressed in
    partitions 0-2, gzip in 3 and lz4 in 4 (a search must look inside)."""
    cluster.create_topic(TIMES, len(TIME_PARTITIONS), 1)
    cluster.create_topic(EMPTY, 1, 1)
    for codec in sorted({c for c, _ in TIME_PARTITIONS.values()}):
        parts = [p for p, (c, _) in TIME_PARTITIONS.items() if c == codec]
        producer = h.ck_producer(cluster.bootstrap(), linger_ms=50, compression_type=codec)
        # Batch by batch across the partitions: each flush sends one batch per partition.
        order = [h.Rec(TIMES, p, None, f"t{p}-{i:03d}".encode(), b"v" * 600, (), timestamps(p)[i])
                 for b in range(PER_PARTITION // BATCH) for p in parts for i in range(b * BATCH, (b + 1) * BATCH)]
        with h.step(f"confluent-kafka ({codec}): {len(order)} records with explicit timestamps to partitions {parts}"):
            reports = h.ck_produce(producer, order, flush_every=BATCH * len(parts))
        assert all(e is None for _, e in reports), [e for _, e in reports if e][:3]
        for r, _ in reports:
            assert r.offset == int(r.key[3:]), f"{r.key} landed at offset {r.offset}"
    for p, (codec, _) in TIME_PARTITIONS.items():
        batches, _, _ = kw.read_segment(cluster.leader(TIMES, p).segment(TIMES, p), verify_crc=False)
        assert len(batches) >= PER_PARTITION // BATCH and all(b.codec == kw.CODEC_IDS[codec] for b in batches), \
            f"{TIMES}-{p}: expected {codec} batches of {BATCH}, got {[(b.codec, b.count) for b in batches]}"
    return {p: timestamps(p) for p in TIME_PARTITIONS}


def test_watermarks_with_confluent_kafka(cluster, times):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": cluster.bootstrap(), "group.id": "kbroker-tests-h"})
    try:
        for part in TIME_PARTITIONS:
            assert c.get_watermark_offsets(TopicPartition(TIMES, part), timeout=15, cached=False) == \
                   (0, PER_PARTITION)
        assert c.get_watermark_offsets(TopicPartition(EMPTY, 0), timeout=15, cached=False) == (0, 0)
    finally:
        c.close()


def test_offsets_for_times_with_confluent_kafka(cluster, times):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": cluster.bootstrap(), "group.id": "kbroker-tests-h"})
    try:
        for part, ts_list in times.items():
            for target in targets(ts_list):
                got, = c.offsets_for_times([TopicPartition(TIMES, part, target)], timeout=15)
                want = earliest_at_or_after(ts_list, target)
                assert got.error is None, got.error
                assert got.offset == (-1 if want is None else want), \
                    f"{TIMES}-{part} at {target}: offset {got.offset}, expected {want}"
        got, = c.offsets_for_times([TopicPartition(EMPTY, 0, T0)], timeout=15)
        assert got.offset == -1, got
    finally:
        c.close()


def test_list_offsets_with_kafka_python(cluster, times):
    from kafka import TopicPartition
    c = h.kp_consumer(cluster.bootstrap())
    try:
        tps = [TopicPartition(TIMES, p) for p in TIME_PARTITIONS]
        assert c.beginning_offsets(tps) == {tp: 0 for tp in tps}
        assert c.end_offsets(tps) == {tp: PER_PARTITION for tp in tps}
        e = TopicPartition(EMPTY, 0)
        assert c.beginning_offsets([e]) == {e: 0} and c.end_offsets([e]) == {e: 0}
        for part, ts_list in times.items():
            tp = TopicPartition(TIMES, part)
            for target in targets(ts_list):
                got = c.offsets_for_times({tp: target})[tp]
                want = earliest_at_or_after(ts_list, target)
                if want is None:
                    assert got is None, f"{tp} at {target}: {got}, expected None"
                else:
                    assert got is not None and (got.offset, got.timestamp) == (want, ts_list[want]), \
                        f"{tp} at {target}: {got}, expected offset {want} with timestamp {ts_list[want]}"
    finally:
        c.close()


def test_offsets_for_times_with_kcat(cluster, times):
    ts_list = times[0]
    target = ts_list[37] + 1
    r = subprocess.run([h.KCAT_BIN, "-Q", "-b", cluster.bootstrap(), "-t", f"{TIMES}:0:{target}"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert f"offset {earliest_at_or_after(ts_list, target)}" in r.stdout, r.stdout


def test_latest_moves_with_new_records(cluster, times, tmp_path):
    path = tmp_path / "more.txt"
    path.write_text("".join(f"more-{i}\n" for i in range(7)))
    h.kcat_produce(cluster.bootstrap(), EMPTY, path, key_delim=None, partition=0)
    leader = cluster.leader(EMPTY, 0)
    assert h.list_offsets(leader, EMPTY, [0], kw.LATEST)[0][::2] == (0, 7)
    assert h.list_offsets(leader, EMPTY, [0], kw.EARLIEST)[0][::2] == (0, 0)


# A ListOffsets of 300,000 entries (3.6 MB, well under socket.request.max.bytes)
# with one partition listed three times: every occurrence of it is refused
# with 42 INVALID_REQUEST, as Kafka does, and every other entry answered.
# The broker compared each entry with every other one to find repeats, about
# 4.5e10 comparisons here: the loop stayed held for many minutes, past the
# generous bound below, and no other client was served meanwhile.
MANY_ENTRIES = 300_000
INVALID_REQUEST = 42
UNKNOWN_TOPIC_OR_PARTITION = 3


def test_a_partition_listed_many_times_is_refused_without_holding_the_loop(cluster, times):
    leader = cluster.leader(EMPTY, 0)
    entries = [(0, kw.LATEST)] * 3 + [(p, kw.LATEST) for p in range(1000, 1000 + MANY_ENTRIES - 3)]
    body = kw.list_offsets_v1_body([(EMPTY, entries)])
    s = h.connect(leader.port, timeout=120)
    try:
        with h.step(f"ListOffsets v1 of {MANY_ENTRIES} entries ({len(body) / 1e6:.1f} MB), partition 0 thrice"):
            s.sendall(h.kafka_request(2, 1, 77, body))
            _, r = kw.response_body(h.recv_frame(s))
    finally:
        s.close()
    codes = []
    for _ in range(r.i32()):
        assert r.string() == EMPTY
        for _ in range(r.i32()):
            codes.append((r.i32(), r.i16()))
            r.i64(), r.i64()
    assert len(codes) == MANY_ENTRIES
    assert codes[:3] == [(0, INVALID_REQUEST)] * 3
    assert {c for _, c in codes[3:]} == {UNKNOWN_TOPIC_OR_PARTITION}, sorted({c for _, c in codes[3:]})
    # The broker serves again at once.
    assert h.list_offsets(leader, EMPTY, [0], kw.LATEST)[0][0] == 0


# A Fetch naming one partition 4,000 times (64 kB) at its end, waiting for
# data forever: the broker parked a waiter per copy, and each append to the
# partition then re-read every copy once per copy (16 million reads, half a
# minute of a release build's loop per append, far longer under ASan).  Now
# every copy of a repeated partition is answered 42 at once, the others as
# usual, and nothing waits.
FETCH_COPIES = 4000


def test_a_partition_fetched_many_times_is_refused_at_once(cluster, times, tmp_path):
    leader = cluster.leader(EMPTY, 0)
    end = h.list_offsets(leader, EMPTY, [0], kw.LATEST)[0][2]
    other_end = h.list_offsets(cluster.leader(TIMES, 0), TIMES, [0], kw.LATEST)[0][2]
    topics = [(EMPTY, [(0, end, 1 << 20)] * FETCH_COPIES)]
    if cluster.leader(TIMES, 0) is leader:
        topics.append((TIMES, [(0, other_end, 1 << 20)]))
    body = kw.fetch_v4_body(topics, max_wait_ms=FOREVER_MS, min_bytes=0x7FFFFFFF)
    s = h.connect(leader.port, timeout=60)
    try:
        with h.step(f"Fetch v4 naming {EMPTY}-0 {FETCH_COPIES} times at its end, min_bytes INT32_MAX"):
            s.sendall(h.kafka_request(1, 4, 99, body))
            _, r = kw.response_body(h.recv_frame(s))
    finally:
        s.close()
    r.i32()  # throttle
    got = []
    for _ in range(r.i32()):
        topic = r.string()
        for _ in range(r.i32()):
            part, err = r.i32(), r.i16()
            r.i64(), r.i64(), r.array(lambda x: (x.i64(), x.i64())), r.nbytes()
            got.append((topic, part, err))
    assert got[:FETCH_COPIES] == [(EMPTY, 0, INVALID_REQUEST)] * FETCH_COPIES, sorted(set(got))[:5]
    assert got[FETCH_COPIES:] == [(TIMES, 0, 0)] * (len(topics) - 1)
    path = tmp_path / "after.txt"
    path.write_text("after the repeated fetch\n")
    with h.step("a produce to that partition, then ListOffsets: the loop is free"):
        h.kcat_produce(cluster.bootstrap(), EMPTY, path, key_delim=None, partition=0)
        assert h.list_offsets(leader, EMPTY, [0], kw.LATEST)[0][::2] == (0, end + 1)
