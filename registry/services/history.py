"""A registry's history, read back from the event log: versions linked in and aliases
moved, newest first. The log outlives what it describes, so entries name versions as
they were when the change happened."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from automations.models import Event
from registry.models import Registry
from registry.services.names import LATEST

LINKED, ALIAS_ADDED = "artifact.linked", "alias.added"


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    kind: str  # artifact.linked | alias.added
    collection: str
    version: str  # v<N> in the portfolio
    author: str
    source: str | None = None  # linked: the project version
    alias: str | None = None  # alias.added: the alias and the version it left
    previous_version: str | None = None


def registry_history(session: Session, registry: Registry, limit: int = 50) -> list[HistoryEntry]:
    """The last `limit` links and alias moves in the registry. `latest` follows every
    link by itself, so its moves are left out."""
    entries: list[HistoryEntry] = []
    before: int | None = None
    while len(entries) < limit:
        query = select(Event).where(
            Event.registry_id == registry.id,
            col(Event.type).in_((LINKED, ALIAS_ADDED)),
            # A deleted registry's id may be handed out again (SQLite reuses the
            # highest); its events are older than the registry that has the id now.
            col(Event.created_at) >= registry.created_at,
        )
        if before is not None:
            query = query.where(col(Event.id) < before)
        rows = list(session.exec(query.order_by(col(Event.id).desc()).limit(limit * 2)))
        for row in rows:
            if row.type == ALIAS_ADDED and row.variables.get("alias") == LATEST:
                continue
            entries.append(_entry(row))
        if len(rows) < limit * 2:
            break
        before = rows[-1].id
    return entries[:limit]


def _entry(row: Event) -> HistoryEntry:
    variables = row.variables
    return HistoryEntry(
        at=row.created_at,
        kind=row.type,
        collection=variables.get("artifact_collection_name", ""),
        version=variables.get("artifact_version", ""),
        author=row.author,
        source=variables.get("source_version_string"),
        alias=variables.get("alias"),
        previous_version=variables.get("previous_version"),
    )
