"""
Scenario a: three brokers form a cluster; an operator creates a topic with
kbroker-admin, and everything a Kafka 2.6 tool or dashboard reads from
ZooKeeper, and everything a Kafka client reads from the brokers, is what Kafka
itself would show.
"""
import json
import re
import time

import pytest

import kbharness as h
import rpcwire

BROKERS = [1, 2, 3]
TOPIC = "orders"

BASE_PATHS = ["/consumers", "/brokers/ids", "/brokers/topics", "/brokers/seqid", "/config/changes",
              "/admin/delete_topics", "/isr_change_notification", "/latest_producer_id_block",
              "/log_dir_event_notification", "/config/topics", "/config/clients", "/config/users",
              "/config/brokers"]


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    c.started_ms = int(time.time() * 1000)
    with h.step("start brokers 1, 2 and 3"):
        c.start_brokers(BROKERS)
    with h.step("wait for a controller"):
        c.wait_controller()
    return c


@pytest.fixture(scope="module")
def orders(cluster):
    """kbroker-admin create-topic orders: 6 partitions, RF 3, one topic config."""
    with h.step("kbroker-admin create-topic orders (6 partitions, RF 3)"):
        r = cluster.admin("create-topic", "--topic", TOPIC, "--partitions", 6,
                          "--replication-factor", 3, "--config", "retention.ms=86400000")
    assert r.returncode == 0, f"create-topic failed: {r.stderr}"
    with h.step("wait for the controller to write the 6 state znodes"):
        states = cluster.wait_states(TOPIC, timeout=30)
    return states


def test_each_broker_registers_kafka_26_json_with_its_bound_port(cluster):
    now_ms = int(time.time() * 1000)
    assert cluster.registered_ids() == BROKERS
    for b in cluster.brokers.values():
        data, stat = b.registration()
        # Kafka's v4 keys plus exactly one kbroker-only key, which Kafka's
        # readers ignore: the inter-broker RPC endpoint.
        assert set(data) == {"version", "host", "port", "jmx_port", "timestamp", "endpoints",
                             "listener_security_protocol_map", "kbroker_rpc"}, data
        assert set(data["kbroker_rpc"]) == {"host", "port"}, data
        assert data["kbroker_rpc"]["host"] == "127.0.0.1"
        rpc_port = data["kbroker_rpc"]["port"]
        assert isinstance(rpc_port, int) and 0 < rpc_port < 65536 and rpc_port != data["port"]
        # ... and it is the live RPC port: a Hello there is answered by this broker.
        # (The epoch is set when the registration's completion runs, just
        # after the znode appears.)
        # (The Hello claims the broker's own registration: only a live one is
        # answered.)
        h.wait_until(lambda: rpcwire.hello("127.0.0.1", rpc_port, broker_id=b.id, epoch=stat.czxid)
                     == (b.id, stat.czxid, rpcwire.PROTOCOL_VERSION),
                     10, f"broker {b.id}'s RPC port answering Hello with its id and czxid")
        assert data["version"] == 4
        assert data["host"] == "127.0.0.1"
        assert isinstance(data["port"], int) and 0 < data["port"] < 65536
        assert data["jmx_port"] == -1
        assert isinstance(data["timestamp"], str) and data["timestamp"].isdigit(), data["timestamp"]
        assert cluster.started_ms - 60000 <= int(data["timestamp"]) <= now_ms + 60000
        assert data["endpoints"] == [f"PLAINTEXT://127.0.0.1:{data['port']}"]
        assert data["listener_security_protocol_map"] == {"PLAINTEXT": "PLAINTEXT"}
        assert stat.ephemeralOwner != 0, "a broker registration must be ephemeral"
        # The port really is the one the broker listens on.
        h.connect(data["port"]).close()


def test_cluster_id_controller_and_epoch_are_kafka_json(cluster):
    cid, _ = cluster.get_json("/cluster/id")
    assert set(cid) == {"version", "id"}
    assert cid["version"] == "1"
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cid["id"]), cid

    ctl, stat = cluster.get_json("/controller")
    assert set(ctl) == {"version", "brokerid", "timestamp"}, ctl
    assert ctl["version"] == 1
    assert ctl["brokerid"] in BROKERS
    assert isinstance(ctl["timestamp"], str) and ctl["timestamp"].isdigit()
    assert stat.ephemeralOwner != 0, "/controller must be ephemeral"

    raw, _ = cluster.get("/controller_epoch")
    assert re.fullmatch(rb"[0-9]+", raw), f"/controller_epoch must be a bare integer, got {raw!r}"
    assert int(raw) == 1, "the first controller of a fresh cluster has epoch 1"


def test_persistent_base_paths_exist(cluster):
    missing = [p for p in BASE_PATHS if cluster.get(p) is None]
    assert not missing, f"base paths missing: {missing}"
    for p in BASE_PATHS:
        assert cluster.get(p)[1].ephemeralOwner == 0, f"{p} must be persistent"


