"""The dashboard's JSON answers (``GET /v1/dashboard/...``), as documented in the OpenAPI document.

Money is USD, estimated from the price table (``batchgpt.pricing``): ``synchronous_usd`` is what the tokens
would have cost on the synchronous API, ``cost_usd`` what they cost as answered (batch price; full price for
a request a deadline answered synchronously), ``saving_usd`` the difference. A figure is ``null`` when the
model has no price.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "AnswerView",
    "BatchDetail",
    "BatchPage",
    "BatchView",
    "ErrorCount",
    "Money",
    "Summary",
    "Totals",
    "UpstreamIds",
    "UsageTotal",
    "WindowTotals",
]


class Money(BaseModel):
    """Tokens and what they cost."""

    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    synchronous_usd: float | None = Field(description="The same tokens at synchronous prices.")
    cost_usd: float | None = Field(description="What the tokens cost as answered.")
    saving_usd: float | None = Field(description="synchronous_usd - cost_usd.")


class BatchView(Money):
    """One batch: where it is, how far along, and its money."""

    id: str
    provider: str
    endpoint: str
    model: str
    status: str = Field(description="OpenAI's batch status (validating while not yet upstream).")
    total: int = Field(ge=0, description="Requests in the batch.")
    completed: int = Field(ge=0)
    failed: int = Field(ge=0)
    created_at: int
    age_seconds: float = Field(ge=0)
    eta_seconds: float | None = Field(
        description="Time left at the pace so far (null before the first answer and once finished)."
    )
    upstream_batch_id: str | None


class BatchPage(BaseModel):
    """A page of batches, newest first."""

    object: str = "list"
    data: list[BatchView]
    first_id: str | None
    last_id: str | None
    has_more: bool


class UpstreamIds(BaseModel):
    """The provider's ids of a batch and its files."""

    batch_id: str | None
    input_file_id: str | None
    output_file_id: str | None
    error_file_id: str | None


class AnswerView(BaseModel):
    """One answered request of a batch."""

    request_id: str
    status: str
    status_code: int
    error_code: str | None
    error_message: str | None
    upstream_request_id: str | None
    input_tokens: int | None
    output_tokens: int | None


class BatchDetail(BaseModel):
    """One batch with its errors, its upstream ids and its answers (failed first, at most 200)."""

    batch: BatchView
    upstream: UpstreamIds
    errors: list[dict[str, object]] = Field(description="The batch's own errors (OpenAI's errors.data entries).")
    answers: list[AnswerView]


class ErrorCount(BaseModel):
    """Failed requests with one error code."""

    code: str
    count: int = Field(ge=1)


class UsageTotal(Money):
    """Requests of one model or one tenant, summed."""

    key: str = Field(description="The model, or the tenant id (t_ + a hash of the API key; never the key).")
    requests: int = Field(ge=0)
    failed: int = Field(ge=0)


class WindowTotals(BaseModel):
    """Totals over one time window, per model and per tenant."""

    by_model: list[UsageTotal]
    by_tenant: list[UsageTotal]
    overall: UsageTotal


class Totals(BaseModel):
    """Totals over the last hour, the last day and all the results still stored."""

    hour: WindowTotals
    day: WindowTotals
    all_time: WindowTotals


class Summary(BaseModel):
    """The caller's requests by state, errors by code, and totals."""

    object: str = "dashboard.summary"
    scope: str = Field(description="tenant (the caller's own) or all (an administrator key).")
    tenant: str | None = Field(description="The caller's tenant id (null for an administrator).")
    generated_at: float
    requests_by_state: dict[str, int]
    errors_by_code: list[ErrorCount]
    totals: Totals
