"""batch-gpt resolver service: follows upstream batches and answers every request.

Public surface: :func:`resolver.app.run` / :func:`resolver.app.running_resolver` (the composition root),
:class:`resolver.settings.ResolverSettings`. Ingress asks for a cancel through
:func:`batchgpt.store.batches.request_cancel`; the resolver answers through :mod:`batchgpt.replies`.
"""

__all__: list[str] = []
