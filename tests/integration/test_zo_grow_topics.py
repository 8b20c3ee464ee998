"""
Scenario zo: topics grow (issue 14, item 2).  One ZooKeeper and three brokers
(1, 2, 3) for the whole file.  The scenarios, each an operator's runbook:

  alter-topic   kbroker-admin alter-topic takes a 3-partition RF 2 topic to 12
                partitions while two librdkafka producers (one idempotent with
                acks=all, one acks=1) keep sending records without keys: the
                new partitions are laid out by Kafka's rule (partition 0's
                first replica fixes start and shift), each gets a leader and a
                full ISR, the producers spread records over all 12 partitions
                once their metadata refreshes, a consumer subscribed in a
                group rebalances onto all 12, and a consumer reads back every
                delivered record exactly once, those of the first three
                partitions at the offsets they were delivered at;
  admin errors  shrinking, the same count, an unknown topic, an unknown
                broker, a malformed assignment, a topic marked for deletion
                or under reassignment, and __consumer_offsets (its partition
                count places every group) are refused with Kafka's messages
                and exit statuses, writing nothing;
                kafka-topics' full-length --replica-assignment and a
                new-partitions-only one are both taken;
  confluent     AdminClient.create_partitions: validate_only writes nothing,
                an increase is answered once the new partitions have leaders,
                shrinking is INVALID_PARTITIONS with Kafka's message, an
                explicit assignment is written as given, an unknown topic is
                UNKNOWN_TOPIC_OR_PARTITION; a client bootstrapped on a
                non-controller only is routed to the controller;
  kafka-python  KafkaAdminClient.create_partitions: the same cases;
  raw           a non-controller answers 41 with a null message, a name
                listed twice is 42 for each entry, timeout_ms 0 answers 7
                while the partitions are added all the same, v2 (flexible)
                is answered in its layout, a request naming 500 topics is
                answered in order;
  concurrent    five requests growing one topic at once lose no partition
                (the topic znode is rewritten only at the version read).
"""
import struct
import threading
import time

import pytest

import kbharness as h

BROKERS = [1, 2, 3]
# Long sessions: the deletion and reassignment refusals pause the controller
# (so that it does not act on the markers) for one kbroker-admin run.
SESSION_MS = 18000
TIMEOUT_S = 30

NONE, UNKNOWN_TOPIC, REQUEST_TIMED_OUT, INVALID_TOPIC = 0, 3, 7, 17
INVALID_PARTITIONS, INVALID_ASSIGNMENT, NOT_CONTROLLER, INVALID_REQUEST = 37, 39, 41, 42
KAFKA_WARNING = ("WARNING: If partitions are increased for a topic that has a key, the partition logic or "
                 "ordering of the messages will be affected")


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start brokers 1, 2, 3 ({SESSION_MS} ms sessions)"):
        c.start_brokers(BROKERS, session_timeout_ms=SESSION_MS)
        c.wait_controller()
    c.bootstrap_all = ",".join(b.bootstrap for b in c.brokers.values())
    return c


# -- helpers ---------------------------------------------------------------------

def added_assignment(brokers, partition0, existing, count, rf):
    """Kafka's layout of partitions existing..count-1 added to a topic whose
    partition 0 is `partition0` (zk-and-replication.md 5, "Adding
    partitions"), as the topic znode spells it."""
    brokers = sorted(brokers)
    start = next((i for i, b in enumerate(brokers) if b >= partition0[0]), 0)
    n, shift, out = len(brokers), start, {}
    for p in range(existing, count):
        if p > 0 and p % n == 0:
            shift += 1
        first = (p + start) % n
        out[str(p)] = [brokers[first]] + [brokers[(first + 1 + (shift + j) % (n - 1)) % n] for j in range(rf - 1)]
    return out


def topic_znode(cluster, name):
    got = cluster.get_json(f"/brokers/topics/{name}")
    return got[0] if got else None


def assert_grown(cluster, name, before, count):
    """The topic znode keeps every key and old partition, and lists `count`
    partitions, the new ones laid out by Kafka's rule; returns it."""
    after = topic_znode(cluster, name)
    rf = len(before["partitions"]["0"])
    want = dict(before["partitions"])
    want.update(added_assignment(BROKERS, before["partitions"]["0"], len(before["partitions"]), count, rf))
    assert after["partitions"] == want, after
    assert {k: v for k, v in after.items() if k != "partitions"} == \
           {k: v for k, v in before.items() if k != "partitions"}, after
    return after


