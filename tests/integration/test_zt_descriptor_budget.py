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
                 broker accepts and serves again;
  deletion       (a hostile trial took a broker to 511 of 512 descriptors so)
                 `direct` and two more topics written into ZooKeeper past the
                 budget are deleted, and within log.segment.delete.delay.ms
                 a topic of 126 partitions all on broker 3 is created: the
                 deleted logs close their descriptors at once (their
                 *-delete dirs stay for the delay), so the new ones fit,
                 with no "Too many open files", the registration kept, and
                 every line about partitions waiting for room true (none
                 counts a deleted topic's partitions);
  deletion       a consumer that stops reading in the middle of a large
                 Fetch keeps the sendfile's descriptor of a deleted log
                 open: that log keeps its slot in the budget, so a new topic
                 created meanwhile hosts all its partitions but one, which
                 waits (KAFKA_STORAGE_ERROR, one true line) and is hosted as
                 soon as the consumer's connection closes, long before the
                 deleted dirs go.
  unhosted       a topic written into ZooKeeper with replicas [3, 1] while
                 broker 3 is full: broker 3 answers KAFKA_STORAGE_ERROR, so
                 the controller moves each partition's leadership to broker
                 1 and drops 3 from the ISR (as Kafka takes a replica
                 offline), and clients produce and read at once; when
                 `late` is deleted broker 3 hosts the replicas, rejoins
                 every ISR, and a preferred election gives it the lead back.
The brokers keep deleted logs' dirs for 600 s (log.segment.delete.delay.ms,
Kafka's default being 60 s), longer than the whole scenario: every check of
the deletion scenarios runs while the deleted logs' files still exist, so
that none of them can pass by waiting out the delay.
"""
import json
import os
import re
import socket
import time

import pytest

import kafkawire
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
DELETE_DELAY_MS = 600000  # longer than the scenario: deleted logs' files stay throughout
AGAIN, AGAIN_PARTITIONS = "again", BUDGET - BASE_PARTITIONS  # all on broker 3: exactly its budget
BIN_DIR = os.path.dirname(os.path.realpath(h.KBROKER_ADMIN_BIN))


def refusal_of(topic, now, more):
    return f"Topic '{topic}' cannot be placed: broker 1 would hold {now + more} partition replicas ({now} now, {more} more)"


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start brokers 1, 2, 3 under prlimit --nofile={NOFILE}:{NOFILE} (room for {BUDGET} logs each)"):
        for i in BROKERS:
            b = c.add_broker(i, metrics=True, extra={"log.segment.delete.delay.ms": str(DELETE_DELAY_MS)})
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


def read_back(cluster, topic, n):
    """Every record of topic's n partitions, read by kafka-python without a
    group: a reader with a group.id (confluent-kafka's needs one) asks for a
    coordinator, and a FindCoordinator that lands once a deletion has freed
    room creates __consumer_offsets (50 partitions) behind the budget
    arithmetic of the scenarios that follow."""
    return h.kp_consume(cluster.bootstrap(), [(topic, q) for q in range(n)])


def produce_and_consume_every_base_partition(cluster, tag):
    p = h.ck_producer(cluster.bootstrap(), acks="all", linger_ms=0)
    recs = [h.Rec(BASE, part, None, f"{tag}-{part}".encode(), b"v", (), None) for part in range(BASE_PARTITIONS)]
    with h.step(f"confluent-kafka: one acks=all record to each of the {BASE_PARTITIONS} partitions of {BASE}"):
        reports = h.ck_produce(p, recs, flush_every=BASE_PARTITIONS)
    assert all(e is None for _, e in reports), [str(e) for _, e in reports if e][:3]
    acked = {(r.partition, r.offset, r.key) for r, _ in reports}
    with h.step(f"read every partition of {BASE} back"):
        got = read_back(cluster, BASE, BASE_PARTITIONS)
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


# -- deleted topics and the budget -------------------------------------------------

NOT_HOSTED = re.compile(r"(\d+) partition\(s\) assigned here, e\.g\. (\S+), are not hosted \((\d+) wait in all\)")


def assert_not_hosted_lines_true(text):
    """Every 'are not hosted' line counts partitions that wait: some wait,
    and no more are counted than wait in all (a hostile trial saw '34
    partition(s) ... e.g. zkbig-299, are not hosted (0 wait in all)' after
    zkbig was deleted)."""
    said = lines_with(text, "are not hosted")
    for ln in said:
        m = NOT_HOSTED.search(ln)
        assert m, ln
        counted, waiting = int(m.group(1)), int(m.group(3))
        assert 0 < counted <= waiting, ln
    return said


def deleted_dirs(broker):
    return [d for d in os.listdir(broker.log_dir) if d.endswith("-delete")]


def delete_topic(cluster, topic):
    with h.step(f"kbroker-admin delete-topic --topic {topic} --wait"):
        r = cluster.admin("delete-topic", "--topic", topic, "--wait", "--timeout", TIMEOUT_S, timeout=TIMEOUT_S + 30)
    assert r.returncode == 0, r


def write_topic_on(cluster, topic, n, broker_id):
    doc = {"version": 2, "partitions": {str(q): [broker_id] for q in range(n)},
           "adding_replicas": {}, "removing_replicas": {}}
    cluster.zk.create(f"/brokers/topics/{topic}", json.dumps(doc).encode())


def fd_state(broker):
    m = broker.metrics()
    return {k: h.metric(m, f"kbroker_{k}") for k in
            ("partition_logs", "partitions_waiting_for_room", "log_deletions_open", "log_deletions_pending",
             "log_creations_pending", "open_fds", "open_fds_limit")}


def serves_all(broker, topic, n):
    """broker answers ListOffsets for every partition of topic, and no log
    is being created any more."""
    got = h.list_offsets(broker, topic, list(range(n)))
    return all(got[q][0] == 0 for q in range(n)) and fd_state(broker)["log_creations_pending"] == 0


def emfile_or(broker, mark, ready):
    """ready(), or True once broker says it ran out of descriptors: a wait
    that ends at once on the failure this scenario is about."""
    return lines_with(log_since(broker, mark), "Too many open files") or ready()


@pytest.mark.scenario("deletion")
def test_a_topic_deleted_and_created_again_within_the_delay_fits_the_descriptors(cluster):
    b = cluster.brokers[3]
    regs = registrations(cluster)
    mark = len(b.process.log_text())
    before = fd_state(b)
    print(f"broker 3 before: {before}")
    assert before["partition_logs"] == BUDGET
    with h.step("write zkbig1 and zkbig2 (5 partitions each, all on the full broker 3) into ZooKeeper"):
        write_topic_on(cluster, "zkbig1", 5, 3)
        h.wait_until(lambda: fd_state(b)["partitions_waiting_for_room"] == before["partitions_waiting_for_room"] + 5,
                     60, "broker 3 to leave zkbig1's partitions waiting")
        write_topic_on(cluster, "zkbig2", 5, 3)
        h.wait_until(lambda: fd_state(b)["partitions_waiting_for_room"] == before["partitions_waiting_for_room"] + 10,
                     60, "broker 3 to leave zkbig2's partitions waiting")
    for topic in ("zkbig2", "zkbig1", DIRECT):
        delete_topic(cluster, topic)
    # The deleted logs count until their descriptors are closed: they leave
    # the count once closed, long before their dirs go.
    with h.step(f"wait until broker 3 counts {BASE_PARTITIONS} logs against its budget, none waiting"):
        h.wait_until(lambda: (lambda s: (s["partition_logs"], s["partitions_waiting_for_room"]))(fd_state(b)) ==
                     (BASE_PARTITIONS, 0), 120, f"broker 3 to count {BASE_PARTITIONS} logs")
    after_delete = fd_state(b)
    hosted_direct = BUDGET - BASE_PARTITIONS
    print(f"broker 3 after the deletions: {after_delete}, {len(deleted_dirs(b))} *-delete dirs")
    # Within the delay: every deleted log's dir is still there.
    assert len(deleted_dirs(b)) == hosted_direct, deleted_dirs(b)[:5]
    assert after_delete["log_deletions_pending"] == hosted_direct
    assignment = ",".join(["3"] * AGAIN_PARTITIONS)
    mark_create = len(b.process.log_text())
    with h.step(f"create {AGAIN}: {AGAIN_PARTITIONS} partitions, all on broker 3, within the delay"):
        r = cluster.admin("create-topic", "--topic", AGAIN, "--replica-assignment", assignment)
        assert r.returncode == 0, r
        h.wait_until(lambda: emfile_or(b, mark_create, lambda: serves_all(b, AGAIN, AGAIN_PARTITIONS)), 180,
                     f"broker 3 to host {AGAIN}")
    text = log_since(b, mark)
    assert not lines_with(text, "Too many open files"), lines_with(text, "Too many open files")[:5]
    cluster.wait_topic_ready(AGAIN, 180)
    state = fd_state(b)
    print(f"broker 3 with {AGAIN}: {state}, {len(deleted_dirs(b))} *-delete dirs")
    assert len(deleted_dirs(b)) == hosted_direct, "the deleted logs' dirs went: the check ran past the delay"
    assert state["partitions_waiting_for_room"] == 0 and state["log_deletions_open"] == 0, state
    # Both generations' dirs are there, the old one's descriptors are not.
    assert state["open_fds"] <= before["open_fds"] + 10, (before, state)
    assert state["open_fds"] < state["open_fds_limit"] - 40, state
    assert registrations(cluster) == regs, "a broker lost its ZooKeeper registration"
    produce_and_consume_every_base_partition(cluster, "after-again")
    said = assert_not_hosted_lines_true(log_since(b, mark))
    print(f"broker 3: {len(said)} line(s) about partitions waiting since the deletions: {said[:3]}")


def pinned_fetch(broker, topic, partition, size):
    """A Fetch of topic-partition from offset 0 on a connection that reads
    only the response's first bytes and then stops, with a small receive
    buffer: the broker's sendfile of the rest stays in flight (it needs far
    more room than the socket buffers have)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect(("127.0.0.1", broker.port))
    body = kafkawire.fetch_v4_body([(topic, [(partition, 0, 64 << 20)])], max_wait_ms=0)
    s.sendall(h.kafka_request(1, 4, 1, body))
    frame = int.from_bytes(h.recv_exact(s, 4), "big")
    assert frame > size, f"the response is {frame} bytes, less than the {size} produced"
    return s, frame


def fd_state_is(broker, keys, want):
    """True when fd_state's values for keys are want; otherwise raises with
    the whole state, so that a wait that runs out says what it saw."""
    state = fd_state(broker)
    if tuple(state[k] for k in keys) != want:
        raise AssertionError(f"{dict((k, state[k]) for k in keys)} rather than {want}; {state}")
    return True


def socket_buffers():
    with open("/proc/sys/net/ipv4/tcp_wmem") as f:
        return int(f.read().split()[2])


@pytest.mark.scenario("deletion")
def test_a_send_in_flight_keeps_a_deleted_logs_slot_until_the_consumer_goes(cluster):
    b = cluster.brokers[3]
    regs = registrations(cluster)
    size = 2 * socket_buffers() + (8 << 20)
    value = b"x" * (100 << 10)
    p = h.ck_producer(cluster.bootstrap(), acks=1, linger_ms=5)
    recs = [h.Rec(AGAIN, 0, None, b"k%d" % i, value, (), None) for i in range(size // len(value) + 1)]
    with h.step(f"produce {len(recs)} records of 100 KiB to {AGAIN}-0 (led by broker 3)"):
        reports = h.ck_produce(p, recs, flush_every=50)
    assert all(e is None for _, e in reports), [str(e) for _, e in reports if e][:3]
    mark = len(b.process.log_text())
    sock, frame = pinned_fetch(b, AGAIN, 0, size)
    try:
        print(f"a Fetch of {AGAIN}-0 answered with {frame} bytes is being sent; its reader stopped")
        delete_topic(cluster, AGAIN)
        with h.step(f"wait until broker 3 holds {BASE_PARTITIONS} logs and the one deleted log still open"):
            h.wait_until(lambda: fd_state_is(b, ("partition_logs", "log_deletions_open"), (BASE_PARTITIONS + 1, 1)),
                         120, "broker 3 to keep one deleted log's slot")
        late = "late"
        assignment = ",".join(["3"] * AGAIN_PARTITIONS)
        with h.step(f"create {late}: {AGAIN_PARTITIONS} partitions all on broker 3; one of them finds no room"):
            r = cluster.admin("create-topic", "--topic", late, "--replica-assignment", assignment)
            assert r.returncode == 0, r
            h.wait_until(lambda: fd_state_is(b, ("partition_logs", "partitions_waiting_for_room"), (BUDGET, 1)),
                         180, f"broker 3 to host {AGAIN_PARTITIONS - 1} of them, 1 waiting")
            h.wait_until(lambda: lines_with(log_since(b, mark), "1 partition(s) assigned here", "e.g. late-",
                                            "(1 wait in all)", "(1 of them deleted, their files not closed yet)"),
                         60, "broker 3 to say one partition of late waits, and why")
        assert fd_state(b)["log_deletions_open"] == 1
    finally:
        sock.close()
    with h.step("the consumer's connection closes: the last partition is hosted, the deleted dirs still there"):
        cluster.wait_topic_ready(late, 120)
    state = fd_state(b)
    print(f"broker 3: {state}")
    assert state["partitions_waiting_for_room"] == 0 and state["log_deletions_open"] == 0, state
    assert state["log_deletions_pending"] >= AGAIN_PARTITIONS, "deleted dirs went: the check ran past the delay"
    text = log_since(b, mark)
    assert not lines_with(text, "Too many open files"), lines_with(text, "Too many open files")[:5]
    said = assert_not_hosted_lines_true(text)
    print(f"broker 3: {said[:2]}")
    assert registrations(cluster) == regs, "a broker lost its ZooKeeper registration"
    produce_and_consume_every_base_partition(cluster, "after-late")


def states_are(cluster, topic, n, leader, isr):
    """Every partition of topic has that leader and ISR (sorted); otherwise
    raises with what the state znodes say, so a wait that runs out says."""
    st = cluster.states(topic) or {}
    got = {q: (st[q]["leader"], sorted(st[q]["isr"])) for q in st}
    if len(got) != n or any(v != (leader, isr) for v in got.values()):
        raise AssertionError(f"states of {topic}: {got}, wanted leader {leader} and ISR {isr} everywhere")
    return True


def produce_and_read(cluster, topic, n, tag):
    p = h.ck_producer(cluster.bootstrap(), acks="all", linger_ms=0)
    recs = [h.Rec(topic, q, None, f"{tag}-{q}".encode(), b"v", (), None) for q in range(n)]
    reports = h.ck_produce(p, recs, flush_every=n)
    assert all(e is None for _, e in reports), [str(e) for _, e in reports if e][:3]
    got = read_back(cluster, topic, n)
    assert {(r.partition, r.offset) for r, _ in reports} <= {(r.partition, r.offset) for r in got}


@pytest.mark.scenario("unhosted")
def test_a_partition_whose_first_replica_has_no_room_is_led_by_another(cluster):
    topic, n = "elsewhere", 4
    b3 = cluster.brokers[3]
    before = fd_state(b3)
    print(f"broker 3 before: {before}")
    assert before["partition_logs"] == BUDGET and before["partitions_waiting_for_room"] == 0, before
    regs = registrations(cluster)
    doc = {"version": 2, "partitions": {str(q): [3, 1] for q in range(n)}, "adding_replicas": {},
           "removing_replicas": {}}
    with h.step(f"write /brokers/topics/{topic} ({n} partitions, replicas [3, 1]) while broker 3 is full"):
        cluster.zk.create(f"/brokers/topics/{topic}", json.dumps(doc).encode())
        h.wait_until(lambda: states_are(cluster, topic, n, 1, [1]), 60,
                     f"every partition of {topic} led by broker 1 with ISR [1]")
    assert fd_state(b3)["partitions_waiting_for_room"] == n
    controller = cluster.brokers[cluster.controller()]
    moved = lines_with(controller.process.log_text(), f"partition {topic}/", "-> 1, broker 3 cannot host it")
    assert len(moved) == n, moved
    with h.step(f"confluent-kafka: acks=all records to every partition of {topic}, read back"):
        produce_and_read(cluster, topic, n, "while-full")
    delete_topic(cluster, "late")
    with h.step(f"broker 3 gets room: it hosts {topic}'s replicas and rejoins every ISR"):
        h.wait_until(lambda: states_are(cluster, topic, n, 1, [1, 3]), 120,
                     f"broker 3 back in every ISR of {topic}")
    assert fd_state(b3)["partitions_waiting_for_room"] == 0
    with h.step("kbroker-admin elect-leaders --election-type preferred --all-topic-partitions"):
        r = cluster.admin("elect-leaders", "--election-type", "preferred", "--all-topic-partitions")
        assert r.returncode == 0, r
        h.wait_until(lambda: states_are(cluster, topic, n, 3, [1, 3]), 60, f"broker 3 to lead {topic} again")
    produce_and_read(cluster, topic, n, "led-by-3")
    assert registrations(cluster) == regs, "a broker lost its ZooKeeper registration"
