"""`strata artifact put|get|ls|show` and `strata alias set|rm|history`: the SDK from a
shell."""

from pathlib import Path
from typing import Any

import click

from registry.cli.output import TerminalProgress, emit, fail_cleanly, json_object, json_option
from sdk.api import Api
from sdk.artifact import Artifact
from sdk.connection import default_connection
from sdk.paths import parse_artifact_path


@click.group()
def artifact() -> None:
    """Log, fetch and inspect artifact versions."""


@artifact.command("put")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--project", default=None, help="Project (default STRATA_PROJECT).")
@click.option("--name", default=None, help="Collection name (default: the source's name).")
@click.option("--type", "type_", default="dataset", show_default=True)
@click.option("--alias", "aliases", multiple=True, help="Alias to set; repeatable.")
@click.option("--tag", "tags", multiple=True, help="Tag to add; repeatable.")
@click.option("--metadata", default=None, help="JSON object of metadata.")
@click.option("--description", default="")
@json_option
@fail_cleanly
def put(
    source: Path,
    project: str | None,
    name: str | None,
    type_: str,
    aliases: tuple[str, ...],
    tags: tuple[str, ...],
    metadata: str | None,
    description: str,
    as_json: bool,
) -> None:
    """Log a directory or file as a new version (nothing is uploaded twice)."""
    art = Artifact(
        name or source.resolve().name, type_, description, json_object(metadata, "--metadata")
    )
    art.add_dir(source) if source.is_dir() else art.add_file(source)
    art.aliases = list(aliases)
    art.tags = list(tags)
    art.save(project, progress=TerminalProgress("upload"))
    emit(as_json, _summary(art), f"{art.qualified_name} {art.digest} ({art.file_count} files)")


@artifact.command("get")
@click.argument("path")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None)
@json_option
@fail_cleanly
def get(path: str, output: Path | None, as_json: bool) -> None:
    """Download a version's files (verified) to a directory."""
    art = Api().artifact(path)
    root = art.download(output, progress=TerminalProgress("download"))
    emit(as_json, {**_summary(art), "root": root}, root)


@artifact.command("ls")
@click.argument("project", required=False)
@click.option("--type", "type_", default=None)
@json_option
@fail_cleanly
def ls(project: str | None, type_: str | None, as_json: bool) -> None:
    """List a project's artifact collections."""
    collections = Api().artifact_collections(project, type_)
    rows = [
        {"project": c.project, "name": c.name, "type": c.type, "versions": c.version_count}
        for c in collections
    ]
    text = "\n".join(f"{r['project']}/{r['name']}\t{r['type']}\t{r['versions']}" for r in rows)
    emit(as_json, rows, text)


@artifact.command("show")
@click.argument("path")
@json_option
@fail_cleanly
def show(path: str, as_json: bool) -> None:
    """Show one version: digest, size, aliases, tags, metadata, producing run."""
    art = Api().artifact(path)
    data = _summary(art)
    text = "\n".join(f"{key}: {value}" for key, value in data.items())
    emit(as_json, data, text)


@click.group()
def alias() -> None:
    """Move or remove aliases."""


@alias.command("set")
@click.argument("path")
@click.argument("name")
@json_option
@fail_cleanly
def alias_set(path: str, name: str, as_json: bool) -> None:
    """Point alias NAME at the version PATH names."""
    conn = default_connection()
    target = parse_artifact_path(path, conn.settings.project)
    record = conn.client.put(
        f"{target.collection_url}/aliases/{name}", json={"version": target.selector}
    )
    emit(as_json, record, f"{name} -> {record['qualified_name']}")


@alias.command("rm")
@click.argument("path")
@click.argument("name")
@json_option
@fail_cleanly
def alias_rm(path: str, name: str, as_json: bool) -> None:
    """Remove alias NAME from the collection PATH names."""
    conn = default_connection()
    target = parse_artifact_path(path, conn.settings.project)
    conn.client.delete(f"{target.collection_url}/aliases/{name}")
    emit(as_json, {"removed": name}, f"removed {name}")


@alias.command("history")
@click.argument("path")
@click.option("--alias", "name", default=None, help="Only this alias.")
@json_option
@fail_cleanly
def alias_history(path: str, name: str | None, as_json: bool) -> None:
    """Who set, moved or removed aliases of the collection PATH names, newest first."""
    from sdk.collection import alias_history as history

    conn = default_connection()
    target = parse_artifact_path(path, conn.settings.project)
    moves = history(conn, f"{target.collection_url}/alias-history", name)
    lines = [
        f"{m['created_at']}\t{m['actor'] or '-'}\t{m['alias']}\t"
        f"{m['from_version'] or '-'} -> {m['to_version'] or '-'}"
        for m in moves
    ]
    emit(as_json, moves, "\n".join(lines))


def _summary(art: Artifact) -> dict[str, Any]:
    producer = art.logged_by()
    return {
        "name": art.qualified_name,
        "type": art.type,
        "version": art.version,
        "digest": art.digest,
        "size": art.size,
        "file_count": art.file_count,
        "aliases": art.aliases,
        "tags": art.tags,
        "description": art.description,
        "metadata": art.metadata,
        "created_at": art.created_at.isoformat() if art.created_at else None,
        "logged_by": producer.path if producer else None,
        "links_to": art.source_name,
    }


@click.command()
@click.argument("project", required=False)
@json_option
@fail_cleanly
def usage(project: str | None, as_json: bool) -> None:
    """Bytes a project's versions hold in the blob store (default STRATA_PROJECT)."""
    found = Api().storage_usage(project)
    emit(
        as_json,
        vars(found),
        f"{found.project}: {found.bytes} bytes in {found.blobs} blobs for {found.versions} "
        f"versions ({found.reclaimable_bytes} bytes freed by the next garbage collection)",
    )
