"""Group commit (pure asyncio, no database): grouping under concurrency, outcomes, errors, cancellation."""

from __future__ import annotations

import asyncio
import threading

import pytest

from ingress.admission.group_commit import GroupCommitter


class Recorder:
    """A blocking ``write`` that records its groups; it can be held on a gate to let a queue build up."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.entered.set()
        self.gate.wait(timeout=10)
        self.groups.append(list(items))
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


async def _until(condition, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


async def test_a_lone_submission_is_written_alone_and_gets_its_outcome() -> None:
    write = Recorder()
    committer: GroupCommitter[int, int] = GroupCommitter(write)
    assert await committer.submit(4) == 40
    assert write.groups == [[4]]


async def test_submissions_queued_during_a_write_form_the_next_group_in_order() -> None:
    write = Recorder()
    sizes: list[int] = []
    committer: GroupCommitter[int, int] = GroupCommitter(write, on_group=sizes.append)
    write.gate.clear()
    first = asyncio.create_task(committer.submit(0))
    await _until(write.entered.is_set)  # the first group (one item) is being written
    rest = [asyncio.create_task(committer.submit(i)) for i in range(2, 42, 2)]
    await _until(lambda: committer.queued == 20)
    write.gate.set()
    assert await first == 0
    assert await asyncio.gather(*rest) == [i * 10 for i in range(2, 42, 2)]
    assert write.groups == [[0], list(range(2, 42, 2))]
    assert sizes == [1, 20]


async def test_groups_never_exceed_max_group() -> None:
    write = Recorder()
    committer: GroupCommitter[int, int] = GroupCommitter(write, max_group=7)
    write.gate.clear()
    first = asyncio.create_task(committer.submit(0))
    await _until(write.entered.is_set)
    rest = [asyncio.create_task(committer.submit(i * 2)) for i in range(1, 21)]
    await _until(lambda: committer.queued == 20)
    write.gate.set()
    await asyncio.gather(first, *rest)
    assert [len(g) for g in write.groups] == [1, 7, 7, 6]
    assert [i for g in write.groups for i in g] == [i * 2 for i in range(21)]


async def test_an_exception_outcome_reaches_only_its_own_caller() -> None:
    write = Recorder()
    committer: GroupCommitter[int, int] = GroupCommitter(write)
    write.gate.clear()
    first = asyncio.create_task(committer.submit(0))
    await _until(write.entered.is_set)
    odd, even = asyncio.create_task(committer.submit(3)), asyncio.create_task(committer.submit(6))
    await _until(lambda: committer.queued == 2)
    write.gate.set()
    with pytest.raises(ValueError, match="odd 3"):
        await odd
    assert await even == 60
    assert await first == 0
    assert write.groups[-1] == [3, 6]  # one group carried both


async def test_a_failing_write_fails_every_caller_of_its_group_and_the_next_group_still_runs() -> None:
    calls: list[list[int]] = []

    def write(items: list[int]) -> list[int]:
        calls.append(list(items))
        if len(calls) == 1:
            raise ConnectionError("database unreachable")
        return items

    committer: GroupCommitter[int, int] = GroupCommitter(write)
    results = await asyncio.gather(*(committer.submit(i) for i in range(5)), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await committer.submit(9) == 9


async def test_a_write_returning_the_wrong_number_of_outcomes_is_an_error_for_the_group() -> None:
    committer: GroupCommitter[int, int] = GroupCommitter(lambda items: [])
    with pytest.raises(RuntimeError, match="0 outcomes for 1 items"):
        await committer.submit(1)


async def test_a_cancelled_caller_does_not_cancel_the_write_of_its_group() -> None:
    write = Recorder()
    committer: GroupCommitter[int, int] = GroupCommitter(write)
    write.gate.clear()
    gone = asyncio.create_task(committer.submit(2))
    await _until(write.entered.is_set)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    write.gate.set()
    await committer.close()
    assert write.groups == [[2]]  # written all the same (the caller decides how to undo it)
    assert await committer.submit(4) == 40


def test_max_group_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_group"):
        GroupCommitter(lambda items: items, max_group=0)
