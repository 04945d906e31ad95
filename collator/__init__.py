"""batch-gpt collator service."""

__all__: list[str] = []
