"""
workload - the chaos tier's clients and their history (reliability-tests.md
section 6.1): every operation any client performs is one JSON line, in the
format tests/chaos/kbcheck.py documents and checks.

    Producer      confluent-kafka, acks=all, idempotent, unique integer values
                  (value v goes to partition v % partitions), paced to a rate
    Tailers       assign-mode consumers from the beginning, one per group of
                  partitions: no rebalances, so any skip or rewind is an error
    Lister        ListOffsets(latest) for every partition at 5 Hz
    ZkSampler     /controller, /controller_epoch, /brokers/ids, the topic's
                  assignment and every partition state (with its znode
                  version) every 250 ms
    drain()       after the heal, a fresh consumer reads every partition from
                  the beginning to the end of the log

Each runs in a thread of the test process (librdkafka and kazoo release the
GIL while they wait); stop() ends them and waits for each, bounded.
"""
import json
import logging
import os
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, libversion,
                             TopicPartition)
from kazoo.exceptions import NoNodeError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import kbharness as h  # noqa: E402


class History:
    """The run's history: appended to by every thread, written as JSONL."""

    def __init__(self, path):
        self.path = path
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.file = open(path, "w", buffering=1 << 16)
        self.records = []
        # librdkafka's own log lines (disconnects, retries) go to a file
        # beside the history, not to the test's output.
        self.logger = logging.getLogger(f"chaos-clients-{path}")
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.log_handler = logging.FileHandler(Path(path).with_name("clients.log"), mode="w")
        self.log_handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        self.logger.addHandler(self.log_handler)

    def now(self):
        return round(time.monotonic() - self.t0, 4)

    def add(self, proc, type_, f, t=None, **fields):
        """One line; t (default: now) lets an observation that takes time
        carry the moment it began."""
        rec = {"t": self.now() if t is None else t, "proc": proc, "type": type_, "f": f, **fields}
        line = json.dumps(rec, separators=(",", ":"))
        with self.lock:
            self.records.append(rec)
            self.file.write(line + "\n")
        return rec

    def fault(self, what):
        print(f"    [{self.now():7.2f}s] fault: {what}", flush=True)
        return self.add("nemesis", "info", "fault", value=what)

    def heal(self, what):
        print(f"    [{self.now():7.2f}s] heal: {what}", flush=True)
        return self.add("nemesis", "info", "heal", value=what)

    def exit(self, name, rc, expected):
        return self.add("harness", "info", "exit", value=name, rc=rc, expected=expected)

    def close(self):
        with self.lock:
            self.file.close()
        self.logger.removeHandler(self.log_handler)
        self.log_handler.close()


class Worker(threading.Thread):
    """A client loop that runs until stop() (bounded wait for its end)."""

    def __init__(self, name):
        super().__init__(name=name, daemon=True)
        self.halt = threading.Event()
        self.error = None

    def run(self):
        try:
            self.loop()
        except Exception as e:  # noqa: BLE001 - reported by stop()
            self.error = e
            self.h.add(self.name, "info", "worker_error", error=traceback.format_exc()[-600:])

    def stop(self, timeout=60.0):
        self.halt.set()
        self.join(timeout)
        if self.is_alive():
            raise RuntimeError(f"{self.name} did not stop within {timeout}s")
        if self.error is not None:
            raise RuntimeError(f"{self.name} failed: {self.error!r}") from self.error


# Errors after which a record certainly was not written; every other error
# leaves it indeterminate ("info": it may or may not appear).
# (A purged queue is not one of them: it may hold retried records that a
# broker did write.)
DEFINITE_FAILURES = {KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_RECORD,
                     KafkaError.RECORD_LIST_TOO_LARGE}


