"""
Scenario m: topic and broker configs from clients (DescribeConfigs and
AlterConfigs, wire-protocol.md 4.12 and 4.13) and from kbroker-admin
(describe-config / alter-config), stored exactly as Kafka 2.6 stores them:
/config/topics/T plus a /config/changes/config_change_N notification
(zk-and-replication.md 1.8).

Runbook: three brokers whose server.properties sets log.retention.hours=100;
a topic "orders" on all three.  A client reads the topic's effective configs
(defaults and server.properties values, with their sources), changes
retention.ms and segment.bytes with AlterConfigs, and every broker shows the
override at once, without a restart; the new segment.bytes rolls the leader's
segments and min.insync.replicas governs acks=all.  Bad keys and values are refused with 40 and change nothing; a
broker answers for its own configs only (42 for another broker's); broker
configs cannot be altered at run time.  kbroker-admin changes and shows the
same overrides.
"""
import json
import logging
import time

import pytest

import kafkawire as kw
import kbharness as h

TOPIC = "orders"
TOPIC_RES, BROKER_RES = 2, 4
SOURCE_TOPIC, SOURCE_STATIC, SOURCE_DEFAULT = 1, 4, 5
INVALID_CONFIG, INVALID_REQUEST, UNKNOWN_TOPIC, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT = 40, 42, 3, 19, 7
EXTRA = {"log.retention.hours": "100"}


# -- raw DescribeConfigs v1 / AlterConfigs v0 (one request per connection) ----

def describe_configs(broker, resources, synonyms=True):
    """resources: [(type, name)] -> [(error, message, type, name, {config: (value, read_only, source,
    sensitive, [(synonym, value, source)])})]."""
    body = kw.array(resources, lambda r: kw.i8(r[0]) + kw.string(r[1]) + kw.i32(-1)) + kw.i8(int(synonyms))
    with h.connect(broker.port) as s:
        s.sendall(h.kafka_request(32, 1, 77, body))
        frame = h.recv_frame(s)
    corr, r = kw.response_body(frame)
    assert corr == 77
    r.i32()  # throttle_time_ms

    def config(x):
        name, value, read_only, source, sensitive = x.string(), x.string(), x.i8(), x.i8(), x.i8()
        syns = x.array(lambda y: (y.string(), y.string(), y.i8()))
        return name, (value, bool(read_only), source, bool(sensitive), syns)

    out = r.array(lambda x: (x.i16(), x.string(), x.i8(), x.string(), dict(x.array(config))))
    assert r.left() == 0, "trailing bytes after the DescribeConfigs response"
    return out


def alter_configs(broker, resources, validate_only=False, timeout=10.0):
    """resources: [(type, name, {key: value or None} or [(key, value)])]
    -> [(error, message, type, name)]."""
    def resource(res):
        kind, name, configs = res
        items = list(configs.items()) if isinstance(configs, dict) else list(configs)
        return kw.i8(kind) + kw.string(name) + kw.array(items, lambda c: kw.string(c[0]) + kw.string(c[1]))
    body = kw.array(resources, resource) + kw.i8(int(validate_only))
    with h.connect(broker.port, timeout) as s:
        s.sendall(h.kafka_request(33, 0, 78, body))
        frame = h.recv_frame(s)
    corr, r = kw.response_body(frame)
    assert corr == 78
    r.i32()
    out = r.array(lambda x: (x.i16(), x.string(), x.i8(), x.string()))
    assert r.left() == 0, "trailing bytes after the AlterConfigs response"
    return out


def topic_configs(broker, topic=TOPIC):
    [(err, msg, _, _, configs)] = describe_configs(broker, [(TOPIC_RES, topic)])
    assert err == 0, msg
    return configs


def override_seen(broker, key, value):
    got = topic_configs(broker).get(key)
    return got is not None and got[0] == value and got[2] == (SOURCE_TOPIC if value is not None else got[2])


def config_znode(c, topic=TOPIC):
    got = c.get_json(f"/config/topics/{topic}")
    return got[0] if got else None


