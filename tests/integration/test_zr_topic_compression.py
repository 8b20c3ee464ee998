"""
Scenario zr: a topic's compression.type other than producer (issue 14 item
7; wire-protocol.md 5.6, 5.9).  Kafka's broker stores every batch of such a
topic in the topic's codec, rebuilding on the leader those a producer
compressed otherwise; clients set the config and expect that.

Runbook: one ZooKeeper, three brokers.  Five topics of 3 partitions on all
three brokers, each created the way a different tool creates it:
compression.type=zstd by confluent-kafka's AdminClient, gzip by
kafka-python's create_topics(topic_configs=...), lz4, snappy and
uncompressed by `kbroker-admin create-topic --config`.  Into each,
confluent-kafka (compression.codec), kafka-python (compression_type) and
kcat (-z) send records with keys, headers and timestamps in every codec:
none, gzip, snappy, lz4, zstd.  confluent-kafka and kafka-python then read
every record back exactly once, intact (keys, values, headers, timestamps,
dense offsets, the offsets the delivery reports gave); every batch in the
leaders' .log files, read here with a decoder of the batch header written
for this test, carries the topic's codec; the followers' logs are byte for
byte the leader's.  A gzip topic with message.timestamp.type=LogAppendTime
gets gzip batches stamped by the leader.

AlterConfigs from producer to gzip applies to the batches produced after
it.  An idempotent producer (enable.idempotence, acks=all, lz4) and a plain
one send into a zstd topic's one partition at once: every record exactly
once, no OUT_OF_ORDER_SEQUENCE_NUMBER, in each producer's order.  A batch
that arrives (on another connection) while an earlier one of the same
idempotent producer is still being rebuilt does not overtake it.  Into an
uncompressed topic, a gzip bomb is refused with 10 MESSAGE_TOO_LARGE at the
inflation cap, a payload that is not gzip with 2 CORRUPT_MESSAGE, and a
batch whose rebuilt form passes max.message.bytes with 10; nothing is
stored.  And compression.type=bogus is refused with INVALID_CONFIG in
LogConfig's words, by CreateTopics, AlterConfigs and kbroker-admin alike.
"""
import collections
import random
import struct
import threading
import time

import pytest

import kafkawire as kw
import kbharness as h

BROKERS = [1, 2, 3]
PARTITIONS = 3
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
# compression.type -> the codec id the topic's batches must carry
# (wire-protocol.md 5.2: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
CODEC_ID = {"uncompressed": 0, "none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
TOPICS = {"zr-zstd": "zstd", "zr-gzip": "gzip", "zr-lz4": "lz4", "zr-snappy": "snappy",
          "zr-uncompressed": "uncompressed"}
APPEND_TIME_TOPIC = "zr-gzip-append-time"
ALTER_TOPIC = "zr-altered"
IDEM_TOPIC = "zr-idempotent"
ORDER_TOPIC = "zr-order"
REFUSE_TOPIC = "zr-refusals"
KCAT_RECORDS = 1000
CK_RECORDS = 100
KP_RECORDS = 60
IDEM_RECORDS = 20_000
INVALID_CONFIG = 40
TOPIC_RES = 2

VOCAB = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


# -- a batch header decoder of this test's own (wire-protocol.md 5.1, 5.2) ---------

Header = collections.namedtuple("Header", "position base_offset length magic attributes codec count")


def read_headers(path):
    """The header of every whole batch in one .log file: base offset (8
    bytes), batch length (4), leader epoch (4), magic (1), CRC (4),
    attributes (2; bits 0-2 the codec, bit 3 LogAppendTime) ...
    records_count at byte 57.  Returns ([Header], bytes read, file size)."""
    data = path.read_bytes()
    pos, out = 0, []
    while pos + 61 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        if length < 49 or pos + 12 + length > len(data):
            break
        attributes = struct.unpack_from(">h", data, pos + 21)[0]
        count = struct.unpack_from(">i", data, pos + 57)[0]
        out.append(Header(pos, base, length, data[pos + 16], attributes, attributes & 7, count))
        pos += 12 + length
    return out, pos, len(data)


def leader_headers(cluster, topic, partition):
    """Every batch header of topic-partition on its leader, oldest first."""
    leader = cluster.leader(topic, partition)
    out = []
    for seg in leader.segments(topic, partition):
        hs, end, size = read_headers(seg)
        assert end == size, f"{seg}: {size - end} bytes after the last whole batch"
        out += hs
    return out


# -- cluster and topics ----------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2, 3 with metrics endpoints"):
        c.start_brokers(BROKERS, metrics=True)
        c.wait_controller()
    return c


def ck_admin(cluster):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": cluster.bootstrap(), "socket.timeout.ms": 20000})


def kp_admin(cluster):
    from kafka.admin import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=cluster.bootstrap().split(","), api_version_auto_timeout_ms=15000,
                            request_timeout_ms=30000)


