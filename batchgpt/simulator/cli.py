"""Settings from the command line and the environment, validated once.

One flag ``--x-y`` and one variable ``BATCHGPT_SIM_X_Y`` per ``SimulatorSettings`` field (flags win over
the environment, which wins over defaults); a bad value names the flag and the variable.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

from pydantic import ValidationError

from batchgpt.simulator.settings import SimulatorSettings

__all__ = ["ENV_PREFIX", "SettingsError", "build_parser", "env_name", "flag_name", "load_settings"]

ENV_PREFIX = "BATCHGPT_SIM_"


class SettingsError(ValueError):
    """A setting had a bad value; the message names the flag and the environment variable."""


def env_name(field: str) -> str:
    """``in_progress_seconds`` -> ``BATCHGPT_SIM_IN_PROGRESS_SECONDS``."""
    return ENV_PREFIX + field.upper()


def flag_name(field: str) -> str:
    """``in_progress_seconds`` -> ``--in-progress-seconds``."""
    return "--" + field.replace("_", "-")


def build_parser() -> argparse.ArgumentParser:
    """The ``batch-gpt simulator`` argument parser (every flag defaults to "not given")."""
    parser = argparse.ArgumentParser(
        prog="batch-gpt simulator",
        description="A local stand-in for OpenAI's Files + Batches API. Every flag can also be set through "
        f"the environment variable {ENV_PREFIX}<FLAG_NAME> (for example {env_name('port')}).",
    )
    for name, info in SimulatorSettings.model_fields.items():
        help_text = f"{info.description or ''} [env {env_name(name)}; default {info.default!r}]"
        help_text = help_text.replace("%", "%%")
        if info.annotation is bool:
            parser.add_argument(
                flag_name(name),
                dest=name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        else:
            parser.add_argument(flag_name(name), dest=name, default=None, metavar="VALUE", help=help_text)
    return parser


def load_settings(argv: Sequence[str], environ: Mapping[str, str]) -> SimulatorSettings:
    """Settings from flags over environment over defaults; ``SettingsError`` on a bad value."""
    args = vars(build_parser().parse_args(list(argv)))
    values: dict[str, object] = {}
    origin: dict[str, str] = {}
    for name in SimulatorSettings.model_fields:
        raw_env = environ.get(env_name(name))
        if raw_env is not None and raw_env != "":
            values[name] = raw_env
            origin[name] = f"{env_name(name)}={raw_env!r}"
        if args.get(name) is not None:
            values[name] = args[name]
            origin[name] = f"{flag_name(name)} {args[name]!r}"
    try:
        return SimulatorSettings.model_validate(values)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            where = origin.get(field, f"{flag_name(field)} / {env_name(field)}")
            problems.append(
                f"invalid value for {env_name(field)} (flag {flag_name(field)}): {where}: {item['msg']}"
            )
        raise SettingsError("; ".join(problems)) from error
