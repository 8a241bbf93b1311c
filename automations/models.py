"""Tables of the automations: integrations, automations, the event outbox, deliveries
and their attempts, and the per-run metric windows that triggers evaluate.

They share `SQLModel.metadata` with the registry's tables; columns that point at the
registry's rows (project, registry, collection, run, version ids) are plain integers
in the event log, which outlives what it describes.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from automations.clock import utcnow


class Integration(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=128)
    kind: str = Field(max_length=16)  # webhook | slack
    # Webhook: the target URL. Slack: the host only (the URL itself is secret).
    url: str = Field(max_length=2048)
    channel: str | None = Field(default=None, max_length=128)
    # Encrypted (see automations/secrets.py): webhook signing secret and access
    # token, or the Slack incoming-webhook URL.
    secret: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    access_token: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # Slack allows about one message per second per webhook; the next send waits
    # until then (also pushed back by a 429's Retry-After).
    send_after: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Automation(SQLModel, table=True):
    __table_args__ = (Index("ix_automation_match", "event_type", "scope_type", "scope_id"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=128)
    description: str = ""
    enabled: bool = True
    event_type: str = Field(max_length=32)
    scope_type: str = Field(max_length=16)  # project | registry | collection
    scope_id: int
    # The wire forms (automations.schema): trigger incl. scope names and filter; action.
    trigger: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    action: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    integration_id: int | None = Field(default=None, foreign_key="integration.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Event(SQLModel, table=True):
    """The outbox: written in the transaction of the change that caused it."""

    # A registry's history pages read its newest events first.
    __table_args__ = (Index("ix_event_registry_id", "registry_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=32)
    project_id: int | None = None
    registry_id: int | None = None
    collection_id: int | None = None
    version_id: int | None = None
    run_id: int | None = None
    author: str = Field(default="", max_length=256)
    # The template variables of the event (automations.templates.VARIABLES).
    variables: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class Delivery(SQLModel, table=True):
    __table_args__ = (Index("ix_delivery_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # `webhook-id`: stable across retries and redeliveries, so receivers can dedupe.
    message_id: str = Field(unique=True, max_length=64)
    event_id: int = Field(foreign_key="event.id", index=True)
    automation_id: int = Field(foreign_key="automation.id", index=True)
    integration_id: int | None = Field(default=None, foreign_key="integration.id")
    kind: str = Field(max_length=16)  # webhook | notification | no_op
    # The rendered request content, fixed when the event is published.
    payload: Any = Field(sa_column=Column(JSON, nullable=True))
    # Automations whose firings led to this one (loop guard), comma-separated ids.
    chain: str = Field(default="", max_length=512)
    status: str = Field(default="pending", max_length=16)
    # Attempts since the last (re)delivery request: indexes the retry schedule.
    cycle_attempts: int = 0
    attempt_count: int = 0
    next_attempt_at: datetime | None = Field(default_factory=utcnow)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    number: int
    started_at: datetime
    latency_ms: float | None = None
    status_code: int | None = None
    response: str = ""
    error: str = ""


class MetricWindow(SQLModel, table=True):
    """The last values of one run's metric key, enough for every trigger's window."""

    __tablename__ = "metric_window"

    run_id: int = Field(foreign_key="run.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=256)
    values: list[float] = Field(sa_column=Column(JSON, nullable=False))


class ScheduledJob(SQLModel, table=True):
    """A periodic job's next tick. Workers race to move `next_run_at` forward; the one
    whose update matched runs the job for that tick (automations/scheduler.py)."""

    __tablename__ = "scheduled_job"

    name: str = Field(primary_key=True, max_length=64)
    next_run_at: datetime
    last_run_at: datetime | None = None
    last_owner: str = Field(default="", max_length=128)
    last_error: str = Field(default="", max_length=2000)
