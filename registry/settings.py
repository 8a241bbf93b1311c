"""Service configuration, read from `STRATA_*` environment variables.

Built explicitly (`Settings()`) by whoever starts the service; never at import time,
so tests and tools can construct apps with their own settings.
"""

import json
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRATA_", extra="ignore")

    home: Path = Path(".strata")
    database_url: str | None = None
    storage_url: str | None = None
    storage_options: dict[str, Any] = Field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 8080
    # Largest blob accepted inside one batched upload request; larger files use a
    # streamed single-blob upload.
    batch_blob_max_bytes: int = 4 * 1024 * 1024

    @field_validator("storage_options", mode="before")
    @classmethod
    def _parse_options(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if not isinstance(value, dict):
            raise ValueError("STRATA_STORAGE_OPTIONS must be a JSON object")
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'registry.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.home / 'blobs').resolve()}"
