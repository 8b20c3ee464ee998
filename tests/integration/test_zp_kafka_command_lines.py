"""
Scenario zp: an operator (or a script written for Kafka) runs Kafka's own
command lines against kbroker (issue 14 item 6).  kafka-topics.sh and
kafka-configs.sh are the entry points the build makes next to kbroker-admin
(build/kafka-topics.sh); the command lines are those of Kafka's quickstart
documentation, word for word except the ports (the harness uses ephemeral
ones where the documentation says 9092 and 2181), and what they print is
held to Kafka 2.6's formats.

One ZooKeeper and three brokers for the whole file.  The runbook:

  quickstart 2.6   --create --topic quickstart-events --bootstrap-server
                   localhost:PORT, then --describe of it: "Created topic
                   quickstart-events." and the describe lines in Kafka's
                   format (one partition, replication factor 1);
  quickstart 2.x   --create --zookeeper localhost:PORT --replication-factor 1
                   --partitions 1 --topic test, then --list; the replicated
                   example (--replication-factor 3 --partitions 1 --topic
                   my-replicated-topic) described through ZooKeeper and
                   through the brokers, the same leader, replicas and ISR;
                   the report options (nothing under-replicated or
                   unavailable) and --topic as a regular expression;
  reports          a rolling restart's check: broker 3 stopped, each
                   report (--under-replicated-partitions,
                   --unavailable-partitions, --under-min-isr-partitions,
                   --at-min-isr-partitions) through ZooKeeper, the brokers
                   and kbroker-admin describe-topic lists what Kafka's
                   rules select from the state znodes; broker 3 back,
                   nothing;
  configs          kafka-configs.sh --alter --add-config
                   max.message.bytes=128000, --describe, --delete-config,
                   through ZooKeeper and through the brokers, the overrides
                   checked in /config/topics/T; a bracketed value;
                   kafka-topics.sh --alter --config (ZooKeeper) and
                   --describe showing the override in "Configs:", as
                   kbroker-admin describe-topic --topics-with-overrides;
  errors           an existing topic (Kafka's message, exit 1) and
                   --if-not-exists (exit 0, silent); an unknown topic; an
                   unknown option and no action (usage, exit 1); ZooKeeper
                   and a bootstrap server nobody listens on (a clear error
                   within the bound); --delete and --alter --partitions, whose
                   broker side (DeleteTopics, CreatePartitions) and ZooKeeper
                   commands are other work: either done or refused clearly;
                   --alter to fewer partitions refused in AdminZkClient's
                   words through ZooKeeper, in CreatePartitions' through the
                   brokers (the exception's class first, as Kafka's
                   alterTopic prints it); a colliding name in
                   AdminZkClient's words;
  deletion off     a second cluster with delete.topic.enable=false:
                   --delete through the brokers prints
                   TopicDeletionDisabledException, through ZooKeeper the
                   marker's lines; with no controller, "already marked",
                   and --list / --describe show the mark;
  reassignment     kafka-reassign-partitions.sh --zookeeper --generate (a
                   candidate plan, then carried out by --execute), --execute and
                   --verify, Kafka's checks of each action's options.
"""
import json
import re

import pytest

import kbharness as h

BROKERS = [1, 2, 3]
# Bounds: one tool run, a wait for the cluster to show a change, and the
# --timeout given to the unreachable cases.
RUN_S = 120
WAIT_S = 60
UNREACHABLE_TIMEOUT_S = 3

DESCRIBE_HEADER = re.compile(r"^Topic: (?P<topic>\S+)\tPartitionCount: (?P<partitions>\d+)\t"
                             r"ReplicationFactor: (?P<rf>\d+)\tConfigs: (?P<configs>(\S+=\S*(,\S+=\S*)*)?)$")
DESCRIBE_PARTITION = re.compile(r"^\tTopic: (?P<topic>\S+)\tPartition: (?P<partition>\d+)\t"
                                r"Leader: (?P<leader>\d+|none)\tReplicas: (?P<replicas>\d+(,\d+)*)\t"
                                r"Isr: (?P<isr>(\d+(,\d+)*)?)$")
DEPRECATED_ZK = ("Warning: --zookeeper is deprecated and will be removed in a future version of Kafka.\n"
                 "Use --bootstrap-server instead to specify a broker to connect to.\n")


def tool(name, *args, timeout=RUN_S):
    """Runs build/<name>.sh with args: the finished process, printed."""
    return h.kafka_tool(name, *args, timeout=timeout)


def topics(*args, **kw):
    return tool("kafka-topics", *args, **kw)


def configs(*args, **kw):
    return tool("kafka-configs", *args, **kw)


def zk(cluster):
    """The ZooKeeper address as Kafka's documentation writes it."""
    return f"localhost:{cluster.zookeeper.port}"


def bootstrap(cluster):
    return f"localhost:{cluster.brokers[1].port}"


def parse_describe(text):
    """--describe output: {topic: (header match, [partition matches])}; every
    line must be one of Kafka's two."""
    out = {}
    for line in text.splitlines():
        m = DESCRIBE_HEADER.match(line)
        if m:
            out[m["topic"]] = (m, [])
            continue
        p = DESCRIBE_PARTITION.match(line)
        assert p, f"not a kafka-topics --describe line: {line!r}"
        out[p["topic"]][1].append(p)
    return out


def ids(text):
    return [int(x) for x in text.split(",")] if text else []


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start brokers 1, 2, 3"):
        c.start_brokers(BROKERS)
        c.wait_controller()
    return c


# -- the quickstarts ----------------------------------------------------------

