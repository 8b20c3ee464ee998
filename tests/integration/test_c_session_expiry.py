"""
Scenario c: the controller freezes (SIGSTOP: a long GC pause, a stalled VM)
for longer than its ZooKeeper session timeout.  ZooKeeper expires the session
and another broker takes over.  When the frozen broker wakes up (SIGCONT) it
learns its session is gone, registers again under a new session (new czxid =
new broker epoch), does not act as controller any more, and serves clients.
A partition leader frozen the same way is replaced; when it wakes it refuses
the clients that still take it for the leader (NOT_LEADER_OR_FOLLOWER)
instead of answering from a log the new leader has moved past.
"""
import signal
import time

import kafkawire

import pytest

import kbharness as h

TOPIC = "inventory"


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start broker 1 alone so that it becomes the controller, then 2 and 3"):
        c.start_brokers([1])
        assert c.wait_controller() == 1
        c.start_brokers([2, 3])
    with h.step(f"create topic {TOPIC} (3 partitions, RF 3)"):
        r = c.admin("create-topic", "--topic", TOPIC, "--partitions", 3, "--replication-factor", 3)
        assert r.returncode == 0, r.stderr
        c.wait_states(TOPIC)
    return c


def test_frozen_controller_reregisters_and_gives_up_the_controller_role(cluster):
    frozen = cluster.brokers[cluster.controller()]
    _, old = frozen.registration()
    epoch_before = cluster.controller_epoch()

    t0 = time.monotonic()
    frozen.send_signal(signal.SIGSTOP)
    try:
        with h.step(f"SIGSTOP controller {frozen.id}; wait for ZooKeeper to expire its session"):
            h.wait_until(lambda: frozen.id not in cluster.registered_ids(), 30,
                         f"/brokers/ids/{frozen.id} to vanish", interval=0.05)
        h.note(f"SIGSTOP -> /brokers/ids/{frozen.id} vanished", time.monotonic() - t0)
        with h.step("wait for another broker to become controller"):
            new = cluster.wait_controller(30, other_than=frozen.id)
        h.note(f"SIGSTOP -> broker {new} is controller", time.monotonic() - t0)
    finally:
        frozen.send_signal(signal.SIGCONT)
    t_cont = time.monotonic()

    with h.step(f"SIGCONT broker {frozen.id}; wait for it to register again"):
        stat = frozen.wait_registered(30, newer_than=old.czxid)
    h.note("SIGCONT -> new registration", time.monotonic() - t_cont)
    assert stat.czxid > old.czxid
    assert stat.ephemeralOwner != old.ephemeralOwner

    ctl = cluster.controller()
    assert ctl is not None
    if ctl == frozen.id:
        assert cluster.controller_epoch() > epoch_before + 1, \
            "the woken broker may only be controller again through a new election"
    else:
        assert cluster.controller_epoch() == epoch_before + 1

    with h.step(f"kcat -L against the woken broker {frozen.id}"):
        def serves():
            v = h.kcat_view(h.kcat_metadata(frozen.bootstrap))
            return v if (sorted(v["brokers"]) == [1, 2, 3] and TOPIC in v["topics"]
                         and v["controller"] == cluster.controller()) else None
        v = h.wait_until(serves, 20, f"broker {frozen.id} to serve current metadata")
    assert len(v["topics"][TOPIC]["partitions"]) == 3
    # Every broker agrees on who the controller is.
    for b in cluster.brokers.values():
        h.wait_until(lambda: h.kcat_view(h.kcat_metadata(b.bootstrap))["controller"] == cluster.controller(),
                     10, f"broker {b.id} to report controller {cluster.controller()}")



def _connected(broker, n):
    """n connections the broker has accepted and answered (ApiVersions), as
    a client keeps them open across a pause of the broker."""
    socks = []
    for _ in range(n):
        sock = h.connect(broker.port, 30)
        sock.sendall(h.kafka_request(18, 0, 1))
        h.recv_frame(sock)
        socks.append(sock)
    return socks


def _answer(sock, parse):
    try:
        return parse(h.recv_frame(sock))
    finally:
        sock.close()


