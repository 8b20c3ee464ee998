"""
Scenario za: compressed batches are checked on the leader, off its event
loop, and a compressed "bomb" can neither be stored nor freeze the broker
(issue 8, items 4 and 5; wire-protocol.md sections 4.3, 4.5, 5.6, 5.10).

Corrupt compressed batches: the attributes say gzip, snappy, lz4 or zstd,
the payload is something else, the CRC is valid; or the payload is right but
the header's record count is not.  Each is refused with 2 CORRUPT_MESSAGE and
nothing is stored, and consumers (kcat, confluent-kafka) then read every
good batch produced after them.

Bombs: a gzip batch of 256 KB whose one record inflates to 256 MiB is
refused with 10 MESSAGE_TOO_LARGE (past kbroker.batch.decompressed.max.bytes,
64 MiB by default), and a payload of 256 MiB of zeros (empty "records", far
more than declared) with 2; the broker keeps its ZooKeeper session.

Batches that inflate to 60 MiB, under the cap, are accepted.  ListOffsets
by timestamp over 16 partitions of them (the record looked for lies after
the 60 MiB one) is answered correctly while a confluent-kafka producer keeps
producing to another topic and a raw client keeps sending ApiVersions: both
are answered while a ListOffsets is outstanding, and the broker's ZooKeeper
session (2 s timeout) never expires.  Looking up the first record of those
batches decompresses at most one 64 KiB piece of each.

One request with a gzip, a plain and a zstd batch for the same partition
appends them in request order.  SIGTERM while compressed produces and
timestamp lookups are still on the worker threads exits 0 without a
sanitizer report.
"""
import threading
import time
import zlib

import pytest

import kafkawire as kw
import kbharness as h

NOW = int(time.time() * 1000) - 3_600_000  # CreateTime an hour ago
CODECS = (kw.GZIP, kw.SNAPPY, kw.LZ4, kw.ZSTD)
CORRUPT = "corrupt"
BOMBS = "bombs"
INFLATING = "inflating"
STEADY = "steady"
ORDERED = "ordered"
INFLATING_PARTITIONS = 16
INFLATED_VALUE = 60 << 20
PIECE = 64 << 10  # KP_INFLATE_CHUNK


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start broker 1 with a metrics endpoint (ZooKeeper session timeout 2 s)"):
        c.start_brokers([1], metrics=True)
    for topic, n in ((CORRUPT, 1), (BOMBS, 1), (INFLATING, INFLATING_PARTITIONS), (STEADY, 1), (ORDERED, 1)):
        c.create_topic(topic, assignment=",".join(["1"] * n))
    return c


@pytest.fixture(scope="module")
def broker(cluster):
    return cluster.brokers[1]


def produce(broker, topic_data, corr=1, timeout=120):
    """One raw Produce v7, acks=1: {(topic, partition): ProducePartition}."""
    s = h.connect(broker.port, timeout=timeout)
    try:
        s.sendall(h.kafka_request(0, 7, corr, kw.produce_body(topic_data, acks=1)))
        got_corr, parts, _, _ = kw.parse_produce_response(h.recv_frame(s))
        assert got_corr == corr
        return parts
    finally:
        s.close()


def end_offsets(broker, topic, partitions):
    got = h.list_offsets(broker, topic, partitions)
    assert all(v[0] == 0 for v in got.values()), got
    return {p: v[2] for p, v in got.items()}


def session_of(cluster, broker_id=1):
    """(czxid, ephemeral owner) of /brokers/ids/N: both change when the
    broker's ZooKeeper session expires and it registers again."""
    _, stat = cluster.get(f"/brokers/ids/{broker_id}")
    return stat.czxid, stat.ephemeralOwner


def good_records(tag, n=3):
    return [(f"{tag}-{i}".encode(), f"value-{tag}-{i}".encode(), (), NOW + i) for i in range(n)]


# --- item 5: corrupt compressed batches -------------------------------------------

