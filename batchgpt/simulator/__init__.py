"""batch-gpt simulator: a local stand-in for OpenAI's Files + Batches API (plus synchronous chat/embeddings).

Build it with ``create_app(SimulatorSettings(...))``; run it with ``batch-gpt simulator`` or
``python -m batchgpt.simulator``; drive it from tests with ``simulator.testing.run_simulator``.
"""

from batchgpt.simulator.answers import expected_chat_content, expected_embedding
from batchgpt.simulator.app import create_app
from batchgpt.simulator.settings import SimulatorSettings

__all__ = ["SimulatorSettings", "create_app", "expected_chat_content", "expected_embedding"]
