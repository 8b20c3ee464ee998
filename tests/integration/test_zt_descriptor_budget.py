"""
Scenario zt: the partition budget (README "Limits and failures", file
descriptors).  A hostile trial took a whole 3-broker cluster down with one
CreatePartitions of an RF 3 topic to 25,000 partitions: every broker ran out
of descriptors, lost its ZooKeeper session and its checkpoints, flooded its
log, and then refused to restart.  Here the same, scaled down: three brokers
run under `prlimit --nofile=256:256`, which leaves each room for 166
partition logs (256 less 64, one for the log dir and a tenth), and a topic
`base` of 40 partitions RF 3 puts 40 on each.  The runbook:

  api            CreateTopics and CreatePartitions that would put more
                 partition replicas on a broker than 166 are refused with
                 POLICY_VIOLATION and a message naming the broker, the
                 counts, RLIMIT_NOFILE and the fix (confluent-kafka's
                 AdminClient, kafka-python's KafkaAdminClient), validate_only
                 too, nothing is written; exactly 166 fits;
  command lines  kbroker-admin create-topic / alter-topic and kafka-topics
                 --create / --alter through --zookeeper and through
                 --bootstrap-server refuse the same with the same message;
  zookeeper      a topic of 200 partitions RF 3 written straight into
                 ZooKeeper (as another tool could) does not take a broker
                 down: each hosts 126 of them up to its budget and answers
                 the other 74 KAFKA_STORAGE_ERROR in LeaderAndIsr, says so in
                 a few log lines, keeps its ZooKeeper registration (the same
                 ephemeral znode), has descriptors to spare, and `base`
                 still takes and serves records on every partition;
  restart        a broker restarted under the same limit starts (the budget
                 kept its logs within what a restart accepts); under a lower
                 one it refuses to start, naming RLIMIT_NOFILE and the fix;
  connections    client connections that take a broker's last descriptors
                 make accept() fail: the listeners stop accepting for a
                 second at a time instead of spinning (the broker's CPU time
                 stays low), the failure is logged a few times, not per
                 attempt, the metrics endpoint too, the ZooKeeper
                 registration stays, and once the connections close the
                 broker accepts and serves again.
"""
import json
import os
import socket
import time

import pytest

import kbharness as h

BROKERS = [1, 2, 3]
NOFILE = 256
BUDGET = h.partition_budget(NOFILE)  # 166: 256 less 64, 1 for the log dir and 25
BASE, BASE_PARTITIONS = "base", 40
DIRECT, DIRECT_PARTITIONS = "direct", 200
POLICY_VIOLATION, KAFKA_STORAGE_ERROR = 44, 56
TIMEOUT_S = 60
# The parts of every refusal's message (kb_capacity.c) that do not depend on the request.
LIMIT_CLAUSE = f"a broker can hold {BUDGET} here, because the file descriptor limit (RLIMIT_NOFILE) is {NOFILE}"
FIX_CLAUSE = "LimitNOFILE="
BIN_DIR = os.path.dirname(os.path.realpath(h.KBROKER_ADMIN_BIN))


def refusal_of(topic, now, more):
    return f"Topic '{topic}' cannot be placed: broker 1 would hold {now + more} partition replicas ({now} now, {more} more)"


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start brokers 1, 2, 3 under prlimit --nofile={NOFILE}:{NOFILE} (room for {BUDGET} logs each)"):
        for i in BROKERS:
            b = c.add_broker(i, metrics=True)
            b.launcher = ("prlimit", f"--nofile={NOFILE}:{NOFILE}")
            b.start()
        for i in BROKERS:
            c.brokers[i].wait_registered(60)
        c.wait_controller()
    for i in BROKERS:
        assert h.metric(c.brokers[i].metrics(), "kbroker_partition_budget") == BUDGET
    c.create_topic(BASE, partitions=BASE_PARTITIONS, rf=3, timeout=120)
    return c


def znode(cluster, path):
    got = cluster.get(path)
    return None if got is None else got[0]


def log_since(broker, mark):
    return broker.process.log_text()[mark:]


