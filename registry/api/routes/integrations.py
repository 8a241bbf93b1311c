"""Integrations: webhook and Slack targets. Secrets go in, never out."""

from fastapi import APIRouter

from automations.schema import Integration, IntegrationCreate
from registry.api.deps import EgressPolicyDep, ReadSessionDep, SecretBoxDep, SessionDep
from registry.services import integrations

router = APIRouter(prefix="/integrations", tags=["automations"])


@router.post("", status_code=201)
def create_integration(
    body: IntegrationCreate, session: SessionDep, box: SecretBoxDep, policy: EgressPolicyDep
) -> Integration:
    row = integrations.create_integration(session, body, box, policy)
    return integrations.integration_public(row)


@router.get("")
def list_integrations(session: ReadSessionDep) -> list[Integration]:
    return [integrations.integration_public(row) for row in integrations.list_integrations(session)]


@router.get("/{name}")
def get_integration(name: str, session: ReadSessionDep) -> Integration:
    return integrations.integration_public(integrations.get_integration(session, name))


@router.delete("/{name}", status_code=204)
def delete_integration(name: str, session: SessionDep) -> None:
    integrations.delete_integration(session, name)