def change_notifications(c):
    out = {}
    for child in c.children("/config/changes") or []:
        data = c.get(f"/config/changes/{child}")
        if data is not None:
            out[child] = json.loads(data[0].decode())
    return out


def admin_client(c):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": c.bootstrap(), "socket.timeout.ms": 10000})


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2, 3 (log.retention.hours=100) and create topic orders, 3 x 3"):
        c.start_brokers([1, 2, 3], extra=EXTRA)
        c.wait_controller()
        c.create_topic(TOPIC, partitions=3, rf=3)
    return c


# -- reading -------------------------------------------------------------------

def test_confluent_describe_topic_shows_inherited_values_and_sources(cluster):
    from confluent_kafka.admin import ConfigResource, ConfigSource
    with h.step("confluent-kafka describe_configs(TOPIC orders)"):
        admin = admin_client(cluster)
        fut = admin.describe_configs([ConfigResource("topic", TOPIC)])
        entries = list(fut.values())[0].result(timeout=20)
    assert len(entries) == 26, sorted(entries)
    retention = entries["retention.ms"]
    assert retention.value == str(100 * 3600 * 1000)
    assert retention.source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert not retention.is_read_only
    assert "log.retention.hours" in retention.synonyms
    assert entries["cleanup.policy"].value == "delete"
    assert entries["segment.bytes"].value == "1073741824"
    assert entries["segment.bytes"].source == ConfigSource.DEFAULT_CONFIG.value
    assert entries["compression.type"].value == "producer"


def test_confluent_describe_broker_lists_its_static_and_default_configs(cluster):
    from confluent_kafka.admin import ConfigResource, ConfigSource
    with h.step("confluent-kafka describe_configs(BROKER 1) (librdkafka asks broker 1 itself)"):
        admin = admin_client(cluster)
        fut = admin.describe_configs([ConfigResource("broker", "1")])
        entries = list(fut.values())[0].result(timeout=20)
    assert entries["broker.id"].value == "1"
    assert entries["broker.id"].source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert entries["broker.id"].is_read_only
    assert entries["log.retention.hours"].value == "100"
    assert entries["num.partitions"].value == "1"
    assert entries["num.partitions"].source == ConfigSource.DEFAULT_CONFIG.value
    assert entries["ssl.key.password"].value is None and entries["ssl.key.password"].is_sensitive


def test_another_brokers_resource_is_invalid_request(cluster):
    b1 = cluster.brokers[1]
    with h.step("DescribeConfigs v1 to broker 1 for BROKER 2, and for its own id"):
        [(err, msg, kind, name, configs)] = describe_configs(b1, [(BROKER_RES, "2")])
        [(own_err, _, _, _, own)] = describe_configs(b1, [(BROKER_RES, "1")], synonyms=False)
    assert (err, kind, name, configs) == (INVALID_REQUEST, BROKER_RES, "2", {})
    assert "Unexpected broker id" in msg
    assert own_err == 0 and own["broker.id"][0] == "1" and own["broker.id"][4] == []
    [(err, msg, _, _, _)] = describe_configs(b1, [(TOPIC_RES, "no-such-topic")])
    assert err == UNKNOWN_TOPIC, msg


# -- changing a topic ----------------------------------------------------------

def test_confluent_alter_writes_the_znode_and_a_change_notification(cluster):
    from confluent_kafka.admin import ConfigResource
    before = set(change_notifications(cluster))
    with h.step("confluent-kafka alter_configs(orders: retention.ms=3600000, segment.bytes=1048576)"):
        res = ConfigResource("topic", TOPIC, set_config={"retention.ms": "3600000", "segment.bytes": "1048576"})
        admin = admin_client(cluster)
        for fut in admin.alter_configs([res]).values():
            assert fut.result(timeout=20) is None
    assert config_znode(cluster) == {"version": 1, "config": {"retention.ms": "3600000", "segment.bytes": "1048576"}}
    new = {k: v for k, v in change_notifications(cluster).items() if k not in before}
    assert list(new.values()) == [{"version": 2, "entity_path": f"topics/{TOPIC}"}], new
    assert all(k.startswith("config_change_") and len(k) == len("config_change_") + 10 for k in new)


