"""
Scenario zq: restarting brokers one by one without clients noticing, and
putting the preferred leaders back (issue 14 items 4 and 5,
zk-and-replication.md 2.6, 2.7, 3.9).

One ZooKeeper and three brokers for the whole file (fixed ports, so a
restarted broker is where clients last saw it; controller.socket.timeout.ms
6000 and controlled.shutdown.retry.backoff.ms 1000, so that a controlled
shutdown that cannot complete gives up within seconds; the automatic
rebalance off until its own scenario).  The scenarios, in order:

  rolling restart   librdkafka (idempotent, acks=all) produces numbered
                    records to a 6-partition RF 3 topic with
                    min.insync.replicas=2 while a group consumer reads them;
                    each broker in turn gets SIGTERM, exits within a bound
                    after the controller moved every leadership it had (its
                    log says so, and no state znode names it leader when its
                    registration goes), restarts and rejoins every ISR;
                    every delivery report succeeds and a fresh read finds
                    each value exactly once;
  elect-leaders     after the restarts the last broker restarted leads
                    nothing; `kbroker-admin elect-leaders
                    --all-topic-partitions` makes every preferred replica
                    lead again and says so in Kafka's words;
  ElectLeaders      crafted requests (v0, v1, v2 flexible) to the
                    controller: ELECTION_NOT_NEEDED (84) for partitions led
                    by their preferred replica, UNKNOWN_TOPIC_OR_PARTITION
                    for unknown ones, PREFERRED_LEADER_NOT_AVAILABLE (80)
                    while the preferred replica is stopped, success once it
                    is back; NOT_CONTROLLER from another broker; null
                    partitions answer only the partitions elected; an
                    unknown election type and a request naming thousands of
                    partitions are refused (42);
  znode             /admin/preferred_replica_election written as
                    kafka-preferred-replica-election.sh does is processed
                    and deleted, also by a new controller when the one it
                    was written for froze; kbroker-admin --zookeeper
                    elect-leaders writes it and reports the outcome;
  stuck             a broker leading an RF 2 partition whose other replica
                    is down cannot hand it over: with
                    controlled.shutdown.max.retries=2 it exits after two
                    attempts with a warning;
  dead controller   the controller is killed (-9) and another broker gets
                    SIGTERM at once: its asks to the dead controller fail
                    on the refused connect, it asks again whoever
                    /controller names, and the controller elected once the
                    dead one's session expires moves its leaderships (it
                    does not stop without handing them over, whatever the
                    retries left); and when the controller asked is
                    frozen, the ask moves to the next one once it is elected;
  auto rebalance    with auto.leader.rebalance.enable and a 2 s check
                    interval, a rolling restart ends with every preferred
                    replica leading again, without any admin command.
"""
import json
import threading
import time

import pytest

import kafkawire as kw
import kbharness as h

BROKERS = [1, 2, 3]
SESSION_MS = 6000
BROKER_CONFIG = {
    "controller.socket.timeout.ms": "6000",
    "controlled.shutdown.retry.backoff.ms": "1000",
    "auto.leader.rebalance.enable": "false",
    "offsets.topic.replication.factor": "3",
    "offsets.topic.num.partitions": "6",
    "group.initial.rebalance.delay.ms": "0",
}
TOPIC = "orders"
EXIT_WAIT_S = 60
REJOIN_WAIT_S = 60
SUCCESS_LINE = "controlled shutdown succeeded"


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start brokers 1, 2, 3 (fixed ports, {SESSION_MS} ms sessions)"):
        c.start_brokers(BROKERS, fixed_ports=True, session_timeout_ms=SESSION_MS, extra=BROKER_CONFIG)
        c.wait_controller()
    return c


# -- helpers ---------------------------------------------------------------------

def preferred_lead(cluster, topic):
    """{partition: state} when every partition of topic is led by its first
    assigned replica, else None."""
    t, st = cluster.topic(topic), cluster.states(topic)
    if not t or not st:
        return None
    return st if all(st[int(p)]["leader"] == r[0] for p, r in t["partitions"].items()) else None


def leaders_on(cluster, topic, broker_id):
    st = cluster.states(topic) or {}
    return sorted(p for p, s in st.items() if s["leader"] == broker_id)


