"""Rows -> wire shapes, with batched lookups so lists cost a fixed number of queries."""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, literal, text, union_all
from sqlmodel import Session, SQLModel, col, func, select

from registry.models import (
    Alias,
    ArtifactCollection,
    ArtifactVersion,
    Project,
    Registry,
    Run,
    VersionTag,
)
from registry.schemas import (
    CollectionPublic,
    LineageEdge,
    LineageNode,
    LineagePublic,
    RegistryPublic,
    RunPublic,
    RunRef,
    VersionPublic,
)
from registry.services.collections import CollectionRef
from registry.services.lineage import LineageGraph
from registry.services.runs import runs_by_id
from registry.services.versions import COMMITTED, find_version_id, resolve_version

T = TypeVar("T", bound=SQLModel)


def versions_public(session: Session, versions: list[ArtifactVersion]) -> list[VersionPublic]:
    return versions_public_by_id(session, [v.id for v in versions])  # type: ignore[misc]


def get_version_public(session: Session, ref: CollectionRef, selector: str) -> VersionPublic:
    """The version a selector names, in three queries when it exists."""
    version_id = find_version_id(session, ref, selector)
    if version_id is None:
        _, version = resolve_version(session, ref, selector)  # raises what is missing
        version_id = version.id
    return versions_public_by_id(session, [version_id])[0]  # type: ignore[list-item]


def versions_public_by_id(session: Session, ids: list[int]) -> list[VersionPublic]:
    """Two queries whatever the count: the versions with their owners, link sources
    and producing runs joined in; then their aliases and tags together. Plain rows, not ORM objects:
    this is the hot path of every read (ORM loading cost more than the queries)."""
    if not ids:
        return []
    # Mappings, not Row attributes: a Row is a tuple, so `row.index` is tuple.index.
    rows = {row.id: row._mapping for row in session.execute(_VERSION_ROWS, {"ids": ids})}
    labels: dict[str, dict[int, list[str]]] = {"alias": defaultdict(list), "tag": defaultdict(list)}
    for kind, version_id, name in session.execute(_VERSION_LABELS, {"ids": ids}):
        labels[kind][version_id].append(name)
    aliases, tags = labels["alias"], labels["tag"]
    return [_version_public(rows[i], aliases[i], tags[i]) for i in ids if i in rows]


