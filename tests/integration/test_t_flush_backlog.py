"""
Scenario t: thousands of segment rolls do not build a flush backlog
(issue 8 item 6; zk-and-replication.md 4.6, 4.8, 4.9).

A producer whose clock jumps (or a client replaying old data) can send
batches whose timestamps lie eight days apart: with log.roll.ms at its
default of seven days every such batch rolls a new segment, and Kafka
fsyncs the segment just rolled.  One broker with metrics; topic "rolling"
(one partition, retention.ms=-1 so nothing is deleted meanwhile, tiny
preallocated indexes) gets ROLLS such batches, crafted with kafkawire and
pipelined over one connection.  Then:

  * every segment was fsynced about once: kbroker_log_fsyncs_total stays
    O(segments), not O(segments^2) as when every roll queued an fsync of
    every segment since the recovery point;
  * a produce to an unrelated flush.messages=1 topic ("durable") is
    acknowledged (its latency is printed, never asserted), and the flush
    queue drains;
  * SIGTERM: the broker exits 0; its clean shutdown fsyncs at most the
    segments that were still unflushed (read from its log line), and the
    shutdown time is printed;
  * after a restart the clean-shutdown marker was trusted, every segment is
    there, and the recovery-point checkpoint of "rolling" is its log end.

The same pipeline must not hold up other clients.  Sent while the broker
is paused (SIGSTOP), so that it is all there when the broker reads,
together with a ListOffsets on a second connection: the ListOffsets is
answered while the pipeline is still being worked through (the log end it
reports is below the pipeline's last offset), and every produce succeeds.
The loop used to serve one connection until its input was empty: for
seconds, during which nothing else ran, ZooKeeper's answers included, so
that the leader's session lease lapsed and it refused the pipeline's later
produces with NOT_LEADER_OR_FOLLOWER (before the lease, the session
expired).
"""
import re
import time

import pytest

import kafkawire as kw
import kbharness as h

ROLLING = "rolling"
DURABLE = "durable"
ROLLS = 2000
DAY_MS = 24 * 3600 * 1000
BASE_TS = int(time.time() * 1000)


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start broker 1 with metrics"):
        c.start_brokers([1], metrics=True)
        c.wait_controller()
    c.create_topic(ROLLING, assignment="1",
                   configs=["retention.ms=-1", "segment.index.bytes=4096"])
    c.create_topic(DURABLE, assignment="1", configs=["flush.messages=1"])
    return c


def produce_frame(topic, batch, corr, acks=1):
    body = kw.produce_body([(topic, [(0, batch)])], acks=acks)
    return h.kafka_request(0, 7, corr, body)


def roll_frames(n, first=0, topic=ROLLING):
    """n single-record Produce requests, each batch eight days after the
    previous one."""
    return b"".join(
        produce_frame(topic, kw.build_batch([(b"k", b"roll-%d" % i)], base_timestamp=BASE_TS + i * 8 * DAY_MS),
                      i + 1) for i in range(first, first + n))


def read_produce_errors(s, n, topic=ROLLING):
    errors = []
    for _ in range(n):
        _, got, _, _ = kw.parse_produce_response(h.recv_frame(s))
        errors.append(got[(topic, 0)].error)
    return errors


def pipeline_rolls(broker, n, first=0):
    """Sends n rolls as pipelined Produce requests; returns the error codes
    answered."""
    s = h.connect(broker.port, timeout=300)
    try:
        s.sendall(roll_frames(n, first))
        return read_produce_errors(s, n)
    finally:
        s.close()


def produce_durable(broker, value, timeout=600):
    """One acks=1 produce to the flush.messages=1 topic: (error, seconds)."""
    s = h.connect(broker.port, timeout=timeout)
    try:
        t0 = time.monotonic()
        s.sendall(produce_frame(DURABLE, kw.build_batch([(b"d", value)], base_timestamp=int(time.time() * 1000)), 1))
        _, got, _, _ = kw.parse_produce_response(h.recv_frame(s))
        return got[(DURABLE, 0)].error, time.monotonic() - t0
    finally:
        s.close()


def fsyncs(broker):
    return h.metric(broker.metrics(), "kbroker_log_fsyncs_total")


def queued(broker):
    values = broker.metrics()
    if "kbroker_log_flush_queue_items" not in values:
        raise h.Fatal("the broker exports no kbroker_log_flush_queue_items")
    return values["kbroker_log_flush_queue_items"]


def roll(broker, n, first=0):
    with h.step(f"{n} batches eight days apart roll {n} segments"):
        errors = pipeline_rolls(broker, n, first)
        assert set(errors) == {0}, f"errors answered: {sorted(set(errors))}"
        segments = len(broker.segments(ROLLING, 0))
        print(f"    {segments} segments on disk")
        assert segments >= first + n, f"only {segments} segments after {first + n} rolls"
        return segments


