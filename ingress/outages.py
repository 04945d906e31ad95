"""Dependency outages: which dependency an exception says cannot be reached, and the 503 that answers it. Pure.

A database that cannot be reached or answers with a connection or operational error, and a Kafka broker
that cannot take a request, are outages: the call is answered with OpenAI's envelope, status 503, a
code naming the dependency (``database_unavailable``, ``broker_unavailable``), ``Retry-After`` and
``x-should-retry: true``, never a 500. The message names the dependency, never its URL or credentials.

What counts as a database outage:

* SQLAlchemy's ``OperationalError`` (PostgreSQL: connection refused, terminated, server shutting down,
  statement cancelled; SQLite: only a locked or busy database, a file it cannot open, a disk I/O error:
  SQLite's other operational errors, a missing table for example, are bugs, not outages),
  ``InterfaceError``, any ``DBAPIError`` that invalidated its connection, and the pool's ``TimeoutError``;
* the same errors of the drivers themselves (psycopg's ``OperationalError`` / ``InterfaceError``,
  ``sqlite3.OperationalError``), the exception itself or one it was raised ``from``.

A broker outage: confluent-kafka's ``KafkaException`` and a delivery that failed (``DeliveryError``), unless
the broker refused the message itself (too large, invalid): that is no outage, a retry would fail alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from enum import StrEnum

import psycopg
from confluent_kafka import KafkaError, KafkaException
from sqlalchemy import exc as sa_exc

from batchgpt.kafka import DeliveryError
from ingress.errors import ServiceUnavailable

__all__ = ["Dependency", "failed_dependency", "outage_error"]


class Dependency(StrEnum):
    """A dependency whose outage ingress answers with 503; the value is the prefix of its error code."""

    DATABASE = "database"
    BROKER = "broker"


_NAMES = {Dependency.DATABASE: "The database", Dependency.BROKER: "The Kafka broker"}

_REFUSED_MESSAGES = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.INVALID_RECORD,
    }
)
"""Kafka's refusals of a message itself: the same message would be refused again."""

_SQLITE_OUTAGES = ("database is locked", "database table is locked", "unable to open", "disk i/o error")


def failed_dependency(exc: BaseException) -> Dependency | None:
    """The dependency ``exc`` (or an exception in its cause chain) says is unavailable; None for any other error."""
    for link in _chain(exc):
        if _database_outage(link):
            return Dependency.DATABASE
        if _broker_outage(link):
            return Dependency.BROKER
    return None


def outage_error(dependency: Dependency, retry_after_seconds: int) -> ServiceUnavailable:
    """The 503 that answers an outage of ``dependency``."""
    return ServiceUnavailable(
        f"{_NAMES[dependency]} is unavailable at the moment. Please retry your request after the delay in Retry-After.",
        code=f"{dependency.value}_unavailable",
        retry_after_seconds=retry_after_seconds,
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__


def _database_outage(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
            return True
        if isinstance(exc, sa_exc.OperationalError):
            return not isinstance(exc.orig, sqlite3.Error) or _sqlite_outage(exc.orig)
        return False
    if isinstance(exc, sqlite3.OperationalError):
        return _sqlite_outage(exc)
    return isinstance(exc, sa_exc.TimeoutError | psycopg.OperationalError | psycopg.InterfaceError)


def _broker_outage(exc: BaseException) -> bool:
    if isinstance(exc, DeliveryError):
        reason = exc.kafka_error
    elif isinstance(exc, KafkaException):
        reason = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
    else:
        return False
    return reason is None or reason.code() not in _REFUSED_MESSAGES


def _sqlite_outage(exc: sqlite3.Error) -> bool:
    message = str(exc).lower()
    return any(sign in message for sign in _SQLITE_OUTAGES)
