"""The store: the only code that reads and writes the shared tables (``requests``, ``batches``,
``batch_members``, ``results``). Services and test stand-ins call its functions; nobody else writes SQL.

=====================  ==========================================================================
module                 what it holds
=====================  ==========================================================================
``tables``             the table declarations (the schema contract)
``migrations/``        Alembic migrations of those tables
``engine``             ``make_engine``, ``migrate``, ``ping``
``upserts``            the dialect-specific ``INSERT ... ON CONFLICT DO NOTHING``, written once
``records``            the plain rows the store hands out and takes in
``errors``             ``ReservationConflict``, ``LeaseLost``
``admission``          ingress's group-commit find-or-insert of ``requests`` rows
``requests``           reading ``requests`` rows and moving their state (checked against
                       :mod:`schemas.transitions`)
``batches``            one function per batch transition: reserve, submitted, submission failed,
                       poll recorded, gone, resolved, cancel requested; and the batch reads
``members``            ``batch_members`` reads and outcomes
``results``            ``results`` rows: storing answered chunks, reads for the HTTP API, purge
``leases``             the collator's leases on pending batches and the resolver's on open batches
``dashboard``          the dashboard's reads: requests by state, failed answers, token totals, a batch's answers
``upstream_events``    a provider's webhook about a batch: find it by upstream id, make it due now
=====================  ==========================================================================

Every function is synchronous SQLAlchemy Core (async callers use ``asyncio.to_thread``) and works on
SQLite and PostgreSQL.
"""

from __future__ import annotations

__all__: list[str] = []
