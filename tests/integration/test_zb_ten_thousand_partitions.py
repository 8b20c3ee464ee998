"""
Scenario zb: ten thousand partitions on one broker (issue 8, item 7).

Broker 1, alone and the controller, with a 6 s ZooKeeper session, is asked
for 20 topics of 500 partitions each (RF 1), back to back with
kbroker-admin: 10,000 partitions, a partition log each (one descriptor per
log: the machine's hard RLIMIT_NOFILE must allow about 10,100).  Before,
every view change walked every partition twice (the controller's
reconciliation, the replicas' walk) and each log was created on the event
loop, so the ZooKeeper session expired again and again and the broker lost
the controller role.  Now log creation runs on a worker thread and a view
change costs what it changed.  The broker's session never expires (its log
never says so and it keeps the one session it started with), it stays the
controller under the same controller epoch, every partition gets a leader
and is served (ListOffsets answers every one), and records produced to the
last topic are consumed back.  A client sending ApiVersions every 50 ms
meanwhile prints the longest wait between two answers (not asserted: the
machine's load decides it).

Scenario zb2 (a second broker with its log dir on a small tmpfs): partitions
whose logs cannot be created because the disk is full are logged at most
once each however often they are retried, and a burst of them failing
together in one line (one per 10 s, with the count of those left out: the
hostile trial of issue 14 wrote one per partition, 25,000 of them), the
broker stays up, and once space is freed the retries create them and they
are served, with no cluster change.

Scenario zb3: a SIGTERM arrives while thousands of log creations are still
queued (a partition without its log meanwhile answers ListOffsets with 6
NOT_LEADER_OR_FOLLOWER, which clients retry): the broker exits 0 with no
sanitizer report (queued creations cancelled, the one being built finished
and closed like any log), and after a restart every partition is served.

SCALE: TOPICS x PARTITIONS is the brief's figure; under ASan on two busy
cores the first scenario takes 15-60 s, the module 30-70 s.
"""
import os
import re
import threading
import time

import pytest

import kbharness as h

TOPICS = 20
PARTITIONS = 500
SESSION_TIMEOUT_MS = 6000
PING_EVERY_S = 0.05
FD_HEADROOM = 200  # listeners, ZooKeeper, clients, metrics, stdio


def hard_nofile():
    import resource
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


class Pinger:
    """ApiVersions every 50 ms on one connection; remembers the longest wait
    between two answers.  Bounded: each answer is awaited 60 s at most."""

    def __init__(self, broker):
        self.broker = broker
        self.gaps = []
        self.error = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        try:
            s = h.connect(self.broker.port, timeout=60)
            last, corr = time.monotonic(), 0
            while not self.stopping.is_set():
                corr += 1
                s.sendall(h.kafka_request(18, 0, corr))
                got, err, _ = h.parse_apiversions_v0(h.recv_frame(s))
                assert got == corr and err == 0, (got, err)
                now = time.monotonic()
                self.gaps.append(now - last)
                last = now
                self.stopping.wait(PING_EVERY_S)
            s.close()
        except Exception as e:  # noqa: BLE001 - reported by stop()
            self.error = e

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.thread.join(90)
        assert not self.thread.is_alive(), "the ApiVersions client did not stop"
        assert self.error is None, f"ApiVersions client failed: {self.error!r}"
        return max(self.gaps) if self.gaps else None


def topic(i):
    return f"scale-{i:02d}"


def unserved(broker, name, partitions):
    """Partitions of name whose leader (this broker) does not answer ListOffsets."""
    got = h.list_offsets(broker, name, list(range(partitions)), timeout=60)
    return [p for p in range(partitions) if got.get(p, (-1,))[0] != 0]


@pytest.fixture(scope="module")
def big(make_cluster):
    # The broker holds no more logs than its descriptors leave room for
    # beside its reserve (kb_fd_budget.h).
    need = max(TOPICS * PARTITIONS + FD_HEADROOM, h.nofile_for(TOPICS * PARTITIONS))
    if hard_nofile() < need:
        pytest.skip(f"the hard RLIMIT_NOFILE ({hard_nofile()}) is below the {need} descriptors "
                    f"{TOPICS * PARTITIONS} partitions need")
    c = make_cluster()
    with h.step(f"start broker 1 alone (zookeeper.session.timeout.ms={SESSION_TIMEOUT_MS}, metrics on)"):
        b = c.add_broker(1, session_timeout_ms=SESSION_TIMEOUT_MS, metrics=True)
        b.start()
        b.wait_registered(30)
        assert c.wait_controller() == 1
    return c, b, c.controller_epoch()


