"""The schema comes only from Alembic; the embedded database is tuned for concurrency."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

from registry.db import make_engine
from registry.migrate import alembic_config


def test_strata_migrate_creates_the_schema_at_head(tmp_path: Path) -> None:
    env = {**os.environ, "STRATA_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [sys.executable, "-m", "registry", "migrate"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "home" / "registry.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        head = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert {"project", "artifact_collection", "artifact_version", "blob", "alias", "run"} <= tables
    assert "registry" in tables
    assert {"integration", "automation", "event", "delivery", "delivery_attempt"} <= tables
    assert {"scheduled_job"} <= tables
    assert head == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_upgrade_keeps_rows_of_the_previous_revision(tmp_path: Path) -> None:
    """A database created before registries existed migrates with its rows intact."""
    from alembic import command

    from registry.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0001")
    with sqlite3.connect(tmp_path / "old.db") as db:
        db.execute("INSERT INTO project (id, name, created_at) VALUES (1, 'p', '2026-01-01')")
        db.execute(
            "INSERT INTO artifact_collection (id, project_id, name, type, description, tags,"
            " next_index, created_at) VALUES (1, 1, 'c', 'dataset', '', '[]', 0, '2026-01-01')"
        )
    command.upgrade(alembic_config(url), "head")
    with sqlite3.connect(tmp_path / "old.db") as db:
        columns = "name, project_id, registry_id, updated_at"
        row = db.execute(f"SELECT {columns} FROM artifact_collection")
        assert row.fetchone() == ("c", 1, None, "2026-01-01")
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    command.downgrade(alembic_config(url), "0001")


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
