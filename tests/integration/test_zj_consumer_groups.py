"""
Scenario zj: consumer groups with real clients (issue 13, group-protocol.md
3-7): three brokers on one ZooKeeper, __consumer_offsets with 6 partitions
and replication factor 3, group.initial.rebalance.delay.ms=0 (as Kafka's
sample server.properties).  The runbook, in order; each step builds on the
group the steps before left behind:

  share       three confluent-kafka consumers, each in its own process
              (group_member.py: commits synchronously after every batch),
              split a 6-partition RF 3 topic between them; the coordinator
              describes the group Stable with 3 members; 60,000 records are
              each consumed once across the group;
  leave       one member close()s: its LeaveGroup (not its 10 s session)
              hands its partitions to the other two - the coordinator logs
              that it left and describes a new generation of 2 members
              within 9 s of the close; later records are consumed once;
  failover    kill -9 of the coordinator's broker: the broker that takes
              over loads the group from the log (same generation, members
              and assignments; the committed offsets), the members go on
              consuming and committing there; after the broker returns and
              the members close, a fresh member resumes at the committed
              offsets: across the whole group, no record was read twice;
              confluent-kafka's committed() and kafka-python's admin agree;
  other clients  a kafka-python KafkaConsumer group and a `kcat -G` group
              consume a second topic and commit; OffsetFetch shows it;
  records     every record of __consumer_offsets, read with a plain Fetch
              and decoded from the spec's schemas (kafkawire): keys v1/v2,
              values v3, offsets as the clients committed them, group
              records with members, protocol and assignment; nothing under
              /consumers;
  static      two static members (group.instance.id): shop-a, killed with
              SIGKILL and then closed (librdkafka sends no LeaveGroup for
              static members), started again each time, gets its partitions
              back without a rebalance (the generation does not move).

The group of the first three steps is chosen so that its coordinator is
not the controller: the kill -9 then tests the coordinator's failover
alone, not a controller election too.  Brokers keep fixed ports, so the
restarted broker is where the clients last saw it, and 2 s ZooKeeper
sessions, so the dead broker's session expires quickly.  Members run
session.timeout.ms=10000, heartbeat.interval.ms=1000.
"""
import json
import logging
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import kafkawire as kw
import kbharness as h

BROKERS = [1, 2, 3]
ZK_SESSION_MS = 2000
OFFSETS_PARTITIONS = 6
OFFSETS_TOPIC = "__consumer_offsets"
BROKER_CONFIG = {"group.initial.rebalance.delay.ms": "0",
                 "offsets.topic.num.partitions": str(OFFSETS_PARTITIONS),
                 "offsets.topic.replication.factor": "3"}
ORDERS, ORDERS_PARTITIONS = "orders", 6
PAYMENTS, PAYMENTS_PARTITIONS = "payments", 3
SESSION_MS, HEARTBEAT_MS = 10000, 1000
# Static members get a long session: their restart must fall inside it,
# and a slow process start must not decide the verdict.
STATIC_SESSION_MS = 30000
# A LeaveGroup's effect must be visible before the 10 s session of the
# member that left could have expired.
LEAVE_BOUND_S = 9
# librdkafka sends max.poll.interval.ms as the rebalance timeout.
RDKAFKA_REBALANCE_MS = 300000
HELPER = Path(__file__).with_name("group_member.py")
PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start brokers 1, 2, 3 (fixed ports, {ZK_SESSION_MS} ms ZooKeeper sessions, "
                f"{OFFSETS_PARTITIONS} offsets partitions RF 3, no initial rebalance delay)"):
        c.start_brokers(BROKERS, fixed_ports=True, session_timeout_ms=ZK_SESSION_MS, extra=BROKER_CONFIG)
        c.wait_controller()
    return c


# -- one member process ---------------------------------------------------------------

