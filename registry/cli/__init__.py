"""The `strata` command line. Exit codes: 0 ok, 1 error (one line on stderr), 2 usage."""

import click

from registry.cli.artifacts import alias, artifact, usage
from registry.cli.automations import automation
from registry.cli.keys import keys
from registry.cli.registries import lineage, link, query, registry
from registry.cli.service import gc, migrate, serve, worker
from registry.cli.sync import sync


@click.group()
def main() -> None:
    """Strata: versioned artifacts, registries and automations."""


commands = (
    serve,
    worker,
    migrate,
    keys,
    gc,
    artifact,
    alias,
    registry,
    link,
    lineage,
    query,
    automation,
    sync,
    usage,
)
for command in commands:
    main.add_command(command)