def test_quickstart_2_6_create_and_describe_through_the_brokers(cluster):
    with h.step("kafka-topics.sh --create --topic quickstart-events --bootstrap-server localhost:PORT"):
        r = topics("--create", "--topic", "quickstart-events", "--bootstrap-server", bootstrap(cluster))
    assert (r.returncode, r.stdout, r.stderr) == (0, "Created topic quickstart-events.\n", "")
    leaders = cluster.wait_topic_ready("quickstart-events", WAIT_S)
    with h.step("kafka-topics.sh --describe --topic quickstart-events --bootstrap-server localhost:PORT"):
        r = topics("--describe", "--topic", "quickstart-events", "--bootstrap-server", bootstrap(cluster))
    assert r.returncode == 0 and r.stderr == ""
    described = parse_describe(r.stdout)
    assert list(described) == ["quickstart-events"]
    header, parts = described["quickstart-events"]
    assert (header["partitions"], header["rf"]) == ("1", "1"), "Kafka's defaults: num.partitions=1, RF 1"
    assert len(parts) == 1 and parts[0]["partition"] == "0"
    assert int(parts[0]["leader"]) == leaders[0]
    assert ids(parts[0]["replicas"]) == ids(parts[0]["isr"]) == [leaders[0]]


def test_quickstart_2_x_create_and_list_through_zookeeper(cluster):
    with h.step("kafka-topics.sh --create --zookeeper localhost:PORT --replication-factor 1 --partitions 1 "
                "--topic test"):
        r = topics("--create", "--zookeeper", zk(cluster), "--replication-factor", "1", "--partitions", "1",
                   "--topic", "test")
    assert (r.returncode, r.stdout, r.stderr) == (0, "Created topic test.\n", "")
    assert cluster.topic("test") is not None
    cluster.wait_topic_ready("test", WAIT_S)
    with h.step("kafka-topics.sh --list --zookeeper localhost:PORT"):
        r = topics("--list", "--zookeeper", zk(cluster))
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.splitlines() == sorted(cluster.children("/brokers/topics"))
    assert "test" in r.stdout.splitlines()
    with h.step("kafka-topics.sh --list --bootstrap-server: the same names"):
        r = topics("--list", "--bootstrap-server", bootstrap(cluster))
    assert r.returncode == 0 and r.stdout.splitlines() == sorted(cluster.children("/brokers/topics"))


def test_replicated_topic_described_alike_through_zookeeper_and_the_brokers(cluster):
    with h.step("kafka-topics.sh --create --zookeeper localhost:PORT --replication-factor 3 --partitions 1 "
                "--topic my-replicated-topic"):
        r = topics("--create", "--zookeeper", zk(cluster), "--replication-factor", "3", "--partitions", "1",
                   "--topic", "my-replicated-topic")
    assert (r.returncode, r.stdout) == (0, "Created topic my-replicated-topic.\n")

    def full_isr():
        st = cluster.states("my-replicated-topic")
        return st if st and len(st[0]["isr"]) == 3 else None
    cluster.wait_topic_ready("my-replicated-topic", WAIT_S)
    h.wait_until(full_isr, WAIT_S, "all three replicas of my-replicated-topic in the ISR")
    with h.step("kafka-topics.sh --describe --zookeeper localhost:PORT --topic my-replicated-topic"):
        r = topics("--describe", "--zookeeper", zk(cluster), "--topic", "my-replicated-topic")
    assert r.returncode == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0] == "Topic: my-replicated-topic\tPartitionCount: 1\tReplicationFactor: 3\tConfigs: "
    part = DESCRIBE_PARTITION.match(lines[1])
    assert part and len(lines) == 2, lines
    state = cluster.state("my-replicated-topic", 0)
    assert int(part["leader"]) == state["leader"]
    assert sorted(ids(part["replicas"])) == BROKERS
    assert ids(part["replicas"]) == cluster.topic("my-replicated-topic")["partitions"]["0"]
    assert sorted(ids(part["isr"])) == sorted(state["isr"])

    def same_through_brokers():
        b = topics("--describe", "--bootstrap-server", bootstrap(cluster), "--topic", "my-replicated-topic")
        got = b.stdout.splitlines()
        return got if b.returncode == 0 and got[1:] == lines[1:] else None
    with h.step("kafka-topics.sh --describe --bootstrap-server: the same partition line"):
        got = h.wait_until(same_through_brokers, WAIT_S, "the brokers to describe what ZooKeeper holds")
    header = DESCRIBE_HEADER.match(got[0])
    assert header and (header["topic"], header["partitions"], header["rf"]) == ("my-replicated-topic", "1", "3")


@pytest.mark.parametrize("via", ["zookeeper", "bootstrap-server"])
def test_report_options_print_only_the_partitions_they_select(cluster, via):
    """A healthy cluster: no partition is under-replicated or without a live
    leader, so those reports print nothing; a regular expression --topic
    selects whole names only."""
    where = zk(cluster) if via == "zookeeper" else bootstrap(cluster)
    for report in ("--under-replicated-partitions", "--unavailable-partitions"):
        r = topics("--describe", f"--{via}", where, report)
        assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = topics("--describe", f"--{via}", where, "--topic", "my-.*-topic,tes.")
    assert r.returncode == 0
    assert sorted(parse_describe(r.stdout)) == ["my-replicated-topic", "test"]
    r = topics("--list", f"--{via}", where, "--topic", "tes")
    assert (r.returncode, r.stdout.strip()) == (0, "")


def reported(text):
    """The (topic, partition) of each line a report printed; every line must
    be a partition line (reports print no topic line)."""
    out = []
    for line in text.splitlines():
        m = DESCRIBE_PARTITION.match(line.split("\tAdding Replicas:")[0])
        assert m, f"not a partition line: {line!r}"
        out.append((m["topic"], int(m["partition"])))
    return out


