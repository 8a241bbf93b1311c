"""Filtered, sorted, paged searches over registries, collections, versions and runs."""

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from registry.errors import InvalidInput
from registry.models import ArtifactCollection, ArtifactVersion, Registry, Run
from registry.query.paging import after_cursor, decode_cursor, encode_cursor
from registry.query.parse import parse_filter
from registry.query.targets import COLLECTIONS, REGISTRIES, TARGETS, Target
from registry.services.collections import CollectionRef, find_collection
from registry.services.projects import get_project
from registry.services.registries import get_registry
from registry.services.versions import COMMITTED


@dataclass
class Search:
    """One query: `filter` over the target, within the optional scope."""

    target: str
    filter: dict[str, Any] | None = None
    project: str | None = None
    collection: str | None = None
    registry: str | None = None
    registry_filter: dict[str, Any] | None = None
    collection_filter: dict[str, Any] | None = None
    sort: str = "id"
    order: str = "asc"
    limit: int = 100
    cursor: str | None = None


def search(session: Session, query: Search) -> tuple[list[Any], str | None]:
    """One page of rows and the cursor of the next page (None on the last)."""
    target = TARGETS[query.target]
    dialect = session.get_bind().dialect.name
    if query.sort not in target.sort_keys:
        keys = ", ".join(target.sort_keys)
        raise InvalidInput(f"cannot sort {query.target} by {query.sort!r}; use one of {keys}")
    if query.order not in ("asc", "desc"):
        raise InvalidInput(f"order must be 'asc' or 'desc', not {query.order!r}")
    sort_column = col(target.sort_keys[query.sort])
    id_column = col(target.table.id)
    statement = select(target.table).where(*_scope(session, query, dialect))
    if query.filter:
        statement = statement.where(target.compile(parse_filter(query.filter), dialect))
    descending = query.order == "desc"
    if query.cursor is not None:
        position = decode_cursor(query.cursor, query.sort, query.order)
        statement = statement.where(after_cursor(sort_column, id_column, position, descending))
    ordering = [sort_column.desc(), id_column.desc()] if descending else [sort_column, id_column]
    rows = list(session.exec(statement.order_by(*ordering).limit(query.limit + 1)))
    if len(rows) <= query.limit:
        return rows, None
    rows = rows[: query.limit]
    last = rows[-1]
    value = getattr(last, target.sort_keys[query.sort].key)
    return rows, encode_cursor(query.sort, query.order, value, last.id)


def _scope(session: Session, query: Search, dialect: str) -> list[Any]:
    """Conditions that keep the search inside the asked project, registry or collection."""
    if query.collection is not None and query.target != "versions":
        raise InvalidInput("collection narrows a search of versions only")
    if query.project is not None and query.registry is not None:
        raise InvalidInput("name a project or a registry, not both")
    conditions: list[Any] = []
    if query.target == "registries":
        if query.project or query.registry or query.registry_filter or query.collection_filter:
            raise InvalidInput("registries are searched with `filter` alone")
        return conditions
    if query.target == "runs":
        if query.registry or query.registry_filter or query.collection_filter:
            raise InvalidInput("runs are searched within a project, with `filter`")
        if query.project is not None:
            conditions.append(Run.project_id == get_project(session, query.project).id)
        return conditions

    collections = _collection_scope(session, query, dialect)
    if query.target == "collections":
        if query.collection_filter is not None:
            raise InvalidInput("use `filter` to filter collections")
        return collections
    conditions.append(ArtifactVersion.state == COMMITTED)
    if query.collection is not None:
        ref = CollectionRef(name=query.collection, project=query.project, registry=query.registry)
        if ref.project is None and ref.registry is None:
            raise InvalidInput("collection needs the project or registry that holds it")
        conditions.append(ArtifactVersion.collection_id == find_collection(session, ref).id)
    elif collections:
        narrowed = select(ArtifactCollection.id).where(*collections)
        conditions.append(col(ArtifactVersion.collection_id).in_(narrowed))
    return conditions


def _collection_scope(session: Session, query: Search, dialect: str) -> list[Any]:
    conditions: list[Any] = []
    if query.project is not None:
        conditions.append(ArtifactCollection.project_id == get_project(session, query.project).id)
    if query.registry is not None:
        conditions.append(
            ArtifactCollection.registry_id == get_registry(session, query.registry).id
        )
    if query.registry_filter is not None:
        matching = select(Registry.id).where(_compiled(REGISTRIES, query.registry_filter, dialect))
        conditions.append(col(ArtifactCollection.registry_id).in_(matching))
    if query.target == "versions" and query.collection_filter is not None:
        conditions.append(_compiled(COLLECTIONS, query.collection_filter, dialect))
    return conditions


def _compiled(target: Target, raw: dict[str, Any], dialect: str) -> Any:
    return target.compile(parse_filter(raw), dialect)
