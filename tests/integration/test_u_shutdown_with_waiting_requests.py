"""
Scenario u: SIGTERM while requests are waiting (issue 8 item 15).

A request that cannot be answered at once is parked with its connection:
CreateTopics until its new partitions have leaders, Fetch until data
arrives or max_wait_ms, an acks=all Produce until the high watermark passes
it, InitProducerId until a block of ids is claimed in ZooKeeper,
AlterConfigs until its znode is written.  A shutdown must answer or free
every one of them.  LeakSanitizer (on in the suite) turns a request, or the
connection it holds, that nothing points to any more into exit status 1;
an operation still on a list at exit is not reported, which is why the
CreateTopics answer is checked too (the old broker kept it parked until
exit and closed its connection unanswered).

Brokers 1 (the controller) and 2.  Topic "replicated" is led by broker 1
with broker 2 in its ISR; broker 2 is frozen (SIGSTOP) so that it does
not fetch, the high watermark stays put and acks=all waits; topic "quiet"
has no data.  Then ZooKeeper freezes (SIGSTOP: nothing can be written or
elected, so broker 2 stays in the ISR, as in a
stalled VM; broker 1's 10 s session timeout keeps it from noticing before
its shutdown is over) and one client each sends broker 1: CreateTopics with
timeout_ms 120 s, a Fetch with max_wait_ms 120 s, an acks=all Produce with
timeout 120 s, InitProducerId and AlterConfigs.  Once its request counter
shows all five arrived, broker 1 gets SIGTERM: CreateTopics is answered as
the shutdown begins (7 REQUEST_TIMED_OUT, "The broker shut down before
topic ... was ready"); its controlled shutdown cannot complete (it is the
controller, and cannot write to a frozen ZooKeeper), so after its one
attempt (controlled.shutdown.max.retries=1; controller.socket.timeout.ms
2000 bounds the controller's wait to 1 s) it stops anyway, well before its
ZooKeeper client reports the connection lost, so the requests waiting on
ZooKeeper are still waiting at teardown; it exits 0 without a sanitizer
report, and every other client gets an answer or a closed connection.
ZooKeeper then thaws, broker 1's old session expires (it could not
deregister) and broker 1 comes back.
"""
import signal
import socket
import time

import pytest

import kafkawire as kw
import kbharness as h

REPLICATED = "replicated"
QUIET = "quiet"
NEW_TOPIC = "never-ready"
WAIT_MS = 120_000
REQUEST_TIMED_OUT = 7
# ZooKeeper's maximum with the harness's 500 ms tick.  The ZooKeeper client
# reports a lost connection after two thirds of it: later than broker 1's
# controlled shutdown attempt and 3 s shutdown grace end, so at teardown its
# requests still wait.
SESSION_TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def cluster(make_cluster):
    c = make_cluster()
    with h.step("start broker 1 (controller), then broker 2"):
        c.start_brokers([1], metrics=True, session_timeout_ms=SESSION_TIMEOUT_MS,
                        extra={"controlled.shutdown.max.retries": "1", "controller.socket.timeout.ms": "2000"})
        assert c.wait_controller() == 1
        c.start_brokers([2])
    c.create_topic(REPLICATED, assignment="1:2")
    c.create_topic(QUIET, assignment="1")
    return c


# -- raw requests -------------------------------------------------------------------

def create_topics_v4(name, timeout_ms):
    body = kw.array([name], lambda n: kw.string(n) + kw.i32(1) + kw.i16(1) + kw.i32(0) + kw.i32(0))
    return body + kw.i32(timeout_ms) + kw.i8(0)


def init_producer_id_v0():
    return kw.i16(-1) + kw.i32(60_000)  # null transactional id, transaction timeout


def alter_configs_v0(topic):
    resource = kw.i8(2) + kw.string(topic) + kw.array([("retention.ms", "3600000")],
                                                       lambda c: kw.string(c[0]) + kw.string(c[1]))
    return kw.array([resource], lambda r: r) + kw.i8(0)


