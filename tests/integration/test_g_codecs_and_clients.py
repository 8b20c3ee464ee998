"""
Scenario g: real clients produce and consume through a three-broker cluster
with every compression codec, and the records sit on disk in Kafka's layout.

kcat produces 50,000 keyed records per codec (none, gzip, snappy, lz4, zstd),
each codec to its own 6-partition topic (RF 1, so the partitions spread over
the three brokers); confluent-kafka then appends records with per-record
headers (repeated and empty ones), explicit timestamps, a null key and a null
value.  kcat, confluent-kafka-python (assign()) and kafka-python each read
every record back exactly once with keys, values, headers and timestamps
intact and dense offsets per partition; the three agree with each other and
with the batches parsed from the brokers' .log files, which carry the codec
the producer chose.  Consumers are served by sendfile (the brokers' read
counters in /proc/PID/io grow by what kcat reads), and a 2 MiB batch is read
by all three with a 1 MiB partition fetch limit.
"""
import collections
import random
import time

import pytest

import kafkawire as kw
import kbharness as h

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
PARTITIONS = 6
KCAT_RECORDS = 50_000
CK_RECORDS = 300
BIG = "big"
MESSAGE_MAX_BYTES = 8 * 1024 * 1024
ONE_MIB = 1024 * 1024

VOCAB = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu order "
         "invoice payment refund shipment parcel warehouse customer account ledger balance "
         "credit debit euro dollar pound yen franc krona rand peso rupee won lira dinar").split()

# {topic: {client or "disk": {(topic, partition, offset): Rec}}} of every view
# that passed its checks, for the cross-check.
SEEN = {}


def topic_of(codec):
    return f"codec-{codec}"


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2, 3 with metrics endpoints and message.max.bytes=8 MiB"):
        c.start_brokers([1, 2, 3], metrics=True, extra={"message.max.bytes": MESSAGE_MAX_BYTES})
        c.wait_controller()
    for codec in CODECS:
        c.create_topic(topic_of(codec), PARTITIONS, 1)
    return c


def kcat_lines(codec):
    rnd = random.Random(f"scenario-g-{codec}")
    lines = []
    for i in range(KCAT_RECORDS):
        words = " ".join(rnd.choice(VOCAB) for _ in range(rnd.randint(2, 15)))
        lines.append((f"{codec}-k{i:05d}", f"{codec}-v{i:05d} {words}"))
    return lines


def ck_records(codec, t0_ms):
    """Records with per-record headers, explicit timestamps, a null key and a null value."""
    recs = []
    for i in range(CK_RECORDS):
        key = None if i % 100 == 7 else f"{codec}-ck{i:03d}".encode()
        value = None if i % 100 == 13 else f"{codec}-ckv{i:03d} {'x' * (i % 40)}".encode()
        headers = (("seq", str(i).encode()), ("dup", b"first"), ("dup", b"second"), ("empty", b""))
        recs.append(h.Rec(topic_of(codec), i % PARTITIONS, None, key, value, headers, t0_ms + i * 1000))
    return recs


@pytest.fixture(scope="module")
def produced(cluster, tmp_path_factory):
    """Produces everything; returns {topic: expectations}."""
    bootstrap = cluster.bootstrap()
    tmp = tmp_path_factory.mktemp("g-input")
    out = {}
    for codec in CODECS:
        topic = topic_of(codec)
        lines = kcat_lines(codec)
        path = tmp / f"{codec}.txt"
        path.write_text("".join(f"{k}\t{v}\n" for k, v in lines))
        headers = (("codec", codec), ("src", "kcat"))
        t_before = int(time.time() * 1000)
        with h.step(f"kcat -P -z {codec}: {KCAT_RECORDS} keyed records to {topic}"):
            h.kcat_produce(bootstrap, topic, path, codec=codec, headers=headers)
        t_after = int(time.time() * 1000)
        hb = tuple((k, v.encode()) for k, v in headers)
        expected = collections.Counter((k.encode(), v.encode(), hb) for k, v in lines)
        recs = ck_records(codec, t_before - 3_600_000)
        with h.step(f"confluent-kafka ({codec}): {CK_RECORDS} records with headers and timestamps"):
            p = h.ck_producer(bootstrap, compression_type=codec, linger_ms=20)
            reports = h.ck_produce(p, recs)
        errors = [e for _, e in reports if e is not None]
        assert not errors, f"{len(errors)} confluent-kafka deliveries failed, first: {errors[0]}"
        ck = {(r.partition, r.offset): r for r, _ in reports}
        expected.update((r.key, r.value, r.headers) for r in recs)
        out[topic] = {"codec": codec, "expected": expected, "window": (t_before - 1000, t_after + 1000),
                      "ck": ck, "total": KCAT_RECORDS + CK_RECORDS}
    return out


