"""`sdk.Api`: query and manage what the server holds, outside of a run."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from automations.schema import (
    Automation,
    Delivery,
    Integration,
    NewAutomation,
    Scope,
)
from sdk.artifact import Artifact, fetch_artifact
from sdk.artifact_types import WELL_KNOWN_TYPES
from sdk.collection import ArtifactCollection, version_results
from sdk.connection import Connection
from sdk.errors import NotFoundError
from sdk.paths import parse_artifact_path
from sdk.registry import Registry, RegistryResults
from sdk.results import Results
from sdk.run_info import RunInfo


@dataclass(frozen=True)
class Project:
    name: str
    created_at: datetime

    def to_scope(self) -> Scope:
        """Lets a project be an automation's scope."""
        return Scope(type="project", name=self.name)


@dataclass(frozen=True)
class StorageUsage:
    """Bytes a project's versions hold in the blob store; a blob several versions share
    counts once. `reclaimable_bytes` are held only by deleted versions: garbage
    collection frees them once the grace period has passed."""

    project: str
    versions: int
    blobs: int
    bytes: int
    reclaimable_bytes: int


@dataclass(frozen=True)
class ArtifactType:
    name: str
    project: str

    @property
    def well_known(self) -> bool:
        """One of the types other tools agree on (`model`, `dataset`, ...), not a custom one."""
        return self.name in WELL_KNOWN_TYPES


@dataclass(frozen=True)
class Series:
    """One metric of one run: its steps and the values logged at them."""

    steps: list[int]
    values: list[float]


