"""
kbharness - real processes for the integration suite: a standalone ZooKeeper,
kbroker processes, kbroker-admin runs and kcat metadata queries.

Everything here is bounded in time: every wait has a deadline and fails with a
message saying what it waited for and what it saw last.  Everything binds
127.0.0.1 only.  Processes are stopped by PID (SIGTERM, a bounded wait, then
SIGKILL); nothing is ever killed by name.  Each process's output goes to its
own log file, and the suite's conftest prints the tails of those files when a
test fails.

Binaries come from $KBROKER_BIN and $KBROKER_ADMIN_BIN; without them the
default is the out-of-tree build in <repo>/build (what scripts/test.sh makes).

For the data path: Broker(metrics=True) gives a broker a Prometheus endpoint
(scrape with Broker.metrics(), read a counter with metric()); Broker.segments()
finds a partition's .log files (parse them with kafkawire); Cluster.create_topic
waits until every partition is served; kcat_produce/kcat_consume, ck_producer/
ck_produce/ck_consume (confluent-kafka) and kp_consume (kafka-python) move
records and return them as Rec tuples that compare across clients; and
list_offsets sends a raw ListOffsets.  For consumer groups, kafka_call sends
one crafted request; find_coordinator/wait_coordinator, describe_group and
fetch_offsets ask a coordinator; fetch_log reads a whole partition (e.g.
__consumer_offsets) with raw Fetch.  Byte-level building and parsing lives in
kafkawire.py.
"""
import atexit
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections import namedtuple
from pathlib import Path

from kazoo.client import KazooClient

import kafkawire

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("KBROKER_BUILD_DIR", REPO / "build"))
KBROKER_BIN = os.environ.get("KBROKER_BIN", str(BUILD_DIR / "kbroker"))
KBROKER_ADMIN_BIN = os.environ.get("KBROKER_ADMIN_BIN", str(BUILD_DIR / "kbroker-admin"))
KCAT_BIN = os.environ.get("KCAT_BIN", "kcat")
JAVA_BIN = os.environ.get("JAVA", "java")
# slf4j-simple first, so that ZooKeeper's own log (session expiries!) lands in
# zookeeper.log instead of the no-op binding the wildcard would pick.
ZK_CLASSPATH = "/usr/share/java/slf4j-simple.jar:/usr/share/java/*:/etc/zookeeper/conf_example"
BROKER_LOG_LEVEL = os.environ.get("KBROKER_TEST_LOG_LEVEL", "info")

# Every process started in the current test module, so that conftest can show
# their logs when a test fails and the module teardown can stop the leftovers.
PROCESSES = []
# Every process started in this run: whatever is still alive when the test
# run ends, however it ends, is killed by PID (see _kill_leftovers).
_ALL_PROCESSES = []
# (test id, step, seconds) of every runbook step, printed at the end of the run.
STEP_TIMES = []
CURRENT_TEST = {"id": "?"}

SANITIZER_PATTERNS = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    r"SUMMARY: UndefinedBehaviorSanitizer|SUMMARY: AddressSanitizer")


class Timeout(AssertionError):
    pass


class Fatal(AssertionError):
    """Raised inside a wait_until condition to stop waiting at once (e.g. the
    process being waited for has exited)."""