def lines_with(text, *parts):
    return [ln for ln in text.splitlines() if all(p in ln for p in parts)]


# -- api ---------------------------------------------------------------------

def ck_admin(cluster):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": cluster.bootstrap(), "socket.timeout.ms": 30000})


def ck_wait(futures):
    out = {}
    for name, f in futures.items():
        try:
            out[name] = f.result(timeout=TIMEOUT_S + 30)
        except Exception as e:  # noqa: BLE001 - the KafkaException is the answer
            out[name] = e
    return out


def assert_policy_violation(got, topic, now, more):
    err = got[topic].args[0]
    print(f"{topic}: {err.code()} {err.str()}")
    assert err.code() == POLICY_VIOLATION, err
    for part in (refusal_of(topic, now, more), LIMIT_CLAUSE, FIX_CLAUSE):
        assert part in err.str(), (part, err.str())


@pytest.mark.scenario("api")
def test_create_topics_past_the_budget_is_refused_validate_only_too(cluster):
    from confluent_kafka.admin import NewTopic
    admin = ck_admin(cluster)
    for validate_only in (True, False):
        with h.step(f"confluent create_topics(too-big: 127 partitions, RF 3, validate_only={validate_only})"):
            got = ck_wait(admin.create_topics([NewTopic("too-big", 127, 3)], operation_timeout=TIMEOUT_S,
                                              validate_only=validate_only))
        assert_policy_violation(got, "too-big", BASE_PARTITIONS, 127)
    with h.step("confluent create_topics(just-fits: 126 partitions, RF 3, validate_only): 40 + 126 = 166"):
        got = ck_wait(admin.create_topics([NewTopic("just-fits", BUDGET - BASE_PARTITIONS, 3)],
                                          operation_timeout=TIMEOUT_S, validate_only=True))
    assert got == {"just-fits": None}, got
    assert znode(cluster, "/brokers/topics/too-big") is None, "a refused topic was written"
    assert znode(cluster, "/brokers/topics/just-fits") is None, "validate_only wrote a topic"


@pytest.mark.scenario("api")
def test_create_partitions_past_the_budget_is_refused_validate_only_too(cluster):
    from confluent_kafka.admin import NewPartitions
    admin = ck_admin(cluster)
    before = znode(cluster, f"/brokers/topics/{BASE}")
    for validate_only in (True, False):
        with h.step(f"confluent create_partitions({BASE}: 200, validate_only={validate_only})"):
            got = ck_wait(admin.create_partitions([NewPartitions(BASE, 200)], operation_timeout=TIMEOUT_S,
                                                  validate_only=validate_only))
        assert_policy_violation(got, BASE, BASE_PARTITIONS, 200 - BASE_PARTITIONS)
    with h.step(f"confluent create_partitions({BASE}: {BUDGET}, validate_only): exactly the budget fits"):
        got = ck_wait(admin.create_partitions([NewPartitions(BASE, BUDGET)], operation_timeout=TIMEOUT_S,
                                              validate_only=True))
    assert got == {BASE: None}, got
    assert znode(cluster, f"/brokers/topics/{BASE}") == before, "the topic znode changed"


@pytest.mark.scenario("api")
def test_kafka_python_hears_policy_violation(cluster):
    import logging
    from kafka.admin import KafkaAdminClient, NewPartitions, NewTopic
    from kafka.errors import PolicyViolationError
    logging.getLogger("kafka").setLevel(logging.ERROR)
    ka = KafkaAdminClient(bootstrap_servers=cluster.bootstrap().split(","), api_version_auto_timeout_ms=15000,
                          request_timeout_ms=(TIMEOUT_S + 15) * 1000)
    try:
        with h.step("KafkaAdminClient.create_topics(kp-big: 200 partitions, RF 3): PolicyViolationError"):
            with pytest.raises(PolicyViolationError) as e:
                ka.create_topics([NewTopic("kp-big", 200, 3)], timeout_ms=TIMEOUT_S * 1000)
        print(e.value)
        assert refusal_of("kp-big", BASE_PARTITIONS, 200) in str(e.value), e.value
        with h.step(f"KafkaAdminClient.create_partitions({BASE}: 300, validate_only): PolicyViolationError"):
            with pytest.raises(PolicyViolationError) as e:
                ka.create_partitions({BASE: NewPartitions(300)}, timeout_ms=TIMEOUT_S * 1000, validate_only=True)
        assert refusal_of(BASE, BASE_PARTITIONS, 300 - BASE_PARTITIONS) in str(e.value), e.value
    finally:
        ka.close()
    assert znode(cluster, "/brokers/topics/kp-big") is None