def test_reports_during_a_rolling_restart_either_way_and_in_kbroker_admin(cluster):
    """The rolling-restart runbook's check, in each tool: broker 3 stopped,
    --under-replicated-partitions lists the partitions whose ISR lacks it,
    --unavailable-partitions the one only it held, --under-min-isr and
    --at-min-isr-partitions judge the ISR against min.insync.replicas
    (through the brokers, and in kbroker-admin describe-topic, which asks
    the brokers for it; kafka-topics.sh --zookeeper refuses them as Kafka's
    does); broker 3 back and in every ISR, the reports print nothing."""
    c = cluster
    topics_re = "rr|solo"
    r = topics("--create", "--zookeeper", zk(c), "--topic", "rr", "--replica-assignment", "1:2:3,2:3:1,3:1:2",
               "--config", "min.insync.replicas=2")
    assert r.returncode == 0, r.stdout + r.stderr
    r = topics("--create", "--zookeeper", zk(c), "--topic", "solo", "--replica-assignment", "3")
    assert r.returncode == 0, r.stdout + r.stderr
    h.wait_full_isr(c, "rr")
    c.wait_topic_ready("solo", WAIT_S)
    min_isr = {"rr": 2, "solo": 1}

    def each_way(report):
        """The partitions the report lists through ZooKeeper (None where
        Kafka refuses it), the brokers and kbroker-admin describe-topic."""
        zk_r = topics("--describe", "--zookeeper", zk(c), "--topic", topics_re, f"--{report}")
        bs_r = topics("--describe", "--bootstrap-server", bootstrap(c), "--topic", topics_re, f"--{report}")
        ka = [c.admin("describe-topic", "--topic", t, f"--{report}") for t in ("rr", "solo")]
        assert bs_r.returncode == 0 and all(x.returncode == 0 for x in ka), (bs_r, ka)
        if "min-isr" in report:
            assert (zk_r.returncode, zk_r.stdout) == (1, "") and zk_r.stderr.startswith(
                f'Option "[{report}]" can\'t be used with option "[zookeeper]"\n'), zk_r.stderr
            zk_got = None
        else:
            assert zk_r.returncode == 0, zk_r.stderr
            zk_got = reported(zk_r.stdout)
        return zk_got, reported(bs_r.stdout), reported(ka[0].stdout + ka[1].stdout)

    def expected(states_by_topic):
        live = set(c.registered_ids())
        want = {"under-replicated-partitions": [], "unavailable-partitions": [], "under-min-isr-partitions": [],
                "at-min-isr-partitions": []}
        for t in ("rr", "solo"):
            replicas = c.topic(t)["partitions"]
            for p, st in sorted(states_by_topic[t].items()):
                led, isr = st["leader"] >= 0, st["isr"]
                if len(replicas[str(p)]) - len(isr) > 0:
                    want["under-replicated-partitions"].append((t, p))
                if not led or st["leader"] not in live:
                    want["unavailable-partitions"].append((t, p))
                if not led or len(isr) < min_isr[t]:
                    want["under-min-isr-partitions"].append((t, p))
                if len(isr) == min_isr[t]:
                    want["at-min-isr-partitions"].append((t, p))
        return want

    with h.step("a healthy cluster: nothing under-replicated, unavailable or under min ISR"):
        want = expected({t: c.states(t) for t in ("rr", "solo")})
        assert want["at-min-isr-partitions"] == [("solo", 0)], want
        for report, parts in want.items():
            zk_got, bs_got, ka_got = each_way(report)
            assert bs_got == ka_got == parts and zk_got in (None, parts), (report, zk_got, bs_got, ka_got)
    with h.step("broker 3 stopped (SIGTERM: controlled shutdown)"):
        assert c.brokers[3].stop() == 0
        h.wait_until(lambda: 3 not in c.registered_ids() or None, WAIT_S, "broker 3's registration to go")

        def settled():
            st = {t: c.states(t) for t in ("rr", "solo")}
            ok = all(3 not in s["isr"] and s["leader"] != 3 for s in st["rr"].values()) and \
                st["solo"][0]["leader"] == -1
            return st if ok else None
        states = h.wait_until(settled, WAIT_S, "the controller to take broker 3 out of every ISR and leadership")
    with h.step("each report, each way, while broker 3 is down"):
        want = expected(states)
        assert want["under-replicated-partitions"] == [("rr", 0), ("rr", 1), ("rr", 2)] + \
            ([("solo", 0)] if not states["solo"][0]["isr"] else []), want
        assert want["unavailable-partitions"] == [("solo", 0)], want
        assert ("solo", 0) in want["under-min-isr-partitions"] and \
            [("rr", 0), ("rr", 1), ("rr", 2)] == [x for x in want["at-min-isr-partitions"] if x[0] == "rr"], want
        for report, parts in want.items():
            zk_got, bs_got, ka_got = h.wait_until(
                lambda report=report: (lambda got: got if got[1] == got[2] == parts else None)(each_way(report)),
                WAIT_S, f"the brokers' metadata to agree with ZooKeeper for --{report}")
            assert zk_got in (None, parts), (report, zk_got, parts)
    with h.step("broker 3 restarted and back in every ISR: the reports print nothing"):
        old = c.brokers[3].registration()
        c.brokers[3].start()
        c.brokers[3].wait_registered(60, newer_than=old[1].czxid if old else None)
        h.wait_full_isr(c, "rr")
        c.wait_topic_ready("solo", WAIT_S)
        for report in ("under-replicated-partitions", "unavailable-partitions"):
            h.wait_until(lambda report=report: each_way(report) == ([], [], []) or None, WAIT_S,
                         f"--{report} to print nothing")
    with h.step("rr and solo deleted, leaving the cluster as it was"):
        r = topics("--delete", "--bootstrap-server", bootstrap(c), "--topic", topics_re)
        assert (r.returncode, r.stdout) == (0, ""), r.stdout + r.stderr
        h.wait_until(lambda: c.topic("rr") is None and c.topic("solo") is None, WAIT_S, "rr and solo to be deleted")


# -- configs ------------------------------------------------------------------

