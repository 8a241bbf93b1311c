"""The event bus: `publish()` writes an event and one delivery per matching automation
into the caller's transaction (the outbox). It never commits: the change and its
events commit together or not at all, so a rolled-back change never fires and a
committed one is never lost. Workers send the deliveries afterwards.

The caller wakes its in-process worker after the commit when `session.info[PUBLISHED]`
is set; on PostgreSQL a NOTIFY in the same transaction (delivered only at commit)
wakes the workers of other processes.
`session.info[CHAIN]` holds the automations whose deliveries caused this change (the
`Strata-Automation-Chain` header a receiver echoes back): they do not fire again, so an
automation cannot trigger itself in a loop, and a chain stops after MAX_CHAIN hops.
"""

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from automations.clock import utcnow
from automations.events import ArtifactChange, MetricBatch
from automations.models import Automation, Delivery, Event, MetricWindow
from automations.schema import Action, NewAutomation
from automations.templates import METRIC_EVENTS, render
from automations.triggers import Firing, MetricEvaluator, alias_filter_matches

PUBLISHED = "strata.events_published"
CHAIN = "strata.automation_chain"
MAX_CHAIN = 8
# PostgreSQL channel on which committed deliveries wake workers in other processes.
CHANNEL = "strata_deliveries"


def publish(session: Session, change: ArtifactChange) -> int:
    """Record an artifact event and its deliveries; returns how many were queued."""
    event = {
        "type": change.type,
        "project_id": change.project_id,
        "registry_id": change.registry_id,
        "collection_id": change.collection_id,
        "version_id": change.version_id,
        "author": change.author,
        "variables": change.variables,
        "created_at": utcnow(),
    }
    (event_id,) = _insert_events(session, [event])
    deliveries = []
    for automation in _candidates(session, change):
        spec = _spec(automation)
        if alias_filter_matches(spec.event.filter, change.aliases):  # type: ignore[arg-type]
            deliveries.append(_delivery(session, event_id, event, automation, spec.action))
    _insert_deliveries(session, deliveries)
    return len(deliveries)


def mark_published(session: Session) -> None:
    """Deliveries are queued in this transaction: wake workers once it commits."""
    if session.info.get(PUBLISHED):
        return
    session.info[PUBLISHED] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))


def publish_metrics(session: Session, batch: MetricBatch) -> int:
    """Evaluate the project's metric automations over the logged points: each
    condition that becomes true writes an event and its delivery.

    Windows are kept for the keys of disabled automations too, so one that is enabled
    again judges the values actually logged last (see registry/services/automations.py
    for the windows dropped when a key starts being watched).

    A batch can fire thousands of times, so its events and deliveries go in as two
    multi-row inserts rather than through the ORM's unit of work."""
    rows = _metric_automations(session, batch.project_id)
    if not rows:
        return 0
    evaluator = _evaluator(rows)
    by_key: dict[str, tuple[list[int], list[float]]] = {}
    for key, step, value in batch.points:
        if key in evaluator.depth:
            steps, values = by_key.setdefault(key, ([], []))
            steps.append(step)
            values.append(value)
    if not by_key:
        return 0
    windows = _load_windows(session, batch.run_id, list(by_key))
    firings = []
    for key, (steps, values) in by_key.items():
        firings.extend(evaluator.run(key, windows[key], steps, values))
    _save_windows(session, batch.run_id, windows)
    live = {row.id: row for row in _outside_chain(session, [r for r in rows if r.enabled])}
    fired = [(live[f.automation_id], f) for f in firings if f.automation_id in live]
    if not fired:
        return 0
    now = utcnow()
    events = [_metric_event(batch, automation, firing, now) for automation, firing in fired]
    deliveries = [
        _delivery(session, event_id, event, automation, _spec(automation).action)
        for event_id, event, (automation, _firing) in zip(
            _insert_events(session, events), events, fired, strict=True
        )
    ]
    _insert_deliveries(session, deliveries)
    return len(fired)


def _metric_event(
    batch: MetricBatch, automation: Automation, firing: Firing, now: datetime
) -> dict[str, Any]:
    return {
        "type": automation.event_type,
        "project_id": batch.project_id,
        "run_id": batch.run_id,
        "author": batch.author,
        "created_at": now,
        "variables": {
            **batch.variables,
            "event_type": automation.event_type,
            "event_author": batch.author,
            "metric_name": firing.key,
            "metric_value": firing.value,
            "metric_step": firing.step,
            "metric_previous_value": firing.previous,
        },
    }