def controlled_stop(cluster, broker, topics):
    """SIGTERM; records every state znode of topics the moment the broker's
    registration is gone (the controller may elect only after that for an
    unclean stop) and waits for the exit.  Returns (exit status, states
    seen when the registration vanished, seconds to exit, what every other
    broker logged meanwhile)."""
    others = [b for b in cluster.brokers.values() if b is not broker and b.alive()]
    marks = {b.id: len(b.process.log_text()) for b in others}
    t0 = time.monotonic()
    broker.send_signal(15)
    h.wait_until(lambda: broker.id not in cluster.registered_ids() or not broker.alive(), EXIT_WAIT_S,
                 f"broker {broker.id}'s registration to go", interval=0.02)
    seen = {t: cluster.states(t) for t in topics}
    rc = broker.stop(timeout=EXIT_WAIT_S, signalled=True)
    logged = {b.id: b.process.log_text()[marks[b.id]:] for b in others}
    return rc, seen, time.monotonic() - t0, logged


# What a clean stop must not cause: the stopping broker refusing the
# controller's requests of its own controlled shutdown as if meant for a
# lost registration (STALE_BROKER_EPOCH, 77), and the controller warning
# that it did.
REFUSAL_LINES = ("refused: this broker lost its registration", "refused: broker epoch")


def assert_no_refusals(broker, logged):
    own = [ln for ln in broker.process.last_run_text().splitlines() if any(r in ln for r in REFUSAL_LINES)]
    assert not own, own
    theirs = [ln for text in logged.values() for ln in text.splitlines()
              if f"broker {broker.id} refused " in ln and "with error 77" in ln]
    assert not theirs, theirs


def restart(cluster, broker):
    old = broker.registration()
    broker.start()
    broker.wait_registered(60, newer_than=old[1].czxid if old else None)


def in_every_isr(cluster, broker_id, topics):
    for t in topics:
        st = cluster.states(t)
        if not st:
            return False
        for p, r in cluster.topic(t)["partitions"].items():
            if broker_id in r and broker_id not in st[int(p)]["isr"]:
                return False
    return True


def wait_in_every_isr(cluster, brokers):
    for b in brokers:
        h.wait_until(lambda: in_every_isr(cluster, b.id, TOPICS + ["stuck"]), REJOIN_WAIT_S,
                     f"broker {b.id} in every ISR", interval=0.2)


class Load:
    """librdkafka (enable.idempotence, acks=all) producing b"0", b"1", ...
    round-robin over the topic's partitions from a thread until stopped,
    and a group consumer reading them.  Delivery reports: acked, failed."""

    def __init__(self, bootstrap, topic, partitions):
        from confluent_kafka import Consumer, Producer
        self.topic, self.partitions = topic, partitions
        self.acked, self.failed, self.errors, self.fatal = set(), [], [], []
        self.consumed = []
        self.produced = 0
        self.stopping = threading.Event()
        self.producer = Producer({
            "bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
            "message.timeout.ms": 300000, "retry.backoff.ms": 100, "socket.timeout.ms": 20000,
            "error_cb": self.on_error})
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": "zq-readers", "auto.offset.reset": "earliest",
            "enable.auto.commit": True, "session.timeout.ms": 10000, "socket.timeout.ms": 20000,
            "error_cb": self.on_error})
        self.threads = [threading.Thread(target=self.produce, daemon=True),
                        threading.Thread(target=self.consume, daemon=True)]

    def on_error(self, err):
        self.errors.append(str(err))
        if err.fatal():
            self.fatal.append(str(err))

    def report(self, err, m):
        if err is not None:
            self.failed.append((m.value(), str(err)))
        else:
            self.acked.add(int(m.value()))

    def produce(self):
        i = 0
        while not self.stopping.is_set() and not self.fatal:
            try:
                self.producer.produce(self.topic, value=b"%d" % i, partition=i % self.partitions,
                                      on_delivery=self.report)
                i += 1
                self.produced = i
            except BufferError:
                self.producer.poll(0.05)
                continue
            self.producer.poll(0)
            if i % 50 == 0:
                time.sleep(0.01)  # a steady load, not a flood: the pacing of the producer, not a sync
        self.left = self.producer.flush(300)

    def consume(self):
        self.consumer.subscribe([self.topic])
        while not self.stopping.is_set():
            for m in self.consumer.consume(num_messages=1000, timeout=0.5):
                if m.error() is None:
                    self.consumed.append(int(m.value()))
        self.consumer.close()

    def start(self):
        for t in self.threads:
            t.start()

    def wait_consumed(self, n, timeout=120):
        start = len(self.consumed)
        h.wait_until(lambda: len(self.consumed) >= start + n, timeout, f"the group consumer to read {n} more")

    def wait_acked(self, n, timeout=120):
        start = len(self.acked)
        h.wait_until(lambda: len(self.acked) >= start + n or self.fatal or self.failed, timeout,
                     f"{n} more acknowledgements")
        assert not self.fatal and not self.failed, (self.fatal, self.failed[:3])

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(330)
            assert not t.is_alive(), "a client thread did not finish"


