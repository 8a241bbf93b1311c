"""Artifact manifests: `path -> entry`, their canonical bytes and the artifact digest.

Shared by the SDK (which builds manifests) and the service (which re-validates every
manifest it is asked to commit, never trusting the client).

Wire form, canonical JSON (sorted keys, no spaces, UTF-8):

    {"entries": {"a/b.txt": {"digest": "...", "size": 3},
                 "params.json": {"digest": "...", "serializer": "json", "size": 8},
                 "shards/0": {"digest": "...", "extra": {...}, "ref": "s3://...", "size": 9}},
     "hash": "xxh3-128", "version": 1}

The artifact digest is xxh3-128 over, for each entry in path order,
`path NUL digest NUL ref LF` (ref empty for stored files); sizes, extras, serializers
and metadata do not count.
"""

import json
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sdk.digest import ALGORITHM, Hasher, is_digest

MANIFEST_VERSION = 1
REFERENCE_SCHEMES = ("file://", "http://", "https://", "s3://", "gs://")
MAX_PATH_LENGTH = 4096
SERIALIZER_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ManifestError(ValueError):
    """A manifest, path or entry is malformed."""


# Anything `normalize_path` refuses matches this; most paths don't, and skip the details.
_SUSPECT_PATH = re.compile(r"^$|^/|//|/$|[\\\x00\n\r]|(^|/)\.\.?(/|$)")


def normalize_path(path: str) -> str:
    """Validate an artifact path and return its normal form (Unicode NFC).

    Refused: empty paths, absolute paths, backslashes, NUL, empty, `.` or `..`
    segments. Two paths with the same normal form are the same path.
    """
    if isinstance(path, str) and len(path) <= MAX_PATH_LENGTH and not _SUSPECT_PATH.search(path):
        return path if path.isascii() else unicodedata.normalize("NFC", path)
    if not isinstance(path, str) or not path:
        raise ManifestError("artifact path must be a non-empty string")
    if len(path) > MAX_PATH_LENGTH:
        raise ManifestError(f"artifact path is longer than {MAX_PATH_LENGTH} characters")
    if "\x00" in path:
        raise ManifestError(f"artifact path {path!r} contains NUL")
    if "\\" in path:
        raise ManifestError(f"artifact path {path!r} contains a backslash; use '/'")
    if path.startswith("/"):
        raise ManifestError(f"artifact path {path!r} is absolute; paths are relative")
    if any(c in path for c in "\n\r"):
        raise ManifestError(f"artifact path {path!r} contains a line break")
    for segment in path.split("/"):
        if segment == "":
            raise ManifestError(f"artifact path {path!r} has an empty segment")
        if segment in (".", ".."):
            raise ManifestError(f"artifact path {path!r} has a '{segment}' segment")
    return unicodedata.normalize("NFC", path)


@dataclass(frozen=True)
class Entry:
    """One file of an artifact: stored (`ref` is None) or a tracked reference.

    A stored file written by `Artifact.add_object` names its `serializer`."""

    digest: str
    size: int
    ref: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    serializer: str | None = None

    def to_wire(self) -> dict[str, Any]:
        if self.ref is None:
            wire: dict[str, Any] = {"digest": self.digest, "size": self.size}
            if self.serializer is not None:
                wire["serializer"] = self.serializer
            return wire
        return {"digest": self.digest, "extra": self.extra, "ref": self.ref, "size": self.size}

    @classmethod
    def from_wire(cls, path: str, data: Any) -> "Entry":
        if not isinstance(data, dict):
            raise ManifestError(f"entry {path!r} must be an object")
        digest, size, ref = data.get("digest"), data.get("size"), data.get("ref")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestError(f"entry {path!r} has no valid 'size'")
        if ref is None:
            if not isinstance(digest, str) or not is_digest(digest):
                raise ManifestError(f"entry {path!r} has no valid {ALGORITHM} 'digest'")
            if set(data) - {"digest", "size", "serializer"}:
                raise ManifestError(f"entry {path!r} has unknown fields")
            serializer = data.get("serializer")
            if serializer is not None and not (
                isinstance(serializer, str) and SERIALIZER_NAME.match(serializer)
            ):
                raise ManifestError(f"entry {path!r} has an invalid 'serializer'")
            return cls(digest=digest, size=size, serializer=serializer)
        check_reference(ref)
        if not isinstance(digest, str) or not digest or len(digest) > 256 or "\x00" in digest:
            raise ManifestError(f"reference entry {path!r} has no valid 'digest'")
        extra = data.get("extra", {})
        if not isinstance(extra, dict):
            raise ManifestError(f"entry {path!r} 'extra' must be an object")
        return cls(digest=digest, size=size, ref=ref, extra=extra)


