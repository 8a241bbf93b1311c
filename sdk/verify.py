"""Comparing a local folder with a manifest, file by file, by content, and checking
that referenced sources still hold what was logged."""

import os
from pathlib import Path

from sdk import references
from sdk.digest import hash_file
from sdk.local_files import walk
from sdk.manifest import Entry, Manifest

# References whose digest is the xxh3-128 of their bytes (else a store's checksum).
CONTENT_HASHED = ("file://", "http://", "https://")


def differences(root: Path, manifest: Manifest) -> list[str]:
    """What keeps `root` from holding exactly the manifest's files: missing, modified
    and unexpected ones. References are compared by content where their digest is an
    xxh3-128, else by size."""
    present = {relative: path for path, relative in walk(root)} if root.is_dir() else {}
    problems = []
    for path, entry in manifest.items():
        local = present.pop(path, None)
        if local is None:
            problems.append(f"missing {path}")
        elif _content_tracked(entry):
            if hash_file(local) != (entry.digest, entry.size):
                problems.append(f"modified {path}")
        elif os.path.getsize(local) != entry.size:
            problems.append(f"modified {path}")
    problems += [f"unexpected {relative}" for relative in sorted(present)]
    return problems


def changed_references(manifest: Manifest) -> list[str]:
    """References whose source no longer holds the logged bytes (or version)."""
    found = (references.changed(path, e) for path, e in manifest.items() if e.ref is not None)
    return [problem for problem in found if problem is not None]


def _content_tracked(entry: Entry) -> bool:
    if entry.ref is None:
        return True
    return entry.ref.startswith(CONTENT_HASHED) and "etag" not in entry.extra
