"""Wire shapes of the REST API (request bodies and responses)."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from registry.db import MAX_INT64
from sdk import nonfinite


def _assume_utc(moment: datetime) -> datetime:
    """A timestamp without an offset is taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso_time(value: Any) -> Any:
    """JSON has no time type: a time is an ISO 8601 string. Parsed here because strict
    validation of a decoded body (FastAPI validates Python values) takes no string for
    a datetime, and lax validation would take a number of seconds."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value[:64]!r} is not an ISO 8601 time") from None
    if isinstance(value, datetime):
        return value
    raise ValueError("a time is an ISO 8601 string")


def _nonfinite_from_wire(value: Any) -> Any:
    """ "NaN", "Infinity" and "-Infinity" are the wire spelling of those floats; other
    strings stay strings and strict validation refuses them."""
    return nonfinite.NAMES.get(value, value) if isinstance(value, str) else value


# A timestamp a client sends; without an offset it is UTC.
UtcDatetime = Annotated[datetime, BeforeValidator(_iso_time), AfterValidator(_assume_utc)]


class RequestBody(BaseModel):
    """A JSON body taken as its schema types it: `false` is no number, `0` no boolean
    and a number no time (pydantic's lax coercions would take them, against the
    OpenAPI document)."""

    model_config = ConfigDict(strict=True)


class DigestList(RequestBody):
    digests: list[str] = Field(max_length=100_000)


class RunRef(RequestBody):
    project: str
    id: str


class VersionCreate(RequestBody):
    type: str
    manifest_digest: str
    description: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    run: RunRef | None = None
    ttl_seconds: int | None = Field(default=None, ge=0, le=MAX_INT64)


class VersionUpdate(RequestBody):
    description: str | None = None
    metadata: dict[str, Any] | None = None
    aliases: list[str] | None = None
    tags: list[str] | None = None


class AliasTarget(RequestBody):
    version: str


class VersionPublic(BaseModel):
    """A version of a project collection, or a link in a registry portfolio (`registry`
    set, `project` null, `source` naming the project version it links to)."""

    id: int
    project: str | None
    registry: str | None = None
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
    source: str | None = None
    updated_at: datetime


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
    project: str | None
    registry: str | None = None
    name: str
    type: str
    description: str
    tags: list[str]
    version_count: int
    created_at: datetime
    updated_at: datetime


class CollectionUpdate(RequestBody):
    description: str | None = None
    tags: list[str] | None = None


class ProjectPublic(BaseModel):
    name: str
    created_at: datetime


class StorageUsage(BaseModel):
    project: str
    versions: int
    blobs: int
    bytes: int
    reclaimable_bytes: int


class RunCreate(RequestBody):
    id: str | None = None
    name: str = ""
    job_type: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    resume: bool | Literal["allow", "must", "never"] = Field(
        default=False,
        description="'allow': continue the run with this id (or, without an id, the latest "
        "run of this name) if there is one, else start it; 'must': continue it or fail; "
        "'never' (false): start a new run; true means 'allow'",
    )
    # When the run really started, for runs logged offline and uploaded later; a
    # resumed run keeps its own.
    created_at: UtcDatetime | None = None


class RunUpdate(RequestBody):
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


# TypedDicts rather than models: a request carries thousands of points, validated
# straight from its bytes into plain dicts (registry/api/bodies.py).
class MetricPoint(TypedDict):
    """One logged value; a timestamp without an offset is UTC. NaN and the infinities
    are the strings "NaN", "Infinity" and "-Infinity" (JSON has no numbers for them)."""

    key: Annotated[str, Field(min_length=1, max_length=256)]
    step: Annotated[int, Field(ge=0, le=MAX_INT64)]
    value: Annotated[
        float,
        Field(allow_inf_nan=True),
        BeforeValidator(_nonfinite_from_wire),
        PlainSerializer(nonfinite.to_wire, when_used="json"),
    ]
    timestamp: UtcDatetime


class MetricBatch(TypedDict):
    points: list[MetricPoint]
    # NaN and infinite values are refused unless the sender says it means them.
    allow_nonfinite: NotRequired[bool]


class RunInputCreate(RequestBody):
    """The version a run used: `project` or `registry` names the collection's owner."""

    project: str | None = None
    registry: str | None = None
    collection: str
    version: str


class RegistryCreate(RequestBody):
    name: str
    description: str = ""
    allowed_types: list[str] = Field(default_factory=list, max_length=100)
    visibility: str = "organization"
    protected_aliases: list[str] = Field(default_factory=list, max_length=100)


