"""Rows -> wire shapes, with batched lookups so lists cost a fixed number of queries."""

from sqlmodel import Session, col, func, select

from registry.models import (
    ArtifactCollection,
    ArtifactVersion,
    Project,
    Run,
    VersionTag,
)
from registry.schemas import CollectionPublic, RunPublic, RunRef, VersionPublic
from registry.services.aliases import aliases_by_version
from registry.services.runs import runs_by_id
from registry.services.versions import COMMITTED


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
    collections = {
        c.id: c
        for c in session.exec(
            select(ArtifactCollection).where(
                col(ArtifactCollection.id).in_({v.collection_id for v in versions})
            )
        )
    }
    projects = _project_names(session, {c.project_id for c in collections.values()})
    producers = runs_by_id(session, {v.producer_run_id for v in versions if v.producer_run_id})
    run_projects = _project_names(session, {r.project_id for r in producers.values()})
    result = []
    for v in versions:
        collection = collections[v.collection_id]
        project = projects[collection.project_id]
        producer = producers.get(v.producer_run_id) if v.producer_run_id else None
        result.append(
            VersionPublic(
                id=v.id,  # type: ignore[arg-type]
                project=project,
                collection=collection.name,
                type=collection.type,
                version=f"v{v.index}",
                index=v.index,
                qualified_name=f"{project}/{collection.name}:v{v.index}",
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
                ttl_seconds=v.ttl_seconds,
                producer_run=RunRef(project=run_projects[producer.project_id], id=producer.run_id)
                if producer
                else None,
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
    projects = _project_names(session, {c.project_id for c in collections})
    return [
        CollectionPublic(
            project=projects[c.project_id],
            name=c.name,
            type=c.type,
            description=c.description,
            tags=c.tags,
            version_count=counts.get(c.id, 0),  # type: ignore[arg-type]
            created_at=c.created_at,
        )
        for c in collections
    ]


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


def _project_names(session: Session, ids: set[int]) -> dict[int, str]:
    rows = session.exec(select(Project.id, Project.name).where(col(Project.id).in_(ids)))
    return dict(rows.all())  # type: ignore[arg-type]
