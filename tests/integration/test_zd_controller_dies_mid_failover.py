"""
Scenario zd: the controller dies in the middle of a failover (issue 10).

Three brokers, broker 1 the controller; a topic of PARTITIONS partitions,
RF 3, so that broker 2 leads a third of them.  Broker 2 is killed with
SIGKILL; once ZooKeeper expires its session the controller rewrites the
states of broker 2's partitions, and a data watch on each of them freezes
the controller (SIGSTOP) at the first rewrite seen, part-way through (how
far it got is printed: from one to all of them, as the machine's speed
decides); then it is killed with SIGKILL.  Broker 3, the only survivor,
becomes controller once broker 1's session expires,
rebuilds its picture from ZooKeeper and finishes the work: every partition
is led by broker 3 with its leader epoch bumped once per leader lost, its
ISR is [3], and broker 3's Metadata agrees with the state znodes.  Then
both dead brokers come back: the new controller sends them their roles and
every broker's Metadata lists all three brokers and the same leaders.
"""
import signal
import threading

import pytest

import kbharness as h

TOPIC = "midway"
PARTITIONS = 300
SESSION_MS = 2000


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    c.add_broker(1, fixed_port=True, session_timeout_ms=SESSION_MS, metrics=True).start()
    c.brokers[1].wait_registered()
    assert c.wait_controller() == 1
    for i in (2, 3):
        c.add_broker(i, fixed_port=True, session_timeout_ms=SESSION_MS, metrics=True).start()
        c.brokers[i].wait_registered()
    c.create_topic(TOPIC, PARTITIONS, rf=3, timeout=120)
    return c


def moved_count(cluster, led_by, dead):
    st = cluster.states(TOPIC)
    return sum(1 for p in led_by if st[p]["leader"] != dead)


def test_new_controller_finishes_a_failover_the_old_one_left_midway(cluster):
    before = cluster.states(TOPIC)
    led_by_2 = sorted(p for p, s in before.items() if s["leader"] == 2)
    led_by_1 = sorted(p for p, s in before.items() if s["leader"] == 1)
    assert led_by_2 and led_by_1
    epoch_before = cluster.controller_epoch()

    # A data watch on each of broker 2's state znodes freezes the controller
    # from ZooKeeper's event thread at the first rewrite it sees.
    froze = threading.Event()

    def on_state(data, stat, event=None):
        if event is not None and not froze.is_set():
            froze.set()
            cluster.brokers[1].send_signal(signal.SIGSTOP)
        return not froze.is_set()
    for p in led_by_2:
        cluster.zk.DataWatch(f"/brokers/topics/{TOPIC}/partitions/{p}/state", on_state)
    cluster.brokers[2].kill9()
    with h.step("wait for broker 2's session to expire and the controller's first new state (then SIGSTOP)"):
        h.wait_until(froze.is_set, 60, "a state of broker 2's partitions to be rewritten", interval=0.01)
    done = moved_count(cluster, led_by_2, 2)
    print(f"    the frozen controller had moved {done} of broker 2's {len(led_by_2)} partitions", flush=True)
    cluster.brokers[1].kill9()

    def finished():
        st = cluster.states(TOPIC)
        return st if all(s["leader"] == 3 and s["isr"] == [3] for s in st.values()) else None

    def metadata_agrees():
        md = h.metadata(cluster.brokers[3], [TOPIC])
        parts = md["topics"][TOPIC][1]
        return md["controller"] == 3 and all(parts[p].leader == 3 for p in range(PARTITIONS))

    with h.step("wait for broker 3 to take over and finish the failover"):
        times = h.wait_all({"broker 3 holds /controller": lambda: cluster.controller() == 3,
                            "every state names broker 3, ISR [3]": finished,
                            "broker 3's Metadata names itself everywhere": metadata_agrees}, 90)
    for what, secs in times.items():
        h.note(f"after the controller's kill: {what}", secs)

    after = cluster.states(TOPIC)
    assert cluster.controller_epoch() > epoch_before
    for p, s in after.items():
        # Each lost leader bumps the epoch once, and so does each replica
        # taken offline (Kafka's Replica -> Offline); two brokers died, and
        # broker 1 may or may not have written its half of the work.
        assert before[p]["leader_epoch"] < s["leader_epoch"] <= before[p]["leader_epoch"] + 4, (p, before[p], s)
        assert s["controller_epoch"] > epoch_before

    with h.step("restart brokers 1 and 2"):
        cluster.brokers[1].start()
        cluster.brokers[2].start()
        cluster.brokers[1].wait_registered(30)
        cluster.brokers[2].wait_registered(30)

    def all_agree():
        st = cluster.states(TOPIC)
        want = {p: s["leader"] for p, s in st.items()}
        for b in cluster.brokers.values():
            md = h.metadata(b, [TOPIC])
            if sorted(md["brokers"]) != [1, 2, 3] or md["controller"] != 3:
                return False
            if {p: m.leader for p, m in md["topics"][TOPIC][1].items()} != want:
                return False
        return True
    h.wait_until(all_agree, 60, "every broker's Metadata to list three brokers and the state znodes' leaders")
    # The restarted brokers got their roles from the controller (LeaderAndIsr).
    for i in (1, 2):
        m = cluster.brokers[i].metrics()
        assert h.metric(m, "kbroker_role_updates_applied_total") >= PARTITIONS, m