class Api:
    def __init__(
        self, url: str | None = None, api_key: str | None = None, project: str | None = None
    ) -> None:
        self._conn = Connection.create(url=url, api_key=api_key, project=project)

    @property
    def default_project(self) -> str:
        return self._conn.settings.project

    # ---- artifacts --------------------------------------------------------------------

    def artifact(self, name: str, type: str | None = None) -> Artifact:
        """`[project/]name[:selector]` or `@registry/name[:selector]` (selector: v<N>,
        an alias or a digest); latest when no selector is given."""
        artifact = fetch_artifact(self._conn, name)
        if type is not None and artifact.type != type:
            raise NotFoundError(
                f"{artifact.qualified_name} has type {artifact.type!r}, not {type!r}"
            )
        return artifact

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        try:
            self.artifact(name, type)
        except NotFoundError:
            return False
        return True

    def artifacts(
        self,
        type_name: str,
        name: str,
        filters: dict[str, Any] | None = None,
        order: str = "asc",
    ) -> Results[Artifact]:
        """Committed versions of the collection `[project/]name` or `@registry/name`,
        oldest first (`order="desc"`: newest first), matching `filters` (a lazy iterable)."""
        collection = self.artifact_collection(type_name, name)
        scope = (
            {"registry": collection.registry}
            if collection.registry
            else {"project": collection.project}
        )
        body = {**scope, "collection": collection.name, "filter": filters, "order": order}
        return version_results(self._conn, body)

    def artifact_collection(self, type_name: str, name: str) -> ArtifactCollection:
        parsed = parse_artifact_path(name, self.default_project)
        record = self._conn.client.get(parsed.collection_url)
        if record["type"] != type_name:
            raise NotFoundError(f"{parsed.owner}/{parsed.collection} has type {record['type']!r}")
        return ArtifactCollection(self._conn, record)

    def artifact_collections(
        self, project_name: str | None = None, type_name: str | None = None
    ) -> list[ArtifactCollection]:
        params = {"type": type_name} if type_name else None
        records = self._conn.client.get(
            f"/projects/{project_name or self.default_project}/collections", params=params
        )
        return [ArtifactCollection(self._conn, record) for record in records]

    def artifact_types(self, project: str | None = None) -> list[ArtifactType]:
        """The types of the project's collections, well-known and custom, by name."""
        project = project or self.default_project
        names = self._conn.client.get(f"/projects/{project}/types")
        return [ArtifactType(name=name, project=project) for name in names]

    # ---- registries -------------------------------------------------------------------

    def create_registry(
        self,
        name: str,
        description: str = "",
        allowed_types: list[str] | None = None,
        visibility: str = "organization",
        protected_aliases: list[str] | None = None,
    ) -> Registry:
        """A registry accepting `allowed_types` (any type when empty)."""
        body = {
            "name": name,
            "description": description,
            "allowed_types": list(allowed_types or []),
            "visibility": visibility,
            "protected_aliases": list(protected_aliases or []),
        }
        return Registry(self._conn, self._conn.client.post("/registries", json=body))

    def registry(self, name: str) -> Registry:
        return Registry(self._conn, self._conn.client.get(f"/registries/{name.lstrip('@')}"))

    def registries(self, filter: dict[str, Any] | None = None) -> RegistryResults:
        """Registries matching `filter`; chain `.collections(f).versions(f)` to narrow."""
        return RegistryResults(self._conn, filter)

    # ---- runs and projects --------------------------------------------------------------

    def run(self, path: str) -> RunInfo:
        """`project/run_id` (or `run_id` in the default project)."""
        project, _, run_id = path.rpartition("/")
        return RunInfo.fetch(self._conn, project or self.default_project, run_id)

    def runs(
        self,
        path: str | None = None,
        filters: dict[str, Any] | None = None,
        order: str = "asc",
        sort: str = "created_at",
    ) -> Results[RunInfo]:
        """Runs of the project `path`, oldest first, matching `filters` (a lazy iterable)."""
        body = {
            "project": path or self.default_project,
            "filter": filters,
            "sort": sort,
            "order": order,
        }
        return Results(self._conn, "runs", body, lambda record: RunInfo(self._conn, record))

    def compare_runs(self, run_ids: list[str], keys: list[str]) -> dict[str, dict[str, Series]]:
        """Side by side: for each run (`project/run_id` or `run_id` in the default
        project), each key's series; a key the run never logged is an empty series."""
        compared = {}
        for run_id in run_ids:
            series: dict[str, Series] = {key: Series([], []) for key in keys}
            for point in self.run(run_id).history(keys=keys):
                series[point["key"]].steps.append(point["step"])
                series[point["key"]].values.append(point["value"])
            compared[run_id] = series
        return compared

    def storage_usage(self, project: str | None = None) -> StorageUsage:
        """What the project (default: this Api's) stores."""
        name = project or self.default_project
        return StorageUsage(**self._conn.client.get(f"/projects/{name}/usage"))

    def project(self, name: str) -> Project:
        record = self._conn.client.get(f"/projects/{name}")
        return Project(record["name"], datetime.fromisoformat(record["created_at"]))

    def projects(self) -> list[Project]:
        return [
            Project(r["name"], datetime.fromisoformat(r["created_at"]))
            for r in self._conn.client.get("/projects")
        ]

    # ---- automations ------------------------------------------------------------------

    def create_webhook_integration(
        self, name: str, url: str, secret: str | None = None, access_token: str | None = None
    ) -> Integration:
        """A webhook target; `secret` (`whsec_...`) signs deliveries per Standard Webhooks,
        `access_token` is sent as `Authorization: Bearer`. Neither is ever returned."""
        body = {
            "kind": "webhook",
            "name": name,
            "url": url,
            "secret": secret,
            "access_token": access_token,
        }
        return Integration.model_validate(self._conn.client.post("/integrations", json=body))

    def create_slack_integration(
        self, name: str, webhook_url: str, channel: str | None = None
    ) -> Integration:
        """A Slack incoming webhook (its URL is kept secret, like a token)."""
        body = {"kind": "slack", "name": name, "webhook_url": webhook_url, "channel": channel}
        return Integration.model_validate(self._conn.client.post("/integrations", json=body))

    def integrations(self) -> list[Integration]:
        return [Integration.model_validate(r) for r in self._conn.client.get("/integrations")]

    def create_automation(
        self,
        automation: NewAutomation,
        *,
        name: str | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> Automation:
        """Save `event >> action`; `name` is required here or on the object."""
        changes = {"name": name, "description": description, "enabled": enabled}
        new = automation.model_copy(update={k: v for k, v in changes.items() if v is not None})
        body = new.model_dump(mode="json")
        return Automation.model_validate(self._conn.client.post("/automations", json=body))

    def automation(self, name: str) -> Automation:
        return Automation.model_validate(self._conn.client.get(f"/automations/{name}"))

    def automations(self) -> list[Automation]:
        return [Automation.model_validate(r) for r in self._conn.client.get("/automations")]

    def update_automation(
        self,
        automation: Automation | str,
        *,
        name: str | None = None,
        description: str | None = None,
        enabled: bool | None = None,
    ) -> Automation:
        """Save the changed fields: pass an `Automation` you edited (its event, action,
        description and enabled flag are sent), and/or the fields to change."""
        if isinstance(automation, str):
            current, body = automation, {}
        else:
            current = self._automation_name(automation)
            body = automation.model_dump(
                mode="json", include={"event", "action", "description", "enabled"}
            )
        changes = {"name": name, "description": description, "enabled": enabled}
        body.update({key: value for key, value in changes.items() if value is not None})
        record = self._conn.client.patch(f"/automations/{current}", json=body)
        return Automation.model_validate(record)

    def delete_automation(self, automation: Automation | str) -> None:
        name = automation if isinstance(automation, str) else self._automation_name(automation)
        self._conn.client.delete(f"/automations/{name}")

    def _automation_name(self, automation: Automation) -> str:
        """The stored name of an automation object (found by id, in case it was edited)."""
        for saved in self.automations():
            if saved.id == automation.id:
                return saved.name
        raise NotFoundError(f"automation {automation.name!r} (id {automation.id}) does not exist")

    def deliveries(
        self,
        automation: Automation | str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """The newest deliveries (of one automation), each with its attempts."""
        params: dict[str, Any] = {"limit": limit}
        if automation is not None:
            params["automation"] = getattr(automation, "name", automation)
        if status is not None:
            params["status"] = status
        records = self._conn.client.get("/deliveries", params=params)
        return [Delivery.model_validate(record) for record in records]

    def redeliver(self, delivery: Delivery | str) -> Delivery:
        """Send a finished (delivered, failed or dead) delivery again, same webhook-id."""
        delivery_id = getattr(delivery, "id", delivery)
        record = self._conn.client.post(f"/deliveries/{delivery_id}/redeliver")
        return Delivery.model_validate(record)


def compare_runs(run_ids: list[str], keys: list[str]) -> dict[str, dict[str, Series]]:
    """`Api().compare_runs(run_ids, keys)`, configured from the environment."""
    return Api().compare_runs(run_ids, keys)