def test_override_is_visible_on_every_broker_without_a_restart(cluster):
    with h.step("DescribeConfigs on brokers 1, 2, 3 until each shows the override"):
        seen = h.wait_all({f"broker {b.id}": (lambda b=b: override_seen(b, "retention.ms", "3600000")
                                              and override_seen(b, "segment.bytes", "1048576"))
                           for b in cluster.brokers.values()}, timeout=15)
    for name, secs in seen.items():
        h.note(f"override visible on {name}", secs)
    value, read_only, source, _, synonyms = topic_configs(cluster.brokers[2])["retention.ms"]
    assert (value, read_only, source) == ("3600000", False, SOURCE_TOPIC)
    assert synonyms[0] == ("retention.ms", "3600000", SOURCE_TOPIC)
    assert ("log.retention.hours", "100", SOURCE_STATIC) in synonyms
    assert ("log.retention.hours", "168", SOURCE_DEFAULT) in synonyms


def test_kafka_python_describe_configs_sees_the_override_and_a_broker(cluster):
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
    logging.getLogger("kafka").setLevel(logging.WARNING)
    admin = KafkaAdminClient(bootstrap_servers=[b.bootstrap for b in cluster.brokers.values()],
                             api_version_auto_timeout_ms=15000, request_timeout_ms=20000)
    try:
        with h.step("kafka-python describe_configs(TOPIC orders) and (BROKER 3)"):
            [topic_resp] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC)])
            [broker_resp] = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "3")])
    finally:
        admin.close()
    [(err, _, _, name, entries)] = topic_resp.resources
    assert (err, name) == (0, TOPIC)
    by_name = {e[0]: e for e in entries}
    assert by_name["retention.ms"][1] == "3600000"
    assert by_name["segment.bytes"][1] == "1048576"
    [(err, _, _, name, entries)] = broker_resp.resources
    assert (err, name) == (0, "3")
    assert {e[0]: e[1] for e in entries}["broker.id"] == "3"


def test_segment_bytes_override_rolls_the_leaders_segments(cluster):
    c = cluster
    with h.step("kbroker-admin alter-config orders segment.bytes=4096 and wait for the leader to apply it"):
        r = c.admin("alter-config", "--topic", TOPIC, "--add-config", "segment.bytes=4096")
        assert r.returncode == 0, r.stderr
        leader = c.leader(TOPIC, 0)
        h.wait_until(lambda: override_seen(leader, "segment.bytes", "4096"), 15, "the leader to show segment.bytes")
    with h.step("produce 40 batches of one 500-byte record to orders-0"):
        producer = h.ck_producer(c.bootstrap())
        reports = h.ck_produce(producer, [h.Rec(TOPIC, 0, None, None, bytes(500), (), None) for _ in range(40)],
                               flush_every=1)
        assert all(err is None for _, err in reports), reports[:3]
    segments = leader.segments(TOPIC, 0)
    assert len(segments) >= 5, f"{len(segments)} segments; segment.bytes=4096 not applied"


def produce_acks_all(broker, partition):
    """One acks=all Produce v7 of one record to orders-partition; its error
    code.  With all three replicas in the ISR an accepted batch succeeds
    once both followers have fetched it, or times out (7) if that takes more
    than 200 ms (a loaded machine, sanitizers)."""
    batch = kw.build_batch([(b"k", b"v")], base_timestamp=int(time.time() * 1000))
    body = kw.produce_body([(TOPIC, [(partition, batch)])], acks=-1, timeout_ms=200)
    with h.connect(broker.port) as s:
        s.sendall(h.kafka_request(0, 7, 79, body))
        _, parts, _, _ = kw.parse_produce_response(h.recv_frame(s))
    return parts[(TOPIC, partition)].error


