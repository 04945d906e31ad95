"""A webhook receiver for tests: a small HTTP server on 127.0.0.1 in a thread that records every POST and answers
each event's first ``fail_first`` deliveries (by ``webhook-id``) with 500, then 200.

::

    with WebhookReceiver(fail_first=2) as receiver:
        ...  # point BATCHGPT_WEBHOOK_URL at receiver.url
        receiver.accepted()   # the deliveries it answered 200, in order
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Received", "WebhookReceiver", "closed_port_url"]


@dataclass(frozen=True)
class Received:
    """One POST: its headers (lower-case names), raw body and the status it was answered."""

    headers: dict[str, str]
    body: bytes
    status: int


class WebhookReceiver:
    """Records POSTs to ``url``; fails each event's first ``fail_first`` deliveries."""

    def __init__(self, *, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[Received] = []
        self._tries: Counter[str] = Counter()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = receiver._answer(headers.get("webhook-id", ""))
                with receiver._lock:
                    receiver.received.append(Received(headers, body, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    def _answer(self, event_id: str) -> int:
        with self._lock:
            self._tries[event_id] += 1
            return 500 if self._tries[event_id] <= self.fail_first else 200

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/batch-gpt"

    def accepted(self) -> list[Received]:
        """The deliveries answered 200, in the order they arrived."""
        with self._lock:
            return [r for r in self.received if r.status == 200]

    def tries(self, event_id: str) -> int:
        """How many times the event with this ``webhook-id`` was POSTed."""
        with self._lock:
            return self._tries[event_id]

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a receiver that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/batch-gpt"