class Member(h.Process):
    """A group_member.py process; what it reports arrives in self.events
    (a reader thread parses its stdout).  Its stderr, and a line per event
    (batches of records summarised), go to its log, which conftest shows
    when a test fails."""

    def __init__(self, workdir, name, cfg):
        super().__init__(name, [PYTHON, HELPER, json.dumps(cfg)], workdir / f"{name}.log")
        self.client_id = cfg["client_id"]
        self.events = []
        self.reader = None

    def start(self):
        log = open(self.log_path, "ab")
        log.write(f"==== {time.strftime('%H:%M:%S')} start: {self.client_id}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                     start_new_session=True)
        log.close()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self):
        with open(self.log_path, "ab", buffering=0) as log:
            for line in self.proc.stdout:
                ev = json.loads(line)
                self.events.append(ev)
                if ev["ev"] == "records":
                    line = f"records: {len(ev['recs'])}, first {ev['recs'][0]}\n".encode()
                log.write(time.strftime("%H:%M:%S ").encode() + line)

    def command(self, text):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def close(self, timeout=60.0):
        """Consumer.close() in the process, which then exits 0."""
        self.command("close")
        rc = self.wait(timeout)
        self.reader.join(10)
        assert rc == 0 and self.events[-1]["ev"] == "closed", f"{self.client_id} exited {rc}: {self.tail(10)}"

    def of(self, kind):
        return [e for e in list(self.events) if e["ev"] == kind]

    def assignment(self):
        """The partitions it holds now (eager protocol: each assign is the
        whole set, each revoke takes everything)."""
        held = set()
        for e in list(self.events):
            if e["ev"] == "assigned":
                held = set(e["partitions"])
            elif e["ev"] == "revoked":
                held = set()
        return held if self.alive() else set()

    def consumed(self):
        return [tuple(r) for e in self.of("records") for r in e["recs"]]

    def commit_failures(self):
        return self.of("commit_failed")

    def query_committed(self, timeout=60.0):
        """Consumer.committed() for every partition, asked in the process."""
        before = len(self.of("committed_query"))
        self.command("committed")
        got = h.wait_until(lambda: self.of("committed_query")[before:], timeout,
                           f"{self.client_id} to answer 'committed' (bound {timeout:.0f} s)")
        return {int(p): o for p, o in got[0]["offsets"].items()}


