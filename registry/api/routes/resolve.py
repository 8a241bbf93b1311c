"""Resolve an artifact path, `project/collection:selector` or `@registry/collection:selector`."""

from fastapi import APIRouter

from registry.api.deps import ReadSessionDep
from registry.schemas import VersionPublic
from registry.services.paths import parse_path
from registry.views import get_version_public

router = APIRouter(tags=["artifacts"])


@router.get("/resolve")
def resolve(path: str, session: ReadSessionDep) -> VersionPublic:
    """The version a full artifact path names (no selector means `latest`)."""
    ref, selector = parse_path(path)
    return get_version_public(session, ref, selector)
