"""Exception handlers rendering every error the app can raise (ours and FastAPI's) in OpenAI's envelope, or in
Anthropic's on the Anthropic routes (``/v1/messages…``)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from batchgpt.simulator.anthropic_errors import in_anthropics_words, is_anthropic_path
from batchgpt.simulator.errors import SimError, invalid_request

__all__ = ["install_error_handlers"]


def _response(request: Request, error: SimError) -> JSONResponse:
    if is_anthropic_path(request.url.path):
        error = in_anthropics_words(error)
    return JSONResponse(error.body(), status_code=error.status, headers=dict(error.headers))


async def _on_sim_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SimError)
    return _response(request, exc)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = f"Invalid URL ({request.method} {request.url.path})"
    else:
        message = str(exc.detail)
    return _response(request, SimError(exc.status_code, message))


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(part) for part in first.get("loc", ()) if part not in ("query", "path", "body")]
    param = ".".join(loc) or None
    message = f"Invalid value for '{param}': {first.get('msg', 'invalid')}." if param else "Invalid request."
    return _response(request, invalid_request(message, param=param, code="invalid_value"))


def install_error_handlers(app: FastAPI) -> None:
    """Render every error the app can raise in OpenAI's envelope."""
    app.add_exception_handler(SimError, _on_sim_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
