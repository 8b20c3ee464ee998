"""
Scenario zl: an operator watches consumer groups with kbroker-admin (issue 13
item 5).  `list-groups` and `describe-group` ask the brokers, as Kafka's
kafka-consumer-groups.sh --list and --describe do (groups live in their
coordinators and __consumer_offsets, not in ZooKeeper), and show what the
test knows to be true.

One ZooKeeper and three brokers for the whole file (__consumer_offsets with
6 partitions, replication factor 3; group.initial.rebalance.delay.ms=0).
The runbook, in order:

  first look     describe-group before __consumer_offsets exists: the tool
                 waits while FindCoordinator answers COORDINATOR_NOT_AVAILABLE
                 (the brokers create the topic meanwhile), then says
                 "Consumer group 'G' does not exist." and exits 8;
  groups         topics orders (2 partitions) and legacy (1), two replicas
                 each, with 20, 30 and 8 records; group "billing" (three confluent-kafka consumers
                 subscribed to orders: one partition each for two of them,
                 nothing for the third) commits orders-0 at 12, orders-1 at
                 30 and legacy-0 at 5; group "reports" only stores offsets
                 (orders-0 at 3, committed outside group management).  The
                 two group ids are picked so that different brokers
                 coordinate them;
  list-groups    lists both groups (asking every broker), and with --state
                 --json their protocol types, states and coordinators;
  describe       describe-group --json for billing: Stable, consumer, range,
                 the three members with client id, host and assignment (the
                 member ids as kafka-python's admin client reads them), and
                 per partition the committed offset, log end and lag; the
                 text form shows the same numbers in Kafka's columns;
                 reports: Empty, "has no active members", its one row;
  members leave  the consumers of billing close: billing turns Empty and
                 keeps its committed offsets;
  failover       billing's coordinator is stopped: one describe-group run
                 finds the group on the new leader of its __consumer_offsets
                 partition (waiting out NOT_COORDINATOR / loading), with the
                 same offsets;
  errors         an unknown group (exit 8), a bootstrap server nobody listens
                 on (exit 2), and one that accepts but never answers (exit 9
                 within --timeout-ms): each one clear line on stderr; and
                 the wrong connection option for a command (exit 1).
"""
import json
import socket

import pytest

import kbharness as h

BROKERS = [1, 2, 3]
OFFSETS_PARTITIONS = 6
BROKER_CONFIG = {"offsets.topic.num.partitions": str(OFFSETS_PARTITIONS),
                 "group.initial.rebalance.delay.ms": "0"}
# The records each partition holds, and what the groups commit.
RECORDS = {("orders", 0): 20, ("orders", 1): 30, ("legacy", 0): 8}
BILLING_COMMITS = {("orders", 0): 12, ("orders", 1): 30, ("legacy", 0): 5}
REPORTS_COMMITS = {("orders", 0): 3}
MEMBERS = ["billing-a", "billing-b", "billing-c"]
# Bounds of the waits and of each kbroker-admin run.
GROUP_WAIT_S = 90
ADMIN_RUN_S = 120
FIRST_LOOK_TIMEOUT_MS = 60000


# -- helpers ---------------------------------------------------------------------

def group_admin(*args, timeout=ADMIN_RUN_S):
    """kbroker-admin with a group command (no --zookeeper): the finished
    process, its output printed like kbharness.run_admin's."""
    return h.run_tool("kbroker-admin", [h.KBROKER_ADMIN_BIN, *args], timeout)


def java_hash_partition(group, n):
    """The __consumer_offsets partition of a group (group-protocol.md 3.1),
    for ASCII ids: Java's String.hashCode, Utils.abs, mod n."""
    v = 0
    for ch in group:
        v = (31 * v + ord(ch)) & 0xFFFFFFFF
    if v >= 0x80000000:
        v -= 0x100000000
    return (0 if v == -0x80000000 else abs(v)) % n


def offsets_leaders(cluster):
    """{partition: leader} of __consumer_offsets once every partition has one."""
    st = cluster.states("__consumer_offsets")
    if not st or len(st) != OFFSETS_PARTITIONS or any(s["leader"] < 0 for s in st.values()):
        return None
    return h.leaders_of(st)


def two_ids_on_two_coordinators(leaders):
    """("billing-N", "reports-M") whose coordinators differ."""
    for i in range(100):
        billing = f"billing-{i}"
        for j in range(100):
            reports = f"reports-{j}"
            a = leaders[java_hash_partition(billing, OFFSETS_PARTITIONS)]
            b = leaders[java_hash_partition(reports, OFFSETS_PARTITIONS)]
            if a != b:
                return billing, reports, a, b
    raise AssertionError(f"no two group ids on two coordinators with leaders {leaders}")


