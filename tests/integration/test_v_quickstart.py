"""
Scenario v: the README's quickstart stops cleanly however it is stopped.

scripts/quickstart.sh starts its own ZooKeeper and three brokers (here on
free ports, in a temporary run directory, with the suite's binaries), creates
the topic demo and waits.  An operator stops it with Ctrl-C, which the
terminal delivers as SIGINT to the whole foreground process group; or a
service manager stops it with SIGTERM or SIGHUP, possibly having started it
with SIGINT ignored.  Each way, every broker must receive exactly one
signal, from the script, so that it deletes its registration and closes its
logs cleanly before ZooKeeper stops: a broker that also got the terminal's
SIGINT would take the script's SIGTERM as a second signal and exit without
its clean-up.
"""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import kbharness as h

REPO = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"quickstart: started (\S+) \(pid (\d+)\)")


class Quickstart:
    """quickstart.sh in a process group of its own, as a terminal's
    foreground job is; its output is collected line by line."""

    def __init__(self, run_dir, ignore_sigint=False):
        ports = [h.free_port() for _ in range(4)]
        env = dict(os.environ, KB_QUICKSTART_ZK_PORT=str(ports[0]),
                   KB_QUICKSTART_BROKER_PORTS=" ".join(map(str, ports[1:])),
                   KB_QUICKSTART_RUN=str(run_dir), KB_QUICKSTART_BIN=str(Path(h.KBROKER_BIN).parent))
        self.run_dir = run_dir
        self.out_path = run_dir.parent / f"{run_dir.name}-quickstart.out"
        self.out = open(self.out_path, "w")

        def child_setup():
            # A terminal's foreground job (or a service manager's) starts
            # with SIGINT and SIGHUP at their defaults, whatever this process
            # inherited: a suite started in the background by a
            # non-interactive shell has SIGINT ignored, one under nohup
            # SIGHUP, and bash cannot trap a signal ignored when it starts.
            signal.signal(signal.SIGINT, signal.SIG_IGN if ignore_sigint else signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
        self.proc = subprocess.Popen(["bash", str(REPO / "scripts/quickstart.sh")], cwd=REPO, env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True, preexec_fn=child_setup)

    def text(self):
        return self.out_path.read_text(errors="replace")

    def children(self):
        """{name: pid} of what the script says it started."""
        return {m.group(1): int(m.group(2)) for m in STARTED.finditer(self.text())}

    def wait_running(self, timeout=120):
        def running():
            if self.proc.poll() is not None:
                raise h.Fatal(f"quickstart exited with status {self.proc.returncode}:\n{self.text()[-3000:]}")
            return "kbroker is running" in self.text()
        h.wait_until(running, timeout, "quickstart to say the cluster is running", interval=0.2)

    def cleanup(self):
        """Whatever is still alive after the test, by PID."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in self.children().values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.out.close()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


STOPS = {
    "Ctrl-C (SIGINT to the process group)": (False, lambda q: os.killpg(q.proc.pid, signal.SIGINT)),
    "SIGTERM, started with SIGINT ignored": (True, lambda q: q.proc.send_signal(signal.SIGTERM)),
    "SIGHUP, started with SIGINT ignored": (True, lambda q: q.proc.send_signal(signal.SIGHUP)),
}


@pytest.mark.parametrize("how", list(STOPS))
def test_quickstart_stops_every_broker_cleanly(tmp_path, how):
    ignore_sigint, stop = STOPS[how]
    q = Quickstart(tmp_path / "run", ignore_sigint=ignore_sigint)
    try:
        with h.step("quickstart.sh brings up ZooKeeper, three brokers and the demo topic"):
            q.wait_running()
        kids = q.children()
        assert sorted(kids) == ["kbroker-1", "kbroker-2", "kbroker-3", "zookeeper"], q.text()
        if ignore_sigint:
            # A stray Ctrl-C changes nothing for a script that ignores it.
            os.killpg(q.proc.pid, signal.SIGINT)
        with h.step(f"stop it: {how}"):
            t0 = time.monotonic()
            stop(q)
            rc = q.proc.wait(timeout=120)
            h.note(f"{how}: quickstart exited", time.monotonic() - t0)
        assert rc == 0, f"quickstart exited with status {rc}:\n{q.text()[-3000:]}"
        assert not [n for n, pid in kids.items() if alive(pid)], q.text()
        for n in (1, 2, 3):
            log = (q.run_dir / f"kbroker-{n}.log").read_text(errors="replace")
            assert "second signal" not in log, f"broker {n} got two signals:\n{log[-2000:]}"
            assert f"deleted the registration /brokers/ids/{n}" in log, \
                f"broker {n} did not delete its registration before ZooKeeper stopped:\n{log[-2000:]}"
            assert "exiting with status 0" in log, log[-2000:]
            assert not h.SANITIZER_PATTERNS.search(log), log[-4000:]
    finally:
        q.cleanup()
