"""Pure tests of batch input validation: one ``errors.data`` entry per bad line, with the real codes."""

from __future__ import annotations

from batchgpt.simulator.validation import validate_batch_input

from .batch_inputs import CHAT, EMBEDDINGS, chat_line, embedding_line, jsonl

KNOWN = {"gpt-4o-mini", "gpt-4o", "text-embedding-3-small"}


def _validate(data: bytes, endpoint: str = CHAT, max_lines: int = 100):
    return validate_batch_input(data, endpoint=endpoint, model_known=KNOWN.__contains__, max_lines=max_lines)


def _codes(
    data: bytes, endpoint: str = CHAT, max_lines: int = 100
) -> list[tuple[str, int | None, str | None]]:
    return [(e["code"], e["line"], e["param"]) for e in _validate(data, endpoint, max_lines).errors]


def test_valid_file() -> None:
    result = _validate(jsonl([chat_line("a", "x"), chat_line("b", "y")]))
    assert result.errors == []
    assert [line.custom_id for line in result.lines] == ["a", "b"]
    assert result.model == "gpt-4o-mini" and result.line_count == 2


def test_blank_lines_are_ignored_but_line_numbers_are_physical() -> None:
    data = jsonl([chat_line("a", "x"), "", "{not json"])
    assert _codes(data) == [("invalid_json_line", 3, None)]


def test_empty_file() -> None:
    assert _codes(b"") == [("empty_file", None, None)]
    assert _codes(b"\n \n") == [("empty_file", None, None)]


def test_too_many_lines() -> None:
    data = jsonl([chat_line(f"r{i}", "x") for i in range(4)])
    assert _codes(data, max_lines=3) == [("too_many_tasks", None, None)]


def test_every_bad_line_is_reported() -> None:
    lines = [
        chat_line("ok", "fine"),
        "this is not json",
        {"method": "POST", "url": CHAT, "body": {"model": "gpt-4o-mini", "messages": []}},
        {"custom_id": "m", "url": CHAT, "body": {}},
        {"custom_id": "u", "method": "POST", "body": {}},
        {"custom_id": "b", "method": "POST", "url": CHAT},
        {**chat_line("w", "x"), "url": "/v1/embeddings"},
        chat_line("ok", "duplicate"),
        chat_line("s", "x", stream=True),
        chat_line("mm", "x", model="gpt-4o"),
        chat_line("nf", "x", model="no-such-model"),
        {"custom_id": "nm", "method": "POST", "url": CHAT, "body": {"messages": []}},
        {"custom_id": "nmsg", "method": "POST", "url": CHAT, "body": {"model": "gpt-4o-mini"}},
        {"custom_id": "get", "method": "GET", "url": CHAT, "body": {}},
    ]
    assert _codes(jsonl(lines)) == [
        ("invalid_json_line", 2, None),
        ("missing_required_parameter", 3, "custom_id"),
        ("missing_required_parameter", 4, "method"),
        ("missing_required_parameter", 5, "url"),
        ("missing_required_parameter", 6, "body"),
        ("invalid_url", 7, "url"),
        ("duplicate_custom_id", 8, "custom_id"),
        ("streaming_unsupported", 9, "body.stream"),
        ("model_mismatch", 10, "body.model"),
        ("model_not_found", 11, "body.model"),
        ("invalid_request", 12, "body.model"),
        ("invalid_request", 13, "body.messages"),
        ("invalid_request", 14, "method"),
    ]
    result = _validate(jsonl(lines))
    assert result.lines == []
    assert result.errors[0]["message"] == "This line is not parseable as valid JSON."
    assert "ok" in result.custom_ids and result.custom_ids.count("ok") == 2


def test_embeddings_lines() -> None:
    good = jsonl([embedding_line("a", "x"), embedding_line("b", ["y", "z"])])
    assert _validate(good, EMBEDDINGS).errors == []
    missing = jsonl(
        [{"custom_id": "a", "method": "POST", "url": EMBEDDINGS, "body": {"model": "text-embedding-3-small"}}]
    )
    assert _codes(missing, EMBEDDINGS) == [("invalid_request", 1, "body.input")]
    assert _codes(jsonl([chat_line("c", "x")]), EMBEDDINGS) == [("invalid_url", 1, "url")]


def test_bom_makes_the_first_line_invalid() -> None:
    assert _codes(b"\xef\xbb\xbf" + jsonl([chat_line("a", "x")])) == [("invalid_json_line", 1, None)]


def test_an_invalid_marker_fails_validation_at_its_line() -> None:
    lines = [
        chat_line("a", "fine"),
        chat_line("b", "reject me [sim:invalid]"),
        chat_line("c", "fine too"),
        chat_line("d", "with a code [sim:invalid=invalid_value]"),
    ]
    result = _validate(jsonl(lines))
    assert _codes(jsonl(lines)) == [("invalid_request", 2, "body"), ("invalid_value", 4, "body")]
    assert result.lines == []
    assert all(e["message"] for e in result.errors)
    embeddings = jsonl([embedding_line("e", ["ok", "bad [sim:invalid]"])])
    assert _codes(embeddings, EMBEDDINGS) == [("invalid_request", 1, "body")]
