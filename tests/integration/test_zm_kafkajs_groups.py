"""
Scenario zm: KafkaJS 2.2.4 consumer groups against kbroker (issue 13: "KafkaJS
2.2.4 joins, consumes and commits"; group-protocol.md 4.4-4.6, 5.3, 6.1-6.2
and 9 item 15).

KafkaJS is pinned by tests/integration/kafkajs/package-lock.json and installed
there by `npm ci` (scripts/test.sh does it); each group member is a node
process running tests/integration/kafkajs/group_consumer.js, which reads with
eachBatch and autoCommit off, commits what it read after every batch, and
prints what it read, joined and committed as JSON lines.  The file is skipped,
saying why, when node or the kafkajs module is not installed.

One ZooKeeper and three brokers for the whole file (group.initial.rebalance.
delay.ms=0, __consumer_offsets with 4 partitions, RF 3, 6 s sessions), one
topic `orders` (4 partitions, RF 3) that confluent-kafka fills.  The
scenarios, in order:

  two members     two KafkaJS members join group kafkajs-orders, one after
                  the other, before any record exists; the broker's
                  DescribeGroups and the members agree that each owns two
                  of the four partitions (RoundRobinAssigner), disjoint;
                  100 records per partition are produced; each member reads
                  its 200 and commits; every record is read exactly once;
                  confluent-kafka committed() gives the log end offsets;
  third member    a third member joins: the group settles into 2/1/1 shares;
                  40 more records per partition are each read once, by the
                  partition's new owner, and nothing committed is read again;
                  the members are stopped one by one (SIGTERM: LeaveGroup),
                  the others taking over without reading anything twice, and
                  the group ends Empty with its offsets at the log end;
  mixed group     a KafkaJS member asking to join a librdkafka group is
                  refused with INCONSISTENT_GROUP_PROTOCOL (23): KafkaJS
                  offers only RoundRobinAssigner, librdkafka range and
                  roundrobin (4.4 step 4; 9 item 15 says this is correct);
                  the librdkafka member keeps the group to itself;
  own protocols   the same check, crafted: a group's only member that
                  rejoins offering none of the protocols it joined with is
                  INCONSISTENT_GROUP_PROTOCOL in Kafka, whose count of
                  supporters includes the member's own current protocols
                  (GroupMetadata.supportsProtocols), and so in kbroker;
  overlapping     crafted: the leader's SyncGroup of a new generation,
  writes          sent while the previous generation's assignment write is
                  still unacknowledged (its followers frozen), must be
                  stored and answered once they resume (two KafkaJS
                  members started together met this: an earlier kbroker
                  dropped that assignment, and their SyncGroups timed out
                  after 30 s).
"""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import kafkawire as kw
import kbharness as h

KAFKAJS_DIR = Path(__file__).resolve().parent / "kafkajs"
SCRIPT = KAFKAJS_DIR / "group_consumer.js"
PINNED = json.loads((KAFKAJS_DIR / "package.json").read_text())["dependencies"]["kafkajs"]
# $NODE: another node to run the members with (default: the one on PATH).
NODE = shutil.which(os.environ.get("NODE", "node"))


