"""Fixtures for the automations acceptance tests: the real service with webhook targets on
127.0.0.1 allowlisted and a short retry schedule, and small REST helpers around it.

Every test names its registries, projects, integrations and automations uniquely, so
one service serves the whole folder; tests that restart or reconfigure the service
start one of their own with `start_strata`.
"""

import base64
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from automations.filters import ArtifactEvent
from automations.schema import OnAddArtifactAlias, Scope, SendWebhook
from tests.api.helpers import commit
from tests.automations.receiver import make_receiver, receiver  # noqa: F401 (fixtures)
from tests.conftest import Server, start_server, stop_server

RETRY_SCHEDULE = (0.0, 0.3, 0.3)
BASE_ENV = {
    "STRATA_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "STRATA_DELIVERY_RETRY_SCHEDULE": ",".join(str(s) for s in RETRY_SCHEDULE),
    "STRATA_DELIVERY_POLL_SECONDS": "0.2",
    "STRATA_DELIVERY_TIMEOUT_SECONDS": "2",
    "STRATA_SECRET_KEY": "automation-tests-secret-key-0123456789",
}
CHAIN_HEADER = "strata-automation-chain"
FINAL = ("delivered", "failed", "dead")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_secret(size: int = 32) -> str:
    """A Standard Webhooks signing secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(size)).decode()


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Strata:
    """A running service and the REST calls the tests make on it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = server.api()

    @property
    def url(self) -> str:
        return self.server.url

    def close(self) -> None:
        self.http.close()

    # ---- integrations and automations -------------------------------------------------

    def webhook(
        self,
        url: str,
        *,
        secret: str | None = None,
        access_token: str | None = None,
        name: str | None = None,
    ) -> str:
        body: dict[str, Any] = {"kind": "webhook", "name": name or unique("hook"), "url": url}
        if secret is not None:
            body["secret"] = secret
        if access_token is not None:
            body["access_token"] = access_token
        response = self.http.post("/integrations", json=body)
        assert response.status_code == 201, response.text
        return body["name"]

    def slack(self, webhook_url: str, *, channel: str | None = None) -> str:
        body = {"kind": "slack", "name": unique("slack"), "webhook_url": webhook_url}
        if channel is not None:
            body["channel"] = channel
        response = self.http.post("/integrations", json=body)
        assert response.status_code == 201, response.text
        return body["name"]

    def automation(self, spec: Any, *, name: str | None = None) -> str:
        """Save `spec` (a NewAutomation or its JSON) under a unique name; returns the name."""
        body = spec if isinstance(spec, dict) else spec.model_dump(mode="json")
        body = {**body, "name": name or unique("auto")}
        response = self.http.post("/automations", json=body)
        assert response.status_code == 201, response.text
        return body["name"]

    def on_alias(
        self,
        registry: str,
        integration: str,
        *,
        alias: str = "production",
        payload: dict[str, Any] | None = None,
    ) -> str:
        """An automation sending a webhook when `alias` is added in `registry`."""
        trigger = OnAddArtifactAlias(
            scope=Scope(type="registry", name=registry), filter=ArtifactEvent.alias.eq(alias)
        )
        return self.automation(trigger >> SendWebhook(integration=integration, payload=payload))

    def set_enabled(self, name: str, enabled: bool) -> None:
        response = self.http.patch(f"/automations/{name}", json={"enabled": enabled})
        assert response.status_code == 200, response.text
        assert response.json()["enabled"] is enabled

    # ---- deliveries -------------------------------------------------------------------

    def deliveries(self, automation: str, status: str | None = None) -> list[dict[str, Any]]:
        params = {"automation": automation, **({"status": status} if status else {})}
        response = self.http.get("/deliveries", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def delivery(self, delivery_id: str) -> dict[str, Any]:
        response = self.http.get(f"/deliveries/{delivery_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_deliveries(
        self,
        automation: str,
        until: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 5.0,
    ) -> list[dict[str, Any]]:
        """Poll the delivery log of `automation` until `until(deliveries)` holds."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.deliveries(automation)
            if until(rows):
                return rows
            if time.monotonic() > deadline:
                raise AssertionError(f"delivery log of {automation} did not settle: {rows}")
            time.sleep(0.05)

    def wait_status(
        self, automation: str, status: str, n: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until `automation` has `n` deliveries, all in `status`."""
        return self.wait_deliveries(
            automation,
            lambda rows: len(rows) == n and all(r["status"] == status for r in rows),
            timeout,
        )

    # ---- registry content -------------------------------------------------------------

    def registry(self, allowed_types: list[str] | None = None) -> str:
        name = unique("models")
        body = {"name": name, "allowed_types": allowed_types or ["model"]}
        response = self.http.post("/registries", json=body)
        assert response.status_code == 201, response.text
        return name

    def commit_model(
        self, project: str, collection: str, content: str, **fields: Any
    ) -> dict[str, Any]:
        """Commit a one-file model version to `project/collection`."""
        files = {"model.pt": content.encode()}
        return commit(self.http, project, collection, files, type="model", **fields)["version"]

    def link(
        self,
        registry: str,
        portfolio: str,
        project: str,
        collection: str,
        version: str,
        aliases: list[str] | None = None,
    ) -> dict[str, Any]:
        body = {
            "project": project,
            "collection": collection,
            "version": version,
            "aliases": aliases or [],
        }
        response = self.http.post(
            f"/registries/{registry}/collections/{portfolio}/links", json=body
        )
        assert response.status_code == 201, response.text
        return response.json()["version"]

    def set_alias(
        self,
        registry: str,
        portfolio: str,
        alias: str,
        version: str,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return self.http.put(
            f"/registries/{registry}/collections/{portfolio}/aliases/{alias}",
            json={"version": version},
            headers=headers,
        )

    def move_alias(self, registry: str, portfolio: str, alias: str, version: str) -> None:
        response = self.set_alias(registry, portfolio, alias, version)
        assert response.status_code == 200, response.text

    def models(self, project: str, registry: str, n: int = 2, portfolio: str = "x") -> None:
        """`n` versions of `project/x`, each linked into `@registry/<portfolio>` (v0..)."""
        for i in range(n):
            self.commit_model(project, "x", f"weights {i} {uuid.uuid4().hex}")
            self.link(registry, portfolio, project, "x", f"v{i}")

    # ---- runs -------------------------------------------------------------------------

    def start_run(self, project: str, name: str = "") -> str:
        response = self.http.post(f"/projects/{project}/runs", json={"name": name or unique("run")})
        assert response.status_code == 201, response.text
        return response.json()["run"]["id"]

    def log(
        self,
        project: str,
        run_id: str,
        key: str,
        values: list[float],
        *,
        first_step: int = 0,
        batch: bool = False,
    ) -> int:
        """Log `values` of `key` one request per point (or all in one); returns the next step."""
        points = [
            {"key": key, "step": first_step + i, "value": v, "timestamp": now_iso()}
            for i, v in enumerate(values)
        ]
        for chunk in [points] if batch else [[p] for p in points]:
            response = self.http.post(
                f"/projects/{project}/runs/{run_id}/metrics", json={"points": chunk}
            )
            assert response.status_code == 204, response.text
        return first_step + len(values)


def start_strata(home: Path, env: dict[str, str] | None = None) -> Strata:
    return Strata(start_server(home, {**BASE_ENV, **(env or {})}))


def stop_strata(strata: Strata) -> None:
    strata.close()
    stop_server(strata.server)


@pytest.fixture(autouse=True)
def client_env() -> None:
    """Overrides the suite's autouse fixture: these tests speak REST to services of their
    own, so the SDK's session service is neither needed nor started."""


@pytest.fixture(scope="session")
def strata(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Strata]:
    """One allowlisting service for the folder; tests isolate themselves by name."""
    service = start_strata(tmp_path_factory.mktemp("automations") / "home")
    yield service
    stop_strata(service)


@pytest.fixture
def project() -> str:
    return unique("p")