def sigterm(broker, what):
    """Stops the broker with SIGTERM: (logs closed, segment fsyncs at shutdown,
    flush items still queued), from its shutdown summary line."""
    t0 = time.monotonic()
    rc = broker.stop(timeout=600)
    h.note(f"shutdown {what}", time.monotonic() - t0)
    assert rc == 0, f"exit status {rc}"
    closes = re.findall(r"closed (\d+) log\(s\): (\d+) segment fsync\(s\) at shutdown, (\d+) flush item",
                        broker.process.log_text())
    assert closes, "no shutdown summary line in the broker log"
    logs, at_close, backlog = (int(x) for x in closes[-1])
    print(f"    shutdown: {logs} logs, {at_close} segment fsyncs, {backlog} flush items were queued")
    return logs, at_close, backlog


def recovery_point(broker):
    text = (broker.log_dir / "recovery-point-offset-checkpoint").read_text()
    got = re.search(rf"^{ROLLING} 0 (\d+)$", text, re.M)
    assert got, text
    return int(got.group(1))


@pytest.mark.scenario("p")
def test_rolls_are_fsynced_once_and_do_not_delay_other_logs_or_shutdown(cluster):
    broker = cluster.brokers[1]
    before = fsyncs(broker)
    segments = roll(broker, ROLLS)

    with h.step("a flush.messages=1 produce to another topic is acknowledged"):
        err, latency = produce_durable(broker, b"after-the-rolls")
        assert err == 0, f"durable produce answered {err}"
        h.note(f"flush.messages=1 produce latency after {ROLLS} rolls", latency)

    with h.step("fsyncs are O(segments); the flush queue drains"):
        # Each rolled segment once, plus the durable topic's fsync and a few
        # repeats of an active segment: linear.  The old flusher fsynced
        # every segment since the recovery point at every roll.
        done = fsyncs(broker) - before
        print(f"    {done:.0f} segment fsyncs for {segments} segments when the produce was acknowledged")
        assert done <= 2 * segments + 10, f"{done:.0f} fsyncs for {segments} segments: the flush work is not coalesced"
        h.wait_until(lambda: queued(broker) == 0, 600, "the flush queue to drain")
        done = fsyncs(broker) - before
        print(f"    {done:.0f} segment fsyncs for {segments} segments once the queue drained")
        assert done <= 2 * segments + 10, f"{done:.0f} fsyncs for {segments} segments: the flush work is not coalesced"

    with h.step("SIGTERM with nothing queued: only the active segments are fsynced"):
        logs, at_close, _ = sigterm(broker, f"after {ROLLS} rolls, queue drained")
        assert at_close <= logs, f"{at_close} fsyncs at shutdown for {logs} logs after the queue drained"
        assert recovery_point(broker) == ROLLS

    with h.step("restart: the clean shutdown is trusted"):
        broker.start()
        broker.wait_registered()
        cluster.wait_topic_ready(ROLLING)
        assert "after an unclean shutdown" not in broker.process.log_text().split("==== ")[-1]
        assert h.list_offsets(broker, ROLLING, [0])[0][2] == ROLLS
        err, _ = produce_durable(broker, b"after-the-restart")
        assert err == 0

    segments = roll(broker, ROLLS, first=ROLLS)
    with h.step("SIGTERM right after the rolls: each unflushed segment is fsynced once"):
        logs, at_close, backlog = sigterm(broker, f"right after {ROLLS} more rolls")
        assert at_close <= ROLLS + logs, f"{at_close} fsyncs at shutdown after {ROLLS} rolls"
        assert backlog <= 2 * ROLLS + 10, f"{backlog} flush items queued after {ROLLS} rolls"
        assert recovery_point(broker) == 2 * ROLLS


def test_pipelined_requests_of_one_client_do_not_hold_up_another(cluster):
    broker = cluster.brokers[1]
    if not broker.alive():
        broker.start()
        broker.wait_registered()
    topic = "rolling-probed"
    cluster.create_topic(topic, assignment="1", configs=["retention.ms=-1", "segment.index.bytes=4096"])
    n = ROLLS // 4
    a = h.connect(broker.port, timeout=300)
    try:
        with h.step(f"pause broker 1; send {n} pipelined rolls on one connection and a ListOffsets on another"):
            with h.paused(broker):
                a.sendall(roll_frames(n, topic=topic))
                b = h.connect(broker.port, timeout=300)
                b.sendall(h.kafka_request(2, 1, 1, kw.list_offsets_v1_body([(topic, [(0, kw.LATEST)])])))
        with h.step("resume it; read both answers"):
            _, got = kw.parse_list_offsets_v1_response(h.recv_frame(b))
            b.close()
            errors = read_produce_errors(a, n, topic)
    finally:
        a.close()
    listed = got[(topic, 0)]
    print(f"    the other client's ListOffsets saw log end {listed[2]} of {n}")
    assert set(errors) == {0}, f"errors answered: {sorted(set(errors))}"
    assert listed[0] == 0, listed
    assert listed[2] < n, \
        f"the ListOffsets on another connection was answered only after all {n} pipelined produces"