# -- command lines -----------------------------------------------------------------

def _run(*argv):
    import subprocess
    t0 = time.monotonic()
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    print(f"$ {' '.join(str(a) for a in argv)}\n  exit {r.returncode} in {time.monotonic() - t0:.2f}s"
          f"\n  stdout: {r.stdout.rstrip()[:2000]!r}\n  stderr: {r.stderr.rstrip()[:2000]!r}", flush=True)
    return r


@pytest.mark.scenario("command lines")
def test_command_lines_refuse_past_the_budget_through_zookeeper_and_the_brokers(cluster):
    before = znode(cluster, f"/brokers/topics/{BASE}")
    with h.step("kbroker-admin create-topic cl-big --partitions 127 --replication-factor 3"):
        r = cluster.admin("create-topic", "--topic", "cl-big", "--partitions", 127, "--replication-factor", 3)
    assert r.returncode == 5, r
    for part in (refusal_of("cl-big", BASE_PARTITIONS, 127), LIMIT_CLAUSE, FIX_CLAUSE):
        assert part in r.stderr, (part, r.stderr)
    with h.step(f"kbroker-admin alter-topic {BASE} --partitions {BUDGET + 1}"):
        r = cluster.admin("alter-topic", "--topic", BASE, "--partitions", BUDGET + 1)
    assert r.returncode == 5 and refusal_of(BASE, BASE_PARTITIONS, BUDGET + 1 - BASE_PARTITIONS) in r.stderr, r
    zk = f"localhost:{cluster.zookeeper.port}"
    bootstrap = f"localhost:{cluster.brokers[1].port}"
    for via in (("--zookeeper", zk), ("--bootstrap-server", bootstrap)):
        with h.step(f"kafka-topics.sh --create --topic kt-big --partitions 200 --replication-factor 3 {via[0]}"):
            r = _run(os.path.join(BIN_DIR, "kafka-topics.sh"), "--create", "--topic", "kt-big", "--partitions",
                     200, "--replication-factor", 3, *via)
        assert r.returncode == 1, r
        assert ("Error while executing topic command : " + refusal_of("kt-big", BASE_PARTITIONS, 200)) in r.stdout, r
        with h.step(f"kafka-topics.sh --alter --topic {BASE} --partitions 300 {via[0]}"):
            r = _run(os.path.join(BIN_DIR, "kafka-topics.sh"), "--alter", "--topic", BASE, "--partitions", 300, *via)
        assert r.returncode == 1 and refusal_of(BASE, BASE_PARTITIONS, 300 - BASE_PARTITIONS) in r.stdout, r
    for name in ("cl-big", "kt-big"):
        assert znode(cluster, f"/brokers/topics/{name}") is None, f"{name} was written"
    assert znode(cluster, f"/brokers/topics/{BASE}") == before, "the topic znode changed"


# -- a topic written straight into ZooKeeper ----------------------------------------

def registrations(cluster):
    return {i: cluster.zk.get(f"/brokers/ids/{i}")[1].czxid for i in BROKERS}


def budget_state(broker):
    m = broker.metrics()
    return (h.metric(m, "kbroker_partition_logs"), h.metric(m, "kbroker_partitions_waiting_for_room"),
            h.metric(m, "kbroker_open_fds"), h.metric(m, "kbroker_open_fds_limit"))


