"""The one way an error becomes a response: OpenAI's ``{"error": {...}}`` envelope, for every failure.

Ours (:class:`~ingress.errors.IngressError`), FastAPI's (validation, unknown routes, wrong methods),
a dependency's outage (the database or Kafka unavailable: a 503 with ``Retry-After``, see
:mod:`ingress.outages`; logged as a warning) and unexpected exceptions (logged once with their
traceback, answered with a generic 500) all go through :meth:`ErrorRenderer.render`: the edge
middleware calls it for what reaches it (the fast path's calls and the FastAPI routes' alike), and
FastAPI's exception handlers are the same function.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingress.errors import IngressError, InvalidRequest, MethodNotAllowed, NotFound
from ingress.http.request_reading import Scope
from ingress.http.responses import error_response
from ingress.metrics import IngressMetrics
from ingress.outages import failed_dependency, outage_error

__all__ = ["ErrorRenderer"]

logger = logging.getLogger(__name__)

_UNEXPECTED = "The server had an error while processing your request. Sorry about that! You can retry your request."


class ErrorRenderer:
    """Renders any exception as the error envelope, counting it as a rejection.

    ``retry_after_seconds`` is the ``Retry-After`` of an outage's 503.
    """

    __slots__ = ("_metrics", "_retry_after_seconds")

    def __init__(self, metrics: IngressMetrics, *, retry_after_seconds: int) -> None:
        self._metrics = metrics
        self._retry_after_seconds = retry_after_seconds

    def render(self, scope: Scope, exc: Exception) -> Response:
        """The error envelope response for ``exc`` (an outage or an unexpected one is logged here)."""
        error = _as_ingress_error(scope, exc, self._retry_after_seconds)
        self._metrics.rejected.labels(reason=error.reason).inc()
        response = error_response(error)
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 405 and exc.headers:
            response.headers["allow"] = exc.headers.get("Allow", "")  # the route's methods (RFC 9110)
        return response

    def install(self, app: FastAPI) -> None:
        """Make :meth:`render` the handler of the errors FastAPI's routing stack catches itself."""

        async def handler(request: Request, exc: Exception) -> Response:
            return self.render(request.scope, exc)

        for caught in (IngressError, RequestValidationError, StarletteHTTPException):
            app.add_exception_handler(caught, handler)


def _as_ingress_error(scope: Scope, exc: Exception, retry_after_seconds: int) -> IngressError:
    if isinstance(exc, IngressError):
        return exc
    if isinstance(exc, RequestValidationError):
        return _invalid(exc)
    if isinstance(exc, StarletteHTTPException):
        return _http_error(scope, exc)
    dependency = failed_dependency(exc)
    if dependency is not None:
        logger.warning(
            "dependency unavailable",
            extra={"dependency": dependency.value, "error": _first_line(exc), "path": scope.get("path")},
        )
        return outage_error(dependency, retry_after_seconds)
    logger.error("unexpected error", exc_info=exc, extra={"path": scope.get("path")})
    return IngressError(_UNEXPECTED)


def _first_line(exc: Exception) -> str:
    """The exception's type and first line (a database error's next lines hold its statement and parameters)."""
    lines = str(exc).splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _param(loc: tuple[object, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


def _invalid(exc: RequestValidationError) -> InvalidRequest:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    param = _param(tuple(first.get("loc", ())))
    code = "missing_required_parameter" if first.get("type") == "missing" else "invalid_value"
    message = f"Invalid value for '{param}': {first.get('msg')}." if param else str(first.get("msg"))
    if code == "missing_required_parameter" and param:
        message = f"Missing required parameter: '{param}'."
    return InvalidRequest(message, param=param, code=code)


def _http_error(scope: Scope, exc: StarletteHTTPException) -> IngressError:
    method, path = scope.get("method"), scope.get("path")
    if exc.status_code == 404:
        return NotFound(f"Invalid URL ({method} {path})", reason="unknown_url")
    if exc.status_code == 405:
        return MethodNotAllowed(f"Invalid method for URL ({method} {path}).")
    if exc.status_code < 500:
        return InvalidRequest(str(exc.detail), reason=f"http_{exc.status_code}")
    return IngressError(str(exc.detail))
