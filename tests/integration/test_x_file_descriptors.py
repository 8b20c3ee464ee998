"""
Scenario x: file descriptors (issue 8, item 7).

Broker 1 hosts a topic of 120 partitions whose logs have rolled a few
segments each.  It keeps about one descriptor per partition (it kept three
per segment), and /metrics says how many it has open (kbroker_open_fds,
counted in /proc/self/fd) against its limit (kbroker_open_fds_limit).
Restarted under `prlimit --nofile=100:100`, too few for 120 partitions, it
refuses to start with a message naming file descriptors and RLIMIT_NOFILE
(it used to fail later, e.g. as "could not connect to ZooKeeper"), and never
registers.  Under `prlimit --nofile=100:4096` it raises its soft limit to the
hard one, says so, starts, and serves every record.
"""
import pytest

import kbharness as h

TOPIC = "many"
PARTITIONS = 120
ROUNDS = 3


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start broker 1 (small segments, metrics on)"):
        c.start_brokers([1], metrics=True, extra={"log.segment.bytes": "1024"})
        c.wait_controller()
    c.create_topic(TOPIC, assignment=",".join(["1"] * PARTITIONS), timeout=180)
    return c


@pytest.fixture(scope="module")
def acked(cluster):
    """ROUNDS batches of 1 KB per partition: each rolls a segment."""
    p = h.ck_producer(cluster.bootstrap(), linger_ms=0)
    recs = [h.Rec(TOPIC, part, None, f"p{part}-r{rnd}".encode(), b"v" * 1024, (), None)
            for rnd in range(ROUNDS) for part in range(PARTITIONS)]
    with h.step(f"confluent-kafka: {ROUNDS} records of 1 KB to each of {PARTITIONS} partitions"):
        reports = h.ck_produce(p, recs, flush_every=PARTITIONS)
    assert all(e is None for _, e in reports), [str(e) for _, e in reports if e][:3]
    return {(r.partition, r.offset, r.key) for r, _ in reports}


def read_back(cluster):
    recs, _ = h.ck_consume(cluster.bootstrap(), [(TOPIC, p) for p in range(PARTITIONS)])
    return {(r.partition, r.offset, r.key) for r in recs}


def test_one_descriptor_per_partition_shown_in_metrics(cluster, acked):
    b = cluster.brokers[1]
    segments = sum(len(b.segments(TOPIC, p)) for p in range(PARTITIONS))
    assert segments >= PARTITIONS * ROUNDS, f"only {segments} segments: the logs did not roll"
    values = b.metrics()
    fds, limit = h.metric(values, "kbroker_open_fds"), h.metric(values, "kbroker_open_fds_limit")
    print(f"{segments} segments in {PARTITIONS} partitions: {fds:.0f} descriptors open, limit {limit:.0f}")
    # One per partition plus the broker's own (listeners, ZooKeeper,
    # libevent, connections): far below the three per segment it was.
    assert PARTITIONS <= fds <= PARTITIONS + 100, f"{fds} descriptors open for {PARTITIONS} partitions"
    assert fds < limit


def test_too_low_a_limit_refuses_to_start_naming_it(cluster, acked):
    b = cluster.brokers[1]
    with h.step("stop broker 1"):
        assert b.stop() == 0
    mark = len(b.process.log_text())
    with h.step("start it under prlimit --nofile=100:100"):
        b.start(launcher=("prlimit", "--nofile=100:100"))
        rc = b.process.wait(60)
    out = b.process.log_text()[mark:]
    assert rc == 1, f"exit status {rc}:\n{out[-3000:]}"
    lines = [ln for ln in out.splitlines() if "RLIMIT_NOFILE" in ln and "file descriptors" in ln]
    assert lines, f"no line names file descriptors and RLIMIT_NOFILE:\n{out[-3000:]}"
    print(lines[-1])
    assert f"the {PARTITIONS} partition logs" in lines[-1], lines[-1]
    assert "could not connect to ZooKeeper" not in out
    assert b.registration() is None, "a broker that cannot serve registered"


def test_the_soft_limit_is_raised_to_the_hard_one(cluster, acked):
    b = cluster.brokers[1]
    mark = len(b.process.log_text())
    with h.step("start it under prlimit --nofile=100:4096"):
        b.start(launcher=("prlimit", "--nofile=100:4096"))
        b.wait_registered(60)
        cluster.wait_topic_ready(TOPIC, 180)
    out = b.process.log_text()[mark:]
    assert "raised from 100 to the hard limit 4096" in out, out[-3000:]
    assert f"the {PARTITIONS} partition log(s) found need about" in out, out[-3000:]
    assert h.metric(b.metrics(), "kbroker_open_fds_limit") == 4096
    with h.step(f"read all {PARTITIONS} partitions back"):
        got = read_back(cluster)
    assert got == acked, f"differences: {sorted(got ^ acked)[:5]}"