@pytest.fixture(scope="module")
def created(big):
    c, b, _ = big
    pinger = Pinger(b).start()
    t0 = time.monotonic()
    with h.step(f"kbroker-admin create-topic x {TOPICS}, {PARTITIONS} partitions each, RF 1, back to back"):
        for i in range(TOPICS):
            r = c.admin("create-topic", "--topic", topic(i), "--partitions", PARTITIONS,
                        "--replication-factor", 1, timeout=120)
            assert r.returncode == 0, r.stderr
    with h.step(f"wait until all {TOPICS * PARTITIONS} partitions are served (ListOffsets)"):
        def all_served():
            if not b.alive():
                h.raise_exited(b)
            return all(not unserved(b, topic(i), PARTITIONS) for i in range(TOPICS))
        h.wait_until(all_served, 600, f"every partition of the {TOPICS} topics to be served", interval=1.0)
    served_after = time.monotonic() - t0
    gap = pinger.stop()
    h.note(f"{TOPICS * PARTITIONS} partitions created and served", served_after)
    print(f"FIGURE: {TOPICS}x{PARTITIONS} partitions served {served_after:.1f} s after the first create-topic; "
          f"longest wait between two ApiVersions answers (every {PING_EVERY_S * 1000:.0f} ms): "
          f"{gap * 1000:.0f} ms over {len(pinger.gaps)} answers", flush=True)
    return served_after


def test_ten_thousand_partitions_without_losing_the_session_or_the_controller_role(big, created):
    c, b, epoch = big
    log = b.process.log_text()
    expired = [ln for ln in log.splitlines() if re.search(r"session .* expired|has expired", ln)]
    assert not expired, f"the broker's ZooKeeper session expired {len(expired)} time(s):\n" + "\n".join(expired[:6])
    sessions = re.findall(r"connected to ZooKeeper .*\(session (0x[0-9a-f]+), new[,)]", log)
    assert len(sessions) == 1, f"the broker opened {len(sessions)} sessions: {sessions}"
    assert "no longer the controller" not in log
    assert c.controller() == 1 and c.controller_epoch() == epoch, \
        f"controller {c.controller()} epoch {c.controller_epoch()}, was 1 at epoch {epoch}"
    values = b.metrics()
    created_logs = h.metric(values, "kbroker_logs_created_total")
    pending = h.metric(values, "kbroker_log_creations_pending")
    fds = h.metric(values, "kbroker_open_fds")
    print(f"{created_logs:.0f} logs created off the loop, {pending:.0f} pending; {fds:.0f} descriptors open, "
          f"limit {h.metric(values, 'kbroker_open_fds_limit'):.0f}")
    assert created_logs == TOPICS * PARTITIONS and pending == 0
    assert h.metric(values, "kbroker_log_creation_failures_total") == 0
    assert TOPICS * PARTITIONS <= fds <= TOPICS * PARTITIONS + FD_HEADROOM


def test_every_partition_has_its_leader_in_metadata(big, created):
    c, b, _ = big
    with h.step("kcat -L: every partition led by broker 1"):
        view = h.kcat_view(h.kcat_metadata(b.bootstrap, timeout=60))
    for i in range(TOPICS):
        t = view["topics"].get(topic(i))
        assert t is not None and len(t["partitions"]) == PARTITIONS, topic(i)
        bad = {p: x for p, x in t["partitions"].items() if x[0] != 1 or x[3]}
        assert not bad, f"{topic(i)}: partitions without leader 1: {dict(list(bad.items())[:5])}"


def test_records_produced_to_the_last_topic_are_consumed_back(big, created):
    c, b, _ = big
    last = topic(TOPICS - 1)
    recs = [h.Rec(last, p, None, f"k{p}".encode(), f"v{p}".encode(), (), None) for p in range(PARTITIONS)]
    with h.step(f"confluent-kafka: one record to each partition of {last}, acks=all"):
        reports = h.ck_produce(h.ck_producer(b.bootstrap, acks="all"), recs)
    assert all(e is None for _, e in reports), [str(e) for _, e in reports if e][:3]
    with h.step(f"confluent-kafka: consume all {PARTITIONS} partitions of {last} to their end"):
        got, _ = h.ck_consume(b.bootstrap, [(last, p) for p in range(PARTITIONS)])
    assert sorted((r.partition, r.offset, r.key, r.value) for r in got) == \
        [(p, 0, f"k{p}".encode(), f"v{p}".encode()) for p in range(PARTITIONS)]


# -- zb2: the disk is full while logs are being created ---------------------------------

FULL_TOPIC = "no-room"
FULL_PARTITIONS = 20
DISK_SIZE = "4m"


def creation_errors(broker):
    return [ln for ln in broker.process.log_text().splitlines()
            if f"{FULL_TOPIC}-" in ln and "cannot create its log" in ln]


