"""`Registry`: an organization-level home for promoted collections, and the chained
searches `api.registries(f).collections(f).versions(f)`."""

from datetime import datetime
from typing import Any

from automations.schema import Scope
from sdk.artifact import Artifact
from sdk.collection import (
    ArtifactCollection,
    alias_history,
    collection_results,
    version_results,
)
from sdk.connection import Connection
from sdk.results import Results

EDITABLE = ("description", "allowed_types", "visibility", "protected_aliases")


class Registry:
    def __init__(self, conn: Connection, record: dict[str, Any]) -> None:
        self._conn = conn
        self._load(record)

    def _load(self, record: dict[str, Any]) -> None:
        self._record = record
        self.description: str = record["description"]
        self.allowed_types: list[str] = list(record["allowed_types"])
        self.visibility: str = record["visibility"]
        self.protected_aliases: list[str] = list(record["protected_aliases"])

    @property
    def name(self) -> str:
        return self._record["name"]

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self._record["created_at"])

    @property
    def path(self) -> str:
        return f"@{self.name}"

    def to_scope(self) -> Scope:
        """Lets a registry be an automation's scope."""
        return Scope(type="registry", name=self.name)

    def collections(self, filter: dict[str, Any] | None = None) -> Results[ArtifactCollection]:
        return collection_results(self._conn, {"registry": self.name, "filter": filter})

    def versions(self, filter: dict[str, Any] | None = None) -> Results[Artifact]:
        return version_results(self._conn, {"registry": self.name, "filter": filter})

    def members(self) -> list[dict[str, Any]]:
        """Keys with a role in this registry: `{"key", "role", "created_at"}` each."""
        return list(self._conn.client.get(f"{self._url}/members"))

    def add_member(self, key: str, role: str = "member") -> dict[str, Any]:
        """Give the key named `key` a role here: viewer, member or admin (admin keys only)."""
        return dict(self._conn.client.put(f"{self._url}/members/{key}", json={"role": role}))

    def remove_member(self, key: str) -> None:
        self._conn.client.delete(f"{self._url}/members/{key}")

    def alias_history(self, collection: str, alias: str | None = None) -> list[dict[str, Any]]:
        """Who moved which alias of the registry's `collection`, newest first."""
        url = f"{self._url}/collections/{collection}/alias-history"
        return alias_history(self._conn, url, alias)

    def save(self) -> "Registry":
        """Send the edited description, allowed types, visibility and protected aliases."""
        body = {field: getattr(self, field) for field in EDITABLE}
        self._load(self._conn.client.patch(self._url, json=body))
        return self

    def delete(self) -> None:
        """Delete the registry and its links; linked project versions stay."""
        self._conn.client.delete(self._url)

    @property
    def _url(self) -> str:
        return f"/registries/{self.name}"

    def __repr__(self) -> str:
        return f"<Registry {self.name} types={self.allowed_types or 'any'}>"


class RegistryResults(Results[Registry]):
    """Registries matching a filter; narrow further with `.collections()`/`.versions()`."""

    def __init__(self, conn: Connection, filter: dict[str, Any] | None) -> None:
        super().__init__(conn, "registries", {"filter": filter}, lambda r: Registry(conn, r))
        self._filter = filter or {}

    def collections(self, filter: dict[str, Any] | None = None) -> "CollectionResults":
        return CollectionResults(self._conn, self._filter, filter)

    def versions(self, filter: dict[str, Any] | None = None) -> Results[Artifact]:
        return version_results(self._conn, {"registry_filter": self._filter, "filter": filter})


class CollectionResults(Results[ArtifactCollection]):
    """Collections of the matching registries; narrow to versions with `.versions()`."""

    def __init__(
        self,
        conn: Connection,
        registry_filter: dict[str, Any],
        filter: dict[str, Any] | None,
    ) -> None:
        body = {"registry_filter": registry_filter, "filter": filter}
        super().__init__(conn, "collections", body, lambda r: ArtifactCollection(conn, r))
        self._registry_filter = registry_filter
        self._filter = filter or {}

    def versions(self, filter: dict[str, Any] | None = None) -> Results[Artifact]:
        body = {
            "registry_filter": self._registry_filter,
            "collection_filter": self._filter,
            "filter": filter,
        }
        return version_results(self._conn, body)
