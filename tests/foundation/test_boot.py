"""The shared start-up sequence of the three services (batchgpt/boot.py)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys

import pytest

from batchgpt.boot import flag_overrides, run_until_signalled


def test_flag_overrides_keep_only_the_flags_given() -> None:
    args = argparse.Namespace(port=9000, host=None, workers=2)
    assert flag_overrides(args, {"port": "port", "host": "host", "workers": "workers"}) == {"port": 9000, "workers": 2}


def test_sigterm_sets_the_stop_event_and_the_body_returns() -> None:
    seen: list[str] = []

    async def body(stop: asyncio.Event) -> None:
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stop.wait(), timeout=10)
        seen.append("stopped")

    run_until_signalled(body)
    assert seen == ["stopped"]


@pytest.mark.parametrize("service", ["collator", "resolver"])
def test_a_service_that_calls_the_provider_refuses_to_start_without_its_key(service: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BATCHGPT_", "KAFKA_"))}
    done = subprocess.run(
        [sys.executable, "-m", "batchgpt.cli", service], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert f"batch-gpt {service}: OPENAI_API_KEY is not set" in done.stderr


@pytest.mark.parametrize("service", ["collator", "resolver", "ingress"])
def test_a_bad_setting_stops_every_service_the_same_way(service: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BATCHGPT_", "KAFKA_"))}
    env |= {"OPENAI_API_KEY": "sk-test", "BATCHGPT_LOG_LEVEL": "LOUD"}
    done = subprocess.run(
        [sys.executable, "-m", "batchgpt.cli", service], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert f"batch-gpt {service}: invalid settings: BATCHGPT_LOG_LEVEL" in done.stderr
