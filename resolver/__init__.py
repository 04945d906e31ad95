"""batch-gpt resolver service."""

__all__: list[str] = []
