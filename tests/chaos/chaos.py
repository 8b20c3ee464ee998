"""
chaos - one run of the chaos tier: a fresh 3-broker cluster in the topology
(netcluster.py), the workload recording its history (workload.py), the
test's schedule of faults, the heal, the final drain, and the verdict of the
checker (kbcheck.py) with one report line.

A test reads like its schedule in reliability-tests.md section 6.2:

    with ChaosRun(topo, "R1", seed) as run:
        run.warm_up()
        for _ in range(3):
            victim = run.leader_of(0)
            run.kill(victim)
            run.wait_deregistered(victim)
            run.restart(victim)
    result = run.result          # kbcheck's result; run.report_line

Leaving the `with` block heals every fault (rules flushed, paused brokers
continued, ballast released, dead brokers restarted), waits for the cluster
to serve with a full ISR again, stops the clients, drains, stops the brokers
with SIGTERM and checks the history.  An exception inside the block still
heals and stops everything, then propagates.
"""
import json
import os
import signal
import sys
import time
from pathlib import Path

import kbcheck
import netcluster as nc
import workload as wl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import kbharness as h  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("KB_CHAOS_OUT", REPO / "build" / "chaos"))

# reliability-tests.md 6.1: Kafka's 18 s session and 30 s lag shortened to
# fit a CI run.
BASE_CONFIG = {
    # The test creates its topic; a client of an earlier test that is still
    # being torn down must not create it first (with 1 partition) when it
    # asks the new cluster for metadata.
    "auto.create.topics.enable": "false",
    "zookeeper.session.timeout.ms": 4000,
    "replica.lag.time.max.ms": 4000,
    "default.replication.factor": 3,
    "offsets.topic.replication.factor": 3,
    "kbroker.rpc.reconnect.backoff.max.ms": 500,
}


