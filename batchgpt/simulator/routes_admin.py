"""``/_sim`` admin routes (no auth): health, stats, faults, reset, live config, clock, batch time controls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError

from batchgpt.simulator.batch_service import drain_cancel, force_expire
from batchgpt.simulator.batch_views import refresh
from batchgpt.simulator.deps import JsonBody, SimDep
from batchgpt.simulator.errors import invalid_request
from batchgpt.simulator.faults import parse_fault
from batchgpt.simulator.stats import stats_report

__all__ = ["router"]

router = APIRouter(prefix="/_sim", tags=["admin"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Readiness probe."""
    return {"status": "ok"}


@router.get("/stats")
async def stats(sim: SimDep, include_custom_ids: bool = True) -> dict[str, object]:
    """Counts of files, batches, lines, models, API calls, retries and custom_id submissions."""
    records = sorted(sim.store.batches.values(), key=lambda b: b.seq)
    report = stats_report(
        calls=sim.calls,
        files=list(sim.store.files.values()),
        batches=[(record, refresh(sim, record)) for record in records],
        include_custom_ids=include_custom_ids,
    )
    report["faults_pending"] = sim.faults.pending()
    report["faults_fired"] = sim.faults.fired
    report["clock"] = {"now": sim.clock.now(), "offset_seconds": sim.clock.offset_seconds}
    return report


@router.get("/faults")
async def list_faults(sim: SimDep) -> dict[str, object]:
    """The armed faults."""
    return {"faults": sim.faults.pending(), "fired": sim.faults.fired}


@router.post("/faults")
async def add_faults(body: JsonBody, sim: SimDep) -> dict[str, object]:
    """Arm one fault (a spec object) or several (``{"faults": [spec, ...]}`` or a list)."""
    raw = body.get("faults") if isinstance(body, dict) and "faults" in body else body
    specs = raw if isinstance(raw, list) else [raw]
    try:
        parsed = [parse_fault(spec) for spec in specs]
    except ValidationError as error:
        first = error.errors()[0]
        param = ".".join(str(part) for part in first["loc"])
        raise invalid_request(f"Invalid fault spec at '{param}': {first['msg']}.", param=param) from error
    for spec in parsed:
        sim.faults.arm(spec)
    return {"faults": sim.faults.pending(), "fired": sim.faults.fired}


@router.delete("/faults")
async def clear_faults(sim: SimDep) -> dict[str, object]:
    """Disarm every fault."""
    sim.faults.clear()
    return {"faults": [], "fired": sim.faults.fired}


@router.post("/reset")
async def reset(sim: SimDep) -> dict[str, str]:
    """Forget files, batches, faults and counts; back to the start-up settings and real time."""
    sim.reset()
    return {"status": "reset"}


@router.get("/config")
async def get_config(sim: SimDep) -> dict[str, Any]:
    """The settings adjustable at run time."""
    return sim.live_config()


@router.post("/config")
async def set_config(body: JsonBody, sim: SimDep) -> dict[str, Any]:
    """Change live settings (durations, limits, models, ...); they apply to batches created afterwards."""
    if not isinstance(body, dict):
        raise invalid_request("Expected a JSON object of settings.")
    return sim.configure(body)


@router.get("/clock")
async def get_clock(sim: SimDep) -> dict[str, float]:
    """The simulated time and its offset from the wall clock."""
    return {"now": sim.clock.now(), "offset_seconds": sim.clock.offset_seconds}


@router.post("/clock/advance")
async def advance_clock(body: JsonBody, sim: SimDep) -> dict[str, float]:
    """Jump the simulated time forward: ``{"seconds": 86400}``."""
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise invalid_request('Expected {"seconds": <non-negative number>}.', param="seconds")
    sim.clock.advance(float(seconds))
    return {"now": sim.clock.now(), "offset_seconds": sim.clock.offset_seconds}


@router.post("/batches/{batch_id}/expire")
async def expire_batch(batch_id: str, sim: SimDep) -> dict[str, object]:
    """Expire a validating/in_progress batch now, with partial results (409 otherwise)."""
    return force_expire(sim=sim, batch_id=batch_id)


@router.post("/batches/{batch_id}/finish-cancel")
@router.post("/batches/{batch_id}/cancel-drain", include_in_schema=False)
async def finish_cancel(batch_id: str, sim: SimDep) -> dict[str, object]:
    """End a ``cancelling`` batch now: it becomes ``cancelled`` (409 otherwise)."""
    return drain_cancel(sim=sim, batch_id=batch_id)
