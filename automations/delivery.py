"""Delivery bookkeeping: claim due rows under a lease, record each attempt, schedule the
retry or dead-letter, and redeliver on request.

A delivery is `pending` until a worker leases it (`delivering`, with `lease_owner` and
`lease_expires_at`); a worker that dies mid-send loses its lease when it expires and the
row is claimed again, so sending is at least once (receivers dedupe on `webhook-id`).
On PostgreSQL claims use `FOR UPDATE SKIP LOCKED`, so workers never wait on each other;
SQLite serializes writers and runs one worker.

Retries follow the schedule (`STRATA_DELIVERY_RETRY_SCHEDULE`): entry i is the delay
before attempt i+1, the first being 0; each delay gets up to +-JITTER of itself, and a
receiver's Retry-After is honoured when longer. After the last entry the row is `dead`.
A 2xx is `delivered`; a redirect, other 4xx or a refused target is `failed` at once.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from automations.actions.base import Message, Outcome
from automations.bus import mark_published
from automations.clock import utcnow
from automations.models import Delivery, DeliveryAttempt, Integration

DEFAULT_RETRY_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
JITTER = 0.1
SLACK_INTERVAL = timedelta(seconds=1)
MAX_RETRY_AFTER = 24 * 3600.0
FINAL = ("delivered", "failed", "dead")


class NotRedeliverable(Exception):
    """The delivery is still queued or being sent."""


@dataclass(frozen=True)
class DeliveryConfig:
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    lease_seconds: float = 60.0
    timeout_seconds: float = 10.0
    jitter: float = JITTER

    def __post_init__(self) -> None:
        schedule = self.retry_schedule
        if not schedule or schedule[0] != 0 or any(delay < 0 for delay in schedule):
            raise ValueError(
                "the delivery retry schedule lists delays in seconds before each attempt, "
                "starting with 0 (e.g. 0,5,300)"
            )


@dataclass(frozen=True)
class Claim:
    id: int
    integration_id: int | None
    message: Message
    owner: str
    created_at: datetime = field(compare=False)


def claim_due(session: Session, owner: str, limit: int, lease_seconds: float) -> list[Claim]:
    """Lease up to `limit` deliveries that are due, or whose lease has expired."""
    now = utcnow()
    due = or_(
        and_(col(Delivery.status) == "pending", col(Delivery.next_attempt_at) <= now),
        and_(col(Delivery.status) == "delivering", col(Delivery.lease_expires_at) < now),
    )
    query = select(Delivery).where(due).order_by(col(Delivery.next_attempt_at)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claims = []
    for row in session.exec(query):
        row.status, row.lease_owner = "delivering", owner
        row.lease_expires_at = now + timedelta(seconds=lease_seconds)
        session.add(row)
        message = Message(row.message_id, row.kind, row.payload, row.chain)
        claims.append(Claim(row.id, row.integration_id, message, owner, row.created_at))  # type: ignore[arg-type]
    return claims


def record_outcome(
    session: Session, claim: Claim, outcome: Outcome, config: DeliveryConfig, started: datetime
) -> str:
    """Store the attempt and move the delivery on; returns its new status."""
    row = session.get(Delivery, claim.id)
    if row is None:  # its automation was deleted meanwhile
        return "gone"
    row.attempt_count += 1
    session.add(
        DeliveryAttempt(
            delivery_id=claim.id,
            number=row.attempt_count,
            started_at=started,
            latency_ms=outcome.latency_ms,
            status_code=outcome.status_code,
            response=outcome.response,
            error=outcome.error[:2000],
        )
    )
    if row.lease_owner != claim.owner or row.status != "delivering":
        # The lease expired and another worker took the row over: it owns the state.
        session.add(row)
        return row.status
    now = utcnow()
    row.last_status_code, row.last_error = outcome.status_code, outcome.error[:2000]
    row.cycle_attempts += 1
    row.lease_owner = row.lease_expires_at = None
    if outcome.delivered:
        row.status, row.delivered_at, row.next_attempt_at = "delivered", now, None
    elif not outcome.retryable:
        row.status, row.next_attempt_at = "failed", None
    elif row.cycle_attempts >= len(config.retry_schedule):
        row.status, row.next_attempt_at = "dead", None
    else:
        delay = retry_delay(config, row.cycle_attempts, outcome.retry_after)
        row.status, row.next_attempt_at = "pending", now + timedelta(seconds=delay)
    row.updated_at = now
    session.add(row)
    return row.status


def retry_delay(config: DeliveryConfig, attempts_made: int, retry_after: float | None) -> float:
    delay = config.retry_schedule[attempts_made]
    delay *= 1 + random.uniform(-config.jitter, config.jitter)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def defer(session: Session, claim: Claim, until: datetime) -> None:
    """Give a leased row back unsent, due at `until` (no attempt is counted)."""
    session.execute(
        update(Delivery)
        .where(col(Delivery.id) == claim.id, col(Delivery.lease_owner) == claim.owner)
        .values(status="pending", next_attempt_at=until, lease_owner=None, lease_expires_at=None)
    )


def reserve_slack_slot(session: Session, integration_id: int) -> datetime | None:
    """Take the integration's next one-per-second send slot; None if taken now, else
    the time the next slot opens (across all workers: the row is the shared clock)."""
    now = utcnow()
    taken = session.execute(
        update(Integration)
        .where(
            col(Integration.id) == integration_id,
            or_(col(Integration.send_after).is_(None), col(Integration.send_after) <= now),
        )
        .values(send_after=now + SLACK_INTERVAL)
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        return None
    send_after = session.exec(
        select(Integration.send_after).where(Integration.id == integration_id)
    ).first()
    return send_after or now


def hold_integration(session: Session, integration_id: int, seconds: float) -> None:
    """Slack said 429: nothing more goes to this integration for `seconds`."""
    until = utcnow() + timedelta(seconds=min(seconds, MAX_RETRY_AFTER))
    session.execute(
        update(Integration).where(col(Integration.id) == integration_id).values(send_after=until)
    )


def redeliver(session: Session, delivery: Delivery) -> None:
    """Queue a finished delivery again with a fresh retry schedule and the same id."""
    if delivery.status not in FINAL:
        raise NotRedeliverable(
            f"delivery {delivery.message_id} is {delivery.status}; it is already queued"
        )
    delivery.status, delivery.cycle_attempts = "pending", 0
    delivery.next_attempt_at = delivery.updated_at = utcnow()
    session.add(delivery)
    mark_published(session)
