"""Deleting automations with their deliveries (also when their scope is deleted)."""

from sqlalchemy import delete
from sqlmodel import Session, col, select

from automations.models import Automation, Delivery, DeliveryAttempt


def delete_scoped(session: Session, scope_type: str, scope_ids: list[int]) -> None:
    """Remove the automations listening on scopes that are being deleted."""
    if not scope_ids:
        return
    ids = session.exec(
        select(Automation.id).where(
            Automation.scope_type == scope_type, col(Automation.scope_id).in_(scope_ids)
        )
    ).all()
    delete_automations(session, list(ids))  # type: ignore[arg-type]


def delete_automations(session: Session, automation_ids: list[int]) -> None:
    if not automation_ids:
        return
    deliveries = select(Delivery.id).where(col(Delivery.automation_id).in_(automation_ids))
    session.execute(delete(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(deliveries)))
    session.execute(delete(Delivery).where(col(Delivery.automation_id).in_(automation_ids)))
    session.execute(delete(Automation).where(col(Automation.id).in_(automation_ids)))
