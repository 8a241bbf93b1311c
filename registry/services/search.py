"""Filtered, sorted, paged searches over registries, collections, versions and runs."""

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from registry.errors import InvalidInput
from registry.limits import Limits
from registry.models import ArtifactCollection, ArtifactVersion, Registry, Run
from registry.query.paging import after_cursor, decode_cursor, encode_cursor
from registry.query.parse import parse_filter
from registry.query.targets import COLLECTIONS, REGISTRIES, TARGETS, Target
from registry.schemas import QueryRequest
from registry.services import access
from registry.services.collections import CollectionRef, find_collection
from registry.services.projects import get_project
from registry.services.registries import get_registry
from registry.services.versions import COMMITTED


def search(
    session: Session, kind: str, query: QueryRequest, limits: Limits
) -> tuple[list[int], str | None]:
    """One page of the ids of `kind` (registries, collections, versions, runs) matching
    the query, in order, and the cursor of the next page (None on the last). Only ids
    and sort keys are read here; views load what they show."""
    target = TARGETS[kind]
    dialect = session.get_bind().dialect.name
    if query.sort not in target.sort_keys:
        keys = ", ".join(target.sort_keys)
        raise InvalidInput(f"cannot sort {kind} by {query.sort!r}; use one of {keys}")
    if query.order not in ("asc", "desc"):
        raise InvalidInput(f"order must be 'asc' or 'desc', not {query.order!r}")
    sort_column = col(target.sort_keys[query.sort])
    id_column = col(target.table.id)
    # Filters are checked before the scope is looked up: a bad filter is the
    # request's own fault whatever the database holds.
    filters = _Filters(
        target=_compiled(target, query.filter, dialect, limits),
        registries=_compiled(REGISTRIES, query.registry_filter, dialect, limits),
        collections=_compiled(COLLECTIONS, query.collection_filter, dialect, limits),
    )
    statement = select(id_column, sort_column).where(*_scope(session, kind, query, filters))
    if filters.target is not None:
        statement = statement.where(filters.target)
    descending = query.order == "desc"
    if query.cursor is not None:
        position = decode_cursor(query.cursor, query.sort, query.order)
        statement = statement.where(after_cursor(sort_column, id_column, position, descending))
    ordering = [sort_column.desc(), id_column.desc()] if descending else [sort_column, id_column]
    rows = list(session.execute(statement.order_by(*ordering).limit(query.limit + 1)))
    ids = [row_id for row_id, _ in rows[: query.limit]]
    if len(rows) <= query.limit:
        return ids, None
    last_id, last_value = rows[query.limit - 1]
    return ids, encode_cursor(query.sort, query.order, last_value, last_id)


@dataclass
class _Filters:
    """The request's filters, compiled before anything is looked up."""

    target: Any
    registries: Any
    collections: Any


def _scope(session: Session, kind: str, query: QueryRequest, filters: _Filters) -> list[Any]:
    """Conditions that keep the search inside the asked project, registry or collection,
    and away from registries the principal may not see."""
    if query.collection is not None and kind != "versions":
        raise InvalidInput("collection narrows a search of versions only")
    if query.project is not None and query.registry is not None:
        raise InvalidInput("name a project or a registry, not both")
    conditions: list[Any] = []
    if kind == "registries":
        if query.project or query.registry or query.registry_filter or query.collection_filter:
            raise InvalidInput("registries are searched with `filter` alone")
        visible = access.visible_registries(session)
        return conditions if visible is None else [visible]
    if kind == "runs":
        if query.registry or query.registry_filter or query.collection_filter:
            raise InvalidInput("runs are searched within a project, with `filter`")
        if query.project is not None:
            conditions.append(Run.project_id == get_project(session, query.project).id)
        return conditions
    if kind == "collections" and query.collection_filter is not None:
        raise InvalidInput("use `filter` to filter collections")

    # A deleted collection is gone at once, though its rows wait for garbage collection.
    collections: list[Any] = [col(ArtifactCollection.deleted_at).is_(None)]
    if query.project is not None:
        collections.append(ArtifactCollection.project_id == get_project(session, query.project).id)
    if query.registry is not None:
        registry_id = get_registry(session, query.registry).id
        collections.append(ArtifactCollection.registry_id == registry_id)
    if filters.registries is not None:
        matching = select(Registry.id).where(filters.registries)
        collections.append(col(ArtifactCollection.registry_id).in_(matching))
    if filters.collections is not None:
        collections.append(filters.collections)
    visible = access.visible_collections(session)
    if visible is not None:
        collections.append(visible)
    if kind == "collections":
        return collections

    conditions.append(ArtifactVersion.state == COMMITTED)
    if query.collection is not None:
        ref = CollectionRef(name=query.collection, project=query.project, registry=query.registry)
        if ref.project is None and ref.registry is None:
            raise InvalidInput("collection needs the project or registry that holds it")
        conditions.append(ArtifactVersion.collection_id == find_collection(session, ref).id)
    if collections:
        narrowed = select(ArtifactCollection.id).where(*collections)
        conditions.append(col(ArtifactVersion.collection_id).in_(narrowed))
    return conditions


def _compiled(target: Target, raw: dict[str, Any] | None, dialect: str, limits: Limits) -> Any:
    return target.compile(parse_filter(raw, limits), dialect) if raw else None
