"""
Scenario o: the idempotent producer (wire-protocol.md section 7).

Two brokers on fixed ports.  InitProducerId hands out fresh ids with epoch 0
on any broker, from blocks of 1000 claimed in /latest_producer_id_block
(Kafka's JSON, ids as strings), and refuses what Kafka refuses (42 for an
empty transactional id or half an id/epoch pair, 53 for transactions).  When
both brokers use up blocks under thousands of pipelined requests, the
requests past a block's end wait for the next claim and every id stays
unique, in order per connection.  Over
a raw socket, a batch sent twice is acknowledged twice with the same base
offset and stored once; a sequence gap gets 45 OUT_OF_ORDER_SEQUENCE_NUMBER
and an older epoch 47 INVALID_PRODUCER_EPOCH, appending nothing.  A retry
is still recognised after kill -9 (the last five batches rebuilt from the
log) and after a clean restart (the last batch, from the <log end>.snapshot
a clean stop writes).  Finally librdkafka
(enable.idempotence=true, acks=all) sends 200,000 numbered records to a
one-partition topic while the partition's broker is killed with SIGKILL and
restarted at once: every number is read back exactly once, in order.
"""
import json
import struct
import threading
import time

import pytest

import kafkawire as kw
import kbharness as h

RAW_TOPIC = "idem-raw"
TOPIC = "idem"
LEADER = 1
N_RECORDS = 200_000
ERR_INVALID_REQUEST = 42
ERR_OUT_OF_ORDER = 45
ERR_INVALID_EPOCH = 47
ERR_TXN_ID_AUTH = 53


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1 and 2 (fixed ports)"):
        # fsync before every acknowledgement keeps appended-but-unanswered
        # batches in flight, which the kill then turns into retries; debug
        # logging shows each retry answered from the producer state.
        c.start_brokers([1, 2], fixed_ports=True,
                        extra={"kbroker.log.level": "debug", "log.flush.interval.messages": 1})
        c.wait_controller()
    c.create_topic(RAW_TOPIC, assignment=str(LEADER))
    c.create_topic(TOPIC, assignment=str(LEADER))
    return c


# -- InitProducerId (key 22), wire-protocol.md section 4.10 -------------------------

def compact_nullable_string(s):
    if s is None:
        return b"\x00"
    s = s.encode()
    return kw.uvarint(len(s) + 1) + s


def init_producer_id(broker, version=4, transactional_id=None, producer_id=-1, producer_epoch=-1, corr=7):
    """Raw InitProducerId: (error, producer_id, producer_epoch)."""
    flex = version >= 2
    if flex:
        body = compact_nullable_string(transactional_id) + kw.i32(60000)
        if version >= 3:
            body += kw.i64(producer_id) + kw.i16(producer_epoch)
        body += b"\x00"
    else:
        body = kw.string(transactional_id) + kw.i32(60000)
    s = h.connect(broker.port)
    try:
        s.sendall(h.kafka_request(22, version, corr, body, flexible_header=flex))
        frame = h.recv_frame(s)
    finally:
        s.close()
    pos = 8 + (1 if flex else 0)  # size, correlation id, response header v1 tags
    assert struct.unpack_from(">i", frame, 4)[0] == corr
    throttle, err, pid, epoch = struct.unpack_from(">ihqh", frame, pos)
    assert throttle == 0
    assert len(frame) == pos + 16 + (1 if flex else 0), f"InitProducerId v{version}: {frame.hex()}"
    return err, pid, epoch


def block_znode(cluster):
    data, stat = cluster.get("/latest_producer_id_block")
    return data.decode(), stat


def test_init_producer_id_hands_out_ids_from_zookeeper_blocks(cluster):
    b1, b2 = cluster.brokers[1], cluster.brokers[2]
    with h.step("InitProducerId v0 and v4 (librdkafka's) on broker 1, v4 on broker 2"):
        first = init_producer_id(b1, version=0)
        second = init_producer_id(b1, version=4)
        other = init_producer_id(b2, version=4)
    assert first[0] == second[0] == other[0] == 0, (first, second, other)
    assert first[2] == second[2] == other[2] == 0, "an idempotent producer starts at epoch 0"
    assert second[1] == first[1] + 1, f"ids from one broker's block are consecutive: {first}, {second}"
    assert first[1] // 1000 != other[1] // 1000, f"brokers 1 and 2 must use different blocks: {first}, {other}"
    for _, pid, _ in (first, second, other):
        assert pid >= 0
    text, stat = block_znode(cluster)
    block = json.loads(text)
    print(f"/latest_producer_id_block = {text} (version {stat.version}); ids {first[1]}, {second[1]}, {other[1]}")
    assert list(block) == ["version", "broker", "block_start", "block_end"], block
    assert block["version"] == 1 and block["broker"] in (1, 2), block
    assert isinstance(block["block_start"], str) and isinstance(block["block_end"], str), \
        "Kafka writes block_start and block_end as strings"
    start, end = int(block["block_start"]), int(block["block_end"])
    assert end - start == 999 and start % 1000 == 0, block
    assert start == max(first[1], other[1]) // 1000 * 1000, "the znode names the block claimed last"
    assert text == (f'{{"version":1,"broker":{block["broker"]},"block_start":"{start}",'
                    f'"block_end":"{end}"}}'), "compact JSON, Kafka's key order"


