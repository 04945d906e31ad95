"""batch-gpt ingress: the OpenAI-compatible HTTP API (``create_app(settings)`` is the composition root)."""

__all__: list[str] = []
