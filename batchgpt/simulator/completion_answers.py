"""Legacy completions (``/v1/completions``): one choice per prompt and ``n``, its text derived from the
prompt (``expected_completion_text``), cut at ``max_tokens`` (16 unless given, as OpenAI defaults), with
the legacy ``logprobs`` shape when ``logprobs: N`` is asked."""

from __future__ import annotations

from batchgpt.simulator.answer_value import Answer
from batchgpt.simulator.chat_answers import choice_count
from batchgpt.simulator.generation import answer_text, fingerprint, int_field, truncated
from batchgpt.simulator.logprobs import legacy_logprobs
from batchgpt.simulator.request_text import prompt_texts
from batchgpt.simulator.tokens import input_tokens, text_tokens, usage_counts

__all__ = ["DEFAULT_MAX_TOKENS", "expected_completion_text", "text_completion"]

DEFAULT_MAX_TOKENS = 16


def _text(body: dict[str, object], prompt: str, choice_index: int) -> tuple[str, str]:
    text, cut = truncated(answer_text(prompt, choice_index), int_field(body, "max_tokens") or DEFAULT_MAX_TOKENS)
    return text, "length" if cut else "stop"


def expected_completion_text(body: dict[str, object], prompt_index: int = 0, choice_index: int = 0) -> str:
    """The ``text`` of the choice for prompt ``prompt_index`` and sample ``choice_index``."""
    return _text(body, prompt_texts(body)[prompt_index], choice_index)[0]


def text_completion(body: dict[str, object], *, completion_id: str, created: int) -> Answer:
    """A 200 ``text_completion`` for a checked completions request body."""
    n = choice_count(body)
    raw_top = body.get("logprobs")
    top = raw_top if isinstance(raw_top, int) and not isinstance(raw_top, bool) else None
    choices = []
    output_tokens = 0
    for prompt_index, prompt in enumerate(prompt_texts(body)):
        for sample in range(n):
            text, finish_reason = _text(body, prompt, sample)
            output_tokens += text_tokens(text)
            choices.append(
                {
                    "text": text,
                    "index": prompt_index * n + sample,
                    "logprobs": None if top is None else legacy_logprobs(text, top),
                    "finish_reason": finish_reason,
                }
            )
    model = str(body["model"])
    prompt_tokens = input_tokens(body.get("prompt"))
    completion = {
        "id": completion_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage_counts(prompt_tokens, output_tokens),
        "system_fingerprint": fingerprint(model),
    }
    return Answer(200, completion, input_tokens=prompt_tokens, output_tokens=output_tokens)
