"""
Scenario zk: the group coordinator answering a member played by hand
(issue 13, group-protocol.md 2, 4, 6, 7.6, 9): every request is built by
kafkawire from the spec's layouts and sent on its own socket, so each
answer is the coordinator's alone, field by field.

Three brokers on one ZooKeeper, __consumer_offsets with 6 partitions and
replication factor 3, group.initial.rebalance.delay.ms=0.  The runbook:

  join        JoinGroup v4 without a member id is told MEMBER_ID_REQUIRED
              with an id to come back with; with it the member leads
              generation 1; its SyncGroup stores the assignment; a second
              member's join parks until the first rejoins (whose heartbeat
              says REBALANCE_IN_PROGRESS meanwhile); the follower's
              SyncGroup waits for the leader's assignment;
  errors      Heartbeat with a wrong generation: ILLEGAL_GENERATION;
              Heartbeat and SyncGroup of an unknown member:
              UNKNOWN_MEMBER_ID; JoinGroup with a 1 s session:
              INVALID_SESSION_TIMEOUT (a complete answer);
  elsewhere   every group API sent to a broker that does not coordinate
              the group: NOT_COORDINATOR;
  unknown     OffsetFetch of a group nobody used: -1 and "" with NONE;
              DescribeGroups: NONE, Dead, no members;
  delete      DeleteGroups of a group with a member: NON_EMPTY_GROUP;
              after its LeaveGroup: NONE, the offsets are gone, and the log
              holds tombstones for them and for the group;
  steady      a coordinator that stays leader of its offsets partition
              while a follower of it dies (a new leader epoch) keeps a
              rebalance in progress;
  too few     (a second cluster, one broker, its own chroot) with
              offsets.topic.replication.factor=3, FindCoordinator keeps
              answering COORDINATOR_NOT_AVAILABLE, the broker says why, and
              no __consumer_offsets znode appears - until two more brokers
              join.
"""
import threading
import time

import pytest

import kafkawire as kw
import kbharness as h

BROKERS = [1, 2, 3]
OFFSETS_PARTITIONS = 6
OFFSETS_TOPIC = "__consumer_offsets"
BROKER_CONFIG = {"group.initial.rebalance.delay.ms": "0",
                 "offsets.topic.num.partitions": str(OFFSETS_PARTITIONS),
                 "offsets.topic.replication.factor": "3"}
TOPIC, PARTITIONS = "ledger", 2
SESSION_MS = 10000
CLIENT_ID = "kbroker-tests"  # what kbharness.kafka_request puts in the header

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
DELETE_RECORDS = 21
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
INVALID_REQUEST = 42
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
MEMBER_ID_REQUIRED = 79


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start brokers 1, 2, 3 ({OFFSETS_PARTITIONS} offsets partitions RF 3, no initial rebalance delay)"):
        c.start_brokers(BROKERS, extra=BROKER_CONFIG)
        c.wait_controller()
    c.create_topic(TOPIC, PARTITIONS, 3)
    with h.step(f"ask for a coordinator: {OFFSETS_TOPIC} is created on first use (bound 60 s)"):
        h.wait_coordinator(c, "first-use", timeout=60)
    return c


# -- a member played by hand ---------------------------------------------------------

SUBSCRIPTION = kw.consumer_subscription([TOPIC])
PROTOCOLS = [("range", SUBSCRIPTION)]


def join(broker, group, member_id="", version=5, session_ms=SESSION_MS, protocol_type="consumer"):
    frame = h.kafka_call(broker, kw.JOIN_GROUP, version,
                         kw.join_group_body(group, member_id, PROTOCOLS, session_ms=session_ms, version=version,
                                            protocol_type=protocol_type))
    return kw.parse_join_group_response(frame, version)


def sync(broker, group, generation, member_id, assignments=()):
    frame = h.kafka_call(broker, kw.SYNC_GROUP, 3, kw.sync_group_body(group, generation, member_id, assignments))
    return kw.parse_sync_group_response(frame)


def heartbeat(broker, group, generation, member_id):
    return kw.parse_heartbeat_response(
        h.kafka_call(broker, kw.HEARTBEAT, 3, kw.heartbeat_body(group, generation, member_id)))


def leave(broker, group, member_id, version=3):
    return kw.parse_leave_group_response(
        h.kafka_call(broker, kw.LEAVE_GROUP, version, kw.leave_group_body(group, [(member_id, None)], version)),
        version)


