"""The running service against its own OpenAPI document, with schemathesis.

Every operation gets generated requests, valid ones and ones that break the schema;
stateful scenarios then chain operations along the links schemathesis infers from the
document (a created run's id into its metrics, lineage and updates, a listed
automation's name into its routes, ...). Every response must be no 5xx, a declared
status code and media type, and match its declared schema; a request that breaks the
schema must be refused. A service of its own holds a little real data whose names
most generated requests use, so they reach past "not found".

Generation is derandomized: CI runs the same requests every time.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from automations import ArtifactEvent, DoNothing, OnAddArtifactAlias
from sdk import Api
from tests.api.helpers import commit
from tests.conftest import Server, start_server, stop_server

# The one place to give the tests a key once the service requires API keys
# (STRATA_AUTH=on); the service runs on loopback with auth off, its default there.
API_KEY: str | None = None
AUTH_HEADERS = {"Authorization": f"Bearer {API_KEY}"} if API_KEY else {}

MIN_CASES = 2000
# Per operation: valid requests, and requests that break the schema.
POSITIVE_EXAMPLES = 28
NEGATIVE_EXAMPLES = 8
SCENARIOS = 60
STEPS_PER_SCENARIO = 6

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

PROJECT = "fuzzed"
SETTINGS = hypothesis.settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)


@dataclass
class Known:
    """Names of real objects, by path parameter."""

    names: dict[str, list[str]] = field(default_factory=dict)

    def use(self, case: Any, choice: int) -> Any:
        """The case with its path parameters set to real names (`choice` 0: as generated)."""
        if choice and case.path_parameters:
            for name in case.path_parameters:
                values = self.names.get(name)
                if values:
                    case.path_parameters[name] = values[choice % len(values)]
        return case


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Known]]:
    home = tmp_path_factory.mktemp("openapi") / "home"
    srv = start_server(home, {"STRATA_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"})
    try:
        yield srv, seed(srv)
    finally:
        stop_server(srv)


def seed(srv: Server) -> Known:
    with srv.api(headers=AUTH_HEADERS) as api:
        first = commit(api, PROJECT, "data", {"a.txt": b"alpha"}, aliases=["best"])
        commit(api, PROJECT, "data", {"a.txt": b"alpha", "b/c.txt": b"gamma"}, tags=["t"])
        run = api.post(f"/projects/{PROJECT}/runs", json={"name": "train"}).json()["run"]
        used = {"project": PROJECT, "collection": "data", "version": "v0"}
        assert api.post(f"/projects/{PROJECT}/runs/{run['id']}/inputs", json=used).is_success
        assert api.post("/registries", json={"name": "models"}).is_success
        link = {"project": PROJECT, "collection": "data", "version": "v1", "aliases": ["staging"]}
        assert api.post("/registries/models/collections/data/links", json=link).is_success
    sdk_api = Api(url=srv.url, api_key=API_KEY)
    sdk_api.create_webhook_integration("hook", url="http://127.0.0.1:9/")
    sdk_api.create_automation(
        OnAddArtifactAlias(scope=sdk_api.project(PROJECT), filter=ArtifactEvent.alias.eq("x"))
        >> DoNothing(),
        name="watch",
    )
    return Known(
        {
            "project": [PROJECT],
            "collection": ["data"],
            "registry": ["models"],
            "selector": ["v0", "v1", "latest", "best", "staging", first["version"]["digest"]],
            "alias": ["best", "staging", "new-alias"],
            "run_id": [run["id"]],
            "digest": [first["version"]["manifest_digest"]],
            "name": ["watch", "hook"],
        }
    )


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    """One keep-alive session for every generated request."""
    with requests.Session() as session:
        session.headers.update(AUTH_HEADERS)
        yield session


@pytest.fixture(scope="module")
def schema(service: tuple[Server, Known]) -> Any:
    srv, _ = service
    return schemathesis.openapi.from_url(f"{srv.url}/openapi.json", headers=AUTH_HEADERS)


@dataclass
class Findings:
    cases: int = 0
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def record(self, label: str, error: BaseException) -> None:
        """The first failure of each kind per operation, with how to reproduce it."""
        for failure in getattr(error, "exceptions", [error]):
            title = getattr(failure, "title", type(failure).__name__)
            self.failures.setdefault((label, title), str(failure)[:3000])

    def report(self) -> str:
        return "\n\n".join(f"{label}: {text}" for (label, _), text in self.failures.items())


def destructive_last(operation: Any) -> tuple[bool, str]:
    return operation.method.upper() == "DELETE", operation.label


def test_every_operation_answers_within_its_schema(service, schema, http):
    srv, known = service
    findings = Findings()
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()), key=destructive_last
    )
    assert len(operations) > 60
    for operation in operations:
        for mode, examples in (
            (GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ):
            fuzz(srv, http, known, operation, mode, examples, findings)
    assert not findings.failures, findings.report()
    assert findings.cases >= MIN_CASES, findings.cases


def fuzz(
    srv: Server,
    http: requests.Session,
    known: Known,
    operation: Any,
    mode: Any,
    examples: int,
    findings: Findings,
) -> None:
    generated = operation.as_strategy(generation_mode=mode)

    @hypothesis.settings(SETTINGS, max_examples=examples)
    @hypothesis.given(pair=st.tuples(generated, st.integers(0, 6)))
    def send(pair: tuple[Any, int]) -> None:
        case = known.use(*pair)
        findings.cases += 1
        response = case.call(base_url=srv.url, session=http)
        try:
            case.validate_response(response, checks=CHECKS, headers=AUTH_HEADERS)
        except (AssertionError, BaseExceptionGroup) as error:
            findings.record(operation.label, error)

    try:
        send()
    except hypothesis.errors.Unsatisfiable:
        # Nothing breaks this operation's schema (say, a lone string path parameter).
        assert mode == GenerationMode.NEGATIVE, operation.label


def test_stateful_scenarios_follow_the_links(service, schema, http):
    srv, _ = service
    findings = Findings()

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": srv.url, "session": http}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            findings.cases += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=AUTH_HEADERS)
            except (AssertionError, BaseExceptionGroup) as error:
                findings.record(case.operation.label, error)

    settings = hypothesis.settings(
        SETTINGS,
        derandomize=False,  # seeded per round instead
        max_examples=SCENARIOS,
        stateful_step_count=STEPS_PER_SCENARIO,
    )
    for round in range(1, 6):
        try:
            hypothesis.seed(round)(Scenarios).run(settings=settings)
        except hypothesis.errors.Flaky:
            # The service's state moved on since Hypothesis first drew a scenario, so
            # replaying it drew differently (schemathesis' own runner retries alike).
            pass
        if findings.cases >= SCENARIOS * STEPS_PER_SCENARIO:
            break
    assert not findings.failures, findings.report()
    assert findings.cases >= SCENARIOS * STEPS_PER_SCENARIO, findings.cases


def test_a_method_a_path_does_not_serve_is_405_naming_those_it_does(service, http):
    """Starlette's `Allow` names the methods of the first route matching a path; paths
    whose methods come from several routers must still name them all (and a fixed path,
    `/blobs/batch`, only its own, not those of `/blobs/{digest}`)."""
    srv, _ = service
    paths = http.get(f"{srv.url}/openapi.json").json()["paths"]
    for template, operations in paths.items():
        path = re.sub(r"\{[^/]+?\}", "x", template)
        response = http.request("TRACE", f"{srv.url}{path}")
        assert response.status_code == 405, (template, response.text)
        allowed = {method.upper() for method in operations}
        assert set(response.headers["allow"].split(", ")) == allowed, template
