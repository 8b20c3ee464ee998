"""
Chaos tier wiring: one topology (bridge, namespaces, ZooKeeper) per test
file, each test a fresh cluster on it (chaos.ChaosRun); the logs of the
file's processes shown when a test fails; the report printed at the end.
"""
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import chaos  # noqa: E402
import kbharness as h  # noqa: E402
import netcluster as nc  # noqa: E402


def pytest_collection_modifyitems(session, config, items):
    missing = h.require_binaries()
    if missing and any("test_r0" not in i.nodeid for i in items):
        pytest.exit(f"chaos tier: missing {', '.join(missing)}; build first "
                    f"(scripts/test.sh does) or set KBROKER_BIN / KBROKER_ADMIN_BIN", returncode=4)


def pytest_sessionstart(session):
    """Each run of the tier writes a new report."""
    chaos.OUT.mkdir(parents=True, exist_ok=True)
    (chaos.OUT / "report.txt").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def topo(request, tmp_path_factory):
    """Namespaces for ZooKeeper and three brokers on a bridge, ZooKeeper
    started; everything removed at the end of the file, pass or fail."""
    if os.geteuid() != 0:
        pytest.fail("the chaos tier needs root (network namespaces, iptables, tmpfs)")
    for p in list(h.PROCESSES):
        h.PROCESSES.remove(p)
    name = request.module.__name__.rsplit(".", 1)[-1]
    t0 = time.monotonic()
    t = nc.Topology(tmp_path_factory.mktemp(name), zk_servers=int(os.environ.get("KB_CHAOS_ZK", "1")))
    try:
        t.start_zookeeper()
        h.note(f"{name}: topology and ZooKeeper {t.zk_hosts} up", time.monotonic() - t0)
        yield t
    finally:
        t.close()


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
    if _durations:
        tr.section("chaos wall times (setup + run + teardown)")
        for nodeid, secs in _durations:
            tr.write_line(f"{secs:7.2f}s  {nodeid}")
    report = chaos.OUT / "report.txt"
    if report.exists():
        tr.section(f"chaos report ({report})")
        for line in report.read_text().splitlines():
            tr.write_line(line)
    if h.STEP_TIMES:
        tr.section("measured intervals")
        for test, what, secs in h.STEP_TIMES:
            tr.write_line(f"{secs:7.2f}s  {test}: {what}")
