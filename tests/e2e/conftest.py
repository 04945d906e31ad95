"""End-to-end fixtures: the whole pipeline as separate processes on the session broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from batchgpt.devstack.stack import Stack, running_stack


@pytest.fixture
def stack_factory(kafka_bootstrap: str, unique_id: str, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start a stack with this test's own topics and a SQLite file unless ``database_url`` is given, on the session
    broker unless ``bootstrap`` is given."""
    made: list[AbstractContextManager[Stack]] = []

    def _make(**kwargs: Any) -> Stack:
        kwargs.setdefault("database_url", f"sqlite:///{tmp_path / 'e2e.sqlite3'}")
        kwargs.setdefault("bootstrap", kafka_bootstrap)
        manager = running_stack(topic_prefix=f"e{unique_id}.", state=tmp_path / "stack", **kwargs)
        made.append(manager)
        return manager.__enter__()

    yield _make
    for manager in reversed(made):
        manager.__exit__(None, None, None)
