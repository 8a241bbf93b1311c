"""Registries: organization-level homes for promoted collections (portfolios)."""

from sqlalchemy import delete
from sqlmodel import Session, col, select

from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import (
    Alias,
    ArtifactCollection,
    ArtifactVersion,
    Registry,
    RegistryMember,
    VersionTag,
    utcnow,
)
from registry.services import access
from registry.services.automation_rows import delete_scoped
from registry.services.names import check_alias, check_name, check_type

VISIBILITIES = ("organization", "restricted")


def create_registry(
    session: Session,
    name: str,
    *,
    description: str = "",
    allowed_types: list[str] | None = None,
    visibility: str = "organization",
    protected_aliases: list[str] | None = None,
) -> Registry:
    check_name("registry", name)
    if session.exec(select(Registry.id).where(Registry.name == name)).first() is not None:
        raise Conflict(f"registry {name!r} already exists")
    registry = Registry(name=name)
    apply_registry_fields(
        registry,
        description=description,
        allowed_types=allowed_types or [],
        visibility=visibility,
        protected_aliases=protected_aliases or [],
    )
    session.add(registry)
    session.flush()
    return registry


def apply_registry_fields(
    registry: Registry,
    *,
    description: str | None = None,
    allowed_types: list[str] | None = None,
    visibility: str | None = None,
    protected_aliases: list[str] | None = None,
) -> None:
    """Set the given fields (None leaves one unchanged), validating each."""
    if description is not None:
        registry.description = description
    if allowed_types is not None:
        registry.allowed_types = sorted({check_type(t) for t in allowed_types})
    if visibility is not None:
        if visibility not in VISIBILITIES:
            raise InvalidInput(
                f"registry visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}"
            )
        registry.visibility = visibility
    if protected_aliases is not None:
        registry.protected_aliases = sorted({check_alias(a) for a in protected_aliases})
    registry.updated_at = utcnow()


def get_registry(session: Session, name: str, *, for_update: bool = False) -> Registry:
    """The registry; one the principal may not see is missing (see services/access.py)."""
    query = select(Registry).where(Registry.name == check_name("registry", name))
    if for_update:
        query = query.with_for_update()
    registry = session.exec(query).first()
    if registry is None or not access.can_see(session, registry):
        raise NotFound(f"registry {name!r} does not exist")
    return registry


def list_registries(session: Session) -> list[Registry]:
    query = select(Registry)
    visible = access.visible_registries(session)
    if visible is not None:
        query = query.where(visible)
    return list(session.exec(query.order_by(Registry.name)))


def delete_registry(session: Session, registry: Registry) -> None:
    """Remove the registry with its portfolios and the automations listening on them.
    Links own no files, so nothing else goes: the linked project versions stay."""
    portfolio_ids = select(ArtifactCollection.id).where(
        ArtifactCollection.registry_id == registry.id
    )
    drop_portfolios(session, list(session.exec(portfolio_ids)))  # type: ignore[arg-type]
    delete_scoped(session, "registry", [registry.id])  # type: ignore[list-item]
    session.execute(delete(RegistryMember).where(col(RegistryMember.registry_id) == registry.id))
    session.delete(registry)


def drop_portfolios(session: Session, portfolio_ids: list[int]) -> None:
    """Delete portfolios with their links, the links' aliases and tags, and the
    automations listening on them. Links own no files: the project versions stay."""
    links = select(ArtifactVersion.id).where(col(ArtifactVersion.collection_id).in_(portfolio_ids))
    session.execute(delete(Alias).where(col(Alias.collection_id).in_(portfolio_ids)))
    session.execute(delete(VersionTag).where(col(VersionTag.version_id).in_(links)))
    session.execute(
        delete(ArtifactVersion).where(col(ArtifactVersion.collection_id).in_(portfolio_ids))
    )
    delete_scoped(session, "collection", portfolio_ids)
    session.execute(delete(ArtifactCollection).where(col(ArtifactCollection.id).in_(portfolio_ids)))


def check_type_allowed(registry: Registry, type_: str) -> None:
    if registry.allowed_types and type_ not in registry.allowed_types:
        allowed = ", ".join(registry.allowed_types)
        raise InvalidInput(
            f"registry {registry.name!r} accepts artifact types [{allowed}]; "
            f"an artifact of type {type_!r} cannot be linked into it"
        )
