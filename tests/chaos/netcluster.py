"""
netcluster - the chaos tier's topology: ZooKeeper and three kbroker processes,
each in a network namespace of its own on a bridge, and the faults a test
injects into them (reliability-tests.md sections 5.1, 5.3, 5.5 and 6.1).

    host (the test, its Kafka clients, its ZooKeeper sampler)  10.77.S.1 on bridge kbc<pid>br
      |-- namespace kbc<pid>-z1  ZooKeeper server 1            10.77.S.2  (nightly: z1..z3)
      |-- namespace kbc<pid>-b1  kbroker broker.id=1           10.77.S.11
      |-- namespace kbc<pid>-b2  kbroker broker.id=2           10.77.S.12
      '-- namespace kbc<pid>-b3  kbroker broker.id=3           10.77.S.13

Every namespace has its own netfilter tables, so a fault is an iptables rule
inside the victim's namespace and a heal is `iptables -F` there: nothing ever
touches the host's own rules.  Only the test's clients live on the host, so
traffic from 10.77.S.1 to a broker is client traffic.

Ownership: a Topology owns its bridge, its namespaces, its tmpfs mounts and
every process it started (by PID); close() removes all of them and is also
registered with atexit, so a failing test, or one ended by SIGINT, SIGTERM
or SIGHUP (conftest turns those into an exit), leaves nothing behind.
Namespaces are named after the PID of the run that made them: a run removes
the namespaces of runs whose PID is gone, and kills what still runs in
them, never those of a live run (a SIGKILLed run's tmpfs mounts stay).

The kernel of this machine has no netem qdisc ("Specified qdisc kind is
unknown"), so packet loss is made with iptables' statistic match instead and
there is no delay fault (see tests/chaos/README).
"""
import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import kbharness as h  # noqa: E402  (Process, binaries, ZooKeeper's class path)

PREFIX = "kbc"
KAFKA_PORT = 9092
RPC_PORT = 9093
ZK_PORT = 2181


def sh(*argv, check=True, timeout=30):
    """Runs one command (iproute2, iptables, mount); its failure names it."""
    r = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_namespaces():
    """Namespaces and bridges of earlier runs whose process is gone (a run
    that was SIGKILLed cannot clean up after itself), and this process's
    own names if a dead run with the same PID left them: every process
    still inside one is killed first (a broker or ZooKeeper would keep it
    alive).  tmpfs mounts of such a run are left for the operator (their
    paths cannot be told from a live run's)."""
    own = f"{PREFIX}{os.getpid()}"
    out = sh("ip", "netns", "list", check=False).stdout
    for name, pid in re.findall(rf"^({PREFIX}(\d+)-\w+)", out, re.M):
        if f"{PREFIX}{pid}" == own or not pid_alive(int(pid)):
            for victim in sh("ip", "netns", "pids", name, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(victim), signal.SIGKILL)
            sh("ip", "netns", "del", name, check=False)
    links = sh("ip", "-o", "link", "show", "type", "bridge", check=False).stdout
    for name, pid in re.findall(rf"\d+: ({PREFIX}(\d+)br)[:@]", links):
        if name == f"{own}br" or not pid_alive(int(pid)):
            sh("ip", "link", "del", name, check=False)


def free_subnet():
    """A 10.77.S.0/24 no interface of this machine uses."""
    used = sh("ip", "-o", "-4", "addr", check=False).stdout
    for i in range(250):
        s = 20 + (os.getpid() + i) % 230
        if f" 10.77.{s}." not in used:
            return s
    raise RuntimeError("no free 10.77.S.0/24 subnet for the chaos topology")