class ChaosRun:
    def __init__(self, topo, test_id, seed=1, topic="jr", partitions=6, rf=3, min_isr=2,
                 unclean=False, acks="all", broker_config=None, tmpfs_mb=None, rate=200,
                 producer_conf=None, producer="confluent", ack_within=15.0, isr_within=30.0):
        self.topo = topo
        self.test_id = test_id
        self.seed = seed
        self.topic = topic
        self.partitions = partitions
        self.rf = rf
        self.min_isr = min_isr
        self.unclean = unclean
        self.acks = acks
        self.config = {**BASE_CONFIG, **(broker_config or {})}
        self.tmpfs_mb = tmpfs_mb
        self.rate = rate
        self.producer_conf = dict(producer_conf or {})
        if acks != "all":
            self.producer_conf.update({"acks": acks, "enable.idempotence": False})
        self.producer_kind = producer
        self.ack_within = ack_within
        self.isr_within = isr_within
        self.dir = OUT / test_id
        self.ballasts = []
        self.paused = set()
        self.net_faulted = set()  # brokers whose namespace has fault rules
        self.result = None
        self.report_line = None
        self.stats = {}  # the test's own figures, added to the report line
        self.workers = []
        self.producer = self.lister = self.sampler = self.zk = self.history = None
        self.tailers = []

    # -- start ----------------------------------------------------------------
    def __enter__(self):
        t0 = time.monotonic()
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self.start_cluster()
            self.start_workload()
        except BaseException:
            # __exit__ does not run for a failed __enter__: stop what started.
            self.stop_workers(True)
            self.topo.stop_brokers()
            self.close_zk()
            if self.history is not None:
                self.history.close()
            raise
        h.note(f"{self.test_id}: cluster up, workload started", time.monotonic() - t0)
        return self

    def start_cluster(self):
        """Fresh brokers under their own ZooKeeper chroot, the topic created
        and every partition with a full ISR."""
        self.topo.new_cluster(self.test_id.lower(), self.config, tmpfs_mb=self.tmpfs_mb)
        self.brokers = self.topo.brokers
        for b in self.brokers.values():
            b.start()
        self.zk = self.topo.kazoo()
        for b in self.brokers.values():
            self.wait_registered(b.id)
        r = self.topo.admin("create-topic", "--topic", self.topic, "--partitions", self.partitions,
                            "--replication-factor", self.rf,
                            "--config", f"min.insync.replicas={self.min_isr}",
                            "--config", f"unclean.leader.election.enable={str(self.unclean).lower()}")
        assert r.returncode == 0, f"create-topic failed: {r.stderr}"
        self.wait_full_isr(60.0)

    def start_workload(self):
        self.history = wl.History(self.dir / "history.jsonl")
        self.history.add("harness", "info", "meta", test=self.test_id, seed=self.seed,
                         topic=self.topic, partitions=self.partitions, rf=self.rf,
                         min_isr=self.min_isr, unclean=self.unclean, acks=self.acks,
                         ack_within=self.ack_within, isr_within=self.isr_within,
                         list_within=self.ack_within)
        bootstrap = self.topo.bootstrap()
        self.sampler = wl.ZkSampler(self.history, self.zk, self.topic)
        self.producer = self.make_producer(bootstrap)
        half = self.partitions // 2
        self.tailers = [wl.TailingConsumer(self.history, f"consumer-{i}", bootstrap, self.topic,
                                           range(i * half, self.partitions if i else half))
                        for i in range(2)]
        self.lister = wl.Lister(self.history, self.brokers.values(), self.topic, self.partitions,
                                self.sampler)
        self.workers = [self.sampler, self.producer, *self.tailers, self.lister]
        for w in self.workers:
            w.start()

    def make_producer(self, bootstrap):
        if self.producer_kind == "kafka-python":
            return wl.KafkaPythonProducer(self.history, bootstrap, self.topic, self.partitions,
                                          rate=self.rate)
        if self.producer_kind == "kcat":
            return wl.KcatProducer(self.history, bootstrap, self.topic, self.partitions, rate=self.rate)
        return wl.ProducerWorker(self.history, bootstrap, self.topic, self.partitions,
                                 rate=self.rate, conf=self.producer_conf)

    # -- what ZooKeeper says --------------------------------------------------
    def state(self, p):
        return nc.state_json(self.zk, self.topic, p)[0]

    def leader_of(self, p):
        """The leader ZooKeeper names for partition p (waits for one)."""
        def leader():
            lid = self.state(p)["leader"]
            return lid if lid >= 0 else None
        return h.wait_until(leader, 30.0, f"partition {p} to have a leader")

    def state_replicas(self, p):
        data, _ = self.zk.get(f"/brokers/topics/{self.topic}")
        return json.loads(data)["partitions"][str(p)]

    def controller(self):
        """(controller broker id, controller_epoch), once both exist."""
        def read():
            ctl, _ = self.zk.get("/controller")
            epoch, _ = self.zk.get("/controller_epoch")
            return json.loads(ctl)["brokerid"], int(epoch)
        return h.wait_until(read, 30.0, "a controller")

    def wait_controller_other_than(self, old, timeout=15.0):
        return h.wait_until(lambda: (lambda c: c if c[0] != old else None)(self.controller()),
                            timeout, f"a controller other than broker {old}")

    def isr(self, p):
        return self.state(p)["isr"]

    def registered(self, bid):
        return self.zk.exists(f"/brokers/ids/{bid}") is not None

    def wait_registered(self, bid, timeout=60.0):
        h.wait_until(lambda: self.registered(bid), timeout, f"broker {bid} to register")

    def wait_deregistered(self, bid, timeout=15.0):
        """Waits for ZooKeeper to drop the broker's session (session 4 s +
        margin); returns the seconds waited."""
        t0 = time.monotonic()
        h.wait_until(lambda: not self.registered(bid), timeout,
                     f"/brokers/ids/{bid} to vanish (session expiry)")
        return time.monotonic() - t0

    def wait_leader_other_than(self, p, old, timeout=15.0):
        t0 = time.monotonic()
        h.wait_until(lambda: self.state(p)["leader"] not in (old, -1), timeout,
                     f"partition {p} to get a leader other than {old}")
        return time.monotonic() - t0

    def full_isr(self):
        try:
            states = [self.state(p) for p in range(self.partitions)]
        except Exception:  # noqa: BLE001 - not created yet
            return False
        return all(len(s["isr"]) == self.rf and s["leader"] >= 0 for s in states)

    def wait_full_isr(self, timeout):
        t0 = time.monotonic()
        h.wait_until(self.full_isr, timeout, f"every partition of {self.topic} to have a full ISR",
                     interval=0.2)
        return time.monotonic() - t0

    def wait_isr(self, p, pred, timeout, what):
        return h.wait_until(lambda: pred(self.isr(p)), timeout, f"partition {p}: {what}")

    def acked(self):
        return self.producer.acked

    def wait_acks(self, n, timeout=30.0, what="acks"):
        start = self.acked()
        h.wait_until(lambda: self.acked() >= start + n, timeout, f"{n} more {what}")

    def hold(self, seconds):
        """Keeps the current faults for `seconds` (the schedule's hold time;
        every state change is waited for with wait_* instead)."""
        time.sleep(seconds)

    def warm_up(self, acks=200, timeout=30.0):
        self.wait_acks(acks, timeout, "acknowledged records (warm-up)")

    # -- faults -----------------------------------------------------------------
    def kill(self, bid):
        self.record_exits()  # a death before the kill is a crash, not this kill
        self.history.fault(f"kill -9 broker {bid}")
        self.brokers[bid].stop(signal.SIGKILL, timeout=10)
        self.record_exits()

    def terminate(self, bid, timeout=30.0):
        """SIGTERM; the broker must exit with status 0 within timeout."""
        self.record_exits()
        self.history.fault(f"SIGTERM broker {bid}")
        t0 = time.monotonic()
        self.brokers[bid].stop(signal.SIGTERM, timeout=timeout)
        took = time.monotonic() - t0
        self.record_exits()
        return took

    def restart(self, bid, env=None):
        """Starts the broker again (env: variables added for this start)."""
        self.history.heal(f"restart broker {bid}" + (f" with {env.get('FAKETIME')}" if env else ""))
        self.brokers[bid].start(env=env)
        self.wait_registered(bid)

    def pause(self, bid):
        self.history.fault(f"SIGSTOP broker {bid}")
        self.paused.add(bid)
        self.brokers[bid].send_signal(signal.SIGSTOP)

    def resume(self, bid):
        self.brokers[bid].send_signal(signal.SIGCONT)
        self.paused.discard(bid)
        self.history.heal(f"SIGCONT broker {bid}")

    def live_brokers(self):
        """Brokers running and not paused."""
        return {b.id for b in self.brokers.values() if b.alive() and b.id not in self.paused}

    def node(self, bid):
        return self.brokers[bid].node

    def cut_brokers(self, bid, peers=None, port=None):
        """bid loses the other brokers (or `peers`); ZooKeeper stays reachable."""
        peers = [p for p in (peers or self.brokers) if p != bid]
        self.history.fault(f"cut broker {bid} from brokers {peers}" + (f" port {port}" if port else ""))
        ips = [self.node(p).ip for p in peers]
        self.net_faulted.add(bid)
        return self.node(bid).cut_from(ips, port=port)

    def drop_inbound_from_brokers(self, bid, port=nc.RPC_PORT):
        """bid drops what the other brokers send to its port (Jepsen 2013's
        first phase): its followers cannot fetch from it."""
        peers = [p for p in self.brokers if p != bid]
        self.history.fault(f"broker {bid} drops inbound port {port} from brokers {peers}")
        self.net_faulted.add(bid)
        return self.node(bid).drop_inbound([self.node(p).ip for p in peers], port)

    def cut_clients(self, bid):
        """The host's clients lose broker bid (the brokers keep each other)."""
        self.history.fault(f"cut clients from broker {bid}")
        self.net_faulted.add(bid)
        return self.node(bid).cut_from([self.topo.host_ip], port=nc.KAFKA_PORT)

    def isolate(self, bid):
        self.history.fault(f"isolate broker {bid} (brokers and ZooKeeper)")
        self.net_faulted.add(bid)
        return self.node(bid).isolate()

    def net_rules(self, bid, rules):
        """Notes that bid's namespace has fault rules (heal_all removes
        them); returns the rules."""
        self.net_faulted.add(bid)
        return rules

    def heal_net(self, bid, what=None, rules=None):
        """Removes `rules` (what one fault added) from bid's namespace, or
        every rule there."""
        if rules is None:
            self.node(bid).heal()
            self.net_faulted.discard(bid)
        else:
            self.node(bid).delete_rules(rules)
        self.history.heal(what or f"network of broker {bid}")

    def fill_disk(self, bid):
        self.history.fault(f"disk full on broker {bid}")
        self.ballasts.append(nc.fill_to_zero(self.brokers[bid].log_dir))

    def release_disk(self, bid):
        ballast = self.brokers[bid].log_dir / ".ballast"
        nc.release(ballast)
        self.ballasts = [b for b in self.ballasts if b != ballast]
        self.history.heal(f"disk of broker {bid} released")

    def expire_session(self, bid):
        """Pauses the broker until ZooKeeper has dropped its session (once it
        has one: a broker just continued may not have registered again)."""
        self.wait_registered(bid)
        self.pause(bid)
        self.wait_deregistered(bid, timeout=20.0)
        self.resume(bid)

    # -- end --------------------------------------------------------------------
    def wait_zookeeper_quorum(self, exclude=None, timeout=60.0):
        """Waits until the ZooKeeper servers (but `exclude`) serve, with one
        leader among them (or the single server standalone)."""
        servers = [z for z in self.topo.zk if z is not exclude]
        def serving():
            modes = [z.mode() for z in servers]
            if len(self.topo.zk) == 1:
                return modes == ["standalone"]
            return None not in modes and modes.count("leader") == 1
        t0 = time.monotonic()
        h.wait_until(serving, timeout, "a ZooKeeper quorum")
        return time.monotonic() - t0

    def heal_all(self):
        """Ends every fault still on.  Writes a heal line only if one was:
        the checker measures recovery from the last heal, which is the
        schedule's own when the test healed everything itself."""
        healed = []
        for z in self.topo.zk:
            if z.process is not None and not z.process.alive():
                z.start()
                healed.append(f"ZooKeeper server {z.index} restarted")
        for bid in list(self.paused):
            self.brokers[bid].send_signal(signal.SIGCONT)
            healed.append(f"SIGCONT broker {bid}")
        self.paused.clear()
        for bid in sorted(self.net_faulted):
            self.node(bid).heal()
            healed.append(f"network of broker {bid}")
        self.net_faulted.clear()
        for ballast in self.ballasts:
            nc.release(ballast)
            healed.append(f"released {ballast}")
        self.ballasts = []
        self.record_exits()
        for b in self.brokers.values():
            if not b.alive():
                b.start()
                healed.append(f"restart broker {b.id}")
        if healed:
            self.history.heal("; ".join(healed))

    def record_exits(self):
        """Writes every broker exit not yet in the history: those the run
        caused (expected unless a SIGTERM did not end with status 0) and
        those nobody asked for (crashes)."""
        for b in self.brokers.values():
            b.note_exit_if_dead()
            for _, rc, ok in b.exits:
                self.history.exit(f"broker-{b.id}", rc, ok)
            b.exits = []

    def __exit__(self, exc_type, exc, tb):
        failed = exc_type is not None
        worker_error = None
        try:
            self.heal_all()
            if not failed:
                self.settle()
            try:
                self.stop_workers(failed)
            except RuntimeError as e:
                # A client that died is the test's failure, but its history
                # is still drained and checked.
                worker_error = e
            if not failed:
                wl.drain(self.history, self.topo.bootstrap(), self.topic, self.partitions)
        finally:
            # Whatever failed above, the clients and the brokers stop (the
            # next test starts its own cluster on the same namespaces).
            self.stop_workers(True)
            self.record_exits()  # crashes first: stop_brokers sets return codes
            self.topo.stop_brokers()
            self.record_exits()
            self.history.close()
            self.close_zk()
        if not failed:
            self.check()
        if worker_error is not None:
            raise worker_error
        return False

    def close_zk(self):
        if self.zk is not None:
            self.zk.stop()
            self.zk.close()
            self.zk = None

    def settle(self):
        """After the heal: every broker registered, a full ISR and an ack
        (bounded by the checker's own liveness limits plus a margin, so that
        the checker, not a timeout here, reports a slow recovery)."""
        t0 = time.monotonic()
        for b in self.brokers.values():
            self.wait_registered(b.id, timeout=60.0)
        try:
            self.wait_full_isr(self.isr_within + 15)
            self.wait_acks(1, self.ack_within + 15, "acks after the heal")
            # A new leader answers ListOffsets once its high watermark has
            # reached its epoch's start: the run goes on until every
            # partition was answered, or the checker's limit has passed.
            h.wait_until(lambda: all(self.lister.answered_at.get(p, 0) > t0 for p in range(self.partitions)),
                         self.ack_within + 15, "a ListOffsets answer for every partition after the heal",
                         interval=0.2)
            # The tailers should see the records of the last seconds too.
            self.wait_acks(100, 30.0, "acks after the heal")
        except h.Timeout as e:
            print(f"    settle: {e}", flush=True)
        h.note(f"{self.test_id}: heal to settled", time.monotonic() - t0)

    def stop_workers(self, failed):
        """Stops every client (the producer first: it flushes while the
        others still read), each bounded; then raises the first failure
        unless the run failed already."""
        errors = []
        for w in (self.producer, self.lister, *self.tailers, self.sampler):
            if w is not None and w in self.workers:
                try:
                    w.stop(timeout=60.0)
                except RuntimeError as e:
                    errors.append(e)
        self.workers = []
        for e in errors:
            print(f"    {e}", flush=True)
        if errors and not failed:
            raise errors[0]

    def check(self):
        logs = nc.copy_logs(self.topo, self.dir)
        self.result = kbcheck.check(self.history.records, log_paths=logs,  # limits: the meta line's
                                    data_dirs=[b.log_dir for b in self.topo.brokers.values()])
        self.result["stats"].update(self.stats)
        (self.dir / "result.json").write_text(json.dumps(self.result, indent=1, default=str))
        if not self.result["valid"]:
            # The logs themselves, while they exist (tmpfs ones go with the
            # topology), for looking at the batches behind an anomaly.
            nc.copy_data(self.topo, self.dir)
        self.report_line = kbcheck.summary_line(self.result)
        if self.stats:
            self.report_line += " " + " ".join(f"{k}={v}" for k, v in self.stats.items())
        with open(OUT / "report.txt", "a") as f:
            f.write(self.report_line + "\n")
        print(kbcheck.report(self.result), flush=True)

    def acks_between(self, t_from, t_to, partition=None):
        return sum(1 for r in self.history.records
                   if r["f"] == "send" and r["type"] == "ok" and t_from <= r["t"] <= t_to
                   and (partition is None or r["partition"] == partition))

    def longest_ack_gap(self, t_from, t_to, partition):
        """The longest time without an ack on `partition` between t_from and
        t_to."""
        ts = sorted(r["t"] for r in list(self.history.records)
                    if r["f"] == "send" and r["type"] == "ok" and t_from <= r["t"] <= t_to
                    and r["partition"] == partition)
        edges = [t_from, *ts, t_to]
        return max(b - a for a, b in zip(edges, edges[1:]))


