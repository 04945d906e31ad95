"""Provides the session's Kafka broker: ``KAFKA_BOOTSTRAP_SERVERS``, else testcontainers (when a
Docker engine answers), else the local broker from Maven Central jars. Never a skip."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

from batchgpt.broker import KAFKA_VERSION, start_broker, stop_broker, wait_until_ready

ROOT = Path(__file__).resolve().parents[2]


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:  # noqa: BLE001 - no engine, no socket, no library: not available
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def session_broker(env_bootstrap: str | None) -> Iterator[tuple[str, str]]:
    """Yield ``(bootstrap_servers, how)`` for the session."""
    if env_bootstrap:
        wait_until_ready(env_bootstrap, timeout_s=30)
        yield env_bootstrap, "KAFKA_BOOTSTRAP_SERVERS"
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer(f"apache/kafka:{KAFKA_VERSION}").with_kraft() as container:
            bootstrap = container.get_bootstrap_server()
            wait_until_ready(bootstrap, timeout_s=60)
            yield bootstrap, "testcontainers"
        return
    home = ROOT / ".kafka"
    port = _free_port()
    handle = start_broker(home, port=port, timeout_s=120)
    try:
        yield handle.bootstrap_servers, f"local broker (pid {handle.pid})"
    finally:
        stop_broker(home, port)