class Member:
    """One confluent-kafka consumer of a group, subscribed with callbacks
    that record its assignment (None between a revocation and the next
    assignment)."""

    def __init__(self, bootstrap, group, client_id, topics):
        from confluent_kafka import Consumer
        self.client_id = client_id
        self.assigned = None
        self.closed = False
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "client.id": client_id,
                                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                                  "session.timeout.ms": 30000, "socket.timeout.ms": 20000})
        self.consumer.subscribe(topics, on_assign=self.on_assign, on_revoke=self.on_revoke)

    def on_assign(self, consumer, partitions):
        self.assigned = sorted((p.topic, p.partition) for p in partitions)

    def on_revoke(self, consumer, partitions):
        self.assigned = None

    def commit(self, offsets):
        from confluent_kafka import TopicPartition
        done = self.consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                                    asynchronous=False)
        errors = [(tp.topic, tp.partition, tp.error) for tp in done if tp.error is not None]
        assert not errors, f"{self.client_id}: commit failed: {errors}"

    def close(self):
        """Leaves the group (LeaveGroup), once."""
        if not self.closed:
            self.closed = True
            self.consumer.close()


def settled(members, partitions):
    """Polls every member once (rebalance callbacks run in poll); true once
    each has an assignment and together they hold each partition once."""
    for m in members:
        m.consumer.poll(0.05)
    if any(m.assigned is None for m in members):
        return None
    held = [tp for m in members for tp in m.assigned]
    return sorted(held) == sorted(partitions) and {m.client_id: m.assigned for m in members}


def describe_json(bootstrap, group):
    r = group_admin("describe-group", "--bootstrap-server", bootstrap, "--group", group, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def rows_by_partition(doc):
    return {(p["topic"], p["partition"]): p for p in doc["partitions"]}


# -- the cluster, the groups -------------------------------------------------------

@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start brokers 1, 2, 3 (__consumer_offsets: {OFFSETS_PARTITIONS} partitions, RF 3)"):
        c.start_brokers(BROKERS, extra=BROKER_CONFIG)
        c.wait_controller()
    # Two replicas each, so that every partition keeps a leader when the
    # failover step stops a broker.
    c.create_topic("orders", 2, 2)
    c.create_topic("legacy", 1, 2)
    with h.step(f"produce {RECORDS} records"):
        producer = h.ck_producer(c.bootstrap())
        recs = [h.Rec(t, p, None, None, b"%s-%d-%d" % (t.encode(), p, i), (), None)
                for (t, p), n in RECORDS.items() for i in range(n)]
        reports = h.ck_produce(producer, recs)
        assert all(err is None for _, err in reports), [err for _, err in reports if err][:3]
    return c


def test_first_look_waits_for_the_offsets_topic_then_finds_no_group(cluster):
    with h.step(f"describe-group 'nobody' before __consumer_offsets exists (--timeout-ms {FIRST_LOOK_TIMEOUT_MS})"):
        r = group_admin("describe-group", "--bootstrap-server", cluster.bootstrap(), "--group", "nobody",
                        "--timeout-ms", FIRST_LOOK_TIMEOUT_MS)
    assert r.returncode == 8, r.stderr
    assert r.stderr.strip() == "kbroker-admin: Consumer group 'nobody' does not exist."
    assert r.stdout == ""
    assert cluster.topic("__consumer_offsets") is not None, "FindCoordinator should have created __consumer_offsets"


@pytest.fixture(scope="module")
def groups(cluster):
    """billing (three subscribed members, commits) and reports (offsets
    only), on two different coordinators."""
    c = cluster
    with h.step(f"wait until every __consumer_offsets partition has a leader (bound {GROUP_WAIT_S}s)"):
        leaders = h.wait_until(lambda: offsets_leaders(c), GROUP_WAIT_S, "leaders of __consumer_offsets")
    billing, reports, billing_coord, reports_coord = two_ids_on_two_coordinators(leaders)
    print(f"    groups {billing} (coordinator {billing_coord}) and {reports} (coordinator {reports_coord})", flush=True)
    members = [Member(c.bootstrap(), billing, cid, ["orders"]) for cid in MEMBERS]
    try:
        with h.step(f"three consumers of {billing} share orders' 2 partitions (bound {GROUP_WAIT_S}s)"):
            owners = h.wait_until(lambda: settled(members, [("orders", 0), ("orders", 1)]), GROUP_WAIT_S,
                                  f"{MEMBERS} to hold orders-0 and orders-1 once each")
        owner = {tp: cid for cid, tps in owners.items() for tp in tps}
        by_id = {m.client_id: m for m in members}
        idle = next(cid for cid, tps in owners.items() if not tps)
        with h.step(f"commit {BILLING_COMMITS} in {billing} (each partition's owner; legacy-0 by {idle})"):
            for tp in [("orders", 0), ("orders", 1)]:
                by_id[owner[tp]].commit({tp: BILLING_COMMITS[tp]})
            by_id[idle].commit({("legacy", 0): BILLING_COMMITS[("legacy", 0)]})
        with h.step(f"commit {REPORTS_COMMITS} in {reports} outside group management"):
            from confluent_kafka import Consumer, TopicPartition
            lone = Consumer({"bootstrap.servers": c.bootstrap(), "group.id": reports, "client.id": "reports-job",
                             "enable.auto.commit": False, "socket.timeout.ms": 20000})
            try:
                done = lone.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in REPORTS_COMMITS.items()],
                                   asynchronous=False)
                assert all(tp.error is None for tp in done), done
            finally:
                lone.close()
        yield {"billing": billing, "reports": reports, "coordinators": {billing: billing_coord, reports: reports_coord},
               "owners": owners, "idle": idle, "members": members}
    finally:
        for m in members:
            m.close()