class ProducerWorker(Worker):
    def __init__(self, history, bootstrap, topic, partitions, rate=200, conf=None):
        super().__init__("producer")
        self.h = history
        self.topic = topic
        self.partitions = partitions
        self.rate = rate
        # request.timeout.ms (how long a broker may hold an acks=all produce
        # waiting for its ISR, then answers REQUEST_TIMED_OUT, which is
        # retried under the same sequence numbers and deduplicated) stays
        # below socket.timeout.ms: past that librdkafka gives the request up
        # as lost, bumps its producer epoch and sends the records again under
        # new sequence numbers, twice in the log if the first copy was
        # appended.  With librdkafka's 30 s default against 10 s, N1 saw
        # 1000-record batches twice (epoch 4 and epoch 5, sequence 0).
        self.conf = {
            "bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
            "max.in.flight.requests.per.connection": 5, "message.timeout.ms": 30000,
            "linger.ms": 5, "retry.backoff.ms": 100, "socket.timeout.ms": 10000,
            "request.timeout.ms": 5000, "topic.metadata.refresh.interval.ms": 2000,
        }
        self.conf.update(conf or {})
        # KB_CHAOS_PRODUCER_DEBUG=eos,msg (librdkafka's debug contexts) puts
        # the producer's own account of its sequences into clients.log.
        if os.environ.get("KB_CHAOS_PRODUCER_DEBUG"):
            self.conf["debug"] = os.environ["KB_CHAOS_PRODUCER_DEBUG"]
        self.conf["error_cb"] = self.client_error
        self.conf["logger"] = history.logger
        self.acked = 0
        self.client = None
        self.fatal_seen = threading.Event()

    def client_error(self, err):
        """librdkafka's error callback: an idempotent producer that hit a
        fatal error (e.g. a sequence gap after lost records) accepts nothing
        more."""
        if err.fatal():
            self.fatal_seen.set()
            self.h.add("producer", "info", "producer_fatal", error=f"{err.name()}: {err.str()}",
                       librdkafka=libversion()[0])

    def delivered(self, err, msg):
        v = int(msg.value())
        p = msg.partition()
        if err is None:
            # librdkafka reports some deliveries without an offset (None),
            # e.g. a retried batch the broker already had: -1, unknown.
            offset = msg.offset()
            self.acked += 1
            self.h.add("producer", "ok", "send", partition=p, value=v,
                       offset=offset if offset is not None and offset >= 0 else -1)
        else:
            kind = "fail" if err.code() in DEFINITE_FAILURES else "info"
            self.h.add("producer", kind, "send", partition=p, value=v, error=err.name())

    def loop(self):
        self.client = Producer(self.conf)
        for v in paced_values(self.halt, self.rate, self.poll_quietly):
            p = v % self.partitions
            self.h.add("producer", "invoke", "send", partition=p, value=v)
            try:
                self.client.produce(self.topic, str(v).encode(), partition=p, on_delivery=self.delivered)
            except Exception as e:  # noqa: BLE001 - queue full, or the producer is fenced
                self.h.add("producer", "fail", "send", partition=p, value=v, error=repr(e)[:120])
            if self.fatal_seen.is_set():
                # A new producer (a new producer id) goes on; the dead one's
                # records that get no report stay indeterminate.
                self.fatal_seen.clear()
                self.flush_quietly(self.client, 5)
                self.client = Producer(self.conf)
        # Everything still queued gets its delivery report before the end.
        remaining = self.flush_quietly(self.client, 45)
        if remaining:
            self.h.add("producer", "info", "producer_flush", error=f"{remaining} undelivered at stop")
        # The last reference: librdkafka's producer is destroyed now, not
        # whenever the garbage collector gets to it (until then it keeps
        # asking for metadata, also from the next test's cluster).
        self.client = None

    def poll_quietly(self, seconds):
        """The pacer's idle time: serves the current producer's delivery
        reports (and its fatal error, which surfaces here too)."""
        try:
            self.client.poll(seconds)
        except KafkaException as e:
            self.note_fatal(e)

    def flush_quietly(self, producer, timeout):
        try:
            return producer.flush(timeout)
        except KafkaException as e:
            self.note_fatal(e)
            return len(producer)

    def note_fatal(self, e):
        self.fatal_seen.set()
        self.h.add("producer", "info", "producer_fatal", error=repr(e)[:1000], librdkafka=libversion()[0])


class KafkaPythonProducer(Worker):
    """N8's kafka-python 2.0.2 producer: acks=all without retries (it has no
    idempotence, so a retry could write a record twice); every error leaves
    the record indeterminate."""

    def __init__(self, history, bootstrap, topic, partitions, rate=200):
        super().__init__("producer")
        self.h = history
        self.topic = topic
        self.partitions = partitions
        self.rate = rate
        self.bootstrap = bootstrap.split(",")
        self.acked = 0

    def loop(self):
        from kafka import KafkaProducer
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all", retries=0,
                                 linger_ms=5, request_timeout_ms=10000, max_block_ms=10000,
                                 api_version_auto_timeout_ms=15000)
        for v in paced_values(self.halt, self.rate):
            p = v % self.partitions
            self.h.add("producer", "invoke", "send", partition=p, value=v)
            try:
                fut = producer.send(self.topic, str(v).encode(), partition=p)
            except Exception as e:  # noqa: BLE001 - buffer full or metadata timeout
                self.h.add("producer", "fail", "send", partition=p, value=v, error=repr(e)[:120])
                continue
            fut.add_callback(self.ok, v, p)
            fut.add_errback(self.failed, v, p)
        producer.flush(45)
        producer.close(10)

    def ok(self, v, p, md):
        self.acked += 1
        self.h.add("producer", "ok", "send", partition=p, value=v, offset=md.offset)

    def failed(self, v, p, exc):
        self.h.add("producer", "info", "send", partition=p, value=v, error=repr(exc)[:120])