def test_min_insync_replicas_override_applies_to_acks_all(cluster):
    c = cluster
    leader = c.leader(TOPIC, 1)
    with h.step("alter-config orders min.insync.replicas=4 (more than the 3 replicas)"):
        r = c.admin("alter-config", "--topic", TOPIC, "--add-config", "min.insync.replicas=4")
        assert r.returncode == 0, r.stderr
        h.wait_until(lambda: override_seen(leader, "min.insync.replicas", "4"), 15, "the leader to show it")
    assert produce_acks_all(leader, 1) == NOT_ENOUGH_REPLICAS
    with h.step("delete the override: acks=all passes the ISR check again"):
        r = c.admin("alter-config", "--topic", TOPIC, "--delete-config", "min.insync.replicas")
        assert r.returncode == 0, r.stderr
        h.wait_until(lambda: produce_acks_all(leader, 1) in (0, REQUEST_TIMED_OUT), 15,
                     "acks=all to be appended (answered 0, or 7 when the followers take over 200 ms)")


# -- refusals --------------------------------------------------------------------

def test_unknown_keys_and_bad_values_are_invalid_config_and_change_nothing(cluster):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import ConfigResource
    b = cluster.brokers[1]
    before = config_znode(cluster)
    with h.step("AlterConfigs with an unknown key, a bad value, compact, compression.type=bogus; and validate_only"):
        got = alter_configs(b, [(TOPIC_RES, TOPIC, {"retention.weeks": "1"}),
                                (TOPIC_RES, TOPIC, {"segment.bytes": "13"}),
                                (TOPIC_RES, TOPIC, {"cleanup.policy": "compact"}),
                                (TOPIC_RES, TOPIC, {"compression.type": "bogus"}),
                                (TOPIC_RES, "no-such-topic", {"retention.ms": "1"})])
        [(ok, _, _, _)] = alter_configs(b, [(TOPIC_RES, TOPIC, {"retention.ms": "5"})], validate_only=True)
    assert [g[0] for g in got] == [INVALID_CONFIG] * 4 + [UNKNOWN_TOPIC], got
    assert "retention.weeks" in got[0][1]
    assert "must be at least 14" in got[1][1]
    assert "compaction is not implemented" in got[2][1]
    assert "bogus" in got[3][1] and "compression.type" in got[3][1], got[3]
    assert ok == 0
    assert config_znode(cluster) == before
    with h.step("confluent-kafka alter_configs with a bad value raises INVALID_CONFIG"):
        res = ConfigResource("topic", TOPIC, set_config={"retention.ms": "soon"})
        admin = admin_client(cluster)
        with pytest.raises(KafkaException) as exc:
            list(admin.alter_configs([res]).values())[0].result(timeout=20)
    assert exc.value.args[0].code() == INVALID_CONFIG
    assert config_znode(cluster) == before


# 100,000 distinct keys in one resource (1.3 MB): the broker compared each
# key with every earlier one to find repeats (5e9 comparisons: minutes of
# loop under ASan, past the bound below).  A key listed twice still takes
# its last value.
MANY_KEYS = 100_000


def test_many_keys_are_judged_without_holding_the_loop_and_the_last_repeat_wins(cluster):
    b = cluster.brokers[1]
    before = config_znode(cluster)
    keys = [(f"no.such.key.{i}", "1") for i in range(MANY_KEYS)]
    with h.step(f"AlterConfigs of {MANY_KEYS} unknown keys"):
        [(err, msg, _, _)] = alter_configs(b, [(TOPIC_RES, TOPIC, keys)], timeout=60)
    assert err == INVALID_CONFIG and "no.such.key." in msg, (err, msg)
    assert config_znode(cluster) == before
    with h.step("retention.ms listed twice, validate_only: the last value is the one judged"):
        [(err, msg, _, _)] = alter_configs(b, [(TOPIC_RES, TOPIC, [("retention.ms", "1000"), ("retention.ms", "soon")])],
                                           validate_only=True)
    assert err == INVALID_CONFIG and "soon" in msg, (err, msg)  # the last value is the one judged
    [(err, _, _, _)] = alter_configs(b, [(TOPIC_RES, TOPIC, [("retention.ms", "soon"), ("retention.ms", "1000")])],
                                     validate_only=True)
    assert err == 0


