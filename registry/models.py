"""Database tables. The schema changes only through Alembic revisions in `migrations/`."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Index, Integer, UniqueConstraint
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

# JSON documents are JSONB on PostgreSQL: the filter language tests them with `@>`,
# which GIN indexes answer (see `_gin`). JSONB keeps neither key order nor the spelling
# of numbers (1e16 reads back as 10000000000000000); the values are equal.
JSON_DOCUMENT = JSON().with_variant(postgresql.JSONB(), "postgresql")
# Sizes, counts, indexes and steps take any 64-bit value (db.MAX_INT64): BIGINT on
# PostgreSQL; SQLite's INTEGER already is 64 bits (and only INTEGER makes a row id).
INT64 = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _gin(table: str, column: str) -> Index:
    """A PostgreSQL GIN index answering `column @> document`, the test the filter
    compiler puts in front of $eq, $in and $contains (jsonb_path_ops: smaller and
    faster than the default class, which also serves key-existence operators)."""
    return Index(
        f"ix_{table}_{column}_gin",
        column,
        postgresql_using="gin",
        postgresql_ops={column: "jsonb_path_ops"},
    ).ddl_if(dialect="postgresql")


class Project(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=128)
    created_at: datetime = Field(default_factory=utcnow)


class Blob(SQLModel, table=True):
    """A verified object in the blob store; a row exists only once its bytes are published."""

    digest: str = Field(primary_key=True, max_length=64)
    size: int = Field(sa_type=INT64)
    created_at: datetime = Field(default_factory=utcnow)


class Registry(SQLModel, table=True):
    """An organization-level home for promoted collections (portfolios)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=128)
    description: str = ""
    # Artifact types that may be linked in; empty means any type.
    allowed_types: list[str] = Field(
        default_factory=list, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
    visibility: str = Field(default="organization", max_length=16)
    protected_aliases: list[str] = Field(
        default_factory=list, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ArtifactCollection(SQLModel, table=True):
    """A sequence of versions, owned by a project, or by a registry (a portfolio of links)."""

    __tablename__ = "artifact_collection"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        UniqueConstraint("registry_id", "name"),
        CheckConstraint(
            "(project_id IS NULL) <> (registry_id IS NULL)", name="ck_collection_one_owner"
        ),
        _gin("artifact_collection", "tags"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int | None = Field(default=None, foreign_key="project.id", index=True)
    registry_id: int | None = Field(default=None, foreign_key="registry.id", index=True)
    name: str = Field(max_length=128)
    type: str = Field(max_length=64, index=True)
    description: str = ""
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON_DOCUMENT, nullable=False))
    # Next version index to hand out; bumped under a row lock so numbers are gap-free.
    next_index: int = Field(default=0, sa_type=INT64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Set when the collection is deleted: hidden everywhere at once, purged with its
    # versions by garbage collection after the grace period (services/collection_deletion.py).
    deleted_at: datetime | None = None


class ArtifactVersion(SQLModel, table=True):
    __tablename__ = "artifact_version"
    __table_args__ = (
        UniqueConstraint("collection_id", "index"),
        # A version is a member of a portfolio at most once.
        UniqueConstraint("collection_id", "source_version_id"),
        Index("ix_artifact_version_collection_digest", "collection_id", "digest"),
        _gin("artifact_version", "metadata"),
    )

    id: int | None = Field(default=None, primary_key=True)
    collection_id: int = Field(foreign_key="artifact_collection.id")
    index: int = Field(sa_type=INT64)
    digest: str = Field(max_length=64)
    manifest_digest: str = Field(foreign_key="blob.digest", max_length=64)
    size: int = Field(sa_type=INT64)
    file_count: int = Field(sa_type=INT64)
    description: str = ""
    metadata_: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", JSON_DOCUMENT, nullable=False)
    )
    state: str = Field(default="COMMITTED", max_length=16)
    ttl_seconds: int | None = Field(default=None, sa_type=INT64)
    producer_run_id: int | None = Field(default=None, foreign_key="run.id", index=True)
    # Set on a registry portfolio's member: the project version it links to. Files,
    # digest, metadata and lineage are the source's; index, aliases and tags are its own.
    source_version_id: int | None = Field(
        default=None, foreign_key="artifact_version.id", index=True
    )
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class VersionTag(SQLModel, table=True):
    __tablename__ = "version_tag"

    version_id: int = Field(foreign_key="artifact_version.id", primary_key=True)
    tag: str = Field(primary_key=True, max_length=128, index=True)


class Alias(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("collection_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    collection_id: int = Field(foreign_key="artifact_collection.id")
    name: str = Field(max_length=128, index=True)
    version_id: int = Field(foreign_key="artifact_version.id", index=True)


class Run(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("project_id", "run_id"),
        *(_gin("run", column) for column in ("config", "summary", "tags")),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    run_id: str = Field(max_length=64)
    name: str = Field(default="", max_length=256)
    job_type: str = Field(default="", max_length=64)
    config: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
    summary: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON_DOCUMENT, nullable=False)
    )
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON_DOCUMENT, nullable=False))
    state: str = Field(default="running", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Metric(SQLModel, table=True):
    __table_args__ = (Index("ix_metric_run_key_step", "run_id", "key", "step"),)

    # Metrics arrive by the tens of thousands per second: ids outgrow 32 bits.
    id: int | None = Field(default=None, primary_key=True, sa_type=INT64)
    run_id: int = Field(foreign_key="run.id")
    key: str = Field(max_length=256)
    step: int = Field(sa_type=INT64)
    # NaN is NULL on SQLite, which has no NaN (PostgreSQL keeps it as NaN).
    value: float | None
    timestamp: datetime


class RunInput(SQLModel, table=True):
    """Lineage edge run --uses--> version (the --logs--> edge is `producer_run_id`)."""

    __tablename__ = "run_input"

    run_id: int = Field(foreign_key="run.id", primary_key=True)
    version_id: int = Field(foreign_key="artifact_version.id", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    """A credential for the API. Only a hash of the secret is kept (see
    services/api_keys.py); `prefix` is the secret's public part, to find the row."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=128)
    role: str = Field(max_length=16)  # read | write | admin
    prefix: str = Field(unique=True, max_length=32)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    # Refreshed at most once a minute, so authenticating rarely writes.
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class RegistryMember(SQLModel, table=True):
    """A key's role inside one registry: viewer, member or admin."""

    __tablename__ = "registry_member"

    registry_id: int = Field(foreign_key="registry.id", primary_key=True)
    key_id: int = Field(foreign_key="api_key.id", primary_key=True, index=True)
    role: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class AliasMove(SQLModel, table=True):
    """The audit trail of aliases: who pointed which alias where, and when.

    Names are copied in (not only ids), so the trail stays readable after the
    collection or its versions are deleted; `collection_id` is a plain integer for
    the same reason."""

    __tablename__ = "alias_move"
    __table_args__ = (Index("ix_alias_move_collection", "collection_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    collection_id: int
    collection: str = Field(max_length=300)
    alias: str = Field(max_length=128)
    from_version: str | None = Field(default=None, max_length=32)
    to_version: str | None = Field(default=None, max_length=32)
    actor: str = Field(default="", max_length=256)
    created_at: datetime = Field(default_factory=utcnow)


class ManifestBlob(SQLModel, table=True):
    """The blobs a manifest names, itself included: what garbage collection keeps while
    a version holds the manifest, and what storage usage adds up. Manifests are
    content-addressed, so a manifest's rows never change once written; a manifest with
    rows (its own row at least) is indexed."""

    __tablename__ = "manifest_blob"

    manifest_digest: str = Field(primary_key=True, max_length=64)
    blob_digest: str = Field(primary_key=True, max_length=64, index=True)


class GcState(SQLModel, table=True):
    """One row: how often garbage collection has deleted blobs (`epoch`), and until when
    the deletion under way may still remove objects (`deleting_until`, a lease)."""

    __tablename__ = "gc_state"

    id: int = Field(default=1, primary_key=True)
    epoch: int = Field(default=0, sa_type=INT64)
    deleting_until: datetime | None = None
