"""
Scenario i: nothing acknowledged is lost when a broker is killed.

Three brokers on fixed ports with log.flush.interval.messages=1 (fsync every
append before it is acknowledged) and metrics endpoints.  First, the fsync
counter of each broker is at least the number of batches it acknowledged.
Then a confluent-kafka producer (acks=1) writes to all six partitions while
one broker is killed with SIGKILL and restarted at once: every record whose
delivery report came back with an offset is read back at that offset.
"""
import threading
import time

import pytest

import kafkawire as kw
import kbharness as h

TOPIC = "durable"
PARTITIONS = 6
VICTIM = 2
ACKED_EACH_SIDE = 1000  # records the victim acknowledges before the kill and after the restart


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2, 3 (fixed ports) with log.flush.interval.messages=1"):
        c.start_brokers([1, 2, 3], fixed_ports=True, metrics=True,
                        extra={"log.flush.interval.messages": 1})
        c.wait_controller()
    c.create_topic(TOPIC, PARTITIONS, 1)
    return c


def batches_on_disk(broker, topic, partitions):
    n = 0
    for p in partitions:
        for seg in broker.segments(topic, p):
            bs, end, size = kw.read_segment(seg, verify_crc=False)
            n += len(bs)
    return n


def test_every_acknowledged_batch_is_fsynced(cluster):
    leaders = {p: cluster.leader(TOPIC, p) for p in range(PARTITIONS)}
    before = {b.id: h.metric(b.metrics(), "kbroker_log_fsyncs_total") for b in cluster.brokers.values()}
    p = h.ck_producer(cluster.bootstrap(), linger_ms=0)
    recs = [h.Rec(TOPIC, i % PARTITIONS, None, f"f-{i}".encode(), f"fsync-{i}".encode() * 4, (), None)
            for i in range(600)]
    with h.step("confluent-kafka (acks=1): 600 records, a flush every 30"):
        reports = h.ck_produce(p, recs, flush_every=30)
    assert all(e is None for _, e in reports), [e for _, e in reports if e][:3]
    for b in cluster.brokers.values():
        mine = [q for q, lb in leaders.items() if lb is b]
        acked = batches_on_disk(b, TOPIC, mine)
        fsyncs = h.metric(b.metrics(), "kbroker_log_fsyncs_total") - before[b.id]
        print(f"broker {b.id}: partitions {mine}, {acked} batches appended, {fsyncs:.0f} fsyncs")
        if mine:
            assert acked >= 20 * len(mine), \
                f"broker {b.id}: only {acked} batches; the producer batched more than planned"
        assert fsyncs >= acked, (f"broker {b.id} acknowledged {acked} batches with "
                                 f"log.flush.interval.messages=1 but counted {fsyncs:.0f} fsyncs")


class BackgroundProducer:
    """Produces to every partition from a thread until stopped; keeps every delivery report."""

    def __init__(self, bootstrap):
        self.producer = h.ck_producer(bootstrap, linger_ms=2, retry_backoff_ms=100,
                                      message_timeout_ms=90000)
        self.acked = {}    # (partition, offset) -> (key, value, monotonic time of the report)
        self.failed = []   # (key, error)
        self.sent = 0
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def report(self, err, m):
        if err is not None:
            self.failed.append((m.key(), err))
        else:
            self.acked[(m.partition(), m.offset())] = (m.key(), m.value(), time.monotonic())

    def run(self):
        i = 0
        while not self.stop_flag.is_set():
            key = f"k-{i:06d}".encode()
            try:
                self.producer.produce(TOPIC, key=key, value=b"durable-" + key, partition=i % PARTITIONS,
                                      on_delivery=self.report)
                i += 1
            except BufferError:
                pass
            self.producer.poll(0)
            if i % 10 == 0:
                time.sleep(0.005)  # about 2,000 records a second: reading them back stays quick
        self.sent = i

    def start(self):
        self.thread.start()

    def acked_count(self, partitions, after=None):
        """Records acknowledged on partitions (after the monotonic time
        `after`, if given); the producer thread adds to acked meanwhile."""
        return sum(1 for (p, _), (_, _, t) in list(self.acked.items())
                   if p in partitions and (after is None or t > after))

    def finish(self, timeout=120):
        self.stop_flag.set()
        self.thread.join(30)
        left = self.producer.flush(timeout)
        assert left == 0, f"{left} records undelivered {timeout}s after producing stopped"


