"""Who may see and change what inside registries.

The request's principal rides in `session.info[PRINCIPAL]` (set by the API layer, like
the author of events): None when auth is off, and then everything is allowed. With
auth on, a key of role `admin` sees and changes everything; any other key

- sees an `organization` registry, and a `restricted` one only as its member; a
  registry it cannot see is reported missing (404), exactly like one that does not
  exist, so its name leaks nothing;
- changes what is inside a registry (links, aliases, unlinks, collection fields) as
  a registry `member` or `admin`;
- moves or removes a protected alias only as a registry `admin`.

Key roles (read, write, admin) gate routes as a whole: registry/api/access.py.
"""

from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from registry.errors import Forbidden
from registry.models import ArtifactCollection, Registry, RegistryMember
from registry.services.api_keys import Principal

PRINCIPAL = "strata.principal"
MEMBER_ROLES = ("viewer", "member", "admin")
RESTRICTED = "restricted"


def principal_of(session: Session) -> Principal | None:
    return session.info.get(PRINCIPAL)


def _limited(session: Session) -> Principal | None:
    """The principal when registry rules apply to it (auth on, not an admin key)."""
    principal = principal_of(session)
    return None if principal is None or principal.role == "admin" else principal


def visible_registries(session: Session) -> Any:
    """A condition on `Registry` keeping the registries the principal may see, or None
    when it sees them all."""
    principal = _limited(session)
    if principal is None:
        return None
    memberships = select(RegistryMember.registry_id).where(
        RegistryMember.key_id == principal.key_id
    )
    return or_(col(Registry.visibility) != RESTRICTED, col(Registry.id).in_(memberships))


def visible_collections(session: Session) -> Any:
    """A condition on `ArtifactCollection`: project collections, and portfolios of the
    registries the principal may see; None when it sees them all."""
    registries = visible_registries(session)
    if registries is None:
        return None
    return or_(
        col(ArtifactCollection.registry_id).is_(None),
        col(ArtifactCollection.registry_id).in_(select(Registry.id).where(registries)),
    )


def can_see(session: Session, registry: Registry) -> bool:
    principal = _limited(session)
    if principal is None or registry.visibility != RESTRICTED:
        return True
    return _member_role(session, registry, principal) is not None


def check_registry_role(
    session: Session, registry: Registry, needed: str, reason: str = ""
) -> None:
    """Refuse (403) unless the principal holds `needed` (member or admin) in the
    registry. Callers found the registry through `get_registry`, so it is visible."""
    principal = _limited(session)
    if principal is None:
        return
    role = _member_role(session, registry, principal)
    if role is None or MEMBER_ROLES.index(role) < MEMBER_ROLES.index(needed):
        held = f"is a registry {role}" if role else "is not a member"
        raise Forbidden(
            f"{reason}this change needs a registry {needed}, and key {principal.name!r} "
            f"{held} of registry {registry.name!r}"
        )


def check_portfolio_change(
    session: Session, collection: ArtifactCollection, alias: str | None = None
) -> None:
    """A change inside a portfolio (unlink, tags, or `alias` set, moved or removed)
    needs a registry member, and a protected alias a registry admin. Project
    collections have no such rule.

    A portfolio of a registry the principal cannot see is reached only through a
    project version linked into it (deleting that version unlinks it everywhere):
    refused without naming the registry."""
    if collection.registry_id is None or _limited(session) is None:
        return
    registry = session.get(Registry, collection.registry_id)
    assert registry is not None
    if not can_see(session, registry):
        raise Forbidden(
            "this change reaches into a registry this key cannot change (the version is "
            "linked there); an admin key can make it"
        )
    if alias is not None and alias in registry.protected_aliases:
        check_registry_role(session, registry, "admin", f"alias {alias!r} is protected: ")
    else:
        check_registry_role(session, registry, "member")


def _member_role(session: Session, registry: Registry, principal: Principal) -> str | None:
    return session.exec(
        select(RegistryMember.role).where(
            RegistryMember.registry_id == registry.id,
            RegistryMember.key_id == principal.key_id,
        )
    ).first()
