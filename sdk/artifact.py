"""`Artifact`: a draft you build from files, or a committed version fetched from the server.

Building a draft touches no network: each added file is hashed where it lies and
recorded in the manifest. `Run.log_artifact` (or `save()`) uploads what the server
lacks and commits the version.
"""

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sdk import references, serializers
from sdk.artifact_types import TYPE_RULE, is_type_name
from sdk.connection import Connection, default_connection
from sdk.digest import hash_bytes
from sdk.download import cached_blob, download_entries, remove_extra_files
from sdk.errors import IntegrityError, NotFoundError, ValidationError
from sdk.hash_cache import HashCache, hash_cache_for
from sdk.lineage import Lineage
from sdk.local_files import hash_files, walk
from sdk.manifest import Entry, Manifest, ManifestError, normalize_path
from sdk.paths import parse_artifact_path
from sdk.progress import Progress
from sdk.run_info import RunInfo
from sdk.settings import ClientSettings
from sdk.upload import BlobSource, upload_missing
from sdk.verify import changed_references, differences

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
FILES_PAGE = 1000


@dataclass(frozen=True)
class ArtifactEntry:
    """One file of an artifact, as `get_entry()` and `files()` return it."""

    path: str
    digest: str
    size: int
    ref: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    local_path: str | None = None
    serializer: str | None = None


