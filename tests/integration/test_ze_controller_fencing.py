"""
Scenario ze: brokers obey only the controller, and only the current one
(issue 10 item 4; zk-and-replication.md 2.2, 2.8).

Three brokers, a topic of one partition with replication factor 3.  A
stranger on a follower's RPC port (a Hello, then requests encoded here by
hand from proto/kbroker_rpc.proto with rpcwire.py) sends what a deposed controller or a
controller talking to an older incarnation would send:

  - LeaderAndIsr making the follower leader at a much newer leader epoch,
    with the controller epoch one below /controller_epoch: refused with
    STALE_CONTROLLER_EPOCH (11), and nothing changes (kcat's Metadata from
    every broker, the follower's log dir still there);
  - the same with the current controller epoch but a broker epoch one
    below the follower's czxid: STALE_BROKER_EPOCH (77);
  - UpdateMetadata with an empty broker list and the partition led by
    nobody, stale either way: refused, and every broker still lists the
    three brokers and the leader;
  - the metrics count both refusals.

No peer can wedge a broker (each refused with NOT_CONTROLLER (41) or
STALE_BROKER_EPOCH (77), and nothing changes):

  - LeaderAndIsr, UpdateMetadata and StopReplica naming the controller at
    controller epoch 2^31-1, above /controller_epoch: once remembered, such
    an epoch would have fenced the real controller out for good;
  - a request naming the controller from a connection whose Hello named
    another broker, one from a broker that is not the controller naming
    itself, and one naming no broker epoch (-1);
  - the real controller is still obeyed: a topic created afterwards
    reaches every broker's Metadata; the metrics count each reason.

Even with the real controller's id and epoch, a request may only describe
what ZooKeeper holds (UNKNOWN_TOPIC_OR_PARTITION (3), retriable, and
nothing changes):

  - UpdateMetadata with states of a topic ZooKeeper lacks, next to a
    state of the real topic and with a live broker list pointing
    elsewhere: the made-up topic never appears in Metadata, and the
    brokers and leader stay as they were;
  - LeaderAndIsr for that made-up topic, and for the real partition with
    replicas other than its assignment: no log dir is created;
  - the metrics count the refusals.

Then the state znode is edited behind the controller's back (another
leader, a bumped epoch): clients see nothing change, because brokers no
longer read state znodes.
"""
import json
import socket

import pytest

import kbharness as h
import rpcwire

T = "fenced"
UNKNOWN_TOPIC_OR_PARTITION, STALE_CONTROLLER_EPOCH, NOT_CONTROLLER, STALE_BROKER_EPOCH = 3, 11, 41, 77
METHOD_LEADER_AND_ISR, METHOD_UPDATE_METADATA, METHOD_STOP_REPLICA = 2, 3, 4
INT32_MAX = 2**31 - 1


# -- the controller's requests, by hand (rpcwire's proto3 field encoders) --
_int, _bytes, _packed = rpcwire.field_varint, rpcwire.field_bytes, rpcwire.field_packed


def partition_state(topic, partition, controller_epoch, leader, leader_epoch, isr, zk_version, replicas):
    return (_bytes(1, topic.encode()) + _int(2, partition) + _int(3, controller_epoch) + _int(4, leader)
            + _int(5, leader_epoch) + _packed(6, isr) + _int(7, zk_version) + _packed(8, replicas))


def leader_and_isr(controller_id, controller_epoch, broker_epoch, states):
    return (_int(1, controller_id) + _int(2, controller_epoch) + _int(3, broker_epoch)
            + b"".join(_bytes(4, s) for s in states))


def update_metadata(controller_id, controller_epoch, broker_epoch, states, live_brokers=()):
    return (_int(1, controller_id) + _int(2, controller_epoch) + _int(3, broker_epoch)
            + b"".join(_bytes(4, s) for s in states) + b"".join(_bytes(5, b) for b in live_brokers))


def stop_replica(controller_id, controller_epoch, broker_epoch, partitions):
    """partitions: (topic, partition, leader_epoch, delete)."""
    return (_int(1, controller_id) + _int(2, controller_epoch) + _int(3, broker_epoch)
            + b"".join(_bytes(4, _bytes(1, t.encode()) + _int(2, p) + _int(3, e) + _int(4, int(d)))
                       for t, p, e, d in partitions))


def call(broker, method, body, sender_id):
    """Sends one request after a Hello as broker sender_id (with its
    registration's czxid: only a live registration's Hello is answered);
    returns the envelope's error code."""
    data, _ = broker.registration()
    host, port = data["kbroker_rpc"]["host"], data["kbroker_rpc"]["port"]
    _, sender = broker.cluster.brokers[sender_id].registration()
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(rpcwire.hello_frame(sender_id, sender.czxid))
        assert rpcwire.read_frame(s) is not None, "the Hello was not answered"
        s.sendall(rpcwire.request_frame(method, body, sender_id, sender.czxid, 2))
        env = rpcwire.read_frame(s)
        assert env is not None, "the broker closed the connection instead of answering"
        assert env.get(2) == 2, env
        return env.get(4, 0)