def wait_led(cluster, name, count):
    """Every partition has a state with a live leader and a full ISR."""
    with h.step(f"wait until all {count} partitions of {name} have a leader and a full ISR"):
        def ready():
            st = cluster.states(name)
            return st if st and len(st) == count and h.full_isr(cluster, name) and \
                all(s["leader"] in BROKERS for s in st.values()) else None
        return h.wait_until(ready, 60, f"{count} led partitions of {name} with full ISRs", interval=0.2)


def create(cluster, name, partitions, rf):
    cluster.create_topic(name, partitions, rf)
    return topic_znode(cluster, name)


def controller_broker(cluster):
    return cluster.brokers[cluster.wait_controller()]


def non_controller(cluster):
    ctl = cluster.wait_controller()
    return cluster.brokers[next(b for b in BROKERS if b != ctl)]


class Producers:
    """Producers sending records without keys in threads until stopped,
    recording every delivery report: {value: (partition, offset)} and the
    errors."""

    def __init__(self, bootstrap, topic, confs):
        self.topic = topic
        self.delivered = {}
        self.errors = []
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(bootstrap, i, conf), daemon=True)
                        for i, conf in enumerate(confs)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def run(self, bootstrap, index, conf):
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "message.timeout.ms": 120000,
                      "topic.metadata.refresh.interval.ms": 500, **conf})

        def report(err, m):
            with self.lock:
                if err is not None:
                    self.errors.append(err)
                else:
                    self.delivered[m.value()] = (m.partition(), m.offset())
        n = 0
        while not self.stop_flag.is_set():
            try:
                p.produce(self.topic, value=f"p{index}-{n}".encode(), on_delivery=report)
                n += 1
            except BufferError:
                pass
            p.poll(0.002)
        left = p.flush(120)
        with self.lock:
            if left:
                self.errors.append(f"producer {index}: {left} records undelivered at the end")

    def partitions(self):
        with self.lock:
            return {p for p, _ in self.delivered.values()}

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(180)
            assert not t.is_alive(), "a producer did not finish flushing"


class GroupConsumer:
    """A librdkafka consumer in a group, subscribed to the topic, polling
    in a thread until stopped: the partitions it has received records from
    and its errors."""

    def __init__(self, bootstrap, topic, group):
        from confluent_kafka import Consumer
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                  "auto.offset.reset": "earliest", "topic.metadata.refresh.interval.ms": 500,
                                  "session.timeout.ms": 10000})
        self.consumer.subscribe([topic])
        self.seen = set()
        self.errors = []
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def run(self):
        try:
            while not self.stop_flag.is_set():
                m = self.consumer.poll(0.2)
                if m is None:
                    continue
                with self.lock:
                    if m.error() is not None:
                        self.errors.append(m.error())
                    else:
                        self.seen.add(m.partition())
        finally:
            self.consumer.close()

    def partitions(self):
        with self.lock:
            return set(self.seen)

    def stop(self):
        self.stop_flag.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), "the group consumer did not close"


# -- alter-topic under running producers -------------------------------------------