def test_kafka_configs_through_zookeeper(cluster):
    args = ["--zookeeper", zk(cluster), "--entity-type", "topics", "--entity-name", "test"]
    with h.step("kafka-configs.sh --zookeeper ... --alter --add-config max.message.bytes=128000"):
        r = configs(*args, "--alter", "--add-config", "max.message.bytes=128000")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == DEPRECATED_ZK + "Completed updating config for entity: topic 'test'.\n"
    assert cluster.get_json("/config/topics/test")[0]["config"] == {"max.message.bytes": "128000"}
    with h.step("kafka-configs.sh --zookeeper ... --describe"):
        r = configs(*args, "--describe")
    assert r.stdout == DEPRECATED_ZK + "Configs for topic 'test' are max.message.bytes=128000\n"
    with h.step("kafka-topics.sh --describe --topics-with-overrides shows the override in Configs:"):
        r = topics("--describe", "--zookeeper", zk(cluster), "--topics-with-overrides")
    assert r.returncode == 0
    assert r.stdout == "Topic: test\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: max.message.bytes=128000\n"
    with h.step("kbroker-admin describe-topic --topics-with-overrides: the same line"):
        r = cluster.admin("describe-topic", "--topics-with-overrides")
    assert (r.returncode, r.stdout) == (0, "Topic: test\tPartitionCount: 1\tReplicationFactor: 1\t"
                                           "Configs: max.message.bytes=128000\n")
    r = cluster.admin("--output", "json", "describe-topic", "--topics-with-overrides")
    assert [(t["topic"], t["configs"]) for t in json.loads(r.stdout)] == [("test", {"max.message.bytes": "128000"})]
    with h.step("a bracketed value and a second key"):
        r = configs(*args, "--alter", "--add-config", "cleanup.policy=[delete],retention.ms=86400000")
    assert r.returncode == 0, r.stderr
    assert cluster.get_json("/config/topics/test")[0]["config"] == {
        "max.message.bytes": "128000", "cleanup.policy": "delete", "retention.ms": "86400000"}
    with h.step("kafka-configs.sh --zookeeper ... --alter --delete-config max.message.bytes,cleanup.policy,retention.ms"):
        r = configs(*args, "--alter", "--delete-config", "max.message.bytes,cleanup.policy,retention.ms")
    assert r.stdout == DEPRECATED_ZK + "Completed updating config for entity: topic 'test'.\n"
    assert cluster.get_json("/config/topics/test")[0]["config"] == {}
    r = configs(*args, "--describe")
    assert r.stdout == DEPRECATED_ZK + "Configs for topic 'test' are \n"
    with h.step("deleting a key the topic does not have: Kafka's message"):
        r = configs(*args, "--alter", "--delete-config", "nope.key")
    assert (r.returncode, r.stderr) == (1, "Invalid config(s): nope.key\n")


def test_kafka_configs_through_the_brokers(cluster):
    args = ["--bootstrap-server", bootstrap(cluster), "--entity-type", "topics", "--entity-name", "test"]
    with h.step("kafka-configs.sh --bootstrap-server ... --alter --add-config max.message.bytes=128000"):
        r = configs(*args, "--alter", "--add-config", "max.message.bytes=128000")
    assert (r.returncode, r.stdout, r.stderr) == (0, "Completed updating config for topic test.\n", "")
    assert cluster.get_json("/config/topics/test")[0]["config"] == {"max.message.bytes": "128000"}
    line = re.compile(r"^  max\.message\.bytes=128000 sensitive=false "
                      r"synonyms=\{DYNAMIC_TOPIC_CONFIG:max\.message\.bytes=128000(, [A-Z_]+:[a-z.]+=\S+)*\}$")

    def described(want_lines):
        r = configs(*args, "--describe")
        out = r.stdout.splitlines()
        return out if r.returncode == 0 and out[0] == "Dynamic configs for topic test are:" and \
            len(out) == 1 + want_lines else None
    with h.step("kafka-configs.sh --bootstrap-server ... --describe (every broker has the override)"):
        out = h.wait_until(lambda: described(1), WAIT_S, "the override in DescribeConfigs")
    assert line.match(out[1]), out
    with h.step("kafka-configs.sh --bootstrap-server ... --alter --delete-config max.message.bytes"):
        r = configs(*args, "--alter", "--delete-config", "max.message.bytes")
    assert (r.returncode, r.stdout) == (0, "Completed updating config for topic test.\n")
    assert cluster.get_json("/config/topics/test")[0]["config"] == {}
    h.wait_until(lambda: described(0), WAIT_S, "no dynamic config left")
    with h.step("--topic shorthand, --all: every config with its source"):
        r = configs("--bootstrap-server", bootstrap(cluster), "--topic", "test", "--describe", "--all")
    assert r.returncode == 0 and r.stdout.startswith("All configs for topic test are:\n")
    assert any(x.startswith("  max.message.bytes=") for x in r.stdout.splitlines())


def test_kafka_topics_alter_config_through_zookeeper(cluster):
    with h.step("kafka-topics.sh --alter --zookeeper ... --topic test --config retention.ms=3600000"):
        r = topics("--alter", "--zookeeper", zk(cluster), "--topic", "test", "--config", "retention.ms=3600000")
    assert r.returncode == 0
    assert r.stdout.splitlines()[-1] == "Updated config for topic test."
    assert r.stdout.startswith("WARNING: Altering topic configuration from this script has been deprecated")
    assert cluster.get_json("/config/topics/test")[0]["config"] == {"retention.ms": "3600000"}
    r = topics("--alter", "--zookeeper", zk(cluster), "--topic", "test", "--delete-config", "retention.ms")
    assert r.returncode == 0 and cluster.get_json("/config/topics/test")[0]["config"] == {}


# -- errors -------------------------------------------------------------------