class Node:
    """One host on the bridge: a namespace, its veth pair and its address."""

    def __init__(self, topo, name, host_octet):
        self.topo = topo
        self.ns = f"{topo.tag}-{name}"
        self.veth = f"{topo.tag}{name}"  # host side; at most 15 characters
        self.ip = f"{topo.net}.{host_octet}"

    def create(self):
        sh("ip", "netns", "add", self.ns)
        self.topo.namespaces.append(self.ns)
        sh("ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", self.ns)
        sh("ip", "link", "set", self.veth, "master", self.topo.bridge, "up")
        sh(*self.argv("ip", "addr", "add", f"{self.ip}/24", "dev", "eth0"))
        sh(*self.argv("ip", "link", "set", "eth0", "up"))
        sh(*self.argv("ip", "link", "set", "lo", "up"))

    def argv(self, *argv):
        """argv run inside this namespace.  nsenter joins the network
        namespace only and execs the program (the PID the harness holds is
        the program's own); `ip netns exec` and `ip -n` would also make a
        mount namespace with `mount --make-rslave /`, which fails where / is
        not a mount point (a chroot)."""
        return ["nsenter", f"--net=/run/netns/{self.ns}", *[str(a) for a in argv]]

    def iptables(self, *rule):
        sh(*self.argv("iptables", "-w", *rule))

    def add_rules(self, rules):
        """Appends each rule (chain first); returns them, for delete_rules."""
        for r in rules:
            self.iptables("-A", *r)
        return rules

    def delete_rules(self, rules):
        """Removes exactly the rules one fault added (another fault on this
        namespace keeps its own)."""
        for r in rules:
            sh(*self.argv("iptables", "-w", "-D", *r), check=False)

    def heal(self):
        """Removes every rule of this namespace (its tables are its own)."""
        sh(*self.argv("iptables", "-w", "-F"))

    # -- faults: each returns the rules it added (for delete_rules) ---------
    def cut_from(self, peer_ips, port=None):
        """Drops traffic between this node and peer_ips (optionally only to and
        from `port` on either side), in both directions."""
        rules = []
        for ip in peer_ips:
            if port is None:
                rules += [("INPUT", "-s", ip, "-j", "DROP"), ("OUTPUT", "-d", ip, "-j", "DROP")]
            else:
                for d in ("--dport", "--sport"):
                    rules += [("INPUT", "-s", ip, "-p", "tcp", d, str(port), "-j", "DROP"),
                              ("OUTPUT", "-d", ip, "-p", "tcp", d, str(port), "-j", "DROP")]
        return self.add_rules(rules)

    def cut_inbound_from(self, peer_ips):
        """This node stops hearing peer_ips (it can still send to them)."""
        return self.add_rules([("INPUT", "-s", ip, "-j", "DROP") for ip in peer_ips])

    def drop_inbound(self, peer_ips, port):
        """Drops connections and packets from peer_ips to `port` here (the
        node's own connections to the peers keep working)."""
        return self.add_rules([("INPUT", "-s", ip, "-p", "tcp", "--dport", str(port), "-j", "DROP")
                               for ip in peer_ips])

    def isolate(self):
        """Nothing in or out but loopback."""
        return self.add_rules([("INPUT", "!", "-i", "lo", "-j", "DROP"),
                               ("OUTPUT", "!", "-o", "lo", "-j", "DROP")])

    def lossy(self, probability):
        """Drops each packet in or out with the given probability."""
        return self.add_rules([(chain, "!", flag, "lo", "-m", "statistic", "--mode", "random",
                                "--probability", str(probability), "-j", "DROP")
                               for chain, flag in (("INPUT", "-i"), ("OUTPUT", "-o"))])


class ZooKeeperServer:
    """One ZooKeeper server in its own namespace (of an ensemble of 1 or 3)."""

    def __init__(self, topo, index, ensemble):
        self.index = index
        self.node = Node(topo, f"z{index}", 1 + index)
        self.dir = topo.workdir / f"zookeeper-{index}"
        self.ensemble = ensemble
        self.process = None

    def write_config(self):
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = [
            "tickTime=500", "initLimit=20", "syncLimit=10", f"dataDir={data}",
            f"clientPort={ZK_PORT}", f"clientPortAddress={self.node.ip}",
            "admin.enableServer=false", "maxClientCnxns=0", "forceSync=no",
            "4lw.commands.whitelist=ruok,stat,srvr,mntr",
        ]
        if len(self.ensemble) > 1:
            (data / "myid").write_text(f"{self.index}\n")
            lines += [f"server.{z.index}={z.node.ip}:2888:3888" for z in self.ensemble]
        (self.dir / "zoo.cfg").write_text("\n".join(lines) + "\n")

    def start(self):
        self.write_config()
        java = [h.JAVA_BIN, "-Xms32m", "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Dzookeeper.jmx.log4j.disable=true", "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                "-cp", h.ZK_CLASSPATH, "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                self.dir / "zoo.cfg"]
        if self.process is None:
            self.process = h.Process(f"zookeeper-{self.index}", self.node.argv(*java),
                                     self.dir / "zookeeper.log")
        self.process.start()
        return self

    def mode(self):
        """'standalone', 'leader', 'follower', or None if it does not answer."""
        with contextlib.suppress(OSError):
            import socket
            with socket.create_connection((self.node.ip, ZK_PORT), timeout=2) as s:
                s.sendall(b"srvr")
                text = s.recv(4096).decode("utf-8", "replace")
            m = re.search(r"Mode: (\w+)", text)
            return m.group(1) if m else None
        return None


