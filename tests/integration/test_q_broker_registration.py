"""
Scenario q: who may hold /brokers/ids/N, and when.

An operator starts a second process with the broker.id of a live broker (its
own log dir and port, but advertising the same endpoint): it is refused with
"already registered", exits 1, and the live broker keeps its registration
after the intruder is gone.  A broker killed with kill -9 and restarted at
once registers while its old session is still alive in ZooKeeper (its log
dirs record the sessions it used, so the old registration is provably its
own).  Someone deletes /brokers/ids/N by hand: the broker notices, says why
in its log and registers again under the same session.  A broker that cannot
reach ZooKeeper logs the ZooKeeper client's complaints in its own format,
rate-limited.  Last, ZooKeeper loses its data: the restarted broker finds a
new cluster id that its meta.properties does not match and exits 1 before
ever creating /brokers/ids/N.
"""
import json
import signal

import pytest

import kbharness as h

SESSION_MS = 10000  # ZooKeeper's maximum at the harness's tickTime of 500 ms


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start broker 1 with a {SESSION_MS // 1000} s ZooKeeper session and metrics"):
        c.start_brokers([1], session_timeout_ms=SESSION_MS, metrics=True)
    return c


@pytest.fixture(scope="module")
def broker(cluster):
    return cluster.brokers[1]


def serves_metadata(broker):
    v = h.kcat_view(h.kcat_metadata(broker.bootstrap))
    return v["brokers"].get(1) == broker.bootstrap


def test_second_process_with_the_id_and_endpoint_of_a_live_broker_is_refused(cluster, broker):
    _, before = broker.registration()
    intruder = h.Broker(cluster, 1, name="intruder-1", session_timeout_ms=SESSION_MS,
                        extra={"advertised.listeners": f"PLAINTEXT://127.0.0.1:{broker.port}"})
    with h.step("start a second broker.id=1 (own log dir and port) advertising broker 1's endpoint"):
        intruder.start()
        try:
            rc = intruder.process.wait(60)
        finally:
            intruder.stop(signal.SIGKILL)
    log = intruder.process.last_run_text()
    assert rc == 1, log
    assert "already registered" in log and f"session 0x{before.ephemeralOwner:x}" in log, log
    assert "serving Kafka clients" not in log, "a refused broker must not claim to serve"
    with h.step("the intruder is gone: broker 1 is still registered and serving"):
        _, after = broker.registration()
        assert (after.czxid, after.ephemeralOwner) == (before.czxid, before.ephemeralOwner)
        assert broker.alive()
        assert serves_metadata(broker)


def test_restart_right_after_kill9_registers_while_the_old_session_lives(cluster, broker, zookeeper):
    _, old = broker.registration()
    assert old.ephemeralOwner in zookeeper.live_sessions()
    with h.step("kill -9 broker 1 and start it again at once"):
        broker.kill9()
        broker.start()
        stat = broker.wait_registered(30, newer_than=old.czxid)
    # State, not time: the registration was replaced while ZooKeeper still
    # held the old session, i.e. before it could have expired.
    assert old.ephemeralOwner in zookeeper.live_sessions(), \
        "the new registration only came after ZooKeeper expired the old session"
    assert stat.ephemeralOwner != old.ephemeralOwner
    log = broker.process.last_run_text()
    assert f"replacing the registration of a previous process of broker 1 (ZooKeeper session " \
           f"0x{old.ephemeralOwner:x}" in log, log
    assert log.index("registered as broker 1") < log.index("serving Kafka clients"), \
        "'serving Kafka clients' comes only after the registration"
    h.wait_until(lambda: serves_metadata(broker), 20, "the restarted broker 1 to serve metadata")


def test_registration_deleted_by_hand_comes_back_and_the_log_says_why(cluster, broker):
    _, before = broker.registration()
    count = broker.metrics().get("kbroker_registrations_total")
    with h.step("delete /brokers/ids/1 with kazoo while broker 1's session lives"):
        cluster.zk.delete("/brokers/ids/1")
        stat = broker.wait_registered(30, newer_than=before.czxid)
    assert stat.ephemeralOwner == before.ephemeralOwner, "the same session registers again"
    log = broker.process.last_run_text()
    assert f"/brokers/ids/1 was deleted while this broker's ZooKeeper session 0x{before.ephemeralOwner:x} " \
           f"is alive" in log, log
    m = broker.metrics()
    assert h.metric(m, "kbroker_registrations_total") == count + 1
    assert h.metric(m, "kbroker_registered") == 1
    assert h.metric(m, "kbroker_zookeeper_connected") == 1
    assert m['kbroker_zookeeper_session_state{state="connected"}'] == 1
    assert serves_metadata(broker)


def test_zookeeper_client_lines_come_through_our_logger_rate_limited(cluster):
    b = h.Broker(cluster, 9, name="no-zookeeper-9", session_timeout_ms=2000,
                 extra={"zookeeper.connect": f"127.0.0.1:{h.closed_port()}",
                        "zookeeper.connection.timeout.ms": 3000})
    with h.step("start broker 9 against a port where no ZooKeeper listens (3 s connection timeout)"):
        b.start()
        try:
            rc = b.process.wait(60)
        finally:
            b.stop(signal.SIGKILL)
    log = b.process.last_run_text()
    assert rc == 1 and "could not connect to ZooKeeper" in log, log
    client = [ln for ln in log.splitlines() if " zkclient: " in ln]
    assert client, f"the ZooKeeper client's refusals must be logged:\n{log}"
    assert all(" kbroker[9] zkclient: " in ln for ln in client), client
    assert "ZOO_ERROR@" not in log and "ZOO_WARN@" not in log, f"a line in the client's own format:\n{log}"
    # The client retried every few tens of ms; each call site got one line,
    # and the dropped ones were counted when the broker exited.
    assert any("similar lines suppressed" in ln for ln in client), client
    per_site = {}
    for ln in client:
        site = ln.split(" zkclient: ", 1)[1].split(":", 1)[0]
        per_site[site] = per_site.get(site, 0) + 1
    assert max(per_site.values()) <= 2, per_site


def test_after_zookeeper_lost_its_data_the_broker_refuses_before_registering(cluster, broker, zookeeper):
    old_id = cluster.get_json("/cluster/id")[0]["id"]
    meta = (broker.log_dir / "meta.properties").read_text()
    assert f"cluster.id={old_id}" in meta, meta
    with h.step("stop broker 1 (SIGTERM)"):
        assert broker.stop() == 0
    with h.step("ZooKeeper loses its data: restart it with an empty data dir"):
        zookeeper.restart_empty()
    zk = zookeeper.client()
    try:
        with h.step("start broker 1 again"):
            broker.start()
            rc = broker.process.wait(60)
        log = broker.process.last_run_text()
        assert rc == 1, log
        new_id = json.loads(zk.get("/cluster/id")[0])["id"]
        assert new_id != old_id
        assert "meta.properties" in log and old_id in log and new_id in log, log
        assert "InconsistentClusterIdException" in log, log
        # cversion counts every child ever created or deleted under it.
        assert zk.exists("/brokers/ids/1") is None
        assert zk.exists("/brokers/ids").cversion == 0, "/brokers/ids/1 was created at some point"
    finally:
        zk.stop()
        zk.close()
