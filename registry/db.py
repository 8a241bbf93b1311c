"""Database engine and transaction scope.

SQLite is the embedded default. Its deferred transactions deadlock when two writers
both read before writing, so writing transactions start with `BEGIN IMMEDIATE`
(they queue on the busy timeout instead); read-only scopes keep a plain `BEGIN`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from registry.query.regex import regex_search

READ_ONLY = "strata_read_only"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Values per statement: under the bound-parameter limits of SQLite (32,766) and
# PostgreSQL (65,535) even for rows of several columns.
QUERY_CHUNK = 5000
# Largest integer a column holds (SQLite INTEGER, PostgreSQL BIGINT).
MAX_INT64 = 2**63 - 1


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _make_sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _make_sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # The filter language's $regex (PostgreSQL has its own operator).
        dbapi_connection.create_function("strata_regexp", 3, regex_search, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def read_only(engine: Engine) -> Engine:
    """The engine whose transactions begin as readers (plain BEGIN on SQLite)."""
    return engine.execution_options(**{READ_ONLY: True})


@contextmanager
def session_scope(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """One transaction: commits once at the end, rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        if read_only:
            session.connection(execution_options={READ_ONLY: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_unless_present(session: Session, row: SQLModel) -> None:
    """Insert `row` unless a row with one of its unique keys exists; the caller selects
    the row afterwards. Get-or-create needs this on PostgreSQL: two transactions that
    both found no row both insert it, and the second would fail on the unique key (on
    SQLite writers queue, so the second finds the row)."""
    insert_ignoring_conflicts(session, type(row), [row.model_dump(exclude_none=True)])


def insert_ignoring_conflicts(session: Session, table: type, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING, on SQLite and PostgreSQL alike."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(rows), QUERY_CHUNK):
        session.execute(
            insert(table).values(rows[start : start + QUERY_CHUNK]).on_conflict_do_nothing()
        )