class Fleet:
    """The member processes of this file; whatever is still running at the
    end is closed, or killed by PID."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.all = []

    def start(self, cluster, group, topic, partitions, client_id, **conf):
        cfg = {"bootstrap": cluster.bootstrap(), "group": group, "topic": topic, "partitions": partitions,
               "client_id": client_id, "conf": {"session.timeout.ms": SESSION_MS,
                                                "heartbeat.interval.ms": HEARTBEAT_MS, **conf}}
        m = Member(self.workdir, f"{client_id}-{len(self.all)}", cfg).start()
        self.all.append(m)
        return m

    def stop_all(self):
        for m in self.all:
            if m.alive():
                try:
                    m.close(timeout=30)
                except Exception:  # noqa: BLE001 - teardown: kill what does not close
                    m.kill9()


@pytest.fixture(scope="module")
def fleet(workdir):
    f = Fleet(workdir)
    yield f
    f.stop_all()


class GroupRun:
    """What the first three steps share: the group, its members, and every
    record produced to the topic ({(partition, offset): value})."""
    group = None
    members = []
    produced = {}


@pytest.fixture(scope="module")
def orders():
    return GroupRun()


# -- helpers -----------------------------------------------------------------------------

def produce(cluster, topic, tag, n):
    """n records (values tag-0..) with acks=all, keyed so that the
    partitioner spreads them over every partition:
    {(partition, offset): value}."""
    producer = h.ck_producer(cluster.bootstrap(), acks="all", linger_ms=20)
    recs = [h.Rec(topic, None, None, b"%d" % i, b"%s-%d" % (tag.encode(), i), (), None) for i in range(n)]
    reports = h.ck_produce(producer, recs, timeout=120)
    failed = [e for _, e in reports if e is not None]
    assert not failed, f"{len(failed)} of {n} records not delivered, first: {failed[0]}"
    return {(r.partition, r.offset): r.value.decode() for r, _ in reports}


def end_offsets(produced, partitions):
    """{(topic-less) partition: offset after its last record}; the topic has
    no other writer."""
    ends = {p: 0 for p in range(partitions)}
    for p, o in produced:
        ends[p] = max(ends[p], o + 1)
    return ends


def expected_commits(topic, ends):
    """What OffsetFetch must answer once everything is committed: the end
    offset, or -1 for a partition that never had a record."""
    return {(topic, p): (o if o else -1) for p, o in ends.items()}


def committed_offsets(broker, group):
    err, got = h.fetch_offsets(broker, group)
    assert err == 0, f"OffsetFetch {group} on broker {broker.id}: error {err}"
    return {k: v.offset for k, v in got.items()}


def all_committed(broker, group, topic, ends):
    got = committed_offsets(broker, group)
    want = expected_commits(topic, ends)
    if {k: got.get(k, -1) for k in want} != want:
        raise AssertionError(f"committed {got}, want {want}")  # shown if it times out
    return True


def assert_each_consumed_once(members, produced):
    """Across the members' whole history: every produced record consumed,
    none twice, none that was not produced, values as produced."""
    recs = [r for m in members for r in m.consumed()]
    counts = Counter((p, o) for p, o, _ in recs)
    twice = sorted(k for k, n in counts.items() if n > 1)
    missing = sorted(set(produced) - set(counts))
    extra = sorted(set(counts) - set(produced))
    assert not twice and not missing and not extra, (
        f"{len(recs)} records consumed for {len(produced)} produced: {len(twice)} twice (first {twice[:5]}), "
        f"{len(missing)} missing (first {missing[:5]}), {len(extra)} never produced (first {extra[:5]})")
    wrong = [(p, o, v) for p, o, v in recs if produced[(p, o)] != v]
    assert not wrong, f"values differ from what was produced: {wrong[:5]}"
    failures = [(m.client_id, f) for m in members for f in m.commit_failures()]
    assert not failures, f"commits that failed for good (their records could be read again): {failures[:5]}"


def wait_consumed_and_committed(members, produced, coordinator_of, group, topic, partitions, bound):
    """Waits (bound printed by the caller's step) until the members have
    consumed every produced record and the coordinator holds the end
    offsets; then checks exactly-once."""
    ends = end_offsets(produced, partitions)

    def done():
        have = {(p, o) for m in members for p, o, _ in m.consumed()}
        if not set(produced) <= have:
            raise AssertionError(f"{len(set(produced) - have)} of {len(produced)} records not consumed yet")
        return all_committed(coordinator_of(), group, topic, ends)
    h.wait_until(done, bound, f"every record consumed and committed in group {group}", interval=0.25)
    assert_each_consumed_once(members, produced)


def by_client(desc):
    return {m.client_id: m for m in desc.members}


def assignment_of(member_desc, topic):
    return {p for t, p in kw.parse_consumer_assignment(member_desc.assignment) if t == topic}


def balanced(members, partitions):
    """The live members' reported assignments: each non-empty, disjoint,
    together every partition."""
    held = [m.assignment() for m in members]
    union = set().union(*held)
    if any(not x for x in held) or sum(len(x) for x in held) != len(union) or union != set(range(partitions)):
        raise AssertionError(f"assignments {[(m.client_id, sorted(x)) for m, x in zip(members, held)]}")
    return held


def stable_with(coordinator, group, members, topic, min_generation=0):
    """The coordinator's DescribeGroups: Stable, exactly these members (by
    client id), generation >= min_generation (read from the log record),
    and each member's assignment the one its process reports."""
    d = h.describe_group(coordinator, group)
    clients = by_client(d)
    if d.error or d.state != "Stable" or set(clients) != {m.client_id for m in members}:
        raise AssertionError(f"described {d.error} {d.state} with {sorted(clients)}")
    for m in members:
        if assignment_of(clients[m.client_id], topic) != m.assignment():
            raise AssertionError(f"{m.client_id} reports {sorted(m.assignment())}, the coordinator gave "
                                 f"{sorted(assignment_of(clients[m.client_id], topic))}")
    return d


def generation(coordinator, group):
    """The group's generation as the coordinator's log records show it: the
    newest group record of its partition (DescribeGroups has no generation)."""
    p = kw.group_partition(group, OFFSETS_PARTITIONS)
    values = [kw.decode_group_value(r.value) for r in h.fetch_log(coordinator, OFFSETS_TOPIC, p)
              if r.value is not None and kw.decode_offsets_key(r.key) == kw.GroupKey(2, group)]
    return values[-1].generation if values else None


