"""Resolve an artifact path, `project/collection:selector` or `@registry/collection:selector`."""

from fastapi import APIRouter, Response

from registry.api.deps import ReadSessionDep
from registry.api.responses import json_response
from registry.schemas import VersionPublic
from registry.services.paths import parse_path
from registry.views import get_version_public

router = APIRouter(tags=["artifacts"])


@router.get("/resolve", response_model=VersionPublic)
def resolve(path: str, session: ReadSessionDep) -> Response:
    """The version a full artifact path names (no selector means `latest`)."""
    ref, selector = parse_path(path)
    return json_response(get_version_public(session, ref, selector))
