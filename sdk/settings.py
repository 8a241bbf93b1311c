"""Client configuration: explicit arguments first, else `STRATA_*` environment variables."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ClientSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRATA_", extra="ignore")

    url: str = "http://127.0.0.1:8080"
    api_key: str | None = None
    project: str = "uncategorized"
    cache_dir: Path = Path("~/.cache/strata").expanduser()
    cache_max_bytes: int = 20 * 1024**3
    timeout: float = 60.0