# -- scenarios -------------------------------------------------------------------

def test_rolling_restart_under_idempotent_acks_all_load_loses_and_duplicates_nothing(cluster):
    c = cluster
    c.create_topic(TOPIC, 6, 3, configs=["min.insync.replicas=2"])
    h.wait_full_isr(c, TOPIC)
    load = Load(c.bootstrap(), TOPIC, 6)
    with h.step("librdkafka produces (idempotent, acks=all) and a group consumer reads"):
        load.start()
        load.wait_acked(2000)
        h.wait_until(lambda: len(load.consumed) > 0, 60, "the consumer to read records")
    topics = [TOPIC, "__consumer_offsets"]
    for b in [c.brokers[i] for i in BROKERS]:
        led = leaders_on(c, TOPIC, b.id)
        with h.step(f"SIGTERM broker {b.id} (leads {TOPIC} partitions {led}; controller is "
                    f"{c.controller()}): it exits after handing its leaderships over"):
            rc, seen, secs, logged = controlled_stop(c, b, topics)
        h.note(f"broker {b.id}: SIGTERM -> exit", secs)
        assert rc == 0, f"broker {b.id} exited with status {rc}"
        assert SUCCESS_LINE in b.process.last_run_text(), b.process.tail(30)
        assert_no_refusals(b, logged)
        for t in topics:
            still = sorted(p for p, s in (seen[t] or {}).items() if s["leader"] == b.id)
            assert not still, f"{t} partitions {still} were still led by broker {b.id} when it left: {seen[t]}"
        load.wait_acked(1000)
        with h.step(f"restart broker {b.id}; wait until it is back in every ISR"):
            restart(c, b)
            h.wait_until(lambda: in_every_isr(c, b.id, topics), REJOIN_WAIT_S, f"broker {b.id} in every ISR",
                         interval=0.2)
        load.wait_acked(1000)
    with h.step("the group consumer still reads (its coordinator moved too)"):
        load.wait_consumed(1000)
    with h.step("stop the load: every delivery report succeeded"):
        load.stop()
    print(f"    produced {load.produced}, acked {len(load.acked)}, failed {len(load.failed)}, "
          f"client errors {len(load.errors)} (first: {load.errors[:3]})", flush=True)
    assert load.left == 0 and not load.fatal and not load.failed, (load.left, load.fatal, load.failed[:3])
    assert load.acked == set(range(load.produced))
    with h.step("read everything back: each value exactly once"):
        recs, _ = h.ck_consume(c.bootstrap(), [(TOPIC, p) for p in range(6)], timeout=180)
    values = [int(r.value) for r in recs]
    dups = len(values) - len(set(values))
    assert dups == 0, f"{dups} duplicated records"
    assert set(values) == set(range(load.produced)), f"{load.produced - len(set(values))} records lost"


def admin(*args, timeout=90):
    """kbroker-admin with the given connection option (no --zookeeper added)."""
    import subprocess
    argv = [h.KBROKER_ADMIN_BIN, *[str(a) for a in args]]
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    print(f"$ kbroker-admin {' '.join(argv[1:])}\n  exit {r.returncode} in {time.monotonic() - t0:.2f}s"
          f"\n  stdout: {r.stdout.strip()[:3000]}\n  stderr: {r.stderr.strip()[:2000]}", flush=True)
    return r


