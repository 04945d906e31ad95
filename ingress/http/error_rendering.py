"""Exception handlers: every error, ours or FastAPI's, answered with OpenAI's error envelope."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingress.errors import IngressError, InvalidRequest, MethodNotAllowed, NotFound
from ingress.http.edge import SCOPE_KEY, Scope
from ingress.http.responses import json_response
from ingress.process.service import IngressRuntime

__all__ = ["install_error_handlers", "render_error", "render_unexpected"]

logger = logging.getLogger(__name__)


def render_error(runtime: IngressRuntime | None, scope: Scope, error: IngressError) -> Response:
    """The error envelope response for ``error`` (counted as a rejection, with the exchange's ``x-request-id``)."""
    if runtime is not None:
        runtime.metrics.rejected.labels(reason=error.reason).inc()
    headers = error.headers()
    request_id = scope.get(SCOPE_KEY)
    if request_id:
        headers["x-request-id"] = request_id
    return json_response(error.envelope(), status_code=error.status_code, headers=headers)


def render_unexpected(runtime: IngressRuntime | None, scope: Scope, exc: BaseException) -> Response:
    """Log an unexpected exception with its traceback; answer OpenAI's generic 500 (``EdgeMiddleware`` calls it)."""
    logger.error("unexpected error", exc_info=exc, extra={"path": scope.get("path")})
    message = "The server had an error while processing your request. Sorry about that! You can retry your request."
    return render_error(runtime, scope, IngressError(message))


def _render(request: Request, error: IngressError) -> Response:
    return render_error(getattr(request.app.state, "runtime", None), request.scope, error)


async def _ingress_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IngressError)
    return _render(request, exc)


def _param(loc: tuple[object, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    param = _param(tuple(first.get("loc", ())))
    code = "missing_required_parameter" if first.get("type") == "missing" else "invalid_value"
    message = f"Invalid value for '{param}': {first.get('msg')}." if param else str(first.get("msg"))
    if code == "missing_required_parameter" and param:
        message = f"Missing required parameter: '{param}'."
    return _render(request, InvalidRequest(message, param=param, code=code))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        error: IngressError = NotFound(f"Invalid URL ({request.method} {request.url.path})", code="unknown_url")
    elif exc.status_code == 405:
        error = MethodNotAllowed(f"Method {request.method} is not allowed for {request.url.path}.")
    else:
        error = IngressError(str(exc.detail))
        error.status_code = exc.status_code
        error.error_type = "invalid_request_error" if exc.status_code < 500 else "server_error"
    return _render(request, error)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(IngressError, _ingress_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
