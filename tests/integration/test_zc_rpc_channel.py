"""
Scenario zc: the inter-broker RPC port as a stranger sees it.

One ZooKeeper, one broker.  The RPC port is found where other brokers find
it, in /brokers/ids/1 under "kbroker_rpc".  A Hello there is answered with
the broker's id and its epoch, the czxid of /brokers/ids/1.  Then frames no
kbroker sends: lengths that disagree, a size above kbroker.rpc.max.frame.bytes,
a size above the 4 KiB Hello limit before Hello, an envelope protobuf cannot
read, a request before Hello, a Hello of another protocol version, and a
connection that never completes its Hello (closed at the Hello deadline,
controller.socket.timeout.ms).  Each closes that connection only, with a log
line saying why; afterwards the broker still serves Kafka clients (kcat's
Metadata) and a new connection's Hello is answered.  A Hello is answered
only when it names a live registration (an id and its czxid) the broker has
read: an unregistered id, a stale epoch and id -1 are closed; and a hundred
connections that never say Hello cannot keep out one that does.  The same is done once
more with the C probe `make check` builds (tests/tools/kb_rpc_probe), which
encodes its Hello with proto/kp_rpc.c rather than by hand.  Last, broker 2
joins with two listeners, its inter-broker one on 127.0.0.2 and advertised
second: its RPC port is bound on that host and published with it, so a
Hello at the published endpoint is answered.
"""
import os
import resource
import socket
import struct
import subprocess

import pytest

import kbharness as h
import rpcwire

