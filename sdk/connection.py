"""What every SDK object that talks to the server shares: settings, HTTP client, cache."""

from dataclasses import dataclass
from typing import Any

from sdk.cache import BlobCache
from sdk.client import Client
from sdk.settings import ClientSettings


@dataclass
class Connection:
    settings: ClientSettings
    client: Client
    cache: BlobCache

    @classmethod
    def create(cls, **overrides: Any) -> "Connection":
        settings = ClientSettings(**{k: v for k, v in overrides.items() if v is not None})
        return cls(
            settings=settings,
            client=Client(settings),
            cache=BlobCache(settings.cache_dir, settings.cache_max_bytes),
        )


_default: Connection | None = None


def default_connection() -> Connection:
    """A process-wide connection from the environment, for objects made without one."""
    global _default
    if _default is None:
        _default = Connection.create()
    return _default