def test_leader_woken_after_its_session_expired_refuses_clients_instead_of_answering_from_its_old_log(cluster):
    """The requests clients sent to a frozen leader, on connections it had
    accepted before it froze, are read the moment it wakes, before its
    ZooKeeper client can learn anything: a Fetch beyond
    its own log end (where the consumer's new leader already is) would get
    OFFSET_OUT_OF_RANGE and rewind the consumer, an acks=1 Produce would be
    acknowledged into a log that is about to be truncated, and a ListOffsets
    would report an end offset older than one already given.  Having heard
    nothing from ZooKeeper for longer than its session could live, the woken
    leader refuses all three with NOT_LEADER_OR_FOLLOWER (retriable)."""
    part = 1
    h.wait_full_isr(cluster, TOPIC)
    old = cluster.brokers[cluster.state(TOPIC, part)["leader"]]
    for i in range(5):
        assert h.produce_one(old.port, TOPIC, part, b"before-%d" % i, acks=-1) == 0
    _, reg = old.registration()
    fetch, produce, offsets = _connected(old, 3)
    t0 = time.monotonic()
    with h.paused(old):
        with h.step(f"SIGSTOP leader {old.id} of {TOPIC}-{part}; wait for another leader"):
            st = h.wait_until(lambda: (s := cluster.state(TOPIC, part)) and s["leader"] not in (old.id, -1) and s,
                              30, f"a leader other than broker {old.id}", interval=0.05)
        h.note("SIGSTOP -> new leader elected", time.monotonic() - t0)
        new = cluster.brokers[st["leader"]]
        # The state znode names the new leader before the controller's
        # LeaderAndIsr has reached it: until then it answers 6.
        h.wait_until(lambda: h.produce_one(new.port, TOPIC, part, b"after-0", acks=-1) == 0, 30,
                     f"broker {new.id} to take produces as the new leader", interval=0.05)
        for i in range(1, 5):
            assert h.produce_one(new.port, TOPIC, part, b"after-%d" % i, acks=-1) == 0
        ahead = h.high_watermark(new, TOPIC, part)
        with h.step(f"queue a Fetch at {ahead}, an acks=1 Produce and a ListOffsets at the frozen broker"):
            fetch.sendall(h.kafka_request(1, 4, 7, kafkawire.fetch_v4_body([(TOPIC, [(part, ahead, 1 << 20)])],
                                                                            max_wait_ms=0)))
            batch = kafkawire.build_batch([(None, b"to-the-frozen-leader")])
            produce.sendall(h.kafka_request(0, 3, 7, kafkawire.produce_body([(TOPIC, [(part, batch)])], acks=1,
                                                                             version=3)))
            offsets.sendall(h.kafka_request(2, 1, 7, kafkawire.list_offsets_v1_body(
                [(TOPIC, [(part, kafkawire.LATEST)])])))
    with h.step(f"SIGCONT broker {old.id}; read its answers"):
        fetched = _answer(fetch, kafkawire.parse_fetch_v4_response)[2][(TOPIC, part)]
        produced = _answer(produce, lambda f: kafkawire.parse_produce_response(f, version=3))[1][(TOPIC, part)]
        listed = _answer(offsets, kafkawire.parse_list_offsets_v1_response)[1][(TOPIC, part)]
    print(f"    woken broker {old.id}: Fetch at {ahead} -> {fetched.error}, Produce -> {produced.error} "
          f"(base offset {produced.base_offset}), ListOffsets -> {listed}")
    assert fetched.error == 6, f"Fetch beyond the frozen leader's log answered {fetched.error}, not 6"
    assert produced.error == 6, f"acks=1 Produce to the frozen leader answered {produced.error}, not 6"
    assert listed[0] == 6, f"ListOffsets on the frozen leader answered {listed}, not error 6"

    with h.step(f"broker {old.id} registers again and follows; every replica converges"):
        old.wait_registered(30, newer_than=reg.czxid)
        end = h.wait_converged(cluster, TOPIC, part)
    assert end == ahead, f"{TOPIC}-{part} ends at {end}, expected {ahead}"
    assert h.log_end_offset(old, TOPIC, part) == ahead