MAX_FRAME = 1 << 20  # kbroker.rpc.max.frame.bytes must cover the fetch limits below
HELLO_MAX_FRAME = 4096  # KB_RPC_HELLO_MAX_FRAME: the limit before Hello
HELLO_TIMEOUT_MS = 3000  # controller.socket.timeout.ms: the Hello deadline


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start broker 1 with a 1 MiB RPC frame limit and a 3 s Hello deadline"):
        # At DEBUG, the log keeps the lines a rate limit holds back (the
        # refusals below come faster than one per 10 s).
        c.start_brokers([1], extra={"kbroker.log.level": "debug",
                                    "kbroker.rpc.max.frame.bytes": str(MAX_FRAME),
                                    "replica.fetch.response.max.bytes": str(MAX_FRAME // 2),
                                    "message.max.bytes": str(MAX_FRAME // 4),
                                    "controller.socket.timeout.ms": str(HELLO_TIMEOUT_MS)})
    return c


@pytest.fixture(scope="module")
def broker(cluster):
    return cluster.brokers[1]


def rpc_endpoint(broker):
    data, stat = broker.registration()
    return data["kbroker_rpc"]["host"], data["kbroker_rpc"]["port"], stat.czxid


def hello_ok(broker):
    """A Hello claiming the only registered broker (broker 1 itself, the
    identity the broker's view knows) is answered."""
    host, port, czxid = rpc_endpoint(broker)
    return rpcwire.hello(host, port, broker_id=1, epoch=czxid) == (1, czxid, rpcwire.PROTOCOL_VERSION)


def closed_after(host, port, payload, hello_first, timeout=10, czxid=None):
    """Sends payload (after a Hello as broker 1 at czxid, if asked) and
    returns True once the broker closed the connection, False if it is
    still open after timeout seconds."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        if hello_first:
            s.sendall(rpcwire.hello_frame(1, czxid))
            assert rpcwire.read_frame(s) is not None, "the Hello was not answered"
        s.sendall(payload)
        while True:
            try:
                if not s.recv(4096):
                    return True
            except ConnectionResetError:
                return True
            except socket.timeout:
                return False


def serves_kafka(broker):
    v = h.kcat_view(h.kcat_metadata(broker.bootstrap))
    return v["brokers"].get(1) == broker.bootstrap


def test_hello_names_the_broker_and_its_registration_czxid(broker):
    h.wait_until(lambda: hello_ok(broker), 10, "a Hello answered with broker 1 and its czxid")


def _garbage_envelope():
    env = b"\x00\xff\xff\xff"  # field number 0: protobuf-c refuses it
    return struct.pack(">II", 4 + len(env), len(env)) + env


def _request_before_hello():
    # An Envelope of a StopReplica request (method 4) with an empty body.
    env = bytes([0x10, 0x05, 0x18, 0x04])
    return struct.pack(">II", 4 + len(env), len(env)) + env


MALFORMED = {
    "lengths-disagree": (struct.pack(">II", 6, 100) + b"\0\0", True, "envelope length beyond the frame"),
    "oversized": (struct.pack(">I", MAX_FRAME + 1) + b"\0" * 4, True, f"outside 0..{MAX_FRAME}"),
    # Well below MAX_FRAME, but before Hello: refused on its size alone.
    "oversized-before-hello": (struct.pack(">I", HELLO_MAX_FRAME + 1) + b"\0" * 4, False,
                               f"outside 0..{HELLO_MAX_FRAME} before its handshake"),
    "garbage-envelope": (_garbage_envelope(), True, "malformed envelope"),
    "no-hello-request": (_request_before_hello(), False, "a request before Hello"),
}


@pytest.mark.parametrize("mode", sorted(MALFORMED))
def test_a_malformed_frame_closes_only_its_connection(broker, mode):
    payload, hello_first, logged = MALFORMED[mode]
    host, port, czxid = rpc_endpoint(broker)
    before = broker.process.last_run_text().count(logged)
    with h.step(f"send a {mode} frame to the RPC port"):
        assert closed_after(host, port, payload, hello_first, czxid=czxid), "the connection stayed open"
    h.wait_until(lambda: broker.process.last_run_text().count(logged) > before, 10, f"a log line saying '{logged}'")
    assert broker.process.alive()
    assert serves_kafka(broker)
    assert hello_ok(broker), "a new connection's Hello is answered"


def test_a_connection_without_hello_is_closed_at_the_hello_deadline(broker):
    host, port, _ = rpc_endpoint(broker)
    logged = f"no handshake within {HELLO_TIMEOUT_MS} ms (controller.socket.timeout.ms)"
    before = broker.process.last_run_text().count(logged)
    with h.step("send 2 bytes of a 100-byte frame, then nothing"):
        partial = struct.pack(">I", 100) + b"\0\0"
        assert closed_after(host, port, partial, False, timeout=5 * HELLO_TIMEOUT_MS / 1000), \
            "the connection stayed open past the Hello deadline"
    h.wait_until(lambda: broker.process.last_run_text().count(logged) > before, 10, f"a log line saying '{logged}'")
    assert broker.process.alive()
    assert hello_ok(broker), "a new connection's Hello is answered"


def test_another_protocol_version_is_closed_with_a_log_line(broker):
    host, port, _ = rpc_endpoint(broker)
    assert rpcwire.hello(host, port, broker_id=7, epoch=11, version=rpcwire.PROTOCOL_VERSION + 1) is None
    line = f"the peer speaks RPC protocol version {rpcwire.PROTOCOL_VERSION + 1}, this broker {rpcwire.PROTOCOL_VERSION}"
    h.wait_until(lambda: line in broker.process.last_run_text(), 10, "the version refusal in the log")
    log = broker.process.last_run_text()
    assert "(broker 7 epoch 11) to this broker (broker 1 epoch" in log, "both sides are named"
    assert hello_ok(broker)


@pytest.mark.parametrize("who", ["unregistered-id", "stale-epoch", "id-minus-1"])
def test_a_hello_naming_no_live_registration_is_closed(broker, who):
    host, port, czxid = rpc_endpoint(broker)
    broker_id, epoch, logged = {
        "unregistered-id": (7, czxid, f"broker 7 epoch {czxid} is not a live registration"),
        "stale-epoch": (1, czxid - 1, f"broker 1 epoch {czxid - 1} is not a live registration"),
        "id-minus-1": (-1, -1, "no broker has an id below 0"),
    }[who]
    before = broker.process.last_run_text().count(logged)
    with h.step(f"a Hello as broker {broker_id} epoch {epoch}"):
        assert rpcwire.hello(host, port, broker_id=broker_id, epoch=epoch) is None, "the Hello was answered"
    h.wait_until(lambda: broker.process.last_run_text().count(logged) > before, 10, f"a log line saying '{logged}'")
    assert hello_ok(broker)


SILENT = 1100  # above KB_RPC_MAX_CONNECTIONS (1024), far above the 64 that may wait for their Hello


def test_silent_connections_do_not_keep_a_peer_out(broker):
    """A stranger holding more connections than the broker takes, none of
    which says Hello, cannot keep out a peer whose Hello follows its
    connect: each new connection takes the place of the oldest silent one
    (rather than being refused at accept, as once the 1024 were open)."""
    host, port, _ = rpc_endpoint(broker)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < SILENT + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, SILENT + 1000), hard))
    silent = []
    try:
        with h.step(f"open {SILENT} connections that send nothing"):
            for _ in range(SILENT):
                silent.append(socket.create_connection((host, port), timeout=10))
        with h.step("a Hello from a new connection while they are held"):
            assert hello_ok(broker), "the Hello of a new connection was not answered"
        logged = "the oldest still in its handshake"
        h.wait_until(lambda: logged in broker.process.last_run_text(), 10, f"a log line saying '{logged}'")
    finally:
        for s in silent:
            s.close()
    assert broker.process.alive()


PROBE = os.environ.get("KB_RPC_PROBE_BIN", str(h.BUILD_DIR / "tests" / "tools" / "kb_rpc_probe"))


def probe(*args):
    if not os.access(PROBE, os.X_OK):
        pytest.skip(f"{PROBE} is not built (make check builds it)")
    r = subprocess.run([PROBE, *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.split("\n")[:-1]


def test_the_probe_sees_the_same(broker):
    host, port, czxid = rpc_endpoint(broker)
    hello = f"hello broker=1 epoch={czxid} version={rpcwire.PROTOCOL_VERSION}"
    me = ("-i", "1", "-e", str(czxid))
    assert probe(*me, host, str(port)) == [hello]
    for mode in ("lengths-disagree", "oversized", "garbage-envelope"):
        assert probe(*me, "-m", mode, host, str(port)) == [hello, "closed"], mode
    assert probe("-n", "-m", "no-hello-request", host, str(port)) == ["closed"]
    assert probe(*me, "-v", str(rpcwire.PROTOCOL_VERSION + 1), host, str(port)) == ["closed"]
    assert probe("-i", "7", "-e", "11", host, str(port)) == ["closed"], "an unregistered broker"
    assert serves_kafka(broker)


def test_the_rpc_port_goes_with_the_inter_broker_listener(cluster):
    client_port, internal_port = h.free_port(), h.free_port()
    b2 = cluster.add_broker(2, extra={
        "listeners": f"INTERNAL://127.0.0.2:{internal_port},CLIENT://127.0.0.1:{client_port}",
        "advertised.listeners": f"CLIENT://127.0.0.1:{client_port},INTERNAL://127.0.0.2:{internal_port}",
        "listener.security.protocol.map": "CLIENT:PLAINTEXT,INTERNAL:PLAINTEXT",
        "inter.broker.listener.name": "INTERNAL",
    })
    with h.step("start broker 2, its inter-broker listener INTERNAL on 127.0.0.2, advertised second"):
        b2.start()
        b2.wait_registered()
    host, port, czxid = rpc_endpoint(b2)
    assert host == "127.0.0.2", "published with the inter-broker listener's advertised host"

    def answered():
        try:
            return rpcwire.hello(host, port, broker_id=2, epoch=czxid) == (2, czxid, rpcwire.PROTOCOL_VERSION)
        except OSError:  # nothing listening at the published endpoint
            return False
    h.wait_until(answered, 10, "a Hello at broker 2's published RPC endpoint answered")
    b2.stop()