def test_logs_that_do_not_fit_are_logged_in_one_line_and_created_once_space_is_freed(make_cluster):
    c = make_cluster(chroot="/full")
    b = c.add_broker(2, metrics=True)
    h.mount_tmpfs(b.log_dir, DISK_SIZE)
    try:
        with h.step(f"start broker 2 with its log dir on a {DISK_SIZE} tmpfs; fill the tmpfs"):
            b.start()
            b.wait_registered(30)
            c.wait_controller()
            filler = b.log_dir / "filler"
            h.fill_rest(filler)
        with h.step(f"create {FULL_TOPIC} ({FULL_PARTITIONS} partitions): every log creation fails"):
            r = c.admin("create-topic", "--topic", FULL_TOPIC, "--partitions", FULL_PARTITIONS,
                        "--replication-factor", 1)
            assert r.returncode == 0, r.stderr
            c.wait_states(FULL_TOPIC)

        def failures():
            return h.metric(b.metrics(), "kbroker_log_creation_failures_total")
        with h.step("wait for the retries to fail too (the first ones back off from 1 s)"):
            h.wait_until(lambda: failures() >= 2 * FULL_PARTITIONS, 60, "a second round of failed creations")
        assert b.alive()
        errors = creation_errors(b)
        print(f"{failures():.0f} failed attempts, {len(errors)} error lines; first: {errors[:1]}")
        # The first failures of all the partitions come in one burst: one line.
        assert len(errors) == 1, errors
        assert all("No space left on device" in ln for ln in errors), errors[:3]
        assert set(unserved(b, FULL_TOPIC, FULL_PARTITIONS)) == set(range(FULL_PARTITIONS))
        with h.step("free the space; wait for the retries to create every log (nothing else changes)"):
            os.unlink(filler)
            h.wait_until(lambda: not unserved(b, FULL_TOPIC, FULL_PARTITIONS), 120,
                         f"every partition of {FULL_TOPIC} to be served")
        assert h.metric(b.metrics(), "kbroker_logs_created_total") == FULL_PARTITIONS
        assert len(creation_errors(b)) == 1
        rc = b.stop()
        assert rc == 0, f"broker 2 exited with status {rc} on SIGTERM"
    finally:
        b.stop()
        h.unmount(b.log_dir)


# -- zb3: SIGTERM while logs are still being created -----------------------------------

STOP_TOPIC = "cut-short"
STOP_PARTITIONS = 4000
NOT_LEADER = 6
UNKNOWN = 3


def test_sigterm_with_log_creations_queued_exits_cleanly_and_the_restart_serves_them_all(make_cluster):
    c = make_cluster(chroot="/stop")
    b = c.add_broker(3, metrics=True)
    with h.step("start broker 3 (metrics on)"):
        b.start()
        b.wait_registered(30)
        c.wait_controller()
    with h.step(f"create {STOP_TOPIC} ({STOP_PARTITIONS} partitions); wait until log creations are queued"):
        r = c.admin("create-topic", "--topic", STOP_TOPIC, "--partitions", STOP_PARTITIONS,
                    "--replication-factor", 1)
        assert r.returncode == 0, r.stderr
        h.wait_until(lambda: h.metric(b.metrics(), "kbroker_log_creations_pending") > 0, 60,
                     "log creations to be pending")
    # Meanwhile a partition whose log is not there yet answers 6, as a
    # broker that has not applied its LeaderAndIsr does, or 3 while the
    # controller's UpdateMetadata (sent after the LeaderAndIsr) has not
    # reached the broker's metadata cache yet; clients retry both.
    # Only the last partitions are asked (the creator takes them in order):
    # asking for all 4,000 took long enough on CI for every log to be made
    # before the SIGTERM below, which then tested nothing.
    asked = list(range(STOP_PARTITIONS - 200, STOP_PARTITIONS))
    got = h.list_offsets(b, STOP_TOPIC, asked, timeout=60)
    codes = [got[p][0] for p in asked]
    print(f"ListOffsets while creating: {codes.count(0)} served, {codes.count(NOT_LEADER)} NOT_LEADER_OR_FOLLOWER, "
          f"{codes.count(UNKNOWN)} UNKNOWN_TOPIC_OR_PARTITION")
    assert set(codes) <= {0, NOT_LEADER, UNKNOWN}, sorted(set(codes))
    def made():
        return sum(1 for p in range(STOP_PARTITIONS) if b.partition_dir(STOP_TOPIC, p).exists())
    # The broker drops the creations not started yet as soon as the signal
    # arrives (it went on making logs through its whole shutdown before,
    # and on CI made all 4,000 by the time it exited).
    with h.step("SIGTERM with creations still queued"):
        made_at_signal = made()
        rc = b.stop()
    assert rc == 0, f"broker 3 exited with status {rc}:\n{b.process.tail(30)}"
    assert not b.process.sanitizer_report(), b.process.sanitizer_report()[:10]
    made_at_exit = made()
    print(f"{made_at_signal} of {STOP_PARTITIONS} partition dirs existed at SIGTERM, {made_at_exit} at exit")
    assert made_at_exit < STOP_PARTITIONS, "every log was created before the broker exited"
    cut_short = [ln for ln in b.process.log_text().splitlines() if "cannot create its log" in ln]
    assert not cut_short, f"creations dropped by the shutdown were logged as failures: {cut_short[:3]}"
    with h.step("restart broker 3: the logs made load, the others are created"):
        b.start()
        b.wait_registered(60)
        h.wait_until(lambda: not unserved(b, STOP_TOPIC, STOP_PARTITIONS), 300,
                     f"every partition of {STOP_TOPIC} to be served after the restart")