def test_init_producer_id_refusals(cluster):
    b = cluster.brokers[1]
    with h.step("InitProducerId with '', a transactional id, and half an id/epoch pair"):
        got = {
            "empty transactional id": init_producer_id(b, version=4, transactional_id=""),
            "transactional id (v0)": init_producer_id(b, version=0, transactional_id="tx-1"),
            "transactional id (v4)": init_producer_id(b, version=4, transactional_id="tx-1"),
            "id -1, epoch 0": init_producer_id(b, version=3, producer_id=-1, producer_epoch=0),
            "id 5, epoch -1": init_producer_id(b, version=4, producer_id=5, producer_epoch=-1),
        }
    print(got)
    assert got == {
        "empty transactional id": (ERR_INVALID_REQUEST, -1, -1),
        "transactional id (v0)": (ERR_TXN_ID_AUTH, -1, -1),
        "transactional id (v4)": (ERR_TXN_ID_AUTH, -1, -1),
        "id -1, epoch 0": (ERR_INVALID_REQUEST, -1, -1),
        "id 5, epoch -1": (ERR_INVALID_REQUEST, -1, -1),
    }, got


def init_producer_ids_pipelined(broker, n, results):
    """n InitProducerId v4 requests pipelined on one connection (sent from a
    second thread while the answers are read); appends (corr, error, id,
    epoch) to results in answer order."""
    body = b"\x00" + kw.i32(-1) + kw.i64(-1) + kw.i16(-1) + b"\x00"
    frames = b"".join(h.kafka_request(22, 4, i, body, client_id=b"rdkafka", flexible_header=True)
                      for i in range(n))
    s = h.connect(broker.port, timeout=30)
    sender = threading.Thread(target=s.sendall, args=(frames,), daemon=True)
    sender.start()
    try:
        for _ in range(n):
            frame = h.recv_frame(s)
            corr = struct.unpack_from(">i", frame, 4)[0]
            _, err, pid, epoch = struct.unpack_from(">ihqh", frame, 9)
            results.append((corr, err, pid, epoch))
    finally:
        sender.join(30)
        s.close()


