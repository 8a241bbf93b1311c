"""Service configuration, read from `STRATA_*` environment variables.

Built explicitly (`Settings()`) by whoever starts the service; never at import time,
so tests and tools can construct apps with their own settings.
"""

import ipaddress
import json
import os
import secrets
import socket
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from automations.delivery import DEFAULT_RETRY_SCHEDULE
from registry.limits import Limits

MIB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRATA_", extra="ignore")

    home: Path = Path(".strata")
    database_url: str | None = None
    storage_url: str | None = None
    storage_options: dict[str, Any] = Field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 8080
    # API keys required (`on`) or not (`off`). Unset: off only while the service
    # listens on loopback alone, on otherwise.
    auth: bool | None = None
    # API processes of `strata serve` (uvicorn workers) sharing the port.
    api_workers: int = Field(default=1, ge=1, le=64)
    # With an s3:// or gs:// store, clients move blob bytes to and from the bucket
    # themselves through presigned URLs valid this long; off, bytes go through the service.
    storage_presign: bool = True
    storage_url_ttl_seconds: int = Field(default=900, ge=60, le=7 * 24 * 3600)
    # A service-account key file that signs gs:// URLs, for when the filesystem's own
    # credentials hold no private key (workload identity, anonymous emulator access).
    storage_signing_key: Path | None = None
    # Largest blob accepted inside one batched upload request; larger files use a
    # streamed single-blob upload.
    batch_blob_max_bytes: int = 4 * 1024 * 1024
    # Garbage collection deletes a blob no version references once it was recorded
    # (and a version's bytes once it was deleted) this long ago; uploads that are not
    # recorded yet get at least the upload URL lifetime as well.
    gc_grace_seconds: int = Field(default=3600, ge=0)

    # Limits on one request (registry/limits.py). Bodies over theirs are refused (413)
    # as soon as Content-Length, or the bytes received, pass it.
    max_request_bytes: int = Field(default=16 * MIB, ge=64 * 1024)
    # The framed small blobs of one `POST /blobs/batch`, and one `PUT /blobs/{digest}`.
    max_batch_bytes: int = Field(default=64 * MIB, ge=1024)
    max_blob_bytes: int = Field(default=1024**4, ge=1)
    max_manifest_bytes: int = Field(default=512 * MIB, ge=1024)
    max_manifest_entries: int = Field(default=1_000_000, ge=1)
    max_filter_bytes: int = Field(default=64 * 1024, ge=64)
    max_filter_depth: int = Field(default=20, ge=1, le=100)
    max_filter_conditions: int = Field(default=200, ge=1)
    max_metadata_value_bytes: int = Field(default=64 * 1024, ge=16)

    # Automations. Integration secrets are encrypted with this key; without one, a
    # random key is created in $STRATA_HOME/secret.key (fine for one machine; give
    # every replica the same key in production).
    secret_key: str | None = Field(default=None, min_length=16)
    # Hosts, IPs or CIDRs that webhook targets may resolve to despite being private.
    webhook_allowed_hosts: str = ""
    # Seconds before each delivery attempt; the first is 0 (Standard Webhooks schedule).
    delivery_retry_schedule: Annotated[tuple[float, ...], NoDecode] = DEFAULT_RETRY_SCHEDULE
    delivery_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    delivery_lease_seconds: float = Field(default=60.0, gt=0)
    delivery_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    delivery_concurrency: int = Field(default=16, ge=1, le=256)
    # `strata serve` runs a delivery worker in process unless this is off.
    serve_worker: bool = True

    @field_validator("storage_options", mode="before")
    @classmethod
    def _parse_options(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if not isinstance(value, dict):
            raise ValueError("STRATA_STORAGE_OPTIONS must be a JSON object")
        return value

    @field_validator("delivery_retry_schedule", mode="before")
    @classmethod
    def _parse_schedule(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return tuple(float(part) for part in value.split(",") if part.strip())
            except ValueError:
                raise ValueError(
                    "STRATA_DELIVERY_RETRY_SCHEDULE is comma-separated seconds, e.g. 0,5,300"
                ) from None
        return value

    @property
    def auth_enabled(self) -> bool:
        """STRATA_AUTH, else on unless `host` is a loopback address (or a name that
        resolves only to loopback addresses)."""
        if self.auth is not None:
            return self.auth
        return not listens_on_loopback_only(self.host)

    @property
    def limits(self) -> Limits:
        return Limits(
            request_bytes=self.max_request_bytes,
            batch_bytes=self.max_batch_bytes,
            blob_bytes=self.max_blob_bytes,
            manifest_bytes=self.max_manifest_bytes,
            manifest_entries=self.max_manifest_entries,
            filter_bytes=self.max_filter_bytes,
            filter_depth=self.max_filter_depth,
            filter_conditions=self.max_filter_conditions,
            metadata_value_bytes=self.max_metadata_value_bytes,
        )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'registry.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.home / 'blobs').resolve()}"

    def resolved_secret_key(self) -> str:
        """STRATA_SECRET_KEY, else the key kept in $STRATA_HOME/secret.key (made once)."""
        if self.secret_key:
            return self.secret_key
        path = self.home / "secret.key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32))
        return path.read_text().strip()


def listens_on_loopback_only(host: str) -> bool:
    """True when every address `host` stands for is a loopback one. `0.0.0.0`, `::`
    and an empty host listen everywhere; a name that does not resolve counts as open."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addresses
    )
