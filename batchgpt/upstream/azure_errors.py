"""Azure OpenAI's error bodies, mapped to OpenAI's so callers see the same outcomes whichever provider ran.

Azure's v1 API mostly answers in OpenAI's envelope, but not always:

* ``{"error": {"code": "401", "message": "Access denied due to invalid subscription key …"}}``: the HTTP status
  as the code, no ``type`` or ``param`` (401, 403, 404, 429 from the gateway);
* ``{"statusCode": 401, "message": "Unauthorized. Access token is missing, invalid …"}``: no envelope at all;
* ``{"error": {"code": "DeploymentNotFound", …}}``: camel-case codes of its own (``model`` is a deployment);
* ``{"error": {"code": "quotaExceeded", "message": "The quota for files without expiry is reached. The
  maximum is 500."}}`` (400) when a resource holds 500 input files without an expiry.

:func:`openai_error_object` rewrites any of them as OpenAI's error object (``message``, ``type``, ``param``,
``code``), which is what the collator records and the resolver answers callers with. :func:`translate` is
:func:`batchgpt.upstream.openai_errors.translate` with that rewrite, and one difference in kind: the file
quota is transient (uploads succeed again once input files are deleted or expire), not a rejection of the
callers' requests.
"""

from __future__ import annotations

from typing import Any

import openai

from batchgpt.upstream.errors import UpstreamError, UpstreamTransient
from batchgpt.upstream.openai_errors import translate as translate_openai

__all__ = ["FILE_QUOTA_CODE", "openai_error_object", "translate"]

FILE_QUOTA_CODE = "quotaExceeded"
"""Azure's code when an upload would exceed the resource's quota of input files without an expiry."""

_STATUS_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}
"""OpenAI's code for a status Azure reports only as its number."""
_OWN_CODES = {"DeploymentNotFound": "model_not_found", "DeploymentNotReady": "model_not_found"}
"""Azure's own codes with an OpenAI equivalent (``model`` names a deployment on Azure)."""


def _type_for(status: int) -> str:
    if status == 429:
        return "requests"
    return "server_error" if status >= 500 else "invalid_request_error"


def _code(raw: Any, status: int) -> str | None:
    if raw is None or raw == "":
        return _STATUS_CODES.get(status)
    code = str(raw)
    if code.isdigit():
        return _STATUS_CODES.get(int(code))
    return _OWN_CODES.get(code, code)


def openai_error_object(body: object, status: int) -> dict[str, Any]:
    """OpenAI's error object (``message``, ``type``, ``param``, ``code``) for an Azure error body.

    ``body`` is what the SDK kept of the response: the envelope's ``error`` object, Azure's bare
    ``{"statusCode", "message"}``, or anything else (a non-JSON body becomes a message of its own).
    """
    data = body if isinstance(body, dict) else {}
    message = data.get("message")
    if not isinstance(message, str) or not message:
        message = str(body) if body and not isinstance(body, dict) else f"Azure OpenAI answered HTTP {status}."
    param = data.get("param")
    kind = data.get("type")
    return {
        "message": message,
        "type": kind if isinstance(kind, str) and kind else _type_for(status),
        "param": param if isinstance(param, str) else None,
        "code": _code(data.get("code"), status),
    }


def translate(exc: Exception, operation: str, resource: str | None = None) -> UpstreamError:
    """The :class:`UpstreamError` for ``exc`` raised by an Azure OpenAI call, its body in OpenAI's shape."""
    error = translate_openai(exc, operation, resource)
    if not isinstance(exc, openai.APIStatusError):
        return error
    body = openai_error_object(exc.body, exc.status_code)
    kind: type[UpstreamError] = type(error)
    if body["code"] == FILE_QUOTA_CODE and operation == "files.create":
        kind = UpstreamTransient
    return kind(
        f"{operation}: HTTP {exc.status_code}: {body['message']}",
        operation=operation,
        status=exc.status_code,
        code=body["code"],
        retry_after_s=error.retry_after_s,
        body=body,
        resource=resource,
    )
