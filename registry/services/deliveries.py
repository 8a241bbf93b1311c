"""Reading the delivery log, and asking for a delivery to be sent again."""

from collections import defaultdict

from sqlmodel import Session, col, select

from automations import delivery as outbox
from automations.models import Automation, Delivery, DeliveryAttempt, Event
from automations.schema import Delivery as DeliveryPublic
from automations.schema import DeliveryAttempt as AttemptPublic
from registry.errors import Conflict, InvalidInput, NotFound
from registry.services.automations import get_automation

STATUSES = ("pending", "delivering", "delivered", "failed", "dead")
MAX_PAGE = 1000


def list_deliveries(
    session: Session,
    *,
    automation: str | None = None,
    status: str | None = None,
    limit: int = 100,
    before: str | None = None,
) -> list[Delivery]:
    """Newest first; `before` (a delivery id) pages on from that delivery."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"delivery status must be one of {', '.join(STATUSES)}, not {status!r}")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    query = select(Delivery)
    if automation is not None:
        query = query.where(Delivery.automation_id == get_automation(session, automation).id)
    if status is not None:
        query = query.where(Delivery.status == status)
    if before is not None:
        query = query.where(col(Delivery.id) < get_delivery(session, before).id)
    return list(session.exec(query.order_by(col(Delivery.id).desc()).limit(limit)))


def get_delivery(session: Session, message_id: str) -> Delivery:
    row = session.exec(select(Delivery).where(Delivery.message_id == message_id)).first()
    if row is None:
        raise NotFound(f"delivery {message_id!r} does not exist")
    return row


def redeliver(session: Session, message_id: str) -> Delivery:
    row = get_delivery(session, message_id)
    try:
        outbox.redeliver(session, row)
    except outbox.NotRedeliverable as exc:
        raise Conflict(str(exc)) from None
    return row


def deliveries_public(
    session: Session, rows: list[Delivery], *, with_attempts: bool = True
) -> list[DeliveryPublic]:
    ids = [row.id for row in rows]
    names = dict(
        session.exec(
            select(Automation.id, Automation.name).where(
                col(Automation.id).in_({row.automation_id for row in rows})
            )
        ).all()
    )
    types = dict(
        session.exec(
            select(Event.id, Event.type).where(col(Event.id).in_({row.event_id for row in rows}))
        ).all()
    )
    attempts: dict[int, list[AttemptPublic]] = defaultdict(list)
    if with_attempts and ids:
        query = select(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(ids))
        for attempt in session.exec(query.order_by(col(DeliveryAttempt.number))):
            attempts[attempt.delivery_id].append(
                AttemptPublic.model_validate(attempt, from_attributes=True)
            )
    return [
        DeliveryPublic(
            id=row.message_id,
            automation=names.get(row.automation_id, ""),
            event_type=types.get(row.event_id, ""),
            status=row.status,  # type: ignore[arg-type]
            attempt_count=row.attempt_count,
            next_attempt_at=row.next_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            payload=row.payload,
            created_at=row.created_at,
            delivered_at=row.delivered_at,
            attempts=attempts.get(row.id, []),  # type: ignore[arg-type]
        )
        for row in rows
    ]