def produce_and_consume_every_base_partition(cluster, tag):
    p = h.ck_producer(cluster.bootstrap(), acks="all", linger_ms=0)
    recs = [h.Rec(BASE, part, None, f"{tag}-{part}".encode(), b"v", (), None) for part in range(BASE_PARTITIONS)]
    with h.step(f"confluent-kafka: one acks=all record to each of the {BASE_PARTITIONS} partitions of {BASE}"):
        reports = h.ck_produce(p, recs, flush_every=BASE_PARTITIONS)
    assert all(e is None for _, e in reports), [str(e) for _, e in reports if e][:3]
    acked = {(r.partition, r.offset, r.key) for r, _ in reports}
    with h.step(f"read every partition of {BASE} back"):
        got, _ = h.ck_consume(cluster.bootstrap(), [(BASE, q) for q in range(BASE_PARTITIONS)])
    assert acked <= {(r.partition, r.offset, r.key) for r in got}


@pytest.mark.scenario("zookeeper")
def test_a_topic_written_into_zookeeper_past_the_budget_leaves_every_broker_serving(cluster):
    hosted = BUDGET - BASE_PARTITIONS
    waiting = DIRECT_PARTITIONS - hosted
    regs = registrations(cluster)
    marks = {i: len(cluster.brokers[i].process.log_text()) for i in BROKERS}
    doc = {"version": 2, "partitions": {str(q): [1 + q % 3, 1 + (q + 1) % 3, 1 + (q + 2) % 3]
                                        for q in range(DIRECT_PARTITIONS)},
           "adding_replicas": {}, "removing_replicas": {}}
    with h.step(f"write /brokers/topics/{DIRECT} ({DIRECT_PARTITIONS} partitions, RF 3) straight into ZooKeeper"):
        cluster.zk.create(f"/brokers/topics/{DIRECT}", json.dumps(doc).encode())
    with h.step(f"wait until each broker holds {BUDGET} logs and {waiting} partitions wait for room"):
        for i in BROKERS:
            b = cluster.brokers[i]
            h.wait_until(lambda: budget_state(b)[:2] == (BUDGET, waiting), 180,
                         f"broker {i} to hold {BUDGET} logs with {waiting} waiting")
    for i in BROKERS:
        b = cluster.brokers[i]
        logs, waits, fds, limit = budget_state(b)
        print(f"broker {i}: {logs:.0f} partition logs, {waits:.0f} waiting, {fds:.0f} of {limit:.0f} descriptors open")
        assert b.alive(), f"broker {i} died"
        assert fds < limit - 40, f"broker {i} has only {limit - fds:.0f} descriptors left"
    assert registrations(cluster) == regs, "a broker lost its ZooKeeper registration"
    produce_and_consume_every_base_partition(cluster, "after-direct")
    for i in BROKERS:
        text = log_since(cluster.brokers[i], marks[i])
        said = lines_with(text, "partition(s) assigned here", "are not hosted")
        print(f"broker {i}: {len(text.splitlines())} log lines since the write; {len(said)} say partitions wait, "
              f"e.g. {said[:1]}")
        assert said and "RLIMIT_NOFILE) is 256" in said[0] and FIX_CLAUSE in said[0], said
        # One line per batch of updates, at most one every 10 s: far fewer
        # lines than refused partitions.
        assert len(said) <= 10, said
        assert not lines_with(text, "Too many open files"), lines_with(text, "Too many open files")[:5]
        # The later batches are summed into a line at most 10 s after the first.
        h.wait_until(lambda: lines_with(log_since(cluster.brokers[i], marks[i]), "are not hosted",
                                        f"({waiting} wait in all)"), 60,
                     f"broker {i} to log that {waiting} partitions wait in all")
        assert not lines_with(text, "cannot create its log"), lines_with(text, "cannot create its log")[:5]
    controller = cluster.brokers[cluster.controller()]
    told = lines_with(controller.process.log_text(), "LeaderAndIsr left", f"(error {KAFKA_STORAGE_ERROR})")
    assert told, "the controller never heard KAFKA_STORAGE_ERROR"


