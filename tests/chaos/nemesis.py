"""
nemesis - the randomized fault schedule of the nightly soak's N1
(reliability-tests.md 6.3): faults drawn from a seeded generator, started at
exponentially distributed intervals, each held 5-20 s and then healed, with
at most `concurrent` faults at once.  The same seed gives the same schedule
of choices (the times it waits for the cluster differ from run to run).

Each fault is a function fault(run, rng) -> (description, heal) that starts
the fault and returns how to heal it; a network fault's heal removes only
the iptables rules it added, so two faults on one broker end separately.  There is no delay fault: this
machine's kernel has no netem qdisc (tests/chaos/README).
"""
import random
import time


def kill(run, rng):
    victim = rng.choice(sorted(run.live_brokers()))
    run.kill(victim)

    def heal():
        run.wait_deregistered(victim, timeout=30.0)
        run.restart(victim)
    return f"kill -9 broker {victim}", heal


def pause(run, rng):
    victim = rng.choice(sorted(run.live_brokers()))
    run.pause(victim)
    return f"SIGSTOP broker {victim}", lambda: run.resume(victim)


def partition_one(run, rng):
    victim = rng.choice(sorted(run.brokers))
    rules = run.cut_brokers(victim)
    what = f"broker {victim} cut from the brokers"
    return what, lambda: run.heal_net(victim, what, rules)


def majorities_ring(run, rng):
    """Each broker stops hearing one other, so each still sees a majority
    (itself and one peer) but no two see the same majority."""
    ids = sorted(run.brokers)
    rng.shuffle(ids)
    run.history.fault(f"majorities ring {ids}")
    added = {b: run.net_rules(b, run.node(b).cut_inbound_from([run.node(ids[i - 1]).ip]))
             for i, b in enumerate(ids)}

    def heal():
        for b, rules in added.items():
            run.heal_net(b, f"majorities ring {ids}: broker {b}", rules)
    return f"majorities ring {ids}", heal


def zookeeper_cut(run, rng):
    victim = rng.choice(sorted(run.brokers))
    what = f"broker {victim} cut from ZooKeeper"
    run.history.fault(what)
    rules = run.net_rules(victim, run.node(victim).cut_from([z.node.ip for z in run.topo.zk]))
    return what, lambda: run.heal_net(victim, what, rules)


def session_expiry(run, rng):
    victim = rng.choice(sorted(run.live_brokers()))
    run.expire_session(victim)
    return f"session of broker {victim} expired", lambda: None


def packet_loss(run, rng):
    victim = rng.choice(sorted(run.brokers))
    what = f"20% packet loss on broker {victim}"
    run.history.fault(what)
    rules = run.net_rules(victim, run.node(victim).lossy(0.2))
    return what, lambda: run.heal_net(victim, what, rules)


FAULTS = [kill, pause, partition_one, majorities_ring, zookeeper_cut, session_expiry, packet_loss]


def run_random(run, seconds, seed, concurrent=1, mean_interval=15.0):
    """Starts faults until `seconds` have passed, then heals what is still on."""
    rng = random.Random(seed)
    active = []  # (heal at, description, heal)
    end = time.monotonic() + seconds
    next_start = time.monotonic() + min(30.0, rng.expovariate(1 / mean_interval))
    while time.monotonic() < end:
        now = time.monotonic()
        for item in [a for a in active if a[0] <= now]:
            active.remove(item)
            item[2]()
        if now >= next_start and len(active) < concurrent:
            fault = rng.choice(FAULTS)
            if fault in (kill, pause, session_expiry) and len(run.live_brokers()) < 3:
                fault = partition_one  # one process down at a time is plenty
            what, heal = fault(run, rng)
            active.append((time.monotonic() + rng.uniform(5.0, 20.0), what, heal))
            next_start = time.monotonic() + min(30.0, rng.expovariate(1 / mean_interval))
        time.sleep(0.2)
    for _, _, heal in active:
        heal()