def pick_group(cluster, prefix):
    """The first of prefix-0, prefix-1, ... whose __consumer_offsets
    partition is led by a broker other than the controller."""
    states = cluster.wait_states(OFFSETS_TOPIC)
    ctl = cluster.controller()
    for i in range(100):
        g = f"{prefix}-{i}"
        if states[kw.group_partition(g, OFFSETS_PARTITIONS)]["leader"] not in (ctl, -1):
            return g
    raise AssertionError(f"every offsets partition is led by the controller, broker {ctl}: {states}")


# -- scenarios -----------------------------------------------------------------------------

def test_three_member_processes_split_the_partitions_and_read_each_record_once(cluster, fleet, orders):
    c = cluster
    c.create_topic(ORDERS, ORDERS_PARTITIONS, 3)
    with h.step(f"ask for a coordinator: {OFFSETS_TOPIC} is created on first use (bound 60 s)"):
        h.wait_coordinator(c, "first-use", timeout=60)
        topic = c.topic(OFFSETS_TOPIC)
        config = c.get_json(f"/config/topics/{OFFSETS_TOPIC}")[0]["config"]
    assert len(topic["partitions"]) == OFFSETS_PARTITIONS
    assert all(len(set(r)) == 3 for r in topic["partitions"].values()), topic
    assert config == {"cleanup.policy": "compact", "compression.type": "producer", "segment.bytes": "104857600"}
    orders.group = group = pick_group(c, "orders")
    coordinator = h.wait_coordinator(c, group)
    p = kw.group_partition(group, OFFSETS_PARTITIONS)
    print(f"    group {group}: {OFFSETS_TOPIC}-{p}, coordinator broker {coordinator.id}, "
          f"controller broker {c.controller()}", flush=True)
    assert coordinator.id == c.state(OFFSETS_TOPIC, p)["leader"], "the coordinator is the partition's leader"

    with h.step("start three consumers, each in its own process"):
        orders.members = [fleet.start(c, group, ORDERS, ORDERS_PARTITIONS, f"member-{x}") for x in "abc"]
    with h.step("every member reports its share: disjoint, together all 6 partitions; the coordinator "
                "describes the group Stable with those 3 members (bound 90 s)"):
        held = h.wait_until(lambda: balanced(orders.members, ORDERS_PARTITIONS) and
                            stable_with(coordinator, group, orders.members, ORDERS) and
                            balanced(orders.members, ORDERS_PARTITIONS), 90, "a balanced, Stable group")
    print(f"    assignments {[sorted(x) for x in held]}", flush=True)
    d = h.describe_group(coordinator, group)
    assert d.protocol_type == "consumer" and d.protocol in ("range", "roundrobin"), d
    for m in d.members:
        assert m.client_host == "/127.0.0.1", m
        assert kw.parse_consumer_subscription(m.metadata)[1] == [ORDERS], m
        assert m.member_id.startswith(m.client_id + "-") and len(m.member_id) == len(m.client_id) + 37, m

    with h.step("kafka-python's admin (DescribeGroups) and confluent-kafka's list_groups() (ListGroups and "
                "DescribeGroups v0 to every broker) show the same group"):
        kp = kp_describe(c, group)
        ck = ck_list_groups(c)
    want = {m.client_id: m.assignment() for m in orders.members}
    assert (kp.error_code, kp.state, kp.protocol_type, kp.protocol) == (0, "Stable", "consumer", d.protocol), kp
    assert {m.client_id: {p for t, ps in m.member_assignment.assignment if t == ORDERS for p in ps}
            for m in kp.members} == want, kp.members
    assert (ck[group].state, ck[group].protocol_type, ck[group].protocol) == ("Stable", "consumer", d.protocol)
    assert {m.client_id: assignment_of(m, ORDERS) for m in ck[group].members} == want, ck[group].members
    assert {m.id for m in ck[group].members} == {m.member_id for m in d.members}

    with h.step("produce 60,000 records (acks=all)"):
        orders.produced.update(produce(c, ORDERS, "first", 60_000))
    with h.step("each record is consumed once across the group and the end offsets are committed (bound 180 s)"):
        wait_consumed_and_committed(orders.members, orders.produced, lambda: coordinator, group, ORDERS,
                                    ORDERS_PARTITIONS, 180)
    print(f"    records per member {[len(m.consumed()) for m in orders.members]}", flush=True)