@pytest.mark.scenario("restart")
def test_restart_under_the_same_limit_starts_and_a_lower_one_is_refused_naming_it(cluster):
    b = cluster.brokers[3]
    waiting = DIRECT_PARTITIONS - (BUDGET - BASE_PARTITIONS)
    with h.step("stop broker 3 and start it again under the same limit"):
        assert b.stop(timeout=120) == 0
        b.start()
        b.wait_registered(60)
    h.wait_until(lambda: budget_state(b)[:2] == (BUDGET, waiting), 180,
                 f"broker 3 to hold {BUDGET} logs with {waiting} waiting again")
    with h.step("stop broker 3 and start it under prlimit --nofile=200:200 (room for 115)"):
        assert b.stop(timeout=120) == 0
        mark = len(b.process.log_text())
        b.start(launcher=("prlimit", "--nofile=200:200"))
        rc = b.process.wait(60)
    out = b.process.log_text()[mark:]
    said = lines_with(out, "too few file descriptors", "RLIMIT_NOFILE")
    assert rc == 1 and said, f"exit status {rc}:\n{out[-3000:]}"
    print(said[-1])
    assert f"the {BUDGET} partition logs" in said[-1] and "room for 115" in said[-1] and \
        "LimitNOFILE=" in said[-1], said[-1]
    with h.step(f"start broker 3 under --nofile={NOFILE} again"):
        b.start()
        b.wait_registered(60)
        cluster.wait_topic_ready(BASE, 120)


# -- client connections take the last descriptors ------------------------------------

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connect_some(socks, port, n):
    """Up to n connections to port: the kernel completes them while the
    listen backlog has room, whether or not the broker accepts them; once
    the backlog is full a connect times out, and that is enough."""
    for _ in range(n):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        except OSError:
            return


@pytest.mark.scenario("connections")
def test_connections_that_take_the_last_descriptors_do_not_spin_or_flood(cluster):
    b = cluster.brokers[2]
    regs = registrations(cluster)
    mark = len(b.process.log_text())
    socks = []
    try:
        with h.step("open up to 300 client connections to broker 2 (it has about 70 descriptors free)"):
            connect_some(socks, b.port, 300)
            h.wait_until(lambda: lines_with(log_since(b, mark), "accept on listener", "Too many open files"), 60,
                         "broker 2 to say accept() failed")
        with h.step("and up to 20 to its metrics endpoint"):
            connect_some(socks, b.metrics_port, 20)
            h.wait_until(lambda: lines_with(log_since(b, mark), "accept on the metrics endpoint failed"), 60,
                         "the metrics endpoint to say accept() failed")
        with h.step("hold them 5 s: the broker's CPU time stays low"):
            cpu0, t0 = cpu_seconds(b.process.pid), time.monotonic()
            time.sleep(5)  # an observation window, not a synchronisation
            used, window = cpu_seconds(b.process.pid) - cpu0, time.monotonic() - t0
        print(f"broker 2 used {used:.2f} s of CPU in {window:.1f} s while out of descriptors")
        assert used < 0.5 * window, f"broker 2 spins: {used:.2f} s of CPU in {window:.1f} s"
        assert registrations(cluster) == regs, "a broker lost its ZooKeeper registration"
    finally:
        for s in socks:
            s.close()
    with h.step("once they are closed, broker 2 accepts and serves again"):
        h.wait_until(lambda: h.metric(b.metrics(timeout=5), "kbroker_open_fds") < NOFILE - 40, 60,
                     "broker 2 to close the connections")
        produce_and_consume_every_base_partition(cluster, "after-connections")
    text = log_since(b, mark)
    accepts = lines_with(text, "accept on listener")
    print(f"broker 2: {len(text.splitlines())} log lines meanwhile, {len(accepts)} about accept(): {accepts[:2]}")
    assert 1 <= len(accepts) <= 4, accepts
    assert len(lines_with(text, "accept on the metrics endpoint failed")) <= 4
    assert not lines_with(text, "Error from accept() call"), "libevent's own accept() warning"
    assert len(text.splitlines()) < 200, text[-3000:]
