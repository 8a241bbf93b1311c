"""docker-compose.yml (no Docker engine here): its services, commands and environment
must match what the CLI and the settings actually accept."""

from pathlib import Path

import yaml
from click.testing import CliRunner

from registry.cli import main
from registry.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_stack_has_postgres_minio_api_and_worker():
    services = COMPOSE["services"]
    assert {"postgres", "minio", "create-bucket", "api", "worker"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["minio"]["image"].startswith("minio/minio")
    assert services["api"]["deploy"]["replicas"] == 2
    assert all("healthcheck" in services[name] for name in ("postgres", "minio", "api"))


def test_commands_are_strata_commands():
    for name, service in COMPOSE["services"].items():
        command = service.get("command", [])
        if command[:1] == ["strata"]:
            result = CliRunner().invoke(main, [*command[1:], "--help"])
            assert result.exit_code == 0, f"{name}: {result.output}"


def test_environment_names_are_settings():
    known = {f"STRATA_{name.upper()}" for name in Settings.model_fields}
    for name, service in COMPOSE["services"].items():
        env = service.get("environment", {})
        strata = {key for key in env if key.startswith("STRATA_")}
        assert strata <= known, f"{name}: unknown {strata - known}"
    api = COMPOSE["services"]["api"]["environment"]
    assert api["STRATA_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert api["STRATA_STORAGE_URL"].startswith("s3://")