def create_with_confluent_kafka(cluster, name, configs):
    from confluent_kafka.admin import NewTopic
    admin = ck_admin(cluster)  # kept alive until the answer: a freed client fails its futures
    fut = admin.create_topics([NewTopic(name, PARTITIONS, len(BROKERS), config=configs)], operation_timeout=30)
    fut[name].result(timeout=60)


def create_with_kafka_python(cluster, name, configs):
    from kafka.admin import NewTopic
    admin = kp_admin(cluster)
    try:
        admin.create_topics([NewTopic(name, PARTITIONS, len(BROKERS), topic_configs=configs)], timeout_ms=30000)
    finally:
        admin.close()


@pytest.fixture(scope="module")
def topics(cluster):
    with h.step("confluent-kafka AdminClient: create zr-zstd with compression.type=zstd"):
        create_with_confluent_kafka(cluster, "zr-zstd", {"compression.type": "zstd"})
    with h.step("kafka-python create_topics: create zr-gzip with topic_configs compression.type=gzip"):
        create_with_kafka_python(cluster, "zr-gzip", {"compression.type": "gzip"})
    for name in ("zr-lz4", "zr-snappy", "zr-uncompressed"):
        cluster.create_topic(name, PARTITIONS, len(BROKERS), configs=[f"compression.type={TOPICS[name]}"])
    cluster.create_topic(APPEND_TIME_TOPIC, 1, len(BROKERS),
                         configs=["compression.type=gzip", "message.timestamp.type=LogAppendTime"])
    for name, codec in TOPICS.items():
        cluster.wait_topic_ready(name)
        got = cluster.get_json(f"/config/topics/{name}")
        assert got and got[0]["config"].get("compression.type") == codec, f"/config/topics/{name}: {got}"
    return TOPICS


# -- producing ---------------------------------------------------------------------------

def kcat_lines(topic, codec):
    rnd = random.Random(f"zr-{topic}-{codec}")
    return [(f"{codec}-k{i:04d}", f"{codec}-v{i:04d} " + " ".join(rnd.choice(VOCAB) for _ in range(rnd.randint(1, 12))))
            for i in range(KCAT_RECORDS)]


def client_records(topic, codec, client, n, t0_ms):
    """n records with headers (a repeated and an empty one), explicit
    timestamps, a null key and a null value among them."""
    out = []
    for i in range(n):
        key = None if i % 50 == 7 else f"{client}-{codec}-{i:03d}".encode()
        value = None if i % 50 == 13 else f"{client}-{codec}-value-{i:03d} {'z' * (i % 30)}".encode()
        headers = (("seq", str(i).encode()), ("dup", b"one"), ("dup", b"two"), ("empty", b""))
        out.append(h.Rec(topic, i % PARTITIONS, None, key, value, headers, t0_ms + i * 1000))
    return out