def check_records(client, topic, records, exp):
    """Exactly once, dense offsets, contents, timestamps; keeps the view in
    SEEN[topic][client] for the cross-check."""
    by_pos = {}
    dups = []
    for r in records:
        pos = (r.topic, r.partition, r.offset)
        if pos in by_pos:
            dups.append(pos)
        by_pos[pos] = r
    assert not dups, f"{client}/{topic}: {len(dups)} records delivered twice, e.g. {dups[:5]}"
    per_part = collections.defaultdict(list)
    for (_, p, o) in by_pos:
        per_part[p].append(o)
    for p, offs in per_part.items():
        offs.sort()
        gap = next((a for a, b in zip([-1] + offs, offs) if b != a + 1), None)
        assert gap is None, f"{client}/{topic}-{p}: offsets not dense from 0: a gap after offset {gap}"
    assert len(by_pos) == exp["total"], f"{client}/{topic}: {len(by_pos)} records, expected {exp['total']}"
    got = collections.Counter((r.key, r.value, tuple(r.headers)) for r in by_pos.values())
    missing = exp["expected"] - got
    extra = got - exp["expected"]
    assert not missing and not extra, (f"{client}/{topic}: {sum(missing.values())} records missing "
                                       f"(e.g. {list(missing)[:2]}), {sum(extra.values())} unexpected "
                                       f"(e.g. {list(extra)[:2]})")
    lo, hi = exp["window"]
    for (p, o), want in exp["ck"].items():
        r = by_pos[(topic, p, o)]
        assert (r.key, r.value, tuple(r.headers), r.timestamp) == \
               (want.key, want.value, want.headers, want.timestamp), \
            f"{client}/{topic}-{p}@{o}: got {r}, delivery report said {want}"
    bad_ts = [r for r in by_pos.values() if (r.partition, r.offset) not in exp["ck"]
              and not lo <= r.timestamp <= hi]
    assert not bad_ts, f"{client}/{topic}: {len(bad_ts)} kcat records with timestamps outside " \
                       f"[{lo}, {hi}], e.g. {bad_ts[:2]}"
    SEEN.setdefault(topic, {})[client] = by_pos


def test_kcat_reads_every_record_exactly_once(cluster, produced):
    bootstrap = cluster.bootstrap()
    for topic, exp in produced.items():
        with h.step(f"kcat -C {topic}"):
            recs = h.kcat_consume(bootstrap, topic)
        check_records("kcat", topic, recs, exp)


def test_confluent_kafka_reads_every_record_exactly_once(cluster, produced):
    tps = [(t, p) for t in produced for p in range(PARTITIONS)]
    with h.step(f"confluent-kafka assign() {len(tps)} partitions of {len(produced)} topics"):
        recs, eof = h.ck_consume(cluster.bootstrap(), tps)
    by_topic = collections.defaultdict(list)
    for r in recs:
        by_topic[r.topic].append(r)
    for topic, exp in produced.items():
        check_records("confluent-kafka", topic, by_topic[topic], exp)
        ends = {p: o for (t, p), o in eof.items() if t == topic}
        counts = collections.Counter(r.partition for r in by_topic[topic])
        assert ends == {p: counts[p] for p in range(PARTITIONS)}, f"{topic}: EOF offsets {ends}"


def test_kafka_python_reads_every_record_exactly_once(cluster, produced):
    tps = [(t, p) for t in produced for p in range(PARTITIONS)]
    with h.step(f"kafka-python assign() {len(tps)} partitions of {len(produced)} topics"):
        recs = h.kp_consume(cluster.bootstrap(), tps)
    by_topic = collections.defaultdict(list)
    for r in recs:
        by_topic[r.topic].append(r)
    for topic, exp in produced.items():
        check_records("kafka-python", topic, by_topic[topic], exp)


def read_partition_from_disk(cluster, topic, partition):
    """(batches, problems) of a partition's segments on its leader."""
    leader = cluster.leader(topic, partition)
    segs = leader.segments(topic, partition)
    problems = []
    batches = []
    if not segs:
        return [], [f"{topic}-{partition}: no .log file in {leader.partition_dir(topic, partition)}"]
    for seg in segs:
        bs, end, size = kw.read_segment(seg, decode=True)
        if end != size:
            problems.append(f"{seg}: {size - end} bytes after the last whole batch")
        base = int(seg.name[:20])
        if bs and bs[0].base_offset != base:
            problems.append(f"{seg}: first batch at offset {bs[0].base_offset}, file named for {base}")
        batches += [(seg, b) for b in bs]
    return batches, problems


