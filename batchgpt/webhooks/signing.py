"""Signing and verifying Standard Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) through
the ``standardwebhooks`` library: OpenAI signs its events this way, and batch-gpt and the simulator sign theirs.

::

    signer = Signer("whsec_...")
    headers = signer.headers(event_id, body_text, at=time.time())   # POST body_text with these headers
    event = verify("whsec_...", body_bytes, request_headers)        # the parsed JSON, or SignatureInvalid
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError, WebhookVerificationError

__all__ = ["SECRET_PREFIX", "SignatureInvalid", "Signer", "check_secret", "new_secret", "verify"]

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix every secret has, not a secret)
"""How a Standard Webhooks secret is written: ``whsec_`` then the base64 of the key."""


class SignatureInvalid(ValueError):
    """The signature headers are missing, malformed, outside the timestamp tolerance, or do not match."""


def check_secret(secret: str) -> str:
    """``secret`` when it is a usable ``whsec_…`` secret; ``ValueError`` naming the problem otherwise."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"must be a Standard Webhooks secret starting with {SECRET_PREFIX}")
    try:
        base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        Webhook(secret)
    except (binascii.Error, ValueError, EmptyWebhookSecretError) as exc:
        raise ValueError(f"the part after {SECRET_PREFIX} must be non-empty base64") from exc
    return secret


def new_secret() -> str:
    """A fresh random ``whsec_…`` secret (the dev stack's, between its simulator and its ingress)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


class Signer:
    """Signs outgoing events with one secret."""

    def __init__(self, secret: str) -> None:
        self._webhook = Webhook(secret)

    def headers(self, event_id: str, body: str, *, at: float) -> dict[str, str]:
        """The three Standard Webhooks headers (and the JSON content type) for ``body`` sent at ``at``."""
        timestamp = datetime.fromtimestamp(int(at), tz=UTC)
        return {
            "content-type": "application/json",
            "webhook-id": event_id,
            "webhook-timestamp": str(int(at)),
            "webhook-signature": self._webhook.sign(event_id, timestamp, body),
        }


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> Any:
    """The parsed JSON of ``body`` when its signature is valid and its timestamp within the library's tolerance
    (5 minutes either way, as OpenAI's SDK); :class:`SignatureInvalid` otherwise."""
    wanted = {
        name: headers[name] for name in ("webhook-id", "webhook-timestamp", "webhook-signature") if name in headers
    }
    try:
        return Webhook(secret).verify(body, wanted)
    except (WebhookVerificationError, ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise SignatureInvalid(str(exc) or type(exc).__name__) from exc
