"""
Scenario zg: unclean.leader.election.enable (issue 10 item 5, spec 2.6).

Two brokers with replica.lag.time.max.ms=1000, two topics of one
partition, each assigned to brokers 1 then 2: "clean" with the broker's
default (false) and "unclean" with the topic override true.  Broker 2, the
follower, is frozen with SIGSTOP (its 6 s session outlives the freeze), so
each leader (broker 1) shrinks its ISR to [1].  Broker 1 is killed with
SIGKILL while broker 2 is still frozen, then broker 2 resumes; after
ZooKeeper expires broker 1's session no live broker is in either ISR:

  - "clean" stays offline: leader -1, ISR [1] kept (the ISR never becomes
    empty; the last member is the replica known to hold everything), and
    clients get LEADER_NOT_AVAILABLE;
  - "unclean" is led by broker 2 with ISR [2] and its leader epoch bumped,
    and takes records again.

When broker 1 returns, "clean" is led by it again.
"""
import pytest

import kbharness as h

SESSION_MS = 2000
FOLLOWER_SESSION_MS = 6000
LAG_MS = 1000


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    extra = {"replica.lag.time.max.ms": str(LAG_MS)}
    for i in (1, 2):
        c.add_broker(i, fixed_port=True, session_timeout_ms=SESSION_MS if i == 1 else FOLLOWER_SESSION_MS,
                     extra=extra).start()
        c.brokers[i].wait_registered()
    c.wait_controller()
    c.create_topic("clean", assignment="1:2")
    c.create_topic("unclean", assignment="1:2", configs=["unclean.leader.election.enable=true"])
    return c


def test_unclean_election_only_where_enabled(cluster):
    with h.step("SIGSTOP broker 2; wait for both leaders to shrink their ISR to [1]; kill -9 broker 1"):
        # Resumed only after broker 1 is dead: a running follower would
        # catch up and be taken back into the ISRs at once.
        with h.paused(cluster.brokers[2]):
            for t in ("clean", "unclean"):
                cluster.wait_states(t, pred=lambda st: st[0]["leader"] == 1 and st[0]["isr"] == [1], timeout=30)
            before = {t: cluster.state(t, 0) for t in ("clean", "unclean")}
            cluster.brokers[1].kill9()
    h.wait_until(lambda: 1 not in cluster.registered_ids(), 60, "/brokers/ids/1 to vanish", interval=0.02)
    with h.step("wait for the unclean topic to be led by broker 2"):
        after = cluster.wait_states("unclean", pred=lambda st: st[0]["leader"] == 2, timeout=60)[0]
    assert after["isr"] == [2], after
    assert after["leader_epoch"] == before["unclean"]["leader_epoch"] + 1, after

    def served():
        md = h.metadata(cluster.brokers[2], ["clean", "unclean"])
        return md if md["topics"]["unclean"][1][0].leader == 2 else None
    md = h.wait_until(served, 30, "broker 2's Metadata to name itself leader of unclean-0")
    assert h.produce_one(cluster.brokers[2].port, "unclean", 0, b"after unclean election") == 0

    clean = cluster.state("clean", 0)
    assert clean["leader"] == -1 and clean["isr"] == [1], clean
    assert clean["leader_epoch"] == before["clean"]["leader_epoch"] + 1, clean
    LEADER_NOT_AVAILABLE = 5
    assert md["topics"]["clean"][1][0].leader == -1
    assert md["topics"]["clean"][1][0].error == LEADER_NOT_AVAILABLE, md["topics"]["clean"]

    with h.step("restart broker 1: the clean topic gets its leader back"):
        cluster.brokers[1].start()
        cluster.brokers[1].wait_registered(30)
        cluster.wait_states("clean", pred=lambda st: st[0]["leader"] == 1, timeout=60)