def not_preferred(cluster, topics):
    out = []
    for t in topics:
        st, asg = cluster.states(t) or {}, (cluster.topic(t) or {}).get("partitions", {})
        out += [f"{t}-{p}" for p, r in asg.items() if st.get(int(p), {}).get("leader") != r[0]]
    return sorted(out)


def elect(broker, partitions, version=1, election_type=kw.ELECT_PREFERRED, timeout_ms=30000):
    """One crafted ElectLeaders: (top-level error, {(topic, partition): (error, message)})."""
    body = kw.elect_leaders_body(partitions, election_type, timeout_ms, version)
    s = h.connect(broker.port, 60)
    try:
        s.sendall(h.kafka_request(43, version, 1, body, flexible_header=version >= 2))
        return kw.parse_elect_leaders_response(h.recv_frame(s), version)
    finally:
        s.close()


def bounce(cluster, broker, topics):
    """A controlled restart of broker: afterwards it leads nothing and is
    back in every ISR."""
    rc, _, _, _ = controlled_stop(cluster, broker, topics)
    assert rc == 0
    restart(cluster, broker)
    h.wait_until(lambda: in_every_isr(cluster, broker.id, topics), REJOIN_WAIT_S, f"broker {broker.id} in every ISR",
                 interval=0.2)


TOPICS = [TOPIC, "__consumer_offsets"]


def test_elect_leaders_puts_every_preferred_replica_back_in_the_lead(cluster):
    c = cluster
    before = not_preferred(c, TOPICS)
    print(f"    not led by their preferred replica after the rolling restart: {before}", flush=True)
    assert before, "the rolling restart should have left some partitions to their second replica"
    with h.step("kbroker-admin --bootstrap-server ... elect-leaders --election-type preferred --all-topic-partitions"):
        r = admin("--bootstrap-server", c.bootstrap(), "elect-leaders", "--election-type", "preferred",
                  "--all-topic-partitions")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("Successfully completed leader election "
                                                                      "(PREFERRED) for partitions "))
    assert sorted(line.split("partitions ", 1)[1].split(", ")) == before
    assert not_preferred(c, TOPICS) == [], "the state znodes still name other leaders"
    with h.step("again: nothing needs an election, nothing is printed"):
        r = admin("--bootstrap-server", c.bootstrap(), "elect-leaders", "--all-topic-partitions")
    assert r.returncode == 0 and r.stdout.strip() == "", r.stdout
    plan = c.workdir / "elect.json"
    plan.write_text(json.dumps({"partitions": [{"topic": TOPIC, "partition": 1}, {"topic": TOPIC, "partition": 0}]}))
    with h.step("--path-to-json-file naming two partitions their preferred replicas lead"):
        r = admin("--bootstrap-server", c.bootstrap(), "elect-leaders", "--election-type", "PREFERRED",
                  "--path-to-json-file", plan)
    assert r.returncode == 0 and r.stdout.strip() == f"Valid replica already elected for partitions {TOPIC}-0, " \
        f"{TOPIC}-1", r.stdout


@pytest.mark.parametrize("via", ["bootstrap-server", "zookeeper"])
def test_elect_leaders_prints_the_same_lines_either_way(cluster, via):
    """kafka-leader-election.sh's lines whichever way the election goes: for
    every partition (the controller then leaves out the partitions needing
    none, KafkaApis.handleElectReplicaLeader) nothing when all are balanced;
    a topic's partitions listed as already elected; a topic that does not
    exist refused by name; a partition that does not exist as Kafka's
    error line."""
    c = cluster
    h.wait_until(lambda: not_preferred(c, TOPICS) == [] or None, 60, "every preferred replica to lead")
    conn = ("--bootstrap-server", c.bootstrap()) if via == "bootstrap-server" else ("--zookeeper", c.zk_connect)
    with h.step(f"elect-leaders --{via} --all-topic-partitions, all balanced: nothing to print"):
        r = admin(*conn, "elect-leaders", "--all-topic-partitions")
    assert (r.returncode, r.stdout) == (0, ""), r.stdout
    with h.step(f"elect-leaders --{via} --topic {TOPIC}"):
        r = admin(*conn, "elect-leaders", "--topic", TOPIC)
    listed = ", ".join(f"{TOPIC}-{p}" for p in range(6))
    assert (r.returncode, r.stdout) == (0, f"Valid replica already elected for partitions {listed}\n"), r.stdout
    with h.step(f"elect-leaders --{via} --topic nonexist"):
        r = admin(*conn, "elect-leaders", "--topic", "nonexist")
    assert (r.returncode, r.stdout) == (6, ""), r.stdout
    assert "topic 'nonexist' does not exist" in r.stderr and "nonexist--1" not in r.stderr, r.stderr
    with h.step(f"elect-leaders --{via} --topic nonexist --partition 0"):
        r = admin(*conn, "elect-leaders", "--topic", "nonexist", "--partition", "0")
    assert (r.returncode, r.stdout) == (9, "Error completing leader election (PREFERRED) for partition: "
                                           "nonexist-0: UNKNOWN_TOPIC_OR_PARTITION: The partition does not "
                                           "exist.\n"), r.stdout
    assert "1 replica(s) could not be elected" in r.stderr, r.stderr