# -- the operator's view -----------------------------------------------------------

def test_list_groups_asks_every_broker(cluster, groups):
    billing, reports = groups["billing"], groups["reports"]
    with h.step("list-groups"):
        r = group_admin("list-groups", "--bootstrap-server", cluster.bootstrap())
    assert r.returncode == 0, r.stderr
    assert {billing, reports} <= set(r.stdout.split()), r.stdout
    with h.step("list-groups --state --json (bootstrap: one broker only)"):
        r = group_admin("list-groups", "--bootstrap-server", cluster.brokers[1].bootstrap, "--state", "--json")
    assert r.returncode == 0, r.stderr
    listed = {g["group"]: g for g in json.loads(r.stdout)}
    assert listed[billing] == {"group": billing, "protocol_type": "consumer", "state": "Stable",
                               "coordinator": groups["coordinators"][billing]}
    assert listed[reports] == {"group": reports, "protocol_type": "", "state": "Empty",
                               "coordinator": groups["coordinators"][reports]}
    with h.step("list-groups --state (text)"):
        r = group_admin("list-groups", "--bootstrap-server", cluster.bootstrap(), "--state")
    lines = [ln.split() for ln in r.stdout.splitlines()]
    assert r.returncode == 0 and lines[0] == ["GROUP", "STATE"], r.stdout
    assert [billing, "Stable"] in lines and [reports, "Empty"] in lines, r.stdout


def kafka_python_members(bootstrap, group):
    """{client id: (member id, host, [(topic, partition)])} as kafka-python's
    admin client describes the group."""
    import logging
    from kafka.admin import KafkaAdminClient
    logging.getLogger("kafka").setLevel(logging.ERROR)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), api_version_auto_timeout_ms=15000,
                             request_timeout_ms=30000)
    try:
        (info,) = admin.describe_consumer_groups([group])
    finally:
        admin.close()
    return {m.client_id: (m.member_id, m.client_host,
                          sorted((t, p) for t, ps in m.member_assignment.assignment for p in ps))
            for m in info.members}


