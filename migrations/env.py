"""Alembic environment: the URL comes from the caller's config (see registry.migrate)."""

from alembic import context
from sqlmodel import SQLModel

import automations.models  # noqa: F401  (registers the tables on SQLModel.metadata)
import registry.models  # noqa: F401
from registry.db import make_engine

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch migrations rebuild tables (copy, drop, rename); with foreign keys
            # enforced, dropping a referenced table fails. The pragma only takes effect
            # outside a transaction, so it goes straight to the driver connection.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
