"""
Scenario l: clients create topics.  On a 3-broker cluster (num.partitions=3,
default.replication.factor=2) confluent-kafka's AdminClient and
kafka-python's KafkaAdminClient create topics through CreateTopics: plain,
with configs, with an explicit replica assignment, and validate-only (which
creates nothing).  The znodes they leave are exactly what
kbroker-admin create-topic writes (topic znode v2 with empty
adding/removing lists, config znode {"version":1,"config":{...}}), and the
request is answered only once every new partition has a leader.  Every kind
of bad request gets its Kafka error code, a non-controller answers 41 for
every topic, and timeout_ms 0 answers 7 while the creation goes on.

Auto-creation: a Metadata request for an unknown topic (a librdkafka
list_topics(topic=...), kafka-python's KafkaProducer.partitions_for) creates it with
the broker defaults and is answered 5 LEADER_NOT_AVAILABLE until its leaders
exist; a Metadata v4 request that does not allow auto-creation, or a broker
with auto.create.topics.enable=false, leaves it uncreated.
"""
import json
import struct

import pytest

import kbharness as h

BROKERS = [1, 2, 3]
DEFAULTS = {"num.partitions": 3, "default.replication.factor": 2}
TIMEOUT_S = 30

NONE, REQUEST_TIMED_OUT, LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC = 0, 7, 5, 3
INVALID_TOPIC, TOPIC_EXISTS, INVALID_PARTITIONS, INVALID_RF = 17, 36, 37, 38
INVALID_ASSIGNMENT, INVALID_CONFIG, NOT_CONTROLLER, INVALID_REQUEST = 39, 40, 41, 42


# -- raw CreateTopics and Metadata (wire-protocol.md 4.6, 4.2) -------------------

