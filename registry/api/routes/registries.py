"""Registries, their portfolios, and linking project versions into them."""

from fastapi import APIRouter

from registry.api.deps import ReadSessionDep, SessionDep
from registry.api.routes.versions import version_routes
from registry.schemas import (
    CollectionPublic,
    CollectionUpdate,
    CommitResult,
    LinkCreate,
    MemberPublic,
    MemberUpdate,
    RegistryCreate,
    RegistryPublic,
    RegistryUpdate,
)
from registry.services import access, collection_deletion, members, registries
from registry.services.collections import CollectionRef, find_collection, list_portfolios
from registry.services.links import link_version
from registry.services.names import check_tags
from registry.services.versions import resolve_version
from registry.views import collections_public, registries_public, version_public

router = APIRouter(prefix="/registries", tags=["registries"])


async def registry_collection(registry: str, collection: str) -> CollectionRef:
    return CollectionRef(name=collection, registry=registry)


@router.post("", status_code=201)
def create_registry(body: RegistryCreate, session: SessionDep) -> RegistryPublic:
    registry = registries.create_registry(
        session,
        body.name,
        description=body.description,
        allowed_types=body.allowed_types,
        visibility=body.visibility,
        protected_aliases=body.protected_aliases,
    )
    return registries_public([registry])[0]


@router.get("")
def list_registries(session: ReadSessionDep) -> list[RegistryPublic]:
    return registries_public(registries.list_registries(session))


@router.get("/{registry}")
def get_registry(registry: str, session: ReadSessionDep) -> RegistryPublic:
    return registries_public([registries.get_registry(session, registry)])[0]


@router.patch("/{registry}")
def update_registry(registry: str, body: RegistryUpdate, session: SessionDep) -> RegistryPublic:
    row = registries.get_registry(session, registry, for_update=True)
    registries.apply_registry_fields(
        row,
        description=body.description,
        allowed_types=body.allowed_types,
        visibility=body.visibility,
        protected_aliases=body.protected_aliases,
    )
    session.add(row)
    session.flush()
    return registries_public([row])[0]


@router.delete("/{registry}", status_code=204)
def delete_registry(registry: str, session: SessionDep) -> None:
    """Delete the registry and its links; the linked project versions stay."""
    registries.delete_registry(session, registries.get_registry(session, registry, for_update=True))


@router.get("/{registry}/members")
def list_members(registry: str, session: ReadSessionDep) -> list[MemberPublic]:
    row = registries.get_registry(session, registry)
    return [
        MemberPublic(key=name, role=member.role, created_at=member.created_at)
        for name, member in members.list_members(session, row)
    ]


@router.put("/{registry}/members/{key}")
def set_member(registry: str, key: str, body: MemberUpdate, session: SessionDep) -> MemberPublic:
    """Make a key a member (viewer, member or admin), or change its role."""
    row = registries.get_registry(session, registry, for_update=True)
    member = members.set_member(session, row, key, body.role)
    return MemberPublic(key=key, role=member.role, created_at=member.created_at)


@router.delete("/{registry}/members/{key}", status_code=204)
def remove_member(registry: str, key: str, session: SessionDep) -> None:
    members.remove_member(session, registries.get_registry(session, registry), key)


@router.get("/{registry}/collections")
def list_collections(registry: str, session: ReadSessionDep) -> list[CollectionPublic]:
    row = registries.get_registry(session, registry)
    return collections_public(session, list_portfolios(session, row))


@router.get("/{registry}/collections/{collection}")
def get_collection(registry: str, collection: str, session: ReadSessionDep) -> CollectionPublic:
    row = find_collection(session, CollectionRef(name=collection, registry=registry))
    return collections_public(session, [row])[0]


@router.patch("/{registry}/collections/{collection}")
def update_collection(
    registry: str, collection: str, body: CollectionUpdate, session: SessionDep
) -> CollectionPublic:
    row = find_collection(
        session, CollectionRef(name=collection, registry=registry), for_update=True
    )
    access.check_portfolio_change(session, row)
    if body.description is not None:
        row.description = body.description
    if body.tags is not None:
        row.tags = check_tags(body.tags)
    session.add(row)
    session.flush()
    return collections_public(session, [row])[0]


@router.delete("/{registry}/collections/{collection}", status_code=204)
def delete_collection(registry: str, collection: str, session: SessionDep) -> None:
    """Delete the portfolio and its links; the project versions they link to stay."""
    row = find_collection(
        session, CollectionRef(name=collection, registry=registry), for_update=True
    )
    collection_deletion.delete_portfolio(session, row)


@router.post("/{registry}/collections/{collection}/links", status_code=201)
def link(registry: str, collection: str, body: LinkCreate, session: SessionDep) -> CommitResult:
    """Link a project version into the portfolio (created on first link) with aliases.
    Linking a version already there only adds the aliases (`created` is false)."""
    source_ref = CollectionRef(name=body.collection, project=body.project)
    source_collection, source = resolve_version(session, source_ref, body.version)
    member, created = link_version(
        session, registry, collection, source_collection, source, body.aliases
    )
    session.flush()
    return CommitResult(version=version_public(session, member), created=created)


router.include_router(
    version_routes(registry_collection), prefix="/{registry}/collections/{collection}"
)
