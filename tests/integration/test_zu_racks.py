"""
Scenario zu: replicas placed by broker.rack (issue 14: Kafka's command lines
and placement).  One ZooKeeper and four brokers for the file: 1 and 2 in
rack "r1", 3 and 4 in rack "r2"; num.partitions 4 and
default.replication.factor 2, so that automatic creation places replicas
too.  With every broker in a rack, Kafka spreads each partition's replicas
over the racks (AdminUtils' rack-aware assignment); the rack-unaware layout
over four brokers always puts some RF 2 partitions of eight in one rack.

  every way in    kbroker-admin create-topic, kafka-topics.sh --zookeeper
                  --create, CreateTopics (confluent-kafka AdminClient) and
                  automatic creation (a Metadata request naming an unknown
                  topic): every partition spans both racks;
  growing         kbroker-admin alter-topic and CreatePartitions: the new
                  partitions span both racks;
  generate        kafka-reassign-partitions.sh --generate --zookeeper over
                  the four brokers proposes partitions that span both racks;
  mixed           broker 5 joins without broker.rack and broker 6 with an
                  empty one (which is none): the tools refuse a layout to
                  plan in AdminZkClient's words (kbroker-admin exit 5,
                  kafka-topics.sh and kafka-reassign-partitions.sh exit 1)
                  unless --disable-rack-aware, CreateTopics answers
                  UNKNOWN_SERVER_ERROR in AdminUtils' words, automatic
                  creation ignores the racks (Kafka's RackAwareMode.Safe),
                  an explicit assignment needs no racks.
"""
import json

import pytest

import kbharness as h

RACKS = {1: "r1", 2: "r1", 3: "r2", 4: "r2"}
WAIT_S = 60
TOOL_MESSAGE = ("Not all brokers have rack information. Add --disable-rack-aware in command line to make replica "
                "assignment without rack information.")
API_MESSAGE = "Not all brokers have rack information for replica rack aware assignment."


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2 (rack r1) and 3, 4 (rack r2)"):
        for i, rack in RACKS.items():
            c.add_broker(i, extra={"broker.rack": rack, "num.partitions": "4",
                                   "default.replication.factor": "2"}).start()
        for i in RACKS:
            c.brokers[i].wait_registered()
        c.wait_controller()
    return c


def replicas(cluster, topic):
    """{partition: replica list} of the topic znode, once it exists."""
    t = h.wait_until(lambda: cluster.topic(topic), WAIT_S, f"the topic znode of {topic}")
    return {int(p): r for p, r in t["partitions"].items()}


def assert_spans_racks(layout, what):
    one_rack = {p: r for p, r in layout.items() if len({RACKS[b] for b in r}) != min(len(r), 2)}
    assert not one_rack, f"{what}: partitions in one rack: {one_rack}"


def admin_client(cluster):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": cluster.bootstrap(), "socket.timeout.ms": 30000})


