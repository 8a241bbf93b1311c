"""Aliases: mutable names that point at exactly one version of a collection."""

from collections import defaultdict
from collections.abc import Iterable

from sqlmodel import Session, col, select

from registry.errors import InvalidInput, NotFound
from registry.models import Alias, ArtifactCollection, ArtifactVersion
from registry.services import events
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
    if alias is None:
        session.add(Alias(collection_id=collection.id, name=name, version_id=version.id))  # type: ignore[arg-type]
        events.alias_added(session, collection, version, name, None)
        return None
    previous = alias.version_id
    if previous != version.id:
        alias.version_id = version.id  # type: ignore[assignment]
        session.add(alias)
        events.alias_added(session, collection, version, name, previous)
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
    session.delete(alias)
    return alias.version_id


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


def remove_aliases_of(session: Session, version: ArtifactVersion) -> list[str]:
    aliases = list(session.exec(select(Alias).where(Alias.version_id == version.id)))
    for alias in aliases:
        session.delete(alias)
    return [alias.name for alias in aliases]


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
