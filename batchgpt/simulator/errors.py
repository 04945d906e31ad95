"""OpenAI's error envelope: the one exception the simulator raises, and the canned errors.

Tree: ``SimError`` (carries status, message, type, param, code, extra headers) is the only error
class; the functions below build the instances the real API answers with. It imports no web
framework, so pure modules can use it; ``simulator.error_handlers`` renders it over HTTP.
"""

from __future__ import annotations

import math

__all__ = [
    "SimError",
    "batch_not_found",
    "envelope",
    "file_not_found",
    "invalid_request",
    "missing_parameter",
    "model_not_found",
    "out_of_range",
    "retry_headers",
    "status_error",
    "unauthorized",
]


class SimError(Exception):
    """An error answered to the client in OpenAI's envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        """The JSON body: the error envelope."""
        return envelope(self.message, type_=self.type, param=self.param, code=self.code)


def envelope(
    message: str, *, type_: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, object]:
    """``{"error": {message, type, param, code}}`` with all four keys present."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def invalid_request(message: str, *, param: str | None = None, code: str | None = None) -> SimError:
    """A 400 ``invalid_request_error``."""
    return SimError(400, message, param=param, code=code)


def missing_parameter(name: str) -> SimError:
    """400 ``missing_required_parameter`` naming ``name``."""
    return invalid_request(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")


def out_of_range(param: str, value: int, low: int, high: int) -> SimError | None:
    """400 ``integer_below_min_value`` / ``integer_above_max_value`` when ``value`` is outside ``low..high``."""
    if value < low:
        relation, code = f">= {low}", "integer_below_min_value"
    elif value > high:
        relation, code = f"<= {high}", "integer_above_max_value"
    else:
        return None
    bound = "below minimum" if code == "integer_below_min_value" else "above maximum"
    return invalid_request(
        f"Invalid '{param}': integer {bound} value. Expected a value {relation}, but got {value} instead.",
        param=param,
        code=code,
    )


def file_not_found(file_id: str) -> SimError:
    """404 for an unknown file id."""
    return SimError(404, f"No such File object: {file_id}", param="id")


def batch_not_found(batch_id: str) -> SimError:
    """404 for an unknown batch id."""
    return SimError(404, f"No batch found with id '{batch_id}'.", code="batch_not_found")


def model_not_found(model: str) -> SimError:
    """404 ``model_not_found`` as the synchronous endpoints answer it."""
    return SimError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
    )


def unauthorized(key: str | None) -> SimError:
    """401: no key at all, or a key that is not accepted."""
    if not key:
        return SimError(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank "
            "username) if you're accessing the API from your browser and are prompted for a username. You "
            "can obtain an API key from https://platform.openai.com/account/api-keys.",
        )
    shown = key[:3] + "*" * 4 + key[-4:] if len(key) > 8 else "*" * len(key)
    return SimError(
        401,
        f"Incorrect API key provided: {shown}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def retry_headers(retry_after_seconds: float | None) -> dict[str, str]:
    """``retry-after`` (whole seconds, at least 1) and ``retry-after-ms`` (exact) for a delay."""
    if retry_after_seconds is None:
        return {}
    return {
        "retry-after": str(max(1, math.ceil(retry_after_seconds))),
        "retry-after-ms": str(max(1, round(retry_after_seconds * 1000))),
    }


def status_error(
    status: int,
    *,
    message: str | None = None,
    code: str | None = None,
    retry_after_seconds: float | None = None,
    model: str = "gpt-4o-mini",
) -> SimError:
    """The error the real API answers for ``status`` (used by fault injection and per-line markers)."""
    headers = retry_headers(retry_after_seconds)
    if status == 429:
        wait = f"{retry_after_seconds:g}s" if retry_after_seconds is not None else "1s"
        return SimError(
            429,
            message
            or f"Rate limit reached for {model} in organization org-simulator on requests per min (RPM): "
            f"Limit 500, Used 500, Requested 1. Please try again in {wait}.",
            type_="requests",
            code=code or "rate_limit_exceeded",
            headers=headers,
        )
    if status == 503:
        return SimError(
            503,
            message or "Our servers are currently overloaded. Please try again later.",
            type_="service_unavailable_error",
            code=code or "server_is_overloaded",
            headers=headers,
        )
    if status >= 500:
        return SimError(
            status,
            message
            or "The server had an error processing your request. Sorry about that! You can retry your "
            "request, or contact us through our help center at help.openai.com if you keep seeing this "
            "error.",
            type_="server_error",
            code=code,
            headers=headers,
        )
    if status == 401:
        return unauthorized(None)
    if status == 404:
        return model_not_found(model)
    return SimError(
        status,
        message or f"Simulated error {status} for this request.",
        param=None,
        code=code,
        headers=headers,
    )
