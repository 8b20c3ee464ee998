"""
Chaos tier wiring: one topology (bridge, namespaces, ZooKeeper) per test
file, each test a fresh cluster on it (chaos.ChaosRun); the logs of the
file's processes shown when a test fails; the report printed at the end.
"""
import importlib.util
import os
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import chaos  # noqa: E402
import kbharness as h  # noqa: E402
import netcluster as nc  # noqa: E402


def _exit_on_signal(signum, frame):
    """SIGTERM or SIGHUP (a CI timeout, a closed terminal) ends the run
    through the normal exit, so that every finally and atexit clean-up runs:
    namespaces, mounts and processes (also SIGSTOPped ones) go away."""
    raise SystemExit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _exit_on_signal)


def _load_integration_conftest():
    path = Path(__file__).resolve().parents[1] / "integration" / "conftest.py"
    spec = importlib.util.spec_from_file_location("integration_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_collection_modifyitems(session, config, items):
    missing = h.require_binaries()
    if missing and any("test_r0" not in i.nodeid for i in items):
        pytest.exit(f"chaos tier: missing {', '.join(missing)}; build first "
                    f"(scripts/test.sh does) or set KBROKER_BIN / KBROKER_ADMIN_BIN", returncode=4)


_report_reset = []


def reset_report_once():
    """Each session that runs clusters writes a new report (the checker's
    self-test alone leaves the last one in place)."""
    if not _report_reset:
        chaos.OUT.mkdir(parents=True, exist_ok=True)
        (chaos.OUT / "report.txt").unlink(missing_ok=True)
        _report_reset.append(True)


@pytest.fixture(scope="module")
def topo(request, tmp_path_factory):
    """Namespaces for ZooKeeper and three brokers on a bridge, ZooKeeper
    started; everything removed at the end of the file, pass or fail."""
    if os.geteuid() != 0:
        pytest.fail("the chaos tier needs root (network namespaces, iptables, tmpfs)")
    for p in list(h.PROCESSES):
        h.PROCESSES.remove(p)
    reset_report_once()
    name = request.module.__name__.rsplit(".", 1)[-1]
    t0 = time.monotonic()
    t = nc.Topology(tmp_path_factory.mktemp(name), zk_servers=int(os.environ.get("KB_CHAOS_ZK", "1")))
    try:
        t.start_zookeeper()
        h.note(f"{name}: topology and ZooKeeper {t.zk_hosts} up", time.monotonic() - t0)
        yield t
    finally:
        t.close()


# The integration suite's hooks: log tails of the file's processes when a
# test fails, each test's wall time and the measured intervals at the end.
_integration = _load_integration_conftest()
pytest_runtest_makereport = _integration.pytest_runtest_makereport
pytest_runtest_logstart = _integration.pytest_runtest_logstart
pytest_runtest_logfinish = _integration.pytest_runtest_logfinish


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    _integration.pytest_terminal_summary(terminalreporter, exitstatus, config)
    report = chaos.OUT / "report.txt"
    if report.exists():
        terminalreporter.section(f"chaos report ({report})")
        for line in report.read_text().splitlines():
            terminalreporter.write_line(line)