def test_corrupt_compressed_batches_are_refused_and_nothing_is_stored(cluster, broker):
    recs = good_records("corrupt", 4)
    plain = b"".join(kw.encode_record(i, i, r[0], r[1]) for i, r in enumerate(recs))
    with h.step("Produce: codec attribute over a payload that is not that codec, valid CRC"):
        for codec in CODECS:
            batch = kw.build_batch(recs, base_timestamp=NOW, codec=codec, payload=plain)
            got = produce(broker, [(CORRUPT, [(0, batch)])])[(CORRUPT, 0)]
            assert got.error == 2, f"{kw.CODEC_NAMES[codec]} payload that is not {kw.CODEC_NAMES[codec]}: {got}"
    with h.step("Produce: right payload, wrong record count in the header (one more, one fewer)"):
        for codec in CODECS:
            for count, last_delta in ((5, 4), (3, 2)):
                batch = kw.build_batch(recs, base_timestamp=NOW, codec=codec, count=count,
                                       last_offset_delta=last_delta)
                got = produce(broker, [(CORRUPT, [(0, batch)])])[(CORRUPT, 0)]
                assert got.error == 2, f"{kw.CODEC_NAMES[codec]} with count {count} for 4 records: {got}"
    assert end_offsets(broker, CORRUPT, [0]) == {0: 0}
    assert sum(p.stat().st_size for p in broker.segments(CORRUPT, 0)) == 0, "a refused batch reached the log"

    with h.step("Produce good batches with every codec, then consume with kcat and confluent-kafka"):
        expected = []
        for codec in CODECS:
            good = good_records(f"good-{kw.CODEC_NAMES[codec]}")
            got = produce(broker, [(CORRUPT, [(0, kw.build_batch(good, base_timestamp=NOW, codec=codec))])])
            assert got[(CORRUPT, 0)].error == 0, got
            expected += [(r[0], r[1]) for r in good]
        by_kcat = h.kcat_consume(broker.bootstrap, CORRUPT, partition=0)
        by_ck, _ = h.ck_consume(broker.bootstrap, [(CORRUPT, 0)])
    for name, got in (("kcat", by_kcat), ("confluent-kafka", by_ck)):
        assert [(r.key, r.value) for r in got] == expected, f"{name} read {got}"
        assert [r.offset for r in got] == list(range(len(expected))), name


# --- item 4 and 5: bombs -------------------------------------------------------------

def test_a_bomb_past_the_cap_is_refused_at_produce(cluster, broker):
    before = session_of(cluster)
    m0 = broker.metrics()
    bomb = kw.gzip_records_of_zeros([(0, 0, 256 << 20)])
    z = zlib.compressobj(6, zlib.DEFLATED, 31)
    zeros = b"".join(z.compress(bytes(1 << 20)) for _ in range(256)) + z.flush()
    print(f"a {len(bomb)}-byte gzip batch inflating to 256 MiB; a {len(zeros)}-byte one of 256 MiB of zeros")
    with h.step("Produce the 256 MiB bomb and the 256 MiB of zeros"):
        got_bomb = produce(broker, [(BOMBS, [(0, kw.build_batch([(None, b"")], base_timestamp=NOW,
                                                                  codec=kw.GZIP, payload=bomb))])])
        got_zeros = produce(broker, [(BOMBS, [(0, kw.build_batch([(None, b"")] * 1000, base_timestamp=NOW,
                                                                   codec=kw.GZIP, payload=zeros))])])
    assert got_bomb[(BOMBS, 0)].error == 10, f"bomb past the cap: {got_bomb}"
    assert got_zeros[(BOMBS, 0)].error == 2, f"zeros are 0-byte records, more than declared: {got_zeros}"
    assert end_offsets(broker, BOMBS, [0]) == {0: 0}
    m1 = broker.metrics()
    inflated = h.metric(m1, "kbroker_produce_decompressed_bytes_total") - \
        h.metric(m0, "kbroker_produce_decompressed_bytes_total")
    print(f"decompressed by the two checks: {inflated / 2**20:.1f} MiB")
    assert (64 << 20) - PIECE <= inflated <= (64 << 20) + PIECE, \
        "the bomb's check must stop at the 64 MiB cap, the zeros' check at the 1001st record"
    assert session_of(cluster) == before, "the broker's ZooKeeper session expired"
    assert broker.alive()


