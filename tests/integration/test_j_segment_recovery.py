"""
Scenario j: a broker recovers damaged segments after an unclean stop.

Broker 3 leads the four partitions of a topic, each holding five batches.  It
is killed with SIGKILL (no clean-shutdown marker), and while it is down the
active segment of partition 0 is cut in the middle of its last batch, a byte
of partition 1's last batch is flipped, and garbage is appended to partition
2's segment; partition 3 is left alone.  On restart each damaged log comes
back truncated to its last valid batch, the broker's log names the number of
bytes it truncated, every record before the damage is still there, and new
records continue at the right offset.
"""
import os
import re

import pytest

import kafkawire as kw
import kbharness as h

TOPIC = "damaged"
PARTITIONS = 4
VICTIM = 3
ROUNDS = 5
PER_ROUND = 20
GARBAGE = 777


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2, 3 (fixed ports)"):
        c.start_brokers([1, 2, 3], fixed_ports=True)
        c.wait_controller()
    c.create_topic(TOPIC, assignment=",".join([str(VICTIM)] * PARTITIONS))
    return c


@pytest.fixture(scope="module")
def acked(cluster):
    """Five batches per partition; {partition: {offset: (key, value, headers)}}."""
    p = h.ck_producer(cluster.bootstrap(), linger_ms=100)
    recs = [h.Rec(TOPIC, part, None, f"p{part}-r{rnd}-{i:02d}".encode(),
                  f"value {part}/{rnd}/{i} ".encode() + b"z" * (40 + 7 * i), (("round", str(rnd).encode()),), None)
            for rnd in range(ROUNDS) for part in range(PARTITIONS) for i in range(PER_ROUND)]
    with h.step(f"confluent-kafka: {ROUNDS} batches of {PER_ROUND} records to each partition"):
        reports = h.ck_produce(p, recs, flush_every=PARTITIONS * PER_ROUND)
    assert all(e is None for _, e in reports), [e for _, e in reports if e][:3]
    out = {part: {} for part in range(PARTITIONS)}
    for r, _ in reports:
        out[r.partition][r.offset] = (r.key, r.value, r.headers)
    return out


def damage(path, how):
    """Damages the last batch of a segment; returns (bytes the broker must
    truncate, size the file must have after recovery, first offset lost)."""
    batches, end, size = kw.read_segment(path)
    assert end == size and len(batches) >= 3 and all(b.crc_ok for b in batches), \
        f"{path}: expected >= 3 intact batches, got {[(b.position, b.size, b.crc_ok) for b in batches]}, " \
        f"{size - end} trailing bytes"
    last = batches[-1]
    if how == "cut":
        cut = last.position + last.size // 2
        os.truncate(path, cut)
        return cut - last.position, last.position, last.base_offset
    if how == "flip":
        pos = last.position + last.size - 7  # inside the records, covered by the CRC
        with open(path, "r+b") as f:
            f.seek(pos)
            b = f.read(1)
            f.seek(pos)
            f.write(bytes([b[0] ^ 0xFF]))
        return last.size, last.position, last.base_offset
    if how == "garbage":
        junk = h.seeded_garbage(GARBAGE, seed=99)
        assert kw.parse_batches(junk)[0] == [], "the garbage must not parse as a batch"
        with open(path, "ab") as f:
            f.write(junk)
        return GARBAGE, size, last.base_offset + last.last_offset_delta + 1
    return 0, size, last.base_offset + last.last_offset_delta + 1


DAMAGE = {0: "cut", 1: "flip", 2: "garbage", 3: "none"}


@pytest.fixture(scope="module")
def recovered(cluster, acked):
    victim = cluster.brokers[VICTIM]
    log_mark = len(victim.process.log_text())
    _, old = victim.registration()
    with h.step(f"kill -9 broker {VICTIM}"):
        victim.kill9()
    assert not (victim.log_dir / ".kafka_cleanshutdown").exists(), "SIGKILL left a clean-shutdown marker"
    expect = {}
    with h.step("damage the segments"):
        for part, how in DAMAGE.items():
            expect[part] = damage(victim.segment(TOPIC, part), how)
    truncs = [expect[p][0] for p in (0, 1, 2)]
    assert len(set(truncs)) == 3, f"the truncated byte counts must differ to be told apart: {truncs}"
    print("expected (truncated bytes, file size, log end offset):", expect)
    with h.step(f"restart broker {VICTIM}"):
        victim.start()
        victim.wait_registered(30, newer_than=old.czxid)
        cluster.wait_topic_ready(TOPIC, 60)
    return expect, victim.process.log_text()[log_mark:]


def test_restart_names_the_truncated_byte_count(cluster, recovered):
    expect, log = recovered
    lines = [ln for ln in log.splitlines() if "truncated" in ln.lower()]
    for part in (0, 1, 2):
        n = expect[part][0]
        hits = [ln for ln in lines if re.search(rf"(?<![0-9]){n}(?![0-9])", ln)]
        assert hits, (f"{TOPIC}-{part} ({DAMAGE[part]}): no broker log line says 'truncated' with {n} bytes; "
                      f"'truncated' lines: {lines or 'none'}")


def test_damaged_segments_are_cut_back_to_the_last_valid_batch(cluster, recovered):
    expect, _ = recovered
    victim = cluster.brokers[VICTIM]
    for part, (_, size, _) in expect.items():
        path = victim.segment(TOPIC, part)
        batches, end, actual = kw.read_segment(path)
        assert (actual, end) == (size, size), \
            f"{TOPIC}-{part} ({DAMAGE[part]}): {path} is {actual} bytes (whole batches end at {end}), expected {size}"
        assert all(b.crc_ok for b in batches)


def test_nothing_before_the_damage_is_lost(cluster, acked, recovered):
    expect, _ = recovered
    leader = cluster.brokers[VICTIM]
    ends = h.list_offsets(leader, TOPIC, list(range(PARTITIONS)))
    assert {p: v[::2] for p, v in ends.items()} == {p: (0, expect[p][2]) for p in range(PARTITIONS)}, \
        f"log end offsets after recovery: {ends}"
    with h.step("read every partition back with confluent-kafka"):
        recs, _ = h.ck_consume(cluster.bootstrap(), [(TOPIC, p) for p in range(PARTITIONS)])
    for part in range(PARTITIONS):
        got = {r.offset: (r.key, r.value, r.headers) for r in recs if r.partition == part}
        want = {o: v for o, v in acked[part].items() if o < expect[part][2]}
        assert got == want, (f"{TOPIC}-{part} ({DAMAGE[part]}): read {len(got)} records, expected {len(want)}; "
                             f"differences at {sorted(set(got.items()) ^ set(want.items()))[:3]}")


def test_new_records_continue_at_the_right_offset(cluster, recovered):
    expect, _ = recovered
    p = h.ck_producer(cluster.bootstrap())
    recs = [h.Rec(TOPIC, part, None, f"after-{part}".encode(), b"after recovery", (), None)
            for part in range(PARTITIONS)]
    reports = h.ck_produce(p, recs)
    assert all(e is None for _, e in reports), reports
    assert {r.partition: r.offset for r, _ in reports} == {part: expect[part][2] for part in range(PARTITIONS)}
    recs, _ = h.ck_consume(cluster.bootstrap(), [(TOPIC, part) for part in range(PARTITIONS)])
    for part in range(PARTITIONS):
        tail = [r for r in recs if r.partition == part][-1]
        assert (tail.offset, tail.key) == (expect[part][2], f"after-{part}".encode()), tail
