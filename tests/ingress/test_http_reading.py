"""The endpoint table's path matching and reading a request straight from ASGI. Pure (no server)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import ClientDisconnect

from ingress.errors import PayloadTooLarge
from ingress.http.endpoints import (
    BY_PATH,
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    ENDPOINTS,
    MODERATIONS,
    RESPONSES,
    fetch_path,
    fetched_id,
)
from ingress.http.request_reading import read_body, request_headers
from schemas.status import Endpoint


def test_the_table_declares_every_endpoint_once() -> None:
    assert [spec.endpoint for spec in ENDPOINTS] == list(Endpoint)
    assert BY_PATH["/v1/chat/completions"] is CHAT and BY_PATH["/v1/embeddings"] is EMBEDDINGS
    assert BY_PATH["/v1/responses"] is RESPONSES and BY_PATH["/v1/completions"] is COMPLETIONS
    assert BY_PATH["/v1/moderations"] is MODERATIONS
    assert [spec.name for spec in ENDPOINTS if spec.streams] == ["chat_completion", "response", "completion", "message"]


def test_get_by_id_paths_are_recognised_and_nothing_else() -> None:
    assert fetched_id("/v1/chat/completions/req_1") == "req_1"
    assert fetched_id("/v1/embeddings/req_2") == "req_2"
    assert fetched_id("/v1/completions/req_5") == "req_5" and fetched_id("/v1/responses/req_6") == "req_6"
    for other in ("/v1/chat/completions", "/v1/chat/completions/", "/v1/chat/completions/a/b", "/v1/batches/x"):
        assert fetched_id(other) is None, other
    assert fetch_path("/v1/embeddings", "req_3") == "/v1/embeddings/req_3"
    assert fetch_path("/v1/unknown", "req_4") == "/v1/chat/completions/req_4"


def test_only_the_headers_read_are_decoded_and_the_first_of_repeated_ones_wins() -> None:
    scope = {
        "headers": [
            (b"authorization", b"Bearer one"),
            (b"x-other", b"ignored"),
            (b"authorization", b"Bearer two"),
            (b"prefer", b"wait=3"),
        ]
    }
    assert request_headers(scope) == {"authorization": "Bearer one", "prefer": "wait=3"}


def _receiver(*messages: dict[str, Any]) -> Any:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


def test_the_body_is_read_in_pieces_and_bounded() -> None:
    pieces = _receiver(
        {"type": "http.request", "body": b'{"a":', "more_body": True},
        {"type": "http.request", "body": b"1}", "more_body": False},
    )
    assert asyncio.run(read_body(pieces, None, 1024)) == b'{"a":1}'
    with pytest.raises(PayloadTooLarge):
        asyncio.run(read_body(_receiver(), "2048", 1024))  # refused by Content-Length before reading
    with pytest.raises(PayloadTooLarge):
        asyncio.run(read_body(_receiver({"type": "http.request", "body": b"x" * 2048}), None, 1024))
    with pytest.raises(ClientDisconnect):
        asyncio.run(read_body(_receiver({"type": "http.disconnect"}), None, 1024))