def test_create_topic_writes_kafka_topic_and_config_znodes(cluster, orders):
    cfg, _ = cluster.get_json(f"/config/topics/{TOPIC}")
    assert cfg == {"version": 1, "config": {"retention.ms": "86400000"}}

    topic, stat = cluster.get_json(f"/brokers/topics/{TOPIC}")
    assert set(topic) == {"version", "partitions", "adding_replicas", "removing_replicas"}, topic
    assert topic["version"] == 2
    assert topic["adding_replicas"] == {} and topic["removing_replicas"] == {}
    parts = topic["partitions"]
    assert sorted(parts) == [str(p) for p in range(6)]
    for p, reps in parts.items():
        assert len(reps) == 3 and len(set(reps)) == 3 and set(reps) <= set(BROKERS), (p, reps)
    assert h.matches_kafka_assignment(parts, BROKERS, 3), \
        f"assignment {parts} is not Kafka's for any start/shift"
    assert stat.ephemeralOwner == 0


def test_controller_elects_preferred_leaders_spread_over_all_brokers(cluster, orders):
    assignment = cluster.topic(TOPIC)["partitions"]
    epoch = cluster.controller_epoch()
    for p, state in orders.items():
        assert set(state) == {"controller_epoch", "leader", "version", "leader_epoch", "isr"}, state
        assert state["version"] == 1
        assert state["leader_epoch"] == 0
        assert state["controller_epoch"] == epoch
        assert state["leader"] == assignment[str(p)][0], "leader must be the preferred replica"
        assert state["isr"] == assignment[str(p)], "initial ISR is the assignment, in order"
    led = [s["leader"] for s in orders.values()]
    assert {b: led.count(b) for b in BROKERS} == {1: 2, 2: 2, 3: 2}


def test_kcat_sees_the_same_cluster_from_every_broker(cluster, orders):
    assignment = cluster.topic(TOPIC)["partitions"]
    ports = {b.id: b.port for b in cluster.brokers.values()}
    for b in cluster.brokers.values():
        def consistent():
            v = h.kcat_view(h.kcat_metadata(b.bootstrap))
            t = v["topics"].get(TOPIC)
            return v if t and len(t["partitions"]) == 6 else None
        with h.step(f"kcat -L -J -b {b.bootstrap}"):
            v = h.wait_until(consistent, 20, f"broker {b.id} to show topic {TOPIC} to kcat")
        assert v["brokers"] == {i: f"127.0.0.1:{port}" for i, port in ports.items()}
        assert v["controller"] == cluster.controller()
        t = v["topics"][TOPIC]
        assert t["error"] is None
        for p, (leader, replicas, isr, err) in t["partitions"].items():
            assert err is None, (p, err)
            assert leader == orders[p]["leader"], (p, leader)
            assert replicas == assignment[str(p)]
            assert sorted(isr) == sorted(orders[p]["isr"])


def test_describe_topic_json_agrees_with_zookeeper(cluster, orders):
    r = cluster.admin("--output", "json", "describe-topic", "--topic", TOPIC)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [t["topic"] for t in doc] == [TOPIC], doc
    assignment = cluster.topic(TOPIC)["partitions"]
    parts = doc[0]["partitions"]
    assert [p["partition"] for p in parts] == list(range(6))
    for p in parts:
        i = p["partition"]
        assert p == {"partition": i, "leader": orders[i]["leader"],
                     "leader_epoch": orders[i]["leader_epoch"], "replicas": assignment[str(i)],
                     "isr": orders[i]["isr"]}


def test_list_topics_and_list_brokers(cluster, orders):
    r = cluster.admin("list-topics")
    assert r.returncode == 0 and TOPIC in r.stdout.split(), r.stdout
    r = cluster.admin("--output", "json", "list-topics")
    assert r.returncode == 0 and TOPIC in json.loads(r.stdout), r.stdout
    r = cluster.admin("--output", "json", "list-brokers")
    assert r.returncode == 0, r.stderr
    brokers = {b["id"]: b for b in json.loads(r.stdout)}
    assert sorted(brokers) == BROKERS
    for b in cluster.brokers.values():
        assert brokers[b.id]["port"] == b.port
        assert brokers[b.id]["endpoints"] == [f"PLAINTEXT://127.0.0.1:{b.port}"]
        assert brokers[b.id]["controller"] == (b.id == cluster.controller())
        rpc = b.registration()[0]["kbroker_rpc"]
        assert brokers[b.id]["rpc"] == f"{rpc['host']}:{rpc['port']}", brokers[b.id]
    r = cluster.admin("list-brokers")
    assert r.returncode == 0, r.stderr
    lines = {int(ln.split()[0]): ln.split() for ln in r.stdout.splitlines()}
    assert all(lines[i][-1] == brokers[i]["rpc"] for i in BROKERS), r.stdout


