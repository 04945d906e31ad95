"""The local development stack: broker, simulator and services under one command."""

__all__: list[str] = []
