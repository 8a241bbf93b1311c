"""Version expiry: a committed version whose TTL has passed is deleted (softly; garbage
collection reclaims its bytes), as if a user had deleted it.

A version that still holds an alias (here or where it is linked) is kept: an alias
is someone's decision to use that version, which a TTL set at logging time should not
overrule. It expires once its aliases are gone.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from registry.errors import Conflict
from registry.models import ArtifactCollection, ArtifactVersion, utcnow
from registry.services.artifact_versions import delete_version
from registry.services.versions import COMMITTED

log = logging.getLogger("strata.expiry")
EVERY = timedelta(minutes=1)


def expire_versions(session: Session, now: datetime) -> int:
    """Delete the versions whose TTL ended by `now`; returns how many."""
    candidates = session.exec(
        select(ArtifactVersion).where(
            col(ArtifactVersion.ttl_seconds).is_not(None),
            col(ArtifactVersion.source_version_id).is_(None),  # links follow their source
            ArtifactVersion.state == COMMITTED,
        )
    )
    expired = 0
    for version in list(candidates):
        if version.created_at + timedelta(seconds=version.ttl_seconds or 0) > now:
            continue
        collection = session.get(ArtifactCollection, version.collection_id)
        assert collection is not None
        try:
            with session.begin_nested():
                delete_version(session, collection, version)
        except Conflict as kept:
            log.debug("version %s outlived its TTL but is kept: %s", version.id, kept)
            continue
        expired += 1
    return expired


def run_expiry(engine: Engine) -> int:
    """The periodic job: one transaction per tick."""
    with Session(engine) as session:
        expired = expire_versions(session, utcnow())
        session.commit()
    return expired
