"""`sdk.Api`: query and manage what the server holds, outside of a run."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sdk.artifact import Artifact, fetch_artifact
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


@dataclass(frozen=True)
class ArtifactType:
    name: str
    project: str


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

    def project(self, name: str) -> Project:
        record = self._conn.client.get(f"/projects/{name}")
        return Project(record["name"], datetime.fromisoformat(record["created_at"]))

    def projects(self) -> list[Project]:
        return [
            Project(r["name"], datetime.fromisoformat(r["created_at"]))
            for r in self._conn.client.get("/projects")
        ]