def test_describe_group_shows_members_offsets_and_lag(cluster, groups):
    billing = groups["billing"]
    with h.step(f"describe-group {billing} --json"):
        doc = describe_json(cluster.bootstrap(), billing)
    coordinator = cluster.brokers[groups["coordinators"][billing]]
    assert (doc["group"], doc["state"], doc["protocol_type"], doc["protocol"]) == (billing, "Stable", "consumer",
                                                                                   "range")
    assert doc["coordinator"] == {"id": coordinator.id, "host": "127.0.0.1", "port": coordinator.port}
    with h.step("kafka-python's admin client describes the same group (member ids)"):
        theirs = kafka_python_members(cluster.bootstrap(), billing)
    members = {m["client_id"]: m for m in doc["members"]}
    assert sorted(members) == MEMBERS
    for cid, m in members.items():
        assert m["member_id"].startswith(cid + "-"), m
        assert m["group_instance_id"] is None
        assert m["host"] == "/127.0.0.1"
        assert sorted((a["topic"], a["partition"]) for a in m["assignment"]) == groups["owners"][cid]
        assert (m["member_id"], m["host"], groups["owners"][cid]) == theirs[cid]

    rows = rows_by_partition(doc)
    assert sorted(rows) == sorted(BILLING_COMMITS)
    owner = {tp: cid for cid, tps in groups["owners"].items() for tp in tps}
    for tp, committed in BILLING_COMMITS.items():
        row = rows[tp]
        member = members.get(owner.get(tp))
        assert (row["current_offset"], row["log_end_offset"], row["lag"]) == (committed, RECORDS[tp],
                                                                              RECORDS[tp] - committed), row
        assert (row["member_id"], row["client_id"], row["host"]) == (
            (member["member_id"], member["client_id"], "/127.0.0.1") if member else (None, None, None)), row

    with h.step(f"describe-group {billing} (text)"):
        r = group_admin("describe-group", "--bootstrap-server", cluster.bootstrap(), "--group", billing)
    assert r.returncode == 0, r.stderr
    lines = [ln.split() for ln in r.stdout.splitlines() if ln.strip()]
    assert lines[0] == ["GROUP", "COORDINATOR", "(ID)", "PROTOCOL-TYPE", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"]
    assert lines[1] == [billing, f"127.0.0.1:{coordinator.port}", f"({coordinator.id})", "consumer", "range",
                        "Stable", "3"]
    assert lines[2] == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID",
                        "HOST", "CLIENT-ID"]
    table = lines[3:]
    for (t, p), committed in BILLING_COMMITS.items():
        cid = owner.get((t, p))
        consumer = [members[cid]["member_id"], "/127.0.0.1", cid] if cid else ["-", "-", "-"]
        assert [billing, t, str(p), str(committed), str(RECORDS[(t, p)]), str(RECORDS[(t, p)] - committed),
                *consumer] in table, r.stdout
    idle = members[groups["idle"]]
    assert [billing, "-", "-", "-", "-", "-", idle["member_id"], "/127.0.0.1", idle["client_id"]] in table
    assert len(table) == len(BILLING_COMMITS) + 1, r.stdout


def test_describe_an_offsets_only_group(cluster, groups):
    reports = groups["reports"]
    with h.step(f"describe-group {reports} --json"):
        doc = describe_json(cluster.bootstrap(), reports)
    assert (doc["state"], doc["protocol_type"], doc["protocol"], doc["members"]) == ("Empty", "", "", [])
    assert doc["coordinator"]["id"] == groups["coordinators"][reports]
    (tp, committed), = REPORTS_COMMITS.items()
    assert doc["partitions"] == [{"topic": tp[0], "partition": tp[1], "current_offset": committed,
                                  "log_end_offset": RECORDS[tp], "lag": RECORDS[tp] - committed,
                                  "member_id": None, "client_id": None, "host": None}]
    with h.step(f"describe-group {reports} (text)"):
        r = group_admin("describe-group", "--bootstrap-server", cluster.bootstrap(), "--group", reports)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == f"Consumer group '{reports}' has no active members."
    assert [reports, tp[0], str(tp[1]), str(committed), str(RECORDS[tp]), str(RECORDS[tp] - committed),
            "-", "-", "-"] in [ln.split() for ln in r.stdout.splitlines()], r.stdout


def assert_offsets_only(doc, commits):
    """An Empty group with no member: one row per committed offset, with the
    log end and lag the test knows."""
    assert (doc["state"], doc["protocol"], doc["members"]) == ("Empty", "", []), doc
    assert rows_by_partition(doc) == {
        tp: {"topic": tp[0], "partition": tp[1], "current_offset": o, "log_end_offset": RECORDS[tp],
             "lag": RECORDS[tp] - o, "member_id": None, "client_id": None, "host": None}
        for tp, o in commits.items()}, doc


def test_a_group_whose_members_left_is_empty_and_keeps_its_offsets(cluster, groups):
    billing = groups["billing"]
    with h.step(f"close the three consumers of {billing} (each sends LeaveGroup)"):
        for m in groups["members"]:
            m.close()
    with h.step(f"wait until describe-group shows {billing} Empty (bound {GROUP_WAIT_S}s)"):
        doc = h.wait_until(lambda: (lambda d: d if d["state"] == "Empty" else None)(
            describe_json(cluster.bootstrap(), billing)), GROUP_WAIT_S, f"{billing} to be Empty")
    assert doc["protocol_type"] == "consumer", "an Empty group keeps its protocol type"
    assert_offsets_only(doc, BILLING_COMMITS)