def test_a_new_topic_shows_its_whole_partition_count_from_its_first_metadata(cluster, orders):
    """The controller tells a new topic's partitions as their first states
    land, a few at a time; a broker's Metadata must still show the topic
    with all its partitions (those not told yet without a leader), never 1,
    then 2, ...: a producer would hash its keys over the wrong count."""
    name, n = "wide-new", 300
    r = cluster.admin("create-topic", "--topic", name, "--partitions", n, "--replication-factor", 1)
    assert r.returncode == 0, r.stderr
    seen = set()

    def all_led():
        t = h.metadata(cluster.brokers[2]).get("topics", {}).get(name)
        if t is None:
            return False
        parts = t[1]
        seen.add(len(parts))
        return len(parts) == n and all(p.leader >= 0 for p in parts.values())

    with h.step(f"poll broker 2's Metadata until every partition of {name} ({n}) is led"):
        h.wait_until(all_led, 60, f"every partition of {name} led", interval=0.002)
    assert seen == {n}, f"partition counts seen while the topic was being created: {sorted(seen)}"


BAD_CREATES = [
    ("topic exists", 3, ["--topic", TOPIC, "--partitions", 1, "--replication-factor", 1]),
    ("space in name", 4, ["--topic", "a b", "--partitions", 1, "--replication-factor", 1]),
    ("name dot-dot", 4, ["--topic", "..", "--partitions", 1, "--replication-factor", 1]),
    ("250-char name", 4, ["--topic", "x" * 250, "--partitions", 1, "--replication-factor", 1]),
    ("RF 4 on 3 brokers", 5, ["--topic", "rf4", "--partitions", 1, "--replication-factor", 4]),
    ("0 partitions", 5, ["--topic", "p0", "--partitions", 0, "--replication-factor", 1]),
    ("unknown broker in assignment", 5, ["--topic", "ghost", "--replica-assignment", "1:9"]),
    ("uneven assignment", 5, ["--topic", "uneven", "--replica-assignment", "1:2,3"]),
    ("broker twice in a list", 5, ["--topic", "dup", "--replica-assignment", "1:1"]),
    ("assignment with partitions", 1, ["--topic", "both", "--partitions", 2,
                                       "--replica-assignment", "1:2,2:3"]),
]


@pytest.mark.parametrize("why,status,args", [pytest.param(*c, id=c[0]) for c in BAD_CREATES])
def test_create_topic_refuses_bad_requests_with_documented_exit_status(cluster, orders, why, status, args):
    before = set(cluster.children("/brokers/topics"))
    r = cluster.admin("create-topic", *args)
    assert r.returncode == status, f"{why}: expected exit {status}, got {r.returncode}: {r.stderr}"
    assert r.stderr.strip(), f"{why}: an error must explain itself on stderr"
    assert set(cluster.children("/brokers/topics")) == before, f"{why}: nothing may be created"


def test_partition_count_whose_znode_exceeds_zookeepers_limit_is_refused_naming_it(cluster):
    with h.step("kbroker-admin create-topic huge --partitions 100000 --replication-factor 1"):
        r = cluster.admin("create-topic", "--topic", "huge", "--partitions", 100000, "--replication-factor", 1)
    assert r.returncode == 5, r
    assert r.stderr.startswith("kbroker-admin: ") and "1 MiB" in r.stderr and "jute.maxbuffer" in r.stderr, r.stderr
    assert cluster.get("/brokers/topics/huge") is None and cluster.get("/config/topics/huge") is None


def test_describe_of_an_unknown_topic_exits_6(cluster):
    r = cluster.admin("describe-topic", "--topic", "no-such-topic")
    assert r.returncode == 6, r


def test_unreachable_zookeeper_exits_2_within_the_timeout(cluster):
    port = h.closed_port()
    for command in (["list-topics"], ["create-topic", "--topic", "t", "--partitions", "1",
                                      "--replication-factor", "1"]):
        r = h.run_admin("--timeout", "2", *command, zookeeper=f"127.0.0.1:{port}", timeout=30)
        assert r.returncode == 2, r
        assert "unreachable within 2 seconds" in r.stderr, r


def test_explicit_replica_assignment_is_written_verbatim(cluster):
    with h.step("kbroker-admin create-topic pinned --replica-assignment 3:1:2,2:3:1,1:2:3"):
        r = cluster.admin("create-topic", "--topic", "pinned", "--replica-assignment", "3:1:2,2:3:1,1:2:3")
    assert r.returncode == 0, r.stderr
    topic, _ = cluster.get_json("/brokers/topics/pinned")
    assert topic == {"version": 2, "partitions": {"0": [3, 1, 2], "1": [2, 3, 1], "2": [1, 2, 3]},
                     "adding_replicas": {}, "removing_replicas": {}}
    assert cluster.get_json("/config/topics/pinned")[0] == {"version": 1, "config": {}}
    states = cluster.wait_states("pinned")
    assert h.leaders_of(states) == {0: 3, 1: 2, 2: 1}