class KcatProducer(Worker):
    """N8's kcat producer (-X acks=all, idempotent): one kcat run per batch of
    values for one partition.  kcat reports no offsets, so an ok here has
    offset -1, unknown (the checker then judges it by the drain alone): exit status
    0 = every record of the batch acknowledged, anything else = each
    indeterminate."""

    def __init__(self, history, bootstrap, topic, partitions, rate=200, batch=20):
        super().__init__("producer")
        self.h = history
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = partitions
        self.rate = rate
        self.batch = batch
        self.acked = 0

    def loop(self):
        pending = {p: [] for p in range(self.partitions)}
        for v in paced_values(self.halt, self.rate):
            p = v % self.partitions
            self.h.add("producer", "invoke", "send", partition=p, value=v)
            pending[p].append(v)
            if len(pending[p]) >= self.batch:
                self.send_batch(p, pending[p])
                pending[p] = []
        for p, values in pending.items():
            if values:
                self.send_batch(p, values)

    def send_batch(self, p, values):
        argv = [h.KCAT_BIN, "-P", "-b", self.bootstrap, "-t", self.topic, "-p", str(p),
                "-X", "acks=all", "-X", "enable.idempotence=true", "-X", "message.timeout.ms=30000"]
        data = "".join(f"{v}\n" for v in values)
        try:
            r = subprocess.run(argv, input=data, capture_output=True, text=True, timeout=60)
            rc, err = r.returncode, r.stderr.strip()[-120:]
        except subprocess.TimeoutExpired:
            rc, err = None, "kcat timed out"
        for v in values:
            if rc == 0:
                self.acked += 1
                self.h.add("producer", "ok", "send", partition=p, value=v, offset=-1)
            else:
                self.h.add("producer", "info", "send", partition=p, value=v, error=f"kcat {rc}: {err}")


def paced_values(halt, rate, idle=None):
    """Yields 0, 1, 2, ... at `rate` per second until halt is set, calling
    idle(seconds) (or waiting) in between; after a stall it does not burst
    by more than a second's worth to catch up."""
    interval = 1.0 / rate
    due = time.monotonic()
    v = 0
    while not halt.is_set():
        now = time.monotonic()
        if now < due:
            (idle or halt.wait)(min(due - now, 0.05))
            continue
        due = max(due + interval, now - 1.0)
        yield v
        v += 1


class TailingConsumer(Worker):
    """Reads its partitions from the beginning for the whole run, assign mode."""

    def __init__(self, history, name, bootstrap, topic, partitions):
        super().__init__(name)
        self.h = history
        self.topic = topic
        self.partitions = list(partitions)
        self.conf = {
            "bootstrap.servers": bootstrap, "group.id": f"chaos-{name}", "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100, "socket.timeout.ms": 10000,
            "topic.metadata.refresh.interval.ms": 2000, "isolation.level": "read_uncommitted",
            "logger": history.logger,
        }
        self.records = 0

    def loop(self):
        c = Consumer(self.conf)
        try:
            c.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in self.partitions])
            while not self.halt.is_set():
                for m in c.consume(num_messages=500, timeout=0.2):
                    self.record(m)
        finally:
            c.close()

    def record(self, m):
        if m.error():
            self.h.add(self.name, "info", "poll", partition=m.partition(), error=m.error().name())
            return
        self.records += 1
        self.h.add(self.name, "ok", "poll", partition=m.partition(), offset=m.offset(),
                   **value_fields(m.value()))


def value_fields(raw):
    """The record's integer value, or null with the raw bytes: only plain
    ASCII digits count (int() would also take spaces, '+' and '_')."""
    if isinstance(raw, bytes) and raw.isdigit():
        return {"value": int(raw)}
    return {"value": None, "raw": repr(raw)[:80]}


class Lister(Worker):
    """ListOffsets(latest) v1 for every partition, every 200 ms, sent to the
    broker ZooKeeper's last sample names as its leader (one request per
    leader, answers within 1 s).  Raw requests, because librdkafka's
    watermark query was seen blocking 20 s past its timeout on
    NOT_LEADER_FOR_PARTITION, which would leave the fault window unsampled."""

    def __init__(self, history, brokers, topic, partitions, sampler):
        super().__init__("lister")
        self.h = history
        self.brokers = {b.id: b for b in brokers}
        self.topic = topic
        self.partitions = partitions
        self.sampler = sampler
        self.next_id = 0
        self.answered_at = {}  # partition -> monotonic time of its last answered request

    def loop(self):
        while not self.halt.wait(0.2):
            by_leader = {}
            sample = self.sampler.last or {}
            for p in range(self.partitions):
                leader = sample.get("partitions", {}).get(str(p), {}).get("leader", -1)
                if leader in self.brokers:
                    by_leader.setdefault(leader, []).append(p)
            for leader, parts in by_leader.items():
                self.list_at(leader, parts)

    def list_at(self, leader, parts):
        ids = {}
        for p in parts:
            self.next_id += 1
            ids[p] = self.next_id
            self.h.add("lister", "invoke", "list", id=ids[p], partition=p, broker=leader)
        try:
            got = h.list_offsets(self.brokers[leader], self.topic, parts, timeout=1.0)
        except Exception as e:  # noqa: BLE001 - no answer within the bound
            for p in parts:
                self.h.add("lister", "info", "list", id=ids[p], partition=p, error=repr(e)[:120])
            return
        for p in parts:
            err, _, offset = got.get(p, (-1, -1, -1))
            if err == 0:
                self.h.add("lister", "ok", "list", id=ids[p], partition=p, offset=offset)
                self.answered_at[p] = time.monotonic()
            else:
                self.h.add("lister", "fail", "list", id=ids[p], partition=p, error=f"error {err}")


