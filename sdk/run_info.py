"""`RunInfo`: a read-only view of a run, as lineage queries and `Api.run` return it."""

from typing import TYPE_CHECKING, Any

from sdk import nonfinite
from sdk.connection import Connection

if TYPE_CHECKING:
    from sdk.artifact import Artifact


class RunRecord:
    """Properties read from a run's server record; shared by `RunInfo` and the live `Run`."""

    _conn: Connection
    _record: dict[str, Any]

    @property
    def id(self) -> str:
        return self._record["id"]

    @property
    def name(self) -> str:
        return self._record["name"]

    @property
    def project(self) -> str:
        return self._record["project"]

    @property
    def path(self) -> str:
        return f"{self.project}/{self.id}"

    @property
    def state(self) -> str:
        return self._record["state"]

    @property
    def job_type(self) -> str:
        return self._record["job_type"]

    @property
    def _url(self) -> str:
        return f"/projects/{self.project}/runs/{self.id}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path} ({self.state})>"


class RunInfo(RunRecord):
    """A finished or running run as the server knows it (read-only)."""

    def __init__(self, conn: Connection, record: dict[str, Any]) -> None:
        self._conn = conn
        self._record = record

    @classmethod
    def fetch(cls, conn: Connection, project: str, run_id: str) -> "RunInfo":
        return cls(conn, conn.client.get(f"/projects/{project}/runs/{run_id}"))

    @property
    def config(self) -> dict[str, Any]:
        return self._record["config"]

    @property
    def summary(self) -> dict[str, Any]:
        return self._record["summary"]

    @property
    def tags(self) -> list[str]:
        return self._record["tags"]

    def history(
        self, key: str | None = None, keys: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """The logged points `{key, step, value, timestamp}` of `key` or `keys` (all keys
        when neither is given), ordered by key then step; NaN and infinities included."""
        wanted = [*([key] if key else []), *(keys or [])]
        points = self._conn.client.get(
            f"{self._url}/metrics", params={"key": wanted} if wanted else None
        )
        for point in points:
            point["value"] = nonfinite.from_wire(point["value"])
        return points

    def logged_artifacts(self) -> "list[Artifact]":
        return self._artifacts("output")

    def used_artifacts(self) -> "list[Artifact]":
        return self._artifacts("input")

    def _artifacts(self, direction: str) -> "list[Artifact]":
        from sdk.artifact import Artifact

        records = self._conn.client.get(f"{self._url}/artifacts", params={"direction": direction})
        return [Artifact._from_record(self._conn, record) for record in records]