def test_a_member_that_closes_leaves_at_once_and_the_others_take_its_partitions(cluster, fleet, orders):
    c, group = cluster, orders.group
    assert group and len(orders.members) == 3, "the 'share' scenario runs first"
    coordinator = h.wait_coordinator(c, group)
    leaver, stay = orders.members[0], orders.members[1:]
    leaver_id = by_client(stable_with(coordinator, group, orders.members, ORDERS))[leaver.client_id].member_id
    before = generation(coordinator, group)
    t_close = time.monotonic()
    with h.step(f"{leaver.client_id} calls close()"):
        leaver.close()
    with h.step(f"the coordinator logs that {leaver_id} left and describes a Stable group of the other two "
                f"at a newer generation, within {LEAVE_BOUND_S} s of the close (their session is "
                f"{SESSION_MS // 1000} s)"):
        left_line = f"group '{group}': member {leaver_id} left"
        h.wait_until(lambda: left_line in coordinator.process.last_run_text() and
                     stable_with(coordinator, group, stay, ORDERS) and generation(coordinator, group) > before,
                     max(0.5, LEAVE_BOUND_S - (time.monotonic() - t_close)),
                     f"LeaveGroup's rebalance (bound {LEAVE_BOUND_S} s from the close)")
    h.note("close() -> Stable with 2 members", time.monotonic() - t_close)
    assert "missed its session timeout" not in coordinator.process.last_run_text()
    held = balanced(stay, ORDERS_PARTITIONS)
    print(f"    generation {before} -> {generation(coordinator, group)}; assignments {[sorted(x) for x in held]}",
          flush=True)

    with h.step("produce 6,000 records: the two remaining members read each once (bound 120 s)"):
        orders.produced.update(produce(c, ORDERS, "after-leave", 6_000))
        wait_consumed_and_committed(orders.members, orders.produced, lambda: coordinator, group, ORDERS,
                                    ORDERS_PARTITIONS, 120)
    assert not [r for r in leaver.consumed() if r[2].startswith("after-leave")]


def test_kill9_of_the_coordinator_moves_the_group_without_losing_or_repeating_a_record(cluster, fleet, orders):
    c, group = cluster, orders.group
    assert group and len(orders.members) == 3, "the 'share' and 'leave' scenarios run first"
    live = [m for m in orders.members if m.alive()]
    old = h.wait_coordinator(c, group)
    assert old.id != c.controller(), "the group was picked so that its coordinator is not the controller"
    before = stable_with(old, group, live, ORDERS)
    gen_before = generation(old, group)
    offsets_before = committed_offsets(old, group)
    revokes_before = {m.client_id: len(m.of("revoked")) for m in live}

    with h.step(f"kill -9 broker {old.id}, the coordinator; wait for its ZooKeeper session to expire (bound 30 s)"):
        old.kill9()
        h.wait_until(lambda: old.id not in c.registered_ids(), 30, f"/brokers/ids/{old.id} to vanish")
    with h.step("another broker becomes the coordinator (bound 60 s)"):
        new = h.wait_coordinator(c, group, timeout=60, other_than=old.id)
    with h.step(f"broker {new.id} loaded the group from the log: Stable, same members and assignments, "
                "same generation, same committed offsets (bound 30 s)"):
        loaded = h.wait_until(lambda: stable_with(new, group, live, ORDERS), 30,
                              f"broker {new.id} to describe {group}")
        assert generation(new, group) == gen_before
        assert committed_offsets(new, group) == offsets_before
    assert {m.member_id for m in loaded.members} == {m.member_id for m in before.members}
    assert {m.client_id: m.assignment for m in loaded.members} == {m.client_id: m.assignment for m in before.members}

    with h.step("produce 6,000 records while the broker is down: the members read each once and commit to "
                f"broker {new.id} (bound 180 s)"):
        orders.produced.update(produce(c, ORDERS, "after-kill", 6_000))
        wait_consumed_and_committed(orders.members, orders.produced, lambda: h.wait_coordinator(c, group), group,
                                    ORDERS, ORDERS_PARTITIONS, 180)
    # Not asserted (a failover slower than the 10 s session may rightly
    # rebalance), but worth seeing: did the members keep their partitions?
    print(f"    revokes during the failover: "
          f"{ {m.client_id: len(m.of('revoked')) - revokes_before[m.client_id] for m in live} }", flush=True)
    with h.step(f"restart broker {old.id}; every replica of {ORDERS} and {OFFSETS_TOPIC} in its ISR again "
                "(bound 90 s)"):
        old.start()
        old.wait_registered(60)
        h.wait_full_isr(c, ORDERS, timeout=90)
        h.wait_full_isr(c, OFFSETS_TOPIC, timeout=90)
    with h.step("close the members; the group is Empty (bound 30 s)"):
        for m in live:
            m.close()
        h.wait_until(lambda: h.describe_group(h.wait_coordinator(c, group), group).state == "Empty", 30,
                     f"{group} to be Empty")

    with h.step("produce 3,000 records; a fresh member resumes at the committed offsets and reads exactly "
                "those (bound 120 s)"):
        orders.produced.update(produce(c, ORDERS, "for-the-fresh-one", 3_000))
        fresh = fleet.start(c, group, ORDERS, ORDERS_PARTITIONS, "member-d")
        orders.members.append(fresh)
        wait_consumed_and_committed(orders.members, orders.produced, lambda: h.wait_coordinator(c, group), group,
                                    ORDERS, ORDERS_PARTITIONS, 120)
    assert {v.split("-")[0] for _, _, v in fresh.consumed()} == {"for"}, "the fresh member read only the new records"

    ends = end_offsets(orders.produced, ORDERS_PARTITIONS)
    with h.step("confluent-kafka committed() and kafka-python's admin list_consumer_group_offsets() agree"):
        ck = fresh.query_committed()
        kp = kp_group_offsets(c, group)
    assert ck == {p: (o if o else -1001) for p, o in ends.items()}, ck  # -1001: librdkafka's OFFSET_INVALID
    assert kp == {p: o for p, o in ends.items() if o}, kp
    fresh.close()
    print(f"    records per member {[(m.client_id, len(m.consumed())) for m in orders.members]}", flush=True)


