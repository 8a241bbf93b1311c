"""`strata keys create|list|revoke`: API keys, managed directly on the configured
database (like `strata migrate`), since that is how the first admin key is made."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlmodel import Session

from registry.cli.output import emit, fail_cleanly, json_option
from registry.models import ApiKey
from registry.services import api_keys
from registry.settings import Settings


@click.group()
def keys() -> None:
    """Create, list and revoke API keys (on the database STRATA_* settings name)."""


@contextmanager
def _database() -> Iterator[Session]:
    from registry.db import make_engine, session_scope
    from registry.migrate import upgrade

    settings = Settings()
    upgrade(settings)
    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def _record(key: ApiKey) -> dict[str, Any]:
    fields = ("id", "name", "role", "prefix", "created_at", "last_used_at", "revoked_at")
    return {field: getattr(key, field) for field in fields}


@keys.command("create")
@click.option("--name", required=True, help="Who or what uses the key (unique).")
@click.option("--role", type=click.Choice(api_keys.ROLES), default="read", show_default=True)
@json_option
@fail_cleanly
def keys_create(name: str, role: str, as_json: bool) -> None:
    """Create a key and print its secret: shown this once, stored only as a hash."""
    with _database() as session:
        key, secret = api_keys.create_key(session, name, role)
        record = _record(key)
    text = (
        f"created {role} key {name!r} (id {record['id']})\n{secret}\n"
        "Store the secret now: it cannot be shown again. Send it as 'Authorization: Bearer "
        "<secret>' or set STRATA_API_KEY."
    )
    emit(as_json, {"key": record, "secret": secret}, text)


@keys.command("list")
@json_option
@fail_cleanly
def keys_list(as_json: bool) -> None:
    """List keys (never their secrets)."""
    with _database() as session:
        rows = [_record(key) for key in api_keys.list_keys(session)]
    lines = [
        f"{r['id']}\t{r['name']}\t{r['role']}\tstrata_{r['prefix']}_…\t"
        f"{'revoked ' + str(r['revoked_at']) if r['revoked_at'] else 'active'}\t"
        f"last used {r['last_used_at'] or 'never'}"
        for r in rows
    ]
    emit(as_json, rows, "\n".join(lines))


@keys.command("revoke")
@click.argument("key")
@json_option
@fail_cleanly
def keys_revoke(key: str, as_json: bool) -> None:
    """Revoke KEY (a name or id): it stops working at once."""
    with _database() as session:
        record = _record(api_keys.revoke_key(session, api_keys.find_key(session, key)))
    emit(as_json, record, f"revoked key {record['name']!r} (id {record['id']})")
