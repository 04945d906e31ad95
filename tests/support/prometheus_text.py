"""Read a Prometheus text exposition (as ``/metrics`` serves it) with prometheus_client's own parser."""

from __future__ import annotations

from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["sample_totals"]


def sample_totals(exposition: str) -> dict[str, float]:
    """Each sample name (e.g. ``batchgpt_ingress_requests_accepted_total``) with its values summed over its
    labels; a name absent from the exposition is absent here."""
    totals: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            totals[sample.name] += sample.value
    return dict(totals)