def _version_public(row: Any, aliases: list[str], tags: list[str]) -> VersionPublic:
    owner = f"@{row['registry']}" if row["registry"] else row["project"]
    source = (
        f"{row['source_project']}/{row['source_collection']}:v{row['source_index']}"
        if row["source_index"] is not None
        else None
    )
    return VersionPublic(
        id=row["id"],
        project=row["project"],
        registry=row["registry"],
        collection=row["collection"],
        type=row["type"],
        version=f"v{row['index']}",
        index=row["index"],
        qualified_name=f"{owner}/{row['collection']}:v{row['index']}",
        digest=row["digest"],
        manifest_digest=row["manifest_digest"],
        size=row["size"],
        file_count=row["file_count"],
        description=row["description"],
        metadata=row["metadata"],
        aliases=aliases,
        tags=tags,
        state=row["state"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        ttl_seconds=row["ttl_seconds"],
        producer_run=RunRef(project=row["run_project"], id=row["run_id"])
        if row["run_id"]
        else None,
        source=source,
    )


def _version_rows_query() -> Any:
    version = ArtifactVersion.__table__  # type: ignore[attr-defined]
    collection = ArtifactCollection.__table__  # type: ignore[attr-defined]
    project = Project.__table__  # type: ignore[attr-defined]
    registry = Registry.__table__  # type: ignore[attr-defined]
    run = Run.__table__  # type: ignore[attr-defined]
    # A link shows the project version it points at, and that version's producer.
    source, source_collection = version.alias("source"), collection.alias("source_collection")
    source_project, run_project = project.alias("source_project"), project.alias("run_project")
    producer = func.coalesce(source.c.producer_run_id, version.c.producer_run_id)
    joined = (
        version.join(collection, collection.c.id == version.c.collection_id)
        .outerjoin(project, project.c.id == collection.c.project_id)
        .outerjoin(registry, registry.c.id == collection.c.registry_id)
        .outerjoin(source, source.c.id == version.c.source_version_id)
        .outerjoin(source_collection, source_collection.c.id == source.c.collection_id)
        .outerjoin(source_project, source_project.c.id == source_collection.c.project_id)
        .outerjoin(run, run.c.id == producer)
        .outerjoin(run_project, run_project.c.id == run.c.project_id)
    )
    return (
        select(  # type: ignore[call-overload]
            version,
            collection.c.name.label("collection"),
            collection.c.type,
            project.c.name.label("project"),
            registry.c.name.label("registry"),
            source.c.index.label("source_index"),
            source_collection.c.name.label("source_collection"),
            source_project.c.name.label("source_project"),
            run.c.run_id,
            run_project.c.name.label("run_project"),
        )
        .select_from(joined)
        .where(version.c.id.in_(bindparam("ids", expanding=True)))
    )


_VERSION_ROWS = _version_rows_query()
_VERSION_LABELS = union_all(
    select(literal("alias").label("kind"), Alias.version_id, Alias.name).where(
        col(Alias.version_id).in_(bindparam("ids", expanding=True))
    ),
    select(literal("tag"), VersionTag.version_id, VersionTag.tag).where(
        col(VersionTag.version_id).in_(bindparam("ids", expanding=True))
    ),
).order_by(text("kind"), text("name"))


def version_public(session: Session, version: ArtifactVersion) -> VersionPublic:
    return versions_public(session, [version])[0]


def collections_public(
    session: Session, collections: list[ArtifactCollection]
) -> list[CollectionPublic]:
    ids = [c.id for c in collections]
    counts = dict(
        session.exec(
            select(ArtifactVersion.collection_id, func.count())
            .where(col(ArtifactVersion.collection_id).in_(ids), ArtifactVersion.state == COMMITTED)
            .group_by(col(ArtifactVersion.collection_id))
        ).all()
    )
    homes = _home_names(session, collections)
    return [
        CollectionPublic(
            project=homes[c.id].project,  # type: ignore[index]
            registry=homes[c.id].registry,  # type: ignore[index]
            name=c.name,
            type=c.type,
            description=c.description,
            tags=c.tags,
            version_count=counts.get(c.id, 0),  # type: ignore[arg-type]
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
        for c in collections
    ]


def lineage_public(session: Session, root: tuple[str, int], graph: LineageGraph) -> LineagePublic:
    versions = _rows_by_id(session, ArtifactVersion, graph.ids("version"))
    runs = runs_by_id(session, graph.ids("run"))
    collections = _rows_by_id(
        session, ArtifactCollection, {v.collection_id for v in versions.values()}
    )
    homes = _home_names(session, list(collections.values()))
    run_projects = _project_names(session, {r.project_id for r in runs.values()})
    names: dict[tuple[str, int], str] = {}
    nodes = []
    project: str | None
    type_: str | None
    for (kind, node_id), depth in sorted(graph.depth.items(), key=lambda item: (item[1], item[0])):
        if kind == "version":
            version = versions[node_id]
            collection = collections[version.collection_id]
            name = _qualified(homes, collections, version)
            project, type_, state = homes[collection.id].project, collection.type, version.state  # type: ignore[index]
        else:
            run = runs[node_id]
            project = run_projects[run.project_id]
            name, type_, state = f"{project}/{run.run_id}", run.job_type or None, run.state
        names[kind, node_id] = f"{kind}:{name}"
        nodes.append(
            LineageNode(
                id=names[kind, node_id],
                kind=kind,
                name=name if kind == "version" else runs[node_id].name,
                project=project or "",
                type=type_,
                state=state,
                depth=depth,
            )
        )
    edges = [
        LineageEdge(
            source=names[("version" if kind == "uses" else "run"), source],
            target=names[("run" if kind == "uses" else "version"), target],
            kind=kind,
        )
        for kind, source, target in sorted(graph.edges)
    ]
    return LineagePublic(root=names[root], nodes=nodes, edges=edges, truncated=graph.truncated)


def registries_public(registries: list[Registry]) -> list[RegistryPublic]:
    return [RegistryPublic.model_validate(r, from_attributes=True) for r in registries]


def runs_public(session: Session, runs: list[Run]) -> list[RunPublic]:
    projects = _project_names(session, {r.project_id for r in runs})
    return [
        RunPublic(
            project=projects[r.project_id],
            id=r.run_id,
            name=r.name,
            job_type=r.job_type,
            config=r.config,
            summary=r.summary,
            tags=r.tags,
            state=r.state,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in runs
    ]


@dataclass(frozen=True)
class _Home:
    """Who owns a collection: a project, or a registry (shown as `@name`)."""

    project: str | None = None
    registry: str | None = None

    def __str__(self) -> str:
        return f"@{self.registry}" if self.registry else str(self.project)


def _home_names(session: Session, collections: list[ArtifactCollection]) -> dict[int, _Home]:
    projects = _project_names(session, {c.project_id for c in collections if c.project_id})
    registries = dict(
        session.exec(
            select(Registry.id, Registry.name).where(
                col(Registry.id).in_({c.registry_id for c in collections if c.registry_id})
            )
        ).all()
    )
    return {
        c.id: _Home(registry=registries[c.registry_id])  # type: ignore[misc]
        if c.registry_id
        else _Home(project=projects[c.project_id])  # type: ignore[index]
        for c in collections
    }


def _qualified(
    homes: dict[int, _Home],
    collections: dict[int, ArtifactCollection],
    version: ArtifactVersion,
) -> str:
    collection = collections[version.collection_id]
    return f"{homes[collection.id]}/{collection.name}:v{version.index}"  # type: ignore[index]


def rows_by_id(session: Session, table: type[T], ids: list[int]) -> list[T]:
    """ORM rows in the order of `ids`."""
    found = _rows_by_id(session, table, set(ids))
    return [found[i] for i in ids if i in found]


def _rows_by_id(session: Session, table: type[T], ids: set[int]) -> dict[int, T]:
    if not ids:
        return {}
    rows = session.exec(select(table).where(col(table.id).in_(ids)))  # type: ignore[attr-defined]
    return {row.id: row for row in rows}  # type: ignore[attr-defined]


def _project_names(session: Session, ids: set[int]) -> dict[int, str]:
    rows = session.exec(select(Project.id, Project.name).where(col(Project.id).in_(ids)))
    return dict(rows.all())  # type: ignore[arg-type]
