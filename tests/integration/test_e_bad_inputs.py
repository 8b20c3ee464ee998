"""
Scenario e: what an operator or a broken client can get wrong.  A second
broker with an id already in use, a log dir another broker holds and invalid
configuration values are refused at start with a message naming the problem.
An oversized frame or a frame of garbage costs only that one connection; every
other client of the same broker keeps being served.  A too-new ApiVersions
request gets Kafka's v0 fallback answer.
"""
import re
import signal
import struct
import subprocess
import time

import pytest

import kbharness as h

MAX_FRAME = 1024


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step(f"start broker 1 with socket.request.max.bytes={MAX_FRAME}"):
        c.start_brokers([1], session_timeout_ms=10000,
                        extra={"socket.request.max.bytes": MAX_FRAME})
        c.wait_controller()
    r = c.admin("create-topic", "--topic", "events", "--partitions", 2, "--replication-factor", 1)
    assert r.returncode == 0, r.stderr
    c.wait_states("events")
    return c


@pytest.fixture(scope="module")
def broker(cluster):
    return cluster.brokers[1]


def run_refused(cluster, name, broker_id, timeout=30, **kw):
    """Starts a broker that should refuse to run; returns (exit status, its log)."""
    b = h.Broker(cluster, broker_id, name=name, **kw)
    b.start()
    try:
        rc = b.process.wait(timeout)
    finally:
        b.stop(signal.SIGKILL)
    return rc, b.process.log_text()


def kcat_still_served(broker):
    v = h.kcat_view(h.kcat_metadata(broker.bootstrap))
    assert sorted(v["brokers"]) == [1] and "events" in v["topics"], v


# --- start-up refusals -----------------------------------------------------

def test_second_broker_with_a_duplicate_id_is_refused(cluster, broker):
    _, before = broker.registration()
    with h.step("start a second broker with broker.id=1"):
        rc, log = run_refused(cluster, "duplicate-broker-1", 1, session_timeout_ms=10000)
    assert rc == 1, log
    assert "already registered" in log
    _, after = broker.registration()
    assert after.czxid == before.czxid, "the live broker's registration must be left alone"
    kcat_still_served(broker)


def test_log_dir_held_by_another_broker_is_refused(cluster, broker):
    with h.step("start broker 7 on broker 1's log dir"):
        rc, log = run_refused(cluster, "locked-broker-7", 7, extra={"log.dirs": broker.log_dir})
    assert rc == 1, log
    assert str(broker.log_dir) in log or "lock" in log.lower(), log
    assert broker.alive()


BAD_VALUES = [
    ("num.partitions", "abc", "num.partitions=abc"),
    ("listeners", "PLAINTEXT://127.0.0.1:99999", "port out of range"),
    ("listeners", "SSL://127.0.0.1:0", "SSL listener (not supported)"),
    ("zookeeper.session.timeout.ms", "soon", "non-numeric session timeout"),
    ("broker.rack", "z" * 32768, "rack longer than a Kafka string"),
]


@pytest.mark.parametrize("n,key,value,why", [pytest.param(i, *v, id=v[2]) for i, v in enumerate(BAD_VALUES)])
def test_invalid_config_value_exits_2_naming_the_key(cluster, n, key, value, why):
    rc, log = run_refused(cluster, f"badconfig-{n}", 20 + n, extra={key: value})
    assert rc == 2, f"{why}: exit {rc}\n{log}"
    assert key in log, f"{why}: the message must name {key}:\n{log}"


def test_invalid_override_exits_2_naming_key_and_value(cluster):
    rc, log = run_refused(cluster, "badconfig-override", 29, args=("--override", "num.partitions=abc"))
    assert rc == 2, log
    assert "num.partitions" in log and "abc" in log, log


