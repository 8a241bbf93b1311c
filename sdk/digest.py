"""File digests: xxh3-128, lowercase hex. Shared by the SDK and the service."""

import os
import re
from typing import BinaryIO

import xxhash

ALGORITHM = "xxh3-128"
CHUNK_SIZE = 1024 * 1024

Hasher = xxhash.xxh3_128


_DIGEST = re.compile(r"[0-9a-f]{32}")


def is_digest(value: object) -> bool:
    return isinstance(value, str) and _DIGEST.fullmatch(value) is not None


def hash_bytes(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def hash_stream(stream: BinaryIO) -> tuple[str, int]:
    """Digest and size of everything left in `stream`, read in bounded chunks."""
    hasher = Hasher()
    size = 0
    while chunk := stream.read(CHUNK_SIZE):
        hasher.update(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    with open(path, "rb", buffering=0) as stream:
        return hash_stream(stream)
