"""Deleting a collection: a project's (soft, then collected) or a registry's portfolio.

A project collection disappears at once: its versions become DELETED (their aliases
removed and recorded in the alias history, like a deleted version's), it leaves every
listing and search (`deleted_at`), and its name is renamed out of the way so a new
collection may take it at once. Garbage collection purges the versions, then the
collection row, once the deletion is older than the grace period, and with them the
bytes no other version holds (services/gc.py).

A version linked into a registry portfolio blocks the deletion (409 naming the
portfolio): another team promoted it; it is unlinked there first, on purpose.

A portfolio holds links, which own no files: deleting it removes its links, aliases
and tags at once, and never the project versions they point at.
"""

from sqlalchemy import update
from sqlmodel import Session, col, select

from registry.errors import Conflict
from registry.models import (
    ArtifactCollection,
    ArtifactVersion,
    Registry,
    utcnow,
)
from registry.services import access
from registry.services.aliases import remove_collection_aliases
from registry.services.automation_rows import delete_scoped
from registry.services.registries import drop_portfolios
from registry.services.versions import COMMITTED, DELETED

# Deleted names take this mark, which no collection name may contain (names.check_name).
DELETED_MARK = "~"


def delete_project_collection(session: Session, collection: ArtifactCollection) -> None:
    """Mark the collection and its versions deleted (the caller holds its row lock)."""
    _refuse_if_linked(session, collection)
    remove_collection_aliases(session, collection)
    now = utcnow()
    session.execute(
        update(ArtifactVersion)
        .where(
            col(ArtifactVersion.collection_id) == collection.id,
            col(ArtifactVersion.state) == COMMITTED,
        )
        .values({col(ArtifactVersion.state): DELETED, col(ArtifactVersion.updated_at): now})
    )
    delete_scoped(session, "collection", [collection.id])  # type: ignore[list-item]
    collection.name = deleted_name(collection)
    collection.deleted_at = collection.updated_at = now
    session.add(collection)
    session.flush()


def deleted_name(collection: ArtifactCollection) -> str:
    """The name a deleted collection keeps until it is purged: unique (its id) and
    unlike any live name, within the column's 128 characters."""
    suffix = f"{DELETED_MARK}{collection.id}"
    return collection.name[: 128 - len(suffix)] + suffix


def _refuse_if_linked(session: Session, collection: ArtifactCollection) -> None:
    source = ArtifactVersion.__table__.alias("source")  # type: ignore[attr-defined]
    rows = session.exec(
        select(Registry, ArtifactCollection.name)
        .join(ArtifactCollection, col(ArtifactCollection.registry_id) == Registry.id)
        .join(ArtifactVersion, col(ArtifactVersion.collection_id) == ArtifactCollection.id)
        .join(source, source.c.id == ArtifactVersion.source_version_id)
        .where(
            source.c.collection_id == collection.id,
            source.c.state == COMMITTED,
            col(ArtifactVersion.state) == COMMITTED,
        )
        .distinct()
        .order_by(Registry.name, ArtifactCollection.name)
    ).all()
    if rows:
        # A restricted registry the caller cannot see stays unnamed (it does not exist
        # for them), but it still holds the link.
        portfolios = ", ".join(
            sorted(
                {
                    f"@{registry.name}/{name}"
                    if access.can_see(session, registry)
                    else "a registry this key cannot see"
                    for registry, name in rows
                }
            )
        )
        raise Conflict(
            f"versions of this collection are linked into {portfolios}; unlink them there first"
        )


def delete_portfolio(session: Session, portfolio: ArtifactCollection) -> None:
    """Remove the portfolio and its links at once; the project versions stay."""
    access.check_portfolio_change(session, portfolio)
    remove_collection_aliases(session, portfolio)
    drop_portfolios(session, [portfolio.id])  # type: ignore[list-item]
