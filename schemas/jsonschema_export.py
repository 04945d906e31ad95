"""Generates the JSON Schema files shipped in ``schemas/jsonschema/`` (one per topic message)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from schemas.messages import BatchEvent, DeadLetter, ReplyMessage, RequestMessage, WebhookEvent

__all__ = ["SCHEMA_DIR", "TOPIC_MODELS", "render_all", "write_all"]

SCHEMA_DIR = Path(__file__).with_name("jsonschema")

TOPIC_MODELS: dict[str, type[BaseModel]] = {
    "requests": RequestMessage,
    "replies": ReplyMessage,
    "batches": BatchEvent,
    "dead-letter": DeadLetter,
    "webhooks": WebhookEvent,
}


def render_all() -> dict[str, str]:
    """File name -> JSON Schema text, for every topic."""
    rendered: dict[str, str] = {}
    for topic, model in TOPIC_MODELS.items():
        schema = model.model_json_schema(mode="validation")
        schema["$id"] = f"https://batch-gpt.local/schemas/{topic}.json"
        schema["title"] = f"batchgpt.{topic} message ({model.__name__})"
        rendered[f"{topic}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return rendered


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema file; return the paths written."""
    directory.mkdir(exist_ok=True)
    written = []
    for name, text in render_all().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        sys.stdout.write(f"wrote {path}\n")
