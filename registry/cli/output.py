"""What every client command shares: one-line errors, `--json`, progress bars."""

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from pydantic import ValidationError as SettingsError
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichProgress

from registry.errors import RegistryError
from sdk.errors import StrataError, ValidationError

F = TypeVar("F", bound=Callable[..., Any])


def fail_cleanly(func: F) -> F:
    """Turn expected errors into one line on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (StrataError, RegistryError, SettingsError, OSError, ValueError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            click.echo(f"error: {message}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def json_object(text: str | None, option: str) -> dict[str, Any]:
    """A command-line JSON object argument; bad JSON is a one-line error."""
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{option} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValidationError(f"{option} must be a JSON object")
    return value


def emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2, default=str) if as_json else text)


class TerminalProgress:
    """A rich progress bar (bytes, files, rate) on a terminal; silent otherwise."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: RichProgress | None = None
        self._task: Any = None
        self._files_done = 0
        self._files_total = 0

    def start(self, total_bytes: int, total_files: int) -> None:
        if not sys.stderr.isatty() or total_files == 0:
            return
        self._files_total = total_files
        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._bar.add_task(self._description(), total=total_bytes)
        self._bar.start()

    def advance(self, nbytes: int, nfiles: int) -> None:
        if self._bar is not None:
            self._files_done += nfiles
            self._bar.update(self._task, advance=nbytes, description=self._description())

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _description(self) -> str:
        return f"{self._label} {self._files_done}/{self._files_total} files"
