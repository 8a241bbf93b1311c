"""Automations: saving `event >> action` with its scope resolved to a row id.

The scope is stored both by id (what `automations.bus` matches events against) and by
name inside the trigger's wire form (what users read back). The action's integration
must exist and be of the action's kind; templates were checked by the schema.
"""

from pydantic import ValidationError
from sqlalchemy import delete
from sqlmodel import Session, col, select

from automations.models import Automation, Integration, MetricWindow
from automations.schema import Action, AutomationUpdate, NewAutomation, OnRunMetric, Scope
from automations.schema import Automation as AutomationPublic
from automations.templates import METRIC_EVENTS
from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import Run, utcnow
from registry.services import registries
from registry.services.automation_rows import delete_automations
from registry.services.collections import CollectionRef, find_collection
from registry.services.projects import get_or_create_project

INTEGRATION_KIND = {"webhook": "webhook", "notification": "slack"}


def create_automation(session: Session, spec: NewAutomation) -> Automation:
    if not spec.name:
        raise InvalidInput("an automation needs a name")
    if session.exec(select(Automation.id).where(Automation.name == spec.name)).first():
        raise Conflict(f"automation {spec.name!r} already exists")
    row = Automation(
        name=spec.name, trigger={}, action={}, event_type="", scope_type="", scope_id=0
    )
    _apply(session, row, spec)
    session.add(row)
    session.flush()
    return row


def update_automation(session: Session, name: str, changes: AutomationUpdate) -> Automation:
    row = get_automation(session, name)
    if changes.name is not None and changes.name != row.name:
        if session.exec(select(Automation.id).where(Automation.name == changes.name)).first():
            raise Conflict(f"automation {changes.name!r} already exists")
        row.name = changes.name
    current = automation_public(row)
    try:
        spec = NewAutomation(
            event=changes.event or current.event,
            action=changes.action or current.action,
            name=row.name,
            description=current.description if changes.description is None else changes.description,
            enabled=current.enabled if changes.enabled is None else changes.enabled,
        )
    except ValidationError as exc:
        raise InvalidInput(_first_error(exc)) from None
    _apply(session, row, spec)
    row.updated_at = utcnow()
    session.add(row)
    return row


def _apply(session: Session, row: Automation, spec: NewAutomation) -> None:
    scope_id = _scope_id(session, spec.event.scope)
    if isinstance(spec.event, OnRunMetric):
        _drop_unwatched_windows(session, row, scope_id, spec.event.filter.name)
    row.description, row.enabled = spec.description, spec.enabled
    row.event_type = spec.event.event
    row.scope_type, row.scope_id = spec.event.scope.type, scope_id
    row.trigger = spec.event.model_dump(mode="json")
    row.action = spec.action.model_dump(mode="json")
    row.integration_id = _integration_id(session, spec.action)


def _drop_unwatched_windows(session: Session, row: Automation, project_id: int, key: str) -> None:
    """Metric windows of a key are kept while some automation of the project watches it
    (enabled or not). When a key starts being watched, windows left from an earlier,
    deleted automation are stale (values logged since are missing): drop them, so the
    new automation judges only values logged from now on."""
    others = session.exec(
        select(Automation.trigger).where(
            col(Automation.event_type).in_(METRIC_EVENTS),
            Automation.scope_type == "project",
            Automation.scope_id == project_id,
            Automation.id != row.id,
        )
    ).all()
    if any(trigger.get("filter", {}).get("name") == key for trigger in others):
        return
    runs = select(Run.id).where(Run.project_id == project_id)
    session.execute(
        delete(MetricWindow).where(col(MetricWindow.key) == key, col(MetricWindow.run_id).in_(runs))
    )


def _scope_id(session: Session, scope: Scope) -> int:
    if scope.type == "project":
        return get_or_create_project(session, scope.name).id  # type: ignore[return-value]
    if scope.type == "registry":
        return registries.get_registry(session, scope.name).id  # type: ignore[return-value]
    ref = CollectionRef(scope.name, project=scope.project, registry=scope.registry)
    return find_collection(session, ref).id  # type: ignore[return-value]


def _integration_id(session: Session, action: Action) -> int | None:
    if action.action == "no_op":
        return None
    name = action.integration
    row = session.exec(select(Integration).where(Integration.name == name)).first()
    if row is None:
        raise NotFound(f"integration {name!r} does not exist")
    wanted = INTEGRATION_KIND[action.action]
    if row.kind != wanted:
        raise InvalidInput(
            f"integration {name!r} is a {row.kind} integration; {action.action} actions "
            f"need a {wanted} integration"
        )
    return row.id


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]


def get_automation(session: Session, name: str) -> Automation:
    row = session.exec(select(Automation).where(Automation.name == name)).first()
    if row is None:
        raise NotFound(f"automation {name!r} does not exist")
    return row


def list_automations(session: Session) -> list[Automation]:
    return list(session.exec(select(Automation).order_by(col(Automation.name))))


def delete_automation(session: Session, name: str) -> None:
    """Remove the automation with its deliveries; the events stay in the log."""
    row = get_automation(session, name)
    delete_automations(session, [row.id])  # type: ignore[list-item]


def automation_public(row: Automation) -> AutomationPublic:
    return AutomationPublic.model_validate(
        {
            "id": row.id,
            "name": row.name,
            "description": row.description,
            "enabled": row.enabled,
            "event": row.trigger,
            "action": row.action,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
    )
