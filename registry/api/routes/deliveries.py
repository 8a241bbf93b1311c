"""The delivery log: every firing with its attempts; redelivery on request."""

from typing import Annotated

from fastapi import APIRouter, Query

from automations.schema import Delivery
from registry.api.deps import ReadSessionDep, SessionDep
from registry.services import deliveries

router = APIRouter(prefix="/deliveries", tags=["automations"])


@router.get("")
def list_deliveries(
    session: ReadSessionDep,
    automation: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=deliveries.MAX_PAGE)] = 100,
    before: str | None = None,
) -> list[Delivery]:
    rows = deliveries.list_deliveries(
        session, automation=automation, status=status, limit=limit, before=before
    )
    return deliveries.deliveries_public(session, rows)


@router.get("/{delivery_id}")
def get_delivery(delivery_id: str, session: ReadSessionDep) -> Delivery:
    return deliveries.deliveries_public(session, [deliveries.get_delivery(session, delivery_id)])[0]


@router.post("/{delivery_id}/redeliver")
def redeliver(delivery_id: str, session: SessionDep) -> Delivery:
    row = deliveries.redeliver(session, delivery_id)
    session.flush()
    return deliveries.deliveries_public(session, [row])[0]
