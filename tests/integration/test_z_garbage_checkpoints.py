"""
Scenario z: checkpoint files full of garbage (issue 8, item 10).

Broker 1 leads a topic of three partitions holding acknowledged records.
While it is stopped, each of its checkpoint files (recovery-point,
replication and log-start offsets) is overwritten with garbage.  A broker
used to refuse to start on the first one (and systemd restarted it forever);
now, as Kafka, it warns naming each file and what it does instead, starts,
serves, and every record reads back.  Twice: after a clean stop, and after
kill -9, when the recovery point lost to the garbage means every segment is
recovered from offset 0.
"""
import pytest

import kbharness as h

TOPIC = "ckpt"
PARTITIONS = 3
CHECKPOINTS = ("recovery-point-offset-checkpoint", "replication-offset-checkpoint", "log-start-offset-checkpoint")
GARBAGE = b"0\n3\nnot a checkpoint at all\n\xff\xfe\x00 garbage " + h.seeded_garbage(200, seed=8)


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start broker 1"):
        c.start_brokers([1], fixed_ports=True, extra={"log.segment.bytes": "4096"})
        c.wait_controller()
    c.create_topic(TOPIC, partitions=PARTITIONS, rf=1)
    return c


def produce(cluster, tag, acked):
    p = h.ck_producer(cluster.bootstrap(), linger_ms=20)
    recs = [h.Rec(TOPIC, part, None, f"{tag}-{part}-{i}".encode(), b"value " * 40, (), None)
            for part in range(PARTITIONS) for i in range(60)]
    with h.step(f"confluent-kafka: 60 records to each partition ({tag})"):
        reports = h.ck_produce(p, recs, flush_every=20)
    assert all(e is None for _, e in reports), [str(e) for _, e in reports if e][:3]
    acked |= {(r.partition, r.offset, r.key) for r, _ in reports}


def garble_and_restart(cluster, how):
    b = cluster.brokers[1]
    _, old = b.registration()
    with h.step(f"stop broker 1 ({how})"):
        if how == "kill -9":
            b.kill9()
        else:
            assert b.stop() == 0
    for name in CHECKPOINTS:
        (b.log_dir / name).write_bytes(GARBAGE)
    mark = len(b.process.log_text())
    with h.step("start it again with garbage in every checkpoint file"):
        b.start()
        b.wait_registered(60, newer_than=old.czxid)
        cluster.wait_topic_ready(TOPIC, 60)
    return b.process.log_text()[mark:]


def check_served(cluster, log, acked):
    for name in CHECKPOINTS:
        lines = [ln for ln in log.splitlines() if f"ignoring unusable {name}" in ln]
        assert lines, f"no warning names {name}:\n{log[-3000:]}"
        print(lines[0])
    recs, _ = h.ck_consume(cluster.bootstrap(), [(TOPIC, p) for p in range(PARTITIONS)])
    got = {(r.partition, r.offset, r.key) for r in recs}
    assert got == acked, f"differences: {sorted(got ^ acked)[:5]}"


def test_after_a_clean_stop(cluster):
    acked = set()
    produce(cluster, "first", acked)
    log = garble_and_restart(cluster, "SIGTERM")
    check_served(cluster, log, acked)
    produce(cluster, "more", acked)  # and appends go on at the right offsets
    check_served(cluster, log, acked)
    cluster.acked = acked


def test_after_kill_9_every_segment_is_recovered(cluster):
    acked = cluster.acked
    log = garble_and_restart(cluster, "kill -9")
    assert "recovery points reset to 0" in log
    assert "after an unclean shutdown" in log
    check_served(cluster, log, acked)
