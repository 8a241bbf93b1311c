"""Automations: `event >> action` definitions, enabled or not."""

from fastapi import APIRouter

from automations.schema import Automation, AutomationUpdate, NewAutomation
from registry.api.deps import ReadSessionDep, SessionDep
from registry.services import automations

router = APIRouter(prefix="/automations", tags=["automations"])


@router.post("", status_code=201)
def create_automation(body: NewAutomation, session: SessionDep) -> Automation:
    return automations.automation_public(automations.create_automation(session, body))


@router.get("")
def list_automations(session: ReadSessionDep) -> list[Automation]:
    return [automations.automation_public(row) for row in automations.list_automations(session)]


@router.get("/{name}")
def get_automation(name: str, session: ReadSessionDep) -> Automation:
    return automations.automation_public(automations.get_automation(session, name))


@router.patch("/{name}")
def update_automation(name: str, body: AutomationUpdate, session: SessionDep) -> Automation:
    row = automations.update_automation(session, name, body)
    session.flush()
    return automations.automation_public(row)


@router.delete("/{name}", status_code=204)
def delete_automation(name: str, session: SessionDep) -> None:
    automations.delete_automation(session, name)