@pytest.mark.scenario("alter-topic")
def test_alter_topic_to_12_partitions_under_running_producers(cluster):
    before = create(cluster, "grow", 3, 2)
    producers = Producers(cluster.bootstrap_all, "grow",
                          [{"enable.idempotence": True, "acks": "all"}, {"acks": 1}]).start()
    member = GroupConsumer(cluster.bootstrap_all, "grow", "zo-grow-readers").start()
    try:
        with h.step("wait until the producers have delivered to the 3 partitions"):
            h.wait_until(lambda: producers.partitions() == {0, 1, 2}, 60, "records on partitions 0, 1 and 2")
        with h.step("kbroker-admin alter-topic --topic grow --partitions 12"):
            r = cluster.admin("alter-topic", "--topic", "grow", "--partitions", 12)
        assert r.returncode == 0, r.stderr
        assert r.stdout == KAFKA_WARNING + "\nAdding partitions succeeded!\n", r.stdout
        assert_grown(cluster, "grow", before, 12)
        wait_led(cluster, "grow", 12)
        with h.step("wait until the running producers have delivered to all 12 partitions"):
            h.wait_until(lambda: producers.partitions() == set(range(12)), 120,
                         "delivery reports from every one of the 12 partitions", interval=0.2)
        with h.step("wait until the subscribed group member (after its rebalance) reads all 12 partitions"):
            h.wait_until(lambda: member.partitions() == set(range(12)), 120,
                         "records from every one of the 12 partitions in the group member", interval=0.2)
    finally:
        with h.step("stop the producers (flush) and the group member"):
            producers.stop()
            member.stop()
    assert producers.errors == [], producers.errors[:5]
    assert member.errors == [], member.errors[:5]
    with h.step(f"a consumer reads all 12 partitions ({len(producers.delivered)} records delivered)"):
        recs, _ = h.ck_consume(cluster.bootstrap_all, [("grow", p) for p in range(12)], timeout=180)
    read = {}
    for rec in recs:
        assert rec.value not in read, f"{rec.value} read twice"
        read[rec.value] = (rec.partition, rec.offset)
    assert read == producers.delivered, "every delivered record is read once, where it was delivered"
    for p in range(12):
        assert any(part == p for part, _ in read.values()), f"partition {p} holds no record"


# -- kbroker-admin alter-topic: what it refuses ---------------------------------------

def admin_refuses(cluster, status, message, *args):
    r = cluster.admin("alter-topic", *args)
    assert r.returncode == status, (r.returncode, r.stderr)
    assert r.stdout == "", r.stdout
    assert message in r.stderr, r.stderr
    return r


def test_alter_topic_refusals_write_nothing(cluster):
    before = create(cluster, "refuse", 4, 2)
    raw_before, stat = cluster.get("/brokers/topics/refuse")
    cases = [
        (5, "The number of partitions for a topic can only be increased. Topic refuse currently has 4 partitions, "
            "2 would not be an increase.", "--partitions", 2),
        (5, "The number of partitions for a topic can only be increased. Topic refuse currently has 4 partitions, "
            "4 would not be an increase.", "--partitions", 4),
        (5, "Unknown broker(s) in replica assignment: 7.", "--partitions", 5, "--replica-assignment", "1:7"),
        (5, "Increasing the number of partitions by 2 but 1 assignments provided.", "--partitions", 6,
         "--replica-assignment", "1:2"),
        (5, "Duplicate brokers not allowed in replica assignment: 2, 2 for partition id 4.", "--partitions", 5,
         "--replica-assignment", "2:2"),
        (5, "Inconsistent replication factor between partitions, partition 0 has 2 while partitions [4] have "
            "replication factors [3], respectively.", "--partitions", 5, "--replica-assignment", "1:2:3"),
        (5, "invalid replica assignment", "--partitions", 5, "--replica-assignment", "1:x"),
        (1, "is not a number", "--partitions", "many"),
    ]
    with h.step(f"{len(cases)} refused alter-topic runs on refuse (4 partitions, RF 2)"):
        for status, message, *args in cases:
            admin_refuses(cluster, status, message, "--topic", "refuse", *args)
    with h.step("an unknown topic"):
        admin_refuses(cluster, 6, "The topic 'no-such-topic' does not exist.", "--topic", "no-such-topic",
                      "--partitions", 3)
    assert cluster.get("/brokers/topics/refuse") == (raw_before, stat), "nothing was written"
    assert topic_znode(cluster, "refuse") == before


def test_alter_topic_refuses_topics_being_deleted_or_reassigned(cluster):
    """The markers are written by hand with the controller paused, so that
    it cannot act on them (delete the topic, run the reassignment) before
    kbroker-admin has read them; the controller is resumed after each run."""
    create(cluster, "busy", 2, 2)
    raw_before, stat = cluster.get("/brokers/topics/busy")
    ctl = controller_broker(cluster)
    with h.step("with /admin/delete_topics/busy: exit 10, Kafka's message"):
        with h.paused(ctl):
            cluster.zk.create("/admin/delete_topics/busy", makepath=True)
            try:
                admin_refuses(cluster, 10, "The topic is queued for deletion.", "--topic", "busy", "--partitions", 4)
            finally:
                cluster.zk.delete("/admin/delete_topics/busy")
    plan = b'{"version":1,"partitions":[{"topic":"busy","partition":1,"replicas":[3,1]}]}'
    with h.step("with busy in /admin/reassign_partitions: exit 10, Kafka's message"):
        with h.paused(ctl):
            cluster.zk.create("/admin/reassign_partitions", plan, makepath=True)
            try:
                admin_refuses(cluster, 10, "A partition reassignment is in progress for the topic 'busy'.",
                              "--topic", "busy", "--partitions", 4)
            finally:
                cluster.zk.delete("/admin/reassign_partitions")
    assert cluster.get("/brokers/topics/busy") == (raw_before, stat), "nothing was written"