# -- the verdict and the schedules shared by the CI tier and the nightly -------

def assert_valid(run):
    """Every counter of the checker is 0."""
    r = run.result
    bad = {k: v for k, v in r["counters"].items() if v}
    assert r["valid"] and not bad, f"{run.test_id}: anomalies {bad}\n{run.report_line}"


def hard_bounce(run, kills=3):
    """R1: the leader of partition 0 is killed with SIGKILL `kills` times,
    each time restarted once ZooKeeper has dropped it and another leader
    took over, with records acknowledged between the kills."""
    for i in range(kills):
        victim = run.leader_of(0)
        run.kill(victim)
        expiry = run.wait_deregistered(victim)
        took = run.wait_leader_other_than(0, victim)
        print(f"    kill {i + 1}: broker {victim} gone from ZooKeeper after {expiry:.1f}s, "
              f"new leader {took:.1f}s later", flush=True)
        run.restart(victim)
        run.wait_acks(100, 30.0, "acks between kills")


def jepsen_2013(run, alone_s=2.0, isolated_s=4.0):
    """R4: the leader of partition 0 stops hearing its followers (they cannot
    fetch: the ISR shrinks to it alone), then is cut from everything,
    ZooKeeper included, past its session; then healed."""
    leader = run.leader_of(0)
    run.drop_inbound_from_brokers(leader)
    run.wait_isr(0, lambda isr: isr == [leader], 4 + 10, f"the ISR shrunk to leader {leader}")
    run.hold(alone_s)
    run.isolate(leader)
    run.wait_deregistered(leader)
    run.hold(isolated_s)
    run.heal_net(leader)
