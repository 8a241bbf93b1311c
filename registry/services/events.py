"""The registry's side of the event bus: describe a change for `automations.bus`.

Called inside the transaction that makes the change, so the event commits (or rolls
back) with it. The variables are what payload templates may use
(automations.templates.VARIABLES).
"""

from typing import Any

from sqlmodel import Session, select

from automations import bus
from automations.events import ArtifactChange, MetricBatch
from registry.models import ArtifactCollection, ArtifactVersion, Project, Registry, Run

# session.info key: who made the request's changes (set by the API layer).
AUTHOR = "strata.author"


def artifact_created(
    session: Session, collection: ArtifactCollection, version: ArtifactVersion
) -> None:
    _publish(session, "artifact.created", collection, version, aliases=(), extra={})


def artifact_linked(
    session: Session,
    portfolio: ArtifactCollection,
    link: ArtifactVersion,
    source_collection: ArtifactCollection,
    source: ArtifactVersion,
    aliases: list[str],
) -> None:
    extra = {
        "source_version_string": _version_string(session, source_collection, source.index),
        "aliases": aliases,
    }
    _publish(session, "artifact.linked", portfolio, link, aliases=tuple(aliases), extra=extra)


def alias_added(
    session: Session,
    collection: ArtifactCollection,
    version: ArtifactVersion,
    alias: str,
    previous_index: int | None,
) -> None:
    previous = None if previous_index is None else f"v{previous_index}"
    extra = {"alias": alias, "previous_version": previous}
    _publish(session, "alias.added", collection, version, aliases=(alias,), extra=extra)


def metric_points(
    session: Session, project: Project, run: Run, points: list[tuple[str, int, float]]
) -> None:
    batch = MetricBatch(
        project_id=project.id,  # type: ignore[arg-type]
        run_id=run.id,  # type: ignore[arg-type]
        points=points,
        variables={"project_name": project.name, "run_id": run.run_id, "run_name": run.name},
        author=session.info.get(AUTHOR, ""),
    )
    bus.publish_metrics(session, batch)


def _publish(
    session: Session,
    event_type: str,
    collection: ArtifactCollection,
    version: ArtifactVersion,
    *,
    aliases: tuple[str, ...],
    extra: dict[str, Any],
) -> None:
    project, registry = _owner_names(session, collection)
    author = session.info.get(AUTHOR, "")
    variables: dict[str, Any] = {
        "event_type": event_type,
        "event_author": author,
        "project_name": project,
        "registry_name": registry,
        "artifact_collection_name": collection.name,
        "artifact_type": collection.type,
        "artifact_version": f"v{version.index}",
        "artifact_version_string": _version_string(session, collection, version.index),
        "artifact_digest": version.digest,
        "artifact_metadata": version.metadata_,
        **_producer(session, version),
        **extra,
    }
    change = ArtifactChange(
        type=event_type,
        project_id=collection.project_id,
        registry_id=collection.registry_id,
        collection_id=collection.id,  # type: ignore[arg-type]
        version_id=version.id,  # type: ignore[arg-type]
        aliases=aliases,
        variables=variables,
        author=author,
    )
    bus.publish(session, change)


def _owner_names(session: Session, collection: ArtifactCollection) -> tuple[str | None, str | None]:
    """(project name, registry name) of a collection; cached for the transaction."""
    cache: dict[tuple[str, int], str] = session.info.setdefault("strata.owner_names", {})
    if collection.registry_id is not None:
        key = ("registry", collection.registry_id)
        if key not in cache:
            cache[key] = session.exec(
                select(Registry.name).where(Registry.id == collection.registry_id)
            ).one()
        return None, cache[key]
    key = ("project", collection.project_id)  # type: ignore[assignment]
    if key not in cache:
        cache[key] = session.exec(
            select(Project.name).where(Project.id == collection.project_id)
        ).one()
    return cache[key], None


def collection_path(session: Session, collection: ArtifactCollection) -> str:
    """`project/collection` or `@registry/collection`."""
    project, registry = _owner_names(session, collection)
    home = f"@{registry}" if registry is not None else project
    return f"{home}/{collection.name}"


def _version_string(session: Session, collection: ArtifactCollection, index: int) -> str:
    return f"{collection_path(session, collection)}:v{index}"


def _producer(session: Session, version: ArtifactVersion) -> dict[str, Any]:
    run_id = version.producer_run_id
    if run_id is None and version.source_version_id is not None:
        run_id = session.exec(
            select(ArtifactVersion.producer_run_id).where(
                ArtifactVersion.id == version.source_version_id
            )
        ).first()
    if run_id is None:
        return {"run_id": None, "run_name": None}
    row = session.exec(select(Run.run_id, Run.name).where(Run.id == run_id)).one()
    return {"run_id": row[0], "run_name": row[1]}