def test_alter_topic_takes_kafka_topics_replica_assignments(cluster):
    before = create(cluster, "assigned-by-tool", 2, 2)
    with h.step("alter-topic to 4 with kafka-topics' form: a list for every partition, existing ones first"):
        r = cluster.admin("alter-topic", "--topic", "assigned-by-tool", "--partitions", 4,
                          "--replica-assignment", "9:9,9:9,3:1,2:3")
    assert r.returncode == 0, r.stderr
    with h.step("alter-topic to 5 with the new partition only, JSON output"):
        r = cluster.admin("--output", "json", "alter-topic", "--topic", "assigned-by-tool", "--partitions", 5,
                          "--replica-assignment", "1:3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '{"topic":"assigned-by-tool","partitions":5,"added":{"4":[1,3]}}', r.stdout
    got = topic_znode(cluster, "assigned-by-tool")["partitions"]
    assert got == {**before["partitions"], "2": [3, 1], "3": [2, 3], "4": [1, 3]}, got
    wait_led(cluster, "assigned-by-tool", 5)


def test_alter_topic_refuses_internal_topics(cluster):
    with h.step("FindCoordinator until __consumer_offsets exists and coordinates a group"):
        h.wait_coordinator(cluster, "zo-group")
    raw_before, stat = cluster.get("/brokers/topics/__consumer_offsets")
    with h.step("alter-topic __consumer_offsets: exit 5, kafka-topics' reason"):
        admin_refuses(cluster, 5, "The number of partitions for the internal topic __consumer_offsets "
                      "cannot be changed", "--topic", "__consumer_offsets", "--partitions", 60)
    assert cluster.get("/brokers/topics/__consumer_offsets") == (raw_before, stat), "nothing was written"


# -- CreatePartitions through the clients ---------------------------------------

def ck_admin(bootstrap):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 30000})


def ck_grow(admin, new_partitions, **kw):
    """AdminClient.create_partitions, waiting for every result: {name: None or KafkaException}."""
    futures = admin.create_partitions(new_partitions, operation_timeout=TIMEOUT_S,
                                      request_timeout=TIMEOUT_S + 15, **kw)
    out = {}
    for name, f in futures.items():
        try:
            out[name] = f.result(timeout=TIMEOUT_S + 30)
        except Exception as e:  # noqa: BLE001 - the KafkaException is the answer
            out[name] = e
    return out


def leaders_in_metadata(broker, topic):
    t = h.kcat_view(h.kcat_metadata(broker.bootstrap))["topics"].get(topic)
    return None if t is None else {p: x[0] for p, x in t["partitions"].items()}


