"""The schema comes only from Alembic, on the database `--db` names; the embedded
database is tuned for concurrency."""

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.dialects.postgresql import JSONB

from registry.db import make_engine
from registry.migrate import alembic_config

# A creation time, spelt as both databases take it in a plain INSERT.
T0 = {"t": "2026-01-01 00:00:00"}


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_strata_migrate_creates_the_schema_at_head(tmp_path: Path, database_url: str) -> None:
    env = {**os.environ, "STRATA_HOME": str(tmp_path / "home"), "STRATA_DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "registry", "migrate"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    engine = make_engine(database_url)
    schema = inspect(engine)
    tables = set(schema.get_table_names())
    with engine.connect() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert {"project", "artifact_collection", "artifact_version", "blob", "alias", "run"} <= tables
    assert "registry" in tables
    assert {"integration", "automation", "event", "delivery", "delivery_attempt"} <= tables
    assert {"scheduled_job"} <= tables
    assert head == head_revision()
    # A registry's history reads its newest events without scanning the outbox.
    assert {"registry_id", "id"} == set(
        next(i for i in schema.get_indexes("event") if i["name"] == "ix_event_registry_id")[
            "column_names"
        ]
    )
    if engine.dialect.name == "postgresql":
        # The filter language's containment tests have GIN indexes over JSONB.
        for table, column in [("artifact_version", "metadata"), ("run", "config"), ("run", "tags")]:
            types = {c["name"]: c["type"] for c in schema.get_columns(table)}
            assert isinstance(types[column], JSONB)
            assert f"ix_{table}_{column}_gin" in {i["name"] for i in schema.get_indexes(table)}
    engine.dispose()


def test_upgrade_keeps_rows_of_the_previous_revision(database_url: str) -> None:
    """A database created before registries existed migrates with its rows intact."""
    command.upgrade(alembic_config(database_url), "0001")
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO project (id, name, created_at) VALUES (1, 'p', :t)"), T0)
        conn.execute(
            text(
                "INSERT INTO artifact_collection (id, project_id, name, type, description, tags,"
                " next_index, created_at) VALUES (1, 1, 'c', 'dataset', '', '[]', 0, :t)"
            ),
            T0,
        )
    command.upgrade(alembic_config(database_url), "head")
    with engine.connect() as conn:
        columns = "name, project_id, registry_id, updated_at = created_at"
        row = conn.execute(text(f"SELECT {columns} FROM artifact_collection")).one()
        assert tuple(row) == ("c", 1, None, True)
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    engine.dispose()
    command.downgrade(alembic_config(database_url), "0001")


def test_every_revision_downgrades_and_upgrades_again(database_url: str) -> None:
    """Down to an empty database and back up, step by step."""
    config = alembic_config(database_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = make_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    command.upgrade(config, "head")
    engine = make_engine(database_url)
    with engine.connect() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    assert head == head_revision()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
