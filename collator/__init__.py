"""batch-gpt collator: windows requests from the requests topic into upstream OpenAI batches.

How "exactly once" upstream is achieved (no request lost, none submitted twice):

* Windows are ``stream.take_events(max, within=window)`` with concurrency 1; the body never raises
  (faust acks a window even when its body raises), so offsets are committed only after the window's
  requests are reserved in the database (below). Submitting the reserved batches then runs in the
  background (bounded), so the next window is gathered meanwhile.
* Each window's new requests are first **reserved** in the database as ``pending`` batches
  (``batches`` + ``batch_members`` in one transaction; ``UNIQUE(request_id, attempt)`` means a request
  can be a line of one batch only, whichever worker wins). The batch id is derived from its members.
* A reserved batch is then **driven** by the worker holding its lease: look upstream for a batch whose
  metadata ``batchgpt_batch_id`` names it (a crash after the create), otherwise upload
  ``<batch id>.jsonl`` and create; then record the upstream id and publish ``BatchEvent(submitted)``.
  The file is rebuilt from the stored members, so a redelivered window, whatever its composition,
  never produces a second batch. A crash after an upload leaves an orphan file upstream, never a batch.
* A worker that dies leaves its pending batches leased; when the lease expires any worker's sweep
  takes them over.
* Upstream 429/5xx/timeouts/connection errors are retried through :mod:`batchgpt.upstream` (tenacity, the
  shared backoff policy, ``Retry-After`` honoured as a floor); after ``BATCHGPT_SUBMIT_MAX_ATTEMPTS`` (or at
  once when upstream rejects it) the batch is recorded as ``failed`` with the error, and the resolver
  answers its members: the collator never answers callers. A batch that is created and fails later
  (``token_limit_exceeded`` included) is the resolver's too.
"""

__all__: list[str] = []
