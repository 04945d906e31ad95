"""What the batch-gpt services share, one declared part per concern: the store, the upstream edge, the reply
sink, the boot sequence, settings, Kafka clients, logging, the local broker, the simulator and the dev stack
(docs/architecture.md lists them)."""

__all__: list[str] = []
