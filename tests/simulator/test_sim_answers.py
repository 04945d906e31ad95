"""Pure tests of the simulated model: deterministic answers, embeddings, markers, token counts, SSE replay."""

from __future__ import annotations

import base64
import math
from array import array

from batchgpt.simulator.answers import (
    CHAT_ENDPOINT,
    EMBEDDINGS_ENDPOINT,
    answer,
    expected_chat_content,
    expected_embedding,
    outcome,
)
from batchgpt.simulator.markers import markers_of
from batchgpt.simulator.streaming import completion_chunks
from batchgpt.simulator.tokens import chat_prompt_tokens, text_tokens

from .batch_inputs import chat_body


def test_chat_content_is_deterministic_and_differs_per_prompt() -> None:
    a, b = chat_body("What is 2+2?"), chat_body("What is 3+3?")
    assert expected_chat_content(a) == expected_chat_content(dict(a))
    assert expected_chat_content(a) != expected_chat_content(b)
    assert "What is 2+2?" in expected_chat_content(a)


def test_chat_content_uses_the_last_user_message() -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
        ],
    }
    assert "second" in expected_chat_content(body)
    assert expected_chat_content(body) == expected_chat_content(chat_body("second"))


def test_chat_completion_has_the_real_shape() -> None:
    result = answer(CHAT_ENDPOINT, chat_body("hi"), completion_id="chatcmpl-x", created=123)
    assert result.status_code == 200
    body = result.body
    assert set(body) == {
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "service_tier",
        "system_fingerprint",
    }
    assert body["object"] == "chat.completion" and body["id"] == "chatcmpl-x" and body["created"] == 123
    choice = body["choices"][0]
    assert set(choice) == {"index", "message", "logprobs", "finish_reason"}
    assert choice["message"] == {
        "role": "assistant",
        "content": expected_chat_content(chat_body("hi")),
        "refusal": None,
        "annotations": [],
    }
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    assert set(usage["prompt_tokens_details"]) == {"cached_tokens", "audio_tokens"}
    assert set(usage["completion_tokens_details"]) == {
        "reasoning_tokens",
        "audio_tokens",
        "accepted_prediction_tokens",
        "rejected_prediction_tokens",
    }


def test_max_tokens_truncates_with_finish_reason_length() -> None:
    body = chat_body("a long question " * 20, max_tokens=3)
    result = answer(CHAT_ENDPOINT, body, completion_id="c", created=0)
    choice = result.body["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] == expected_chat_content(body)
    assert len(choice["message"]["content"]) <= 12


def test_n_choices_are_distinct() -> None:
    result = answer(CHAT_ENDPOINT, chat_body("hi", n=3), completion_id="c", created=0)
    contents = [c["message"]["content"] for c in result.body["choices"]]
    assert len(set(contents)) == 3
    assert contents[1] == expected_chat_content(chat_body("hi", n=3), choice_index=1)


def test_embedding_is_deterministic_unit_length_and_float32_exact() -> None:
    vector = expected_embedding("hello", 64)
    assert vector == expected_embedding("hello", 64)
    assert vector != expected_embedding("hello!", 64)
    assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-5)
    assert array("f", vector).tolist() == vector


def test_embeddings_base64_decodes_to_the_float_vector() -> None:
    body = {
        "model": "text-embedding-3-small",
        "input": ["x", "y"],
        "encoding_format": "base64",
        "dimensions": 8,
    }
    result = answer(EMBEDDINGS_ENDPOINT, body, completion_id="", created=0)
    decoded = array("f", base64.b64decode(result.body["data"][1]["embedding"])).tolist()
    assert decoded == expected_embedding("y", 8)
    assert result.body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}


def test_default_dimensions_follow_the_model() -> None:
    small = answer(
        EMBEDDINGS_ENDPOINT, {"model": "text-embedding-3-small", "input": "a"}, completion_id="", created=0
    )
    large = answer(
        EMBEDDINGS_ENDPOINT, {"model": "text-embedding-3-large", "input": "a"}, completion_id="", created=0
    )
    assert len(small.body["data"][0]["embedding"]) == 1536
    assert len(large.body["data"][0]["embedding"]) == 3072


def test_markers() -> None:
    assert markers_of(CHAT_ENDPOINT, chat_body("x [sim:error=400]")).error_status == 400
    coded = markers_of(CHAT_ENDPOINT, chat_body("x [sim:error=400:context_length_exceeded]"))
    assert (coded.error_status, coded.error_code) == (400, "context_length_exceeded")
    assert markers_of(CHAT_ENDPOINT, chat_body("x [sim:slow]")).slow
    assert markers_of(EMBEDDINGS_ENDPOINT, {"input": ["a", "b [sim:error=429]"]}).error_status == 429
    assert markers_of(CHAT_ENDPOINT, chat_body("plain")) == markers_of(CHAT_ENDPOINT, {})


def test_marker_and_bad_bodies_answer_errors() -> None:
    error = answer(CHAT_ENDPOINT, chat_body("x [sim:error=400]"), completion_id="c", created=0)
    assert error.status_code == 400
    assert set(error.body["error"]) == {"message", "type", "param", "code"}
    assert error.body["error"]["type"] == "invalid_request_error"
    assert (
        answer(CHAT_ENDPOINT, chat_body("x [sim:error=500]"), completion_id="c", created=0).status_code == 500
    )
    missing = answer(CHAT_ENDPOINT, {"model": "gpt-4o-mini"}, completion_id="c", created=0)
    assert missing.status_code == 400 and missing.body["error"]["code"] == "missing_required_parameter"
    unknown = answer(
        CHAT_ENDPOINT, chat_body("x", model="nope"), completion_id="c", created=0, model_known=lambda m: False
    )
    assert unknown.status_code == 404 and unknown.body["error"]["code"] == "model_not_found"
    assert outcome(CHAT_ENDPOINT, chat_body("x [sim:error=422]")) == (422, 0, 0)


def test_outcome_tokens_match_the_answer() -> None:
    body = chat_body("count my tokens please", n=2)
    status, prompt, completion = outcome(CHAT_ENDPOINT, body)
    usage = answer(CHAT_ENDPOINT, body, completion_id="c", created=0).body["usage"]
    assert (status, prompt, completion) == (200, usage["prompt_tokens"], usage["completion_tokens"])


def test_token_counts_are_plausible() -> None:
    assert text_tokens("") == 0
    assert text_tokens("hi") == 1
    assert 200 <= text_tokens("word " * 200) <= 300
    assert chat_prompt_tokens([{"role": "user", "content": "hi"}]) == 8


def test_stream_chunks_replay_the_completion() -> None:
    completion = answer(CHAT_ENDPOINT, chat_body("stream me " * 5), completion_id="c", created=1).body
    chunks = completion_chunks(completion, include_usage=True)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == completion["choices"][0]["message"]["content"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == completion["usage"]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == "c" for c in chunks)


def test_embedding_token_arrays_count_their_tokens() -> None:
    for raw, tokens in (([1, 2, 3], 3), ([[1, 2], [3]], 3), (["abcdefgh", "x"], 3)):
        body = {"model": "text-embedding-3-small", "input": raw}
        assert (
            answer(EMBEDDINGS_ENDPOINT, body, completion_id="", created=0).body["usage"]["prompt_tokens"]
            == tokens
        )
        assert outcome(EMBEDDINGS_ENDPOINT, body) == (200, tokens, 0)
