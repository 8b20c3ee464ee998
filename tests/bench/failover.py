"""
tests/bench/failover.py - what the controller costs at scale: creating
thousands of partitions on three brokers, failing over a broker that leads
a third of them, and restarting it.  Run by failover.sh (which builds a
release kbroker and sets KBROKER_BIN); prints figures, asserts none.

For each partition count N of SCALE (topics of 500 partitions; half of the
topics RF 3 and half RF 1 when N >= 10,000, else all RF 3):

  1. three brokers (session timeout SESSION_MS) on a fresh chroot;
     kbroker-admin creates the topics back to back; "create" is the time
     from the first create-topic to every broker's Metadata naming a
     leader for every partition; then, unmeasured, every broker finishes
     creating the logs of its replicas (off its loop, a few hundred a
     second here), so that the failover below is not measured behind a
     backlog of log creations;
  2. the broker (not the controller) leading the most partitions is killed
     with SIGKILL; after ZooKeeper expires its session (its /brokers/ids
     znode vanishes, polled every 10 ms), "first ack" is the time until a
     raw Produce (acks=1) to the new leader of one of its RF 3 partitions
     is acknowledged, and "all led" the time until every survivor's
     Metadata names a live leader for each RF 3 partition it led;
  3. it is started again: "restart" is the time from exec to its
     Metadata naming a leader for every partition again (its RF 1
     partitions were offline meanwhile).

Every wait is bounded (WAIT_S); a wait that runs out ends the script with
status 1.
"""
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import kbharness as h  # noqa: E402

SCALE = [int(x) for x in os.environ.get("SCALE", "3000 10000").split()]
PER_TOPIC = 500
SESSION_MS = int(os.environ.get("SESSION_MS", "2000"))
WAIT_S = float(os.environ.get("WAIT_S", "300"))
POLL_S = 0.01


def topics_for(n):
    count = max(1, n // PER_TOPIC)
    mixed = n >= 10000
    return [(f"t{n}_{i}", PER_TOPIC, 1 if mixed and i % 2 else 3) for i in range(count)]


def all_led(md, names, dead=()):
    for name in names:
        t = md["topics"].get(name)
        if t is None or t[0] != 0 or not t[1]:
            return False
        if any(p.leader < 0 or p.leader in dead for p in t[1].values()):
            return False
    return True


def wait(fn, what):
    return h.wait_until(fn, WAIT_S, what, interval=POLL_S)


def create(c, topics):
    names = [t[0] for t in topics]
    t0 = time.monotonic()
    for name, parts, rf in topics:
        r = c.admin("create-topic", "--topic", name, "--partitions", parts, "--replication-factor", rf)
        if r.returncode != 0:
            raise SystemExit(f"create-topic {name}: {r.stderr}")
    for b in c.brokers.values():
        wait(lambda b=b: all_led(h.metadata(b, names), names), f"broker {b.id} to see every leader")
    took = time.monotonic() - t0
    md = h.metadata(next(iter(c.brokers.values())), names)
    h.wait_until(lambda: logs_created(c, topics, md), WAIT_S, "every replica's log to be created", interval=0.2)
    return took


def logs_created(c, topics, md):
    """True when each broker has the first segment of every replica it
    holds: all partitions of an RF 3 topic, the ones it leads of RF 1."""
    for b in c.brokers.values():
        for name, parts, rf in topics:
            mine = range(parts) if rf > 1 else [p for p, m in md["topics"][name][1].items() if m.leader == b.id]
            if not all(b.segment(name, p).exists() for p in mine):
                return False
    return True


def leaders(md, topics):
    return {(name, p): m.leader for name, _, _ in topics for p, m in md["topics"][name][1].items()}


def first_ack(c, survivors, tp):
    topic, partition = tp

    def acked():
        md = h.metadata(survivors[0], [topic])
        leader = md["topics"][topic][1][partition].leader
        b = c.brokers.get(leader)
        if b is None or b not in survivors:
            return None
        try:
            return h.produce_one(b.port, topic, partition, b"failover", acks=1, timeout=5.0) == 0 or None
        except OSError:
            return None
    wait(acked, f"a record acknowledged on {topic}-{partition}")


def failover(c, topics):
    ctl = c.controller()
    md = h.metadata(c.brokers[ctl], [t[0] for t in topics])
    led = leaders(md, topics)
    rf = {name: r for name, _, r in topics}
    victim = max((b for b in c.brokers if b != ctl), key=lambda b: sum(1 for x in led.values() if x == b))
    moved = [tp for tp, lid in led.items() if lid == victim and rf[tp[0]] > 1]
    survivors = [b for i, b in c.brokers.items() if i != victim]
    c.brokers[victim].kill9()
    wait(lambda: victim not in c.registered_ids(), f"/brokers/ids/{victim} to vanish")
    t_exp = time.monotonic()
    first_ack(c, survivors, moved[0])
    t_ack = time.monotonic() - t_exp
    names = sorted({tp[0] for tp in moved})

    def moved_led(b):
        m = h.metadata(b, names)
        return all(m["topics"][t][1][p].leader not in (-1, victim) for t, p in moved)
    for b in survivors:
        wait(lambda b=b: moved_led(b), f"broker {b.id} to name new leaders")
    return victim, sum(1 for x in led.values() if x == victim), len(moved), t_ack, time.monotonic() - t_exp


def restart(c, victim, topics):
    names = [t[0] for t in topics]
    b = c.brokers[victim]
    t0 = time.monotonic()
    b.start()
    b.wait_registered(WAIT_S)
    t_reg = time.monotonic() - t0
    wait(lambda: all_led(h.metadata(b, names), names), f"restarted broker {victim} to see every leader")
    return t_reg, time.monotonic() - t0


def run(zk, workdir, n):
    topics = topics_for(n)
    c = h.Cluster(zk, workdir / f"p{n}", chroot=f"/kbfailover{n}")
    try:
        for i in (1, 2, 3):
            c.add_broker(i, fixed_port=True, session_timeout_ms=SESSION_MS).start()
        for b in c.brokers.values():
            b.wait_registered(WAIT_S)
        c.wait_controller(WAIT_S)
        t_create = create(c, topics)
        victim, n_led, n_moved, t_ack, t_all = failover(c, topics)
        t_reg, t_back = restart(c, victim, topics)
        print(f"RESULT partitions={n} rf3_topics={sum(1 for t in topics if t[2] == 3)} "
              f"create_s={t_create:.2f} victim={victim} led={n_led} moved={n_moved} "
              f"expiry_to_first_ack_ms={t_ack * 1000:.0f} expiry_to_all_led_ms={t_all * 1000:.0f} "
              f"restart_registered_ms={t_reg * 1000:.0f} restart_all_led_ms={t_back * 1000:.0f}", flush=True)
    finally:
        for b in c.brokers.values():
            b.stop(signal.SIGTERM)
        c.close()


def main():
    workdir = Path(os.environ["WORK"])
    zk = h.ZooKeeper(workdir / "zookeeper").start()
    try:
        for n in SCALE:
            run(zk, workdir, n)
    finally:
        zk.stop()


if __name__ == "__main__":
    main()