class Broker:
    """One kbroker in its own namespace; its log dir may be a tmpfs."""

    def __init__(self, topo, broker_id, node, directory, extra):
        self.topo = topo
        self.id = broker_id
        self.node = node
        self.dir = Path(directory)
        self.log_dir = self.dir / "kafka-logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.properties = self.dir / "server.properties"
        self.extra = dict(extra)
        self.process = h.Process(f"broker-{broker_id}", [], self.dir / "kbroker.log", cwd=self.dir)
        self.exits = []  # (monotonic time, return code, expected)

    port = KAFKA_PORT

    @property
    def host(self):
        return self.node.ip

    @property
    def bootstrap(self):
        return f"{self.node.ip}:{KAFKA_PORT}"

    def write_properties(self):
        props = {
            "broker.id": self.id,
            "listeners": f"PLAINTEXT://{self.node.ip}:{KAFKA_PORT}",
            "kbroker.rpc.port": RPC_PORT,
            "log.dirs": self.log_dir,
            "zookeeper.connect": self.topo.zk_connect,
            "kbroker.log.level": h.BROKER_LOG_LEVEL,
        }
        props.update(self.extra)
        self.properties.write_text("".join(f"{k}={v}\n" for k, v in props.items()))

    def start(self, env=None):
        """env: variables added to the broker's environment for this start."""
        self.write_properties()
        self.process.argv = self.node.argv(h.KBROKER_BIN, self.properties)
        self.process.env = {**os.environ, **env} if env else None
        self.process.start()
        return self

    def alive(self):
        return self.process.alive()

    def send_signal(self, sig):
        self.process.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=30.0, signalled=False):
        """Stops the broker; an exit other than 0 after SIGTERM, or other than
        death by the signal sent, is recorded as unexpected (a crash: it died
        on its own before)."""
        rc = self.process.stop(sig, timeout, signalled)
        if rc is not None:
            # SIGTERM must end in status 0; any other signal in death by it.
            self.exits.append((time.monotonic(), rc, rc == (0 if sig == signal.SIGTERM else -sig)))
        return rc

    def note_exit_if_dead(self):
        """Records an exit nobody asked for (a crash) once."""
        p = self.process.proc
        if p is not None and p.poll() is not None and self.process.returncode is None:
            self.process.returncode = p.returncode
            self.exits.append((time.monotonic(), p.returncode, False))