def check_reference(ref: Any) -> str:
    if not isinstance(ref, str) or not ref.startswith(REFERENCE_SCHEMES):
        schemes = ", ".join(REFERENCE_SCHEMES)
        raise ManifestError(f"reference {ref!r} must start with one of {schemes}")
    if any(c in ref for c in "\x00\n\r"):
        raise ManifestError(f"reference {ref!r} contains a control character")
    return ref


class Manifest:
    """An ordered, validated mapping of normalized paths to entries."""

    def __init__(self, entries: Mapping[str, Entry] | None = None) -> None:
        self._entries: dict[str, Entry] = {}
        self._sorted: list[tuple[str, Entry]] | None = None
        for path, entry in (entries or {}).items():
            self.add(path, entry)

    def add(self, path: str, entry: Entry, *, overwrite: bool = False) -> str:
        path = normalize_path(path)
        if path in self._entries and not overwrite:
            raise ManifestError(f"artifact path {path!r} is given twice")
        self._entries[path] = entry
        self._sorted = None
        return path

    def remove(self, path: str) -> Entry:
        entry = self._entries.pop(normalize_path(path))
        self._sorted = None
        return entry

    def get(self, path: str) -> Entry | None:
        return self._entries.get(normalize_path(path))

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and normalize_path(path) in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def items(self) -> Iterator[tuple[str, Entry]]:
        return iter(self._sorted_items())

    def paths(self) -> list[str]:
        return [path for path, _ in self._sorted_items()]

    def page(self, prefix: str, offset: int, limit: int) -> tuple[list[tuple[str, Entry]], int]:
        """Entries under `prefix` from `offset`, at most `limit`, and how many there are."""
        ordered = self._sorted_items()
        start = bisect_left(ordered, (prefix,))
        end = bisect_left(ordered, (prefix + "\U0010ffff",)) if prefix else len(ordered)
        return ordered[start + offset : min(end, start + offset + limit)], end - start

    def _sorted_items(self) -> list[tuple[str, Entry]]:
        if self._sorted is None:
            self._sorted = sorted(self._entries.items())
        return self._sorted

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self._entries.values())

    def stored_digests(self) -> set[str]:
        return {entry.digest for entry in self._entries.values() if entry.ref is None}

    def digest(self) -> str:
        hasher = Hasher()
        for path, entry in self.items():
            hasher.update(f"{path}\x00{entry.digest}\x00{entry.ref or ''}\n".encode())
        return hasher.hexdigest()

    def to_bytes(self) -> bytes:
        document = {
            "entries": {path: entry.to_wire() for path, entry in self.items()},
            "hash": ALGORITHM,
            "version": MANIFEST_VERSION,
        }
        return json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Manifest":
        try:
            document = json.loads(data, object_pairs_hook=_refuse_duplicate_keys)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ManifestError(f"manifest is not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ManifestError("manifest must be a JSON object")
        if document.get("hash") != ALGORITHM:
            raise ManifestError(f"manifest 'hash' must be {ALGORITHM!r}")
        if document.get("version") != MANIFEST_VERSION:
            raise ManifestError(f"manifest 'version' must be {MANIFEST_VERSION}")
        entries = document.get("entries")
        if not isinstance(entries, dict):
            raise ManifestError("manifest 'entries' must be an object")
        manifest = cls()
        for path, data_entry in entries.items():
            manifest.add(path, Entry.from_wire(path, data_entry))
        return manifest


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                raise ManifestError(f"manifest names {key!r} twice")
            seen.add(key)
    return result