def test_describe_group_follows_its_coordinator_to_another_broker(cluster, groups):
    billing = groups["billing"]
    old = groups["coordinators"][billing]
    p = java_hash_partition(billing, OFFSETS_PARTITIONS)
    with h.step(f"wait until every replica of orders and legacy is in its ISR (bound {GROUP_WAIT_S}s each)"):
        for topic in ("orders", "legacy"):
            h.wait_full_isr(cluster, topic, GROUP_WAIT_S)
    with h.step(f"stop broker {old}, the coordinator of {billing} (SIGTERM)"):
        assert cluster.brokers[old].stop() == 0
    with h.step(f"wait for a new leader of __consumer_offsets-{p} and of every partition of orders and legacy "
                f"(bound {GROUP_WAIT_S}s each)"):
        new = h.wait_until(lambda: (lambda st: st["leader"] if st and st["leader"] not in (-1, old) else None)(
            cluster.state("__consumer_offsets", p)), GROUP_WAIT_S, f"__consumer_offsets-{p} led by a live broker")
        for topic in ("orders", "legacy"):
            cluster.wait_topic_ready(topic, GROUP_WAIT_S)
    # One run: the tool itself waits out NOT_COORDINATOR and
    # COORDINATOR_LOAD_IN_PROGRESS while broker {new} takes the group over.
    with h.step(f"describe-group {billing} once, right away (--timeout-ms {FIRST_LOOK_TIMEOUT_MS})"):
        r = group_admin("describe-group", "--bootstrap-server", cluster.bootstrap(), "--group", billing, "--json",
                        "--timeout-ms", FIRST_LOOK_TIMEOUT_MS)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["coordinator"]["id"] == new
    assert_offsets_only(doc, BILLING_COMMITS)


# -- errors --------------------------------------------------------------------------

def test_unknown_group_is_a_clear_error(cluster, groups):
    with h.step("describe-group no-such-group"):
        r = group_admin("describe-group", "--bootstrap-server", cluster.bootstrap(), "--group", "no-such-group")
    assert r.returncode == 8
    assert r.stderr.strip() == "kbroker-admin: Consumer group 'no-such-group' does not exist."
    assert r.stdout == ""


def test_unreachable_bootstrap_server_is_a_clear_error():
    port = h.closed_port()
    with h.step(f"list-groups against 127.0.0.1:{port}, where nothing listens"):
        r = group_admin("list-groups", "--bootstrap-server", f"127.0.0.1:{port}")
    assert r.returncode == 2
    assert r.stderr.strip() == f"kbroker-admin: cannot connect to 127.0.0.1:{port}: Connection refused"
    assert r.stdout == ""


def test_a_bootstrap_server_that_never_answers_times_out():
    # A listening socket that never accepts: the kernel completes the
    # handshake and queues the request, nobody answers.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        with h.step(f"describe-group against 127.0.0.1:{port}, which never answers (--timeout-ms 2000)"):
            r = group_admin("describe-group", "--bootstrap-server", f"127.0.0.1:{port}", "--group", "g",
                            "--timeout-ms", 2000)
    assert r.returncode == 9
    assert r.stderr.strip() == (f"kbroker-admin: timed out waiting for the answer to Metadata from "
                                f"127.0.0.1:{port} (--timeout-ms 2000)")
    assert r.stdout == ""


def test_group_commands_want_bootstrap_servers_not_zookeeper(zookeeper):
    with h.step("list-groups with --zookeeper, describe-group without --group or with a bad bootstrap list"):
        wrong = group_admin("--zookeeper", zookeeper.connect, "list-groups")
        no_group = group_admin("describe-group", "--bootstrap-server", "127.0.0.1:9092")
        bad_list = group_admin("list-groups", "--bootstrap-server", "127.0.0.1:9092,")
        topic_cmd = group_admin("--bootstrap-server", "127.0.0.1:9092", "list-topics")
    for r in (wrong, no_group, bad_list, topic_cmd):
        assert r.returncode == 1 and r.stdout == "" and r.stderr.count("\n") == 1, r
    assert "give --bootstrap-server HOST:PORT[,HOST:PORT...] instead of --zookeeper" in wrong.stderr
    assert no_group.stderr == "kbroker-admin: describe-group: missing --group G\n"
    assert bad_list.stderr == ("kbroker-admin: invalid --bootstrap-server '127.0.0.1:9092,': "
                               "expected HOST:PORT[,HOST:PORT...]\n")
    assert "list-topics works through ZooKeeper" in topic_cmd.stderr