def kafkajs_version():
    """The version of the kafkajs module node resolves from
    tests/integration/kafkajs, or None when it resolves none."""
    r = subprocess.run([NODE, "-e", "process.stdout.write(require('kafkajs/package.json').version)"],
                       cwd=KAFKAJS_DIR, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return r.stdout.strip() if r.returncode == 0 else None


if NODE is None:
    pytest.skip("node is not installed (Debian's nodejs package; scripts/test.sh installs it)",
                allow_module_level=True)
INSTALLED = kafkajs_version()
if INSTALLED is None:
    pytest.skip(f"the kafkajs module is not installed in {KAFKAJS_DIR} (run `npm ci` there; "
                "scripts/test.sh does)", allow_module_level=True)

TOPIC = "orders"
PARTITIONS = 4
GROUP = "kafkajs-orders"
FIRST_ROUND = 100   # records per partition before the third member joins
SECOND_ROUND = 40   # records per partition after it has joined
# offsets.commit.timeout.ms is long so that an assignment write held up by
# frozen followers (the overlapping-writes scenario) stays in flight until
# they are resumed, however slow the steps in between; 6 s ZooKeeper
# sessions so that those followers, frozen for a few requests, keep theirs.
BROKER_CONFIG = {"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "4",
                 "offsets.topic.replication.factor": "3", "offsets.commit.timeout.ms": "60000"}
SESSION_MS = 6000
INCONSISTENT_GROUP_PROTOCOL = 23
# Bounds.  A first join also waits for __consumer_offsets to be created and
# loaded, and a rebalance for every member's next heartbeat (1 s apart).
JOIN_WAIT_S = 120
CONSUME_WAIT_S = 120
MEMBER_DEADLINE_MS = 600_000  # a --hold member exits by itself after this
EXIT_WAIT_S = 40


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2, 3 (group.initial.rebalance.delay.ms=0, offsets.topic.num.partitions=4, "
                f"offsets.commit.timeout.ms=60000, {SESSION_MS} ms sessions)"):
        c.start_brokers([1, 2, 3], session_timeout_ms=SESSION_MS, extra=BROKER_CONFIG)
        c.wait_controller()
    c.create_topic(TOPIC, partitions=PARTITIONS, rf=3)
    with h.step(f"wait for every replica of {TOPIC} to be in its ISR"):
        h.wait_full_isr(c, TOPIC)
    return c


@pytest.fixture(scope="module")
def admin(cluster):
    """kafka-python's admin client: the broker's own view of a group
    (DescribeGroups, its assignments decoded)."""
    import logging
    from kafka.admin import KafkaAdminClient
    logging.getLogger("kafka").setLevel(logging.ERROR)
    a = KafkaAdminClient(bootstrap_servers=cluster.bootstrap().split(","), api_version_auto_timeout_ms=15000,
                         request_timeout_ms=30000)
    yield a
    a.close()


@pytest.fixture(scope="module")
def state():
    """What one scenario leaves for the next: {"produced": {(partition, offset): value}}."""
    return {}


@pytest.fixture(scope="module")
def members(workdir):
    """The KafkaJS members of the file by name; whatever is still running
    at the end is stopped by PID."""
    running = {}
    yield running
    for m in running.values():
        m.process.stop(timeout=EXIT_WAIT_S)


# -- a KafkaJS member ------------------------------------------------------------

class KafkaJSMember:
    """One group_consumer.js process.  Its stdout (JSON events) and KafkaJS's
    log on stderr share one log file; events() reads the events back."""

    def __init__(self, workdir, name, bootstrap, group, records=0, hold=True, deadline_ms=MEMBER_DEADLINE_MS):
        argv = [NODE, SCRIPT, "--brokers", bootstrap, "--group", group, "--topic", TOPIC,
                "--records", records, "--client-id", f"kafkajs-{name}", "--deadline-ms", deadline_ms]
        if hold:
            argv.append("--hold")
        self.name = name
        self.process = h.Process(f"kafkajs {name}", argv, workdir / f"kafkajs-{name}.log", cwd=KAFKAJS_DIR)

    def start(self):
        self.process.start()
        return self

    def events(self, kind=None):
        out = []
        for line in self.process.last_run_text().splitlines():
            if line.startswith('{"event":'):
                e = json.loads(line)
                if kind is None or e["event"] == kind:
                    out.append(e)
        return out

    def joined(self):
        """(member id, set of partitions) of its latest join, or None."""
        j = self.events("joined")
        return (j[-1]["memberId"], set(j[-1]["assignment"].get(TOPIC, []))) if j else None

    def records(self):
        """[(partition, offset, value)] in the order it read them."""
        return [(e["partition"], int(e["offset"]), e["value"]) for e in self.events("record")]

    def committed(self):
        """{partition: offset} of its acknowledged commits, the latest per partition."""
        out = {}
        for e in self.events("committed"):
            for o in e["offsets"]:
                out[o["partition"]] = int(o["offset"])
        return out

    def alive_or_fail(self):
        if not self.process.alive():
            raise h.Fatal(f"KafkaJS member {self.name} exited with {self.process.proc.returncode}:\n"
                          f"{self.process.tail(30)}")

    def stop(self):
        """SIGTERM: it leaves the group, prints its group's offsets, exits 0."""
        rc = self.process.stop(timeout=EXIT_WAIT_S)
        assert rc == 0, f"KafkaJS member {self.name} exited with {rc} on SIGTERM:\n{self.process.tail(30)}"
        exits = self.events("exit")
        assert exits and exits[-1]["code"] == 0, f"{self.name}: {exits}"


def start_member(members, workdir, cluster, name, **kw):
    m = KafkaJSMember(workdir, name, cluster.bootstrap(), GROUP, **kw).start()
    members[name] = m
    return m


# -- the broker's view -------------------------------------------------------------

def describe(admin, group):
    g = admin.describe_consumer_groups([group])[0]
    assert g.error_code == 0, f"DescribeGroups {group}: error {g.error_code}"
    return g


def broker_assignment(group_info):
    """{member id: set of partitions of TOPIC} as DescribeGroups gives them."""
    out = {}
    for m in group_info.members:
        parts = set()
        for topic, ps in (m.member_assignment.assignment if m.member_assignment else []):
            if topic == TOPIC:
                parts |= set(ps)
        out[m.member_id] = parts
    return out


def wait_settled(admin, live, shares, timeout=JOIN_WAIT_S):
    """Waits until the group is Stable with exactly the members in live,
    each member's latest join names the assignment the broker holds for
    it, the shares are disjoint and cover every partition, and their sizes
    are shares (sorted); returns {name: set of partitions}."""
    def settled():
        for m in live:
            m.alive_or_fail()
        g = describe(admin, GROUP)
        joins = {m.name: m.joined() for m in live}
        if g.state != "Stable" or None in joins.values():
            raise AssertionError(f"state {g.state}, joins {joins}")
        held = broker_assignment(g)
        mine = {name: parts for name, (_, parts) in joins.items()}
        if set(held) != {mid for mid, _ in joins.values()} or any(held[mid] != p for mid, p in joins.values()):
            raise AssertionError(f"broker holds {held}, members say {joins}")
        every = [p for parts in mine.values() for p in parts]
        if sorted(every) != list(range(PARTITIONS)) or sorted(len(p) for p in mine.values()) != shares:
            raise AssertionError(f"shares {mine}")
        assert g.protocol == "RoundRobinAssigner", g.protocol
        return mine
    names = ", ".join(m.name for m in live)
    return h.wait_until(settled, timeout, f"group {GROUP} to be Stable with {names} holding {shares} partitions",
                        interval=0.3)


def produce_round(cluster, start, count):
    """count records to each partition (offsets start..start+count-1 there),
    acks=all: {(partition, offset): value}."""
    recs = [h.Rec(TOPIC, p, None, f"p{p}-{i}".encode(), f"order-{p}-{i}".encode(), (), None)
            for p in range(PARTITIONS) for i in range(start, start + count)]
    with h.step(f"produce {count} records to each partition of {TOPIC} with confluent-kafka (acks=all)"):
        producer = h.ck_producer(cluster.bootstrap(), acks="all")
        reports = h.ck_produce(producer, recs)
    errors = [e for r, e in reports if e is not None]
    assert not errors, f"{len(errors)} deliveries failed, first: {errors[0]}"
    return {(r.partition, r.offset): r.value.decode() for r, _ in reports}


def read_by(members_):
    """{(partition, offset): [names of the members that read it]}."""
    out = {}
    for m in members_:
        for p, o, _ in m.records():
            out.setdefault((p, o), []).append(m.name)
    return out


def assert_read_once(members_, produced):
    """Every produced record was read by exactly one member, with its value."""
    seen = read_by(members_)
    twice = {k: v for k, v in seen.items() if len(v) > 1}
    assert not twice, f"records read more than once (partition, offset -> members): {sorted(twice.items())[:20]}"
    missing = sorted(set(produced) - set(seen))
    assert not missing, f"{len(missing)} records never read, first {missing[:10]}"
    extra = sorted(set(seen) - set(produced))
    assert not extra, f"records read that were never produced: {extra[:10]}"
    values = {(p, o): v for m in members_ for p, o, v in m.records()}
    wrong = [k for k in produced if values[k] != produced[k]]
    assert not wrong, f"values differ from what was produced at {wrong[:10]}"


def committed_by_confluent(cluster, group):
    """{partition: committed offset} through confluent-kafka committed()
    (OffsetFetch; no join), and {partition: log end offset}."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": cluster.bootstrap(), "group.id": group, "enable.auto.commit": False,
                  "socket.timeout.ms": 20000})
    try:
        got = c.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=30)
        ends = {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=30)[1] for p in range(PARTITIONS)}
    finally:
        c.close()
    assert all(tp.error is None for tp in got), [tp.error for tp in got]
    return {tp.partition: tp.offset for tp in got}, ends


# -- crafted JoinGroup v3 (no MEMBER_ID_REQUIRED before v4), spec 2.1-2.2 --------

def subscription_v0(topics):
    """ConsumerProtocolSubscription v0 (spec 5.1), empty user data."""
    return kw.i16(0) + kw.array(topics, kw.string) + kw.nbytes(b"")


def coordinator_of(cluster, group):
    """The Broker that FindCoordinator v0 names for group (once
    __consumer_offsets has a leader for its partition)."""
    def ask():
        s = h.connect(next(b for b in cluster.brokers.values() if b.alive()).port)
        try:
            s.sendall(h.kafka_request(10, 0, 1, kw.string(group)))
            _, r = kw.response_body(h.recv_frame(s))
        finally:
            s.close()
        err, node = r.i16(), r.i32()
        return cluster.brokers[node] if err == 0 else None
    return h.wait_until(ask, JOIN_WAIT_S, f"FindCoordinator to name the coordinator of {group}")


def send_join_group_v3(sock, group, member_id, protocols, corr):
    """Sends one JoinGroup v3 (session 30 s, rebalance 60 s, type
    "consumer", each protocol with a subscription to TOPIC)."""
    body = (kw.string(group) + kw.i32(30000) + kw.i32(60000) + kw.string(member_id) + kw.string("consumer")
            + kw.array(protocols, lambda name: kw.string(name) + kw.nbytes(subscription_v0([TOPIC]))))
    sock.sendall(h.kafka_request(11, 3, corr, body))


def read_join_group_v3(sock):
    _, r = kw.response_body(h.recv_frame(sock))
    r.i32()  # throttle time
    return {"error": r.i16(), "generation": r.i32(), "protocol": r.string(), "leader": r.string(),
            "member_id": r.string(), "members": r.array(lambda x: (x.string(), x.nbytes()))}


def join_group_v3(sock, group, member_id, protocols, corr):
    """One JoinGroup v3 and its answer."""
    send_join_group_v3(sock, group, member_id, protocols, corr)
    return read_join_group_v3(sock)


def send_sync_group_v1(sock, group, generation, member_id, assignments, corr):
    """Sends one SyncGroup v1; assignments: [(member id, bytes)], the
    leader's only."""
    body = (kw.string(group) + kw.i32(generation) + kw.string(member_id)
            + kw.array(assignments, lambda a: kw.string(a[0]) + kw.nbytes(a[1])))
    sock.sendall(h.kafka_request(14, 1, corr, body))


def read_sync_group_v1(sock):
    """(error, assignment bytes) of a SyncGroup v1 answer."""
    _, r = kw.response_body(h.recv_frame(sock))
    r.i32()  # throttle time
    return r.i16(), r.nbytes()


def assignment_v0(partitions):
    """ConsumerProtocolAssignment v0 (spec 5.2) of TOPIC's partitions."""
    return kw.i16(0) + kw.array([TOPIC], lambda t: kw.string(t) + kw.array(partitions, kw.i32)) + kw.nbytes(b"")


def offsets_partition(group, n):
    """p(group) of spec 3.1 for an ASCII group id: Java's String.hashCode,
    Utils.abs (MIN_VALUE gives 0), mod n."""
    hc = 0
    for ch in group:
        hc = (31 * hc + ord(ch)) & 0xFFFFFFFF
    hc = hc - (1 << 32) if hc >= 1 << 31 else hc
    return (0 if hc == -(1 << 31) else abs(hc)) % n


def poll_until_assigned(consumer, assigned):
    """One poll (librdkafka runs its rebalance callbacks in poll); the
    assignments seen so far."""
    consumer.poll(0.2)
    return assigned


# -- scenarios ---------------------------------------------------------------------

def test_the_pinned_kafkajs_is_installed():
    assert INSTALLED == PINNED == "2.2.4", f"node resolves kafkajs {INSTALLED}, package.json pins {PINNED}"


def test_two_kafkajs_members_share_the_partitions_and_commit_every_record_once(cluster, admin, members, state,
                                                                             workdir):
    t0 = time.monotonic()
    per_member = FIRST_ROUND * PARTITIONS // 2
    # One after the other: b joins a Stable group (the overlapping-writes
    # scenario below covers what starting both at once runs into).
    with h.step(f"start KafkaJS member a in group {GROUP} (RoundRobinAssigner) before any record exists"):
        a = start_member(members, workdir, cluster, "a", records=per_member)
    with h.step(f"wait (up to {JOIN_WAIT_S}s) until the broker and a agree that a owns every partition"):
        wait_settled(admin, [a], [PARTITIONS])
    with h.step("start KafkaJS member b in the same group"):
        b = start_member(members, workdir, cluster, "b", records=per_member)
    with h.step(f"wait (up to {JOIN_WAIT_S}s) until the broker and both members agree on two partitions each"):
        shares = wait_settled(admin, [a, b], [2, 2])
    print(f"    shares: {shares}")
    produced = produce_round(cluster, 0, FIRST_ROUND)

    with h.step(f"wait (up to {CONSUME_WAIT_S}s) until a and b have each read and committed {per_member} records"):
        def both_done():
            for m in (a, b):
                m.alive_or_fail()
            return all(m.events("done") and m.committed() == {p: FIRST_ROUND for p in shares[m.name]}
                       for m in (a, b))
        h.wait_until(both_done, CONSUME_WAIT_S, f"a and b to commit offset {FIRST_ROUND} on their partitions")
    for m in (a, b):
        assert {p for p, _, _ in m.records()} == shares[m.name], f"{m.name} read outside its share"
        assert len(m.records()) == per_member
    assert_read_once([a, b], produced)

    with h.step("read the group's committed offsets back with confluent-kafka committed()"):
        committed, ends = committed_by_confluent(cluster, GROUP)
    assert ends == {p: FIRST_ROUND for p in range(PARTITIONS)}
    assert committed == ends, f"committed {committed}, log end offsets {ends}"
    state["produced"] = produced
    print(f"    scenario wall time {time.monotonic() - t0:.2f}s")


def test_a_third_kafkajs_member_rebalances_without_reading_anything_twice(cluster, admin, members, state, workdir):
    t0 = time.monotonic()
    if "produced" not in state:
        pytest.fail("needs the two-member scenario before it")
    a, b = members["a"], members["b"]
    produced = dict(state["produced"])
    with h.step("start a third KafkaJS member c in the same group"):
        c = start_member(members, workdir, cluster, "c")
    with h.step(f"wait (up to {JOIN_WAIT_S}s) until the group has settled into 2/1/1 shares"):
        shares = wait_settled(admin, [a, b, c], [1, 1, 2])
    print(f"    shares: {shares}")
    new = produce_round(cluster, FIRST_ROUND, SECOND_ROUND)
    produced.update(new)

    with h.step(f"wait (up to {CONSUME_WAIT_S}s) until the {len(new)} new records have been read and committed"):
        def all_read():
            for m in (a, b, c):
                m.alive_or_fail()
            seen = read_by([a, b, c])
            committed = {p: o for m in (a, b, c) for p, o in m.committed().items() if p in shares[m.name]}
            return set(new) <= set(seen) and committed == {p: FIRST_ROUND + SECOND_ROUND for p in range(PARTITIONS)}
        h.wait_until(all_read, CONSUME_WAIT_S, "every new record to be read and committed by its owner")
    for key in new:
        readers = read_by([a, b, c])[key]
        assert readers == [next(n for n, ps in shares.items() if key[0] in ps)], f"{key} read by {readers}"
    assert_read_once([a, b, c], produced)

    # Each departure is a LeaveGroup and a rebalance; the ones who stay
    # resume the leaver's partitions at its committed offsets (the log end).
    for leaver, stay, left_shares in ((c, [a, b], [2, 2]), (b, [a], [4])):
        takers = " and ".join(m.name for m in stay) + (" take" if len(stay) > 1 else " takes")
        with h.step(f"stop {leaver.name} (SIGTERM): {takers} its partitions over"):
            leaver.stop()
            wait_settled(admin, stay, left_shares)
    with h.step("stop a (SIGTERM): the group is left Empty"):
        a.stop()
        h.wait_until(lambda: describe(admin, GROUP).state == "Empty", JOIN_WAIT_S, f"group {GROUP} to be Empty")
    assert_read_once([a, b, c], produced)

    end = FIRST_ROUND + SECOND_ROUND
    for m in (a, b, c):
        final = {o["partition"]: int(o["offset"]) for o in m.events("group_offsets")[-1]["offsets"]}
        assert final == {p: end for p in range(PARTITIONS)}, f"{m.name} read back {final}"
    with h.step("read the group's committed offsets back with confluent-kafka committed()"):
        committed, ends = committed_by_confluent(cluster, GROUP)
    assert committed == ends == {p: end for p in range(PARTITIONS)}, f"committed {committed}, ends {ends}"
    print(f"    scenario wall time {time.monotonic() - t0:.2f}s")


def test_a_kafkajs_member_cannot_join_a_librdkafka_group(cluster, admin, members, workdir):
    from confluent_kafka import Consumer
    t0 = time.monotonic()
    group = "rdkafka-orders"
    assigned = []
    rd = Consumer({"bootstrap.servers": cluster.bootstrap(), "group.id": group, "client.id": "rdkafka-orders",
                   "enable.auto.commit": False, "auto.offset.reset": "earliest", "socket.timeout.ms": 20000})
    try:
        with h.step(f"a librdkafka consumer (range, roundrobin) joins group {group} and gets all four partitions"):
            rd.subscribe([TOPIC], on_assign=lambda _, parts: assigned.append(sorted(tp.partition for tp in parts)))
            h.wait_until(lambda: poll_until_assigned(rd, assigned), JOIN_WAIT_S, "the librdkafka member's assignment")
            before = describe(admin, group)
        assert assigned == [list(range(PARTITIONS))]
        assert before.state == "Stable" and before.protocol == "range", before

        with h.step(f"a KafkaJS member (RoundRobinAssigner only) asks to join {group}"):
            m = KafkaJSMember(workdir, "mixed", cluster.bootstrap(), group, records=1, hold=False,
                              deadline_ms=JOIN_WAIT_S * 1000).start()
            members["mixed"] = m
            rc = m.process.wait(JOIN_WAIT_S + EXIT_WAIT_S)
        crashes = m.events("crash")
        assert rc == 4, f"KafkaJS exited {rc}, expected 4 (gave up); crashes {crashes}\n{m.process.tail(30)}"
        assert [(e["code"], e["type"], e["retriable"], e["restart"]) for e in crashes] == \
            [(INCONSISTENT_GROUP_PROTOCOL, "INCONSISTENT_GROUP_PROTOCOL", False, False)], crashes
        assert m.events("joined") == [] and m.events("record") == []

        after = describe(admin, group)
        assert (after.state, after.protocol) == ("Stable", "range")
        assert [mm.member_id for mm in after.members] == [mm.member_id for mm in before.members]
        assert [mm.client_id for mm in after.members] == ["rdkafka-orders"]
        assert broker_assignment(after) == broker_assignment(before)
    finally:
        rd.close()
    print(f"    scenario wall time {time.monotonic() - t0:.2f}s")


def test_a_sole_member_rejoining_with_none_of_its_protocols_is_inconsistent(cluster):
    t0 = time.monotonic()
    group = "crafted-protocols"
    coordinator = coordinator_of(cluster, group)
    s = h.connect(coordinator.port, timeout=JOIN_WAIT_S)
    try:
        with h.step(f"JoinGroup v3 to {group} offering only range: the member joins generation 1"):
            first = join_group_v3(s, group, "", ["range"], 1)
        assert (first["error"], first["generation"], first["protocol"]) == (0, 1, "range"), first
        assert first["leader"] == first["member_id"]
        with h.step("the same member joins again offering only roundrobin"):
            again = join_group_v3(s, group, first["member_id"], ["roundrobin"], 2)
    finally:
        s.close()
    print(f"    scenario wall time {time.monotonic() - t0:.2f}s")
    assert again["error"] == INCONSISTENT_GROUP_PROTOCOL, f"Kafka refuses with 23; kbroker answered {again}"


# A bound far above what a correct coordinator needs once the followers run
# again (milliseconds: one replica fetch); KafkaJS itself gives up after 30 s.
SYNC_WAIT_S = 15


def test_a_new_generation_is_stored_while_an_older_assignment_write_is_in_flight(cluster):
    t0 = time.monotonic()
    group = "crafted-overlapping-writes"
    coordinator = coordinator_of(cluster, group)
    p = offsets_partition(group, 4)
    assert cluster.state("__consumer_offsets", p)["leader"] == coordinator.id
    followers = [cluster.brokers[i] for i in h.replicas_of(cluster, "__consumer_offsets", p) if i != coordinator.id]
    x = h.connect(coordinator.port, timeout=SYNC_WAIT_S)
    y = h.connect(coordinator.port, timeout=SYNC_WAIT_S)
    try:
        with h.step(f"member x joins {group} alone: generation 1, x leads"):
            jx = join_group_v3(x, group, "", ["range"], 1)
        xid = jx["member_id"]
        assert (jx["error"], jx["generation"], jx["leader"]) == (0, 1, xid), jx
        with h.paused(*followers):
            with h.step(f"followers {[b.id for b in followers]} of __consumer_offsets-{p} frozen: x's SyncGroup "
                        "for generation 1 waits on its acks=all write"):
                send_sync_group_v1(x, group, 1, xid, [(xid, assignment_v0([0, 1, 2, 3]))], 2)
            with h.step("member y joins: a rebalance, x's parked SyncGroup is answered REBALANCE_IN_PROGRESS"):
                send_join_group_v3(y, group, "", ["range"], 1)
                assert read_sync_group_v1(x)[0] == 27
            with h.step("x joins again: generation 2 with x and y"):
                jx = join_group_v3(x, group, xid, ["range"], 3)
                jy = read_join_group_v3(y)
            yid = jy["member_id"]
            assert (jx["error"], jx["generation"], jy["error"], jy["generation"]) == (0, 2, 0, 2), (jx, jy)
            leader, other = (x, y) if jx["leader"] == xid else (y, x)
            ids = {x: xid, y: yid}
            shares = {xid: assignment_v0([0, 1]), yid: assignment_v0([2, 3])}
            with h.step("the leader and the follower send their SyncGroups for generation 2"):
                send_sync_group_v1(leader, group, 2, ids[leader], list(shares.items()), 4)
                send_sync_group_v1(other, group, 2, ids[other], [], 2)
        with h.step(f"followers resumed: wait (up to {SYNC_WAIT_S}s each) for both generation-2 answers"):
            got = {ids[s]: read_sync_group_v1(s) for s in (x, y)}
    finally:
        x.close()
        y.close()
    print(f"    scenario wall time {time.monotonic() - t0:.2f}s")
    assert got == {mid: (0, a) for mid, a in shares.items()}, got
