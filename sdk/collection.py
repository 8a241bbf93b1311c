"""`ArtifactCollection`: a sequence of versions in a project, or a registry's portfolio."""

from typing import Any

from automations.schema import Scope
from sdk.artifact import Artifact
from sdk.connection import Connection
from sdk.results import Results


class ArtifactCollection:
    def __init__(self, conn: Connection, record: dict[str, Any]) -> None:
        self._conn = conn
        self._record = record

    name = property(lambda self: self._record["name"])
    type = property(lambda self: self._record["type"])
    project = property(lambda self: self._record["project"])
    registry = property(lambda self: self._record.get("registry"))
    description = property(lambda self: self._record["description"])
    tags = property(lambda self: list(self._record["tags"]))
    version_count = property(lambda self: self._record["version_count"])

    @property
    def path(self) -> str:
        owner = f"@{self.registry}" if self.registry else self.project
        return f"{owner}/{self.name}"

    def to_scope(self) -> Scope:
        """Lets a collection be an automation's scope."""
        if self.registry:
            return Scope(type="collection", name=self.name, registry=self.registry)
        return Scope(type="collection", name=self.name, project=self.project)

    def versions(self, filter: dict[str, Any] | None = None) -> Results[Artifact]:
        """The committed versions, oldest first, optionally filtered (a lazy iterable)."""
        scope = {"registry": self.registry} if self.registry else {"project": self.project}
        body = {**scope, "collection": self.name, "filter": filter}
        return version_results(self._conn, body)

    def alias_history(self, alias: str | None = None) -> list[dict[str, Any]]:
        """Who set, moved or removed which alias, newest first: `{"alias", "from_version",
        "to_version", "actor", "created_at", ...}` each (`latest` is not recorded)."""
        owner = f"registries/{self.registry}" if self.registry else f"projects/{self.project}"
        return alias_history(self._conn, f"/{owner}/collections/{self.name}/alias-history", alias)

    def delete(self) -> None:
        """Delete the collection at once: a project collection with its versions (their
        bytes are freed by garbage collection after the grace period; the name may be
        used again right away), a registry portfolio with its links (the linked project
        versions stay). A project collection with versions still linked into a registry
        raises `ConflictError` naming the registry collection."""
        owner = f"registries/{self.registry}" if self.registry else f"projects/{self.project}"
        self._conn.client.delete(f"/{owner}/collections/{self.name}")

    def __repr__(self) -> str:
        return f"<ArtifactCollection {self.path} type={self.type}>"


def version_results(conn: Connection, body: dict[str, Any]) -> Results[Artifact]:
    return Results(conn, "versions", body, lambda record: Artifact._from_record(conn, record))


def collection_results(conn: Connection, body: dict[str, Any]) -> Results[ArtifactCollection]:
    return Results(conn, "collections", body, lambda record: ArtifactCollection(conn, record))


def alias_history(conn: Connection, url: str, alias: str | None) -> list[dict[str, Any]]:
    """Every recorded move at `url`, following its pages."""
    moves: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1000, **({"alias": alias} if alias else {})}
    while True:
        page = conn.client.get(url, params=params)
        moves.extend(page)
        if len(page) < params["limit"]:
            return moves
        params["before"] = page[-1]["id"]
