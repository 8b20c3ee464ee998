"""
Self-test of frame_fuzz without a broker: a small threaded TCP server on
127.0.0.1 stands in for one.  It reads size-prefixed frames and answers each
with a frame carrying the request's correlation id, and closes the
connection on a size that is negative, under 8 (no room for a request
header) or over 1 MiB.  Also: the fuzzer stays inside its time bound against
a listener that never accepts and against a closed port, and its plan and
bytes depend on the seed only.

    /usr/bin/python3 -m pytest tests/chaos/test_frame_fuzz_selftest.py -q
"""
import os
import socket
import struct
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import frame_fuzz  # noqa: E402

MAX_FRAME = 1 << 20


def _recv_exactly(conn, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


class EchoServer:
    """The stand-in broker: one thread per connection, each with a 5 s idle
    timeout, so that no thread outlives the test by long."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        self.lock = threading.Lock()
        self.frames = 0
        self.bad_sizes = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        self.listener.settimeout(0.1)
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(5.0)
        try:
            while not self.stopping:
                head = _recv_exactly(conn, 4)
                if head is None:
                    return
                size = struct.unpack(">i", head)[0]
                if size < 8 or size > MAX_FRAME:
                    with self.lock:
                        self.bad_sizes += 1
                    return
                body = _recv_exactly(conn, size)
                if body is None:
                    return
                with self.lock:
                    self.frames += 1
                conn.sendall(struct.pack(">ii", 4, struct.unpack_from(">i", body, 4)[0]))
        except OSError:
            return
        finally:
            conn.close()

    def close(self):
        self.stopping = True
        self.listener.close()
        self.thread.join(2)


@pytest.fixture
def server():
    s = EchoServer()
    yield s
    s.close()


def _run_logged(port, seconds, seed):
    """run() with its per-connection trace: (stats, {index: case}, seconds taken)."""
    lines = []
    t0 = time.monotonic()
    stats = frame_fuzz.run("127.0.0.1", port, seconds=seconds, seed=seed, log=lines.append)
    took = time.monotonic() - t0
    cases = {}
    for line in lines:
        words = line.split()
        assert words[0] == "conn", line
        cases[int(words[1])] = words[2].split("=", 1)[1]
    return stats, cases, took


def test_three_seconds_against_an_echo_server(server):
    stats, cases, took = _run_logged(server.port, 3, 1)
    assert took < 3 + 5, stats
    for key in ("connections", "frames_sent", "bytes_sent", "answers_received", "closed_by_broker",
                "resets", "timeouts", "seed", "seconds"):
        assert key in stats, key
    assert stats["seed"] == 1 and stats["seconds"] == 3
    assert stats["frames_sent"] > 100, stats
    assert stats["answers_received"] > 0, stats
    assert stats["closed_by_broker"] > 0, stats
    assert stats["connect_failures"] == 0, stats
    assert stats["corr_mismatches"] == 0, stats  # the echo answers in order
    assert stats["probe_ok"], stats
    assert server.bad_sizes > 0 and server.frames > 0
    # the cases run are the plan's, connection by connection
    assert sorted(cases) == list(range(len(cases))), "every connection started is logged once"
    assert len(cases) == stats["connections"]
    assert [cases[i] for i in range(len(cases))] == frame_fuzz.plan(1, len(cases))
    assert sum(stats["case_counts"].values()) == len(cases)


def test_same_seed_same_cases(server):
    _, first, _ = _run_logged(server.port, 1, 7)
    _, second, _ = _run_logged(server.port, 1, 7)
    n = min(len(first), len(second))
    assert n > 5
    assert [first[i] for i in range(n)] == [second[i] for i in range(n)]
    assert frame_fuzz.plan(7, 300) == frame_fuzz.plan(7, 300)
    assert frame_fuzz.plan(7, 300) != frame_fuzz.plan(8, 300)
    assert set(frame_fuzz.plan(7, 300)) == set(frame_fuzz.CASES), "300 connections draw every case"
    # and the bytes of a connection depend on (seed, index) only
    assert frame_fuzz.describe(7, 12) == frame_fuzz.describe(7, 12)


def test_bounded_against_a_listener_that_never_accepts():
    # a full backlog: later connects get no SYN-ACK and must time out
    with socket.socket() as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(0)
        port = lsock.getsockname()[1]
        t0 = time.monotonic()
        stats = frame_fuzz.run("127.0.0.1", port, seconds=1, seed=3)
        assert time.monotonic() - t0 < 1 + 5, stats
        assert not stats["probe_ok"]


def test_bounded_against_a_closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    stats = frame_fuzz.run("127.0.0.1", port, seconds=1, seed=4)
    assert time.monotonic() - t0 < 1 + 5, stats
    assert stats["connections"] == 0 and stats["connect_failures"] > 0, stats
    assert not stats["probe_ok"]


def test_every_case_builds_and_mutation_keeps_frames_parsable():
    """Valid requests carry a size that matches; each case builds for many
    seeds without raising."""
    import random
    rng = random.Random(5)
    for _ in range(300):
        r = frame_fuzz._valid(rng, 1)
        assert struct.unpack_from(">i", r.frame)[0] == len(r.frame) - 4
        data, note = frame_fuzz._mutate(rng, r, frame_fuzz._valid(rng, 2))
        assert len(data) >= 4 and note.startswith(r.name)
    for case in frame_fuzz.CASES:
        for s in range(40):
            script = frame_fuzz.script_for(case, s)
            assert script.pieces, case
            assert sum(len(p[1]) for p in script.pieces) < 200_000, case
