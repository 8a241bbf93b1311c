"""`sdk.Api`: query and manage what the server holds, outside of a run."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sdk.artifact import Artifact, fetch_artifact
from sdk.connection import Connection
from sdk.errors import NotFoundError
from sdk.paths import parse_artifact_path
from sdk.run_info import RunInfo

PAGE = 1000


@dataclass(frozen=True)
class Project:
    name: str
    created_at: datetime


class ArtifactCollection:
    """A project's sequence of versions of one artifact name."""

    def __init__(self, conn: Connection, record: dict[str, Any]) -> None:
        self._conn = conn
        self._record = record

    name = property(lambda self: self._record["name"])
    type = property(lambda self: self._record["type"])
    project = property(lambda self: self._record["project"])
    description = property(lambda self: self._record["description"])
    tags = property(lambda self: list(self._record["tags"]))
    version_count = property(lambda self: self._record["version_count"])

    def versions(self) -> list[Artifact]:
        return _versions(self._conn, self.project, self.name)

    def __repr__(self) -> str:
        return f"<ArtifactCollection {self.project}/{self.name} type={self.type}>"


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
        """`[project/]name[:v<N>|:alias|:digest]`, latest when no selector is given."""
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

    def artifacts(self, type_name: str, name: str) -> list[Artifact]:
        """Every committed version of the collection `[project/]name`, oldest first."""
        parsed = parse_artifact_path(name, self.default_project)
        collection = self.artifact_collection(type_name, f"{parsed.project}/{parsed.collection}")
        return collection.versions()

    def artifact_collection(self, type_name: str, name: str) -> ArtifactCollection:
        parsed = parse_artifact_path(name, self.default_project)
        record = self._conn.client.get(
            f"/projects/{parsed.project}/collections/{parsed.collection}"
        )
        if record["type"] != type_name:
            raise NotFoundError(f"{parsed.project}/{parsed.collection} has type {record['type']!r}")
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

    # ---- runs and projects --------------------------------------------------------------

    def run(self, path: str) -> RunInfo:
        """`project/run_id` (or `run_id` in the default project)."""
        project, _, run_id = path.rpartition("/")
        return RunInfo.fetch(self._conn, project or self.default_project, run_id)

    def runs(self, path: str | None = None) -> list[RunInfo]:
        project = path or self.default_project
        return [
            RunInfo(self._conn, record)
            for record in _paged(self._conn, f"/projects/{project}/runs")
        ]

    def project(self, name: str) -> Project:
        record = self._conn.client.get(f"/projects/{name}")
        return Project(record["name"], datetime.fromisoformat(record["created_at"]))

    def projects(self) -> list[Project]:
        return [
            Project(r["name"], datetime.fromisoformat(r["created_at"]))
            for r in self._conn.client.get("/projects")
        ]


def _versions(conn: Connection, project: str, collection: str) -> list[Artifact]:
    url = f"/projects/{project}/collections/{collection}/versions"
    return [Artifact._from_record(conn, record) for record in _paged(conn, url)]


def _paged(conn: Connection, url: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    while True:
        page = conn.client.get(url, params={"offset": len(records), "limit": PAGE})
        records += page
        if len(page) < PAGE:
            return records
