"""Integrations: the webhook and Slack targets automations send to.

Secrets (webhook signing secret and access token, the Slack incoming-webhook URL) are
encrypted before they are stored and never leave the service again. Targets must pass
the egress policy when saved (and again on every connect, see automations/egress.py).
"""

from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from automations.actions.webhook import secret_key
from automations.egress import EgressPolicy, EgressRefused
from automations.models import Automation, Integration
from automations.schema import (
    Integration as IntegrationPublic,
)
from automations.schema import (
    IntegrationCreate,
    SlackIntegrationCreate,
    WebhookIntegrationCreate,
)
from automations.secrets import SecretBox
from registry.errors import Conflict, InvalidInput, NotFound


def create_integration(
    session: Session, spec: IntegrationCreate, box: SecretBox, policy: EgressPolicy
) -> Integration:
    if session.exec(select(Integration.id).where(Integration.name == spec.name)).first():
        raise Conflict(f"integration {spec.name!r} already exists")
    if isinstance(spec, WebhookIntegrationCreate):
        _check_target(spec.url, policy)
        if spec.secret is not None:
            try:
                secret_key(spec.secret)
            except ValueError as exc:
                raise InvalidInput(str(exc)) from None
        row = Integration(
            name=spec.name,
            kind="webhook",
            url=spec.url,
            secret=box.seal(spec.secret),
            access_token=box.seal(spec.access_token),
        )
    else:
        assert isinstance(spec, SlackIntegrationCreate)
        _check_target(spec.webhook_url, policy)
        host = urlsplit(spec.webhook_url).hostname or ""
        row = Integration(
            name=spec.name,
            kind="slack",
            url=host,
            channel=spec.channel,
            secret=box.seal(spec.webhook_url),
        )
    session.add(row)
    session.flush()
    return row


def _check_target(url: str, policy: EgressPolicy) -> None:
    try:
        policy.check_url(url)
    except EgressRefused as exc:
        raise InvalidInput(str(exc)) from None


def get_integration(session: Session, name: str) -> Integration:
    row = session.exec(select(Integration).where(Integration.name == name)).first()
    if row is None:
        raise NotFound(f"integration {name!r} does not exist")
    return row


def list_integrations(session: Session) -> list[Integration]:
    return list(session.exec(select(Integration).order_by(col(Integration.name))))


def delete_integration(session: Session, name: str) -> None:
    row = get_integration(session, name)
    users = session.exec(select(Automation.name).where(Automation.integration_id == row.id)).all()
    if users:
        raise Conflict(f"integration {name!r} is used by automations {sorted(users)}")
    session.delete(row)


def integration_public(row: Integration) -> IntegrationPublic:
    return IntegrationPublic(
        id=row.id,  # type: ignore[arg-type]
        kind=row.kind,  # type: ignore[arg-type]
        name=row.name,
        url=row.url,
        channel=row.channel,
        has_secret=row.kind == "webhook" and row.secret is not None,
        has_access_token=row.access_token is not None,
        created_at=row.created_at,
    )