def test_version_and_help_exit_0():
    for flag in ("--version", "--help"):
        r = subprocess.run([h.KBROKER_BIN, flag], capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, (flag, r)
        out = r.stdout + r.stderr
        assert "kbroker" in out, (flag, out)
    r = subprocess.run([h.KBROKER_BIN, "--help"], capture_output=True, text=True, timeout=20)
    assert "--override" in r.stdout + r.stderr


def test_admin_usage_errors_exit_1(cluster):
    assert cluster.admin("no-such-command").returncode == 1
    assert cluster.admin("create-topic", "--partitions", 1, "--replication-factor", 1).returncode == 1, \
        "create-topic without --topic"
    assert cluster.admin("--output", "yaml", "list-topics").returncode == 1


def test_admin_takes_kafka_topics_spelling_with_kafkas_answers(cluster):
    """kbroker-admin with kafka-topics.sh's options and no command word runs
    them as kafka-topics.sh does (issue 14 item 6): Kafka's checks, messages
    and exit status 1."""
    r = cluster.admin("--create", "--topic", "events")
    assert r.returncode == 1 and r.stderr.splitlines()[0] == 'Missing required argument "[partitions]"', r
    r = cluster.admin("--describe", "--topic", "no-such-topic")
    assert (r.returncode, r.stdout) == (
        1, "Error while executing topic command : Topic 'no-such-topic' does not exist as expected\n"), r
    r = cluster.admin("--list")
    assert r.returncode == 0 and r.stderr == "", r
    assert r.stdout.splitlines() == sorted(cluster.children("/brokers/topics") or []), r


# --- hostile bytes on the wire -------------------------------------------

def apiversions_v0_works(sock, corr):
    sock.sendall(h.kafka_request(18, 0, corr))
    c, err, keys = h.parse_apiversions_v0(h.recv_frame(sock))
    return c == corr and err == 0 and keys.get(18) == (0, 3)


def test_oversized_frame_closes_only_that_connection(broker):
    bystander = h.connect(broker.port)
    assert apiversions_v0_works(bystander, 1)
    bad = h.connect(broker.port)
    with h.step(f"send a frame size of 2048 (> {MAX_FRAME})"):
        bad.sendall(struct.pack(">i", 2048))
        closed, got = h.closed_by_peer(bad, 10)
    bad.close()
    assert closed, "the broker must close a connection announcing an oversized frame"
    assert got == b"", f"no response is sent to an oversized frame, got {got!r}"
    assert apiversions_v0_works(bystander, 2), "another connection must keep working"
    bystander.close()
    kcat_still_served(broker)
    assert broker.alive()


def test_negative_frame_size_closes_the_connection(broker):
    bad = h.connect(broker.port)
    bad.sendall(struct.pack(">i", -5) + b"\x00" * 16)
    closed, _ = h.closed_by_peer(bad, 10)
    bad.close()
    assert closed
    kcat_still_served(broker)


def test_garbage_frames_close_only_that_connection(broker):
    bystander = h.connect(broker.port)
    assert apiversions_v0_works(bystander, 1)

    # A well-sized frame whose header names no API Kafka knows, then random bytes.
    body = b"\x7f\xf0\x00\x01" + h.seeded_garbage(96)
    framed = struct.pack(">i", len(body)) + body
    # A stream of pure random bytes (its "size" is random too).
    noise = h.seeded_garbage(512, seed=7)
    assert not 0 <= struct.unpack(">i", noise[:4])[0] <= MAX_FRAME, "seed gives an oversized size"
    for what, data in (("framed garbage", framed), ("random bytes", noise)):
        bad = h.connect(broker.port)
        with h.step(f"send {what}"):
            try:
                bad.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            closed, got = h.closed_by_peer(bad, 10)
        bad.close()
        assert closed, f"{what}: the connection must be closed"
        assert got == b"", f"{what}: no response expected, got {got!r}"
        assert apiversions_v0_works(bystander, 3), f"{what}: the other connection must keep working"
        kcat_still_served(broker)
    bystander.close()
    assert broker.alive()


def test_truncated_frame_then_disconnect_does_not_hurt_the_broker(broker):
    """A client that dies half-way through a frame leaves nothing behind."""
    for _ in range(20):
        s = h.connect(broker.port)
        s.sendall(struct.pack(">i", 200) + b"\x00\x12")
        s.close()
    kcat_still_served(broker)
    assert broker.alive()


# --- ApiVersions -------------------------------------------------------------

def compact_string(s):
    return bytes([len(s) + 1]) + s


def test_apiversions_v4_gets_the_v0_fallback_with_error_35(broker):
    s = h.connect(broker.port)
    body = compact_string(b"kbroker-tests") + compact_string(b"1.0") + b"\x00"
    s.sendall(h.kafka_request(18, 4, 7, body, flexible_header=True))
    frame = h.recv_frame(s)
    # wire-protocol.md section 4.1, worked example.
    assert frame == bytes.fromhex("00000010" "00000007" "0023" "00000001" "0012" "0000" "0003"), frame.hex()
    # The client then retries on the same connection with a version it knows.
    assert apiversions_v0_works(s, 8)
    s.close()


def test_apiversions_v0_and_v3_advertise_apiversions_0_3_and_metadata_0_6(broker):
    s = h.connect(broker.port)
    s.sendall(h.kafka_request(18, 0, 11))
    corr, err, keys = h.parse_apiversions_v0(h.recv_frame(s))
    assert (corr, err) == (11, 0)
    assert keys[18] == (0, 3) and keys[3] == (0, 6), keys

    body = compact_string(b"kbroker-tests") + compact_string(b"1.0") + b"\x00"
    s.sendall(h.kafka_request(18, 3, 12, body, flexible_header=True))
    frame = h.recv_frame(s)
    b = frame[4:]
    assert int.from_bytes(b[0:4], "big") == 12, "ApiVersions v3 answers with response header v0"
    assert int.from_bytes(b[4:6], "big") == 0
    n = b[6] - 1  # unsigned varint N+1 (fewer than 127 keys)
    off = 7
    keys3 = {}
    for _ in range(n):
        k, lo, hi = struct.unpack(">hhh", b[off:off + 6])
        assert b[off + 6] == 0, "each entry ends with an empty tag section"
        keys3[k] = (lo, hi)
        off += 7
    assert struct.unpack(">i", b[off:off + 4])[0] == 0, "throttle_time_ms"
    assert b[off + 4:] == b"\x00", "body ends with an empty tag section, no trailing bytes"
    assert keys3 == keys
    s.close()


def test_pipelined_requests_are_answered_in_order(broker):
    s = h.connect(broker.port)
    versions = (0, 1, 2, 0, 1)
    s.sendall(b"".join(h.kafka_request(18, v, 100 + i) for i, v in enumerate(versions)))
    corrs = [int.from_bytes(h.recv_frame(s)[4:8], "big") for _ in versions]
    assert corrs == [100, 101, 102, 103, 104], corrs
    s.close()


def test_requests_before_a_bad_frame_are_answered_before_the_close(broker):
    # Kafka serves one request at a time per connection: the two requests
    # sent ahead of a frame with a negative size get their answers, in
    # order, and only then is the connection closed.
    s = h.connect(broker.port)
    s.sendall(h.kafka_request(18, 0, 201) + h.kafka_request(18, 1, 202) + struct.pack(">i", -7))
    corrs = [int.from_bytes(h.recv_frame(s)[4:8], "big") for _ in range(2)]
    assert corrs == [201, 202], corrs
    closed, got = h.closed_by_peer(s, 10)
    s.close()
    assert closed and got == b"", got


# --- clean shutdown ------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_exits_0_and_deletes_the_registration_at_once(cluster, sig):
    bid = 30 + int(sig)
    b = h.Broker(cluster, bid, name=f"stopping-broker-{bid}", session_timeout_ms=10000)
    b.start()
    b.wait_registered(30)
    rc = b.stop(sig, timeout=15)
    assert rc == 0, b.process.tail(20)
    assert f"deleted the registration /brokers/ids/{bid}" in b.process.log_text(), \
        f"broker {bid} did not delete /brokers/ids/{bid} itself:\n{b.process.tail(20)}"
    assert b.registration() is None, \
        f"/brokers/ids/{bid} must be deleted by the broker, not left for session expiry (10 s)"


def test_repeated_sigterm_still_exits_0_after_a_clean_close(cluster):
    """An operator (or a service manager) that sends SIGTERM again and again
    while the broker shuts down: the first starts the shutdown, a second
    skips the ZooKeeper clean-up, and none may kill the broker while it
    closes its logs (the chaos tier's double SIGTERM ended a broker with
    signal 15 after "exiting with status 0", before its clean close was
    done)."""
    bid = 40
    b = h.Broker(cluster, bid, name=f"resignalled-broker-{bid}", session_timeout_ms=10000)
    b.start()
    b.wait_registered(30)
    sent = 0
    deadline = time.monotonic() + 30
    while b.alive() and time.monotonic() < deadline:
        b.send_signal(signal.SIGTERM)
        sent += 1
        time.sleep(0.0005)  # the signal rate, not a synchronisation
    rc = b.stop(timeout=15)
    print(f"    {sent} SIGTERMs until broker {bid} exited with status {rc}")
    assert rc == 0, f"exit status {rc} after {sent} SIGTERMs:\n{b.process.tail(20)}"
    assert re.search(r"closed \d+ log\(s\)", b.process.log_text()), \
        f"the logs were not closed:\n{b.process.tail(20)}"