def ephemeral_port_range():
    """The ports the kernel hands out for bind(0) and connect()."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


_port_picker = random.Random()  # its own: tests may seed the module's generator


def free_port():
    """A port free on 127.0.0.1 a moment ago, for a server the suite starts
    later on that fixed port (ZooKeeper, a metrics listener, a broker that
    must keep its port across restarts).  It is chosen below the kernel's
    ephemeral range: a port from bind(0), as the OS picks for every broker
    listening on port 0 and every client socket, can never be it, so
    nothing the suite starts meanwhile takes it (test_ze once failed on a
    broker whose listener got the port just picked for its metrics)."""
    low, _ = ephemeral_port_range()
    first = 10000 if low > 11000 else 1024
    for _ in range(200):
        port = _port_picker.randrange(first, low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise Fatal(f"no free port on 127.0.0.1 between {first} and {low} in 200 tries")


def closed_port():
    """A 127.0.0.1 port nothing listens on (used to test 'ZooKeeper unreachable')."""
    return free_port()


def wait_until(fn, timeout, what, interval=0.1):
    """Calls fn until it returns something truthy, which is returned.  Exceptions
    from fn count as 'not yet'.  Fails after `timeout` seconds naming `what` and
    the last value or exception seen."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = fn()
            if value:
                return value
            last = value
        except Fatal:
            raise
        except Exception as e:  # noqa: BLE001 - any other failure is "not yet"
            last = e
        if time.monotonic() >= deadline:
            raise Timeout(f"timed out after {timeout:.1f}s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)


def wait_all(conditions, timeout, interval=0.05):
    """Polls several named conditions together and returns {name: seconds until it
    first held}, measured from the call.  Fails after `timeout` listing the ones
    that never held.  The resolution is one polling round (interval plus the
    time the conditions take, ~0.1 s with a few kcat calls)."""
    start = time.monotonic()
    seen = {}
    last = {}
    while True:
        for name, fn in conditions.items():
            if name in seen:
                continue
            try:
                v = fn()
                if v:
                    seen[name] = time.monotonic() - start
                else:
                    last[name] = v
            except Exception as e:  # noqa: BLE001
                last[name] = e
        if len(seen) == len(conditions):
            return seen
        if time.monotonic() - start >= timeout:
            missing = {k: last.get(k) for k in conditions if k not in seen}
            raise Timeout(f"timed out after {timeout:.1f}s; never held: {missing!r}; held: {seen!r}")
        time.sleep(interval)


@contextlib.contextmanager
def step(what):
    """One line of an operator's runbook: prints it, times it, records the time."""
    print(f"--> {what}", flush=True)
    t0 = time.monotonic()
    try:
        yield
    finally:
        dt = time.monotonic() - t0
        STEP_TIMES.append((CURRENT_TEST["id"], what, dt))
        print(f"    ({dt:.2f}s) {what}", flush=True)


def note(what, seconds):
    """Records a measured interval (not a step) for the end-of-run timing table."""
    STEP_TIMES.append((CURRENT_TEST["id"], what, seconds))
    print(f"    [{seconds:6.2f}s] {what}", flush=True)


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()[-64 * 1024:]
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


class Process:
    """A child process with its output in a log file; stopped by PID only."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.env = env
        self.cwd = cwd
        self.proc = None
        self.returncode = None
        PROCESSES.append(self)
        _ALL_PROCESSES.append(self)

    def start(self):
        self.returncode = None
        log = open(self.log_path, "ab")
        log.write(f"==== {time.strftime('%H:%M:%S')} start: {' '.join(self.argv)}\n".encode())
        log.flush()
        # Its own session: a Ctrl-C on the test run does not reach it, the
        # harness stops it by PID instead.
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     env=self.env, cwd=self.cwd, start_new_session=True)
        log.close()
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def wait(self, timeout):
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Timeout(f"{self.name} (pid {self.pid}) still running after {timeout}s")
        return self.returncode

    def signal_stop(self, sig=signal.SIGTERM):
        """Sends sig (after SIGCONT: a stopped process cannot exit) without
        waiting; stop(signalled=True) then waits for the exit."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
                os.kill(self.proc.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=15.0, signalled=False):
        """Sends sig (unless signalled: already sent), waits up to timeout,
        then SIGKILLs.  Returns the exit status (negative = killed by that
        signal), or None if it was never started."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            if not signalled:
                self.signal_stop(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
                self.log_note(f"did not exit within {timeout}s of signal {sig}; SIGKILLed")
        self.returncode = self.proc.returncode
        return self.returncode

    def kill9(self):
        return self.stop(signal.SIGKILL, timeout=10)

    def log_note(self, text):
        with open(self.log_path, "ab") as f:
            f.write(f"==== harness: {text}\n".encode())

    def log_text(self):
        try:
            return self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def last_run_text(self):
        """The log of the latest start only (the file keeps every run)."""
        text = self.log_text()
        starts = [m.start() for m in re.finditer(r"^==== \d\d:\d\d:\d\d start: ", text, re.M)]
        return text[starts[-1]:] if starts else text

    def sanitizer_report(self):
        """The sanitizer lines in this process's log, if any."""
        return [ln for ln in self.log_text().splitlines() if SANITIZER_PATTERNS.search(ln)]

    def tail(self, lines=40):
        return tail(self.log_path, lines)


@atexit.register
def _kill_leftovers():
    for p in _ALL_PROCESSES:
        if p.alive():
            with contextlib.suppress(Exception):
                os.kill(p.proc.pid, signal.SIGKILL)
                p.proc.wait(timeout=5)


class ZooKeeper:
    """A standalone ZooKeeper server (Debian's package) on 127.0.0.1 with a
    fast tick, so sessions expire within seconds."""

    def __init__(self, workdir, tick_ms=500):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.port = free_port()
        self.tick_ms = tick_ms
        self.cfg = self.workdir / "zoo.cfg"
        self.process = None

    @property
    def connect(self):
        return f"127.0.0.1:{self.port}"

    def write_config(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # maxSessionTimeout defaults to 20 ticks (10 s), minSessionTimeout to 2 ticks.
        self.cfg.write_text(
            f"tickTime={self.tick_ms}\n"
            f"dataDir={self.data_dir}\n"
            f"clientPort={self.port}\n"
            "clientPortAddress=127.0.0.1\n"
            "admin.enableServer=false\n"
            "maxClientCnxns=0\n"
            "forceSync=no\n"
            "4lw.commands.whitelist=ruok,stat,srvr,dump,wchp\n")

    def start(self, timeout=40.0):
        if not Path("/usr/share/java/zookeeper.jar").exists():
            raise RuntimeError("ZooKeeper is not installed: apt-get install zookeeper")
        self.write_config()
        argv = [JAVA_BIN, "-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dzookeeper.jmx.log4j.disable=true",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                "-cp", ZK_CLASSPATH, "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                str(self.cfg)]
        if self.process is None:
            self.process = Process("zookeeper", argv, self.workdir / "zookeeper.log")
        self.process.start()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout):
        def answers():
            if not self.process.alive():
                raise RuntimeError(f"ZooKeeper exited with {self.process.proc.returncode}:\n"
                                   f"{self.process.tail(20)}")
            # A plain TCP connect first: kazoo would sit out its whole timeout
            # on a port that is not listening yet.
            socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
            zk = KazooClient(hosts=self.connect, timeout=2.0)
            try:
                zk.start(timeout=2.0)
                zk.get_children("/")
                return True
            finally:
                with contextlib.suppress(Exception):
                    zk.stop()
                    zk.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                if answers():
                    return
            except RuntimeError:
                raise
            except Exception as e:  # noqa: BLE001
                if time.monotonic() > deadline:
                    raise Timeout(f"ZooKeeper on {self.connect} did not answer within {timeout}s: {e!r}")
            time.sleep(0.2)

    def stop(self, timeout=15.0):
        if self.process:
            return self.process.stop(signal.SIGTERM, timeout)
        return None

    def restart_empty(self, timeout=40.0):
        """ZooKeeper loses its data: stopped, its data dir emptied, started
        again on the same port."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        return self.start(timeout)

    def four_letter_word(self, word, timeout=10.0):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(word.encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return data.decode("utf-8", "replace")
                data += chunk

    def live_sessions(self):
        """Ids of the sessions the server holds right now (the 'dump' command,
        which lists every session until it expires, connected or not)."""
        return {int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]+)", self.four_letter_word("dump"))}

    def watchers(self):
        """The sessions watching each znode: path -> set of session ids (the
        'wchp' command)."""
        out, path = {}, None
        for line in self.four_letter_word("wchp").splitlines():
            if line.startswith("/"):
                path = line.strip()
                out[path] = set()
            elif path and line.strip().startswith("0x"):
                out[path].add(int(line.strip(), 16))
        return out

    def client(self, chroot=""):
        return kazoo_client(self.connect + chroot)


def kazoo_client(hosts, start_timeout=15.0):
    """A kazoo client (the test's own eyes on ZooKeeper) that keeps
    reconnecting forever, so it survives a ZooKeeper restart."""
    zk = KazooClient(hosts=hosts, timeout=10.0,
                     connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1.0},
                     command_retry={"max_tries": 0})
    with warnings.catch_warnings():
        # A chroot the brokers have not created yet is expected here.
        warnings.filterwarnings("ignore", message="No chroot path exists")
        zk.start(timeout=start_timeout)
    return zk


class Broker:
    """One kbroker process with its own properties file and log dir."""

    def __init__(self, cluster, broker_id, port=0, session_timeout_ms=2000, extra=None,
                 name=None, args=(), metrics=False):
        self.cluster = cluster
        self.id = broker_id
        self.fixed_port = port
        self.session_timeout_ms = session_timeout_ms
        self.extra = dict(extra or {})
        # metrics=True: a Prometheus endpoint (kbroker.metrics.listener) on a
        # port of its own, kept across restarts.
        self.metrics_port = free_port() if metrics else None
        if metrics:
            self.extra["kbroker.metrics.listener"] = f"127.0.0.1:{self.metrics_port}"
        name = name or f"broker-{broker_id}"
        self.dir = cluster.workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = self.dir / "kafka-logs"
        self.properties = self.dir / "server.properties"
        self.args = list(args)
        self.process = Process(name.replace("-", " ", 1), [KBROKER_BIN, *args, self.properties],
                               self.dir / "kbroker.log", cwd=self.dir)
        self.port = port or None
        self.launcher = ()  # a command every start() runs the broker under

    host = "127.0.0.1"  # every broker of this harness listens here

    def write_properties(self):
        props = {
            "broker.id": str(self.id),
            "listeners": f"PLAINTEXT://127.0.0.1:{self.fixed_port}",
            "log.dirs": str(self.log_dir),
            "zookeeper.connect": self.cluster.zk_connect,
            "zookeeper.session.timeout.ms": str(self.session_timeout_ms),
            "kbroker.log.level": BROKER_LOG_LEVEL,
            # Every broker of a module gets SIGTERM at once at its end: the
            # last ones' controlled shutdowns find nobody to hand over to and
            # retry; Kafka's 5 s between attempts would add 10 s per file.
            "controlled.shutdown.retry.backoff.ms": "300",
        }
        props.update(self.extra)
        self.properties.write_text("".join(f"{k}={v}\n" for k, v in props.items()))

    def start(self, launcher=None):
        """launcher: a command the broker runs under, e.g.
        ("prlimit", "--nofile=100:100"); self.launcher (none unless a test
        sets it) by default."""
        self.write_properties()
        launcher = self.launcher if launcher is None else launcher
        self.process.argv = [str(a) for a in (*launcher, KBROKER_BIN, *self.args, self.properties)]
        self.process.start()
        return self

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def alive(self):
        return self.process.alive()

    def registration(self):
        """(JSON dict, ZnodeStat) of /brokers/ids/N, or None."""
        return self.cluster.get_json(f"/brokers/ids/{self.id}")

    def wait_registered(self, timeout=30.0, newer_than=None):
        """Waits for /brokers/ids/N (with a czxid above newer_than, if given),
        learns the port from it and returns the znode stat."""
        def registered():
            if not self.process.alive():
                raise_exited(self)
            reg = self.registration()
            if reg is None:
                return None
            data, stat = reg
            if newer_than is not None and stat.czxid <= newer_than:
                return None
            return data, stat
        data, stat = wait_until(registered, timeout, f"broker {self.id} to register in ZooKeeper")
        self.port = data["port"]
        return stat

    def stop(self, sig=signal.SIGTERM, timeout=15.0, signalled=False):
        return self.process.stop(sig, timeout, signalled)

    def kill9(self):
        return self.process.kill9()

    def send_signal(self, sig):
        self.process.send_signal(sig)

    # -- its partition logs (zk-and-replication.md section 4.1) ----------------
    def partition_dir(self, topic, partition):
        return self.log_dir / f"{topic}-{partition}"

    def segment(self, topic, partition, base_offset=0, suffix=".log"):
        return self.partition_dir(topic, partition) / kafkawire.segment_name(base_offset, suffix)

    def segments(self, topic, partition):
        """The .log files of a partition, oldest first."""
        return sorted(self.partition_dir(topic, partition).glob("*.log"))

    # -- its metrics endpoint -------------------------------------------------
    @property
    def metrics_url(self):
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def metrics(self, timeout=10.0):
        """{metric name: value summed over its label sets} from /metrics."""
        assert self.metrics_port, f"broker {self.id} was started without metrics=True"
        return scrape_metrics(self.metrics_url, timeout)


def raise_exited(broker):
    rc = broker.process.proc.returncode
    raise Fatal(f"broker {broker.id} exited with status {rc}:\n{broker.process.tail(30)}")


class Cluster:
    """A ZooKeeper (shared by the test module) and the brokers of one scenario."""

    def __init__(self, zk, workdir, chroot=""):
        self.zookeeper = zk
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.chroot = chroot
        self.brokers = {}
        # With a chroot, reads see NoNode until a broker has created it.
        self.zk = zk.client(chroot)

    @property
    def zk_connect(self):
        return self.zookeeper.connect + self.chroot

    # -- brokers --------------------------------------------------------
    def add_broker(self, broker_id, fixed_port=False, **kw):
        port = free_port() if fixed_port else 0
        b = Broker(self, broker_id, port=port, **kw)
        self.brokers[broker_id] = b
        return b

    def start_brokers(self, ids, fixed_ports=False, timeout=40.0, **kw):
        for i in ids:
            self.add_broker(i, fixed_port=fixed_ports, **kw).start()
        for i in ids:
            self.brokers[i].wait_registered(timeout)
        return [self.brokers[i] for i in ids]

    # -- ZooKeeper reads --------------------------------------------------
    def get(self, path):
        """(raw bytes, stat) or None when the znode does not exist."""
        from kazoo.exceptions import NoNodeError
        try:
            return self.zk.get(path)
        except NoNodeError:
            return None

    def get_json(self, path):
        got = self.get(path)
        if got is None:
            return None
        data, stat = got
        return json.loads(data.decode("utf-8")), stat

    def children(self, path):
        from kazoo.exceptions import NoNodeError
        try:
            return self.zk.get_children(path)
        except NoNodeError:
            return None

    def registered_ids(self):
        return sorted(int(c) for c in (self.children("/brokers/ids") or []))

    def controller(self):
        got = self.get_json("/controller")
        return got[0]["brokerid"] if got else None

    def controller_epoch(self):
        got = self.get("/controller_epoch")
        return int(got[0].decode()) if got else None

    def wait_controller(self, timeout=30.0, among=None, other_than=None):
        def elected():
            c = self.controller()
            if c is None or (other_than is not None and c == other_than):
                return None
            if among is not None and c not in among:
                return None
            return c
        return wait_until(elected, timeout, "a controller to be elected")

    def topic(self, name):
        got = self.get_json(f"/brokers/topics/{name}")
        return got[0] if got else None

    def state(self, topic, partition):
        got = self.get_json(f"/brokers/topics/{topic}/partitions/{partition}/state")
        return got[0] if got else None

    def states(self, topic):
        t = self.topic(topic)
        if t is None:
            return None
        out = {}
        for p in t["partitions"]:
            s = self.state(topic, int(p))
            if s is None:
                return None
            out[int(p)] = s
        return out

    def wait_states(self, topic, timeout=30.0, pred=None):
        """Waits until every partition of topic has a state znode (and pred(states)
        holds, if given); returns {partition: state}."""
        def ready():
            st = self.states(topic)
            if st is None:
                return None
            if pred is not None and not pred(st):
                return None
            return st
        return wait_until(ready, timeout, f"state znodes of topic {topic}")

    # -- tools ------------------------------------------------------------
    def admin(self, *args, zookeeper=None, timeout=60.0):
        return run_admin(*args, zookeeper=zookeeper or self.zk_connect, timeout=timeout)

    # -- the data path ----------------------------------------------------
    def bootstrap(self):
        """bootstrap.servers for the live brokers."""
        return ",".join(b.bootstrap for b in self.brokers.values() if b.alive())

    def leader(self, topic, partition):
        """The Broker that leads topic-partition according to its state znode."""
        return self.brokers[self.state(topic, partition)["leader"]]

    def create_topic(self, name, partitions=None, rf=1, assignment=None, configs=(), timeout=60.0):
        """kbroker-admin create-topic, then waits until every partition is
        served (wait_topic_ready).  assignment is Kafka's --replica-assignment
        text ("1,1,2" = partitions 0 and 1 on broker 1, partition 2 on broker 2)."""
        args = ["create-topic", "--topic", name]
        if assignment is not None:
            args += ["--replica-assignment", assignment]
        else:
            args += ["--partitions", partitions, "--replication-factor", rf]
        for c in configs:
            args += ["--config", c]
        with step(f"create topic {name} ({assignment or f'{partitions} partitions, RF {rf}'})"):
            r = self.admin(*args)
            assert r.returncode == 0, f"create-topic {name} failed: {r.stderr}"
            return self.wait_topic_ready(name, timeout)

    def wait_topic_ready(self, topic, timeout=60.0):
        """Waits until every partition of topic has a live leader that answers
        ListOffsets for it without an error, and every live broker's metadata
        names those leaders; returns {partition: leader id}."""
        def ready():
            st = self.states(topic)
            if not st:
                return None
            leaders = leaders_of(st)
            for p, lid in leaders.items():
                b = self.brokers.get(lid)
                if b is None or not b.alive() or b.port is None:
                    return None
                got = list_offsets(b, topic, [p])
                if got[p][0] != 0:
                    return None
            for b in self.brokers.values():
                if b.alive():
                    t = kcat_view(kcat_metadata(b.bootstrap))["topics"].get(topic)
                    if t is None or {p: x[0] for p, x in t["partitions"].items()} != leaders:
                        return None
            return leaders
        return wait_until(ready, timeout, f"every partition of {topic} to be served by its leader",
                          interval=0.2)

    def close(self):
        if self.zk is not None:
            with contextlib.suppress(Exception):
                self.zk.stop()
                self.zk.close()


def run_tool(label, argv, timeout):
    """Runs argv (no stdin) within timeout seconds: the finished process,
    its time in .seconds, printed with label as the program's name."""
    argv = [str(a) for a in argv]
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    r.seconds = time.monotonic() - t0
    print(f"$ {label} {' '.join(argv[1:])}\n  exit {r.returncode} in {r.seconds:.2f}s (bound {timeout}s)"
          f"\n  stdout: {r.stdout.rstrip()[:3000]!r}\n  stderr: {r.stderr.rstrip()[:2000]!r}", flush=True)
    return r


def run_admin(*args, zookeeper, timeout=60.0):
    return run_tool("kbroker-admin", [KBROKER_ADMIN_BIN, "--zookeeper", zookeeper, *args], timeout)


def kafka_tool(name, *args, timeout=120.0):
    """Runs the install's Kafka-compatible script <name>.sh (beside
    kbroker-admin: build/kafka-topics.sh, ...) with args."""
    return run_tool(f"{name}.sh", [Path(KBROKER_ADMIN_BIN).resolve().parent / f"{name}.sh", *args], timeout)


def kcat_metadata(bootstrap, timeout=10):
    """`kcat -L -J` against one broker; returns the parsed JSON."""
    argv = [KCAT_BIN, "-L", "-J", "-b", bootstrap, "-m", str(timeout)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 20,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise AssertionError(f"kcat -L against {bootstrap} exited {r.returncode}: {r.stderr.strip()[-1500:]}")
    return json.loads(r.stdout)


def kcat_view(md):
    """Reduces kcat's JSON to {"brokers": {id: "host:port"}, "controller": id,
    "topics": {name: {partition: (leader, [replicas], [isr], error)}}}."""
    topics = {}
    for t in md.get("topics", []):
        parts = {}
        for p in t.get("partitions", []):
            parts[p["partition"]] = (p["leader"], [r["id"] for r in p.get("replicas", [])],
                                     [r["id"] for r in p.get("isrs", [])], p.get("error"))
        topics[t["topic"]] = {"error": t.get("error"), "partitions": parts}
    return {"brokers": {b["id"]: b["name"] for b in md.get("brokers", [])},
            "controller": md.get("controllerid"), "topics": topics}


def leaders_of(states):
    return {p: s["leader"] for p, s in states.items()}


def kafka_assignment(brokers, partitions, rf, start, shift):
    """Kafka's rack-unaware replica assignment (spec zk-and-replication section 5)
    for fixed random draws; brokers must be sorted ascending."""
    n = len(brokers)
    out = {}
    for p in range(partitions):
        if p > 0 and p % n == 0:
            shift += 1
        first = (p + start) % n
        reps = [brokers[first]]
        for j in range(rf - 1):
            reps.append(brokers[(first + 1 + (shift + j) % (n - 1)) % n])
        out[str(p)] = reps
    return out


def matches_kafka_assignment(partitions_json, brokers, rf):
    """True when the written assignment is what Kafka would write for some start/shift."""
    n = len(brokers)
    brokers = sorted(brokers)
    return any(partitions_json == kafka_assignment(brokers, len(partitions_json), rf, s, h)
               for s in range(n) for h in range(n))


# -- raw Kafka protocol, for the malformed-input tests -----------------------
def kafka_request(api_key, api_version, correlation_id, body=b"", client_id=b"kbroker-tests",
                  flexible_header=False):
    hdr = api_key.to_bytes(2, "big", signed=True) + api_version.to_bytes(2, "big", signed=True)
    hdr += correlation_id.to_bytes(4, "big", signed=True)
    hdr += len(client_id).to_bytes(2, "big") + client_id
    if flexible_header:
        hdr += b"\x00"  # empty tagged-field section of request header v2
    payload = hdr + body
    return len(payload).to_bytes(4, "big") + payload


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def recv_frame(sock):
    size = int.from_bytes(recv_exact(sock, 4), "big", signed=True)
    return size.to_bytes(4, "big", signed=True) + recv_exact(sock, size)


def connect(port, timeout=10.0, host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_by_peer(sock, timeout=10.0):
    """(closed, bytes received): whether the broker closed this connection (EOF
    or reset) within timeout, and whatever it sent before that."""
    got = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = sock.recv(4096)
            if not data:
                return True, got
            got += data
    except (ConnectionResetError, BrokenPipeError):
        return True, got
    except socket.timeout:
        return False, got


def parse_apiversions_v0(frame):
    """(correlation id, error code, {api_key: (min, max)}) of an ApiVersions v0 response."""
    body = frame[4:]
    corr = int.from_bytes(body[0:4], "big", signed=True)
    err = int.from_bytes(body[4:6], "big", signed=True)
    n = int.from_bytes(body[6:10], "big", signed=True)
    keys = {}
    off = 10
    for _ in range(n):
        k, lo, hi = (int.from_bytes(body[off + i:off + i + 2], "big", signed=True) for i in (0, 2, 4))
        keys[k] = (lo, hi)
        off += 6
    return corr, err, keys


def seeded_garbage(n, seed=20240601):
    return random.Random(seed).randbytes(n)


def partition_budget(nofile, log_dirs=1):
    """The partition logs a broker under RLIMIT_NOFILE nofile may hold
    (common/kb_fd_budget.h): the limit less 64, one per log dir and a tenth."""
    return max(0, nofile - (64 + log_dirs + nofile // 10))


def nofile_for(partitions, log_dirs=1):
    """The smallest RLIMIT_NOFILE whose partition budget holds `partitions`."""
    n = partitions
    while partition_budget(n, log_dirs) < partitions:
        n += max(1, (partitions - partition_budget(n, log_dirs)) // 2)
    while n > 1 and partition_budget(n - 1, log_dirs) >= partitions:
        n -= 1
    return n


def require_binaries():
    missing = [p for p in (KBROKER_BIN, KBROKER_ADMIN_BIN) if not os.access(p, os.X_OK)]
    if shutil.which(KCAT_BIN) is None:
        missing.append(KCAT_BIN)
    return missing


# -- the data path: raw requests, metrics, clients ---------------------------------
# -- small filesystems, for full-disk scenarios (root only) --------------------

def mount_tmpfs(path, size):
    """Mounts a tmpfs of `size` (mount's syntax, e.g. "4m") at path; skips the
    test when that is not allowed (not root)."""
    import pytest
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs at {path} (root needed): {r.stderr.strip()}")


def unmount(path):
    r = subprocess.run(["umount", str(path)], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:  # still busy: detach it now, the kernel frees it when unused
        subprocess.run(["umount", "-l", str(path)], capture_output=True, text=True, timeout=30)


def fill_rest(path):
    """Appends to path until its filesystem is full (ENOSPC, anything else
    fails the test); returns the bytes written."""
    n = 0
    with open(path, "ab", buffering=0) as f:
        for size in (1 << 16, 4096, 1):
            try:
                while True:
                    n += f.write(b"\0" * size)
            except OSError as e:
                assert e.errno == 28, f"expected ENOSPC filling {path}, got {e!r}"
    return n


def list_offsets(broker, topic, partitions, timestamp=kafkawire.LATEST, timeout=10.0):
    """Raw ListOffsets v1 to one broker: {partition: (error, timestamp, offset)}."""
    s = connect(broker.port, timeout, broker.host)
    try:
        body = kafkawire.list_offsets_v1_body([(topic, [(p, timestamp) for p in partitions])])
        s.sendall(kafka_request(2, 1, 1, body))
        _, got = kafkawire.parse_list_offsets_v1_response(recv_frame(s))
    finally:
        s.close()
    return {p: v for (t, p), v in got.items() if t == topic}


def metadata(broker, topics=None, timeout=10.0):
    """Raw Metadata v1 to one broker (topics: names, None for all): the dict
    kafkawire.parse_metadata_v1_response makes.  Cheaper than kcat for a
    few topics of a large cluster."""
    s = connect(broker.port, timeout)
    try:
        s.sendall(kafka_request(3, 1, 1, kafkawire.metadata_v1_body(topics)))
        _, md = kafkawire.parse_metadata_v1_response(recv_frame(s))
    finally:
        s.close()
    return md


def produce_one(port, topic, partition, value, acks=1, timeout=10.0, timestamp=None):
    """One record in one raw Produce v3 to the broker on port: the
    partition's error code (0: acknowledged).  timestamp: the record's, in
    ms (default kafkawire's fixed one of 2020, which time retention and
    time-based rolling treat as old; pass the current time for records a
    test reads back later)."""
    kw = {} if timestamp is None else {"base_timestamp": timestamp}
    batch = kafkawire.build_batch([(None, value)], **kw)
    s = connect(port, timeout)
    try:
        body = kafkawire.produce_body([(topic, [(partition, batch)])], acks=acks,
                                      timeout_ms=int(timeout * 1000), version=3)
        s.sendall(kafka_request(0, 3, 1, body))
        _, got, _, _ = kafkawire.parse_produce_response(recv_frame(s), version=3)
    finally:
        s.close()
    return got[(topic, partition)].error


_METRIC_LINE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def scrape_metrics(url, timeout=10.0):
    """{metric name: value summed over its label sets} of a Prometheus text page;
    a labelled series is also there under its full name, e.g.
    'kbroker_zookeeper_session_state{state="connected"}'."""
    import urllib.request
    with urllib.request.urlopen(url, timeout=timeout) as r:
        assert r.status == 200, f"GET {url}: HTTP {r.status}"
        text = r.read().decode("utf-8", "replace")
    out = {}
    for line in text.splitlines():
        m = _METRIC_LINE.match(line)
        if m and not line.startswith("#"):
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(3))
            if m.group(2):
                out[m.group(1) + m.group(2)] = float(m.group(3))
    return out


def metric(values, name):
    """The value of counter name, exported as name or name_total."""
    for n in (name, name + "_total", name[:-len("_total")] if name.endswith("_total") else None):
        if n and n in values:
            return values[n]
    raise AssertionError(f"metric {name} (or {name}_total) not exported; have: {sorted(values)}")


# A record as any client saw it: headers as a tuple of (str, bytes|None).
Rec = namedtuple("Rec", "topic partition offset key value headers timestamp")


def _b(s):
    return None if s is None else s.encode("utf-8")


def kcat_produce(bootstrap, topic, path, codec="none", key_delim="\t", headers=(), props=(),
                 partition=None, timeout=180):
    """kcat -P -l path: one record per line, key and value split at key_delim,
    every record with the same headers.  Fails unless kcat exits 0 without
    reporting a failed delivery."""
    argv = [KCAT_BIN, "-P", "-b", bootstrap, "-t", topic, "-z", codec, "-l", "-X", "message.timeout.ms=60000"]
    if key_delim is not None:
        argv += ["-K", key_delim]
    if partition is not None:
        argv += ["-p", str(partition)]
    for hk, hv in headers:
        argv += ["-H", f"{hk}={hv}"]
    for prop in props:
        argv += ["-X", prop]
    argv.append(str(path))
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    r.seconds = time.monotonic() - t0
    if r.returncode != 0 or "delivery failed" in r.stderr.lower():
        raise AssertionError(f"kcat -P {topic} exited {r.returncode} after {r.seconds:.1f}s: "
                             f"{r.stderr.strip()[-2000:]}")
    return r


def kcat_consume(bootstrap, topic, partition=None, props=(), offset="beginning", timeout=180):
    """kcat -C -J -e from offset until the end of every partition: [Rec]."""
    argv = [KCAT_BIN, "-C", "-J", "-e", "-q", "-b", bootstrap, "-t", topic, "-o", str(offset),
            "-m", "15"]
    if partition is not None:
        argv += ["-p", str(partition)]
    for prop in props:
        argv += ["-X", prop]
    r = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise AssertionError(f"kcat -C {topic} exited {r.returncode}: {r.stderr.decode(errors='replace')[-2000:]}")
    out = []
    for line in r.stdout.splitlines():
        if not line.strip():
            continue
        j = json.loads(line)
        hs = j.get("headers") or []
        headers = tuple((hs[i], _b(hs[i + 1])) for i in range(0, len(hs), 2))
        out.append(Rec(j["topic"], j["partition"], j["offset"], _b(j.get("key")), _b(j.get("payload")),
                       headers, j["ts"]))
    return out


def ck_consume(bootstrap, tps, conf=None, timeout=180):
    """confluent-kafka Consumer with assign() (a group.id is still required)
    reading [(topic, partition)] from the beginning until each reports EOF:
    ([Rec], {(topic, partition): EOF offset})."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
    cfg = {"bootstrap.servers": bootstrap, "group.id": "kbroker-tests-assign", "enable.auto.commit": False,
           "enable.partition.eof": True, "auto.offset.reset": "earliest", "socket.timeout.ms": 20000}
    cfg.update(conf or {})
    c = Consumer(cfg)
    out, eof = [], {}
    deadline = time.monotonic() + timeout
    try:
        c.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in tps])
        while len(eof) < len(tps):
            if time.monotonic() > deadline:
                raise Timeout(f"confluent-kafka consumer: {len(out)} records after {timeout}s; "
                              f"no EOF yet for {sorted(set(tps) - set(eof))}")
            for m in c.consume(num_messages=10000, timeout=0.5):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        eof.setdefault((m.topic(), m.partition()), m.offset())
                        continue
                    raise AssertionError(f"confluent-kafka consumer error: {err}")
                out.append(Rec(m.topic(), m.partition(), m.offset(), m.key(), m.value(),
                               tuple(m.headers() or ()), m.timestamp()[1]))
    finally:
        c.close()
    return out, eof


def kp_consumer(bootstrap, **cfg):
    """A kafka-python KafkaConsumer without a group (assign() only)."""
    import logging
    from kafka import KafkaConsumer
    logging.getLogger("kafka").setLevel(logging.ERROR)
    kw = dict(bootstrap_servers=bootstrap.split(","), api_version_auto_timeout_ms=15000,
              request_timeout_ms=30000, enable_auto_commit=False, group_id=None,
              auto_offset_reset="earliest")
    kw.update(cfg)
    return KafkaConsumer(**kw)


def kp_consume(bootstrap, tps, until=None, timeout=180, **cfg):
    """kafka-python reading [(topic, partition)] from the beginning until its
    position reaches until[(topic, partition)] (default: end_offsets()): [Rec]."""
    from kafka import TopicPartition
    c = kp_consumer(bootstrap, **cfg)
    out = []
    deadline = time.monotonic() + timeout
    try:
        parts = [TopicPartition(t, p) for t, p in tps]
        c.assign(parts)
        c.seek_to_beginning()
        ends = ({TopicPartition(t, p): o for (t, p), o in until.items()} if until is not None
                else c.end_offsets(parts))
        pending = {tp for tp in parts if ends[tp] > 0}
        while pending:
            if time.monotonic() > deadline:
                short = sorted((tp.topic, tp.partition, c.position(tp), ends[tp]) for tp in pending)
                raise Timeout(f"kafka-python consumer: {len(out)} records after {timeout}s; "
                              f"(topic, partition, position, end) short of the end: {short}")
            for tp, recs in c.poll(timeout_ms=500, max_records=20000).items():
                for m in recs:
                    out.append(Rec(m.topic, m.partition, m.offset, m.key, m.value,
                                   tuple(m.headers or ()), m.timestamp))
            pending = {tp for tp in pending if c.position(tp) < ends[tp]}
    finally:
        c.close()
    return out


def ck_producer(bootstrap, **conf):
    from confluent_kafka import Producer
    cfg = {"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 5, "message.timeout.ms": 60000}
    cfg.update({k.replace("_", "."): v for k, v in conf.items()})
    return Producer(cfg)


def ck_produce(producer, records, flush_every=None, timeout=60.0):
    """Produces [Rec] (offset ignored; partition None = partitioner's choice)
    and waits for every delivery report: [(Rec with the delivered partition
    and offset, or None, error or None)] in produce order."""
    reports = [None] * len(records)

    def on_delivery(i):
        def cb(err, m):
            if err is not None:
                reports[i] = (None, err)
            else:
                r = records[i]
                reports[i] = (r._replace(partition=m.partition(), offset=m.offset()), None)
        return cb
    for i, r in enumerate(records):
        kw = {"key": r.key, "value": r.value, "on_delivery": on_delivery(i)}
        if r.partition is not None:
            kw["partition"] = r.partition
        if r.headers:
            kw["headers"] = list(r.headers)
        if r.timestamp:
            kw["timestamp"] = r.timestamp
        while True:
            try:
                producer.produce(r.topic, **kw)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
        if flush_every and (i + 1) % flush_every == 0:
            producer.flush(timeout)
    left = producer.flush(timeout)
    if left:
        raise Timeout(f"{left} records still undelivered after {timeout}s")
    return reports


# -- replicas: their logs byte for byte and their ISR (replication) ----------
# A partition's log on one broker, read from its segment files: the whole
# batches of every segment, oldest segment first, concatenated.  Segment
# boundaries differ between replicas (each rolls on its own), the bytes of
# the batches do not: a follower appends the leader's batches unchanged.

def log_batches(broker, topic, partition):
    """(bytes, [Batch]) of topic-partition's log on broker: the whole batches
    of its .log files concatenated in offset order, each Batch's position
    counted in that concatenation.  A partial batch at a segment's end (a
    write in progress, a crash) is left out.  CRCs are not checked here."""
    chunks, batches, pos = [], [], 0
    for seg in broker.segments(topic, partition):
        with open(seg, "rb") as f:
            data = f.read()
        bs, end = kafkawire.parse_batches(data, verify_crc=False)
        chunks.append(data[:end])
        batches += [b._replace(position=b.position + pos) for b in bs]
        pos += end
    return b"".join(chunks), batches


def log_end_offset(broker, topic, partition):
    """The offset after the last whole batch of the partition's log on broker
    (its LEO as the files show it; 0 for an empty or missing log)."""
    _, batches = log_batches(broker, topic, partition)
    return batches[-1].base_offset + batches[-1].last_offset_delta + 1 if batches else 0


def byte_position(batches, data_len, offset):
    """Where offset starts in a log_batches concatenation: the position of
    the batch whose base offset it is, or the end when it is the LEO.
    Fails when offset falls inside a batch (a high watermark never does:
    it is a follower's LEO, which is a batch end)."""
    for b in batches:
        if b.base_offset == offset:
            return b.position
        if b.base_offset < offset <= b.base_offset + b.last_offset_delta:
            raise AssertionError(f"offset {offset} is inside the batch at {b.base_offset}")
    end = batches[-1].base_offset + batches[-1].last_offset_delta + 1 if batches else 0
    if offset == end:
        return data_len
    raise AssertionError(f"offset {offset} is not in the log (its end is {end})")


def high_watermark(leader, topic, partition):
    """ListOffsets latest on the leader: the high watermark (spec 3.1)."""
    err, _, offset = list_offsets(leader, topic, [partition])[partition]
    assert err == 0, f"ListOffsets {topic}-{partition} on broker {leader.id}: error {err}"
    return offset


def assert_same_below(brokers, topic, partition, offset):
    """The logs of topic-partition on brokers are byte-identical from offset
    0 to offset (concatenated across segments); returns that byte length."""
    logs = {b.id: log_batches(b, topic, partition) for b in brokers}
    cut = {i: byte_position(bs, len(data), offset) for i, (data, bs) in logs.items()}
    first = brokers[0].id
    ref = logs[first][0][:cut[first]]
    for i, (data, bs) in logs.items():
        mine = data[:cut[i]]
        if mine != ref:
            at = next((k for k in range(min(len(mine), len(ref))) if mine[k] != ref[k]), min(len(mine), len(ref)))
            where = next((b.base_offset for b in bs if b.position <= at < b.position + b.size), None)
            raise AssertionError(f"{topic}-{partition}: broker {i}'s log differs from broker {first}'s below "
                                 f"offset {offset}: {len(mine)} vs {len(ref)} bytes, first difference at byte "
                                 f"{at} (broker {i}'s batch at offset {where})")
    return len(ref)


def wait_converged(cluster, topic, partition, timeout=60.0):
    """Waits until every live replica of topic-partition has the leader's
    LEO and the leader's high watermark equals it; returns that offset."""
    def converged():
        st = cluster.state(topic, partition)
        leader = cluster.brokers.get(st["leader"]) if st else None
        if leader is None or not leader.alive():
            return None
        reps = [cluster.brokers[r] for r in cluster.topic(topic)["partitions"][str(partition)]]
        ends = {b.id: log_end_offset(b, topic, partition) for b in reps if b.alive()}
        hw = high_watermark(leader, topic, partition)
        if len(set(ends.values())) != 1 or hw != ends[leader.id]:
            raise AssertionError(f"leader {leader.id}, LEOs {ends}, HW {hw}")  # shown if it times out
        return (hw,)
    return wait_until(converged, timeout, f"every replica of {topic}-{partition} to reach the leader's LEO "
                      "and the HW to equal it", interval=0.2)[0]


def replicas_of(cluster, topic, partition):
    return cluster.topic(topic)["partitions"][str(partition)]


def full_isr(cluster, topic):
    """True when every partition of topic has every assigned replica in its ISR."""
    t = cluster.topic(topic)
    st = cluster.states(topic)
    return bool(t and st) and all(sorted(st[int(p)]["isr"]) == sorted(r) for p, r in t["partitions"].items())


def wait_full_isr(cluster, topic, timeout=60.0):
    return wait_until(lambda: cluster.states(topic) if full_isr(cluster, topic) else None, timeout,
                      f"every replica of {topic} to be in its ISR", interval=0.2)


def paused(*brokers):
    """A context: the brokers are stopped with SIGSTOP on entry and resumed
    with SIGCONT on exit, whatever happens in between."""
    @contextlib.contextmanager
    def ctx():
        for b in brokers:
            b.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            for b in brokers:
                b.send_signal(signal.SIGCONT)
    return ctx()


# -- consumer groups: one crafted request at a time (group-protocol.md) ------------

def kafka_call(broker, api_key, version, body, timeout=15.0, client_id=b"kbroker-tests"):
    """One request on a fresh connection to broker; the response frame."""
    s = connect(broker.port, timeout, broker.host)
    try:
        s.sendall(kafka_request(api_key, version, 1, body, client_id=client_id))
        return recv_frame(s)
    finally:
        s.close()


def find_coordinator(broker, group, version=2):
    """FindCoordinator for group, asked of broker: kafkawire.FindCoordinator."""
    frame = kafka_call(broker, kafkawire.FIND_COORDINATOR, version, kafkawire.find_coordinator_body(group, version))
    return kafkawire.parse_find_coordinator_response(frame, version)


def wait_coordinator(cluster, group, timeout=60.0, other_than=None):
    """Asks the live brokers for group's coordinator until one answers NONE
    (naming a live broker other than other_than, if given); returns its Broker."""
    def found():
        for b in cluster.brokers.values():
            if not b.alive():
                continue
            fc = find_coordinator(b, group)
            if fc.error == 0 and fc.node != other_than and cluster.brokers[fc.node].alive():
                assert (fc.host, fc.port) == ("127.0.0.1", cluster.brokers[fc.node].port), fc
                return cluster.brokers[fc.node]
            raise AssertionError(f"broker {b.id} answers {fc}")  # shown if it times out
    return wait_until(found, timeout, f"a coordinator for group {group}"
                      + (f" other than broker {other_than}" if other_than is not None else "")
                      + f" (bound {timeout:.0f} s)", interval=0.2)


def describe_group(broker, group, version=4):
    """DescribeGroups for one group: kafkawire.GroupDescription."""
    frame = kafka_call(broker, kafkawire.DESCRIBE_GROUPS, version, kafkawire.describe_groups_body([group], version))
    (d,) = kafkawire.parse_describe_groups_response(frame, version)
    return d


def fetch_offsets(broker, group, topics=None, version=5):
    """OffsetFetch: (top-level error, {(topic, partition): OffsetFetched});
    topics {topic: [partitions]} or None for every committed partition."""
    frame = kafka_call(broker, kafkawire.OFFSET_FETCH, version, kafkawire.offset_fetch_body(group, topics, version))
    return kafkawire.parse_offset_fetch_response(frame, version)


def fetch_log(broker, topic, partition, timeout=30.0):
    """Every record of topic-partition on broker (its leader), read with
    raw Fetch v4 from offset 0 to the high watermark: [kafkawire.Record]."""
    out, offset, hw = [], 0, None
    deadline = time.monotonic() + timeout
    s = connect(broker.port, timeout, broker.host)
    try:
        while hw is None or offset < hw:
            if time.monotonic() > deadline:
                raise Timeout(f"reading {topic}-{partition} from broker {broker.id}: at {offset} of {hw} "
                              f"after {timeout}s")
            body = kafkawire.fetch_v4_body([(topic, [(partition, offset, 4 << 20)])], max_wait_ms=0)
            s.sendall(kafka_request(1, 4, 1, body))
            _, _, got = kafkawire.parse_fetch_v4_response(recv_frame(s))
            part = got[(topic, partition)]
            assert part.error == 0, f"Fetch {topic}-{partition} at {offset} from broker {broker.id}: {part.error}"
            hw = part.high_watermark
            batches, _ = kafkawire.parse_batches(part.records or b"", decode=True)
            for b in batches:
                out += [r for r in b.records if r.offset >= offset]
            if batches:
                offset = batches[-1].base_offset + batches[-1].last_offset_delta + 1
    finally:
        s.close()
    return out
