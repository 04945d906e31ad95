"""batch-gpt resolver service: follows upstream batches and answers every request.

Public surface: :func:`resolver.app.run` / :func:`resolver.app.running_resolver` (the composition root),
:class:`resolver.settings.ResolverSettings`, and :func:`resolver.repository.request_cancel` (for ingress).
"""

__all__: list[str] = []
