"""Automations: the list with their switches, and each one's delivery log (attempts,
status codes, latency) with a redeliver button. Integrations are listed without their
secrets: the service never hands those out."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from automations.schema import AutomationUpdate
from registry.api.deps import ReadSessionDep, SessionDep
from registry.errors import InvalidInput
from registry.services import automations, deliveries, integrations
from registry.web import links
from registry.web.rendering import PageRoute, check_same_origin, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE = 50
SWITCH = {"on": True, "off": False}


@router.get("/automations", response_class=HTMLResponse)
def automations_page(request: Request, session: ReadSessionDep) -> HTMLResponse:
    return render(
        request,
        "automations.html",
        automations=[
            automations.automation_public(a) for a in automations.list_automations(session)
        ],
        integrations=[
            integrations.integration_public(i) for i in integrations.list_integrations(session)
        ],
    )


@router.post("/automations/{name}/enabled")
def switch_automation(
    request: Request, name: str, session: SessionDep, enabled: Annotated[str, Form()] = ""
) -> RedirectResponse:
    check_same_origin(request)
    if enabled not in SWITCH:
        raise InvalidInput(f"enabled must be 'on' or 'off', not {enabled!r}")
    automations.update_automation(session, name, AutomationUpdate(enabled=SWITCH[enabled]))
    return RedirectResponse(links.automation_url(name), status_code=303)


@router.get("/automations/{name}", response_class=HTMLResponse)
def automation_page(
    request: Request,
    name: str,
    session: ReadSessionDep,
    before: str | None = None,
    redelivered: str | None = None,
) -> HTMLResponse:
    row = automations.get_automation(session, name)
    rows = deliveries.list_deliveries(session, automation=name, limit=PAGE, before=before)
    return render(
        request,
        "automation.html",
        automation=automations.automation_public(row),
        deliveries=deliveries.deliveries_public(session, rows),
        older=rows[-1].message_id if len(rows) == PAGE else None,
        redelivered=redelivered,
    )


@router.post("/deliveries/{delivery_id}/redeliver")
def redeliver(request: Request, delivery_id: str, session: SessionDep) -> RedirectResponse:
    check_same_origin(request)
    row = deliveries.redeliver(session, delivery_id)
    name = deliveries.deliveries_public(session, [row], with_attempts=False)[0].automation
    return RedirectResponse(
        links.with_query(links.automation_url(name), redelivered=delivery_id), status_code=303
    )
