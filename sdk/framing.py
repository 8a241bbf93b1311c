"""Many blobs in one HTTP body, both ways: `[16-byte digest][8-byte size][bytes]...`.

Small files dominate datasets; one request per 4 KiB file is bound by round trips,
so the SDK sends and fetches them in framed batches.
"""

import struct
from collections.abc import Iterator

HEADER = struct.Struct(">16sQ")


class FramingError(ValueError):
    """A framed body is truncated or names an oversized blob."""


def frame_header(digest: str, size: int) -> bytes:
    return HEADER.pack(bytes.fromhex(digest), size)


class FrameReader:
    """Incremental parser: `feed()` bytes as they arrive, get back whole frames."""

    def __init__(self, max_blob_size: int) -> None:
        self._buffer = bytearray()
        self._max_blob_size = max_blob_size
        self._pending: tuple[str, int] | None = None

    def feed(self, data: bytes) -> Iterator[tuple[str, bytes]]:
        self._buffer += data
        while True:
            if self._pending is None:
                if len(self._buffer) < HEADER.size:
                    return
                raw_digest, size = HEADER.unpack_from(self._buffer)
                if size > self._max_blob_size:
                    raise FramingError(
                        f"blob {raw_digest.hex()} of {size} bytes exceeds the batch limit "
                        f"of {self._max_blob_size}; upload it on its own"
                    )
                del self._buffer[: HEADER.size]
                self._pending = (raw_digest.hex(), size)
            digest, size = self._pending
            if len(self._buffer) < size:
                return
            payload = bytes(self._buffer[:size])
            del self._buffer[:size]
            self._pending = None
            yield digest, payload

    def close(self) -> None:
        if self._pending is not None:
            digest, size = self._pending
            raise FramingError(
                f"framed body ends in the middle of blob {digest} "
                f"({len(self._buffer)} of {size} bytes)"
            )
        if self._buffer:
            raise FramingError("framed body ends in the middle of a frame header")
