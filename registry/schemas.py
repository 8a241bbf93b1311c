"""Wire shapes of the REST API (request bodies and responses)."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from registry.db import MAX_INT64


class DigestList(BaseModel):
    digests: list[str] = Field(max_length=100_000)


class RunRef(BaseModel):
    project: str
    id: str


class VersionCreate(BaseModel):
    type: str
    manifest_digest: str
    description: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    run: RunRef | None = None
    ttl_seconds: int | None = Field(default=None, ge=0, le=MAX_INT64)


class VersionUpdate(BaseModel):
    description: str | None = None
    metadata: dict[str, Any] | None = None
    aliases: list[str] | None = None
    tags: list[str] | None = None


class AliasTarget(BaseModel):
    version: str


class VersionPublic(BaseModel):
    id: int
    project: str
    collection: str
    type: str
    version: str
    index: int
    qualified_name: str
    digest: str
    manifest_digest: str
    size: int
    file_count: int
    description: str
    metadata: dict[str, Any]
    aliases: list[str]
    tags: list[str]
    state: str
    created_at: datetime
    ttl_seconds: int | None
    producer_run: RunRef | None


class CommitResult(BaseModel):
    version: VersionPublic
    created: bool


class FileEntry(BaseModel):
    path: str
    digest: str
    size: int
    ref: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class FilePage(BaseModel):
    files: list[FileEntry]
    next_offset: int | None


class CollectionPublic(BaseModel):
    project: str
    name: str
    type: str
    description: str
    tags: list[str]
    version_count: int
    created_at: datetime


class CollectionUpdate(BaseModel):
    description: str | None = None
    tags: list[str] | None = None


class ProjectPublic(BaseModel):
    name: str
    created_at: datetime


class RunCreate(BaseModel):
    id: str | None = None
    name: str = ""
    job_type: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    resume: bool = False


class RunUpdate(BaseModel):
    name: str | None = None
    config: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    tags: list[str] | None = None
    state: str | None = None


class RunPublic(BaseModel):
    project: str
    id: str
    name: str
    job_type: str
    config: dict[str, Any]
    summary: dict[str, Any]
    tags: list[str]
    state: str
    created_at: datetime
    updated_at: datetime


class RunStarted(BaseModel):
    run: RunPublic
    resumed: bool
    next_step: int


class MetricPoint(BaseModel):
    key: str = Field(min_length=1, max_length=256)
    step: int = Field(ge=0, le=MAX_INT64)
    value: float = Field(allow_inf_nan=False)
    timestamp: datetime


class MetricBatch(BaseModel):
    points: list[MetricPoint]


class RunInputCreate(BaseModel):
    project: str
    collection: str
    version: str