def kp_produce(bootstrap, codec, records):
    """kafka-python KafkaProducer: [(Rec with partition and offset, None)]."""
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=bootstrap.split(","), compression_type=None if codec == "none" else codec,
                      acks=1, linger_ms=20, api_version_auto_timeout_ms=15000, request_timeout_ms=30000)
    try:
        futs = [p.send(r.topic, key=r.key, value=r.value, partition=r.partition, headers=list(r.headers),
                       timestamp_ms=r.timestamp) for r in records]
        p.flush(timeout=60)
        out = []
        for r, f in zip(records, futs):
            md = f.get(timeout=60)
            out.append((r._replace(partition=md.partition, offset=md.offset), None))
        return out
    finally:
        p.close(timeout=10)


def produce_every_codec(cluster, topic, tmp):
    """kcat, confluent-kafka and kafka-python each send records in every
    codec; returns the topic's expectations."""
    bootstrap = cluster.bootstrap()
    expected = collections.Counter()
    delivered = {}
    t_before = int(time.time() * 1000)
    for codec in CODECS:
        lines = kcat_lines(topic, codec)
        path = tmp / f"{topic}-{codec}.txt"
        path.write_text("".join(f"{k}\t{v}\n" for k, v in lines))
        headers = (("codec", codec), ("src", "kcat"))
        h.kcat_produce(bootstrap, topic, path, codec=codec, headers=headers)
        hb = tuple((k, v.encode()) for k, v in headers)
        expected.update((k.encode(), v.encode(), hb) for k, v in lines)
        recs = client_records(topic, codec, "ck", CK_RECORDS, t_before - 3_600_000)
        reports = h.ck_produce(h.ck_producer(bootstrap, compression_codec=codec, linger_ms=20), recs)
        recs = client_records(topic, codec, "kp", KP_RECORDS, t_before - 7_200_000)
        reports += kp_produce(bootstrap, codec, recs)
        errors = [e for _, e in reports if e is not None]
        assert not errors, f"{topic}/{codec}: {len(errors)} deliveries failed, first: {errors[0]}"
        for r, _ in reports:
            delivered[(r.partition, r.offset)] = r
            expected[(r.key, r.value, r.headers)] += 1
    window = (t_before - 1000, int(time.time() * 1000) + 1000)
    return {"expected": expected, "delivered": delivered, "window": window,
            "total": len(CODECS) * (KCAT_RECORDS + CK_RECORDS + KP_RECORDS)}


