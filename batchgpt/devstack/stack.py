"""The whole pipeline as separate processes: simulator, collator, resolver, ingress.

Used by the end-to-end tests and the load benchmark. Every component is its own
``batch-gpt <component>`` process, on a given broker, topic prefix and database, so a caller can
SIGKILL and restart any one of them. The collator and the resolver can run as several replicas (the same
command and environment, so they share the consumer group and the leases as replicas on several hosts do);
each process has a name of its own: ``collator``, ``collator-2``, ``collator-3``...
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchgpt.devstack.processes import ManagedProcess
from batchgpt.simulator.testing import SimulatorProcess, start_simulator_process
from batchgpt.webhooks.signing import new_secret

SERVICES = ("collator", "resolver", "ingress")


def replica_name(service: str, index: int) -> str:
    """The name of a service's ``index``-th process (from 1): the service's own name for the first."""
    return service if index == 1 else f"{service}-{index}"


def service_of(name: str) -> str:
    """The service a process name (as given by :func:`replica_name`) runs."""
    service, _, index = name.rpartition("-")
    return service if service in SERVICES and index.isdigit() else name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """A running pipeline; ``base_url`` is the ingress's ``/v1``."""

    env: dict[str, str]
    state: Path
    simulator: SimulatorProcess
    ingress_port: int
    procs: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ingress_port}/v1"

    def start(self, name: str) -> ManagedProcess:
        """Start one process (a service's name, or a replica's, e.g. ``collator-2``) and wait until it is up
        (ingress: ``/readyz`` answers 200)."""
        service = service_of(name)
        proc = ManagedProcess.cli(service, [], self.env, self.state, name=name)
        self.procs[name] = proc
        if service == "ingress":
            deadline = time.monotonic() + 60
            while not self._ready(proc):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"ingress not ready within 60s; see {proc.log_path}")
                time.sleep(0.1)
        return proc

    def _ready(self, proc: ManagedProcess) -> bool:
        if proc.exited():
            raise RuntimeError(f"ingress exited ({proc.returncode()}):\n{proc.log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ingress_port}/readyz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def kill(self, name: str) -> None:
        """SIGKILL one process."""
        self.procs.pop(name).kill()

    def restart(self, name: str) -> ManagedProcess:
        """SIGKILL (if running) and start again."""
        if name in self.procs:
            self.kill(name)
        return self.start(name)

    def logs(self, name: str) -> str:
        path = self.state / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the ingress first, then the resolvers, then the collators (the last replica of each first)."""
        for service in reversed(SERVICES):
            for name in reversed([name for name in self.procs if service_of(name) == service]):
                self.procs.pop(name).stop(grace_s=15)
        self.simulator.stop()


def simulator_upstream_env(root_url: str, *, dialect: str = "openai") -> dict[str, str]:
    """The provider variables that point the services at the simulator serving ``root_url``: OpenAI's two, or
    Azure OpenAI's two for a simulator in Azure's dialect (the simulator accepts any key)."""
    if dialect == "azure":
        return {"AZURE_OPENAI_ENDPOINT": root_url, "AZURE_OPENAI_API_KEY": "azure-simulator-key"}
    return {"OPENAI_API_KEY": "sk-simulator", "OPENAI_BASE_URL": f"{root_url}/v1"}


def simulator_anthropic_env(root_url: str) -> dict[str, str]:
    """The Anthropic variables that point the services at the simulator serving ``root_url`` (its Message
    Batches API beside OpenAI's, in the same process)."""
    return {"ANTHROPIC_API_KEY": "sk-ant-simulator", "ANTHROPIC_BASE_URL": root_url}


def simulator_webhook_env(ingress_port: int, secret: str | None = None) -> dict[str, str]:
    """The variables that make the simulator sign a webhook for each batch that ends and POST it to the ingress on
    ``ingress_port``, and the ingress verify it: one secret (``secret``, or a fresh one) for both sides."""
    secret = secret or new_secret()
    return {
        "OPENAI_WEBHOOK_SECRET": secret,
        "BATCHGPT_SIM_WEBHOOK_URL": f"http://127.0.0.1:{ingress_port}/webhooks/openai",
        "BATCHGPT_SIM_WEBHOOK_SECRET": secret,
    }


@contextlib.contextmanager
def running_stack(
    *,
    bootstrap: str,
    topic_prefix: str,
    database_url: str,
    state: Path,
    window_ms: int = 500,
    poll_interval_s: float = 0.2,
    simulator_flags: dict[str, object] | None = None,
    extra_env: dict[str, str] | None = None,
    webhooks: bool = False,
    collators: int = 1,
    resolvers: int = 1,
) -> Iterator[Stack]:
    """Start the simulator and the three services; stop them all at the end. The simulator serves Anthropic's
    Message Batches too, so ``/v1/messages`` works on every stack.

    ``webhooks=True``: the simulator POSTs a signed webhook for each batch that ends to the ingress's
    ``/webhooks/openai``, and the services have ``OPENAI_WEBHOOK_SECRET`` (see :func:`simulator_webhook_env`).

    ``simulator_flags={"dialect": "azure"}`` runs the simulator in Azure's dialect and points the services at it
    through ``AZURE_OPENAI_ENDPOINT`` / ``AZURE_OPENAI_API_KEY`` instead of OpenAI's variables.

    ``collators`` / ``resolvers``: how many processes of each (named ``collator``, ``collator-2``, ...). Every
    variable in ``extra_env`` overrides the stack's own (``BATCHGPT_TOPIC_PARTITIONS`` among them).
    """
    if collators < 1 or resolvers < 1:
        raise ValueError(f"a stack needs at least one collator and one resolver (got {collators}, {resolvers})")
    state.mkdir(parents=True, exist_ok=True)
    flags: dict[str, Any] = {
        "validating_seconds": 0.05,
        "in_progress_seconds": 0.3,
        "finalizing_seconds": 0.05,
        "cancelling_seconds": 0.1,
        "log_level": "warning",
    }
    flags.update(simulator_flags or {})
    ingress_port = free_port()
    hooks = simulator_webhook_env(ingress_port) if webhooks else {}
    simulator = start_simulator_process(log_path=state / "simulator.log", env=hooks, **flags)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BATCHGPT_", "OPENAI_", "AZURE_OPENAI_", "ANTHROPIC_", "COLLATE_"))
    }
    env.update(simulator_upstream_env(simulator.root_url, dialect=str(flags.get("dialect", "openai"))))
    env.update(simulator_anthropic_env(simulator.root_url))
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "BATCHGPT_TOPIC_PREFIX": topic_prefix,
            "BATCHGPT_TOPIC_PARTITIONS": "2",
            "BATCHGPT_DATABASE_URL": database_url,
            "COLLATE_BATCHES_FOR_DURATION_IN_MS": str(window_ms),
            "BATCHGPT_POLL_INTERVAL_S": str(poll_interval_s),
            "BATCHGPT_PORT": str(ingress_port),
            "BATCHGPT_LOG_FORMAT": "text",
            "BATCHGPT_LOG_LEVEL": "INFO",
        }
    )
    if hooks:
        env["OPENAI_WEBHOOK_SECRET"] = hooks["OPENAI_WEBHOOK_SECRET"]
    env.update(extra_env or {})
    stack = Stack(env=env, state=state, simulator=simulator, ingress_port=ingress_port)
    try:
        counts = {"collator": collators, "resolver": resolvers, "ingress": 1}
        for service in SERVICES:
            for index in range(1, counts[service] + 1):
                stack.start(replica_name(service, index))
        yield stack
    finally:
        stack.stop()