def commit(broker, group, generation, member_id, offsets, version=7):
    body = kw.offset_commit_body(group, generation, member_id, offsets, version)
    return kw.parse_offset_commit_response(h.kafka_call(broker, kw.OFFSET_COMMIT, version, body), version)


def delete_groups(broker, groups):
    return kw.parse_delete_groups_response(h.kafka_call(broker, kw.DELETE_GROUPS, 1, kw.delete_groups_body(groups)))


def assignment(*partitions):
    return kw.consumer_assignment({TOPIC: list(partitions)})


def member_id_for(broker, group):
    """The id a JoinGroup v5 without one is told to come back with."""
    j = join(broker, group)
    assert j.error == MEMBER_ID_REQUIRED, j
    return j.member_id


def lone_member(broker, group):
    """A one-member group led by a hand-played member that has synced:
    (generation, member id)."""
    j = join(broker, group, member_id_for(broker, group))
    assert j.error == NONE and j.leader == j.member_id, j
    err, got = sync(broker, group, j.generation, j.member_id, [(j.member_id, assignment(0, 1))])
    assert err == NONE and got == assignment(0, 1), (err, got)
    return j.generation, j.member_id


class Parked:
    """Requests pipelined on one connection, their answers read by a
    thread: the coordinator may hold the first (a parked JoinGroup or
    SyncGroup), and must answer them in order (spec 0, "Parked")."""

    def __init__(self, broker, requests, timeout=30.0):
        """requests: [(api key, version, body)], sent at once with
        correlation ids 1, 2, ..."""
        self.frames, self.error, self.n = [], None, len(requests)
        self.sock = h.connect(broker.port, timeout)
        self.sock.sendall(b"".join(h.kafka_request(k, v, i + 1, body) for i, (k, v, body) in enumerate(requests)))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            while len(self.frames) < self.n:
                self.frames.append(h.recv_frame(self.sock))
        except Exception as e:  # noqa: BLE001 - reported by answers()
            self.error = e
        finally:
            self.sock.close()

    def answered(self):
        return not self.thread.is_alive()

    def answers(self, timeout, what):
        """The frames, once all arrived, checked to be in request order."""
        h.wait_until(self.answered, timeout, f"{what} (bound {timeout:.0f} s)")
        assert self.error is None, f"{what}: {self.error!r}"
        order = [kw.response_body(f)[0] for f in self.frames]
        assert order == list(range(1, self.n + 1)), f"{what}: answered in the order {order}"
        return self.frames


# -- scenarios -------------------------------------------------------------------------