def test_elect_leaders_api_answers_each_partition_as_kafka_does(cluster):
    c = cluster
    ctl = c.brokers[c.controller()]
    other = next(b for b in c.brokers.values() if b.id != ctl.id)
    for v in (0, 1, 2):
        top, res = elect(ctl, {TOPIC: [0, 1], "nope": [0]}, version=v)
        assert top == (None if v == 0 else 0), top
        assert res[(TOPIC, 0)][0] == res[(TOPIC, 1)][0] == 84, res
        assert res[("nope", 0)][0] == 3, res
    top, res = elect(ctl, {TOPIC: [99, 99]}, version=1)
    assert res == {(TOPIC, 99): (3, "The partition does not exist.")}, res
    top, res = elect(ctl, None, version=2)
    assert top == 0 and res == {}, res  # every preferred replica leads: nothing to report
    top, res = elect(other, {TOPIC: [0]}, version=1)
    assert top == 0 and res[(TOPIC, 0)][0] == 41, res
    top, res = elect(ctl, {TOPIC: [0]}, version=1, election_type=5)
    assert top == 42 and res[(TOPIC, 0)][0] == 42, res
    top, res = elect(ctl, {TOPIC: list(range(5000))}, version=1)  # more than the cluster could hold
    assert top == 42 and res == {}, (top, len(res))

    # A preferred replica that is stopped cannot lead; back in the ISR it can.
    asg = c.topic(TOPIC)["partitions"]
    victim = next(b for b in c.brokers.values() if b.id != c.controller())
    mine = sorted(int(p) for p, r in asg.items() if r[0] == victim.id)
    with h.step(f"stop broker {victim.id}, the preferred replica of {TOPIC} partitions {mine}"):
        rc, _, _, _ = controlled_stop(c, victim, TOPICS)
        assert rc == 0
    ctl = c.brokers[c.controller()]
    top, res = elect(ctl, {TOPIC: mine}, version=2)
    assert {res[(TOPIC, p)][0] for p in mine} == {80}, res
    with h.step(f"restart broker {victim.id}; once it is in every ISR its partitions can be elected"):
        restart(c, victim)
        h.wait_until(lambda: in_every_isr(c, victim.id, TOPICS), REJOIN_WAIT_S, f"broker {victim.id} in every ISR",
                     interval=0.2)
    ctl = c.brokers[c.controller()]
    top, res = elect(ctl, {TOPIC: mine}, version=1)
    assert {res[(TOPIC, p)][0] for p in mine} == {0}, res
    assert all(c.state(TOPIC, p)["leader"] == victim.id for p in mine)


