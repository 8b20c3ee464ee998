#!/usr/bin/python3
"""
tests/bench/rolls.py - produce latency with flush.messages=1 and shutdown
time after many segment rolls (issue 8 item 6).

    /usr/bin/python3 tests/bench/rolls.py [--rolls 0,500,1000,2000] [--samples 20]

For each roll count N, twice on a fresh broker (one ZooKeeper for the
run, the integration harness's processes): topic "rolling" gets N
single-record batches whose timestamps lie eight days apart, pipelined over
one connection, so that every batch rolls a segment (log.roll.ms defaults
to seven days).  Right after the last answer, with whatever flush work the
rolls left queued, the first broker measures

  first produce  the latency of one acks=1 produce to topic "durable"
                 (flush.messages=1: answered after its fsync);
  median         the median of --samples more such produces;
  fsyncs         kbroker_log_fsyncs_total after them;

and the second broker gets SIGTERM at once:

  SIGTERM s      from the signal to the exit (status 0);
  its fsyncs     the segment fsyncs its clean shutdown did (its log line).

Binaries: $KBROKER_BIN / $KBROKER_ADMIN_BIN (default build/).  With
$KBROKER_BIN_OLD the same runs are made with that binary too, for a side
by side table (an older kbroker queued an fsync of every segment since
the recovery point at each roll: allow minutes for 2,000 rolls).
Figures only: nothing here passes or fails on them; the exit status is 1
only when a run did not complete.
"""
import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import kafkawire as kw  # noqa: E402
import kbharness as h  # noqa: E402

DAY_MS = 24 * 3600 * 1000


def produce_frame(topic, batch, corr):
    return h.kafka_request(0, 7, corr, kw.produce_body([(topic, [(0, batch)])], acks=1))


def roll(broker, n, base_ts):
    frames = b"".join(produce_frame("rolling", kw.build_batch([(b"k", b"roll-%d" % i)],
                                                              base_timestamp=base_ts + i * 8 * DAY_MS), i + 1)
                      for i in range(n))
    s = h.connect(broker.port, timeout=3600)
    try:
        s.sendall(frames)
        for _ in range(n):
            _, got, _, _ = kw.parse_produce_response(h.recv_frame(s))
            assert got[("rolling", 0)].error == 0, got
    finally:
        s.close()


def durable_produce(sock, corr):
    t0 = time.monotonic()
    sock.sendall(produce_frame("durable", kw.build_batch([(b"d", b"x" * 100)], base_timestamp=int(time.time() * 1000)),
                               corr))
    _, got, _, _ = kw.parse_produce_response(h.recv_frame(sock))
    assert got[("durable", 0)].error == 0, got
    return time.monotonic() - t0


def start_broker(zk, workdir, binary):
    """A fresh broker (its own log dir and ZooKeeper chroot) with the topics."""
    h.KBROKER_BIN = binary
    cluster = h.Cluster(zk, workdir, chroot="/" + workdir.name)
    broker = cluster.add_broker(1, metrics=True)
    broker.start()
    broker.wait_registered(60)
    for topic, configs in (("rolling", ["retention.ms=-1", "segment.index.bytes=4096"]),
                           ("durable", ["flush.messages=1"])):
        r = cluster.admin("create-topic", "--topic", topic, "--replica-assignment", "1",
                          *[a for c in configs for a in ("--config", c)])
        assert r.returncode == 0, r.stderr
        cluster.wait_topic_ready(topic)
    return cluster, broker


def sigterm(broker):
    """(seconds from SIGTERM to exit, segment fsyncs the clean shutdown did)."""
    t0 = time.monotonic()
    rc = broker.stop(timeout=3600)
    seconds = time.monotonic() - t0
    assert rc == 0, f"exit status {rc}"
    closes = re.findall(r"closed \d+ log\(s\): (\d+) segment fsync", broker.process.log_text())
    return seconds, int(closes[-1]) if closes else -1


def run_one(zk, workdir, binary, rolls, samples):
    """Two fresh brokers through N rolls: one is then timed on durable
    produces (and stopped), the other stopped at once."""
    row = {"rolls": rolls}
    for mode in ("produce", "stop"):
        cluster, broker = start_broker(zk, workdir.with_name(f"{workdir.name}-{mode}"), binary)
        try:
            t0 = time.monotonic()
            roll(broker, rolls, int(time.time() * 1000))
            row["roll_s"] = time.monotonic() - t0
            if mode == "stop":
                row["stop_s"], row["stop_fsyncs"] = sigterm(broker)
                continue
            s = h.connect(broker.port, timeout=3600)
            try:
                first = durable_produce(s, 1)
                rest = [durable_produce(s, i + 2) for i in range(samples)]
            finally:
                s.close()
            row["first_ms"] = first * 1000
            row["median_ms"] = statistics.median(rest) * 1000 if rest else float("nan")
            row["fsyncs"] = h.metric(broker.metrics(), "kbroker_log_fsyncs_total")
        finally:
            for b in cluster.brokers.values():
                b.stop()
            cluster.close()
    return row


def table(name, rows):
    print(f"\n{name}")
    print(f"{'rolls':>6} {'roll s':>7} {'first produce ms':>17} {'median ms':>10} {'fsyncs':>9} "
          f"{'SIGTERM s':>10} {'its fsyncs':>11}")
    for r in rows:
        print(f"{r['rolls']:>6} {r['roll_s']:>7.2f} {r['first_ms']:>17.1f} {r['median_ms']:>10.2f} "
              f"{r['fsyncs']:>9.0f} {r['stop_s']:>10.2f} {r['stop_fsyncs']:>11}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rolls", default="0,500,1000,2000")
    ap.add_argument("--samples", type=int, default=20)
    args = ap.parse_args()
    counts = [int(x) for x in args.rolls.split(",")]
    binaries = [("kbroker", h.KBROKER_BIN)]
    if os.environ.get("KBROKER_BIN_OLD"):
        binaries.append(("kbroker (KBROKER_BIN_OLD)", os.environ["KBROKER_BIN_OLD"]))
    with tempfile.TemporaryDirectory(prefix="kbrolls.") as tmp:
        zk = h.ZooKeeper(Path(tmp) / "zookeeper").start()
        try:
            for bi, (name, binary) in enumerate(binaries):
                rows = []
                for n in counts:
                    workdir = Path(tmp) / f"bench{bi}-{len(rows)}"
                    rows.append(run_one(zk, workdir, binary, n, args.samples))
                    print(f"rolls: {name}: {rows[-1]}", file=sys.stderr, flush=True)
                table(f"{name}: {binary}", rows)
        finally:
            zk.stop()


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, h.Timeout) as e:
        print(f"rolls: run did not complete: {e}", file=sys.stderr)
        sys.exit(1)
