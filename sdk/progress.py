"""Progress reporting for long transfers: the SDK calls it, the CLI draws it."""

from typing import Protocol


class Progress(Protocol):
    def start(self, total_bytes: int, total_files: int) -> None: ...
    def advance(self, nbytes: int, nfiles: int) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, total_bytes: int, total_files: int) -> None:
        pass

    def advance(self, nbytes: int, nfiles: int) -> None:
        pass

    def finish(self) -> None:
        pass