def test_batches_on_disk_carry_each_codec(cluster, produced):
    with h.step("parse every .log segment of the codec topics"):
        for topic, exp in produced.items():
            codec = kw.CODEC_IDS[exp["codec"]]
            disk = {}
            by_codec = collections.Counter()
            for p in range(PARTITIONS):
                batches, problems = read_partition_from_disk(cluster, topic, p)
                assert not problems, problems
                assert batches, f"{topic}-{p}: no batches on disk"
                next_offset = 0
                for seg, b in batches:
                    where = f"{seg} @{b.position}"
                    assert b.magic == 2 and b.crc_ok, f"{where}: magic {b.magic}, CRC ok {b.crc_ok}"
                    # librdkafka sends a batch uncompressed when compressing
                    # does not make it smaller (a lone small record, say).
                    assert b.codec in (codec, kw.NONE), f"{where}: attributes {b.attributes:#x}, expected " \
                                                        f"codec {exp['codec']} ({codec})"
                    by_codec[b.codec] += b.count
                    assert b.base_offset == next_offset, f"{where}: base offset {b.base_offset}, expected {next_offset}"
                    assert b.count == b.last_offset_delta + 1 == len(b.records), where
                    next_offset = b.base_offset + b.last_offset_delta + 1
                    for r in b.records:
                        disk[(topic, p, r.offset)] = h.Rec(topic, p, r.offset, r.key, r.value, tuple(r.headers),
                                                           r.timestamp)
            print(f"{topic}: records on disk by batch codec: "
                  + ", ".join(f"{kw.CODEC_NAMES[c]} {n}" for c, n in sorted(by_codec.items())))
            assert by_codec[codec] >= 0.95 * exp["total"], \
                f"{topic}: only {by_codec[codec]} of {exp['total']} records are in {exp['codec']} batches"
            check_records("disk", topic, list(disk.values()), exp)


def test_segment_indexes_point_at_batches(cluster, produced):
    """The .index entries (offset -> position) and .timeindex entries
    (timestamp -> offset) of every codec topic's segments agree with the
    batches in the .log (zk-and-replication.md sections 4.3 and 4.4)."""
    checked = 0
    for topic in produced:
        for p in range(PARTITIONS):
            for seg in cluster.leader(topic, p).segments(topic, p):
                batches, _, size = kw.read_segment(seg, verify_crc=False)
                starts = {b.position: b for b in batches}
                index = seg.with_suffix(".index")
                timeindex = seg.with_suffix(".timeindex")
                assert index.exists() and timeindex.exists(), f"{seg}: no .index or .timeindex beside it"
                entries = kw.read_offset_index(index)
                for off, pos in entries:
                    b = starts.get(pos)
                    assert b is not None, f"{index}: entry ({off}, {pos}) is not at the start of a batch"
                    assert b.base_offset <= off <= b.base_offset + b.last_offset_delta, \
                        f"{index}: entry ({off}, {pos}) but the batch there holds {b.base_offset}.." \
                        f"{b.base_offset + b.last_offset_delta}"
                if len(batches) >= 3 and size > 3 * 4096:
                    assert entries, f"{index}: no entry for a {size}-byte segment of {len(batches)} batches"
                max_ts = {b.max_timestamp for b in batches}
                last = batches[-1].base_offset + batches[-1].last_offset_delta if batches else -1
                for ts, off in kw.read_time_index(timeindex):
                    assert ts in max_ts, f"{timeindex}: timestamp {ts} is no batch's max timestamp"
                    assert int(seg.name[:20]) <= off <= last, f"{timeindex}: offset {off} outside the segment"
                checked += len(entries)
    assert checked, "no index entries at all"


def test_clients_and_disk_agree_record_by_record(produced):
    """Same (topic, partition, offset) -> same key, value, headers, timestamp
    for every client and the disk (each view passed its own checks)."""
    compared = 0
    for topic in produced:
        views = SEEN.get(topic, {})
        if len(views) < 2:
            continue
        ref_name = "disk" if "disk" in views else sorted(views)[0]
        ref = views[ref_name]
        for name, v in views.items():
            if name == ref_name:
                continue
            assert v.keys() == ref.keys(), f"{topic}: {name} and {ref_name} saw different positions"
            diff = [pos for pos in ref if v[pos] != ref[pos]]
            assert not diff, f"{topic}: {name} differs from {ref_name} at {len(diff)} positions, e.g. " \
                             f"{diff[0]}: {v[diff[0]]} vs {ref[diff[0]]}"
            compared += 1
    if not compared:
        pytest.skip("needs two views of a topic that passed their own checks")


def read_chars(broker):
    """rchar of the broker process (/proc/PID/io): bytes it read through
    read(), pread() and sendfile(), which the kernel counts; record bytes
    that libevent mmaps and copies into a socket write are not counted."""
    with open(f"/proc/{broker.process.pid}/io") as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise AssertionError("no rchar in /proc/PID/io")