@pytest.mark.parametrize("via", ["zookeeper", "bootstrap-server"])
def test_existing_topic_is_kafkas_error_unless_if_not_exists(cluster, via):
    where = zk(cluster) if via == "zookeeper" else bootstrap(cluster)
    with h.step(f"--create of the existing topic test through --{via}"):
        r = topics("--create", f"--{via}", where, "--topic", "test", "--partitions", "1",
                   "--replication-factor", "1")
    assert (r.returncode, r.stdout) == (1, "Error while executing topic command : Topic 'test' already exists.\n")
    with h.step("the same with --if-not-exists"):
        r = topics("--create", f"--{via}", where, "--topic", "test", "--partitions", "1",
                   "--replication-factor", "1", "--if-not-exists")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


COLLISION_WARNING = ("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') "
                     "could collide. To avoid issues it is best to use either, but not both.\n")


@pytest.mark.parametrize("via", ["zookeeper", "bootstrap-server"])
def test_a_colliding_name_is_refused_in_adminzkclients_words(cluster, via):
    where = zk(cluster) if via == "zookeeper" else bootstrap(cluster)
    if cluster.topic("metric.name") is None:
        r = topics("--create", "--zookeeper", zk(cluster), "--topic", "metric.name", "--partitions", "1",
                   "--replication-factor", "1")
        assert r.returncode == 0, r.stdout + r.stderr
    with h.step(f"--create of metric_name through --{via}: it collides with metric.name"):
        r = topics("--create", f"--{via}", where, "--topic", "metric_name", "--partitions", "1",
                   "--replication-factor", "1")
    assert (r.returncode, r.stdout) == (1, COLLISION_WARNING + "Error while executing topic command : Topic "
                                           "'metric_name' collides with existing topics: metric.name\n"), r.stdout
    assert cluster.topic("metric_name") is None


@pytest.mark.parametrize("via", ["zookeeper", "bootstrap-server"])
def test_unknown_topic_is_kafkas_error(cluster, via):
    where = zk(cluster) if via == "zookeeper" else bootstrap(cluster)
    r = topics("--describe", f"--{via}", where, "--topic", "no-such-topic")
    assert (r.returncode, r.stdout) == (
        1, "Error while executing topic command : Topic 'no-such-topic' does not exist as expected\n")
    r = topics("--describe", f"--{via}", where, "--topic", "no-such-topic", "--if-exists")
    assert (r.returncode, r.stdout) == (0, "")


def test_bad_command_lines_print_usage_and_exit_1(cluster):
    r = topics("--create", "--zookeeper", zk(cluster), "--topic", "x", "--partitions", "1",
               "--replication-factor", "1", "--bogus")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("bogus is not a recognized option\n") and "--replication-factor" in r.stderr
    r = topics("--zookeeper", zk(cluster), "--topic", "x")
    assert r.returncode == 1
    assert r.stderr.startswith("Command must include exactly one action: --list, --describe, --create, --alter "
                               "or --delete\n")
    r = topics("--create", "--zookeeper", zk(cluster), "--topic", "x")
    assert (r.returncode, r.stderr.splitlines()[0]) == (1, 'Missing required argument "[partitions]"')
    r = topics("--list", "--zookeeper", zk(cluster), "--bootstrap-server", bootstrap(cluster))
    assert (r.returncode, r.stderr) == (1, "Only one of --bootstrap-server or --zookeeper must be specified\n")
    r = configs("--zookeeper", zk(cluster), "--entity-type", "topics", "--describe", "--alter")
    assert r.returncode == 1 and r.stderr.startswith("Command must include exactly one action: --describe, --alter\n")
    r = configs("--bootstrap-server", bootstrap(cluster), "--entity-type", "users", "--describe")
    assert r.returncode == 1 and "not supported" in r.stderr
    assert cluster.topic("x") is None


def test_unreachable_zookeeper_and_bootstrap_server_fail_clearly_in_bounded_time(cluster):
    port = h.closed_port()
    with h.step(f"kafka-topics.sh --list --zookeeper 127.0.0.1:{port} --timeout {UNREACHABLE_TIMEOUT_S}"):
        r = topics("--list", "--zookeeper", f"127.0.0.1:{port}", "--timeout", UNREACHABLE_TIMEOUT_S, timeout=60)
    assert r.returncode == 1
    assert r.stdout == (f"Error while executing topic command : ZooKeeper at 127.0.0.1:{port} unreachable within "
                        f"{UNREACHABLE_TIMEOUT_S} seconds\n")
    with h.step(f"kafka-topics.sh --list --bootstrap-server 127.0.0.1:{port}"):
        r = topics("--list", "--bootstrap-server", f"127.0.0.1:{port}", timeout=60)
    assert r.returncode == 1
    assert r.stdout.startswith("Error while executing topic command : ") and f"127.0.0.1:{port}" in r.stdout
    with h.step(f"kafka-configs.sh --describe --bootstrap-server 127.0.0.1:{port}"):
        r = configs("--describe", "--bootstrap-server", f"127.0.0.1:{port}", "--topic", "test", timeout=60)
    assert r.returncode == 1 and r.stderr.startswith("Error while executing config command with args")


