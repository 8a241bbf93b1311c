"""Registry members: a key's role (viewer, member, admin) inside one registry.

What each role allows is in services/access.py.
"""

from sqlmodel import Session, col, select

from registry.errors import InvalidInput, NotFound
from registry.models import ApiKey, Registry, RegistryMember
from registry.services.access import MEMBER_ROLES
from registry.services.api_keys import find_key


def set_member(session: Session, registry: Registry, key_name: str, role: str) -> RegistryMember:
    """Make the key a member with `role`, or change the role it has."""
    if role not in MEMBER_ROLES:
        raise InvalidInput(
            f"registry member role must be one of {', '.join(MEMBER_ROLES)}, not {role!r}"
        )
    key = find_key(session, key_name)
    member = session.get(RegistryMember, (registry.id, key.id))
    if member is None:
        member = RegistryMember(registry_id=registry.id, key_id=key.id, role=role)  # type: ignore[arg-type]
    member.role = role
    session.add(member)
    session.flush()
    return member


def remove_member(session: Session, registry: Registry, key_name: str) -> None:
    key = find_key(session, key_name)
    member = session.get(RegistryMember, (registry.id, key.id))
    if member is None:
        raise NotFound(f"key {key.name!r} is not a member of registry {registry.name!r}")
    session.delete(member)


def list_members(session: Session, registry: Registry) -> list[tuple[str, RegistryMember]]:
    """(key name, membership) pairs, by key name."""
    rows = session.exec(
        select(ApiKey.name, RegistryMember)
        .join(RegistryMember, col(RegistryMember.key_id) == ApiKey.id)
        .where(RegistryMember.registry_id == registry.id)
        .order_by(col(ApiKey.name))
    )
    return [(name, member) for name, member in rows]
