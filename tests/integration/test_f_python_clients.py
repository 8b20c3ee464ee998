"""
Scenario f: unmodified Kafka client libraries see the cluster.  The cluster
lives under a ZooKeeper chroot (zookeeper.connect=host:port/kbroker-f), as a
shared ZooKeeper ensemble would be used in production.

confluent-kafka-python (Debian's build, on librdkafka) and kafka-python
(pure Python, which infers the broker version from ApiVersions v0 pipelined
with Metadata v0) both list the topics, partitions, leaders and brokers.
"""
import logging

import pytest

import kbharness as h

CHROOT = "/kbroker-f"
TOPICS = {"clicks": (3, 2), "views": (1, 3)}


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster(chroot=CHROOT)
    with h.step(f"start brokers 1, 2, 3 under chroot {CHROOT}"):
        c.start_brokers([1, 2, 3])
        c.wait_controller()
    for name, (parts, rf) in TOPICS.items():
        r = c.admin("create-topic", "--topic", name, "--partitions", parts, "--replication-factor", rf)
        assert r.returncode == 0, r.stderr
    c.expected = {name: h.leaders_of(c.wait_states(name)) for name in TOPICS}
    for b in c.brokers.values():
        h.wait_until(lambda b=b: set(TOPICS) <= set(h.kcat_view(h.kcat_metadata(b.bootstrap))["topics"]),
                     20, f"broker {b.id} to know every topic")
    return c


def test_chroot_holds_the_whole_layout(cluster, zookeeper):
    root = zookeeper.client()
    try:
        assert root.exists(CHROOT + "/brokers/ids/1")
        assert not root.exists("/brokers/ids/1"), "nothing may be written outside the chroot"
    finally:
        root.stop()
        root.close()


def test_confluent_kafka_admin_client_lists_topics_and_brokers(cluster):
    from confluent_kafka.admin import AdminClient
    bootstrap = ",".join(b.bootstrap for b in cluster.brokers.values())
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000})
    with h.step("confluent-kafka AdminClient.list_topics()"):
        md = admin.list_topics(timeout=15)
    assert sorted(md.brokers) == [1, 2, 3]
    for b in cluster.brokers.values():
        assert (md.brokers[b.id].host, md.brokers[b.id].port) == ("127.0.0.1", b.port)
    assert md.controller_id == cluster.controller()
    assert md.cluster_id == cluster.get_json("/cluster/id")[0]["id"]
    for name, (parts, rf) in TOPICS.items():
        t = md.topics[name]
        assert t.error is None
        assert {p: pm.leader for p, pm in t.partitions.items()} == cluster.expected[name]
        assert all(len(pm.replicas) == rf for pm in t.partitions.values())


def test_kafka_python_consumer_and_admin_see_topics_and_brokers(cluster):
    from kafka import KafkaConsumer
    from kafka.admin import KafkaAdminClient
    logging.getLogger("kafka").setLevel(logging.WARNING)
    bootstrap = [b.bootstrap for b in cluster.brokers.values()]
    with h.step("kafka-python KafkaConsumer.topics()"):
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, api_version_auto_timeout_ms=15000,
                                 request_timeout_ms=20000)
        try:
            topics = consumer.topics()
            assert set(TOPICS) <= topics, topics
            for name, (parts, _) in TOPICS.items():
                assert consumer.partitions_for_topic(name) == set(range(parts))
            version = consumer.config["api_version"]
        finally:
            consumer.close()
    # kafka-python infers the broker version from ApiVersions (spec wire-protocol
    # section 3.3): Metadata v5 in range means >= 1.0.0.  With Fetch 4-11
    # advertised (the produce/fetch milestone) it becomes 2.3.0.
    assert version >= (1, 0, 0), f"kafka-python inferred broker version {version}"
    with h.step("kafka-python KafkaAdminClient.describe_cluster() and list_topics()"):
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, api_version_auto_timeout_ms=15000,
                                 request_timeout_ms=20000)
        try:
            cl = admin.describe_cluster()
            listed = admin.list_topics()
        finally:
            admin.close()
    assert sorted(b["node_id"] for b in cl["brokers"]) == [1, 2, 3]
    assert cl["controller_id"] == cluster.controller()
    assert cl["cluster_id"] == cluster.get_json("/cluster/id")[0]["id"]
    assert set(TOPICS) <= set(listed)
