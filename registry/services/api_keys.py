"""API keys: creating, listing and revoking them, and finding who a secret belongs to.

A secret reads `strata_<prefix>_<random>`: `prefix` (12 hex digits) is public and
finds the key's row; `random` holds 256 bits from `secrets`. Only the SHA-256 of the
whole secret is stored, and it is shown once, when the key is made.

Why a plain SHA-256 and not a password hash (bcrypt, scrypt) or an HMAC: slow hashes
protect low-entropy passwords against guessing; a 256-bit random secret cannot be
guessed however fast the hash, and a slow hash would cost milliseconds on every
request. An HMAC keyed with STRATA_SECRET_KEY would add nothing for such secrets, and
would make every key invalid whenever that key is rotated or a replica lacks it (and
the `strata keys` command, which works on the database alone, would need it too).
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import ApiKey, utcnow
from registry.services.names import check_name

ROLES = ("read", "write", "admin")
SECRET_PREFIX = "strata_"
_SECRET = re.compile(r"^strata_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
# A key's last use is written at most this often (a write per request would queue
# every reader behind SQLite's single writer).
USE_RECORDED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: an API key, by id, name and role."""

    key_id: int
    name: str
    role: str
    last_used_at: datetime | None = field(default=None, compare=False, repr=False)

    def has_role(self, needed: str) -> bool:
        """True when this key's role is `needed` or a stronger one."""
        return ROLES.index(self.role) >= ROLES.index(needed)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"key role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def create_key(session: Session, name: str, role: str) -> tuple[ApiKey, str]:
    """A new key and its secret (the only time the secret is known)."""
    check_name("key", name)
    check_role(role)
    if session.exec(select(ApiKey.id).where(ApiKey.name == name)).first() is not None:
        raise Conflict(f"key {name!r} already exists (names stay taken after revocation)")
    prefix = secrets.token_hex(6)
    secret = f"{SECRET_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name, role=role, prefix=prefix, secret_hash=_hash(secret))
    session.add(key)
    session.flush()
    return key, secret


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.id))))


def find_key(session: Session, name_or_id: str) -> ApiKey:
    """The key of that name, else of that id."""
    conditions = [col(ApiKey.name) == name_or_id]
    if name_or_id.isdigit() and len(name_or_id) < 10:
        conditions.append(col(ApiKey.id) == int(name_or_id))
    rows = list(session.exec(select(ApiKey).where(or_(*conditions))))
    for row in rows:
        if row.name == name_or_id:
            return row
    if not rows:
        raise NotFound(f"key {name_or_id!r} does not exist")
    return rows[0]


def revoke_key(session: Session, key: ApiKey) -> ApiKey:
    """Revoke the key from now on (revoking it again changes nothing)."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.flush()
    return key


def authenticate(session: Session, secret: str) -> Principal | None:
    """The principal a secret belongs to; None for a malformed, unknown or revoked one.
    Only reads (see `record_use`)."""
    match = _SECRET.match(secret)
    if match is None:
        return None
    key = session.exec(select(ApiKey).where(ApiKey.prefix == match.group(1))).first()
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    return Principal(key.id, key.name, key.role, key.last_used_at)  # type: ignore[arg-type]


def use_is_stale(principal: Principal, now: datetime | None = None) -> bool:
    """True when the key's last use is unrecorded or older than USE_RECORDED_EVERY."""
    last = principal.last_used_at
    return last is None or (now or utcnow()) - last >= USE_RECORDED_EVERY


def record_use(session: Session, principal: Principal) -> None:
    """Set the key's last use to now, unless another request did within the minute."""
    now = utcnow()
    session.execute(
        update(ApiKey)
        .where(
            col(ApiKey.id) == principal.key_id,
            or_(
                col(ApiKey.last_used_at).is_(None),
                col(ApiKey.last_used_at) < now - USE_RECORDED_EVERY,
            ),
        )
        .values(last_used_at=now)
    )


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
