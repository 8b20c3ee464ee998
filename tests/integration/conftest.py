"""
Integration suite wiring: one real ZooKeeper per test file, the logs of every
process of that file shown when a test fails, sanitizer reports turned into
failures, and a timing table at the end of the run.
"""
import time

import pytest

import kbharness as h

# How long a broker may take to exit after the SIGTERM of the module's
# teardown before it is SIGKILLed (and the scenario fails).
STOP_WAIT_S = 60


def pytest_configure(config):
    config.addinivalue_line("markers", "scenario(name): an acceptance scenario of the issue")


def pytest_collection_modifyitems(session, config, items):
    missing = h.require_binaries()
    if missing:
        pytest.exit(f"integration suite: missing {', '.join(missing)}; build first "
                    f"(scripts/test.sh does) or set KBROKER_BIN / KBROKER_ADMIN_BIN", returncode=4)


@pytest.fixture(scope="module")
def zookeeper(request, tmp_path_factory):
    """A standalone ZooKeeper for this test file only."""
    for p in list(h.PROCESSES):  # processes of an earlier file are gone by now
        h.PROCESSES.remove(p)
    name = request.module.__name__.rsplit(".", 1)[-1]
    workdir = tmp_path_factory.mktemp(name)
    t0 = time.monotonic()
    zk = h.ZooKeeper(workdir / "zookeeper").start()
    h.note(f"{name}: ZooKeeper up on {zk.connect}", time.monotonic() - t0)
    yield zk
    zk.stop()


@pytest.fixture(scope="module")
def workdir(zookeeper):
    return zookeeper.workdir.parent


@pytest.fixture(scope="module")
def make_cluster(zookeeper, workdir):
    """Creates the scenario's cluster(s) on this file's ZooKeeper.  At the end
    of the file every broker still running is stopped with SIGTERM, and the
    file fails if one did not exit with status 0 or if any broker printed a
    sanitizer report."""
    clusters = []

    def make(chroot=""):
        c = h.Cluster(zookeeper, workdir / f"cluster{len(clusters)}", chroot=chroot)
        clusters.append(c)
        return c

    yield make
    problems = []
    # Every broker of the module gets its SIGTERM at once, so that their
    # clean shutdowns (a broker with 10,000 logs fsyncs each) overlap
    # instead of queueing; each then has STOP_WAIT_S to exit.
    running = [(c, b) for c in clusters for b in c.brokers.values() if b.alive()]
    for _, b in running:
        b.process.signal_stop()
    for _, b in running:
        rc = b.stop(timeout=STOP_WAIT_S, signalled=True)
        if rc != 0:
            problems.append(f"broker {b.id} exited with status {rc} on SIGTERM")
    for c in clusters:
        for b in c.brokers.values():
            b.stop()  # brokers that had already exited: nothing to do
        c.close()
    for p in h.PROCESSES:
        if p.name != "zookeeper":
            report = p.sanitizer_report()
            if report:
                problems.append(f"{p.name}: sanitizer report in {p.log_path}:\n  " + "\n  ".join(report[:20]))
    if problems:
        pytest.fail("at the end of the scenario:\n" + "\n".join(problems), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for p in h.PROCESSES:
            lines = 15 if p.name.startswith("zookeeper") else 40
            rep.sections.append((f"{p.name} (pid {p.pid}) log tail: {p.log_path}", p.tail(lines)))


_starts = {}
_durations = []


def pytest_runtest_logstart(nodeid, location):
    _starts[nodeid] = time.monotonic()
    h.CURRENT_TEST["id"] = nodeid.split("::", 1)[-1]


def pytest_runtest_logfinish(nodeid, location):
    _durations.append((nodeid, time.monotonic() - _starts.get(nodeid, time.monotonic())))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tr = terminalreporter
    if not _durations:
        return
    tr.section("scenario wall times (setup + run + teardown)")
    per_file = {}
    for nodeid, secs in _durations:
        tr.write_line(f"{secs:7.2f}s  {nodeid}")
        f = nodeid.split("::", 1)[0]
        per_file[f] = per_file.get(f, 0.0) + secs
    for f, secs in per_file.items():
        tr.write_line(f"{secs:7.2f}s  total {f}")
    if h.STEP_TIMES:
        tr.section("runbook steps and measured intervals")
        for test, what, secs in h.STEP_TIMES:
            tr.write_line(f"{secs:7.2f}s  {test}: {what}")
