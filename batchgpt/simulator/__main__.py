"""``batch-gpt simulator`` / ``python -m batchgpt.simulator``: read the settings once, build the app, run uvicorn."""

from __future__ import annotations

import logging
import os
import sys

import uvicorn

from batchgpt.simulator.app import create_app
from batchgpt.simulator.cli import SettingsError, load_settings

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until interrupted; 2 when a setting is invalid."""
    try:
        settings = load_settings(sys.argv[1:] if argv is None else argv, os.environ)
    except SettingsError as error:
        sys.stderr.write(f"batch-gpt simulator: {error}\n")
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        app = create_app(settings)
    except OSError as error:
        sys.stderr.write(f"batch-gpt simulator: cannot use --state-dir / BATCHGPT_SIM_STATE_DIR: {error}\n")
        return 2
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