def test_preferred_replica_election_znode_is_processed_and_deleted(cluster):
    c = cluster
    victim = next(b for b in c.brokers.values() if b.id != c.controller())
    with h.step(f"bounce broker {victim.id}: its partitions move to their second replica"):
        bounce(c, victim, TOPICS)
    moved = [p for p, r in c.topic(TOPIC)["partitions"].items() if r[0] == victim.id]
    assert moved and all(c.state(TOPIC, int(p))["leader"] != victim.id for p in moved)
    doc = {"version": 1, "partitions": [{"topic": TOPIC, "partition": int(p)} for p in moved] +
           [{"topic": "no-such-topic", "partition": 0}]}
    with h.step("write /admin/preferred_replica_election as kafka-preferred-replica-election.sh does"):
        c.zk.create("/admin/preferred_replica_election", json.dumps(doc).encode())
        h.wait_until(lambda: c.get("/admin/preferred_replica_election") is None, 60,
                     "the controller to delete /admin/preferred_replica_election")
    assert all(c.state(TOPIC, int(p))["leader"] == victim.id for p in moved), c.states(TOPIC)

    victim = next(b for b in c.brokers.values() if b.id != c.controller() and b.id != victim.id)
    with h.step(f"bounce broker {victim.id}, then kbroker-admin --zookeeper ... elect-leaders --topic {TOPIC}"):
        bounce(c, victim, TOPICS)
        assert not_preferred(c, [TOPIC])
        r = c.admin("elect-leaders", "--topic", TOPIC)
    assert r.returncode == 0, r.stderr
    assert "Successfully completed leader election (PREFERRED) for partitions" in r.stdout
    assert not_preferred(c, [TOPIC]) == []
    assert c.get("/admin/preferred_replica_election") is None

    old = c.brokers[c.controller()]
    victim = next(b for b in c.brokers.values() if b.id != old.id)
    bounce(c, victim, TOPICS)
    moved = [int(p) for p, r in c.topic(TOPIC)["partitions"].items() if r[0] == victim.id]
    doc = {"version": 1, "partitions": [{"topic": TOPIC, "partition": p} for p in moved]}
    with h.step(f"freeze the controller, broker {old.id}, write the znode: the next controller processes it"):
        with h.paused(old):
            c.zk.create("/admin/preferred_replica_election", json.dumps(doc).encode())
            new = c.wait_controller(60, other_than=old.id)
            h.wait_until(lambda: c.get("/admin/preferred_replica_election") is None, 60,
                         f"the new controller, broker {new}, to delete /admin/preferred_replica_election")
    assert all(c.state(TOPIC, p)["leader"] == victim.id for p in moved), c.states(TOPIC)
    with h.step(f"broker {old.id} thaws, registers again and rejoins every ISR"):
        old.wait_registered(60, newer_than=None)
        h.wait_until(lambda: in_every_isr(c, old.id, TOPICS), REJOIN_WAIT_S, f"broker {old.id} in every ISR",
                     interval=0.2)


def test_controlled_shutdown_that_cannot_complete_gives_up_after_max_retries(cluster):
    c = cluster
    b1, b3 = c.brokers[1], c.brokers[3]
    with h.step("broker 1 restarts with controlled.shutdown.max.retries=2; topic stuck on brokers 1 and 3"):
        b1.extra["controlled.shutdown.max.retries"] = "2"
        bounce(c, b1, TOPICS)
        c.create_topic("stuck", assignment="1:3")
        h.wait_full_isr(c, "stuck")
    with h.step("stop broker 3: broker 1 is now the only replica of stuck-0 that lives"):
        rc, _, _, _ = controlled_stop(c, b3, TOPICS)
        assert rc == 0
        st = c.state("stuck", 0)
        assert st["leader"] == 1 and st["isr"] == [1], st
    with h.step("SIGTERM broker 1: two attempts, then it stops anyway"):
        rc, _, secs, _ = controlled_stop(c, b1, TOPICS)
    h.note("broker 1: SIGTERM -> exit after two failed attempts", secs)
    log = b1.process.last_run_text()
    assert rc == 0
    assert "controlled shutdown attempt 2 of 2 failed" in log and "shutting down without it" in log, b1.process.tail(20)
    assert SUCCESS_LINE not in log
    with h.step("restart brokers 1 and 3 (default retries)"):
        del b1.extra["controlled.shutdown.max.retries"]
        restart(c, b1)
        restart(c, b3)
        wait_in_every_isr(c, (b1, b3))