def test_fetch_record_bytes_leave_by_sendfile(cluster, produced):
    """Measured from outside the brokers: while kcat reads every segment
    once, the brokers' read counters grow by at least those bytes.  Fetch
    never read()s segment files, so only sendfile can account for it."""
    brokers = list(cluster.brokers.values())
    before = {b.id: read_chars(b) for b in brokers}
    disk_bytes = sum(seg.stat().st_size for t in produced for p in range(PARTITIONS)
                     for seg in cluster.leader(t, p).segments(t, p))
    with h.step("kcat reads every codec topic again"):
        for topic in produced:
            assert len(h.kcat_consume(cluster.bootstrap(), topic)) == produced[topic]["total"]
    grew = {b.id: read_chars(b) - before[b.id] for b in brokers}
    lines = [f"broker {bid}: rchar +{n}" for bid, n in sorted(grew.items())]
    print(f"segments read by kcat: {disk_bytes} bytes; " + ", ".join(lines))
    assert sum(grew.values()) >= 0.95 * disk_bytes, \
        (f"the brokers' rchar grew by {sum(grew.values())} while kcat read {disk_bytes} bytes of segments: "
         f"the record bytes did not leave by sendfile ({', '.join(lines)})")


def big_records():
    rnd = random.Random("scenario-g-big")
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

    def text(n):
        return "".join(rnd.choice(letters) for _ in range(64)).encode() * (n // 64)
    batch = [h.Rec(BIG, 0, None, f"big-a-{i:02d}".encode(), text(32 * 1024), (), None) for i in range(64)]
    single = [h.Rec(BIG, 0, None, b"big-b", text(2 * ONE_MIB), (), None)]
    after = [h.Rec(BIG, 0, None, b"after", b"small", (), None)]
    return batch, single, after


def test_2mib_batches_are_read_by_all_three_clients_with_a_1mib_partition_limit(cluster):
    cluster.create_topic(BIG, 1, 1)
    bootstrap = cluster.bootstrap()
    batch, single, after = big_records()
    # librdkafka sends the 64 records once all are queued (batch.num.messages),
    # the other two on each flush.  It may still split the 64 when its broker
    # thread serves the partition while they are being queued (seen once in
    # CI: 20 + 44), so what the test needs is asserted rather than the split:
    # a multi-record batch larger than the 1 MiB fetch limit, and a 2 MiB
    # single-record batch, both ahead of a small one.
    p = h.ck_producer(bootstrap, message_max_bytes=MESSAGE_MAX_BYTES, batch_size=MESSAGE_MAX_BYTES,
                      linger_ms=30000, batch_num_messages=len(batch))
    p.list_topics(BIG, timeout=30)  # the partition's leader is known before the first record
    with h.step("confluent-kafka: 64 x 32 KiB in one batch, one 2 MiB record, one small record"):
        for group in (batch, single, after):
            reports = h.ck_produce(p, group)
            assert all(e is None for _, e in reports), [e for _, e in reports if e]
    leader = cluster.leader(BIG, 0)
    batches, end, size = kw.read_segment(leader.segment(BIG, 0))
    layout = [(b.count, b.size) for b in batches]
    print(f"batches on disk (records, bytes): {layout}")
    assert end == size and sum(b.count for b in batches[:-2]) == 64 and [b.count for b in batches[-2:]] == [1, 1], \
        f"expected the 64 records, then batches of 1 and 1 record on disk, got {layout}"
    assert any(b.count > 1 and b.size > ONE_MIB for b in batches[:-2]), \
        f"no multi-record batch above the 1 MiB fetch limit: {layout}"
    assert batches[-2].size > 2 * ONE_MIB, layout
    expected = [(r.key, r.value) for r in batch + single + after]
    with h.step("kcat with fetch.message.max.bytes=1048576"):
        got = h.kcat_consume(bootstrap, BIG, props=[f"fetch.message.max.bytes={ONE_MIB}"])
    assert [(r.offset, r.key, r.value) for r in got] == [(i, k, v) for i, (k, v) in enumerate(expected)], \
        f"kcat read {len(got)} records"
    with h.step("confluent-kafka with fetch.message.max.bytes=1048576"):
        got, _ = h.ck_consume(bootstrap, [(BIG, 0)], conf={"fetch.message.max.bytes": ONE_MIB})
    assert [(r.offset, r.key, r.value) for r in got] == [(i, k, v) for i, (k, v) in enumerate(expected)], \
        f"confluent-kafka read {len(got)} records"
    with h.step("kafka-python with max_partition_fetch_bytes=1048576"):
        got = h.kp_consume(bootstrap, [(BIG, 0)], max_partition_fetch_bytes=ONE_MIB)
    assert [(r.offset, r.key, r.value) for r in got] == [(i, k, v) for i, (k, v) in enumerate(expected)], \
        f"kafka-python read {len(got)} records"
