"""Regenerate issue 17's tables in BENCHMARKS.md with one command (``make bench``).

Runs, one after the other and each as its own script does it: the open-loop benchmark (batch-gpt and
``autobatcher serve`` at 250, 500, 1,000 and 2,000 requests/s), the closed loop (400, 1,500 and 5,000
connections, batch-gpt with its default ingress workers), the held-call memory and the floor; each writes its
figures as JSON, from which the generated block of BENCHMARKS.md is rewritten (the date, commit and machine, the
commands, the tables, and each target met or missed). Everything outside the block's two marker comments is left
as it is.

    python -m bench.regenerate [--quick] [--output BENCHMARKS.md]

``--quick`` is a smoke run (one low rate for 5 s, a few connections, a few held calls, a small floor): its
figures say nothing about the targets. A benchmark that fails is named in the block; the others still count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from bench.generated_block import Conditions, Figures, render_block, replace_block  # noqa: E402

__all__ = ["BENCHMARKS", "main"]

BENCHMARKS = {
    "openloop": ["bench/openloop.py", "--rates", "250,500,1000,2000", "--duration", "30"],
    "closed": [
        "bench/load.py", "--connections", "400,1500,5000", "--repeat", "3", "--duration", "30", "--skip-ceiling",
        "--ingress-workers", "default",
    ],
    "memory": ["-m", "bench.ingress_memory", "--calls", "10000"],
    "memory_floor": ["-m", "bench.ingress_memory", "--calls", "10000", "--bare"],
    "floor": ["-m", "bench.floor"],
}  # fmt: skip
"""Each benchmark's command (after ``python``), as the full run makes it."""

QUICK = {
    "openloop": ["bench/openloop.py", "--rates", "50", "--duration", "5", "--warmup", "1"],
    "closed": [
        "bench/load.py", "--connections", "20", "--repeat", "1", "--duration", "5", "--warmup", "1",
        "--skip-ceiling", "--ingress-workers", "default",
    ],
    "memory": ["-m", "bench.ingress_memory", "--calls", "200", "--warm-up", "20"],
    "memory_floor": ["-m", "bench.ingress_memory", "--calls", "200", "--warm-up", "20", "--bare"],
    "floor": ["-m", "bench.floor", "--rate", "200", "--http-seconds", "2", "--messages", "400", "--admissions", "200"],
}  # fmt: skip
"""The same, shortened for a smoke run."""

NAMES = {
    "openloop": "the open loop",
    "closed": "the closed loop",
    "memory": "the held-call memory",
    "memory_floor": "the held-call floor (a bare ASGI app)",
    "floor": "the floor",
}


def _run(name: str, argv: list[str], json_path: Path) -> tuple[Mapping[str, Any] | None, str | None]:
    """Run one benchmark (its output goes to the console); its JSON figures, or why there are none."""
    sys.stdout.write(f"\n=== {NAMES[name]}: python {shlex.join(argv)}\n")
    sys.stdout.flush()
    done = subprocess.run([sys.executable, *argv, "--json", str(json_path)], cwd=ROOT, check=False)
    if json_path.exists():
        return json.loads(json_path.read_text()), None
    return None, f"`python {shlex.join(argv)}` exited with {done.returncode} and wrote no figures"


def _broker() -> str:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    return f"the broker at {bootstrap} (KAFKA_BOOTSTRAP_SERVERS)" if bootstrap else "a broker of its own for each run"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.regenerate", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: everything shortened")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md", help="the file to rewrite the block in")
    args = parser.parse_args(argv)
    commands = QUICK if args.quick else BENCHMARKS
    own = "python -m bench.regenerate" + (" --quick" if args.quick else "")
    conditions = Conditions(
        date_utc=machine.now_utc(),
        commit=machine.commit(),
        dirty=machine.uncommitted_changes(),
        cpu_model=machine.cpu_model(),
        cores=os.cpu_count() or 0,
        ram_gib=machine.ram_gib(),
        kernel=platform.release(),
        python=platform.python_version(),
        load_average=machine.load_average(),
        broker=_broker(),
        commands=[f"{own}   # which runs:", *(f"python {shlex.join(command)}" for command in commands.values())],
    )
    documents: dict[str, Mapping[str, Any] | None] = {}
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-regenerate-") as tmp:
        for name, command in commands.items():
            documents[name], failure = _run(name, command, Path(tmp) / f"{name}.json")
            if failure is not None:
                failures[NAMES[name]] = failure
    figures = Figures(failures=failures, **documents)
    text = args.output.read_text() if args.output.exists() else ""
    args.output.write_text(replace_block(text, render_block(conditions, figures)))
    sys.stdout.write(
        f"\n{args.output}: generated block rewritten" + (f"; failed: {', '.join(failures)}" if failures else "") + "\n"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