def test_delete_and_grow_either_way(cluster):
    """--alter --partitions and --delete through the brokers (CreatePartitions,
    DeleteTopics on the controller) and through ZooKeeper (the alter-topic and
    delete-topic commands), each with Kafka's output."""
    for name in ("doomed", "doomed-zk"):
        r = topics("--create", "--bootstrap-server", bootstrap(cluster), "--topic", name, "--partitions", "1",
                   "--replication-factor", "1")
        assert r.returncode == 0, r.stdout + r.stderr
        cluster.wait_topic_ready(name, WAIT_S)
    with h.step("kafka-topics.sh --alter --topic doomed --partitions 2 --bootstrap-server"):
        r = topics("--alter", "--bootstrap-server", bootstrap(cluster), "--topic", "doomed", "--partitions", "2")
        assert (r.returncode, r.stdout) == (0, ""), r.stdout + r.stderr
        h.wait_until(lambda: len((cluster.topic("doomed") or {}).get("partitions", {})) == 2, WAIT_S,
                     "doomed to have 2 partitions")
    with h.step("kafka-topics.sh --alter --topic doomed --partitions 3 --zookeeper"):
        r = topics("--alter", "--zookeeper", zk(cluster), "--topic", "doomed", "--partitions", "3")
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout == ("WARNING: If partitions are increased for a topic that has a key, the partition logic "
                            "or ordering of the messages will be affected\nAdding partitions succeeded!\n")
        h.wait_until(lambda: len((cluster.topic("doomed") or {}).get("partitions", {})) == 3, WAIT_S,
                     "doomed to have 3 partitions")
    with h.step("kafka-topics.sh --delete --topic doomed --bootstrap-server"):
        r = topics("--delete", "--bootstrap-server", bootstrap(cluster), "--topic", "doomed")
        assert (r.returncode, r.stdout) == (0, ""), r.stdout + r.stderr
        h.wait_until(lambda: cluster.topic("doomed") is None, WAIT_S, "doomed to be deleted")
    with h.step("kafka-topics.sh --delete --topic doomed-zk --zookeeper"):
        r = topics("--delete", "--zookeeper", zk(cluster), "--topic", "doomed-zk")
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout == ("Topic doomed-zk is marked for deletion.\nNote: This will have no impact if "
                            "delete.topic.enable is not set to true.\n")
        h.wait_until(lambda: cluster.topic("doomed-zk") is None, WAIT_S, "doomed-zk to be deleted")