def kp_admin(cluster):
    from kafka.admin import KafkaAdminClient
    logging.getLogger("kafka").setLevel(logging.ERROR)
    return KafkaAdminClient(bootstrap_servers=cluster.bootstrap().split(","), api_version_auto_timeout_ms=15000,
                            request_timeout_ms=30000)


def kp_describe(cluster, group):
    """kafka-python KafkaAdminClient.describe_consumer_groups for one group."""
    admin = kp_admin(cluster)
    try:
        (info,) = admin.describe_consumer_groups([group])
    finally:
        admin.close()
    return info


def ck_list_groups(cluster):
    """confluent-kafka AdminClient.list_groups(): {group id: GroupMetadata}."""
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap(), "socket.timeout.ms": 20000})
    return {g.id: g for g in admin.list_groups(timeout=30)}


def kp_group_offsets(cluster, group):
    """kafka-python KafkaAdminClient.list_consumer_group_offsets: {partition: offset}."""
    admin = kp_admin(cluster)
    try:
        got = admin.list_consumer_group_offsets(group)
    finally:
        admin.close()
    return {tp.partition: om.offset for tp, om in got.items() if tp.topic == ORDERS}


def test_kafka_python_and_kcat_groups_consume_and_commit(cluster):
    c = cluster
    c.create_topic(PAYMENTS, PAYMENTS_PARTITIONS, 3)
    with h.step("produce 3,000 records"):
        produced = produce(c, PAYMENTS, "pay", 3_000)
    ends = end_offsets(produced, PAYMENTS_PARTITIONS)

    with h.step("a kafka-python KafkaConsumer in group kp-ledger reads every record, commits, closes (bound 120 s)"):
        got = kp_group_consume(c, "kp-ledger", len(produced), 120)
    assert sorted(got) == sorted(produced), "kafka-python read each record once"
    coordinator = h.wait_coordinator(c, "kp-ledger")
    for version in (1, 5):  # 1: what kafka-python's consumer sends; 5: the newest advertised
        err, fetched = h.fetch_offsets(coordinator, "kp-ledger", {PAYMENTS: list(range(PAYMENTS_PARTITIONS))},
                                       version)
        assert err in (None, 0) and {p: v.offset for (_, p), v in fetched.items()} == ends, (version, err, fetched)
    h.wait_until(lambda: h.describe_group(coordinator, "kp-ledger").state == "Empty", 30,
                 "kp-ledger to be Empty after close (bound 30 s)")

    with h.step("`kcat -G kcat-ledger` reads to the end of every partition and exits (bound 120 s)"):
        r = subprocess.run([h.KCAT_BIN, "-b", c.bootstrap(), "-G", "kcat-ledger", "-o", "beginning", "-e", "-q",
                            "-J", "-X", f"session.timeout.ms={SESSION_MS}", PAYMENTS],
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-2000:]
    read = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    assert sorted((j["partition"], j["offset"]) for j in read) == sorted(produced)
    coordinator = h.wait_coordinator(c, "kcat-ledger")
    with h.step("kcat's offsets are committed (on close; bound 30 s)"):
        h.wait_until(lambda: all_committed(coordinator, "kcat-ledger", PAYMENTS, ends), 30, "kcat's commits")


