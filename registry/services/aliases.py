"""Aliases: mutable names that point at exactly one version of a collection.

Every change of an alias other than `latest` is recorded (`AliasMove`: who, which
alias, from which version to which, when) in the transaction that makes it. `latest`
follows the newest version by itself; the versions' own creation times are its record.
"""

from collections import defaultdict
from collections.abc import Iterable

from sqlmodel import Session, col, select

from registry.errors import InvalidInput, NotFound
from registry.models import Alias, AliasMove, ArtifactCollection, ArtifactVersion
from registry.services import access, events
from registry.services.names import LATEST, check_alias


def set_alias(
    session: Session, collection: ArtifactCollection, name: str, version: ArtifactVersion
) -> int | None:
    """Point `name` at `version`; returns the id of the version it left, if any.

    Adding or moving an alias publishes an `alias.added` event in the same transaction;
    setting it where it already points changes nothing and publishes nothing."""
    check_alias(name)
    alias = session.exec(
        select(Alias).where(Alias.collection_id == collection.id, Alias.name == name)
    ).first()
    if alias is not None and alias.version_id == version.id:
        return alias.version_id
    access.check_portfolio_change(session, collection, name)
    if alias is None:
        session.add(Alias(collection_id=collection.id, name=name, version_id=version.id))  # type: ignore[arg-type]
        events.alias_added(session, collection, version, name, None)
        _record_move(session, collection, name, None, version.index)
        return None
    previous = alias.version_id
    previous_index = _index_of(session, previous)
    alias.version_id = version.id  # type: ignore[assignment]
    session.add(alias)
    events.alias_added(session, collection, version, name, previous_index)
    _record_move(session, collection, name, previous_index, version.index)
    return previous


def remove_alias(session: Session, collection: ArtifactCollection, name: str) -> int:
    """Remove `name`; returns the id of the version it pointed at."""
    if name == LATEST:
        raise InvalidInput("alias 'latest' is maintained automatically and cannot be removed")
    alias = session.exec(
        select(Alias).where(Alias.collection_id == collection.id, Alias.name == name)
    ).first()
    if alias is None:
        raise NotFound(f"alias {name!r} does not exist in this collection")
    access.check_portfolio_change(session, collection, name)
    session.delete(alias)
    _record_move(session, collection, name, _index_of(session, alias.version_id), None)
    return alias.version_id


def _index_of(session: Session, version_id: int) -> int | None:
    return session.exec(
        select(ArtifactVersion.index).where(ArtifactVersion.id == version_id)
    ).first()


def _record_move(
    session: Session,
    collection: ArtifactCollection,
    name: str,
    from_index: int | None,
    to_index: int | None,
) -> None:
    if name == LATEST:
        return
    session.add(
        AliasMove(
            collection_id=collection.id,  # type: ignore[arg-type]
            collection=events.collection_path(session, collection),
            alias=name,
            from_version=None if from_index is None else f"v{from_index}",
            to_version=None if to_index is None else f"v{to_index}",
            actor=session.info.get(events.AUTHOR, ""),
        )
    )


def alias_moves(
    session: Session,
    collection: ArtifactCollection,
    *,
    alias: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AliasMove]:
    """The collection's recorded alias changes, newest first; `before` (a move id)
    pages on from that move."""
    # The trail outlives collections, and a purged collection's id may be handed out
    # again (SQLite reuses the highest): its moves are older than the collection now.
    query = select(AliasMove).where(
        AliasMove.collection_id == collection.id,
        col(AliasMove.created_at) >= collection.created_at,
    )
    if alias is not None:
        query = query.where(AliasMove.alias == alias)
    if before is not None:
        query = query.where(col(AliasMove.id) < before)
    return list(session.exec(query.order_by(col(AliasMove.id).desc()).limit(limit)))


def find_alias_target(session: Session, collection_id: int, name: str) -> int | None:
    return session.exec(
        select(Alias.version_id).where(Alias.collection_id == collection_id, Alias.name == name)
    ).first()


def aliases_by_version(session: Session, version_ids: Iterable[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = defaultdict(list)
    rows = session.exec(
        select(Alias.version_id, Alias.name)
        .where(col(Alias.version_id).in_(list(version_ids)))
        .order_by(Alias.name)
    )
    for version_id, name in rows:
        result[version_id].append(name)
    return result


def remove_aliases_of(
    session: Session, collection: ArtifactCollection, version: ArtifactVersion
) -> list[str]:
    """Remove every alias of a version that is being deleted (recorded as moves)."""
    aliases = list(session.exec(select(Alias).where(Alias.version_id == version.id)))
    for alias in aliases:
        access.check_portfolio_change(session, collection, alias.name)
        session.delete(alias)
        _record_move(session, collection, alias.name, version.index, None)
    return [alias.name for alias in aliases]


def remove_collection_aliases(session: Session, collection: ArtifactCollection) -> None:
    """Remove every alias of a collection that is being deleted (recorded as moves)."""
    aliases = list(session.exec(select(Alias).where(Alias.collection_id == collection.id)))
    for alias in aliases:
        access.check_portfolio_change(session, collection, alias.name)
        session.delete(alias)
        _record_move(session, collection, alias.name, _index_of(session, alias.version_id), None)
    session.flush()


def aliases_of_collections(
    session: Session, collection_ids: Iterable[int]
) -> dict[int, list[tuple[str, int]]]:
    """(alias, version id) pairs of each collection, by alias name."""
    result: dict[int, list[tuple[str, int]]] = defaultdict(list)
    rows = session.exec(
        select(Alias.collection_id, Alias.name, Alias.version_id)
        .where(col(Alias.collection_id).in_(list(collection_ids)))
        .order_by(Alias.name)
    )
    for collection_id, name, version_id in rows:
        result[collection_id].append((name, version_id))
    return result