def test_shrinking_is_refused_in_each_path_s_own_words(cluster):
    """--alter to fewer (or as many) partitions: through ZooKeeper it is
    AdminZkClient.addPartitions that refuses, after the warning; through the
    brokers it is CreatePartitions (AdminManager's words)."""
    r = topics("--create", "--bootstrap-server", bootstrap(cluster), "--topic", "shrink", "--partitions", "3",
               "--replication-factor", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    cluster.wait_topic_ready("shrink", WAIT_S)
    warning = ("WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering "
               "of the messages will be affected\n")
    for count in (2, 3):
        with h.step(f"kafka-topics.sh --alter --topic shrink --partitions {count} --zookeeper"):
            r = topics("--alter", "--zookeeper", zk(cluster), "--topic", "shrink", "--partitions", count)
        assert (r.returncode, r.stdout) == (1, warning + "Error while executing topic command : The number of "
                                            "partitions for a topic can only be increased. Topic shrink currently "
                                            f"has 3 partitions, {count} would not be an increase.\n"), r.stdout
    with h.step("kafka-topics.sh --alter --topic shrink --partitions 2 --bootstrap-server: the exception's class "
                "first, as Kafka's alterTopic leaves the ExecutionException unwrapped"):
        r = topics("--alter", "--bootstrap-server", bootstrap(cluster), "--topic", "shrink", "--partitions", "2")
    assert (r.returncode, r.stdout, r.stderr) == (
        1, "Error while executing topic command : org.apache.kafka.common.errors.InvalidPartitionsException: "
           "Topic currently has 3 partitions, which is higher than the requested 2.\n", ""), r.stdout
    assert len(cluster.topic("shrink")["partitions"]) == 3


@pytest.fixture(scope="module")
def no_delete(make_cluster):
    c = make_cluster(chroot="/no-delete")
    with h.step("a second cluster (chroot /no-delete): broker 11 with delete.topic.enable=false"):
        c.start_brokers([11], extra={"delete.topic.enable": "false"})
        c.wait_controller()
    return c


def test_deletion_disabled_and_marked_topics_in_each_path_s_words(no_delete):
    """delete.topic.enable=false: through the brokers DeleteTopics' refusal
    as the ExecutionException Kafka's deleteTopic lets through; through
    ZooKeeper the marker is written (Kafka's two lines, exit 0) and the
    controller removes it.  With no controller to remove it (the broker
    stopped), a second --delete says "already marked" only, and --list and
    --describe --zookeeper say the topic is marked for deletion."""
    c = no_delete
    zk_here = f"localhost:{c.zookeeper.port}/no-delete"
    c.create_topic("kept", 1, 1)
    with h.step("kafka-topics.sh --delete --topic kept --bootstrap-server"):
        r = topics("--delete", "--bootstrap-server", c.bootstrap(), "--topic", "kept")
    assert (r.returncode, r.stdout, r.stderr) == (
        1, "Error while executing topic command : org.apache.kafka.common.errors.TopicDeletionDisabledException: "
           "Topic deletion is disabled.\n", "")
    assert c.get("/admin/delete_topics/kept") is None
    with h.step("kafka-topics.sh --delete --topic kept --zookeeper: marked; the controller removes the marker"):
        r = topics("--delete", "--zookeeper", zk_here, "--topic", "kept")
        assert (r.returncode, r.stdout) == (0, "Topic kept is marked for deletion.\nNote: This will have no "
                                               "impact if delete.topic.enable is not set to true.\n")
        h.wait_until(lambda: c.get("/admin/delete_topics/kept") is None or None, WAIT_S,
                     "the controller to remove the marker")
    with h.step("broker 11 stopped: nobody removes a marker now"):
        assert c.brokers[11].stop() == 0
        h.wait_until(lambda: c.registered_ids() == [] and c.controller() is None, WAIT_S,
                     "broker 11's registration and controllership to go")
    with h.step("--delete twice through ZooKeeper: marked, then already marked (one line)"):
        r = topics("--delete", "--zookeeper", zk_here, "--topic", "kept")
        assert (r.returncode, r.stdout) == (0, "Topic kept is marked for deletion.\nNote: This will have no "
                                               "impact if delete.topic.enable is not set to true.\n")
        r = topics("--delete", "--zookeeper", zk_here, "--topic", "kept")
        assert (r.returncode, r.stdout) == (0, "Topic kept is already marked for deletion.\n")
    with h.step("--list and --describe --zookeeper show the mark"):
        r = topics("--list", "--zookeeper", zk_here)
        assert (r.returncode, r.stdout) == (0, "kept - marked for deletion\n")
        r = topics("--describe", "--zookeeper", zk_here, "--topic", "kept")
        lines = r.stdout.splitlines()
        assert r.returncode == 0 and len(lines) == 2, r.stdout
        assert lines[0] == "Topic: kept\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: \tMarkedForDeletion: true"
        assert lines[1].startswith("\tTopic: kept\tPartition: 0\tLeader: ") and \
            lines[1].endswith("\tReplicas: 11\tIsr: 11\tMarkedForDeletion: true"), lines[1]
    with h.step("broker 11 restarted: the controller removes the marker and keeps the topic"):
        c.brokers[11].start()
        c.brokers[11].wait_registered(60)
        h.wait_until(lambda: c.get("/admin/delete_topics/kept") is None or None, WAIT_S,
                     "the controller to remove the marker")
    assert c.topic("kept") is not None


ZK_DEPRECATED = "Warning: --zookeeper is deprecated, and will be removed in a future version of Kafka.\n"
VERIFY_INCOMPLETE = ("Warning: because you are using the deprecated --zookeeper option, the results may be "
                     "incomplete.  Use --bootstrap-server instead for more accurate results.\n")


def test_kafka_reassign_partitions_execute_and_verify_through_zookeeper(cluster):
    """kafka-reassign-partitions.sh --zookeeper: Kafka 2.6's lines and exit
    status (0 also for a --verify that finds a partition not where the plan
    says); what kbroker does not do is refused by name, exit 1."""
    cluster.create_topic("moving", 1, 1, assignment="1")
    plan = cluster.workdir / "moving.json"
    plan.write_text('{"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[2]}]}')
    with h.step("kafka-reassign-partitions.sh --zookeeper ... --reassignment-json-file moving.json --execute"):
        r = tool("kafka-reassign-partitions", "--zookeeper", zk(cluster), "--reassignment-json-file", plan,
                 "--execute")
    assert (r.returncode, r.stdout) == (0, ZK_DEPRECATED + "Current partition replica assignment\n\n"
                                           '{"version":1,"partitions":[{"topic":"moving","partition":0,'
                                           '"replicas":[1],"log_dirs":["any"]}]}\n\n'
                                           "Save this to use as the --reassignment-json-file option during "
                                           "rollback\nSuccessfully started partition reassignment for moving-0\n"), \
        r.stdout
    h.wait_until(lambda: cluster.get("/admin/reassign_partitions") is None or None, WAIT_S,
                 "the reassignment to complete")
    with h.step("kafka-reassign-partitions.sh --zookeeper ... --verify"):
        r = tool("kafka-reassign-partitions", "--zookeeper", zk(cluster), "--reassignment-json-file", plan,
                 "--verify")
    assert (r.returncode, r.stdout) == (0, ZK_DEPRECATED + VERIFY_INCOMPLETE + "Status of partition reassignment:\n"
                                           "Reassignment of partition moving-0 is complete.\n"), r.stdout
    other = cluster.workdir / "elsewhere.json"
    other.write_text('{"version":1,"partitions":[{"topic":"moving","partition":0,"replicas":[3]}]}')
    r = tool("kafka-reassign-partitions", "--zookeeper", zk(cluster), "--reassignment-json-file", other, "--verify")
    assert r.returncode == 0 and "but replica set is 2 rather than 3." in r.stdout, r.stdout
    for args, why in [(("--bootstrap-server", bootstrap(cluster), "--execute"), "through ZooKeeper only"),
                      (("--zookeeper", zk(cluster), "--execute", "--throttle", "1000"), "throttles")]:
        r = tool("kafka-reassign-partitions", *args, "--reassignment-json-file", plan)
        assert r.returncode == 1 and r.stdout.startswith("Error: ") and why in r.stdout, r.stdout
    r = tool("kafka-reassign-partitions", "--zookeeper", zk(cluster), "--execute", "--verify")
    assert r.returncode == 1 and r.stderr.startswith("Command must include exactly one action: "), r.stderr
    with h.step("Kafka's checks of which options each action takes"):
        for args, err in [(("--zookeeper", zk(cluster), "--cancel", "--reassignment-json-file", plan),
                           'Option "[zookeeper]" can\'t be used with action "[cancel]"\n'),
                          (("--bootstrap-server", bootstrap(cluster), "--list", "--reassignment-json-file", plan),
                           'Option "[reassignment-json-file]" can\'t be used with action "[list]"\n'),
                          (("--bootstrap-server", bootstrap(cluster), "--cancel"),
                           'Missing required argument "[reassignment-json-file]"\n'),
                          (("--zookeeper", zk(cluster), "--execute", "--reassignment-json-file", plan, "--timeout", "5"),
                           'You must specify --bootstrap-server when using "[timeout]"\n')]:
            r = tool("kafka-reassign-partitions", *args)
            assert r.returncode == 1 and r.stdout == "" and r.stderr.startswith(err), r.stderr
    assert cluster.topic("moving")["partitions"] == {"0": [2]}


def test_kafka_reassign_partitions_generate_then_execute_through_zookeeper(cluster):
    """--generate prints the topics' current assignment and a candidate
    spreading them over --broker-list, as Kafka 2.6's tool does (nothing is
    written); the candidate, given to --execute, is carried out.  Kafka's
    checks of the inputs, exit 1."""
    cluster.create_topic("spread", 6, 2, assignment="1:2,2:1,1:2,2:1,1:2,2:1")
    topics = cluster.workdir / "topics-to-move.json"
    topics.write_text('{"topics":[{"topic":"spread"}],"version":1}')
    with h.step("kafka-reassign-partitions.sh --zookeeper ... --topics-to-move-json-file ... --broker-list 1,2,3 "
                "--generate"):
        r = tool("kafka-reassign-partitions", "--zookeeper", zk(cluster), "--topics-to-move-json-file", topics,
                 "--broker-list", "1,2,3", "--generate")
    assert r.returncode == 0 and r.stdout.startswith(ZK_DEPRECATED), r
    lines = r.stdout[len(ZK_DEPRECATED):].split("\n")
    assert lines[0] == "Current partition replica assignment" and lines[2:4] == [
        "", "Proposed partition reassignment configuration"] and lines[5:] == [""], lines
    current = [{"topic": "spread", "partition": p, "replicas": [1, 2] if p % 2 == 0 else [2, 1],
                "log_dirs": ["any", "any"]} for p in range(6)]
    assert json.loads(lines[1]) == {"version": 1, "partitions": current}, lines[1]
    assert lines[1] == json.dumps(json.loads(lines[1]), separators=(",", ":")), "not Kafka's compact JSON"
    proposed = json.loads(lines[4])
    assert proposed["version"] == 1 and [e["partition"] for e in proposed["partitions"]] == list(range(6)), proposed
    for e in proposed["partitions"]:
        assert e["topic"] == "spread" and len(set(e["replicas"])) == 2 and set(e["replicas"]) <= {1, 2, 3} and \
            e["log_dirs"] == ["any", "any"], e
    # Kafka's placement: the first replicas go round the brokers, two each.
    assert sorted(e["replicas"][0] for e in proposed["partitions"]) == [1, 1, 2, 2, 3, 3], proposed
    assert cluster.get("/admin/reassign_partitions") is None, "--generate wrote something"
    plan = cluster.workdir / "proposed.json"
    plan.write_text(lines[4])
    with h.step("kafka-reassign-partitions.sh --zookeeper ... --reassignment-json-file proposed.json --execute"):
        r = tool("kafka-reassign-partitions", "--zookeeper", zk(cluster), "--reassignment-json-file", plan,
                 "--execute")
    assert r.returncode == 0 and "Successfully started partition reassignments for spread-0,spread-1," in r.stdout, r.stdout
    want = {str(e["partition"]): e["replicas"] for e in proposed["partitions"]}
    h.wait_until(lambda: cluster.get("/admin/reassign_partitions") is None and
                 cluster.topic("spread")["partitions"] == want or None, WAIT_S, "the generated plan to be carried out")
    bad = cluster.workdir / "bad-topics.json"
    for content, brokers, why in [
            ('{"topics":[{"topic":"spread"}],"version":1}', "1,2,1", "Broker list contains duplicate entries: 1"),
            ('{"topics":[{"topic":"spread"}],"version":1}', "1,x", 'For input string: "x"'),
            ('{"topics":[{"topic":"spread"}],"version":1}', "3", "Replication factor: 2 larger than available brokers: 1."),
            ('{"topics":[{"topic":"spread"},{"topic":"spread"}],"version":1}', "1,2,3",
             "List of topics to reassign contains duplicate entries: spread"),
            ('{"topics":[{"topic":"nosuch"}],"version":1}', "1,2,3", "Topic nosuch not found."),
            ('{"topics":[{"topic":"spread"}],"version":2}', "1,2,3", "Not supported version field value 2"),
            ("[1,2", "1,2,3", "The input string is not a valid JSON")]:
        bad.write_text(content)
        r = tool("kafka-reassign-partitions", "--zookeeper", zk(cluster), "--topics-to-move-json-file", bad,
                 "--broker-list", brokers, "--generate")
        assert r.returncode == 1 and ("Error: " + why) in r.stdout, (content, brokers, r.stdout)
    r = tool("kafka-reassign-partitions", "--bootstrap-server", bootstrap(cluster), "--topics-to-move-json-file",
             topics, "--broker-list", "1,2,3", "--generate")
    assert r.returncode == 1 and "through ZooKeeper only" in r.stdout, r.stdout
    r = tool("kafka-reassign-partitions", "--zookeeper", zk(cluster), "--generate", "--broker-list", "1,2")
    assert r.returncode == 1 and r.stderr.startswith('Missing required argument "[topics-to-move-json-file]"'), r


def test_kafka_leader_election_through_the_brokers(cluster):
    """kafka-leader-election.sh: the lines of kbroker-admin elect-leaders,
    Kafka's checks of the command line, exit 0 or 1."""
    cluster.create_topic("electing", 2, 2)
    cluster.wait_topic_ready("electing", WAIT_S)
    election = ("kafka-leader-election", "--bootstrap-server", bootstrap(cluster), "--election-type", "preferred")
    with h.step("kafka-leader-election.sh --election-type preferred --topic electing --partition 1"):
        r = tool(*election, "--topic", "electing", "--partition", "1")
    assert (r.returncode, r.stdout) == (0, "Valid replica already elected for partitions electing-1\n"), r.stdout
    r = tool(*election, "--topic", "nonexist", "--partition", "0")
    assert (r.returncode, r.stdout) == (1, "Error completing leader election (PREFERRED) for partition: nonexist-0: "
                                           "UNKNOWN_TOPIC_OR_PARTITION: The partition does not exist.\n"), r.stdout
    assert r.stderr == "Error: 1 replica(s) could not be elected\n", r.stderr
    for args, err in [(("--topic", "electing"), "Error: Missing required option(s): partition\n"),
                      (("--all-topic-partitions", "--topic", "electing"),
                       "Error: One and only one of the following options is required: topic, all-topic-partitions, "
                       "path-to-json-file\n")]:
        r = tool(*election, *args)
        assert (r.returncode, r.stderr) == (1, err), r.stderr
    r = tool("kafka-leader-election", "--bootstrap-server", bootstrap(cluster), "--all-topic-partitions")
    assert (r.returncode, r.stderr) == (1, "Error: Missing required option(s): election-type\n"), r.stderr
