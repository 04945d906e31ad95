"""schemathesis against a real ingress's ``/openapi.json``: every operation, every default check.

The document must tell the truth: each route accepts what its schema allows and refuses what it does
not (400), answers only the statuses, content types and headers it documents, and answers methods it
does not declare with 405. schemathesis's engine (what its command line runs) goes through its phases
(the document's examples, the coverage of each schema's edges and of undeclared methods, fuzzing)
with its default checks; the test fails on any failed check or error, and lists them.

Two statuses are the routes' answers about the data rather than a refusal of its shape, so they are
expected there besides schemathesis's defaults (on the fetches, and in the stateful phase, which follows
each POST to its fetch): a fetch (``GET /v1/<endpoint>/{request_id}``) answers
a request that failed upstream with the upstream's status (a 400 among them: the request was
schema-valid here and the upstream refused it), and ``GET /v1/batches?after=`` answers 400 for a
cursor that names none of the caller's batches, as OpenAI does.

Bounded and repeatable: one pass of each phase (no time budget, which would make schemathesis repeat
fuzzing until it ran out), a fixed number of examples per operation, a fixed seed with deterministic
generation (CI sees the same cases every run) and a timeout per request, on the SQLite
stack only (the document does not depend on the database; the routes behind it are tested on both
elsewhere). The POST routes are sent ``Prefer: respond-async``, so a call is answered at once (its
result if the stand-in already answered it, else 202 with ``Location``) instead of being held for its
batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, StopReason, events

from batchgpt.simulator.testing import RunningSimulator
from tests.ingress.conftest import ALICE
from tests.ingress.servers import ThreadedIngress
from tests.simulator.conftest import shared_sim, sim  # noqa: F401  (the simulator serves GET /v1/models)

pytestmark = pytest.mark.parametrize("stack", ["sqlite"], indirect=True)

_CONFIG = f"""
seed = 16
headers = {{ Authorization = "Bearer {ALICE}", Prefer = "respond-async" }}
request-timeout = 10
[generation]
max-examples = 50
deterministic = true
[phases.stateful.inference]
algorithms = []  # the document's links name where a request's result is fetched; guesses from a 200's `id` fail
# the stateful phase follows each POST to its fetch, whose answer is the upstream's verdict on the data (the
# simulator, as OpenAI, refuses a schema-valid prompt of objects with 400): the same allowance as the fetches'
[phases.stateful.checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

[[operations]]
include-path-regex = "^/v1/(batches|[a-z/]+/[{{]request_id[}}])$"
include-method = ["GET"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
"""


_MUST_RUN = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
    "unsupported_method",
}


def _run(base_url: str) -> tuple[list[str], int, set[str]]:
    """The failures schemathesis reports against ``base_url`` (empty when none), the cases run, the checks run."""
    config = SchemathesisConfig.from_str(_CONFIG)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=config)
    problems: list[str] = []
    cases = 0
    ran: set[str] = set()
    started = time.monotonic()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, checks in event.recorder.checks.items():
                cases += 1
                for check in checks:
                    ran.add(check.name)
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        info = check.failure_info
                        interaction = event.recorder.interactions.get(case_id)
                        status = interaction.response.status_code if interaction and interaction.response else None
                        failure = f"{event.label} [{check.name}] {status} {info.failure.title}: {info.failure.message}"
                        problems.append(f"{failure}\n    {info.code_sample}")
                    elif check.status == Status.ERROR:
                        problems.append(f"{event.label} [{check.name}] error in case {case_id}")
        elif isinstance(event, events.NonFatalError):
            problems.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            problems.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.PhaseFinished):
            print(f"phase {event.phase.name} {event.status} at {time.monotonic() - started:.0f} s")
        elif isinstance(event, events.EngineFinished):
            if event.stop_reason is not StopReason.COMPLETED:
                problems.append(f"schemathesis stopped early: {event.stop_reason}")
            break
    return sorted(set(problems)), cases, ran


def test_the_document_tells_the_truth(
    sim: RunningSimulator,  # noqa: F811
    start_ingress: Callable[..., ThreadedIngress],
) -> None:
    ingress = start_ingress(openai_api_key="sk-upstream", openai_base_url=sim.base_url)
    problems, cases, ran = _run(ingress.base_url)
    assert cases > 100, f"schemathesis ran only {cases} cases"
    assert _MUST_RUN <= ran, f"checks that never ran: {_MUST_RUN - ran}"
    if problems:
        pytest.fail(f"{len(problems)} failed checks:\n" + "\n".join(problems), pytrace=False)