def requests(leo):
    """(name, api key, version, body) of the five requests that wait."""
    batch = kw.build_batch([(b"k", b"waits for the high watermark")], base_timestamp=int(time.time() * 1000))
    return [
        ("CreateTopics", 19, 4, create_topics_v4(NEW_TOPIC, WAIT_MS)),
        ("Fetch", 1, 4, kw.fetch_v4_body([(QUIET, [(0, leo, 1 << 20)])], max_wait_ms=WAIT_MS)),
        ("Produce acks=all", 0, 7, kw.produce_body([(REPLICATED, [(0, batch)])], acks=-1, timeout_ms=WAIT_MS)),
        ("InitProducerId", 22, 0, init_producer_id_v0()),
        ("AlterConfigs", 33, 0, alter_configs_v0(QUIET)),
    ]


def nothing_received(sock):
    """True when the broker has neither answered nor closed sock (yet)."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)  # data, or b"" for a closed connection
        return False
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def create_topics_errors(frame):
    """[(name, error, message)] of a CreateTopics v4 response."""
    r = kw.Reader(frame, 8)
    r.i32()  # throttle_time_ms
    return r.array(lambda x: (x.string(), x.i16(), x.string()))


@pytest.mark.scenario("q")
def test_sigterm_answers_or_frees_every_waiting_request(cluster):
    broker = cluster.brokers[1]
    zk = cluster.zookeeper.process
    leo = h.list_offsets(broker, QUIET, [0])[0][2]
    before = h.metric(broker.metrics(), "kbroker_requests_total")
    sent = []
    follower = cluster.brokers[2]
    follower.send_signal(signal.SIGSTOP)
    zk.send_signal(signal.SIGSTOP)
    try:
        with h.step("ZooKeeper frozen; five requests that must wait reach broker 1"):
            for corr, (name, key, version, body) in enumerate(requests(leo), start=1):
                s = h.connect(broker.port, timeout=30)
                s.sendall(h.kafka_request(key, version, corr, body))
                sent.append((name, s))
            h.wait_until(lambda: h.metric(broker.metrics(), "kbroker_requests_total") >= before + len(sent),
                         30, "broker 1 to receive the five requests")
            for name, s in sent:
                assert nothing_received(s), f"{name} was answered before the shutdown"

        with h.step("SIGTERM broker 1: exit 0, no leak, every client answered or disconnected"):
            t0 = time.monotonic()
            rc = broker.stop(timeout=60)
            h.note("SIGTERM with five waiting requests and ZooKeeper frozen", time.monotonic() - t0)
            assert rc == 0, f"broker 1 exited with status {rc}:\n{broker.process.tail(30)}"
            assert not broker.process.sanitizer_report(), "\n".join(broker.process.sanitizer_report()[:20])
            for name, s in sent:
                closed, got = h.closed_by_peer(s, timeout=30)
                s.close()
                print(f"    {name}: {len(got)} bytes of answer, then {'closed' if closed else 'open'}")
                assert closed, f"{name}: the connection to the stopped broker is still open"
                if name == "CreateTopics":
                    # Answered when the shutdown began, while the loop could
                    # still send it (the old broker closed it unanswered and
                    # kept the operation until exit).
                    assert got, "CreateTopics: connection closed without an answer"
                    (topic, err, msg), = create_topics_errors(got)
                    print(f"    CreateTopics answer: {err} {msg}")
                    assert (topic, err) == (NEW_TOPIC, REQUEST_TIMED_OUT), (topic, err, msg)
                    assert "shut down" in msg, msg
    finally:
        follower.send_signal(signal.SIGCONT)
        zk.send_signal(signal.SIGCONT)
        for _, s in sent:
            s.close()

    with h.step("ZooKeeper thaws; broker 1's old session expires; it restarts and the topics are served"):
        # It could not deregister while ZooKeeper was frozen.
        h.wait_until(lambda: broker.registration() is None, 60, "broker 1's old registration to expire")
        broker.start()
        broker.wait_registered()
        cluster.wait_topic_ready(QUIET)