def kp_group_consume(cluster, group, n, timeout):
    """A kafka-python group member reading until it has n records, then
    commit() and close(): [(partition, offset)]."""
    from kafka import KafkaConsumer
    logging.getLogger("kafka").setLevel(logging.ERROR)
    consumer = KafkaConsumer(PAYMENTS, bootstrap_servers=cluster.bootstrap().split(","), group_id=group,
                             api_version_auto_timeout_ms=15000, request_timeout_ms=30000, enable_auto_commit=False,
                             auto_offset_reset="earliest", session_timeout_ms=SESSION_MS,
                             heartbeat_interval_ms=HEARTBEAT_MS)
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < n:
            assert time.monotonic() < deadline, f"kafka-python read {len(out)} of {n} records in {timeout} s"
            for recs in consumer.poll(timeout_ms=500).values():
                out += [(m.partition, m.offset) for m in recs]
        consumer.commit()
    finally:
        consumer.close()
    return out


def test_consumer_offsets_records_decode_from_the_spec_schemas(cluster, orders):
    c = cluster
    groups = {orders.group, "kp-ledger", "kcat-ledger"}
    assert orders.group, "the earlier scenarios run first"
    records = {}
    with h.step(f"read every partition of {OFFSETS_TOPIC} with a plain Fetch from its leader"):
        for p in range(OFFSETS_PARTITIONS):
            records[p] = h.fetch_log(c.leader(OFFSETS_TOPIC, p), OFFSETS_TOPIC, p)
    offsets, group_values = {}, {}
    for p, recs in records.items():
        for r in recs:
            key = kw.decode_offsets_key(r.key)
            assert key.version in (1, 2), key
            assert kw.group_partition(key.group, OFFSETS_PARTITIONS) == p, f"{key} in partition {p}"
            if isinstance(key, kw.OffsetKey):
                value = kw.decode_offset_value(r.value) if r.value is not None else None
                assert value is None or value.version == 3, value
                offsets.setdefault((key.group, key.topic, key.partition), []).append(value)
            else:
                value = kw.decode_group_value(r.value) if r.value is not None else None
                assert value is None or value.version == 3, value
                group_values.setdefault(key.group, []).append(value)
    print(f"    {sum(len(v) for v in records.values())} records; groups with a group record: "
          f"{sorted(group_values)}", flush=True)

    with h.step("the newest offset record of each partition is what OffsetFetch answers"):
        for g in groups:
            got = committed_offsets(h.wait_coordinator(c, g), g)
            logged = {(t, p): vals[-1].offset for (grp, t, p), vals in offsets.items() if grp == g and vals[-1]}
            assert logged == {k: v for k, v in got.items() if v >= 0}, (g, logged, got)
    committed = {(p, o) for m in orders.members for e in m.of("committed") for p, o in
                 ((int(p), o) for p, o in e["offsets"].items())}
    logged = {(p, v.offset) for (g, t, p), vals in offsets.items() if g == orders.group for v in vals if v}
    assert logged == committed, f"offsets in the log but never acknowledged: {sorted(logged - committed)[:5]}; " \
                                f"acknowledged but not in the log: {sorted(committed - logged)[:5]}"

    with h.step(f"{orders.group}'s group records: a generation of members a, b, c with their assignment, "
                "and, last, the Empty group"):
        values = group_values[orders.group]
        gens = [v.generation for v in values if v]
        assert gens == sorted(gens), gens
        three = [v for v in values if v and {m.client_id for m in v.members} == {"member-a", "member-b", "member-c"}]
        assert three, [v and [m.client_id for m in v.members] for v in values]
        v = three[-1]
        assert v.protocol_type == "consumer" and v.protocol in ("range", "roundrobin"), v
        assert v.leader in {m.member_id for m in v.members}, v
        parts = [kw.parse_consumer_assignment(m.assignment) for m in v.members]
        assert set().union(*parts) == {(ORDERS, p) for p in range(ORDERS_PARTITIONS)}, parts
        assert sum(len(x) for x in parts) == ORDERS_PARTITIONS, parts
        for m in v.members:
            assert m.instance_id is None and m.client_host == "/127.0.0.1", m
            assert (m.session_timeout, m.rebalance_timeout) == (SESSION_MS, RDKAFKA_REBALANCE_MS), m
            assert kw.parse_consumer_subscription(m.subscription)[1] == [ORDERS], m
        last = values[-1]
        assert last and last.members == [] and last.protocol is None and last.leader is None, last
        assert last.protocol_type == "consumer" and last.generation == gens[-1]
    # /consumers itself is one of the paths a broker creates at start-up, as
    # Kafka does (zk-and-replication.md 1); group state never goes there.
    assert c.children("/consumers") in (None, []), f"/consumers holds {c.children('/consumers')}"