def test_broker_configs_cannot_be_altered_at_run_time(cluster):
    b = cluster.brokers[1]
    with h.step("AlterConfigs on BROKER 1 (a known key, an unknown key, nothing) and BROKER 2"):
        got = alter_configs(b, [(BROKER_RES, "1", {"num.partitions": "3"}),
                                (BROKER_RES, "1", {"no.such.broker.key": "1"}),
                                (BROKER_RES, "1", {}),
                                (BROKER_RES, "2", {"num.partitions": "3"})])
    assert [g[0] for g in got] == [INVALID_REQUEST, INVALID_CONFIG, 0, INVALID_REQUEST], got
    assert "Cannot update these configs dynamically: num.partitions" in got[0][1]
    assert cluster.get("/config/brokers/1") is None


# -- kbroker-admin ---------------------------------------------------------------

def test_admin_alter_and_describe_round_trip(cluster):
    c = cluster
    with h.step("kbroker-admin alter-config: add retention.ms and max.message.bytes, delete segment.bytes"):
        r = c.admin("alter-config", "--topic", TOPIC, "--add-config", "retention.ms=7200000,max.message.bytes=2000000",
                    "--delete-config", "segment.bytes")
    assert r.returncode == 0, r.stderr
    assert f"Completed updating config for topic {TOPIC}." in r.stdout
    expected = {"retention.ms": "7200000", "max.message.bytes": "2000000"}
    assert config_znode(c) == {"version": 1, "config": expected}
    r = c.admin("--output", "json", "describe-config", "--topic", TOPIC)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"entity_type": "topics", "entity_name": TOPIC, "configs": expected}
    r = c.admin("describe-config", "--topic", TOPIC)
    assert r.stdout.startswith(f"Configs for topic '{TOPIC}' are "), r.stdout
    with h.step("every broker shows the new set, and segment.bytes is inherited again"):
        h.wait_all({f"broker {b.id}": (lambda b=b: override_seen(b, "max.message.bytes", "2000000")
                                       and topic_configs(b)["segment.bytes"][2] == SOURCE_DEFAULT)
                    for b in c.brokers.values()}, timeout=15)
    r = c.admin("describe-config", "--broker", "1")
    assert (r.returncode, r.stdout.strip()) == (0, "Configs for broker '1' are"), r.stderr


def test_admin_refusals_have_documented_exit_codes(cluster):
    c = cluster
    before = config_znode(c)
    cases = [
        (("alter-config", "--topic", TOPIC, "--add-config", "retention.ms=abc"), 1, "retention.ms"),
        (("alter-config", "--topic", TOPIC, "--add-config", "cleanup.policy=compact"), 1, "compaction"),
        (("alter-config", "--topic", TOPIC, "--delete-config", "segment.ms"), 1, "not set"),
        (("alter-config", "--topic", TOPIC), 1, "--add-config"),
        (("alter-config", "--broker", "1", "--add-config", "num.partitions=2"), 1, "server.properties"),
        (("alter-config", "--topic", "no-such-topic", "--add-config", "retention.ms=1"), 6, "does not exist"),
        (("describe-config", "--topic", "no-such-topic"), 6, "does not exist"),
        (("describe-config",), 1, "--topic"),
        (("create-topic", "--topic", "badcfg", "--partitions", "1", "--replication-factor", "1",
          "--config", "segment.bytes=1"), 1, "segment.bytes"),
    ]
    with h.step(f"{len(cases)} refused kbroker-admin runs"):
        for args, status, words in cases:
            r = c.admin(*args)
            assert r.returncode == status, (args, r.returncode, r.stderr)
            assert r.stderr.startswith("kbroker-admin: ") and words in r.stderr, (args, r.stderr)
    assert config_znode(c) == before
    assert c.topic("badcfg") is None
