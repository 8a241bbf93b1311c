"""`strata automation ls|show|enable|disable|deliveries|redeliver`."""

import json

import click

from registry.cli.output import emit, fail_cleanly, json_option
from sdk.api import Api


@click.group()
def automation() -> None:
    """List, switch and inspect automations and their deliveries."""


@automation.command("ls")
@json_option
@fail_cleanly
def automation_ls(as_json: bool) -> None:
    """List automations."""
    rows = Api().automations()
    text = "\n".join(
        f"{a.name}\t{'enabled' if a.enabled else 'disabled'}\t{a.event.event}\t"
        f"{a.event.scope.label()}\t{a.action.action}"
        for a in rows
    )
    emit(as_json, [a.model_dump(mode="json") for a in rows], text)


@automation.command("show")
@click.argument("name")
@json_option
@fail_cleanly
def automation_show(name: str, as_json: bool) -> None:
    """Show automation NAME: its event, scope, filter and action."""
    found = Api().automation(name).model_dump(mode="json")
    emit(as_json, found, json.dumps(found, indent=2))


@automation.command("enable")
@click.argument("name")
@json_option
@fail_cleanly
def automation_enable(name: str, as_json: bool) -> None:
    """Enable automation NAME."""
    updated = Api().update_automation(name, enabled=True)
    emit(as_json, updated.model_dump(mode="json"), f"enabled {updated.name}")


@automation.command("disable")
@click.argument("name")
@json_option
@fail_cleanly
def automation_disable(name: str, as_json: bool) -> None:
    """Disable automation NAME (its queued deliveries are still sent)."""
    updated = Api().update_automation(name, enabled=False)
    emit(as_json, updated.model_dump(mode="json"), f"disabled {updated.name}")


@automation.command("deliveries")
@click.argument("name", required=False)
@click.option(
    "--status", type=click.Choice(["pending", "delivering", "delivered", "failed", "dead"])
)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@json_option
@fail_cleanly
def automation_deliveries(name: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """The newest deliveries (of automation NAME), with their attempts."""
    rows = Api().deliveries(name, status=status, limit=limit)
    lines = []
    for d in rows:
        codes = ",".join(str(a.status_code or "-") for a in d.attempts)
        lines.append(
            f"{d.id}\t{d.automation}\t{d.event_type}\t{d.status}\t"
            f"attempts={d.attempt_count} [{codes}]\t{d.last_error}".rstrip()
        )
    emit(as_json, [d.model_dump(mode="json") for d in rows], "\n".join(lines))


@automation.command("redeliver")
@click.argument("delivery_id")
@json_option
@fail_cleanly
def automation_redeliver(delivery_id: str, as_json: bool) -> None:
    """Queue delivery DELIVERY_ID again (same webhook-id, fresh retry schedule)."""
    queued = Api().redeliver(delivery_id)
    emit(as_json, queued.model_dump(mode="json"), f"queued {queued.id} again")
