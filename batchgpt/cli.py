"""The ``batch-gpt`` console script: one subcommand per component, each imported only when chosen."""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module, help). Each module exposes ``main(argv: list[str]) -> int``.
_COMMANDS: dict[str, tuple[str, str]] = {
    "ingress": ("ingress.__main__", "the OpenAI-compatible HTTP front (FastAPI on uvicorn)"),
    "collator": ("collator.__main__", "the faust worker that windows requests into upstream batches"),
    "resolver": ("resolver.__main__", "follows upstream batches and publishes one reply per request"),
    "simulator": ("batchgpt.simulator.__main__", "a local stand-in for OpenAI's Files + Batches API"),
    "broker": ("batchgpt.broker", "a local single-node Kafka broker from Maven Central jars"),
    "dev": ("batchgpt.devstack.__main__", "runs the whole stack locally (broker, simulator, services)"),
}


def _usage() -> str:
    lines = ["usage: batch-gpt <command> [options]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in _COMMANDS.items()]
    lines.append("\nRun `batch-gpt <command> --help` for a command's options.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the chosen component's ``main``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(_usage() + "\n")
        return 0
    name, rest = args[0], args[1:]
    if name not in _COMMANDS:
        sys.stderr.write(f"batch-gpt: unknown command {name!r}\n\n{_usage()}\n")
        return 2
    module = importlib.import_module(_COMMANDS[name][0])
    result: int = module.main(rest)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
