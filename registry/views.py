"""Rows -> wire shapes, with batched lookups so lists cost a fixed number of queries."""

from dataclasses import dataclass
from typing import TypeVar

from sqlmodel import Session, SQLModel, col, func, select

from registry.models import (
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
from registry.services.aliases import aliases_by_version
from registry.services.lineage import LineageGraph
from registry.services.runs import runs_by_id
from registry.services.versions import COMMITTED

T = TypeVar("T", bound=SQLModel)


def versions_public(session: Session, versions: list[ArtifactVersion]) -> list[VersionPublic]:
    if not versions:
        return []
    ids = [v.id for v in versions]
    aliases = aliases_by_version(session, ids)  # type: ignore[arg-type]
    tags: dict[int, list[str]] = {}
    for version_id, tag in session.exec(
        select(VersionTag.version_id, VersionTag.tag)
        .where(col(VersionTag.version_id).in_(ids))
        .order_by(VersionTag.tag)
    ):
        tags.setdefault(version_id, []).append(tag)
    # A link shows the project version it points at: its name and its producing run.
    sources = _rows_by_id(
        session, ArtifactVersion, {v.source_version_id for v in versions if v.source_version_id}
    )
    collections = _rows_by_id(
        session,
        ArtifactCollection,
        {v.collection_id for v in [*versions, *sources.values()]},
    )
    homes = _home_names(session, list(collections.values()))
    producer_ids = {v.producer_run_id for v in [*versions, *sources.values()] if v.producer_run_id}
    producers = runs_by_id(session, producer_ids)
    run_projects = _project_names(session, {r.project_id for r in producers.values()})
    result = []
    for v in versions:
        collection = collections[v.collection_id]
        source = sources.get(v.source_version_id) if v.source_version_id else None
        owner = source or v
        producer = producers.get(owner.producer_run_id) if owner.producer_run_id else None
        result.append(
            VersionPublic(
                id=v.id,  # type: ignore[arg-type]
                project=homes[collection.id].project,  # type: ignore[index]
                registry=homes[collection.id].registry,  # type: ignore[index]
                collection=collection.name,
                type=collection.type,
                version=f"v{v.index}",
                index=v.index,
                qualified_name=f"{homes[collection.id]}/{collection.name}:v{v.index}",  # type: ignore[index]
                digest=v.digest,
                manifest_digest=v.manifest_digest,
                size=v.size,
                file_count=v.file_count,
                description=v.description,
                metadata=v.metadata_,
                aliases=aliases.get(v.id, []),  # type: ignore[arg-type]
                tags=tags.get(v.id, []),  # type: ignore[arg-type]
                state=v.state,
                created_at=v.created_at,
                updated_at=v.updated_at,
                ttl_seconds=v.ttl_seconds,
                producer_run=RunRef(project=run_projects[producer.project_id], id=producer.run_id)
                if producer
                else None,
                source=_qualified(homes, collections, source) if source else None,
            )
        )
    return result


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


def _rows_by_id(session: Session, table: type[T], ids: set[int]) -> dict[int, T]:
    if not ids:
        return {}
    rows = session.exec(select(table).where(col(table.id).in_(ids)))  # type: ignore[attr-defined]
    return {row.id: row for row in rows}  # type: ignore[attr-defined]


def _project_names(session: Session, ids: set[int]) -> dict[int, str]:
    rows = session.exec(select(Project.id, Project.name).where(col(Project.id).in_(ids)))
    return dict(rows.all())  # type: ignore[arg-type]