class RegistryUpdate(RequestBody):
    description: str | None = None
    allowed_types: list[str] | None = Field(default=None, max_length=100)
    visibility: str | None = None
    protected_aliases: list[str] | None = Field(default=None, max_length=100)


class RegistryPublic(BaseModel):
    name: str
    description: str
    allowed_types: list[str]
    visibility: str
    protected_aliases: list[str]
    created_at: datetime
    updated_at: datetime


class LinkCreate(RequestBody):
    """The project version to link, and portfolio aliases to give it."""

    project: str
    collection: str
    version: str = "latest"
    aliases: list[str] = Field(default_factory=list, max_length=100)


class LineageNode(BaseModel):
    id: str = Field(description="'version:<project>/<collection>:v<N>' or 'run:<project>/<id>'")
    kind: str
    name: str
    project: str
    type: str | None = None
    state: str
    depth: int


class LineageEdge(BaseModel):
    source: str
    target: str
    kind: str = Field(description="'uses' (version -> run) or 'logs' (run -> version)")


class LineagePublic(BaseModel):
    root: str
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool


class QueryRequest(RequestBody):
    """A search: `filter` in the filter language (see registry/query), within an
    optional project, registry or collection; `registry_filter` and
    `collection_filter` narrow a search of versions to matching registries and
    collections. Pages continue from `cursor` (the previous page's `next_cursor`)."""

    filter: dict[str, Any] | None = None
    project: str | None = None
    collection: str | None = None
    registry: str | None = None
    registry_filter: dict[str, Any] | None = None
    collection_filter: dict[str, Any] | None = None
    sort: str = "id"
    order: str = "asc"
    limit: int = Field(default=100, ge=1, le=1000)
    cursor: str | None = Field(default=None, max_length=4096)


class RegistryPage(BaseModel):
    items: list[RegistryPublic]
    next_cursor: str | None


class CollectionPage(BaseModel):
    items: list[CollectionPublic]
    next_cursor: str | None


class VersionPage(BaseModel):
    items: list[VersionPublic]
    next_cursor: str | None


class RunPage(BaseModel):
    items: list[RunPublic]
    next_cursor: str | None


class UploadSlotsRequest(RequestBody):
    """`count` slots for packs of small blobs, and a URL for each large blob in `digests`."""

    count: int = Field(default=0, ge=0, le=1000)
    digests: list[str] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _asks_for_something(self) -> "UploadSlotsRequest":
        if self.count == 0 and not self.digests:
            raise ValueError("ask for at least one slot (count) or blob URL (digests)")
        return self


class UploadSlot(BaseModel):
    token: str
    url: str


class UploadSlots(BaseModel):
    """Where a client may put blob bytes itself. `direct` false: the store cannot
    presign, and bytes go through `PUT /blobs/{digest}` and `POST /blobs/batch`.

    `slots` take packs of small blobs. `blobs` has a URL per asked digest the store
    does not hold yet, naming the blob's own key: a PUT there creates the object only
    if the key is free (answered 412 otherwise: then another client put something
    there; completing re-hashes it). Every PUT must carry `headers` (they are signed).
    """

    direct: bool
    slots: list[UploadSlot]
    blobs: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    pack_max_bytes: int


class UploadsDone(RequestBody):
    """What the client put: large blobs under their digests' keys, packs in slots."""

    digests: list[str] = Field(default_factory=list, max_length=1000)
    packs: list[str] = Field(default_factory=list, max_length=1000)


class DownloadUrls(BaseModel):
    """Where a client may read each blob itself; `direct` false: through the service."""

    direct: bool
    urls: dict[str, str]


class ApiKeyCreate(RequestBody):
    name: str
    role: str = "read"


class ApiKeyPublic(BaseModel):
    """A key as listed: never its secret nor the secret's hash."""

    id: int
    name: str
    role: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(BaseModel):
    key: ApiKeyPublic
    # Shown this once; only its hash is stored.
    secret: str


class MemberUpdate(RequestBody):
    role: str = "member"


class MemberPublic(BaseModel):
    key: str
    role: str
    created_at: datetime


class AliasMovePublic(BaseModel):
    """One change of an alias: `from_version` null when it was added, `to_version`
    null when it was removed."""

    id: int
    collection: str
    alias: str
    from_version: str | None
    to_version: str | None
    actor: str
    created_at: datetime


class ErrorMessage(BaseModel):
    """Every refusal: a message naming the problem."""

    detail: str


class ValidationProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class InvalidRequest(BaseModel):
    """422: a message, or (a body or parameter of the wrong shape) one problem per place."""

    detail: str | list[ValidationProblem]