@pytest.mark.scenario("confluent")
def test_confluent_admin_create_partitions(cluster):
    from confluent_kafka.admin import NewPartitions
    before = create(cluster, "ck-grow", 2, 2)
    other = non_controller(cluster)
    admin = ck_admin(other.bootstrap)  # routed to the controller through Metadata's controller_id
    with h.step(f"create_partitions(ck-grow, 4, validate_only) bootstrapped on broker {other.id} only"):
        got = ck_grow(admin, [NewPartitions("ck-grow", 4)], validate_only=True)
    assert got == {"ck-grow": None}, got
    assert topic_znode(cluster, "ck-grow") == before, "validate_only writes nothing"
    with h.step("create_partitions(ck-grow, 4)"):
        got = ck_grow(admin, [NewPartitions("ck-grow", 4)])
    assert got == {"ck-grow": None}, got
    grown = assert_grown(cluster, "ck-grow", before, 4)
    # Answered once the new partitions had leaders in the controller's metadata.
    leaders = leaders_in_metadata(controller_broker(cluster), "ck-grow")
    assert sorted(leaders) == [0, 1, 2, 3] and all(leaders[p] in BROKERS for p in (2, 3)), leaders
    with h.step("create_partitions(ck-grow, 3): shrinking is refused"):
        got = ck_grow(admin, [NewPartitions("ck-grow", 3)])
    err = got["ck-grow"].args[0]
    assert err.code() == INVALID_PARTITIONS, err
    assert "Topic currently has 4 partitions, which is higher than the requested 3." in err.str(), err.str()
    with h.step("create_partitions(ck-grow, 6, replica_assignment=[[3, 1], [2, 3]])"):
        got = ck_grow(admin, [NewPartitions("ck-grow", 6, replica_assignment=[[3, 1], [2, 3]])])
    assert got == {"ck-grow": None}, got
    assert topic_znode(cluster, "ck-grow")["partitions"] == {**grown["partitions"], "4": [3, 1], "5": [2, 3]}
    with h.step("create_partitions(ck-missing, 2): unknown topic"):
        got = ck_grow(admin, [NewPartitions("ck-missing", 2)])
    assert got["ck-missing"].args[0].code() == UNKNOWN_TOPIC, got
    wait_led(cluster, "ck-grow", 6)


@pytest.mark.scenario("kafka-python")
def test_kafka_python_admin_create_partitions(cluster):
    import logging
    from kafka.admin import KafkaAdminClient, NewPartitions
    from kafka.errors import InvalidPartitionsError, InvalidReplicationAssignmentError, UnknownTopicOrPartitionError
    logging.getLogger("kafka").setLevel(logging.ERROR)
    before = create(cluster, "kp-grow", 1, 1)
    other = non_controller(cluster)
    ka = KafkaAdminClient(bootstrap_servers=[other.bootstrap], api_version_auto_timeout_ms=15000,
                          request_timeout_ms=(TIMEOUT_S + 15) * 1000)
    try:
        with h.step("KafkaAdminClient.create_partitions(kp-grow: 3, validate_only)"):
            resp = ka.create_partitions({"kp-grow": NewPartitions(3)}, timeout_ms=TIMEOUT_S * 1000,
                                        validate_only=True)
        assert [(t, e) for t, e, *_ in resp.topic_errors] == [("kp-grow", NONE)], resp
        assert topic_znode(cluster, "kp-grow") == before
        with h.step("KafkaAdminClient.create_partitions(kp-grow: 3)"):
            resp = ka.create_partitions({"kp-grow": NewPartitions(3)}, timeout_ms=TIMEOUT_S * 1000)
        assert [(t, e) for t, e, *_ in resp.topic_errors] == [("kp-grow", NONE)], resp
        grown = assert_grown(cluster, "kp-grow", before, 3)
        with h.step("shrinking to 2, an assignment naming broker 9, an unknown topic: refused"):
            with pytest.raises(InvalidPartitionsError) as e:
                ka.create_partitions({"kp-grow": NewPartitions(2)}, timeout_ms=TIMEOUT_S * 1000)
            assert "Topic currently has 3 partitions, which is higher than the requested 2." in str(e.value)
            with pytest.raises(InvalidReplicationAssignmentError):
                ka.create_partitions({"kp-grow": NewPartitions(4, [[9]])}, timeout_ms=TIMEOUT_S * 1000)
            with pytest.raises(UnknownTopicOrPartitionError):
                ka.create_partitions({"kp-missing": NewPartitions(4)}, timeout_ms=TIMEOUT_S * 1000)
        with h.step("KafkaAdminClient.create_partitions(kp-grow: 5, [[2], [3]])"):
            resp = ka.create_partitions({"kp-grow": NewPartitions(5, [[2], [3]])}, timeout_ms=TIMEOUT_S * 1000)
        assert [(t, e) for t, e, *_ in resp.topic_errors] == [("kp-grow", NONE)], resp
    finally:
        ka.close()
    assert topic_znode(cluster, "kp-grow")["partitions"] == {**grown["partitions"], "3": [2], "4": [3]}
    wait_led(cluster, "kp-grow", 5)


# -- raw CreatePartitions (wire-protocol.md 4.8) ------------------------------------