def test_used_up_blocks_are_replaced_while_requests_wait(cluster):
    """Both brokers use up blocks at once: requests past a block's end wait
    for the next claim (racing the other broker's conditional writes), and
    every id is still unique."""
    n = 2500
    got = {1: [], 2: []}
    threads = [threading.Thread(target=init_producer_ids_pipelined, args=(cluster.brokers[i], n, got[i]))
               for i in (1, 2)]
    with h.step(f"{n} pipelined InitProducerId requests to each broker at the same time"):
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    for i in (1, 2):
        assert [c for c, _, _, _ in got[i]] == list(range(n)), f"broker {i}: answers out of order"
        assert all(e == 0 and ep == 0 for _, e, _, ep in got[i]), [r for r in got[i] if r[1] or r[3]][:3]
        ids = [pid for _, _, pid, _ in got[i]]
        assert ids == sorted(ids) and len(set(ids)) == n, f"broker {i}: ids not increasing and unique"
    blocks = {i: sorted({pid // 1000 for _, _, pid, _ in got[i]}) for i in (1, 2)}
    print(f"blocks used: broker 1 {blocks[1]}, broker 2 {blocks[2]}")
    assert not set(blocks[1]) & set(blocks[2]), f"a block was used by both brokers: {blocks}"
    block = json.loads(block_znode(cluster)[0])
    assert int(block["block_start"]) // 1000 == max(blocks[1] + blocks[2]), block


# -- raw idempotent produce ------------------------------------------------------------

def idempotent_batch(pid, epoch, seq, n, tag):
    now = int(time.time() * 1000)
    return kw.build_batch([(f"{tag}-{i}".encode(), f"{seq + i}".encode()) for i in range(n)],
                          base_timestamp=now, producer_id=pid, producer_epoch=epoch, base_sequence=seq)


def produce_raw(sock, corr, batch, acks=-1):
    sock.sendall(h.kafka_request(0, 7, corr, kw.produce_body([(RAW_TOPIC, [(0, batch)])], acks=acks)))
    got_corr, parts, _, _ = kw.parse_produce_response(h.recv_frame(sock), 7)
    assert got_corr == corr
    return parts[(RAW_TOPIC, 0)]


def log_end(broker, topic=RAW_TOPIC):
    err, _, offset = h.list_offsets(broker, topic, [0])[0]
    assert err == 0
    return offset


def stored_batches(broker, pid, topic=RAW_TOPIC):
    """[(base_offset, epoch, base_sequence, count)] of pid's batches in the partition's segments."""
    out = []
    for seg in broker.segments(topic, 0):
        for b in kw.read_segment(seg)[0]:
            if b.producer_id == pid:
                out.append((b.base_offset, b.producer_epoch, b.base_sequence, b.count))
    return out


def test_retried_batch_is_acknowledged_twice_and_stored_once(cluster):
    b = cluster.brokers[LEADER]
    err, pid, epoch = init_producer_id(b)
    assert (err, epoch) == (0, 0)
    s = h.connect(b.port, timeout=30)
    start = log_end(b)
    first = idempotent_batch(pid, 0, 0, 3, "once")
    with h.step(f"send the same idempotent batch (producer {pid}, epoch 0, sequences 0-2) twice, acks=all"):
        a1 = produce_raw(s, 1, first)
        a2 = produce_raw(s, 2, first)
    print(f"first answer {a1}, retry answer {a2}")
    assert a1.error == 0 and a2.error == 0, (a1, a2)
    assert a1.base_offset == a2.base_offset == start, (start, a1, a2)
    assert log_end(b) == start + 3
    with h.step("a sequence gap (5 after 2), then the next batch (3), then epoch 1 and an epoch-0 straggler"):
        gap = produce_raw(s, 3, idempotent_batch(pid, 0, 5, 1, "gap"))
        nxt = produce_raw(s, 4, idempotent_batch(pid, 0, 3, 2, "next"))
        bumped = produce_raw(s, 5, idempotent_batch(pid, 1, 0, 1, "bumped"))
        stale = produce_raw(s, 6, idempotent_batch(pid, 0, 5, 1, "stale"))
        late_retry = produce_raw(s, 7, first)
    s.close()
    print(f"gap {gap}, next {nxt}, new epoch {bumped}, stale epoch {stale}, old retry {late_retry}")
    assert gap.error == ERR_OUT_OF_ORDER and gap.base_offset == -1, gap
    assert nxt.error == 0 and nxt.base_offset == start + 3, nxt
    assert bumped.error == 0 and bumped.base_offset == start + 5, bumped
    assert stale.error == ERR_INVALID_EPOCH and stale.base_offset == -1, stale
    assert late_retry.error == ERR_INVALID_EPOCH, late_retry
    assert log_end(b) == start + 6
    assert stored_batches(b, pid) == [(start, 0, 0, 3), (start + 3, 0, 3, 2), (start + 5, 1, 0, 1)], \
        stored_batches(b, pid)


def restart(cluster, broker, how):
    _, old = broker.registration()
    if how == "kill -9":
        broker.kill9()
    else:
        assert broker.stop() == 0, f"broker {broker.id} did not stop cleanly"
    broker.start()
    broker.wait_registered(30, newer_than=old.czxid)
    cluster.wait_topic_ready(RAW_TOPIC, 60)


def test_retry_is_recognised_after_kill9_and_after_clean_restart(cluster):
    b = cluster.brokers[LEADER]
    err, pid, _ = init_producer_id(b)
    assert err == 0
    s = h.connect(b.port, timeout=30)
    start = log_end(b)
    batches = [idempotent_batch(pid, 0, seq, 2, f"r{seq}") for seq in range(0, 12, 2)]
    answers = [produce_raw(s, 10 + i, bt) for i, bt in enumerate(batches)]
    s.close()
    assert [(a.error, a.base_offset) for a in answers] == [(0, start + 2 * i) for i in range(6)], answers
    assert not list(b.partition_dir(RAW_TOPIC, 0).glob("*.snapshot")), "no roll or stop has written a snapshot yet"

    with h.step(f"kill -9 broker {LEADER} and start it again"):
        restart(cluster, b, "kill -9")
    s = h.connect(b.port, timeout=30)
    # No snapshot: the state is rebuilt from the log, the last five batches included.
    retries = [produce_raw(s, 30 + i, bt) for i, bt in enumerate(batches[-5:])]
    s.close()
    assert [(a.error, a.base_offset) for a in retries] == [(0, start + 2 * i) for i in range(1, 6)], retries
    assert log_end(b) == start + 12

    with h.step(f"stop broker {LEADER} with SIGTERM and start it again"):
        restart(cluster, b, "SIGTERM")
    snapshots = sorted(p.name for p in b.partition_dir(RAW_TOPIC, 0).glob("*.snapshot"))
    print(f"after the clean stop: snapshots {snapshots}")
    assert snapshots == [kw.segment_name(start + 12, ".snapshot")], "a clean stop leaves <log end>.snapshot"
    s = h.connect(b.port, timeout=30)
    last = produce_raw(s, 40, batches[-1])
    # A snapshot keeps only each producer's last batch, as Kafka's does.
    older = produce_raw(s, 41, batches[-2])
    nxt = produce_raw(s, 42, idempotent_batch(pid, 0, 12, 1, "after"))
    s.close()
    print(f"after the clean stop: last batch {last}, the one before {older}, the next {nxt}")
    assert (last.error, last.base_offset) == (0, start + 10), last
    assert older.error == ERR_OUT_OF_ORDER, older
    assert (nxt.error, nxt.base_offset) == (0, start + 12), nxt
    assert len(stored_batches(b, pid)) == 7


# -- librdkafka's idempotent producer through a kill -9 ------------------------------------

class NumberedProducer:
    """confluent-kafka with enable.idempotence=true producing 0..N-1 from a thread."""

    def __init__(self, bootstrap):
        from confluent_kafka import Producer
        self.fatal = []
        self.producer = Producer({
            "bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 2,
            "batch.num.messages": 500,
            "message.timeout.ms": 120000, "retry.backoff.ms": 100, "socket.timeout.ms": 20000,
            "error_cb": self.on_error})
        self.acked = 0
        self.failed = []
        self.produced = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def on_error(self, err):
        if err.fatal():
            self.fatal.append(str(err))

    def report(self, err, m):
        if err is not None:
            self.failed.append((m.value(), str(err)))
        else:
            self.acked += 1

    def run(self):
        for i in range(N_RECORDS):
            while True:
                try:
                    self.producer.produce(TOPIC, value=b"%d" % i, partition=0, on_delivery=self.report)
                    break
                except BufferError:
                    self.producer.poll(0.05)
            self.produced = i + 1
            if i % 2000 == 1999:
                self.producer.poll(0)
                time.sleep(0.01)  # spread production over a few seconds so the kill lands inside it


def retries_answered(broker):
    """Duplicates the broker answered without appending (its debug log)."""
    return sum(1 for ln in broker.process.log_text().splitlines() if "answered from the producer state" in ln)


def test_librdkafka_idempotent_producer_through_kill9_loses_and_duplicates_nothing(cluster):
    victim = cluster.brokers[LEADER]
    assert cluster.leader(TOPIC, 0) is victim
    p = NumberedProducer(cluster.bootstrap())
    with h.step(f"librdkafka (idempotent, acks=all) starts producing {N_RECORDS} numbered records"):
        p.thread.start()
        h.wait_until(lambda: p.acked >= 20000 or p.fatal or p.failed, 60,
                     "20,000 acknowledged records before the kill")
    assert not p.fatal and not p.failed, (p.fatal, p.failed[:3])
    _, old = victim.registration()
    retried_before = retries_answered(victim)
    with h.step(f"kill -9 broker {LEADER} (acked {p.acked}, produced {p.produced}) and restart it at once"):
        victim.kill9()
        victim.start()
        victim.wait_registered(30, newer_than=old.czxid)
    with h.step("wait until the producer has handed over every record and flushed"):
        p.thread.join(120)
        assert not p.thread.is_alive(), "the producer thread did not finish"
        left = p.producer.flush(120)
    print(f"acked {p.acked}, failed {len(p.failed)}, fatal {p.fatal}, undelivered {left}")
    assert left == 0 and not p.fatal and not p.failed, (left, p.fatal, p.failed[:3])
    assert p.acked == N_RECORDS
    with h.step("read the partition back with confluent-kafka (assign)"):
        recs, eof = h.ck_consume(cluster.bootstrap(), [(TOPIC, 0)])
    retried = retries_answered(victim) - retried_before
    print(f"broker {LEADER} answered {retried} of librdkafka's retried batch(es) from the producer state")
    values = [int(r.value) for r in recs]
    offsets = [r.offset for r in recs]
    dups = len(values) - len(set(values))
    print(f"read {len(values)} records, {dups} duplicated, end offset {eof}")
    assert offsets == list(range(len(recs))), "offsets must be dense from 0"
    assert values == list(range(N_RECORDS)), (
        f"expected 0..{N_RECORDS - 1} once each in order; got {len(values)} records, {dups} duplicates, "
        f"first difference at index {next((i for i, (a, b) in enumerate(zip(values, range(N_RECORDS))) if a != b), None)}")