# -- the scenario ---------------------------------------------------------
@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2 and 3"):
        c.start_brokers([1, 2, 3], metrics=True)
    c.wait_controller()
    return c


def picture(cluster):
    """What every live broker's Metadata says: (brokers, leader of T-0)."""
    out = set()
    for b in cluster.brokers.values():
        v = h.kcat_view(h.kcat_metadata(b.bootstrap))
        out.add((tuple(sorted(v["brokers"])), v["topics"][T]["partitions"][0][0]))
    return out


def test_stale_requests_change_nothing(cluster):
    cluster.create_topic(T, assignment="1:2:3")
    st = cluster.wait_states(T)[0]
    leader, epoch = st["leader"], st["leader_epoch"]
    follower = cluster.brokers[next(i for i in (1, 2, 3) if i != leader)]
    _, reg = follower.registration()
    controller, cepoch = cluster.controller(), cluster.controller_epoch()
    before = picture(cluster)
    assert before == {((1, 2, 3), leader)}, before

    take_over = partition_state(T, 0, cepoch, follower.id, epoch + 10, [follower.id], 99, [1, 2, 3])
    with h.step("LeaderAndIsr from an older controller epoch"):
        err = call(follower, METHOD_LEADER_AND_ISR,
                   leader_and_isr(controller, cepoch - 1, reg.czxid, [take_over]), controller)
        assert err == STALE_CONTROLLER_EPOCH
    with h.step("LeaderAndIsr for an older incarnation of the follower"):
        err = call(follower, METHOD_LEADER_AND_ISR,
                   leader_and_isr(controller, cepoch, reg.czxid - 1, [take_over]), controller)
        assert err == STALE_BROKER_EPOCH
    nobody = partition_state(T, 0, cepoch, -1, epoch + 10, [], 99, [1, 2, 3])
    with h.step("UpdateMetadata from an older controller epoch, then for an older incarnation"):
        err = call(follower, METHOD_UPDATE_METADATA,
                   update_metadata(controller, cepoch - 1, reg.czxid, [nobody]), controller)
        assert err == STALE_CONTROLLER_EPOCH
        err = call(follower, METHOD_UPDATE_METADATA,
                   update_metadata(controller, cepoch, reg.czxid - 1, [nobody]), controller)
        assert err == STALE_BROKER_EPOCH
    assert picture(cluster) == before
    assert cluster.state(T, 0)["leader_epoch"] == epoch
    m = follower.metrics()
    assert m["kbroker_control_requests_refused_stale_controller_epoch_total"] == 2, m
    assert m["kbroker_control_requests_refused_stale_broker_epoch_total"] == 2, m


def test_no_peer_can_wedge_a_broker(cluster):
    st = cluster.state(T, 0)
    leader, epoch = st["leader"], st["leader_epoch"]
    follower = cluster.brokers[next(i for i in (1, 2, 3) if i != leader)]
    _, reg = follower.registration()
    controller, cepoch = cluster.controller(), cluster.controller_epoch()
    bystander = next(i for i in (1, 2, 3) if i != controller)
    before = picture(cluster)
    m0 = follower.metrics()
    take_over = partition_state(T, 0, INT32_MAX, follower.id, epoch + 10, [follower.id], 99, [1, 2, 3])
    nobody = partition_state(T, 0, INT32_MAX, -1, epoch + 10, [], 99, [1, 2, 3])
    with h.step("the controller's three requests at controller epoch 2^31-1, above /controller_epoch"):
        for method, body in ((METHOD_LEADER_AND_ISR, leader_and_isr(controller, INT32_MAX, reg.czxid, [take_over])),
                             (METHOD_UPDATE_METADATA, update_metadata(controller, INT32_MAX, reg.czxid, [nobody])),
                             (METHOD_STOP_REPLICA, stop_replica(controller, INT32_MAX, reg.czxid, [(T, 0, -2, True)]))):
            assert call(follower, method, body, controller) == NOT_CONTROLLER, method
    with h.step(f"a request naming controller {controller} from a connection that said broker {bystander}"):
        err = call(follower, METHOD_LEADER_AND_ISR, leader_and_isr(controller, cepoch, reg.czxid, [take_over]),
                   bystander)
        assert err == NOT_CONTROLLER
    with h.step(f"broker {bystander}, not the controller, naming itself"):
        err = call(follower, METHOD_LEADER_AND_ISR, leader_and_isr(bystander, cepoch, reg.czxid, [take_over]),
                   bystander)
        assert err == NOT_CONTROLLER
    with h.step("a request naming no broker epoch (-1)"):
        err = call(follower, METHOD_LEADER_AND_ISR, leader_and_isr(controller, cepoch, -1, [take_over]), controller)
        assert err == STALE_BROKER_EPOCH
    assert picture(cluster) == before
    assert follower.partition_dir(T, 0).is_dir()
    # The real controller is still obeyed: the new topic must reach every
    # broker's Metadata, the follower's included.
    cluster.create_topic(T + "-unwedged", assignment="1:2:3")
    m = follower.metrics()

    def counted(name):
        name = f"kbroker_control_requests_refused_{name}_total"
        return m[name] - m0[name]
    assert counted("ahead_of_zk") == 3, m
    assert counted("not_sender") == 1, m
    assert counted("not_zk_controller") == 1, m
    assert counted("stale_broker_epoch") == 1, m