# --- item 4: ListOffsets by timestamp off the loop ----------------------------------

def inflating_batch():
    """Record 0 at NOW with a 60 MiB value of zeros, record 1 at NOW + 1000."""
    payload = kw.gzip_records_of_zeros([(0, 0, INFLATED_VALUE), (1, 1000, 5)])
    return kw.build_batch([(None, b""), (None, b"")], base_timestamp=NOW, codec=kw.GZIP, payload=payload,
                          max_timestamp=NOW + 1000)


class SteadyProducer(threading.Thread):
    """confluent-kafka producing small records to STEADY until stopped,
    keeping the monotonic time of every delivery report."""

    def __init__(self, bootstrap):
        super().__init__(daemon=True)
        self.producer = h.ck_producer(bootstrap, linger_ms=1)
        self.stop_flag = threading.Event()
        self.delivered, self.failed = [], []

    def on_delivery(self, err, m):
        (self.failed if err is not None else self.delivered).append(time.monotonic())

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            try:
                self.producer.produce(STEADY, value=b"steady-%d" % i, on_delivery=self.on_delivery)
                i += 1
            except BufferError:
                pass
            self.producer.poll(0.002)
        self.producer.flush(60)


class Prober(threading.Thread):
    """ApiVersions over its own connection, one after the other, until
    stopped: [(sent, answered)] on the monotonic clock."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = h.connect(port, timeout=60)
        self.stop_flag = threading.Event()
        self.answers = []

    def run(self):
        corr = 0
        while not self.stop_flag.is_set():
            corr += 1
            sent = time.monotonic()
            self.sock.sendall(h.kafka_request(18, 0, corr))
            assert h.parse_apiversions_v0(h.recv_frame(self.sock))[:2] == (corr, 0)
            self.answers.append((sent, time.monotonic()))
            time.sleep(0.005)  # pacing only: a probe every few ms
        self.sock.close()


def list_offsets_by_time(broker, ts, partitions):
    """Raw ListOffsets v1 for ts on every partition: ({partition: (error,
    timestamp, offset)}, (sent, answered))."""
    s = h.connect(broker.port, timeout=300)
    try:
        sent = time.monotonic()
        s.sendall(h.kafka_request(2, 1, 7, kw.list_offsets_v1_body([(INFLATING, [(p, ts) for p in partitions])])))
        _, got = kw.parse_list_offsets_v1_response(h.recv_frame(s))
        return {p: v for (t, p), v in got.items()}, (sent, time.monotonic())
    finally:
        s.close()


def inside(t, windows):
    return any(a <= t <= b for a, b in windows)


def test_list_offsets_by_timestamp_over_inflating_batches_keeps_the_broker_serving(cluster, broker):
    parts = list(range(INFLATING_PARTITIONS))
    with h.step(f"Produce {INFLATING_PARTITIONS} gzip batches inflating to 60 MiB each (under the cap)"):
        batch = inflating_batch()
        got = produce(broker, [(INFLATING, [(p, batch) for p in parts])], timeout=600)
    assert all(got[(INFLATING, p)].error == 0 for p in parts), got
    before = session_of(cluster)
    steady, prober = SteadyProducer(broker.bootstrap), Prober(broker.port)
    windows = []
    with h.step("ListOffsets for the record after the 60 MiB one, 3 times, while producing and probing"):
        steady.start()
        prober.start()
        h.wait_until(lambda: len(steady.delivered) > 10 and len(prober.answers) > 10, 60,
                     "the steady producer and the prober to get going")
        for _ in range(3):
            answer, window = list_offsets_by_time(broker, NOW + 1000, parts)
            windows.append(window)
            assert answer == {p: (0, NOW + 1000, 1) for p in parts}, answer
        steady.stop_flag.set()
        prober.stop_flag.set()
        steady.join(90)
        prober.join(30)
    acked = sum(inside(t, windows) for t in steady.delivered)
    # Probes go one after the other: a broker whose loop is busy with the
    # ListOffsets can answer at most the one that reached it first, so two
    # answered inside a window show it kept serving.
    probed = [sum(a <= s and r <= b for s, r in prober.answers) for a, b in windows]
    print(f"while a ListOffsets was outstanding: {acked} records acknowledged, ApiVersions answered {probed}; "
          f"{len(steady.delivered)} records acknowledged in all; windows "
          f"{[round(b - a, 2) for a, b in windows]} s")
    assert not steady.failed, f"{len(steady.failed)} steady records failed"
    assert min(probed) >= 2 and acked > 0, "the broker answered nothing else while a ListOffsets was outstanding"
    assert session_of(cluster) == before, "the broker's ZooKeeper session expired during the lookups"
    assert "expired" not in broker.process.log_text().lower()

    with h.step("ListOffsets for the first record: decompressed only as far as that record"):
        m0 = broker.metrics()
        answer, _ = list_offsets_by_time(broker, NOW, parts)
        m1 = broker.metrics()
    assert answer == {p: (0, NOW, 0) for p in parts}, answer
    inflated = h.metric(m1, "kbroker_log_timestamp_decompressed_bytes_total") - \
        h.metric(m0, "kbroker_log_timestamp_decompressed_bytes_total")
    assert 0 < inflated <= INFLATING_PARTITIONS * PIECE, \
        f"{inflated} bytes decompressed to find the first record of {INFLATING_PARTITIONS} batches"


# --- request order ---------------------------------------------------------------------

def test_compressed_and_plain_batches_of_one_request_keep_their_order(cluster, broker):
    batches = [kw.build_batch(good_records(f"order-{tag}"), base_timestamp=NOW, codec=codec)
               for tag, codec in (("a", kw.GZIP), ("b", kw.NONE), ("c", kw.ZSTD))]
    with h.step("one Produce: gzip, plain, zstd batches for the same partition"):
        got = produce(broker, [(ORDERED, [(0, b) for b in batches])])
    assert got[(ORDERED, 0)].error == 0, got
    recs = h.kcat_consume(broker.bootstrap, ORDERED, partition=0)
    assert [r.key.decode() for r in recs] == [f"order-{t}-{i}" for t in "abc" for i in range(3)], recs


# --- shutdown with work on the worker threads ----------------------------------------

def test_sigterm_with_work_on_the_worker_threads_exits_cleanly(cluster):
    b2 = cluster.add_broker(2, metrics=True).start()
    b2.wait_registered(30)
    cluster.create_topic("shutdown", assignment=",".join(["2"] * INFLATING_PARTITIONS))
    batch = inflating_batch()
    parts = list(range(INFLATING_PARTITIONS))
    assert all(v.error == 0 for v in produce(b2, [("shutdown", [(p, batch) for p in parts])], timeout=600).values())
    lo = h.connect(b2.port, timeout=60)
    pr = h.connect(b2.port, timeout=60)
    with h.step("ListOffsets over 16 inflating partitions and a Produce of 16 more, then SIGTERM mid-way"):
        lo.sendall(h.kafka_request(2, 1, 1, kw.list_offsets_v1_body([("shutdown", [(p, NOW + 1000) for p in parts])])))
        pr.sendall(h.kafka_request(0, 7, 2, kw.produce_body([("shutdown", [(p, batch) for p in parts])])))
        h.wait_until(lambda: h.metric(b2.metrics(), "kbroker_log_timestamp_scans_total") >= 1 and
                     h.metric(b2.metrics(), "kbroker_produce_batches_decompressed_total") >= 1, 120,
                     "the first lookup and the first check to complete")
        rc = b2.stop()
    lo.close()
    pr.close()
    assert rc == 0, f"broker 2 exited with {rc}:\n{b2.process.tail(30)}"
    assert not b2.process.sanitizer_report(), b2.process.sanitizer_report()
