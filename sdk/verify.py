"""Comparing a local folder with a manifest, file by file, by content."""

from pathlib import Path

from sdk.digest import hash_file
from sdk.local_files import walk
from sdk.manifest import Entry, Manifest


def differences(root: Path, manifest: Manifest) -> list[str]:
    """What keeps `root` from holding exactly the manifest's files: missing, modified
    and unexpected ones. References are compared by content unless tracked by ETag."""
    present = {relative: path for path, relative in walk(root)} if root.is_dir() else {}
    problems = []
    for path, entry in manifest.items():
        local = present.pop(path, None)
        if local is None:
            problems.append(f"missing {path}")
        elif _content_tracked(entry) and hash_file(local) != (entry.digest, entry.size):
            problems.append(f"modified {path}")
    problems += [f"unexpected {relative}" for relative in sorted(present)]
    return problems


def _content_tracked(entry: Entry) -> bool:
    return entry.ref is None or "etag" not in entry.extra
