"""batch-gpt simulator: a local stand-in for OpenAI's Files + Batches API and the endpoints a batch can target
(responses, chat completions, completions, embeddings, moderations; synchronous too), plus ``/v1/models``.

Build it with ``create_app(SimulatorSettings(...))``; run it with ``batch-gpt simulator`` or
``python -m batchgpt.simulator``; drive it from tests with ``simulator.testing.run_simulator``.
"""

from batchgpt.simulator.answers import (
    expected_chat_content,
    expected_completion_text,
    expected_embedding,
    expected_response_text,
    expected_tool_call,
)
from batchgpt.simulator.app import create_app
from batchgpt.simulator.schema_instances import minimal_instance
from batchgpt.simulator.settings import SimulatorSettings

__all__ = [
    "SimulatorSettings",
    "create_app",
    "expected_chat_content",
    "expected_completion_text",
    "expected_embedding",
    "expected_response_text",
    "expected_tool_call",
    "minimal_instance",
]
