"""Session fixtures for the object stores on 127.0.0.1: moto's S3 server and
fake-gcs-server, a bucket in each, and a service-account key to sign GCS URLs with.

Import the fixtures a module uses (`from tests.cloud import moto  # noqa: F401`).
"""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fsspec
import pytest

from tests.registry.signing import write_service_account_key
from tests.servers import CLOUD_ENV, Service, start_fake_gcs, start_moto

# gcsfs reads this once, when first imported: without it, writes stall on gRPC.
os.environ.setdefault(
    "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", CLOUD_ENV["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"]
)


@pytest.fixture(scope="session")
def moto() -> Iterator[Service]:
    service = start_moto()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[Service]:
    service = start_fake_gcs()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def gcs_signing_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A service-account key of our own making: the emulator does not check
    signatures, but URLs are signed exactly as for Google Cloud Storage."""
    return write_service_account_key(tmp_path_factory.mktemp("gcs-key") / "key.json")


@dataclass
class Bucket:
    """A fresh bucket on one of the emulators, as `STRATA_STORAGE_*` settings."""

    url: str
    options: dict
    env: dict[str, str]

    def filesystem(self) -> fsspec.AbstractFileSystem:
        return fsspec.core.url_to_fs(self.url, skip_instance_cache=True, **self.options)[0]


def new_bucket(kind: str, service: Service, signing_key: Path | None = None) -> Bucket:
    """Create a bucket on `service` (`kind` s3 or gcs); its URL has a `strata` prefix."""
    name = f"strata-{uuid.uuid4().hex[:12]}"
    env = dict(service.env)
    if kind == "s3":
        bucket = Bucket(f"s3://{name}/strata", {}, env)
    else:
        if signing_key is not None:
            env["STRATA_STORAGE_SIGNING_KEY"] = str(signing_key)
        bucket = Bucket(f"gs://{name}/strata", {"project": "test", "token": "anon"}, env)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        bucket.filesystem().mkdir(name)
    return bucket