def _candidates(session: Session, change: ArtifactChange) -> list[Automation]:
    owners = [
        ("collection", change.collection_id),
        ("project", change.project_id),
        ("registry", change.registry_id),
    ]
    scopes = [
        and_(col(Automation.scope_type) == scope_type, col(Automation.scope_id) == scope_id)
        for scope_type, scope_id in owners
        if scope_id is not None
    ]
    query = select(Automation).where(
        col(Automation.enabled), Automation.event_type == change.type, or_(*scopes)
    )
    return _outside_chain(session, list(session.exec(query.order_by(col(Automation.id)))))


def _metric_automations(session: Session, project_id: int) -> list[Automation]:
    """Every metric automation of the project, enabled or not (their windows are kept)."""
    query = select(Automation).where(
        col(Automation.event_type).in_(METRIC_EVENTS),
        Automation.scope_type == "project",
        Automation.scope_id == project_id,
    )
    return list(session.exec(query.order_by(col(Automation.id))))


def _outside_chain(session: Session, automations: list[Automation]) -> list[Automation]:
    chain: tuple[int, ...] = session.info.get(CHAIN, ())
    if len(chain) >= MAX_CHAIN:
        return []
    return [automation for automation in automations if automation.id not in chain]


_specs: dict[tuple[int, Any], NewAutomation] = {}
_evaluators: dict[tuple[tuple[int, Any], ...], MetricEvaluator] = {}


def _evaluator(rows: list[Automation]) -> MetricEvaluator:
    """The evaluator of these automations, cached by their (id, updated_at)."""
    key = tuple((row.id, row.updated_at) for row in rows)
    evaluator = _evaluators.get(key)  # type: ignore[arg-type]
    if evaluator is None:
        if len(_evaluators) > 1000:
            _evaluators.clear()
        evaluator = MetricEvaluator([(row.id, _spec(row).event.filter) for row in rows])  # type: ignore[misc]
        _evaluators[key] = evaluator  # type: ignore[index]
    return evaluator


def _spec(automation: Automation) -> NewAutomation:
    """The parsed trigger and action of a row, cached by (id, updated_at): a metric batch
    otherwise re-validates every automation's JSON on every request."""
    key = (automation.id, automation.updated_at)
    spec = _specs.get(key)  # type: ignore[arg-type]
    if spec is None:
        if len(_specs) > 10_000:
            _specs.clear()
        spec = NewAutomation.model_validate(
            {"event": automation.trigger, "action": automation.action}
        )
        _specs[key] = spec  # type: ignore[index]
    return spec


def _insert_events(session: Session, events: list[dict[str, Any]]) -> list[int]:
    """Insert event rows in one statement; their ids, in order."""
    statement = insert(Event).returning(col(Event.id), sort_by_parameter_order=True)
    return list(session.execute(statement, events).scalars())


def _insert_deliveries(session: Session, deliveries: list[dict[str, Any]]) -> None:
    if deliveries:
        session.execute(insert(Delivery), deliveries)
        mark_published(session)


def _delivery(
    session: Session, event_id: int, event: dict[str, Any], automation: Automation, action: Action
) -> dict[str, Any]:
    """The delivery row of one automation's action on one event, due at once."""
    chain: tuple[int, ...] = session.info.get(CHAIN, ())
    return {
        "message_id": "msg_" + secrets.token_hex(12),
        "event_id": event_id,
        "automation_id": automation.id,
        "integration_id": automation.integration_id,
        "kind": action.action,
        "payload": _payload(action, event["type"], event["variables"]),
        "chain": ",".join(str(i) for i in (*chain, automation.id)),
        "next_attempt_at": event["created_at"],
    }


def _payload(action: Action, event_type: str, variables: dict[str, Any]) -> Any:
    if action.action == "webhook":
        if action.payload is None:
            return variables
        return render(action.payload, variables)
    if action.action == "notification":
        return {
            "title": render(action.title, variables),
            "text": render(action.text, variables),
            "severity": action.severity,
            "event_type": event_type,
            "variables": variables,
        }
    return None


def _load_windows(session: Session, run_id: int, keys: list[str]) -> dict[str, list[float]]:
    rows = session.exec(
        select(MetricWindow.key, MetricWindow.values).where(
            MetricWindow.run_id == run_id, col(MetricWindow.key).in_(keys)
        )
    )
    windows: dict[str, list[float]] = {key: [] for key in keys}
    windows.update({key: list(values) for key, values in rows})
    return windows


def _save_windows(session: Session, run_id: int, windows: dict[str, list[float]]) -> None:
    rows = [{"run_id": run_id, "key": key, "values": values} for key, values in windows.items()]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(MetricWindow).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["run_id", "key"], set_={"values": statement.excluded["values"]}
        )
    )