def create_through_api(cluster, name, partitions, rf):
    """CreateTopics through confluent-kafka: None, or the KafkaError."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewTopic
    with h.step(f"AdminClient.create_topics {name} ({partitions} partitions, RF {rf})"):
        client = admin_client(cluster)  # referenced until the answer: a collected client cancels it
        future = client.create_topics([NewTopic(name, partitions, rf)])[name]
        try:
            future.result(WAIT_S)
            return None
        except KafkaException as e:
            return e.args[0]


def test_every_way_of_creating_a_topic_spans_both_racks(cluster):
    with h.step("kbroker-admin create-topic by-admin --partitions 8 --replication-factor 2"):
        r = cluster.admin("create-topic", "--topic", "by-admin", "--partitions", 8, "--replication-factor", 2)
    assert r.returncode == 0, r.stderr
    with h.step("kafka-topics.sh --zookeeper --create by-script --partitions 8 --replication-factor 2"):
        r = h.kafka_tool("kafka-topics", "--zookeeper", cluster.zk_connect, "--create", "--topic", "by-script",
                         "--partitions", 8, "--replication-factor", 2)
    assert r.returncode == 0, r.stderr
    assert create_through_api(cluster, "by-api", 8, 2) is None
    with h.step("Metadata v1 naming by-auto (automatic creation: 4 partitions, RF 2)"):
        h.metadata(cluster.brokers[1], ["by-auto"])
    for topic in ("by-admin", "by-script", "by-api", "by-auto"):
        layout = replicas(cluster, topic)
        assert len(layout) == (4 if topic == "by-auto" else 8) and all(len(r) == 2 for r in layout.values())
        assert_spans_racks(layout, topic)
    cluster.wait_topic_ready("by-admin", WAIT_S)


def test_new_partitions_span_both_racks(cluster):
    with h.step("kbroker-admin alter-topic by-admin --partitions 12"):
        r = cluster.admin("alter-topic", "--topic", "by-admin", "--partitions", 12)
    assert r.returncode == 0, r.stderr
    from confluent_kafka.admin import NewPartitions
    with h.step("AdminClient.create_partitions by-api to 12"):
        client = admin_client(cluster)
        client.create_partitions([NewPartitions("by-api", 12)])["by-api"].result(WAIT_S)
    for topic in ("by-admin", "by-api"):
        layout = h.wait_until(lambda: (lambda lay: lay if len(lay) == 12 else None)(replicas(cluster, topic)),
                              WAIT_S, f"{topic} to have 12 partitions")
        assert_spans_racks({p: r for p, r in layout.items() if p >= 8}, f"{topic}'s new partitions")


def generate(cluster, tmp_path, brokers, *extra):
    plan = tmp_path / "topics.json"
    plan.write_text(json.dumps({"version": 1, "topics": [{"topic": "by-script"}]}))
    with h.step(f"kafka-reassign-partitions.sh --generate --broker-list {brokers} {' '.join(extra)}"):
        return h.kafka_tool("kafka-reassign-partitions", "--zookeeper", cluster.zk_connect, "--generate",
                            "--topics-to-move-json-file", plan, "--broker-list", brokers, *extra)


def test_generate_proposes_partitions_that_span_both_racks(cluster, tmp_path):
    r = generate(cluster, tmp_path, "1,2,3,4")
    assert r.returncode == 0, r.stderr
    proposed = json.loads(r.stdout.split("Proposed partition reassignment configuration\n", 1)[1])
    layout = {e["partition"]: e["replicas"] for e in proposed["partitions"]}
    assert len(layout) == 8
    assert_spans_racks(layout, "the proposal")


def test_a_broker_without_a_rack_makes_the_tools_refuse_to_plan(cluster, tmp_path):
    with h.step("start broker 5 without broker.rack, broker 6 with an empty one"):
        cluster.add_broker(5).start().wait_registered()
        cluster.add_broker(6, extra={"broker.rack": ""}).start().wait_registered()
    # An empty rack is none, in the registration and in every broker's
    # picture (it once made every broker refuse the controller's
    # UpdateMetadata: the RPC's "" against the registration's "").
    assert "rack" not in cluster.brokers[6].registration()[0]
    h.wait_until(lambda: all({5, 6} <= set(h.metadata(b)["brokers"]) for b in cluster.brokers.values()), WAIT_S,
                 "every broker's Metadata to list brokers 5 and 6")

    r = cluster.admin("create-topic", "--topic", "mixed", "--partitions", 4, "--replication-factor", 2)
    assert (r.returncode, r.stderr.strip()) == (5, f"kbroker-admin: {TOOL_MESSAGE}")
    r = h.kafka_tool("kafka-topics", "--zookeeper", cluster.zk_connect, "--create", "--topic", "mixed",
                     "--partitions", 4, "--replication-factor", 2)
    assert (r.returncode, r.stdout) == (1, f"Error while executing topic command : {TOOL_MESSAGE}\n")
    err = create_through_api(cluster, "mixed", 4, 2)
    assert err is not None and (err.code(), err.str()) == (-1, API_MESSAGE)
    r = cluster.admin("alter-topic", "--topic", "by-admin", "--partitions", 16)
    assert (r.returncode, r.stderr.strip()) == (5, f"kbroker-admin: {TOOL_MESSAGE}")
    r = generate(cluster, tmp_path, "1,2,3,4,5")
    assert r.returncode == 1 and r.stdout.endswith(f"\nError: {TOOL_MESSAGE}\n")
    assert cluster.topic("mixed") is None and len(replicas(cluster, "by-admin")) == 12

    r = cluster.admin("create-topic", "--topic", "mixed", "--partitions", 4, "--replication-factor", 2,
                      "--disable-rack-aware")
    assert r.returncode == 0, r.stderr
    r = cluster.admin("create-topic", "--topic", "pinned", "--replica-assignment", "1:5,5:3")
    assert r.returncode == 0, r.stderr
    assert generate(cluster, tmp_path, "1,2,3,4,5", "--disable-rack-aware").returncode == 0
    r = cluster.admin("alter-topic", "--topic", "by-admin", "--partitions", 14, "--disable-rack-aware")
    assert r.returncode == 0, r.stderr
    r = h.kafka_tool("kafka-topics", "--zookeeper", cluster.zk_connect, "--alter", "--topic", "by-admin",
                     "--partitions", 16, "--disable-rack-aware")
    assert r.returncode == 0, r.stdout
    assert len(replicas(cluster, "by-admin")) == 16
    with h.step("Metadata v1 naming mixed-auto (automatic creation ignores racks now)"):
        h.metadata(cluster.brokers[1], ["mixed-auto"])
    assert len(replicas(cluster, "mixed-auto")) == 4
    assert replicas(cluster, "pinned") == {0: [1, 5], 1: [5, 3]}
