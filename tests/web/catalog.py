"""A catalog of 100,000 versions for the page-time test, written with bulk inserts
through the models (the service's own commit path would take minutes for this many).

Project `big`: COLLECTIONS collections of equal length, every version with metadata,
two tags and a manifest of MANIFEST_FILES reference entries (one shared manifest blob);
`latest`, `production` and `staging` aliases. Registry `models`: one portfolio per
collection with LINKED versions linked in. Runs: `trainer` used `big/c-00:v0` and
logged TRAINER_OUTPUTS versions with a metric history; USERS more runs used the same
version, so its lineage at depth 2 holds about 200 nodes. Automation `watch` (no-op)
has DELIVERIES deliveries with their attempts.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text
from sqlmodel import Session

from automations.models import Automation, Delivery, DeliveryAttempt, Event
from registry.db import make_engine, session_scope
from registry.migrate import upgrade
from registry.models import (
    Alias,
    ArtifactCollection,
    ArtifactVersion,
    Blob,
    Metric,
    Project,
    Registry,
    Run,
    RunInput,
    VersionTag,
)
from registry.settings import Settings
from registry.storage.blob_store import BlobStore
from sdk.digest import hash_bytes
from sdk.manifest import Entry, Manifest

VERSIONS = 100_000
COLLECTIONS = 20
LINKED = 50
MANIFEST_FILES = 2000
TRAINER_OUTPUTS = 150
USERS = 50
METRIC_POINTS = 2000
DELIVERIES = 500
TAGS = ("vision", "nlp", "baseline", "candidate", "fp16")


@dataclass(frozen=True)
class Catalog:
    project: str = "big"
    registry: str = "models"
    trainer: str = "trainer"
    automation: str = "watch"


def seed(home: Path, database_url: str) -> Catalog:
    settings = Settings(home=home, database_url=database_url)
    upgrade(settings)
    store = BlobStore.from_url(settings.resolved_storage_url)
    manifest = _manifest().to_bytes()
    manifest_digest = hash_bytes(manifest)
    store.put(manifest_digest, manifest)
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            _seed(session, manifest_digest, len(manifest))
        _advance_sequences(engine)
    finally:
        engine.dispose()
    return Catalog()


def _manifest() -> Manifest:
    entries = {
        f"shards/part-{i:05d}.bin": Entry(
            digest=hash_bytes(f"shard {i}".encode()),
            size=1_000_000 + i,
            ref=f"s3://big-data/shards/part-{i:05d}.bin",
        )
        for i in range(MANIFEST_FILES)
    }
    return Manifest(entries)


def _seed(session: Session, manifest_digest: str, manifest_size: int) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    per_collection = VERSIONS // COLLECTIONS
    _insert(session, Blob, [{"digest": manifest_digest, "size": manifest_size, "created_at": now}])
    _insert(session, Project, [{"id": 1, "name": "big", "created_at": now}])
    _insert(session, Registry, [_registry(now)])
    collections = [
        _collection(c + 1, f"c-{c:02d}", per_collection, now, project_id=1)
        for c in range(COLLECTIONS)
    ] + [
        _collection(COLLECTIONS + c + 1, f"c-{c:02d}", LINKED, now, registry_id=1)
        for c in range(COLLECTIONS)
    ]
    _insert(session, ArtifactCollection, collections)
    runs = [_run(1, "trainer", now)] + [_run(2 + u, f"user-{u:03d}", now) for u in range(USERS)]
    _insert(session, Run, runs)

    versions, tags, aliases = [], [], []
    version_id = 0
    for c in range(COLLECTIONS):
        first = version_id + 1
        for index in range(per_collection):
            version_id += 1
            produced = c == 1 and index < TRAINER_OUTPUTS
            versions.append(
                _version(
                    version_id, c + 1, index, manifest_digest, now, rng, 1 if produced else None
                )
            )
            tags += [{"version_id": version_id, "tag": t} for t in rng.sample(TAGS, 2)]
        aliases += [
            _alias(c + 1, "latest", version_id),
            _alias(c + 1, "production", first),
            _alias(c + 1, "staging", first + 1),
        ]
        # The portfolio: the collection's first LINKED versions, linked in order.
        for index in range(LINKED):
            link_id = VERSIONS + c * LINKED + index + 1
            source = first + index
            versions.append(
                {
                    **versions[source - 1],
                    "id": link_id,
                    "collection_id": COLLECTIONS + c + 1,
                    "index": index,
                    "producer_run_id": None,
                    "source_version_id": source,
                }
            )
        portfolio = COLLECTIONS + c + 1
        aliases += [
            _alias(portfolio, "latest", VERSIONS + c * LINKED + LINKED),
            _alias(portfolio, "production", VERSIONS + c * LINKED + 1),
        ]
    _insert(session, ArtifactVersion, versions)
    _insert(session, VersionTag, tags)
    _insert(session, Alias, aliases)
    inputs = [{"run_id": run["id"], "version_id": 1, "created_at": now} for run in runs]
    _insert(session, RunInput, inputs)
    _insert(session, Metric, _metrics(now))
    _seed_deliveries(session, now)


def _registry(now: datetime) -> dict[str, Any]:
    return {
        "id": 1,
        "name": "models",
        "description": "promoted models",
        "allowed_types": [],
        "visibility": "organization",
        "protected_aliases": ["production"],
        "created_at": now,
        "updated_at": now,
    }


def _collection(id_: int, name: str, count: int, now: datetime, **owner: int) -> dict[str, Any]:
    return {
        "id": id_,
        "project_id": owner.get("project_id"),
        "registry_id": owner.get("registry_id"),
        "name": name,
        "type": "model",
        "description": "",
        "tags": ["vision"],
        "next_index": count,
        "created_at": now,
        "updated_at": now,
    }


def _version(
    id_: int,
    collection_id: int,
    index: int,
    manifest_digest: str,
    now: datetime,
    rng: random.Random,
    producer: int | None,
) -> dict[str, Any]:
    return {
        "id": id_,
        "collection_id": collection_id,
        "index": index,
        "digest": f"{id_:032x}",
        "manifest_digest": manifest_digest,
        "size": MANIFEST_FILES * 1_000_000,
        "file_count": MANIFEST_FILES,
        "description": "",
        "metadata": {"acc": round(rng.uniform(0.5, 1.0), 4), "epoch": index % 100},
        "state": "COMMITTED",
        "ttl_seconds": None,
        "producer_run_id": producer,
        "source_version_id": None,
        "created_at": now + timedelta(microseconds=id_),
        "updated_at": now,
    }


def _alias(collection_id: int, name: str, version_id: int) -> dict[str, Any]:
    return {"collection_id": collection_id, "name": name, "version_id": version_id}


def _run(id_: int, run_id: str, now: datetime) -> dict[str, Any]:
    return {
        "id": id_,
        "project_id": 1,
        "run_id": run_id,
        "name": run_id,
        "job_type": "train",
        "config": {"lr": 0.01},
        "summary": {},
        "tags": [],
        "state": "finished",
        "created_at": now,
        "updated_at": now,
    }


def _metrics(now: datetime) -> list[dict[str, Any]]:
    return [
        {"run_id": 1, "key": key, "step": step, "value": 1 / (step + 1), "timestamp": now}
        for key in ("loss", "val_loss")
        for step in range(METRIC_POINTS)
    ]


def _seed_deliveries(session: Session, now: datetime) -> None:
    trigger = {
        "event": "alias.added",
        "scope": {"type": "registry", "name": "models", "project": None, "registry": None},
        "filter": None,
    }
    _insert(
        session,
        Automation,
        [
            {
                "id": 1,
                "name": "watch",
                "description": "",
                "enabled": True,
                "event_type": "alias.added",
                "scope_type": "registry",
                "scope_id": 1,
                "trigger": trigger,
                "action": {"action": "no_op"},
                "integration_id": None,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )
    events, deliveries, attempts = [], [], []
    for i in range(1, DELIVERIES + 1):
        events.append(
            {
                "id": i,
                "type": "alias.added",
                "registry_id": 1,
                "collection_id": COLLECTIONS + 1,
                "version_id": VERSIONS + 1,
                "author": "",
                "created_at": now,
                "variables": {
                    "artifact_collection_name": "c-00",
                    "artifact_version": "v0",
                    "alias": "production",
                    "previous_version": None,
                },
            }
        )
        deliveries.append(
            {
                "id": i,
                "message_id": f"msg_{i:032x}",
                "event_id": i,
                "automation_id": 1,
                "kind": "no_op",
                "payload": None,
                "chain": "",
                "status": "delivered",
                "cycle_attempts": 1,
                "attempt_count": 1,
                "next_attempt_at": None,
                "created_at": now,
                "updated_at": now,
                "delivered_at": now,
                "last_error": "",
            }
        )
        attempts.append(
            {
                "delivery_id": i,
                "number": 1,
                "started_at": now,
                "latency_ms": 1.5,
                "status_code": None,
                "response": "",
                "error": "",
            }
        )
    _insert(session, Event, events)
    _insert(session, Delivery, deliveries)
    _insert(session, DeliveryAttempt, attempts)


def _insert(session: Session, table: type, rows: list[dict[str, Any]]) -> None:
    # A Core executemany: the ORM's unit of work would cost minutes for this many rows.
    session.connection().execute(insert(table.__table__), rows)  # type: ignore[attr-defined]


def _advance_sequences(engine: Engine) -> None:
    """Rows were inserted with explicit ids: move PostgreSQL's id sequences past them."""
    if engine.dialect.name != "postgresql":
        return
    tables = (
        "project",
        "registry",
        "artifact_collection",
        "artifact_version",
        "alias",
        "run",
        "automation",
        "event",
        "delivery",
        "delivery_attempt",
        "metric",
    )
    with engine.begin() as connection:
        for table in tables:
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            )
