"""batch-gpt ingress service."""

__all__: list[str] = []
