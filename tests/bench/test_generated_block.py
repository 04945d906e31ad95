"""BENCHMARKS.md's generated block: rendered from given figures with each target judged from them, and put in
place between its markers without touching the text around it."""

from __future__ import annotations

from typing import Any

import pytest

from bench.generated_block import BEGIN, END, Conditions, Figures, render_block, replace_block
from bench.verdicts import verdicts

CONDITIONS = Conditions(
    date_utc="2026-12-07 00:10",
    commit="abc1234",
    dirty=True,
    cpu_model="Example CPU @ 2.0GHz",
    cores=2,
    ram_gib=7.8,
    kernel="6.1.0-test",
    python="3.11.9",
    load_average=(1.25, 0.5, 0.25),
    broker="a broker of its own for each run",
    commands=["python -m bench.regenerate   # which runs:", "python bench/openloop.py --rates 1000"],
)

BATCH_GPT = "batch-gpt (default ingress workers → Kafka → collator → resolver)"
PEER = "autobatcher 0.12.0 serve --mode batch"


def _rate(rate: int, overhead_p99_ms: float, cpu: dict[str, float], *, ok: int | None = None) -> dict[str, Any]:
    sent = rate * 10
    return {
        "target": "",
        "rate": rate,
        "sent": sent,
        "ok": sent if ok is None else ok,
        "errors": 0,
        "wrong": 0,
        "sent_rps": float(rate),
        "latency_ms": [1700.0, 1600.0 + overhead_p99_ms, 2400.0],
        "overhead_ms": [100.0, overhead_p99_ms, 800.0],
        "send_lag_p99_ms": 0.5,
        "cpu_per_1000": cpu,
    }


def _openloop(overhead_p99_ms: float, cpu_ms: float, *, ok: int | None = None) -> dict[str, Any]:
    ours = {"ingress": cpu_ms / 2, "collator": cpu_ms / 4, "resolver": cpu_ms / 4, "broker": 0.2, "simulator": 0.3}
    return {
        "duration_s": 10,
        "window_ms": 1000,
        "in_progress_s": 0.5,
        "inherent_s": 1.6,
        "overhead_target_s": 0.5,
        "targets": [
            {
                "name": BATCH_GPT,
                "processes": ["ingress", "collator", "resolver"],
                "rates": [_rate(1000, overhead_p99_ms, ours, ok=ok)],
                "sustained": 1000 if overhead_p99_ms < 500 else None,
            },
            {
                "name": PEER,
                "processes": ["autobatcher"],
                "rates": [_rate(1000, 2692.0, {"autobatcher": 0.67, "simulator": 0.3})],
                "sustained": None,
            },
        ],
    }


def _closed(ratios: dict[int, float], *, p99_worse_at: int | None = None) -> dict[str, Any]:
    rows = []
    for connections, ratio in ratios.items():
        peer_p99 = 3000.0
        ours_p99 = peer_p99 + 500 if connections == p99_worse_at else peer_p99 - 500
        for name, rps, p99 in ((BATCH_GPT, 800.0 * ratio, ours_p99), (PEER, 800.0, peer_p99)):
            rows.append(
                {
                    "connections": connections,
                    "target": name,
                    "rps_median": rps,
                    "rps_min": rps,
                    "rps_max": rps,
                    "p50_ms": 2000.0,
                    "p99_ms": p99,
                    "ok": 1000,
                    "non200": 0,
                    "crossed": 0,
                    "peak_rss_mb": {},
                }
            )
    return {"duration_s": 30, "repeat": 3, "window_ms": 1000, "rows": rows}


def _memory(per_call_kb: float) -> dict[str, Any]:
    return {
        "replicas": 1,
        "held_calls": 10000.0,
        "baseline_kb": 100_000,
        "holding_kb": 100_000 + per_call_kb * 10000,
        "per_call_kb": per_call_kb,
    }


FLOOR = {
    "rate": 1000,
    "http_seconds": 10,
    "messages": 20000,
    "batch": 500,
    "group": 20,
    "ingress_workers": 1,
    "parts": {
        "http": {
            "part": "HTTP in and out: bare ASGI on uvicorn",
            "counted": 10000,
            "cpu_ms": 0.2,
            "broker_cpu_ms": None,
        },
        "produce": {"part": "produce", "counted": 20000, "cpu_ms": 0.05, "broker_cpu_ms": 0.1},
    },
    "path": [["HTTP in and out (bare ASGI on uvicorn)", 0.2], ["request produced (ingress)", 0.05]],
    "path_ms": 0.25,
    "path_ms_if_collator_reads_by": {"confluent": 0.2},
}

ALL_MET = Figures(
    openloop=_openloop(overhead_p99_ms=400.0, cpu_ms=0.4),
    closed=_closed({400: 1.3, 1500: 1.4, 5000: 1.5}),
    memory=_memory(9.5),
    floor=FLOOR,
)


def _target_rows(block: str) -> dict[str, str]:
    """The targets table: each target's first words, and its verdict cell."""
    table = block.split("**The targets**")[1]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[0].removeprefix("| ")[:12]: cells[-1].strip(" |*") for cells in rows[1:]}