class Topology:
    """The bridge, the namespaces, ZooKeeper and the brokers of one test file."""

    def __init__(self, workdir, zk_servers=1, broker_ids=(1, 2, 3)):
        remove_stale_namespaces()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tag = f"{PREFIX}{os.getpid()}"
        self.bridge = f"{self.tag}br"
        self.net = f"10.77.{free_subnet()}"
        self.host_ip = f"{self.net}.1"
        self.namespaces = []
        self.mounts = []
        self.bridge_made = False
        atexit.register(self.close)
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        self.bridge_made = True
        sh("ip", "link", "set", self.bridge, "up")
        sh("ip", "addr", "add", f"{self.host_ip}/24", "dev", self.bridge)
        self.zk = []
        for i in range(1, zk_servers + 1):
            self.zk.append(ZooKeeperServer(self, i, self.zk))
        for z in self.zk:
            z.node.create()
        self.broker_ids = list(broker_ids)
        self.brokers = {}
        self.chroot = ""
        self.broker_nodes = {}
        for b in self.broker_ids:
            n = Node(self, f"b{b}", 10 + b)
            n.create()
            self.broker_nodes[b] = n

    # -- ZooKeeper ----------------------------------------------------------
    @property
    def zk_hosts(self):
        return ",".join(f"{z.node.ip}:{ZK_PORT}" for z in self.zk)

    @property
    def zk_connect(self):
        return self.zk_hosts + self.chroot

    def start_zookeeper(self, timeout=60.0):
        for z in self.zk:
            z.start()
        want = {"standalone"} if len(self.zk) == 1 else {"leader", "follower"}
        h.wait_until(lambda: all(z.mode() in want for z in self.zk), timeout,
                     f"ZooKeeper {self.zk_hosts} to serve")
        # The clients' path to ZooKeeper must work as well as the 4lw port.
        zk = self.kazoo()
        zk.stop()
        zk.close()

    def kazoo(self, chroot=None):
        return h.kazoo_client(self.zk_hosts + (self.chroot if chroot is None else chroot), 20.0)

    # -- brokers ------------------------------------------------------------
    def new_cluster(self, name, extra, tmpfs_mb=None):
        """Fresh brokers (new directories) under ZooKeeper chroot /name; the
        brokers of the previous cluster must be stopped.  tmpfs_mb: each log
        dir is a tmpfs of that size (for disk-full faults)."""
        assert not any(b.alive() for b in self.brokers.values()), "previous cluster still running"
        self.chroot = f"/{name}"
        base = self.workdir / name
        self.brokers = {}
        for i in self.broker_ids:
            b = Broker(self, i, self.broker_nodes[i], base / f"broker-{i}", extra)
            if tmpfs_mb:
                self.mount_tmpfs(b.log_dir, tmpfs_mb)
            self.brokers[i] = b
        return self.brokers

    def mount_tmpfs(self, path, size_mb):
        h.mount_tmpfs(Path(path), f"{size_mb}m")
        self.mounts.append(Path(path))

    def bootstrap(self):
        return ",".join(b.bootstrap for b in self.brokers.values())

    def admin(self, *args, timeout=60.0):
        return h.run_admin(*args, zookeeper=self.zk_connect, timeout=timeout)

    # -- teardown -------------------------------------------------------------
    def stop_brokers(self, timeout=60.0):
        """SIGTERM to every live broker at once; returns {id: exit status}."""
        live = [b for b in self.brokers.values() if b.alive()]
        for b in live:
            b.process.signal_stop()
        return {b.id: b.stop(timeout=timeout, signalled=True) for b in live}

    def close(self):
        """Stops everything started, removes every mount, rule, namespace and
        the bridge.  Safe to call twice."""
        for b in list(self.brokers.values()):
            with contextlib.suppress(Exception):
                b.process.stop(signal.SIGKILL, timeout=10)
        for z in self.zk:
            if z.process is not None:
                with contextlib.suppress(Exception):
                    z.process.stop(signal.SIGTERM, timeout=15)
        for m in reversed(self.mounts):
            h.unmount(m)
        self.mounts = []
        for ns in reversed(self.namespaces):
            sh("ip", "netns", "del", ns, check=False)
        self.namespaces = []
        if self.bridge_made:
            sh("ip", "link", "del", self.bridge, check=False)
            self.bridge_made = False


def state_json(zk, topic, partition):
    data, stat = zk.get(f"/brokers/topics/{topic}/partitions/{partition}/state")
    return json.loads(data), stat


def fill_to_zero(path):
    """Fills the file system holding path with a ballast file; returns it."""
    ballast = Path(path) / ".ballast"
    h.fill_rest(ballast)
    return ballast


def release(ballast):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(ballast)


def copy_logs(topo, dest):
    """Keeps every process log of a run next to its history."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for b in topo.brokers.values():
        p = dest / f"broker-{b.id}.log"
        with contextlib.suppress(OSError):
            shutil.copyfile(b.process.log_path, p)
            paths.append(p)
    return paths


def copy_data(topo, dest):
    """Copies every broker's log dir to dest/data-broker-N."""
    for b in topo.brokers.values():
        with contextlib.suppress(OSError):
            shutil.copytree(b.log_dir, Path(dest) / f"data-broker-{b.id}", dirs_exist_ok=True)
