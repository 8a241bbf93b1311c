"""Linking project versions into registry portfolios.

A link is a version row of the portfolio pointing at its source (`source_version_id`):
it takes the portfolio's next index and holds the portfolio's aliases, while files,
digest, metadata and lineage stay the source's. A version is linked at most once per
portfolio; linking it again only adds the aliases asked for.
"""

from sqlmodel import Session, col, select

from registry.errors import NotFound
from registry.models import ArtifactCollection, ArtifactVersion, utcnow
from registry.services import access, events
from registry.services.artifact_versions import add_aliases_and_tags, requested_aliases
from registry.services.blobs import hold_blobs
from registry.services.collections import get_or_create_portfolio
from registry.services.names import LATEST
from registry.services.registries import get_registry
from registry.services.versions import COMMITTED


def link_version(
    session: Session,
    registry_name: str,
    portfolio_name: str,
    source_collection: ArtifactCollection,
    source: ArtifactVersion,
    aliases: list[str],
) -> tuple[ArtifactVersion, bool]:
    """Returns the portfolio's version and whether this call created the membership."""
    wanted = requested_aliases(aliases)
    # The membership references the source's manifest: from here on garbage collection
    # keeps it.
    hold_blobs(session)
    asked, asked_in = source, source_collection
    if source.source_version_id is not None:
        # Linking a link links what it points at: a portfolio never holds a chain.
        original = session.get(ArtifactVersion, source.source_version_id)
        home = session.get(ArtifactCollection, original.collection_id) if original else None
        assert original is not None and home is not None
        source, source_collection = original, home
    _lock_against_deletion(session, source_collection)
    states = session.exec(
        select(ArtifactVersion.state).where(col(ArtifactVersion.id).in_([asked.id, source.id]))
    )
    if set(states) != {COMMITTED}:
        raise NotFound(f"{asked_in.name}:v{asked.index} does not exist (deleted meanwhile)")
    registry = get_registry(session, registry_name)
    access.check_registry_role(session, registry, "member")
    portfolio = get_or_create_portfolio(session, registry, portfolio_name, source_collection.type)
    member = session.exec(
        select(ArtifactVersion).where(
            ArtifactVersion.collection_id == portfolio.id,
            ArtifactVersion.source_version_id == source.id,
        )
    ).first()
    if member is not None and member.state == COMMITTED:
        add_aliases_and_tags(session, portfolio, member, wanted, [])
        return member, False
    if member is None:
        member = ArtifactVersion(
            collection_id=portfolio.id,  # type: ignore[arg-type]
            index=portfolio.next_index,
            digest=source.digest,
            manifest_digest=source.manifest_digest,
            size=source.size,
            file_count=source.file_count,
            description=source.description,
            metadata_=source.metadata_,
            source_version_id=source.id,
        )
    else:
        # Unlinked earlier: the membership returns as the portfolio's newest version.
        member.index = portfolio.next_index
        member.state = COMMITTED
        member.created_at = member.updated_at = utcnow()
    portfolio.next_index += 1
    portfolio.updated_at = utcnow()
    session.add_all([portfolio, member])
    session.flush()
    add_aliases_and_tags(session, portfolio, member, [LATEST, *wanted], [])
    events.artifact_linked(session, portfolio, member, source_collection, source, wanted)
    return member, True


def _lock_against_deletion(session: Session, collection: ArtifactCollection) -> None:
    """Hold the source collection's row shared until this transaction ends.

    Deleting a version or a collection locks that row exclusively before it reads the
    links it must refuse or remove. So a deletion either waits for this link and then
    sees it, or finished first and the states read after this lock say DELETED; without
    it a link could land on a version deleted a moment before (PostgreSQL reads only
    what is committed; SQLite's writers already queue)."""
    query = select(ArtifactCollection.id).where(ArtifactCollection.id == collection.id)
    session.exec(query.with_for_update(read=True)).one()