def live_broker(broker_id, host, port):
    return _int(1, broker_id) + _bytes(2, _int(1, port) + _bytes(2, host.encode()) + _bytes(3, b"PLAINTEXT"))


def test_only_what_zookeeper_holds_is_taken(cluster):
    st = cluster.state(T, 0)
    leader, epoch = st["leader"], st["leader_epoch"]
    follower = cluster.brokers[next(i for i in (1, 2, 3) if i != leader)]
    _, reg = follower.registration()
    controller, cepoch = cluster.controller(), cluster.controller_epoch()
    ghost = "ghost"
    assert cluster.topic(ghost) is None
    before = picture(cluster)
    m0 = follower.metrics()
    real = partition_state(T, 0, cepoch, leader, epoch, st["isr"], 0, [1, 2, 3])
    phantom = [partition_state(ghost, i, cepoch, follower.id, 0, [follower.id], 0, [follower.id]) for i in range(3)]
    evil = [live_broker(i, "evil.example.com", 6666) for i in (1, 2, 3)]
    with h.step(f"UpdateMetadata from the controller's id and epoch naming topic {ghost!r}, "
                "which ZooKeeper lacks"):
        err = call(follower, METHOD_UPDATE_METADATA,
                   update_metadata(controller, cepoch, reg.czxid, [real] + phantom, evil), controller)
        assert err == UNKNOWN_TOPIC_OR_PARTITION
    with h.step(f"LeaderAndIsr for {ghost!r}, then for {T}-0 with replicas other than its assignment"):
        err = call(follower, METHOD_LEADER_AND_ISR, leader_and_isr(controller, cepoch, reg.czxid, phantom),
                   controller)
        assert err == UNKNOWN_TOPIC_OR_PARTITION
        reordered = partition_state(T, 0, cepoch, follower.id, epoch + 10, [follower.id], 99, [3, 2, 1])
        err = call(follower, METHOD_LEADER_AND_ISR, leader_and_isr(controller, cepoch, reg.czxid, [reordered]),
                   controller)
        assert err == UNKNOWN_TOPIC_OR_PARTITION
    with h.step(f"UpdateMetadata of {T}-0 alone with the brokers at evil.example.com, then leader -2 for {T}"):
        err = call(follower, METHOD_UPDATE_METADATA, update_metadata(controller, cepoch, reg.czxid, [real], evil),
                   controller)
        assert err == UNKNOWN_TOPIC_OR_PARTITION
        hide = partition_state(T, 0, cepoch, -2, epoch, st["isr"], 0, [1, 2, 3])
        lives = [live_broker(b.id, "127.0.0.1", b.port) for b in cluster.brokers.values()]
        err = call(follower, METHOD_UPDATE_METADATA, update_metadata(controller, cepoch, reg.czxid, [hide], lives),
                   controller)
        assert err == UNKNOWN_TOPIC_OR_PARTITION
    with h.step(f"UpdateMetadata with no live broker, then with {T}-0 led by broker 9 outside its replicas"):
        err = call(follower, METHOD_UPDATE_METADATA, update_metadata(controller, cepoch, reg.czxid, [real], []),
                   controller)
        assert err == UNKNOWN_TOPIC_OR_PARTITION
        nine = partition_state(T, 0, cepoch, 9, epoch, [9], 0, [9])
        err = call(follower, METHOD_UPDATE_METADATA, update_metadata(controller, cepoch, reg.czxid, [nine], lives),
                   controller)
        assert err == UNKNOWN_TOPIC_OR_PARTITION
    md = h.kcat_metadata(follower.bootstrap)
    assert "evil.example.com" not in json.dumps(md), md
    v = h.kcat_view(md)
    assert ghost not in v["topics"] and T in v["topics"], v
    assert picture(cluster) == before
    assert not follower.partition_dir(ghost, 0).exists()
    m = follower.metrics()
    name = "kbroker_control_requests_refused_unknown_here_total"
    assert m[name] - m0[name] == 7, m


def test_state_znode_edited_behind_the_controllers_back(cluster):
    st = cluster.state(T, 0)
    _, stat = cluster.get(f"/brokers/topics/{T}/partitions/0/state")
    other = next(i for i in (1, 2, 3) if i != st["leader"])
    forged = dict(st, leader=other, leader_epoch=st["leader_epoch"] + 5, isr=[other])
    with h.step(f"write a state naming broker {other} leader, behind the controller's back"):
        cluster.zk.set(f"/brokers/topics/{T}/partitions/0/state", json.dumps(forged).encode(), stat.version)
    # The barrier: a topic created after the edit.  Each broker's session
    # delivers the edit's watch event before the new topic's, and the new
    # topic reaches every broker's Metadata only after that (through the
    # controller): a broker still reading state znodes would have changed.
    cluster.create_topic(T + "-after", assignment="1:2:3")
    assert picture(cluster) == {((1, 2, 3), st["leader"])}