@pytest.fixture(scope="module")
def produced(cluster, topics, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zr-input")
    out = {}
    for topic in topics:
        with h.step(f"kcat, confluent-kafka and kafka-python send none, gzip, snappy, lz4, zstd into {topic}"):
            out[topic] = produce_every_codec(cluster, topic, tmp)
    return out


# -- reading back ----------------------------------------------------------------------------

def check_records(client, topic, records, exp):
    """Exactly once, dense offsets from 0, contents, the delivery reports'
    offsets and timestamps."""
    by_pos = {}
    for r in records:
        assert (r.partition, r.offset) not in by_pos, f"{client}/{topic}: {r.partition}@{r.offset} read twice"
        by_pos[(r.partition, r.offset)] = r
    assert len(by_pos) == exp["total"], f"{client}/{topic}: {len(by_pos)} records, expected {exp['total']}"
    for p in range(PARTITIONS):
        offs = sorted(o for q, o in by_pos if q == p)
        assert offs == list(range(len(offs))), f"{client}/{topic}-{p}: offsets not dense from 0"
    got = collections.Counter((r.key, r.value, tuple(r.headers)) for r in by_pos.values())
    missing, extra = exp["expected"] - got, got - exp["expected"]
    assert not missing and not extra, (f"{client}/{topic}: {sum(missing.values())} missing (e.g. "
                                       f"{list(missing)[:2]}), {sum(extra.values())} unexpected "
                                       f"(e.g. {list(extra)[:2]})")
    for pos, want in exp["delivered"].items():
        r = by_pos[pos]
        assert (r.key, r.value, tuple(r.headers), r.timestamp) == (want.key, want.value, want.headers,
                                                                     want.timestamp), \
            f"{client}/{topic}-{pos[0]}@{pos[1]}: got {r}, delivered {want}"
    lo, hi = exp["window"]
    late = [r for pos, r in by_pos.items() if pos not in exp["delivered"] and not lo <= r.timestamp <= hi]
    assert not late, f"{client}/{topic}: {len(late)} kcat records stamped outside [{lo}, {hi}], e.g. {late[:2]}"


def test_confluent_kafka_reads_every_record_intact(cluster, produced):
    tps = [(t, p) for t in produced for p in range(PARTITIONS)]
    with h.step(f"confluent-kafka assign() {len(tps)} partitions"):
        recs, _ = h.ck_consume(cluster.bootstrap(), tps)
    for topic, exp in produced.items():
        check_records("confluent-kafka", topic, [r for r in recs if r.topic == topic], exp)


def test_kafka_python_reads_every_record_intact(cluster, produced):
    tps = [(t, p) for t in produced for p in range(PARTITIONS)]
    with h.step(f"kafka-python assign() {len(tps)} partitions"):
        recs = h.kp_consume(cluster.bootstrap(), tps)
    for topic, exp in produced.items():
        check_records("kafka-python", topic, [r for r in recs if r.topic == topic], exp)


def test_batches_on_disk_carry_the_topic_codec_and_followers_match(cluster, produced):
    brokers = [cluster.brokers[i] for i in BROKERS]
    for topic, exp in produced.items():
        want = CODEC_ID[TOPICS[topic]]
        records = 0
        for p in range(PARTITIONS):
            with h.step(f"{topic}-{p}: every replica reaches the leader's log end"):
                end = h.wait_converged(cluster, topic, p)
            hs = leader_headers(cluster, topic, p)
            wrong = [x for x in hs if x.magic != 2 or x.codec != want]
            assert not wrong, f"{topic}-{p}: {len(wrong)} of {len(hs)} batches not magic 2 with codec {want}, " \
                              f"e.g. {wrong[:3]}"
            assert hs and hs[-1].base_offset + hs[-1].count == end, f"{topic}-{p}: {hs[-1:]} vs log end {end}"
            records += sum(x.count for x in hs)
            h.assert_same_below(brokers, topic, p, end)
        assert records == exp["total"], f"{topic}: {records} records on disk, expected {exp['total']}"
    rebuilt = sum(h.metric(b.metrics(), "kbroker_produce_batches_recompressed_total") for b in brokers)
    print(f"batches rebuilt by the leaders: {rebuilt}")
    assert rebuilt > 0


def test_log_append_time_topic_gets_rebuilt_batches_stamped_by_the_leader(cluster, topics):
    bootstrap = cluster.bootstrap()
    recs = client_records(APPEND_TIME_TOPIC, "lz4", "ck", CK_RECORDS, 1_500_000_000_000)
    recs = [r._replace(partition=0) for r in recs]
    t0 = int(time.time() * 1000)
    with h.step(f"confluent-kafka sends lz4 batches into {APPEND_TIME_TOPIC} (gzip, LogAppendTime)"):
        reports = h.ck_produce(h.ck_producer(bootstrap, compression_codec="lz4", linger_ms=20), recs)
    t1 = int(time.time() * 1000)
    assert all(e is None for _, e in reports)
    hs = leader_headers(cluster, APPEND_TIME_TOPIC, 0)
    assert hs and all(x.codec == 1 and x.attributes & 0x08 for x in hs), hs
    got = h.kp_consume(bootstrap, [(APPEND_TIME_TOPIC, 0)])
    assert [(r.key, r.value, r.headers) for r in got] == [(r.key, r.value, r.headers) for r in recs]
    assert all(t0 - 1000 <= r.timestamp <= t1 + 1000 for r in got), \
        f"timestamps not the leader's append time: {[r.timestamp for r in got[:3]]}, window [{t0}, {t1}]"


# -- AlterConfigs ------------------------------------------------------------------------------

def described_compression(broker, topic):
    """compression.type as broker answers DescribeConfigs v1 for topic."""
    body = kw.array([(TOPIC_RES, topic)], lambda r: kw.i8(r[0]) + kw.string(r[1]) + kw.i32(-1)) + kw.i8(0)
    with h.connect(broker.port) as s:
        s.sendall(h.kafka_request(32, 1, 91, body))
        frame = h.recv_frame(s)
    corr, r = kw.response_body(frame)
    assert corr == 91
    r.i32()  # throttle_time_ms

    def config(x):
        name, value = x.string(), x.string()
        x.i8(), x.i8(), x.i8()  # read_only, config_source, is_sensitive
        x.array(lambda y: (y.string(), y.string(), y.i8()))  # synonyms
        return name, value

    def resource(x):
        err, msg = x.i16(), x.string()
        x.i8(), x.string()  # resource type and name
        return err, msg, dict(x.array(config))
    [(err, msg, configs)] = r.array(resource)
    assert err == 0, msg
    return configs.get("compression.type")


def lz4_records(n, tag):
    return [h.Rec(ALTER_TOPIC, 0, None, f"{tag}-{i}".encode(), f"{tag}-value-{i} {'q' * 40}".encode(), (), None)
            for i in range(n)]


def test_alter_config_from_producer_to_gzip_applies_to_later_batches(cluster):
    from confluent_kafka.admin import ConfigResource
    cluster.create_topic(ALTER_TOPIC, 1, len(BROKERS))
    bootstrap = cluster.bootstrap()
    leader = cluster.leader(ALTER_TOPIC, 0)
    with h.step("confluent-kafka sends lz4 batches while compression.type is producer"):
        before = h.ck_produce(h.ck_producer(bootstrap, compression_codec="lz4", linger_ms=20), lz4_records(300, "a"))
    n_before = len(leader_headers(cluster, ALTER_TOPIC, 0))
    with h.step("AlterConfigs compression.type=gzip, until the leader describes it"):
        res = ConfigResource("topic", ALTER_TOPIC, set_config={"compression.type": "gzip"})
        admin = ck_admin(cluster)
        list(admin.alter_configs([res]).values())[0].result(timeout=30)
        h.wait_until(lambda: described_compression(leader, ALTER_TOPIC) == "gzip", 30,
                     "the leader to apply compression.type=gzip")
    with h.step("confluent-kafka sends lz4 batches again"):
        after = h.ck_produce(h.ck_producer(bootstrap, compression_codec="lz4", linger_ms=20), lz4_records(300, "b"))
    assert all(e is None for _, e in before + after)
    hs = leader_headers(cluster, ALTER_TOPIC, 0)
    assert [x.codec for x in hs[:n_before]] == [3] * n_before, hs[:n_before]
    assert len(hs) > n_before and [x.codec for x in hs[n_before:]] == [1] * (len(hs) - n_before), hs[n_before:]
    got, _ = h.ck_consume(bootstrap, [(ALTER_TOPIC, 0)])
    assert [(r.offset, r.key) for r in got] == [(i, r.key) for i, (r, _) in enumerate(before + after)]


# -- idempotence and order -----------------------------------------------------------------------

def test_idempotent_producer_into_a_rebuilding_topic_loses_and_duplicates_nothing(cluster):
    from confluent_kafka import Producer
    cluster.create_topic(IDEM_TOPIC, 1, len(BROKERS), configs=["compression.type=zstd"])
    h.wait_full_isr(cluster, IDEM_TOPIC)
    bootstrap = cluster.bootstrap()
    errors = collections.Counter()

    def run(name, codec, idempotent):
        conf = {"bootstrap.servers": bootstrap, "compression.codec": codec, "linger.ms": 2,
                "batch.num.messages": 200, "acks": "all", "message.timeout.ms": 120000}
        if idempotent:
            conf.update({"enable.idempotence": True, "max.in.flight.requests.per.connection": 5})
        p = Producer(conf)

        def report(err, _):
            if err is not None:
                errors[f"{name}: {err}"] += 1
        for i in range(IDEM_RECORDS):
            while True:
                try:
                    p.produce(IDEM_TOPIC, key=name.encode(), value=f"{name}-{i:06d}".encode(), partition=0,
                              on_delivery=report)
                    break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
        left = p.flush(120)
        if left:
            errors[f"{name}: {left} undelivered"] += 1
    with h.step(f"an idempotent lz4 producer and a plain producer each send {IDEM_RECORDS} into a zstd topic"):
        threads = [threading.Thread(target=run, args=("idem", "lz4", True)),
                   threading.Thread(target=run, args=("plain", "none", False))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, dict(errors)
    got, _ = h.ck_consume(bootstrap, [(IDEM_TOPIC, 0)])
    for name in ("idem", "plain"):
        values = [r.value.decode() for r in got if r.key == name.encode()]
        assert values == [f"{name}-{i:06d}" for i in range(IDEM_RECORDS)], \
            f"{name}: {len(values)} records (expected {IDEM_RECORDS}), duplicates " \
            f"{len(values) - len(set(values))}, first out of place " \
            f"{next((v for i, v in enumerate(values) if v != f'{name}-{i:06d}'), None)}"
    hs = leader_headers(cluster, IDEM_TOPIC, 0)
    assert all(x.codec == 4 for x in hs), [x for x in hs if x.codec != 4][:3]
    h.assert_same_below([cluster.brokers[i] for i in BROKERS], IDEM_TOPIC, 0, h.wait_converged(cluster, IDEM_TOPIC, 0))


def raw_batch(codec, value, producer_id, sequence):
    """One record batch of one record, from idempotent producer
    producer_id (epoch 0) at sequence, compressed with codec."""
    return kw.build_batch([(b"order", value)], codec=codec, producer_id=producer_id, producer_epoch=0,
                          base_sequence=sequence)


def send_produce(port, batch, corr, topic=ORDER_TOPIC):
    """A raw Produce v7 (acks=1) of batch to topic-0, sent; the socket."""
    s = h.connect(port, timeout=120)
    s.sendall(h.kafka_request(0, 7, corr, kw.produce_body([(topic, [(0, batch)])], acks=1)))
    return s


def produce_answer(s, corr, topic=ORDER_TOPIC):
    """The answer for topic-0 read from s, which is then closed."""
    try:
        got_corr, parts, _, _ = kw.parse_produce_response(h.recv_frame(s))
    finally:
        s.close()
    assert got_corr == corr
    return parts[(topic, 0)]


def test_a_later_batch_does_not_overtake_one_being_rebuilt(cluster):
    """Sequence 0 of a producer is a gzip batch inflating to 24 MiB (the
    leader rebuilds it uncompressed, which takes a while); sequence 1, sent
    on another connection once the leader has taken the first, is plain and
    needs no rebuild.  Appended in arrival order both are accepted (0 and
    1); had the second overtaken the first, both would get
    OUT_OF_ORDER_SEQUENCE_NUMBER."""
    cluster.create_topic(ORDER_TOPIC, assignment="1",
                         configs=["compression.type=uncompressed", f"max.message.bytes={48 << 20}"])
    broker = cluster.brokers[1]
    text = (" ".join(VOCAB) + "\n").encode()
    big = text * ((24 << 20) // len(text))
    pid = 424242
    first, second = raw_batch(kw.GZIP, big, pid, 0), raw_batch(kw.NONE, b"small", pid, 1)
    before = h.metric(broker.metrics(), "kbroker_requests_total")
    with h.step("the 24 MiB gzip batch on one connection, the plain one on another once the first is taken"):
        s1 = send_produce(broker.port, first, 1)
        h.wait_until(lambda: h.metric(broker.metrics(), "kbroker_requests_total") >= before + 1, 30,
                     "the leader to take the first Produce")
        s2 = send_produce(broker.port, second, 2)
        a2, a1 = produce_answer(s2, 2), produce_answer(s1, 1)
    assert a1[0] == 0 and a2[0] == 0, f"answers (error, base offset, ...): first {a1}, second {a2}"
    assert (a1[1], a2[1]) == (0, 1), f"base offsets: first {a1[1]}, second {a2[1]}"
    hs = leader_headers(cluster, ORDER_TOPIC, 0)
    assert [(x.base_offset, x.codec) for x in hs] == [(0, 0), (1, 0)], hs
    assert hs[0].length + 12 > len(big), hs[0]


# -- refusals ---------------------------------------------------------------------------------

def test_bombs_corrupt_payloads_and_oversized_rebuilds_are_refused_and_store_nothing(cluster):
    cluster.create_topic(REFUSE_TOPIC, assignment="1", configs=["compression.type=uncompressed"])
    broker = cluster.brokers[1]
    bomb = kw.gzip_records_of_zeros([(0, 0, 256 << 20)])
    text = (" ".join(VOCAB) + "\n").encode()
    cases = [("a gzip batch inflating to 256 MiB", kw.build_batch([(None, b"")], codec=kw.GZIP, payload=bomb), 10),
             ("a gzip batch whose payload is text", kw.build_batch([(b"k", b"v")], codec=kw.GZIP,
                                                                    payload=text * 10), 2),
             ("a gzip batch of 4 MiB, rebuilt past max.message.bytes (1 MB)",
              kw.build_batch([(b"big", text * ((4 << 20) // len(text)))], codec=kw.GZIP), 10)]
    for i, (what, batch, want) in enumerate(cases):
        with h.step(f"Produce {what} ({len(batch)} bytes) into {REFUSE_TOPIC}"):
            s = send_produce(broker.port, batch, 10 + i, topic=REFUSE_TOPIC)
            got = produce_answer(s, 10 + i, topic=REFUSE_TOPIC)
        assert got.error == want, f"{what}: {got}, expected error {want}"
    assert h.list_offsets(broker, REFUSE_TOPIC, [0])[0][2] == 0, "something was stored"
    ok = kw.build_batch([(b"fine", b"after the refusals")], codec=kw.LZ4)
    got = produce_answer(send_produce(broker.port, ok, 20, topic=REFUSE_TOPIC), 20, topic=REFUSE_TOPIC)
    assert (got.error, got.base_offset) == (0, 0), got
    assert [(x.base_offset, x.codec) for x in leader_headers(cluster, REFUSE_TOPIC, 0)] == [(0, 0)]


# LogConfig's validator says it so (ConfigException, ValidString).
KAFKA_BOGUS_MESSAGE = ("Invalid value bogus for configuration compression.type: String must be one of: "
                       "uncompressed, zstd, lz4, snappy, gzip, producer")


def test_bogus_compression_type_is_invalid_config_everywhere(cluster, topics):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import ConfigResource, NewTopic
    admin = ck_admin(cluster)
    with h.step("CreateTopics with compression.type=bogus"):
        fut = admin.create_topics([NewTopic("zr-bogus", 1, 1, config={"compression.type": "bogus"})])
        with pytest.raises(KafkaException) as exc:
            fut["zr-bogus"].result(timeout=30)
    err = exc.value.args[0]
    assert err.code() == INVALID_CONFIG and KAFKA_BOGUS_MESSAGE in err.str(), err
    assert cluster.topic("zr-bogus") is None
    with h.step("AlterConfigs compression.type=bogus"):
        res = ConfigResource("topic", "zr-zstd", set_config={"compression.type": "bogus"})
        with pytest.raises(KafkaException) as exc:
            list(admin.alter_configs([res]).values())[0].result(timeout=30)
    err = exc.value.args[0]
    assert err.code() == INVALID_CONFIG and "bogus" in err.str(), err
    assert cluster.get_json("/config/topics/zr-zstd")[0]["config"]["compression.type"] == "zstd"
    for args in (("create-topic", "--topic", "zr-bogus", "--partitions", 1, "--replication-factor", 1),
                 ("alter-config", "--topic", "zr-zstd")):
        option = "--config" if args[0] == "create-topic" else "--add-config"
        r = cluster.admin(*args, option, "compression.type=bogus")
        assert r.returncode != 0 and KAFKA_BOGUS_MESSAGE in r.stderr, r.stderr
    assert cluster.topic("zr-bogus") is None
