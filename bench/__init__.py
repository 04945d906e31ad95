"""Benchmarks of batch-gpt (run as scripts: ``python -m bench.<name>``)."""