def _str(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _uvarint(n):
    out = b""
    while True:
        if n < 0x80:
            return out + bytes([n])
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7


def create_partitions_body(topics, timeout_ms=TIMEOUT_S * 1000, validate_only=False, version=1):
    """topics: [(name, count, None or [[broker ids]])]."""
    flex = version >= 2
    arr = (lambda n: _uvarint(n + 1)) if flex else (lambda n: struct.pack(">i", n))
    string = (lambda s: _uvarint(len(s.encode()) + 1) + s.encode()) if flex else _str
    tags = b"\x00" if flex else b""
    body = arr(len(topics))
    for name, count, assignments in topics:
        body += string(name) + struct.pack(">i", count)
        if assignments is None:
            body += b"\x00" if flex else struct.pack(">i", -1)
        else:
            body += arr(len(assignments))
            for ids in assignments:
                body += arr(len(ids)) + b"".join(struct.pack(">i", i) for i in ids) + tags
        body += tags
    return body + struct.pack(">i?", timeout_ms, validate_only) + tags


def _read_uvarint(buf, pos):
    n = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return n, pos


def parse_create_partitions_response(frame, version=1):
    """[(name, error code, error message)] of a CreatePartitions response frame."""
    flex = version >= 2
    pos = 8 + (1 if flex else 0) + 4  # size, correlation id, (header tags), throttle_time_ms
    if flex:
        n, pos = _read_uvarint(frame, pos)
        n -= 1
    else:
        (n,) = struct.unpack_from(">i", frame, pos)
        pos += 4
    out = []
    for _ in range(n):
        if flex:
            ln, pos = _read_uvarint(frame, pos)
            name, pos = frame[pos:pos + ln - 1].decode(), pos + ln - 1
        else:
            (ln,) = struct.unpack_from(">h", frame, pos)
            name, pos = frame[pos + 2:pos + 2 + ln].decode(), pos + 2 + ln
        (err,) = struct.unpack_from(">h", frame, pos)
        pos += 2
        if flex:
            ln, pos = _read_uvarint(frame, pos)
            msg, pos = (None, pos) if ln == 0 else (frame[pos:pos + ln - 1].decode(), pos + ln - 1)
            assert frame[pos] == 0, "no tagged fields"
            pos += 1
        else:
            (ln,) = struct.unpack_from(">h", frame, pos)
            msg, pos = (None, pos + 2) if ln < 0 else (frame[pos + 2:pos + 2 + ln].decode(), pos + 2 + ln)
        out.append((name, err, msg))
    if flex:
        assert frame[pos] == 0, "no tagged fields"
        pos += 1
    assert pos == len(frame), "trailing bytes after the CreatePartitions response"
    return out


def create_partitions(broker, topics, version=1, **kw):
    s = h.connect(broker.port, timeout=TIMEOUT_S + 15)
    try:
        s.sendall(h.kafka_request(37, version, 21, create_partitions_body(topics, version=version, **kw),
                                  flexible_header=version >= 2))
        return parse_create_partitions_response(h.recv_frame(s), version)
    finally:
        s.close()


@pytest.mark.scenario("raw")
def test_raw_create_partitions_answers(cluster):
    create(cluster, "raw-grow", 1, 2)
    other = non_controller(cluster)
    with h.step(f"CreatePartitions v1 to broker {other.id}, not the controller: 41, null message"):
        got = create_partitions(other, [("raw-grow", 2, None), ("anything", 2, None)])
    assert got == [("raw-grow", NOT_CONTROLLER, None), ("anything", NOT_CONTROLLER, None)], got
    assert len(topic_znode(cluster, "raw-grow")["partitions"]) == 1
    ctl = controller_broker(cluster)
    with h.step("a name listed twice, an unknown and an illegal name, an empty assignment list, then a good one"):
        got = create_partitions(ctl, [("raw-grow", 3, None), ("raw-missing", 2, None), ("raw-grow", 4, None),
                                      ("bad name!", 2, None), ("raw-empty-list", 2, [])])
    assert [(n, e) for n, e, _ in got] == [("raw-grow", INVALID_REQUEST), ("raw-missing", UNKNOWN_TOPIC),
                                           ("raw-grow", INVALID_REQUEST), ("bad name!", UNKNOWN_TOPIC),
                                           ("raw-empty-list", UNKNOWN_TOPIC)], got
    assert got[0][2] == "Duplicate topic in request." and got[1][2] == "The topic 'raw-missing' does not exist."
    assert len(topic_znode(cluster, "raw-grow")["partitions"]) == 1
    with h.step("an explicit but empty assignment list for 1 new partition: 39"):
        got = create_partitions(ctl, [("raw-grow", 2, [])])
    assert got == [("raw-grow", INVALID_ASSIGNMENT,
                    "Increasing the number of partitions by 1 but 0 assignments provided.")], got
    with h.step("timeout_ms 0: answered 7, the partition is added all the same"):
        got = create_partitions(ctl, [("raw-grow", 2, None)], timeout_ms=0)
    assert [(n, e) for n, e, _ in got] == [("raw-grow", REQUEST_TIMED_OUT)], got
    wait_led(cluster, "raw-grow", 2)
    with h.step("v2 (flexible): grow to 3, then an unknown topic"):
        got = create_partitions(ctl, [("raw-grow", 3, [[3, 1]]), ("raw-missing", 2, None)], version=2)
    assert got == [("raw-grow", NONE, None), ("raw-missing", UNKNOWN_TOPIC,
                                               "The topic 'raw-missing' does not exist.")], got
    assert topic_znode(cluster, "raw-grow")["partitions"]["2"] == [3, 1]
    with h.step("v0: grow to 4 and wait for its leader"):
        got = create_partitions(ctl, [("raw-grow", 4, None)], version=0)
    assert got == [("raw-grow", NONE, None)], got
    leaders = leaders_in_metadata(ctl, "raw-grow")
    assert sorted(leaders) == [0, 1, 2, 3] and leaders[3] in BROKERS, leaders


def test_raw_request_listing_many_topics_is_answered_in_order(cluster):
    """ZooKeeper sees a window of rounds at a time, not one per topic at once."""
    create(cluster, "raw-many", 1, 1)
    ctl = controller_broker(cluster)
    topics = [(f"missing-{i}", 2, None) for i in range(500)]
    topics.insert(250, ("raw-many", 2, None))
    with h.step("one CreatePartitions v1 naming 500 unknown topics and raw-many"):
        got = create_partitions(ctl, topics)
    assert [n for n, _, _ in got] == [n for n, _, _ in topics], "one result per topic, in request order"
    assert got[250] == ("raw-many", NONE, None), got[250]
    assert all(e == UNKNOWN_TOPIC for n, e, _ in got if n != "raw-many")
    assert len(topic_znode(cluster, "raw-many")["partitions"]) == 2


def test_concurrent_requests_for_one_topic_lose_no_partition(cluster):
    """Five CreatePartitions for one topic at once (to 2, 3, ... 6
    partitions), each on its own connection: their rounds interleave, and
    a rewrite based on a stale read would drop the partitions another
    request added.  The rewrite is conditional on the version read, so each
    request is answered 0 or, when a larger count got there first, 37, and
    the topic ends with 6 partitions: exactly the chain of the successful
    requests, in ascending order (a request can only succeed above the
    count before it), each adding its partitions by Kafka's rule."""
    before = create(cluster, "raced", 1, 2)
    ctl = controller_broker(cluster)
    socks = [h.connect(ctl.port, timeout=TIMEOUT_S + 15) for _ in range(5)]
    try:
        with h.step("five CreatePartitions v1 for raced (to 2..6) sent at once on five connections"):
            frames = [h.kafka_request(37, 1, 40 + i, create_partitions_body([("raced", 2 + i, None)]))
                      for i in range(5)]
            for s, f in zip(socks, frames):
                s.sendall(f)
            got = [parse_create_partitions_response(h.recv_frame(s)) for s in socks]
    finally:
        for s in socks:
            s.close()
    assert got[4] == [("raced", NONE, None)], got
    for answer in got[:4]:
        assert answer[0][1] in (NONE, INVALID_PARTITIONS), got
    want, count = dict(before["partitions"]), 1
    for i, answer in enumerate(got):
        if answer[0][1] == NONE:
            want.update(added_assignment(BROKERS, want["0"], count, 2 + i, 2))
            count = 2 + i
    assert topic_znode(cluster, "raced")["partitions"] == want, got
    wait_led(cluster, "raced", 6)
