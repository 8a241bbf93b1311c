"""A registry's history, newest first: versions linked in (read from the event log) and
alias changes (read from the alias audit trail, which also records removals). Both
outlive what they describe, so entries name versions as they were at the time."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from automations.models import Event
from registry.models import AliasMove, ArtifactCollection, Registry

LINKED, ALIAS = "linked", "alias"


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    kind: str  # linked | alias
    collection: str  # the portfolio's name
    author: str
    version: str | None = None  # linked: v<N> in the portfolio; alias: where it went
    source: str | None = None  # linked: the project version
    alias: str | None = None  # alias: its name and the version it left
    previous_version: str | None = None


def registry_history(session: Session, registry: Registry, limit: int = 50) -> list[HistoryEntry]:
    """The last `limit` links and alias changes in the registry. `latest` follows every
    link by itself, so the alias trail does not record it."""
    entries = _links(session, registry, limit) + _alias_changes(session, registry, limit)
    return sorted(entries, key=lambda e: e.at, reverse=True)[:limit]


def _links(session: Session, registry: Registry, limit: int) -> list[HistoryEntry]:
    rows = session.exec(
        select(Event)
        .where(
            Event.registry_id == registry.id,
            Event.type == "artifact.linked",
            # A deleted registry's id may be handed out again (SQLite reuses the
            # highest); its events are older than the registry that has the id now.
            col(Event.created_at) >= registry.created_at,
        )
        .order_by(col(Event.id).desc())
        .limit(limit)
    )
    return [
        HistoryEntry(
            at=row.created_at,
            kind=LINKED,
            collection=row.variables.get("artifact_collection_name", ""),
            version=row.variables.get("artifact_version"),
            author=row.author,
            source=row.variables.get("source_version_string"),
        )
        for row in rows
    ]


def _alias_changes(session: Session, registry: Registry, limit: int) -> list[HistoryEntry]:
    rows = session.exec(
        select(AliasMove, ArtifactCollection.name)
        .join(ArtifactCollection, col(ArtifactCollection.id) == AliasMove.collection_id)
        .where(
            ArtifactCollection.registry_id == registry.id,
            # Collection ids may be handed out again too: a move older than the
            # collection that has its id now belonged to another one.
            col(AliasMove.created_at) >= ArtifactCollection.created_at,
        )
        .order_by(col(AliasMove.id).desc())
        .limit(limit)
    )
    return [
        HistoryEntry(
            at=move.created_at,
            kind=ALIAS,
            collection=name,
            version=move.to_version,
            author=move.actor,
            alias=move.alias,
            previous_version=move.from_version,
        )
        for move, name in rows
    ]