def test_join_without_an_id_is_told_to_come_back_with_one_and_a_second_member_rebalances_the_group(cluster):
    c, group = cluster, "by-hand"
    coord = h.wait_coordinator(c, group)
    with h.step("JoinGroup v4 with no member id: MEMBER_ID_REQUIRED, and an id to come back with"):
        first = join(coord, group, version=4)
    assert first.error == MEMBER_ID_REQUIRED, first
    assert (first.generation, first.protocol, first.leader, first.members) == (-1, "", "", []), first
    assert first.member_id.startswith(CLIENT_ID + "-") and len(first.member_id) == len(CLIENT_ID) + 37, first
    assert h.describe_group(coord, group).members == [], "a pending id is not a member yet"

    with h.step("JoinGroup v4 with that id: generation 1, led by this member, which gets the member list"):
        j = join(coord, group, first.member_id, version=4)
    assert (j.error, j.generation, j.protocol, j.leader, j.member_id) == (NONE, 1, "range", first.member_id,
                                                                          first.member_id), j
    assert j.members == [kw.JoinMember(first.member_id, None, SUBSCRIPTION)], j.members
    leader = j.member_id
    with h.step("the leader's SyncGroup stores its assignment and hands it back"):
        assert sync(coord, group, 1, leader, [(leader, assignment(0, 1))]) == (NONE, assignment(0, 1))
    d = h.describe_group(coord, group)
    assert (d.error, d.state, d.protocol_type, d.protocol) == (NONE, "Stable", "consumer", "range"), d
    (m,) = d.members
    assert (m.member_id, m.client_id, m.client_host, m.metadata, m.assignment) == (
        leader, CLIENT_ID, "/127.0.0.1", SUBSCRIPTION, assignment(0, 1)), m
    assert heartbeat(coord, group, 1, leader) == NONE

    with h.step("a second member joins: its JoinGroup parks, the leader's heartbeat says REBALANCE_IN_PROGRESS"):
        second_id = member_id_for(coord, group)
        assert h.describe_group(coord, group).state == "Stable", "a pending id does not start a rebalance"
        second = Parked(coord, [(kw.JOIN_GROUP, 5, kw.join_group_body(group, second_id, PROTOCOLS,
                                                                      session_ms=SESSION_MS)),
                                (kw.DESCRIBE_GROUPS, 4, kw.describe_groups_body([group]))])
        h.wait_until(lambda: h.describe_group(coord, group).state == "PreparingRebalance", 15,
                     "the group to prepare a rebalance (bound 15 s)")
        assert heartbeat(coord, group, 1, leader) == REBALANCE_IN_PROGRESS
        assert not second.frames, "the join phase waits for the leader, and so does the DescribeGroups behind it"
    with h.step("the leader rejoins: both are answered with generation 2, only the leader with the members; "
                "then the DescribeGroups sent behind the parked JoinGroup"):
        rejoin = join(coord, group, leader)
        joined, described = second.answers(15, "the second member's JoinGroup and DescribeGroups")
        follower = kw.parse_join_group_response(joined)
    assert kw.parse_describe_groups_response(described)[0].state == "CompletingRebalance", \
        "the DescribeGroups was read only after the JoinGroup before it was answered"
    assert (rejoin.error, rejoin.generation, rejoin.leader, len(rejoin.members)) == (NONE, 2, leader, 2), rejoin
    assert (follower.error, follower.generation, follower.leader, follower.member_id, follower.members) == (
        NONE, 2, leader, second_id, []), follower
    assert {x.member_id for x in rejoin.members} == {leader, follower.member_id}
    assert heartbeat(coord, group, 2, leader) == NONE, "CompletingRebalance: heartbeats are fine"

    with h.step("the follower's SyncGroup waits for the leader's, then both get their own assignment"):
        waiting = Parked(coord, [(kw.SYNC_GROUP, 3, kw.sync_group_body(group, 2, follower.member_id))])
        h.wait_until(lambda: h.describe_group(coord, group).state == "CompletingRebalance", 15,
                     "CompletingRebalance (bound 15 s)")
        assert not waiting.frames, "a follower's SyncGroup must not be answered before the leader's"
        mine = sync(coord, group, 2, leader, [(leader, assignment(0)), (follower.member_id, assignment(1))])
        theirs = kw.parse_sync_group_response(waiting.answers(15, "the follower's SyncGroup")[0])
    assert (mine, theirs) == ((NONE, assignment(0)), (NONE, assignment(1)))
    assert h.describe_group(coord, group).state == "Stable"


def test_wrong_generation_unknown_member_and_bad_session_timeout_get_their_errors(cluster):
    c, group = cluster, "mistakes"
    coord = h.wait_coordinator(c, group)
    generation, member = lone_member(coord, group)
    with h.step("Heartbeat with the next generation: ILLEGAL_GENERATION; with the right one: NONE"):
        assert heartbeat(coord, group, generation + 1, member) == ILLEGAL_GENERATION
        assert heartbeat(coord, group, generation, member) == NONE
    with h.step("Heartbeat and SyncGroup of a member the group never had: UNKNOWN_MEMBER_ID"):
        stranger = CLIENT_ID + "-00000000-0000-4000-8000-000000000000"
        assert heartbeat(coord, group, generation, stranger) == UNKNOWN_MEMBER_ID
        assert sync(coord, group, generation, stranger) == (UNKNOWN_MEMBER_ID, b"")
        assert heartbeat(coord, "never-joined", 1, stranger) == UNKNOWN_MEMBER_ID
    with h.step("SyncGroup with the wrong generation: ILLEGAL_GENERATION"):
        assert sync(coord, group, generation + 1, member) == (ILLEGAL_GENERATION, b"")
    with h.step("JoinGroup with a 1000 ms session (the minimum is 6000): INVALID_SESSION_TIMEOUT, a complete answer"):
        eager = h.wait_coordinator(c, "too-eager")
        bad = join(eager, "too-eager", session_ms=1000)
    assert bad == kw.JoinGroup(INVALID_SESSION_TIMEOUT, -1, "", "", "", []), bad
    assert h.describe_group(eager, "too-eager").state == "Dead", "the refused join created no group"
    assert join(coord, group, member, session_ms=1000).error == INVALID_SESSION_TIMEOUT
    assert join(coord, group, member, session_ms=1800001).error == INVALID_SESSION_TIMEOUT, "above the maximum"
    with h.step("JoinGroup of another protocol type: INCONSISTENT_GROUP_PROTOCOL; with an empty group id: "
                "INVALID_GROUP_ID"):
        assert join(coord, group, member_id_for(coord, group), protocol_type="connect").error == \
            INCONSISTENT_GROUP_PROTOCOL
        assert join(coord, "").error == INVALID_GROUP_ID
    with h.step("LeaveGroup of a stranger: v3 names it UNKNOWN_MEMBER_ID, v1 answers UNKNOWN_MEMBER_ID"):
        assert leave(coord, group, stranger) == (NONE, [(stranger, None, UNKNOWN_MEMBER_ID)])
        assert leave(coord, group, stranger, 1) == (UNKNOWN_MEMBER_ID, [])
    assert heartbeat(coord, group, generation, member) == NONE, "the member is still there"