def test_the_block_says_when_on_what_and_how_and_holds_every_table() -> None:
    block = render_block(CONDITIONS, ALL_MET)
    assert block.startswith(BEGIN) and block.endswith(END)
    assert "2026-12-07 00:10 UTC, commit `abc1234` (with uncommitted changes)" in block
    assert "Example CPU @ 2.0GHz, 2 cores, 7.8 GiB RAM, Linux 6.1.0-test, Python 3.11.9" in block
    assert "load average before the run 1.25 / 0.50 / 0.25" in block
    assert "python bench/openloop.py --rates 1000" in block
    # open loop: the batch-gpt row with each own process, their total, and the broker and simulator apart
    assert "ingress 0.20, collator 0.10, resolver 0.10 (total 0.40); broker 0.20, simulator 0.30" in block
    assert f"{BATCH_GPT}: highest rate sustained with overhead p99 under 500 ms: **1,000 req/s**" in block
    # closed loop: both targets side by side, and the ratio
    assert "| 1,500 | 1,120 | 800 | 1.40× | 2,000 / 2,500 | 2,000 / 3,000 | 0 / 0 |" in block
    assert "**9.50 KB** per held call" in block
    assert "| **sum** | **0.250** |" in block
    assert "The broker meanwhile: 0.100 ms of CPU per message produced" in block
    assert "50 % of the 0.5 ms target" in block


def test_each_target_is_met_when_its_figure_is_within_it() -> None:
    assert _target_rows(render_block(CONDITIONS, ALL_MET)) == {
        "closed loop ": "met",
        "overhead p99": "met",
        "≤ 0.5 ms of ": "met",
        "held-call me": "met",
    }


def test_each_target_is_missed_when_its_figure_is_not_and_says_what_was_measured() -> None:
    figures = Figures(
        openloop=_openloop(overhead_p99_ms=10327.0, cpu_ms=1.6),
        closed=_closed({400: 1.05, 1500: 1.3, 5000: 1.3}, p99_worse_at=5000),
        memory=_memory(15.68),
    )
    found = {v.target[:12]: v for v in verdicts(figures.openloop, figures.closed, figures.memory)}
    assert [v.met for v in found.values()] == [False, False, False, False]
    assert found["closed loop "].measured.startswith("1.05× at 400, p99 no worse; 1.30× at 1,500")
    assert "1.30× at 5,000, p99 worse" in found["closed loop "].measured
    assert found["overhead p99"].measured.startswith("10,327 ms")
    assert found["≤ 0.5 ms of "].measured == "1.60 ms at 1,000 req/s"
    assert found["held-call me"].measured.startswith("15.68 KB")
    assert set(_target_rows(render_block(CONDITIONS, figures)).values()) == {"missed"}


def test_an_overhead_within_target_with_unanswered_calls_is_missed() -> None:
    figures = Figures(openloop=_openloop(overhead_p99_ms=300.0, cpu_ms=0.4, ok=9000))
    assert verdicts(figures.openloop, None, None)[1].met is False


def test_a_closed_loop_missed_at_one_count_is_missed_though_the_others_were_not_run() -> None:
    verdict = verdicts(None, _closed({400: 1.05}), None)[0]
    assert (verdict.met, verdict.measured) == (False, "1.05× at 400, p99 no worse; not run at 1,500, 5,000")


def test_what_was_not_run_is_not_measured_and_a_failure_is_said() -> None:
    quick = Figures(closed=_closed({20: 2.0}), failures={"the held-call memory": "exited with 1 and wrote no figures"})
    block = render_block(CONDITIONS, quick)
    assert set(_target_rows(block).values()) == {"not measured"}  # 20 connections is not the target's
    assert "| 20 | 1,600 | 800 | 2.00× |" in block
    assert "| not run at 400, 1,500, 5,000 | not measured |" in block
    assert "* **the held-call memory did not finish**: exited with 1 and wrote no figures" in block
    assert "**Open loop**" not in block


PROSE = "# Benchmarks\n\nHand-written history.\n\n## Issue 17\n\nThe command regenerates the block below.\n"


def test_a_text_without_a_block_gets_it_appended_and_a_second_run_replaces_it_alone() -> None:
    first = replace_block(PROSE, render_block(CONDITIONS, ALL_MET))
    assert first.startswith(PROSE + "\n" + BEGIN)
    assert first.endswith(END + "\n")
    again = replace_block(first, render_block(CONDITIONS, ALL_MET))
    assert again == first
    newer = render_block(CONDITIONS, Figures(memory=_memory(8.0)))
    replaced = replace_block(first + "\nText after the block.\n", newer)
    assert replaced == PROSE + "\n" + newer + "\n\nText after the block.\n"
    assert replaced.count(BEGIN) == replaced.count(END) == 1


def test_an_empty_file_gets_the_block_alone() -> None:
    block = render_block(CONDITIONS, ALL_MET)
    assert replace_block("", block) == block + "\n"


@pytest.mark.parametrize(
    "broken",
    [PROSE + BEGIN + "\n", PROSE + END + "\n" + BEGIN + "\n", PROSE + (BEGIN + "\n" + END + "\n") * 2],
    ids=["begin without end", "end before begin", "two blocks"],
)
def test_a_broken_pair_of_markers_is_refused_rather_than_written_around(broken: str) -> None:
    with pytest.raises(ValueError, match="one generated block"):
        replace_block(broken, render_block(CONDITIONS, ALL_MET))


def test_the_held_call_floor_is_given_beside_the_ingress_figure_with_batch_gpts_own_part() -> None:
    block = render_block(CONDITIONS, Figures(memory=_memory(13.5), memory_floor=_memory(9.25)))
    assert "**13.50 KB** per held call" in block
    assert "takes **9.25 KB** per held call" in block
    assert "batch-gpt's own part is the difference, 4.25 KB" in block
    assert "The floor: a bare ASGI app" not in render_block(CONDITIONS, Figures(memory=_memory(13.5)))
