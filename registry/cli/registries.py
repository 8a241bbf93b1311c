"""`strata registry`, `link`, `lineage` and `query`: promotion and discovery from a shell."""

from typing import Any

import click
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from registry.cli.output import emit, fail_cleanly, json_object, json_option
from sdk.api import Api
from sdk.lineage import Lineage
from sdk.results import PAGE_SIZE, Results


@click.group()
def registry() -> None:
    """Create and inspect registries."""


@registry.command("create")
@click.argument("name")
@click.option("--type", "types", multiple=True, help="Allowed artifact type; repeatable.")
@click.option("--description", default="")
@click.option(
    "--visibility", type=click.Choice(["organization", "restricted"]), default="organization"
)
@click.option("--protected-alias", "protected", multiple=True, help="Repeatable.")
@json_option
@fail_cleanly
def registry_create(
    name: str,
    types: tuple[str, ...],
    description: str,
    visibility: str,
    protected: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create registry NAME (accepting any type unless --type is given)."""
    created = Api().create_registry(name, description, list(types), visibility, list(protected))
    emit(as_json, created._record, f"created registry @{created.name}")


@registry.command("ls")
@json_option
@fail_cleanly
def registry_ls(as_json: bool) -> None:
    """List registries."""
    rows = [r._record for r in Api().registries()]
    text = "\n".join(f"@{r['name']}\t{','.join(r['allowed_types']) or 'any'}" for r in rows)
    emit(as_json, rows, text)


@registry.command("show")
@click.argument("name")
@json_option
@fail_cleanly
def registry_show(name: str, as_json: bool) -> None:
    """Show a registry and its collections."""
    found = Api().registry(name)
    collections = [c.name for c in found.collections()]
    data = {**found._record, "collections": collections}
    text = "\n".join(f"{key}: {value}" for key, value in data.items())
    emit(as_json, data, text)


@registry.command("members")
@click.argument("name")
@json_option
@fail_cleanly
def registry_members(name: str, as_json: bool) -> None:
    """List the keys with a role in registry NAME."""
    rows = Api().registry(name).members()
    emit(as_json, rows, "\n".join(f"{r['key']}\t{r['role']}" for r in rows))


@registry.command("add-member")
@click.argument("name")
@click.argument("key")
@click.option(
    "--role", type=click.Choice(["viewer", "member", "admin"]), default="member", show_default=True
)
@json_option
@fail_cleanly
def registry_add_member(name: str, key: str, role: str, as_json: bool) -> None:
    """Give the API key KEY (its name) a role in registry NAME, or change it."""
    row = Api().registry(name).add_member(key, role)
    emit(as_json, row, f"{key} is a {role} of @{name.lstrip('@')}")


@registry.command("remove-member")
@click.argument("name")
@click.argument("key")
@fail_cleanly
def registry_remove_member(name: str, key: str) -> None:
    """Take the API key KEY out of registry NAME."""
    Api().registry(name).remove_member(key)
    click.echo(f"{key} is no longer a member of @{name.lstrip('@')}")


@click.command()
@click.argument("path")
@click.argument("target")
@click.option("--alias", "aliases", multiple=True, help="Alias in the registry; repeatable.")
@json_option
@fail_cleanly
def link(path: str, target: str, aliases: tuple[str, ...], as_json: bool) -> None:
    """Link the version PATH into TARGET, a registry collection like @models/fraud."""
    linked = Api().artifact(path).link(target, list(aliases))
    shown = ", ".join(linked.aliases)
    emit(as_json, linked._record, f"{linked.source_name} -> {linked.qualified_name} ({shown})")


@click.command()
@click.argument("path")
@click.option("--depth", type=click.IntRange(min=0), default=None, help="Edges to follow.")
@click.option("--direction", type=click.Choice(["upstream", "downstream", "both"]), default="both")
@json_option
@fail_cleanly
def lineage(path: str, depth: int | None, direction: str, as_json: bool) -> None:
    """Print the runs and versions PATH came from (upstream) and led to (downstream)."""
    graph = Api().artifact(path).lineage(direction, depth)
    if as_json:
        emit(True, _graph_record(graph), "")
        return
    root = Tree(_label(graph, graph.root))
    for name, walk in (("upstream", graph.parents), ("downstream", graph.children)):
        if direction in (name, "both"):
            _grow(root.add(name), graph, graph.root, walk, {graph.root})
    Console(highlight=False, soft_wrap=True).print(root)


@click.command()
@click.argument("filter_json", metavar="FILTER_JSON", default="{}")
@click.option("--versions", "target", flag_value="versions", default=True)
@click.option("--collections", "target", flag_value="collections")
@click.option("--registries", "target", flag_value="registries")
@click.option("--runs", "target", flag_value="runs")
@click.option("--project", default=None)
@click.option("--registry", "registry_name", default=None)
@click.option("--collection", default=None)
@click.option("--sort", default="id", show_default=True)
@click.option("--order", type=click.Choice(["asc", "desc"]), default="asc")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@json_option
@fail_cleanly
def query(
    filter_json: str,
    target: str,
    project: str | None,
    registry_name: str | None,
    collection: str | None,
    sort: str,
    order: str,
    limit: int,
    as_json: bool,
) -> None:
    """Search with a filter such as '{"metadata.acc": {"$gt": 0.9}, "tag": "vision"}'."""
    body = {
        "filter": json_object(filter_json, "FILTER_JSON"),
        "project": project,
        "registry": registry_name,
        "collection": collection,
        "sort": sort,
        "order": order,
        "limit": min(limit, PAGE_SIZE),
    }
    results: Results[dict[str, Any]] = Results(Api()._conn, target, body, lambda r: r)
    rows = [row for _, row in zip(range(limit), results, strict=False)]
    emit(as_json, rows, "\n".join(_row_text(target, row) for row in rows))


def _row_text(target: str, row: dict[str, Any]) -> str:
    if target == "versions":
        return f"{row['qualified_name']}\t{row['type']}\t{','.join(row['aliases'])}"
    if target == "collections":
        owner = f"@{row['registry']}" if row["registry"] else row["project"]
        return f"{owner}/{row['name']}\t{row['type']}\t{row['version_count']} versions"
    if target == "registries":
        return f"@{row['name']}\t{row['description']}"
    return f"{row['project']}/{row['id']}\t{row['name']}\t{row['state']}"


def _grow(tree: Tree, graph: Lineage, node_id: str, walk: Any, path: set[str]) -> None:
    for neighbour in walk(node_id):
        branch = tree.add(_label(graph, neighbour))
        if neighbour not in path:
            _grow(branch, graph, neighbour, walk, path | {neighbour})


def _label(graph: Lineage, node_id: str) -> Text:
    """Plain text: names may hold brackets that rich would read as markup."""
    node = graph.node(node_id)
    if node.kind == "run":
        return Text(f"run {node_id.removeprefix('run:')} ({node.name}, {node.state})")
    return Text(f"{node.name} [{node.type}]")


def _graph_record(graph: Lineage) -> dict[str, Any]:
    return {
        "root": graph.root,
        "nodes": [vars(node) for node in graph.nodes],
        "edges": [vars(edge) for edge in graph.edges],
        "truncated": graph.truncated,
    }
