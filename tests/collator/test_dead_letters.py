"""Bad messages on the requests topic go to the dead-letter topic with the reason; good neighbours still go up."""

from __future__ import annotations

import json

from schemas.codec import decode, encode
from schemas.messages import DeadLetter
from tests.collator.harness import chat_request, produce_raw, read_topic_async, wait_batches


async def test_poison_messages_land_in_the_dead_letter_topic(run_collator, kafka_settings, db_engine, simulator):
    good = chat_request("gpt-4o-mini")
    big = chat_request("gpt-4o-mini", text="x" * 3000)
    poison = [
        (b"k-not-json", b"{not json"),
        (b"k-array", b"[1, 2, 3]"),
        (b"k-no-body", json.dumps({"request_id": "req_nobody"}).encode()),
        (b"k-endpoint", json.dumps({"request_id": "r", "endpoint": "/v1/images", "body": {"model": "m"}}).encode()),
        (b"k-binary", b"\xff\xfe\x00binary"),
        (None, None),
    ]
    produce_raw(kafka_settings, [*poison, (good.request_id.encode(), encode(good)),
                                 (big.request_id.encode(), encode(big))])
    async with run_collator(window_ms=1000, max_batch_bytes=2048):
        letters = [decode(DeadLetter, m.value()) for m in await read_topic_async(
            kafka_settings, kafka_settings.topics.dead_letter, expect=len(poison) + 1)]
        await wait_batches(db_engine, 1)
    by_key = {letter.key: letter for letter in letters}
    assert by_key["k-not-json"].reason == "not_json"
    assert by_key["k-not-json"].value == "{not json"
    assert by_key["k-array"].reason == "invalid_shape"
    assert by_key["k-no-body"].reason == "invalid_shape"
    assert by_key["k-endpoint"].reason == "unknown_endpoint"
    assert by_key["k-binary"].reason == "not_json"
    assert by_key["k-binary"].value_encoding == "base64"
    assert by_key[None].reason == "not_json"
    assert by_key[big.request_id].reason == "too_large"
    assert all(letter.source_topic == kafka_settings.topics.requests for letter in letters)
    stats = simulator.stats()
    assert stats["custom_id_submissions"] == {good.request_id: 1}