class ZkSampler(Worker):
    """What ZooKeeper says about the cluster, every 250 ms."""

    def __init__(self, history, zk, topic):
        super().__init__("zk")
        self.h = history
        self.zk = zk
        self.topic = topic
        self.last = None

    def loop(self):
        while not self.halt.wait(0.25):
            # Stamped with the time the reads begin: the state they show was
            # current at or after it (the checker relies on that).
            t = self.h.now()
            try:
                self.last = self.sample()
                self.h.add("zk", "ok", "zk", t=t, **self.last)
            except Exception as e:  # noqa: BLE001 - ZooKeeper unreachable: no sample
                self.h.add("zk", "info", "zk", error=repr(e)[:120])

    def read_json(self, path):
        try:
            data, stat = self.zk.get(path)
        except NoNodeError:
            return None, None
        return json.loads(data), stat

    def sample(self):
        # With an ensemble, the server this client reads from may lag the
        # leader: sync first.
        self.zk.sync("/")
        ctl, _ = self.read_json("/controller")
        epoch, _ = self.read_json("/controller_epoch")
        ids = sorted(int(i) for i in self.zk.get_children("/brokers/ids"))
        assignment, _ = self.read_json(f"/brokers/topics/{self.topic}")
        replicas = (assignment or {}).get("partitions", {})
        states = {}
        for p in replicas:
            st, stat = self.read_json(f"/brokers/topics/{self.topic}/partitions/{p}/state")
            if st is not None:
                states[p] = {"leader": st["leader"], "leader_epoch": st["leader_epoch"],
                             "isr": st["isr"], "version": stat.version}
        return {"controller": ctl["brokerid"] if ctl else None, "controller_epoch": epoch,
                "brokers": ids, "replicas": replicas, "partitions": states}


def drain(history, bootstrap, topic, partitions, timeout=60.0):
    """Reads every partition from the beginning until it has passed the highest
    acknowledged offset and reached the end of the log (no producer runs any
    more, so the end stands still).  Logs every record and one drain_end per
    partition; returns {partition: next offset}."""
    acked = highest_acked(history, partitions)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "chaos-drain",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "fetch.wait.max.ms": 100, "enable.partition.eof": True, "check.crcs": True,
                  "logger": history.logger})
    nxt = {p: 0 for p in range(partitions)}
    at_end = {p: False for p in range(partitions)}
    deadline = time.monotonic() + timeout
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        while time.monotonic() < deadline and not all(
                at_end[p] and nxt[p] > acked[p] for p in range(partitions)):
            for m in c.consume(num_messages=1000, timeout=0.5):
                p = m.partition()
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        at_end[p] = True
                        nxt[p] = max(nxt[p], m.offset())
                    else:  # e.g. _BAD_MSG: a batch failed its CRC and was skipped
                        history.add("drain", "fail", "drain", partition=p, error=m.error().name())
                    continue
                at_end[p] = False
                nxt[p] = m.offset() + 1
                history.add("drain", "ok", "drain", partition=p, offset=m.offset(),
                            **value_fields(m.value()))
            if all(at_end.values()) and not all(nxt[p] > acked[p] for p in range(partitions)):
                # The log ends below an acknowledged offset: records were lost
                # (or the end is not readable yet).  Give the leader a moment
                # longer, then stop: the end of the log is the answer.
                if time.monotonic() > deadline - timeout / 2:
                    break
    finally:
        c.close()
    for p in range(partitions):
        history.add("drain", "info", "drain_end", partition=p, offset=nxt[p], complete=at_end[p])
    return nxt


def highest_acked(history, partitions):
    top = {p: -1 for p in range(partitions)}
    for r in list(history.records):
        if r["f"] == "send" and r["type"] == "ok":
            top[r["partition"]] = max(top[r["partition"]], r["offset"])
    return top