def test_kill9_during_produce_loses_nothing_acknowledged(cluster):
    victim = cluster.brokers[VICTIM]
    victim_parts = [p for p in range(PARTITIONS) if cluster.leader(TOPIC, p) is victim]
    assert victim_parts, f"broker {VICTIM} leads no partition of {TOPIC}"
    base = {p: h.list_offsets(cluster.leader(TOPIC, p), TOPIC, [p])[p][2] for p in range(PARTITIONS)}
    bp = BackgroundProducer(cluster.bootstrap())
    bp.start()
    with h.step(f"produce until broker {VICTIM} has acknowledged {ACKED_EACH_SIDE} records"):
        h.wait_until(lambda: bp.acked_count(victim_parts) >= ACKED_EACH_SIDE, 120,
                     f"{ACKED_EACH_SIDE} records acknowledged by broker {VICTIM}")
    _, old = victim.registration()
    t_kill = time.monotonic()
    with h.step(f"kill -9 broker {VICTIM} during produce and restart it at once"):
        victim.kill9()
        victim.start()
        victim.wait_registered(30, newer_than=old.czxid)
    acked_before_kill = sum(1 for (p, _), (_, _, t) in list(bp.acked.items()) if p in victim_parts and t < t_kill)
    with h.step(f"wait until broker {VICTIM} serves its partitions again"):
        cluster.wait_topic_ready(TOPIC, 60)
    # Everything at or past these offsets is appended by the restarted broker.
    ends_after_restart = {p: v[2] for p, v in h.list_offsets(victim, TOPIC, victim_parts).items()}
    with h.step(f"produce until the restarted broker {VICTIM} has acknowledged {ACKED_EACH_SIDE} records"):
        h.wait_until(lambda: bp.acked_count(victim_parts, after=t_kill) >= ACKED_EACH_SIDE, 120,
                     f"{ACKED_EACH_SIDE} records acknowledged by broker {VICTIM} after its restart")
    with h.step("stop producing and flush"):
        bp.finish()
    acked_after = sum(1 for (p, _), (_, _, t) in bp.acked.items() if p in victim_parts and t > t_kill)
    print(f"sent {bp.sent}, acknowledged {len(bp.acked)}, failed {len(bp.failed)}; broker {VICTIM} "
          f"acknowledged {acked_before_kill} before the kill and {acked_after} after")
    assert acked_before_kill > 0, f"broker {VICTIM} acknowledged nothing before it was killed"
    assert acked_after > 0, f"broker {VICTIM} acknowledged nothing after its restart"
    assert len(bp.acked) + len(bp.failed) == bp.sent

    with h.step("read every partition back with confluent-kafka"):
        recs, _ = h.ck_consume(cluster.bootstrap(), [(TOPIC, p) for p in range(PARTITIONS)])
    on_log = {(r.partition, r.offset): (r.key, r.value) for r in recs}
    lost = sorted(pos for pos in bp.acked if pos[1] >= base[pos[0]] and on_log.get(pos) != bp.acked[pos][:2])
    assert not lost, (f"{len(lost)} acknowledged records are not at their offsets, e.g. "
                      + ", ".join(f"{TOPIC}-{p}@{o}: acked {bp.acked[(p, o)][0]}, read {on_log.get((p, o))}"
                                  for p, o in lost[:5]))
    assert not bp.failed, f"{len(bp.failed)} deliveries failed, e.g. {bp.failed[:3]}"

    # The restarted broker (its counters start again at 0) also fsynced every
    # batch it acknowledged.
    appended = 0
    for p in victim_parts:
        for seg in victim.segments(TOPIC, p):
            appended += sum(1 for b in kw.read_segment(seg, verify_crc=False)[0]
                            if b.base_offset >= ends_after_restart[p])
    fsyncs = h.metric(victim.metrics(), "kbroker_log_fsyncs_total")
    print(f"broker {VICTIM} after its restart: {appended} batches appended, {fsyncs:.0f} fsyncs")
    assert appended > 0 and fsyncs >= appended, \
        f"broker {VICTIM} appended {appended} batches after its restart but counted {fsyncs:.0f} fsyncs"
