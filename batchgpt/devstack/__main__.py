"""``batch-gpt dev``: the whole stack on one machine under one command.

Starts a local Kafka broker when ``KAFKA_BOOTSTRAP_SERVERS`` is unset, the simulator when a provider's key
is not set (and says so loudly): for the OpenAI routes when neither ``OPENAI_API_KEY`` nor Azure OpenAI's
variables are set (it then signs a webhook for each OpenAI batch that ends and POSTs it to the ingress's
``/webhooks/openai``, as OpenAI would), for ``/v1/messages`` when ``ANTHROPIC_API_KEY`` is not set; then the
collator, the resolver and the ingress on SQLite; prints the URL, a curl line and a Python snippet; Ctrl-C
stops everything.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from batchgpt.boot import stop_requested
from batchgpt.devstack.processes import ManagedProcess, stop_all
from batchgpt.devstack.stack import simulator_anthropic_env, simulator_upstream_env, simulator_webhook_env

__all__ = ["main"]

_SERVICES = ("collator", "resolver", "ingress")


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _built(service: str) -> bool:
    return importlib.util.find_spec(f"{service}.__main__") is not None


def _wait_http(url: str, proc: ManagedProcess, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.exited():
            raise RuntimeError(f"{proc.name} exited with status {proc.returncode()}; see {proc.log_path}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                if response.status < 500:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{proc.name} did not answer {url} within {timeout_s:.0f}s; see {proc.log_path}")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="batch-gpt dev", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("BATCHGPT_PORT", "8000")))
    parser.add_argument("--kafka-port", type=int, default=int(os.environ.get("BATCHGPT_KAFKA_PORT", "9092")))
    parser.add_argument("--simulator-port", type=int, default=8081)
    parser.add_argument("--state-dir", type=Path, default=Path(".run/dev"), help="logs, SQLite file, broker state")
    parser.add_argument(
        "--window-ms", type=int, default=int(os.environ.get("COLLATE_BATCHES_FOR_DURATION_IN_MS", "2000"))
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the stack until Ctrl-C / SIGTERM."""
    args = _parse(argv)
    state: Path = args.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("BATCHGPT_DATABASE_URL", f"sqlite:///{state / 'batchgpt.sqlite3'}")
    env.setdefault("COLLATE_BATCHES_FOR_DURATION_IN_MS", str(args.window_ms))
    env.setdefault("BATCHGPT_LOG_FORMAT", "text")
    env["BATCHGPT_PORT"] = str(args.port)
    procs: list[ManagedProcess] = []
    stopping = stop_requested()
    try:
        if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
            broker = ManagedProcess.cli(
                "broker", ["run", "--port", str(args.kafka_port), "--home", str(Path(".kafka").resolve())], env, state
            )
            procs.append(broker)
            env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{args.kafka_port}"
            _say(f"starting a local Kafka broker on {env['KAFKA_BOOTSTRAP_SERVERS']} …")
            broker.wait_for_log("ready on", timeout_s=180)
        else:
            _say(f"using Kafka at {env['KAFKA_BOOTSTRAP_SERVERS']}")
        azure = bool(env.get("AZURE_OPENAI_ENDPOINT") or env.get("AZURE_OPENAI_API_KEY"))
        openai_local = not azure and not env.get("OPENAI_API_KEY")
        anthropic_local = not env.get("ANTHROPIC_API_KEY")
        if azure:
            _say(f"using Azure OpenAI at {env.get('AZURE_OPENAI_ENDPOINT', '(AZURE_OPENAI_ENDPOINT not set)')}")
        if openai_local or anthropic_local:
            _say("")
            _say("!" * 78)
            if openai_local:
                _say("!!  OPENAI_API_KEY is not set: using the LOCAL SIMULATOR instead of OpenAI.")
            if anthropic_local:
                _say("!!  ANTHROPIC_API_KEY is not set: /v1/messages uses the LOCAL SIMULATOR instead of Anthropic.")
            _say("!!  Answers are synthetic. Set the provider's key to use its real Batch API.")
            _say("!" * 78)
            _say("")
            env.update(simulator_webhook_env(args.port, env.get("OPENAI_WEBHOOK_SECRET")))
            sim = ManagedProcess.cli(
                "simulator",
                [
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(args.simulator_port),
                    "--validating-seconds",
                    "0.2",
                    "--in-progress-seconds",
                    "1",
                    "--finalizing-seconds",
                    "0.2",
                ],  # fmt: skip
                env,
                state,
            )
            procs.append(sim)
            _wait_http(f"http://127.0.0.1:{args.simulator_port}/_sim/health", sim, 60)
            if openai_local:
                env.update(simulator_upstream_env(f"http://127.0.0.1:{args.simulator_port}"))
            if anthropic_local:
                env.update(simulator_anthropic_env(f"http://127.0.0.1:{args.simulator_port}"))
        missing = [s for s in _SERVICES if not _built(s)]
        for service in _SERVICES:
            if service in missing:
                continue
            procs.append(ManagedProcess.cli(service, [], env, state))
        if "ingress" not in missing:
            _wait_http(f"http://127.0.0.1:{args.port}/healthz", procs[-1], 120)
        if missing:
            _say(f"not built yet: {', '.join(missing)}")
        base = f"http://127.0.0.1:{args.port}/v1"
        _say(f"\nbatch-gpt is up: {base}   (logs in {state})\n")
        _say("  curl:")
        _say(
            f"    curl -s {base}/chat/completions -H 'Content-Type: application/json' "
            '-d \'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi"}]}\''
        )
        _say("  Python:")
        _say("    from openai import OpenAI")
        _say(f"    client = OpenAI(base_url='{base}', api_key='any')")
        _say("    r = client.chat.completions.create(")
        _say("        model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'Hi'}])")
        _say("    print(r.choices[0].message.content)\n")
        _say("  Anthropic (Python):")
        _say("    from anthropic import Anthropic")
        _say(f"    client = Anthropic(base_url='{base[: -len('/v1')]}', api_key='any')")
        _say("    m = client.messages.create(")
        _say("        model='claude-sonnet-4-6', max_tokens=256, messages=[{'role': 'user', 'content': 'Hi'}])")
        _say("    print(m.content[0].text)\n")
        _say("Ctrl-C stops everything.")
        while not stopping():
            dead = [p for p in procs if p.exited()]
            if dead:
                _say(f"{dead[0].name} exited with status {dead[0].returncode()}; see {dead[0].log_path}")
                return 1
            time.sleep(0.5)
        return 0
    except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
        _say(f"batch-gpt dev: {exc}")
        return 1
    finally:
        _say("stopping …")
        stop_all(procs)
        _say("stopped.")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
