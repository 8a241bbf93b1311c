"""API keys: made and revoked by admin keys (the first one by `strata keys create`)."""

from fastapi import APIRouter

from registry.api.deps import ReadSessionDep, SessionDep
from registry.models import ApiKey
from registry.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from registry.services import api_keys

router = APIRouter(prefix="/keys", tags=["keys"])


def key_public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(key, from_attributes=True)


@router.post("", status_code=201)
def create_key(body: ApiKeyCreate, session: SessionDep) -> ApiKeyCreated:
    """A new key; its secret is in this response and nowhere else, ever."""
    key, secret = api_keys.create_key(session, body.name, body.role)
    return ApiKeyCreated(key=key_public(key), secret=secret)


@router.get("")
def list_keys(session: ReadSessionDep) -> list[ApiKeyPublic]:
    return [key_public(key) for key in api_keys.list_keys(session)]


@router.delete("/{key}")
def revoke_key(key: str, session: SessionDep) -> ApiKeyPublic:
    """Revoke a key (by name or id): it stops working at once; it stays listed."""
    return key_public(api_keys.revoke_key(session, api_keys.find_key(session, key)))