def test_every_group_api_sent_to_a_broker_that_does_not_coordinate_the_group_gets_not_coordinator(cluster):
    c, group = cluster, "elsewhere"
    coord = h.wait_coordinator(c, group)
    generation, member = lone_member(coord, group)
    other = next(b for b in c.brokers.values() if b.id != coord.id)
    with h.step(f"the group's APIs sent to broker {other.id} instead of its coordinator, broker {coord.id}"):
        answers = {
            "JoinGroup": join(other, group).error,
            "SyncGroup": sync(other, group, generation, member)[0],
            "Heartbeat": heartbeat(other, group, generation, member),
            "LeaveGroup": leave(other, group, member)[0],
            "OffsetCommit": set(commit(other, group, generation, member, {(TOPIC, 0): 1}).values()),
            "OffsetFetch": h.fetch_offsets(other, group, {TOPIC: [0]})[0],
            "DescribeGroups": (lambda d: (d.error, d.state))(h.describe_group(other, group)),
            "DeleteGroups": delete_groups(other, [group])[group],
        }
    assert answers == {"JoinGroup": NOT_COORDINATOR, "SyncGroup": NOT_COORDINATOR, "Heartbeat": NOT_COORDINATOR,
                       "LeaveGroup": NOT_COORDINATOR, "OffsetCommit": {NOT_COORDINATOR},
                       "OffsetFetch": NOT_COORDINATOR, "DescribeGroups": (NOT_COORDINATOR, ""),
                       "DeleteGroups": NOT_COORDINATOR}, answers
    with h.step("OffsetFetch v1 (no top-level error field) repeats the error in every partition; "
                "LeaveGroup v1 has it in its only error field"):
        assert h.fetch_offsets(other, group, {TOPIC: [0, 1]}, 1) == (None, {
            (TOPIC, p): kw.OffsetFetched(-1, None, "", NOT_COORDINATOR) for p in (0, 1)})
        assert leave(other, group, member, 1) == (NOT_COORDINATOR, [])
    assert heartbeat(coord, group, generation, member) == NONE, "the coordinator still has the member"


def test_find_coordinator_names_the_leader_of_the_groups_offsets_partition_in_every_version(cluster):
    c = cluster
    for group in ("my-group", "kcat", "console-consumer-1", "\u00e9", ""):
        p = kw.group_partition(group, OFFSETS_PARTITIONS)
        leader = c.state(OFFSETS_TOPIC, p)["leader"]
        for b in c.brokers.values():
            for version in (0, 1, 2):
                fc = h.find_coordinator(b, group, version)
                assert (fc.error, fc.node, fc.host, fc.port) == (NONE, leader, "127.0.0.1", c.brokers[leader].port), \
                    (group, p, b.id, version, fc)
    with h.step("FindCoordinator with key type 2 (neither group nor transaction): INVALID_REQUEST"):
        frame = h.kafka_call(c.brokers[1], kw.FIND_COORDINATOR, 2, kw.find_coordinator_body("g", 2, key_type=2))
        fc = kw.parse_find_coordinator_response(frame, 2)
    assert (fc.error, fc.node, fc.host, fc.port) == (INVALID_REQUEST, -1, "", -1), fc