def _str(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def _nullable_str(s):
    return b"\xff\xff" if s is None else _str(s)


def create_topics_body(topics, timeout_ms=TIMEOUT_S * 1000, validate_only=False, version=4):
    """topics: [(name, partitions, rf, [(index, [broker ids])], [(key, value or None)])]."""
    body = struct.pack(">i", len(topics))
    for name, partitions, rf, assignments, configs in topics:
        body += _str(name) + struct.pack(">ih", partitions, rf)
        body += struct.pack(">i", len(assignments))
        for index, ids in assignments:
            body += struct.pack(">ii", index, len(ids)) + b"".join(struct.pack(">i", i) for i in ids)
        body += struct.pack(">i", len(configs))
        for key, value in configs:
            body += _str(key) + _nullable_str(value)
    body += struct.pack(">i", timeout_ms)
    if version >= 1:
        body += struct.pack(">?", validate_only)
    return body


def _read_str(buf, pos):
    n = struct.unpack_from(">h", buf, pos)[0]
    pos += 2
    if n < 0:
        return None, pos
    return buf[pos:pos + n].decode(), pos + n


def parse_create_topics_response(frame, version=4):
    """[(name, error code, error message)] of a CreateTopics response frame."""
    pos = 8  # size, correlation id
    if version >= 2:
        pos += 4  # throttle_time_ms
    n = struct.unpack_from(">i", frame, pos)[0]
    pos += 4
    out = []
    for _ in range(n):
        name, pos = _read_str(frame, pos)
        err = struct.unpack_from(">h", frame, pos)[0]
        pos += 2
        msg = None
        if version >= 1:
            msg, pos = _read_str(frame, pos)
        out.append((name, err, msg))
    assert pos == len(frame), "trailing bytes after the CreateTopics response"
    return out


def create_topics(broker, topics, version=4, **kw):
    s = h.connect(broker.port, timeout=TIMEOUT_S + 15)
    try:
        s.sendall(h.kafka_request(19, version, 11, create_topics_body(topics, version=version, **kw)))
        return parse_create_topics_response(h.recv_frame(s), version)
    finally:
        s.close()


def metadata_frame(broker, names, version=4, allow_auto_create=True, timeout=10.0):
    """The response frame of a raw Metadata request for `names`."""
    body = struct.pack(">i", len(names)) + b"".join(_str(n) for n in names)
    if version >= 4:
        body += struct.pack(">?", allow_auto_create)
    s = h.connect(broker.port, timeout)
    try:
        s.sendall(h.kafka_request(3, version, 12, body))
        return h.recv_frame(s)
    finally:
        s.close()


def metadata_topics_at(frame, version):
    """(number of topics, their offset) in a Metadata response frame."""
    pos = 8 + (4 if version >= 3 else 0)
    (nb,) = struct.unpack_from(">i", frame, pos)
    pos += 4
    for _ in range(nb):
        pos += 4
        _, pos = _read_str(frame, pos)
        pos += 4
        if version >= 1:
            _, pos = _read_str(frame, pos)
    if version >= 2:
        _, pos = _read_str(frame, pos)
    if version >= 1:
        pos += 4
    (nt,) = struct.unpack_from(">i", frame, pos)
    return nt, pos + 4


def metadata_topic_errors(broker, names, version=4, allow_auto_create=True):
    """{name: error code} of a raw Metadata request for `names`."""
    frame = metadata_frame(broker, names, version, allow_auto_create)
    nt, pos = metadata_topics_at(frame, version)
    out = {}
    for _ in range(nt):
        (err,) = struct.unpack_from(">h", frame, pos)
        name, pos = _read_str(frame, pos + 2)
        pos += 1 if version >= 1 else 0
        (np_,) = struct.unpack_from(">i", frame, pos)
        assert np_ == 0 or err == NONE, "only an existing topic carries partitions"
        out[name] = err
        if np_:
            return out  # partitions are not parsed; the callers only ask about missing topics
    return out


# -- fixtures ------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2, 3 with num.partitions=3 and default.replication.factor=2"):
        c.start_brokers(BROKERS, extra=DEFAULTS)
        c.wait_controller()
    c.bootstrap_all = ",".join(b.bootstrap for b in c.brokers.values())
    return c


@pytest.fixture(scope="module")
def admin(cluster):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": cluster.bootstrap_all, "socket.timeout.ms": 30000})


def controller_broker(cluster):
    return cluster.brokers[cluster.wait_controller()]


def ck_create(admin, new_topics, **kw):
    """AdminClient.create_topics, waiting for every result: {name: None or KafkaException}."""
    futures = admin.create_topics(new_topics, operation_timeout=TIMEOUT_S, request_timeout=TIMEOUT_S + 15, **kw)
    out = {}
    for name, f in futures.items():
        try:
            out[name] = f.result(timeout=TIMEOUT_S + 30)
        except Exception as e:  # noqa: BLE001 - the KafkaException is the answer
            out[name] = e
    return out


def assert_kafka_topic_znodes(cluster, name, partitions, rf, config):
    topic, stat = cluster.get_json(f"/brokers/topics/{name}")
    assert set(topic) == {"version", "partitions", "adding_replicas", "removing_replicas"}, topic
    assert topic["version"] == 2
    assert topic["adding_replicas"] == {} and topic["removing_replicas"] == {}
    assert sorted(topic["partitions"], key=int) == [str(p) for p in range(partitions)]
    assert all(len(r) == rf for r in topic["partitions"].values()), topic
    assert stat.ephemeralOwner == 0
    cfg, _ = cluster.get_json(f"/config/topics/{name}")
    assert cfg == {"version": 1, "config": config}
    return topic["partitions"]


def leaders_in_metadata(broker, topic):
    t = h.kcat_view(h.kcat_metadata(broker.bootstrap))["topics"].get(topic)
    return None if t is None else {p: x[0] for p, x in t["partitions"].items()}


# -- CreateTopics through the clients ----------------------------------------------

def test_confluent_admin_creates_a_topic_led_when_answered(cluster, admin):
    from confluent_kafka.admin import NewTopic
    with h.step("AdminClient.create_topics(plain: 6 partitions, RF 3)"):
        got = ck_create(admin, [NewTopic("plain", num_partitions=6, replication_factor=3)])
    assert got == {"plain": None}
    parts = assert_kafka_topic_znodes(cluster, "plain", 6, 3, {})
    assert h.matches_kafka_assignment(parts, BROKERS, 3), parts
    # Answered only once every partition had a leader in the controller's view.
    leaders = leaders_in_metadata(controller_broker(cluster), "plain")
    assert sorted(leaders) == list(range(6)) and all(l in BROKERS for l in leaders.values()), leaders
    assert leaders == h.leaders_of(cluster.states("plain"))


def test_confluent_admin_topic_configs_land_in_the_config_znode(cluster, admin):
    from confluent_kafka.admin import NewTopic
    configs = {"retention.ms": "86400000", "cleanup.policy": "delete"}
    with h.step("AdminClient.create_topics(with-configs, 2 configs)"):
        got = ck_create(admin, [NewTopic("with-configs", num_partitions=2, replication_factor=2,
                                         config=configs)])
    assert got == {"with-configs": None}
    assert_kafka_topic_znodes(cluster, "with-configs", 2, 2, configs)


def test_client_created_znodes_equal_what_kbroker_admin_writes(cluster, admin):
    from confluent_kafka.admin import NewTopic
    with h.step("kbroker-admin create-topic by-admin and AdminClient create by-client, same layout"):
        r = cluster.admin("create-topic", "--topic", "by-admin", "--partitions", 4,
                          "--replication-factor", 2, "--config", "retention.ms=3600000")
        assert r.returncode == 0, r.stderr
        got = ck_create(admin, [NewTopic("by-client", num_partitions=4, replication_factor=2,
                                         config={"retention.ms": "3600000"})])
    assert got == {"by-client": None}
    for znode in ("/brokers/topics/{}", "/config/topics/{}"):
        a, _ = cluster.get(znode.format("by-admin"))
        c, _ = cluster.get(znode.format("by-client"))
        ja, jc = json.loads(a), json.loads(c)
        assert set(ja) == set(jc), (ja, jc)
        if znode.startswith("/config"):
            assert ja == jc
        else:
            assert {k: v for k, v in ja.items() if k != "partitions"} == \
                   {k: v for k, v in jc.items() if k != "partitions"}
            assert h.matches_kafka_assignment(jc["partitions"], BROKERS, 2)
    cluster.wait_states("by-admin")


def test_confluent_admin_explicit_assignment_is_written_as_given(cluster, admin):
    from confluent_kafka.admin import NewTopic
    with h.step("AdminClient.create_topics(assigned, replica_assignment=[[1,2],[2,3]])"):
        # librdkafka sends num_partitions and replication_factor as -1 with an assignment.
        got = ck_create(admin, [NewTopic("assigned", 2, replica_assignment=[[1, 2], [2, 3]])])
    assert got == {"assigned": None}
    parts = assert_kafka_topic_znodes(cluster, "assigned", 2, 2, {})
    assert parts == {"0": [1, 2], "1": [2, 3]}
    assert h.leaders_of(cluster.states("assigned")) == {0: 1, 1: 2}


def test_confluent_admin_validate_only_creates_nothing(cluster, admin):
    from confluent_kafka.admin import NewTopic
    with h.step("AdminClient.create_topics(validated, validate_only=True)"):
        got = ck_create(admin, [NewTopic("validated", num_partitions=3, replication_factor=3,
                                          config={"retention.ms": "1000"})], validate_only=True)
    assert got == {"validated": None}
    bad = ck_create(admin, [NewTopic("validated", num_partitions=3, replication_factor=4)],
                    validate_only=True)
    assert bad["validated"].args[0].code() == INVALID_RF
    # The controller writes nothing for validate_only before answering.
    assert cluster.get("/brokers/topics/validated") is None
    assert cluster.get("/config/topics/validated") is None


def test_kafka_python_admin_creates_a_topic(cluster):
    import logging
    from kafka.admin import KafkaAdminClient, NewTopic
    logging.getLogger("kafka").setLevel(logging.ERROR)
    ka = KafkaAdminClient(bootstrap_servers=cluster.bootstrap_all.split(","),
                          api_version_auto_timeout_ms=15000, request_timeout_ms=(TIMEOUT_S + 15) * 1000)
    try:
        with h.step("KafkaAdminClient.create_topics(kp-made: 2 partitions, RF 2, one config)"):
            resp = ka.create_topics([NewTopic("kp-made", 2, 2, topic_configs={"retention.ms": "7200000"})],
                                    timeout_ms=TIMEOUT_S * 1000)
        assert [(t, e) for t, e, *_ in resp.topic_errors] == [("kp-made", NONE)], resp
    finally:
        ka.close()
    parts = assert_kafka_topic_znodes(cluster, "kp-made", 2, 2, {"retention.ms": "7200000"})
    assert h.matches_kafka_assignment(parts, BROKERS, 2)


def test_confluent_admin_sees_topic_already_exists(cluster, admin):
    from confluent_kafka.admin import NewTopic
    with h.step("AdminClient.create_topics(plain) again"):
        got = ck_create(admin, [NewTopic("plain", num_partitions=1, replication_factor=1)])
    assert got["plain"].args[0].code() == TOPIC_EXISTS


# -- bad requests, raw --------------------------------------------------------------

def test_each_bad_topic_gets_its_own_error_code(cluster):
    ctl = controller_broker(cluster)
    with h.step("create dotted.name, then one CreateTopics v4 with a bad topic of each kind"):
        assert create_topics(ctl, [("dotted.name", 1, 1, [], [])]) == [("dotted.name", NONE, None)]
        topics = [
            ("plain", 1, 1, [], []),                              # exists
            ("bad name!", 1, 1, [], []),                          # illegal character
            ("dotted_name", 1, 1, [], []),                        # '.' vs '_' collision
            ("zero-partitions", 0, 1, [], []),
            ("rf-four", 1, 4, [], []),                            # 3 live brokers
            ("dup-replica", -1, -1, [(0, [1, 1])], []),
            ("uneven", -1, -1, [(0, [1, 2]), (1, [3])], []),
            ("gap", -1, -1, [(0, [1]), (2, [2])], []),
            ("unknown-broker", -1, -1, [(0, [1, 9])], []),
            ("unknown-config", 1, 1, [], [("no.such.config", "1")]),
            ("bad-config-value", 1, 1, [], [("retention.ms", "soon")]),
            ("twice", 1, 1, [], []),
            ("twice", 1, 1, [], []),
            ("null-config", 1, 1, [], [("retention.ms", None)]),
            ("both-given", 2, -1, [(0, [1])], []),
            ("in.request", 1, 1, [], []),
            ("in_request", 1, 1, [], []),                         # collides with the one before
            ("fine", 1, 1, [], []),
        ]
        got = create_topics(ctl, topics)
    assert [t[0] for t in got] == [t[0] for t in topics], "one result per requested entry, in order"
    codes = [(name, err) for name, err, _ in got]
    assert codes == [
        ("plain", TOPIC_EXISTS), ("bad name!", INVALID_TOPIC), ("dotted_name", INVALID_TOPIC),
        ("zero-partitions", INVALID_PARTITIONS), ("rf-four", INVALID_RF),
        ("dup-replica", INVALID_ASSIGNMENT), ("uneven", INVALID_ASSIGNMENT), ("gap", INVALID_ASSIGNMENT),
        ("unknown-broker", INVALID_ASSIGNMENT), ("unknown-config", INVALID_CONFIG),
        ("bad-config-value", INVALID_CONFIG), ("twice", INVALID_REQUEST), ("twice", INVALID_REQUEST),
        ("null-config", INVALID_REQUEST), ("both-given", INVALID_REQUEST), ("in.request", NONE),
        ("in_request", INVALID_TOPIC), ("fine", NONE)], got
    for name, err, msg in got:
        assert (msg is None) == (err == NONE), (name, err, msg)
    for name in {t[0] for t in topics} - {"plain", "in.request", "fine"}:
        assert cluster.get(f"/brokers/topics/{name}") is None, f"{name} must not be created"
        assert cluster.get(f"/config/topics/{name}") is None, f"{name} must leave no config znode"


def test_partition_counts_whose_topic_znode_exceeds_zookeepers_limit_get_37_naming_it(cluster):
    """A topic znode over ZooKeeper's 1 MiB request limit (jute.maxbuffer)
    would make ZooKeeper drop the controller's connection on every try: it
    is refused up front, measured on the encoded znode, and the rest of the
    request goes on."""
    ctl = controller_broker(cluster)
    big = [(p, [1, 2, 3]) for p in range(80000)]
    with h.step("one CreateTopics v4: 100000x1, 80000x3, 200000x1 and 80000 assigned x3 partitions, and a small one"):
        got = create_topics(ctl, [("huge", 100000, 1, [], []), ("huge-rf3", 80000, 3, [], []),
                                  ("way-too-many", 200000, 1, [], []), ("huge-assigned", -1, -1, big, []),
                                  ("small-after-huge", 1, 1, [], [])])
    assert [(n, e) for n, e, _ in got] == [("huge", INVALID_PARTITIONS), ("huge-rf3", INVALID_PARTITIONS),
                                           ("way-too-many", INVALID_PARTITIONS),
                                           ("huge-assigned", INVALID_PARTITIONS), ("small-after-huge", NONE)], got
    for name, err, msg in got[:4]:
        assert "1 MiB" in msg and "jute.maxbuffer" in msg, (name, msg)
        assert cluster.get(f"/brokers/topics/{name}") is None and cluster.get(f"/config/topics/{name}") is None
    assert cluster.topic("small-after-huge") is not None
    assert ctl.alive()


def test_a_non_controller_answers_not_controller_for_every_topic(cluster):
    ctl = cluster.wait_controller()
    other = cluster.brokers[next(b for b in BROKERS if b != ctl)]
    with h.step(f"CreateTopics v4 to broker {other.id}, which is not the controller"):
        got = create_topics(other, [("nc-1", 1, 1, [], []), ("nc-2", 1, 1, [], [])])
    assert [(n, e) for n, e, _ in got] == [("nc-1", NOT_CONTROLLER), ("nc-2", NOT_CONTROLLER)]
    assert cluster.get("/brokers/topics/nc-1") is None


def test_older_versions_are_answered_in_their_layout(cluster):
    ctl = controller_broker(cluster)
    for version in (0, 1, 2, 3):
        name = f"v{version}-made"
        got = create_topics(ctl, [(name, 1, 1, [], []), ("plain", 1, 1, [], [])], version=version)
        assert [(n, e) for n, e, _ in got] == [(name, NONE), ("plain", TOPIC_EXISTS)], (version, got)
        if version >= 1:
            assert got[1][2], "v1+ carries an error message"
    # KafkaJS 2.2 sends -1/-1 in v3: the broker defaults apply (Kafka's broker does the same).
    got = create_topics(ctl, [("kafkajs-defaults", -1, -1, [], [])], version=3)
    assert got == [("kafkajs-defaults", NONE, None)]
    assert_kafka_topic_znodes(cluster, "kafkajs-defaults", 3, 2, {})


def test_timeout_zero_answers_request_timed_out_and_creation_continues(cluster):
    ctl = controller_broker(cluster)
    with h.step("CreateTopics v4 with timeout_ms=0"):
        got = create_topics(ctl, [("no-wait", 2, 2, [], [])], timeout_ms=0)
    assert [(n, e) for n, e, _ in got] == [("no-wait", REQUEST_TIMED_OUT)], got
    with h.step("the topic is created all the same"):
        states = cluster.wait_states("no-wait", timeout=30)
    assert sorted(states) == [0, 1]


# -- auto-creation on Metadata ------------------------------------------------------

def wait_auto_created(cluster, name):
    with h.step(f"wait until {name} exists with 3 partitions, RF 2 and every leader"):
        states = cluster.wait_states(name, timeout=30)
    parts = assert_kafka_topic_znodes(cluster, name, DEFAULTS["num.partitions"],
                                      DEFAULTS["default.replication.factor"], {})
    assert h.matches_kafka_assignment(parts, BROKERS, 2), parts
    return states


# Metadata naming one topic 20,000 times (260 kB): the broker answered every
# copy in full (38 MB here; a 600 kB request naming a 10,000-partition topic
# grew it past 20 GB) and started one auto-creation per copy of a missing
# name.  Now each name is answered, and auto-created, once, as Kafka does.
NAMED_OFTEN = 20000


def test_a_topic_named_many_times_is_answered_once(cluster):
    b = cluster.brokers[BROKERS[0]]
    cluster.create_topic("named-often", 64, 1)
    names = ["named-often"] * NAMED_OFTEN + ["auto-often"] * 3
    with h.step(f"Metadata v4 naming named-often {NAMED_OFTEN} times and a missing topic 3 times"):
        frame = metadata_frame(b, names, timeout=60)
    nt, _ = metadata_topics_at(frame, 4)
    print(f"answer: {len(frame)} bytes, {nt} topics")
    assert nt == 2, f"{nt} topics answered for 2 distinct names"
    wait_auto_created(cluster, "auto-often")


def test_metadata_for_an_unknown_topic_creates_it_with_the_broker_defaults(cluster):
    from confluent_kafka import KafkaError, Producer
    b = cluster.brokers[BROKERS[0]]
    p = Producer({"bootstrap.servers": b.bootstrap})
    with h.step("librdkafka list_topics(topic=auto-ck)"):
        md = p.list_topics(topic="auto-ck", timeout=15)
    first = md.topics["auto-ck"].error
    assert first is None or first.code() == KafkaError.LEADER_NOT_AVAILABLE, first
    wait_auto_created(cluster, "auto-ck")

    def led():
        t = p.list_topics(topic="auto-ck", timeout=15).topics["auto-ck"]
        return t.error is None and len(t.partitions) == 3 and all(pm.leader in BROKERS
                                                                 for pm in t.partitions.values())
    h.wait_until(led, 30, "librdkafka to see auto-ck led")


def test_kafka_python_partitions_for_auto_creates(cluster):
    import logging
    from kafka import KafkaProducer
    logging.getLogger("kafka").setLevel(logging.ERROR)
    producer = KafkaProducer(bootstrap_servers=cluster.bootstrap_all.split(","),
                             api_version_auto_timeout_ms=15000, max_block_ms=30000)
    try:
        with h.step("KafkaProducer.partitions_for(auto-kp): Metadata v1 naming the topic"):
            parts = producer.partitions_for("auto-kp")
    finally:
        producer.close()
    assert parts == {0, 1, 2}
    wait_auto_created(cluster, "auto-kp")


def test_metadata_answers_leader_not_available_then_leaders(cluster):
    b = cluster.brokers[BROKERS[1]]
    assert metadata_topic_errors(b, ["auto-raw"], version=1) == {"auto-raw": LEADER_NOT_AVAILABLE}
    wait_auto_created(cluster, "auto-raw")
    h.wait_until(lambda: metadata_topic_errors(b, ["auto-raw"], version=1) == {"auto-raw": NONE}, 30,
                 "Metadata to show auto-raw without an error")


def test_metadata_without_permission_or_with_a_bad_name_creates_nothing(cluster):
    b = cluster.brokers[BROKERS[2]]
    assert metadata_topic_errors(b, ["not-allowed"], version=4, allow_auto_create=False) == \
        {"not-allowed": UNKNOWN_TOPIC}
    assert metadata_topic_errors(b, ["bad name!"], version=4) == {"bad name!": INVALID_TOPIC}
    # A later auto-creation on the same broker is visible in ZooKeeper; by then
    # a write for either request would have been too.
    assert metadata_topic_errors(b, ["auto-marker"], version=4) == {"auto-marker": LEADER_NOT_AVAILABLE}
    cluster.wait_states("auto-marker", timeout=30)
    assert cluster.get("/brokers/topics/not-allowed") is None
    assert cluster.children("/brokers/topics") and "bad name!" not in cluster.children("/brokers/topics")


def test_broker_with_auto_create_disabled_does_not_create(make_cluster):
    c = make_cluster(chroot="/no-auto-create")
    with h.step("start broker 1 with auto.create.topics.enable=false"):
        b = c.start_brokers([1], extra={"auto.create.topics.enable": "false"})[0]
        c.wait_controller()
    from confluent_kafka import KafkaError, Producer
    p = Producer({"bootstrap.servers": b.bootstrap})
    md = p.list_topics(topic="never", timeout=15)
    assert md.topics["never"].error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    assert metadata_topic_errors(b, ["never"], version=1) == {"never": UNKNOWN_TOPIC}
    # CreateTopics still works there, and the controller's write is seen
    # after any write the Metadata requests would have caused.
    assert create_topics(b, [("marker", 1, 1, [], [])]) == [("marker", NONE, None)]
    assert c.get("/brokers/topics/never") is None
    assert c.children("/brokers/topics") == ["marker"]
    del p