class Artifact:
    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValidationError(
                f"invalid artifact name {name!r}: use 1-128 letters, digits, '.', '_' or '-'"
            )
        if not is_type_name(type):
            raise ValidationError(f"invalid artifact type {type!r}: {TYPE_RULE}")
        self._collection = name
        self._type = type
        self._description = description or ""
        self._metadata: dict[str, Any] = dict(metadata or {})
        self._aliases: list[str] = []
        self._tags: list[str] = []
        self._ttl: timedelta | None = None
        self._manifest: Manifest | None = Manifest()
        self._local_paths: dict[str, str] = {}
        self._tmp_dir: str | None = None
        self._record: dict[str, Any] | None = None
        self._conn: Connection | None = None

    # ---- construction from the server -------------------------------------------------

    @classmethod
    def _from_record(cls, conn: Connection, record: dict[str, Any]) -> "Artifact":
        artifact = cls(record["collection"], record["type"])
        artifact._conn = conn
        artifact._manifest = None  # fetched on first use
        artifact._apply(record)
        return artifact

    def _apply(self, record: dict[str, Any]) -> None:
        self._record = record
        self._description = record["description"]
        self._metadata = dict(record["metadata"])
        self._aliases = list(record["aliases"])
        self._tags = list(record["tags"])
        ttl = record.get("ttl_seconds")
        self._ttl = timedelta(seconds=ttl) if ttl is not None else None

    # ---- properties -------------------------------------------------------------------

    @property
    def name(self) -> str:
        """`collection:vN` once committed, the collection name while a draft."""
        return f"{self._collection}:{self.version}" if self._record else self._collection

    @property
    def type(self) -> str:
        return self._type

    @property
    def project(self) -> str | None:
        """The project holding this version (None for a registry's link)."""
        return self._record["project"] if self._record else None

    @property
    def registry(self) -> str | None:
        """The registry holding this link (None for a project's version)."""
        return self._record.get("registry") if self._record else None

    @property
    def source_name(self) -> str | None:
        """For a registry link, the project version it links to (`project/name:vN`)."""
        return self._record.get("source") if self._record else None

    @property
    def version(self) -> str | None:
        return self._record["version"] if self._record else None

    @property
    def qualified_name(self) -> str | None:
        return self._record["qualified_name"] if self._record else None

    @property
    def id(self) -> int | None:
        return self._record["id"] if self._record else None

    @property
    def state(self) -> str:
        return self._record["state"] if self._record else "PENDING"

    @property
    def digest(self) -> str:
        return self._record["digest"] if self._record else self.manifest.digest()

    @property
    def size(self) -> int:
        return self._record["size"] if self._record else self.manifest.size

    @property
    def file_count(self) -> int:
        return self._record["file_count"] if self._record else len(self.manifest)

    @property
    def created_at(self) -> datetime | None:
        return datetime.fromisoformat(self._record["created_at"]) if self._record else None

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            self._manifest = self._fetch_manifest()
        return self._manifest

    @property
    def description(self) -> str:
        return self._description

    @description.setter
    def description(self, value: str) -> None:
        self._description = value

    @property
    def metadata(self) -> dict[str, Any]:
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._metadata = dict(value)

    @property
    def aliases(self) -> list[str]:
        return self._aliases

    @aliases.setter
    def aliases(self, value: list[str]) -> None:
        self._aliases = list(value)

    @property
    def tags(self) -> list[str]:
        return self._tags

    @tags.setter
    def tags(self, value: list[str]) -> None:
        self._tags = list(value)

    @property
    def ttl(self) -> timedelta | None:
        return self._ttl

    @ttl.setter
    def ttl(self, value: timedelta | None) -> None:
        self._ttl = value

    # ---- building a draft -------------------------------------------------------------

    def add_file(
        self, local_path: str | os.PathLike[str], name: str | None = None, overwrite: bool = False
    ) -> ArtifactEntry:
        """Add one local file, hashed where it lies; `name` is its path in the artifact."""
        self._ensure_draft()
        path = Path(local_path)
        if not path.is_file():
            raise NotFoundError(f"{path} is not a file")
        return self._add_local(path, path.name if name is None else name, overwrite)

    def _add_local(
        self, path: Path, name: str, overwrite: bool, serializer: str | None = None
    ) -> ArtifactEntry:
        [local] = hash_files([(str(path.resolve()), path.name)], _hash_cache())
        entry = Entry(digest=local.digest, size=local.size, serializer=serializer)
        return self._entry(self._add(name, entry, local.path, overwrite), entry)

    def add_dir(self, local_path: str | os.PathLike[str], name: str | None = None) -> None:
        """Add every file under a local directory, under `name/` in the artifact."""
        self._ensure_draft()
        root = Path(local_path)
        if not root.is_dir():
            raise NotFoundError(f"{root} is not a directory")
        prefix = f"{name.strip('/')}/" if name else ""
        for local in hash_files(walk(root), _hash_cache()):
            entry = Entry(digest=local.digest, size=local.size)
            self._add(prefix + local.relative, entry, local.path, overwrite=False)

    def add_reference(
        self, uri: str, name: str | None = None, max_objects: int | None = None
    ) -> list[ArtifactEntry]:
        """Track files by URI without copying them (`file://`, `http(s)://`, `s3://`,
        `gs://`; a folder or prefix expands to its files, at most `max_objects`)."""
        self._ensure_draft()
        return [
            self._entry(self._add(path, entry, None, overwrite=False), entry)
            for path, entry in references.resolve(uri, name, max_objects)
        ]

    @contextmanager
    def new_file(
        self, name: str, mode: str = "x", encoding: str | None = None
    ) -> Iterator[IO[Any]]:
        """Write a new file into the artifact: `with art.new_file("a.txt") as f: ...`."""
        self._ensure_draft()
        path = self._scratch_path(name)
        with open(path, mode, encoding=encoding) as handle:
            yield handle
        self.add_file(path, name=name)

    def add_object(
        self,
        obj: Any,
        name: str,
        serializer: str | None = None,
        *,
        allow_pickle: bool = False,
        overwrite: bool = False,
    ) -> ArtifactEntry:
        """Store a Python object at `name`, written by a serializer (`sdk.serializers`):
        the one named, else `numpy` for arrays, `text` for a str, `json` for JSON-safe
        values. `pickle` only with `allow_pickle=True`. `get(name)` reads it back."""
        self._ensure_draft()
        chosen = serializers.for_object(obj, serializer, allow_pickle)
        path = self._scratch_path(name, overwrite)
        with open(path, "wb") as out:
            chosen.dump(obj, out)
        return self._add_local(path, name, overwrite, serializer=chosen.name)

    def add_figure(self, name: str, figure: Any, overwrite: bool = False) -> ArtifactEntry:
        """Store a matplotlib figure as a PNG image at `name`."""
        self._ensure_draft()
        if not callable(getattr(figure, "savefig", None)):
            raise ValidationError(
                f"add_figure needs a matplotlib figure, not a {type(figure).__name__}"
            )
        path = self._scratch_path(name, overwrite)
        figure.savefig(path, format="png")
        return self._add_local(path, name, overwrite)

    def get(self, name: str, allow_pickle: bool = False) -> Any:
        """The object `add_object` stored at `name`, read with the serializer its entry
        names (a `pickle` entry only with `allow_pickle=True`)."""
        path = self._checked_path(name)
        entry = self.manifest.get(path)
        if entry is None:
            raise NotFoundError(f"{name!r} is not in artifact {self.name}")
        if entry.serializer is None:
            raise ValidationError(
                f"{name!r} in artifact {self.name} is a file, not an object from add_object; "
                "use download() or file()"
            )
        chosen = serializers.named(entry.serializer)
        serializers.check_allowed(chosen, allow_pickle)
        if self._record is None:
            local = self._local_paths.get(path)
            if local is None:  # a file new_draft() kept from the version it started from
                raise ValidationError(f"{name!r} can be read once the draft is logged")
        else:
            conn = self._server()
            local = str(cached_blob(conn.client, conn.cache, entry.digest, entry.size))
        with open(local, "rb") as source:
            return chosen.load(source)

    def _scratch_path(self, name: str, overwrite: bool = False) -> Path:
        """Where a file written into this draft lives until the draft is committed."""
        path = self._checked_path(name)
        if path in self.manifest and not overwrite:
            raise ValidationError(f"artifact path {path!r} is given twice")
        if self._tmp_dir is None:
            self._tmp_dir = tempfile.mkdtemp(prefix="strata-artifact-")
        scratch = Path(self._tmp_dir, path)
        scratch.parent.mkdir(parents=True, exist_ok=True)
        return scratch

    def remove(self, item: "str | ArtifactEntry") -> None:
        self._ensure_draft()
        path = item.path if isinstance(item, ArtifactEntry) else item
        try:
            self.manifest.remove(path)
        except KeyError:
            raise NotFoundError(f"{path!r} is not in artifact {self.name}") from None
        self._local_paths.pop(self._checked_path(path), None)

    def get_entry(self, name: str) -> ArtifactEntry:
        entry = self.manifest.get(self._checked_path(name))
        if entry is None:
            raise NotFoundError(f"{name!r} is not in artifact {self.name}")
        return self._entry(self._checked_path(name), entry)

    def files(self, names: list[str] | None = None) -> list[ArtifactEntry]:
        wanted = {self._checked_path(n) for n in names} if names else None
        return [
            self._entry(path, entry)
            for path, entry in self.manifest.items()
            if wanted is None or path in wanted
        ]

    def _add(self, path: str, entry: Entry, local: str | None, overwrite: bool) -> str:
        """Record an entry (and where its bytes lie locally); returns the normalized path."""
        try:
            path = self.manifest.add(path, entry, overwrite=overwrite)
        except ManifestError as exc:
            raise ValidationError(str(exc)) from None
        if local is not None:
            self._local_paths[path] = local
        return path

    def _entry(self, path: str, entry: Entry) -> ArtifactEntry:
        local = self._local_paths.get(path)
        return ArtifactEntry(
            path=path,
            digest=entry.digest,
            size=entry.size,
            ref=entry.ref,
            extra=dict(entry.extra),
            local_path=local,
            serializer=entry.serializer,
        )

    @staticmethod
    def _checked_path(path: str) -> str:
        try:
            return normalize_path(path)
        except ManifestError as exc:
            raise ValidationError(str(exc)) from None

    def _ensure_draft(self) -> None:
        if self._record is not None:
            raise ValidationError(
                f"artifact {self.qualified_name} is committed and cannot change; "
                "use new_draft() to build the next version"
            )

    def new_draft(self) -> "Artifact":
        """A draft holding this version's files, to add or remove some and log anew."""
        draft = Artifact(self._collection, self._type, self._description, self._metadata)
        draft._manifest = Manifest(dict(self.manifest.items()))
        draft._local_paths = dict(self._local_paths)
        return draft

    # ---- committing ---------------------------------------------------------------------

    def _commit(
        self,
        conn: Connection,
        project: str,
        *,
        aliases: list[str],
        tags: list[str],
        run: dict[str, str] | None,
        progress: Progress | None = None,
    ) -> None:
        """Upload the missing blobs, then commit the version (`Run.log_artifact` calls this)."""
        self._ensure_draft()
        manifest_bytes = self.manifest.to_bytes()
        manifest_digest = hash_bytes(manifest_bytes)
        body = {
            "type": self._type,
            "manifest_digest": manifest_digest,
            "description": self._description,
            "metadata": self._metadata,
            "aliases": list(dict.fromkeys([*self._aliases, *aliases])),
            "tags": list(dict.fromkeys([*self._tags, *tags])),
            "run": run,
            "ttl_seconds": int(self._ttl.total_seconds()) if self._ttl is not None else None,
        }
        url = f"{self._collection_url(project)}/versions"
        result = None
        known = conn.client.post(
            "/blobs/missing", json={"digests": [manifest_digest]}, idempotent=True
        )
        if not known["digests"]:
            # The server knows this exact manifest, so usually every blob too: try the
            # commit before listing thousands of digests; it re-checks them all.
            try:
                result = conn.client.post(url, json=body, idempotent=True)
            except ValidationError:
                result = None
        sources = self._blob_sources(manifest_digest, manifest_bytes)
        for attempt in range(COMMIT_ATTEMPTS):
            if result is not None:
                break
            upload_missing(conn.client, sources, progress)
            try:
                result = conn.client.post(url, json=body, idempotent=True)
            except ValidationError as exc:
                # Garbage collection deleted a blob between upload and commit (it had
                # been recorded longer ago than the grace period): upload it again.
                if NOT_UPLOADED not in exc.message or attempt + 1 == COMMIT_ATTEMPTS:
                    raise
        assert result is not None
        self._conn = conn
        self._apply(result["version"])
        self._cleanup_tmp()

    def _blob_sources(self, manifest_digest: str, manifest_bytes: bytes) -> dict[str, BlobSource]:
        sources = {
            manifest_digest: BlobSource(manifest_digest, len(manifest_bytes), data=manifest_bytes)
        }
        for path, entry in self.manifest.items():
            if entry.ref is None and entry.digest not in sources:
                local = self._local_paths.get(path)
                sources[entry.digest] = BlobSource(entry.digest, entry.size, path=local)
        return sources

    def _cleanup_tmp(self) -> None:
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)
            self._tmp_dir = None
            self._local_paths = {}

    def save(self, project: str | None = None, progress: Progress | None = None) -> "Artifact":
        """Commit a draft (without a run), or push edits of a committed version:
        description, metadata, aliases, tags."""
        if self._record is None:
            conn = self._conn or default_connection()
            self._commit(
                conn,
                project or conn.settings.project,
                aliases=[],
                tags=[],
                run=None,
                progress=progress,
            )
            return self
        body = {
            "description": self._description,
            "metadata": self._metadata,
            "aliases": self._aliases,
            "tags": self._tags,
        }
        self._apply(self._server().client.patch(self._version_url(), json=body))
        return self

    def wait(self, timeout: float | None = None) -> "Artifact":
        """Commits are synchronous: a logged artifact is already committed."""
        if self._record is None:
            raise ValidationError(f"artifact {self.name} has not been logged")
        return self

    def delete(self, delete_aliases: bool = False) -> None:
        self._server().client.delete(self._version_url(), params={"delete_aliases": delete_aliases})
        self._record = {**self._record, "state": "DELETED"}  # type: ignore[dict-item]

    # ---- registries ---------------------------------------------------------------------

    def link(self, target_path: str, aliases: list[str] | None = None) -> "Artifact":
        """Link this version into a registry collection, `@registry/collection`, with
        portfolio aliases; returns the link. Linking again only adds the aliases."""
        conn = self._server()
        target = parse_artifact_path(target_path, None)
        if target.registry is None or ":" in target_path:
            raise ValidationError(
                f"link target must be a registry collection like '@models/name', "
                f"not {target_path!r}"
            )
        source = parse_artifact_path(self.source_name or self.qualified_name or "", None)
        body = {
            "project": source.project,
            "collection": source.collection,
            "version": source.selector,
            "aliases": list(aliases or []),
        }
        result = conn.client.post(f"{target.collection_url}/links", json=body)
        return Artifact._from_record(conn, result["version"])

    def unlink(self) -> None:
        """Remove this link from its registry collection (with its aliases); the
        project version it points at stays."""
        if self.registry is None:
            raise ValidationError(
                f"{self.qualified_name} is a project version, not a registry link; "
                "fetch it as '@registry/collection:selector' to unlink it"
            )
        self._server().client.delete(self._version_url())
        self._record = {**self._record, "state": "DELETED"}  # type: ignore[dict-item]

    # ---- lineage --------------------------------------------------------------------------

    def lineage(self, direction: str = "both", depth: int | None = None) -> Lineage:
        """Runs and versions `depth` edges up- and/or downstream (all without `depth`).
        A registry link's lineage is that of the version it links to."""
        params: dict[str, Any] = {"direction": direction}
        if depth is not None:
            params["depth"] = depth
        record = self._server().client.get(f"{self._version_url()}/lineage", params=params)
        return Lineage.from_record(record)

    def logged_by(self) -> RunInfo | None:
        producer = self._committed_record()["producer_run"]
        if producer is None:
            return None
        return RunInfo.fetch(self._server(), producer["project"], producer["id"])

    def used_by(self) -> list[RunInfo]:
        records = self._server().client.get(f"{self._version_url()}/consumers")
        return [RunInfo(self._server(), record) for record in records]

    # ---- files out --------------------------------------------------------------------

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        path_prefix: str | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Write the files (those under `path_prefix`) to `root`; returns root.

        Blobs come through the verified cache; a corrupt one raises IntegrityError."""
        conn = self._server()
        target = Path(root) if root is not None else self._default_root()
        entries = [
            (path, entry)
            for path, entry in self.manifest.items()
            if path_prefix is None or path.startswith(path_prefix)
        ]
        download_entries(conn.client, conn.cache, entries, target, progress)
        return str(target)

    def file(self, root: str | os.PathLike[str] | None = None) -> str:
        """Download a single-file artifact and return the file's path."""
        if self.file_count != 1:
            raise ValidationError(
                f"artifact {self.name} holds {self.file_count} files; file() needs exactly one"
            )
        root_path = self.download(root)
        return str(Path(root_path, self.manifest.paths()[0]))

    def checkout(self, root: str | os.PathLike[str] | None = None) -> str:
        """Make `root` hold exactly this version's files: download, then delete extras."""
        root_path = Path(self.download(root))
        remove_extra_files(root_path, set(self.manifest.paths()))
        return str(root_path)

    def verify(self, root: str | os.PathLike[str] | None = None) -> None:
        """Raise IntegrityError unless `root` holds exactly this version's files,
        unmodified, and every referenced source still holds what was logged."""
        root_path = Path(root) if root is not None else self._default_root()
        problems = differences(root_path, self.manifest) + changed_references(self.manifest)
        if problems:
            shown = "; ".join(problems[:10])
            raise IntegrityError(f"{root_path} does not match {self.name}: {shown}")

    # ---- helpers ----------------------------------------------------------------------

    def _default_root(self) -> Path:
        return Path("artifacts", f"{self._collection}:{self.version}")

    def _server(self) -> Connection:
        self._committed_record()
        assert self._conn is not None
        return self._conn

    def _committed_record(self) -> dict[str, Any]:
        if self._record is None:
            raise ValidationError(f"artifact {self.name} has not been logged yet")
        return self._record

    def _collection_url(self, project: str) -> str:
        return f"/projects/{project}/collections/{self._collection}"

    def _version_url(self) -> str:
        path = parse_artifact_path(self._committed_record()["qualified_name"], None)
        return f"{path.collection_url}/versions/{path.selector}"

    def _fetch_manifest(self) -> Manifest:
        conn = self._server()
        digest = self._committed_record()["manifest_digest"]
        with conn.client.stream("GET", f"/blobs/{digest}") as chunks:
            data = b"".join(chunks)
        if hash_bytes(data) != digest:
            raise IntegrityError(f"manifest of {self.qualified_name} arrived corrupt")
        try:
            return Manifest.from_bytes(data)
        except ManifestError as exc:
            raise IntegrityError(f"manifest of {self.qualified_name}: {exc}") from None

    def __repr__(self) -> str:
        return f"<Artifact {self.qualified_name or self.name} type={self._type}>"


# A commit finding blobs gone (collected meanwhile) uploads them again this often.
COMMIT_ATTEMPTS = 5
NOT_UPLOADED = "not been uploaded"


def _hash_cache() -> HashCache:
    return hash_cache_for(ClientSettings().cache_dir)


def fetch_artifact(conn: Connection, path: str) -> Artifact:
    """Resolve `[project/]name[:selector]` or `@registry/name[:selector]`."""
    parsed = parse_artifact_path(path, conn.settings.project)
    record = conn.client.get(f"{parsed.collection_url}/versions/{parsed.selector}")
    return Artifact._from_record(conn, record)