def test_commits_without_a_generation_are_taken_only_while_the_group_has_no_members(cluster):
    c = cluster
    tool = "offsets-tool"
    coord = h.wait_coordinator(c, tool)
    with h.step("OffsetCommit v2 with generation -1 and no member id (kafka-python with assign()) to a new "
                "group: stored; an unknown topic and a partition past the topic's end: UNKNOWN_TOPIC_OR_PARTITION"):
        got = commit(coord, tool, -1, "", {(TOPIC, 0): 3, (TOPIC, 5): 4, ("no-such-topic", 0): 5}, version=2)
    assert got == {(TOPIC, 0): NONE, (TOPIC, 5): UNKNOWN_TOPIC_OR_PARTITION,
                   ("no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION}, got
    assert h.fetch_offsets(coord, tool) == (NONE, {(TOPIC, 0): kw.OffsetFetched(3, -1, "", NONE)})
    d = h.describe_group(coord, tool)
    assert (d.error, d.state, d.protocol_type, d.members) == (NONE, "Empty", "", []), d
    err, listed = kw.parse_list_groups_response(h.kafka_call(coord, kw.LIST_GROUPS, 2, kw.list_groups_body()))
    assert err == NONE and listed.get(tool) == "", listed

    group = "busy"
    coord = h.wait_coordinator(c, group)
    generation, member = lone_member(coord, group)
    with h.step("with a member in the group: generation -1 without a member id is UNKNOWN_MEMBER_ID, with the "
                "member's id ILLEGAL_GENERATION; the member's own commit is stored"):
        assert commit(coord, group, -1, "", {(TOPIC, 0): 9}) == {(TOPIC, 0): UNKNOWN_MEMBER_ID}
        assert commit(coord, group, -1, member, {(TOPIC, 0): 9}) == {(TOPIC, 0): ILLEGAL_GENERATION}
        assert commit(coord, group, generation, member, {(TOPIC, 0): 9}) == {(TOPIC, 0): NONE}
    assert {k: v.offset for k, v in h.fetch_offsets(coord, group)[1].items()} == {(TOPIC, 0): 9}
    stranger_group = "never-joined-" + group
    with h.step("a commit with a generation to a group that does not exist: ILLEGAL_GENERATION"):
        sc = h.wait_coordinator(c, stranger_group)
        assert commit(sc, stranger_group, 1, member, {(TOPIC, 0): 1}) == {(TOPIC, 0): ILLEGAL_GENERATION}


def test_a_group_nobody_used_has_no_offsets_and_is_described_dead(cluster):
    c, group = cluster, "nobody-home"
    coord = h.wait_coordinator(c, group)
    with h.step("OffsetFetch v5 and v1 of an unknown group: offset -1, metadata \"\", NONE"):
        for version in (5, 1):
            err, got = h.fetch_offsets(coord, group, {TOPIC: [0, 1]}, version)
            assert err in (NONE, None), (version, err)
            assert got == {(TOPIC, p): kw.OffsetFetched(-1, -1 if version >= 5 else None, "", NONE)
                           for p in (0, 1)}, (version, got)
        assert h.fetch_offsets(coord, group, None) == (NONE, {}), "all partitions of nothing: none"
    with h.step("DescribeGroups of an unknown group: NONE, Dead, no protocol, no members"):
        d = h.describe_group(coord, group)
    assert d == kw.GroupDescription(NONE, group, "Dead", "", "", []), d


def test_delete_groups_refuses_a_group_with_members_and_deletes_an_empty_one_with_its_offsets(cluster):
    c, group = cluster, "short-lived"
    coord = h.wait_coordinator(c, group)
    generation, member = lone_member(coord, group)
    with h.step("DescribeGroups naming the group three times and an unknown one: four entries, in order, "
                "the repeated ones alike"):
        nobody = next(g for g in (f"nobody-{i}" for i in range(500)) if h.wait_coordinator(c, g).id == coord.id)
        frame = h.kafka_call(coord, kw.DESCRIBE_GROUPS, 4, kw.describe_groups_body([group, group, nobody, group]))
        got = kw.parse_describe_groups_response(frame, 4)
        assert [d.group_id for d in got] == [group, group, nobody, group], got
        assert got[0] == got[1] == got[3] and got[0].error == NONE and len(got[0].members) == 1, got
        assert got[2].state == "Dead", got[2]
    with h.step("the member commits offsets 5 and 7"):
        assert commit(coord, group, generation, member, {(TOPIC, 0): 5, (TOPIC, 1): 7}) == \
            {(TOPIC, 0): NONE, (TOPIC, 1): NONE}
        assert {k: v.offset for k, v in h.fetch_offsets(coord, group)[1].items()} == {(TOPIC, 0): 5, (TOPIC, 1): 7}
    with h.step("DeleteGroups while it has a member: NON_EMPTY_GROUP"):
        assert delete_groups(coord, [group]) == {group: NON_EMPTY_GROUP}
    with h.step("LeaveGroup v3: NONE for the member; the group is Empty and keeps its offsets"):
        assert leave(coord, group, member) == (NONE, [(member, None, NONE)])
        h.wait_until(lambda: h.describe_group(coord, group).state == "Empty", 15, "an Empty group (bound 15 s)")
        assert len(h.fetch_offsets(coord, group)[1]) == 2
    with h.step("DeleteGroups of the Empty group: NONE; then no offsets, Dead, and a second delete finds nothing"):
        assert delete_groups(coord, [group]) == {group: NONE}
        assert h.fetch_offsets(coord, group, {TOPIC: [0, 1]})[1] == {
            (TOPIC, p): kw.OffsetFetched(-1, -1, "", NONE) for p in (0, 1)}
        assert h.fetch_offsets(coord, group) == (NONE, {})
        assert h.describe_group(coord, group).state == "Dead"
        assert delete_groups(coord, [group]) == {group: GROUP_ID_NOT_FOUND}

    p = kw.group_partition(group, OFFSETS_PARTITIONS)
    with h.step(f"{OFFSETS_TOPIC}-{p} ends with tombstones for both offsets and for the group (bound 15 s)"):
        def tombstoned():
            mine = [(kw.decode_offsets_key(r.key), r.value) for r in h.fetch_log(coord, OFFSETS_TOPIC, p)]
            mine = [(k, v) for k, v in mine if k.group == group]
            last = {k: v for k, v in mine}
            want = {kw.OffsetKey(1, group, TOPIC, 0), kw.OffsetKey(1, group, TOPIC, 1), kw.GroupKey(2, group)}
            if set(last) != want or any(v is not None for v in last.values()):
                raise AssertionError(f"newest values {last}")
            return True
        h.wait_until(tombstoned, 15, "the tombstones")
    with h.step(f"DeleteRecords of {OFFSETS_TOPIC}-{p} on its leader: INVALID_TOPIC_EXCEPTION, as Kafka "
                "(the groups' offsets live there); the log keeps its start"):
        body = kw.array([(OFFSETS_TOPIC, [(p, -1)])], lambda t: kw.string(t[0]) + kw.array(
            t[1], lambda x: kw.i32(x[0]) + kw.i64(x[1]))) + kw.i32(10000)
        _, r = kw.response_body(h.kafka_call(coord, DELETE_RECORDS, 1, body))
        assert r.i32() == 0 and r.i32() == 1 and r.string() == OFFSETS_TOPIC and r.i32() == 1
        assert (r.i32(), r.i64(), r.i16()) == (p, -1, INVALID_TOPIC_EXCEPTION)
        assert h.fetch_log(coord, OFFSETS_TOPIC, p)[0].offset == 0


def test_a_follower_of_the_offsets_partition_dying_does_not_disturb_a_rebalance_in_progress(cluster):
    c = cluster
    ctl = c.controller()
    group = next(g for g in (f"steady-{i}" for i in range(100))
                 if c.state(OFFSETS_TOPIC, kw.group_partition(g, OFFSETS_PARTITIONS))["leader"] not in (ctl, -1))
    p = kw.group_partition(group, OFFSETS_PARTITIONS)
    coord = h.wait_coordinator(c, group)
    follower = next(b for b in c.brokers.values() if b.id not in (ctl, coord.id))
    epoch = c.state(OFFSETS_TOPIC, p)["leader_epoch"]
    print(f"    group {group}: {OFFSETS_TOPIC}-{p} led by broker {coord.id}; follower {follower.id} dies; "
          f"controller {ctl}", flush=True)
    # Long session and rebalance timeouts: the member stays whatever the
    # failure detection takes.
    with h.step("a member joins and is told generation 1; it has not sent its SyncGroup yet"):
        mid = member_id_for(coord, group)
        j = kw.parse_join_group_response(h.kafka_call(coord, kw.JOIN_GROUP, 5, kw.join_group_body(
            group, mid, PROTOCOLS, session_ms=60000, rebalance_ms=60000)))
    assert (j.error, j.generation, j.leader) == (NONE, 1, mid), j
    assert h.describe_group(coord, group).state == "CompletingRebalance"
    try:
        with h.step(f"kill -9 broker {follower.id}, a follower of {OFFSETS_TOPIC}-{p}: the controller drops it "
                    f"from the ISR and broker {coord.id} stays leader at a newer epoch (bound 30 s)"):
            follower.kill9()
            h.wait_until(lambda: follower.id not in c.registered_ids(), 30, f"/brokers/ids/{follower.id} to vanish")
            def shrunk():
                s = c.state(OFFSETS_TOPIC, p)
                return s if s["leader"] == coord.id and s["leader_epoch"] > epoch and follower.id not in s["isr"] \
                    else None

            def applied():
                return follower.id not in h.metadata(coord, [OFFSETS_TOPIC])["topics"][OFFSETS_TOPIC][1][p].isr
            st = h.wait_until(shrunk, 30, "the shrunk ISR in ZooKeeper")
            h.wait_until(applied, 30, f"broker {coord.id} to apply it")
        print(f"    {OFFSETS_TOPIC}-{p}: leader epoch {epoch} -> {st['leader_epoch']}, ISR {st['isr']}", flush=True)
        with h.step("the group is still completing its rebalance, and the member's SyncGroup gets its assignment"):
            d = h.describe_group(coord, group)
            got = sync(coord, group, 1, mid, [(mid, assignment(0, 1))])
        assert ((d.error, d.state, [m.member_id for m in d.members]), got) == (
            (NONE, "CompletingRebalance", [mid]), (NONE, assignment(0, 1))), (d, got)
    finally:
        with h.step(f"restart broker {follower.id}; every replica of {OFFSETS_TOPIC} in its ISR again (bound 60 s)"):
            follower.start()
            follower.wait_registered(60)
            h.wait_full_isr(c, OFFSETS_TOPIC, timeout=60)


def test_offsets_topic_with_more_replicas_than_live_brokers_is_not_created(make_cluster):
    c = make_cluster(chroot="/too-few")
    with h.step("a second cluster under chroot /too-few: one broker, offsets.topic.replication.factor=3"):
        (lone,) = c.start_brokers([1], extra=BROKER_CONFIG)
        c.wait_controller()
    warning = f"cannot create {OFFSETS_TOPIC} ({OFFSETS_PARTITIONS} partitions, offsets.topic.replication.factor=3)"
    with h.step("FindCoordinator answers COORDINATOR_NOT_AVAILABLE until the broker logs why (bound 30 s)"):
        def said_why():
            fc = h.find_coordinator(lone, "lonely")
            assert (fc.error, fc.node, fc.host, fc.port) == (COORDINATOR_NOT_AVAILABLE, -1, "", -1), fc
            return warning in lone.process.last_run_text()
        h.wait_until(lambda: said_why(), 30, "the broker's warning")
    line = next(ln for ln in lone.process.last_run_text().splitlines() if warning in ln)
    print(f"    {line}", flush=True)
    with h.step("for 3 s more, every FindCoordinator answers COORDINATOR_NOT_AVAILABLE and no "
                f"/brokers/topics/{OFFSETS_TOPIC} appears"):
        t0, asked = time.monotonic(), 0
        while time.monotonic() - t0 < 3:
            assert h.find_coordinator(lone, "lonely").error == COORDINATOR_NOT_AVAILABLE
            assert c.topic(OFFSETS_TOPIC) is None, "the replication factor was lowered to the live brokers"
            asked += 1
            time.sleep(0.2)  # the polling interval of an observation, not a synchronisation
    print(f"    asked {asked} times", flush=True)
    with h.step(f"two more brokers join: {OFFSETS_TOPIC} is created with 3 replicas per partition and the "
                "coordinator is found (bound 60 s)"):
        c.start_brokers([2, 3], extra=BROKER_CONFIG)
        h.wait_coordinator(c, "lonely", timeout=60)
    assert all(len(set(r)) == 3 for r in c.topic(OFFSETS_TOPIC)["partitions"].values())
