"""Client configuration: explicit arguments first, else `STRATA_*` environment variables."""

import getpass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an arbitrary container uid
        return ""


class ClientSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRATA_", extra="ignore")

    url: str = "http://127.0.0.1:8080"
    api_key: str | None = None
    project: str = "uncategorized"
    cache_dir: Path = Path("~/.cache/strata").expanduser()
    cache_max_bytes: int = 20 * 1024**3
    timeout: float = 60.0
    # `offline`: runs are written to `offline_dir`, and `strata sync` uploads them later.
    mode: str = "online"
    offline_dir: Path = Path(".strata/offline")
    # How long a request keeps being retried while the server cannot be reached (a
    # restart); 0 tries once.
    retry_seconds: float = Field(default=30.0, ge=0)
    # Recorded as the author of the events this client causes (`${event_author}`).
    author: str = Field(default_factory=_login_name)