def test_a_static_member_restarted_within_its_session_gets_its_partitions_back_without_a_rebalance(cluster, fleet):
    c, group = cluster, "shop-static"

    def start(name):
        return fleet.start(c, group, PAYMENTS, PAYMENTS_PARTITIONS, name,
                           **{"group.instance.id": name, "session.timeout.ms": STATIC_SESSION_MS})
    with h.step(f"start static members shop-a and shop-b (group.instance.id, {STATIC_SESSION_MS} ms sessions)"):
        members = [start("shop-a"), start("shop-b")]
    coordinator = h.wait_coordinator(c, group)
    with h.step("both hold partitions and the group is Stable (bound 90 s)"):
        h.wait_until(lambda: balanced(members, PAYMENTS_PARTITIONS) and
                     stable_with(coordinator, group, members, PAYMENTS), 90, "a Stable group")
    d0, gen0 = h.describe_group(coordinator, group), generation(coordinator, group)
    assert {m.instance_id for m in d0.members} == {"shop-a", "shop-b"}, d0
    p = kw.group_partition(group, OFFSETS_PARTITIONS)
    stored = [kw.decode_group_value(r.value) for r in h.fetch_log(coordinator, OFFSETS_TOPIC, p)
              if r.value is not None and kw.decode_offsets_key(r.key) == kw.GroupKey(2, group)][-1]
    assert {m.instance_id for m in stored.members} == {"shop-a", "shop-b"}, "the group record keeps the instance ids"
    share = {m.client_id: m.assignment() for m in members}
    other = members[1]
    revokes = len(other.of("revoked"))

    def back_stable():
        if not coordinator.alive():
            raise h.Fatal(f"the coordinator, broker {coordinator.id}, died:\n{coordinator.process.tail(30)}")
        return members[0].assignment() and stable_with(coordinator, group, members, PAYMENTS)

    for how in ("SIGKILL", "close() (no LeaveGroup for a static member)"):
        old_id = by_client(h.describe_group(coordinator, group))["shop-a"].member_id
        with h.step(f"stop shop-a with {how} and start it again with the same instance id (bound 60 s)"):
            if how == "SIGKILL":
                members[0].kill9()
            else:
                members[0].close()
            members[0] = start("shop-a")
            h.wait_until(back_stable, 60, "the restarted shop-a to hold its partitions")
        d = h.describe_group(coordinator, group)
        new_id = by_client(d)["shop-a"].member_id
        print(f"    shop-a {old_id} -> {new_id}; generation {generation(coordinator, group)}", flush=True)
        assert members[0].assignment() == share["shop-a"]
        assert new_id != old_id and new_id.startswith("shop-a-"), (old_id, new_id)
        assert f"static member shop-a rejoined as {new_id}" in coordinator.process.last_run_text()
        assert generation(coordinator, group) == gen0, "a static rejoin must not start a new generation"
        assert other.assignment() == share["shop-b"] and len(other.of("revoked")) == revokes, \
            "shop-b saw a rebalance"