def test_controlled_shutdown_asks_the_next_controller_when_the_named_one_is_dead(cluster):
    c = cluster
    first = c.wait_controller()
    stopping = next(b for b in c.brokers.values() if b.id != first)
    with h.step("elect the preferred leaders, so that every broker leads some partitions"):
        r = admin("--bootstrap-server", c.bootstrap(), "elect-leaders", "--election-type", "preferred",
                  "--all-topic-partitions")
        assert r.returncode in (0, 1), r.stderr  # 1 when some partition is led by its preferred replica already
        h.wait_until(lambda: leaders_on(c, TOPIC, stopping.id), 30, f"broker {stopping.id} to lead part of {TOPIC}")
    dead = c.brokers[first]
    assert c.controller() == first, "the controller moved"
    marks = {b.id: len(b.process.log_text()) for b in c.brokers.values() if b is not dead and b is not stopping}
    with h.step(f"kill -9 the controller, broker {dead.id}, then SIGTERM broker {stopping.id}"):
        dead.kill9()
        rc, _, secs, _ = controlled_stop(c, stopping, TOPICS)
    h.note(f"broker {stopping.id}: SIGTERM -> exit, controller {dead.id} dead", secs)
    log = stopping.process.last_run_text()
    assert rc == 0, stopping.process.tail(20)
    # It found the dead controller's connection refused and asked again,
    # rather than wait out controller.socket.timeout.ms per attempt, and
    # did not give up before a new controller moved its leaderships.
    assert f"controller {dead.id} cannot be reached" in log, stopping.process.tail(30)
    assert SUCCESS_LINE in log and "shutting down without it" not in log, stopping.process.tail(30)
    # The new controller is the third broker, or the stopping one itself
    # (still registered, it may win the election).
    third = next(b for b in c.brokers.values() if b.id in marks)
    texts = third.process.log_text()[marks[third.id]:] + log
    moved = [ln for ln in texts.splitlines() if f"for the controlled shutdown of broker {stopping.id}" in ln]
    assert moved, f"the new controller moved none of broker {stopping.id}'s leaderships"
    with h.step(f"restart brokers {dead.id} and {stopping.id}"):
        for b in (dead, stopping):
            restart(c, b)
        wait_in_every_isr(c, (dead, stopping))


def test_controlled_shutdown_moves_to_the_next_controller_when_the_asked_one_froze(cluster):
    c = cluster
    frozen = c.brokers[c.wait_controller()]
    # Not the other replica of "stuck" (brokers 1 and 3), which could not
    # move with the frozen broker as its only other replica.
    stopping = c.brokers[2] if frozen.id != 2 else c.brokers[1]
    old = frozen.registration()[1].czxid
    with h.step(f"freeze the controller, broker {frozen.id}, then SIGTERM broker {stopping.id}"):
        with h.paused(frozen):
            rc, _, secs, _ = controlled_stop(c, stopping, TOPICS)
    h.note(f"broker {stopping.id}: SIGTERM -> exit, controller {frozen.id} frozen", secs)
    log = stopping.process.last_run_text()
    # Exit status 0 also says LeakSanitizer found nothing: the abandoned
    # ask's client is freed.
    assert rc == 0, stopping.process.tail(30)
    assert SUCCESS_LINE in log and "shutting down without it" not in log, stopping.process.tail(30)
    with h.step(f"broker {frozen.id} thaws and registers again; broker {stopping.id} restarts"):
        frozen.wait_registered(60, newer_than=old)
        restart(c, stopping)
        wait_in_every_isr(c, (frozen, stopping))


def test_automatic_rebalance_brings_the_preferred_leaders_back_after_a_rolling_restart(cluster):
    c = cluster
    topics = TOPICS + ["stuck"]
    for b in [c.brokers[i] for i in BROKERS]:
        b.extra.update({"auto.leader.rebalance.enable": "true", "leader.imbalance.check.interval.seconds": "2"})
    for b in [c.brokers[i] for i in BROKERS]:
        with h.step(f"rolling restart with the automatic rebalance on: broker {b.id}"):
            bounce(c, b, topics)
    t0 = time.monotonic()
    with h.step("wait for every preferred replica to lead again, no admin command"):
        h.wait_until(lambda: not_preferred(c, topics) == [], 60, "the automatic rebalance", interval=0.2)
    h.note("last restart -> balanced", time.monotonic() - t0)
    assert any("leader imbalance of broker" in b.process.log_text() for b in c.brokers.values())
