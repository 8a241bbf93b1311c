"""Injected dependencies: who the caller is, the request's database session and the
blob store.

`authorize` runs first on every route (an app-wide dependency): with auth on it
finds the request's API key and checks the role its route needs (api/access.py).
Sessions carry the principal, so services can hide restricted registries, and name
it as the author of events and alias moves (the client's `strata-author` header
counts only while auth is off).

Routes that only read take `ReadSessionDep` (every GET, and POSTs that only read,
such as a query with a large body, so they never queue behind writers on SQLite).
Every other route takes `SessionDep`: a writing transaction that commits when the
route returns and rolls back if it raises.
"""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from automations import bus
from automations.egress import EgressPolicy
from automations.secrets import SecretBox
from registry.db import session_scope
from registry.errors import Forbidden, Unauthorized
from registry.limits import Limits
from registry.services import access, api_keys, events
from registry.services.api_keys import Principal
from registry.storage.blob_store import BlobStore

# Who makes a change, as the client says (while auth is off).
AUTHOR_HEADER = "strata-author"
# Echoed from a delivery's headers by a receiver that calls back (loop guard).
CHAIN_HEADER = "strata-automation-chain"
# The API key a browser signed in with (web pages only; see `_secret`).
KEY_COOKIE = "strata_key"


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A writing transaction. Creating the session does no I/O (BEGIN comes with the
    route's first query, in its worker thread); commit or rollback, and the close,
    happen in one worker-thread call, so a write costs two thread hops, not three.

    Events the transaction published wake the in-process delivery worker once it has
    committed (other workers find them on their next poll)."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    principal = _principal(request)
    session.info[access.PRINCIPAL] = principal
    author = principal.name if principal else request.headers.get(AUTHOR_HEADER, "")[:256]
    session.info[events.AUTHOR] = author
    session.info[bus.CHAIN] = _chain(request.headers.get(CHAIN_HEADER, ""))
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_end, session, commit=False)
        raise
    published = await run_in_threadpool(_end, session, commit=True)
    worker = request.app.state.worker
    if published and worker is not None:
        worker.wake()


def _chain(header: str) -> tuple[int, ...]:
    """The automation ids a delivery carried (`strata-automation-chain`), echoed back by
    a receiver that acts on it; malformed parts are ignored."""
    return tuple(int(part) for part in header.split(",")[: bus.MAX_CHAIN + 1] if part.isdigit())


def _end(session: Session, *, commit: bool) -> bool:
    """Commit or roll back, then close; True when committed events await delivery."""
    try:
        session.commit() if commit else session.rollback()
        return commit and bool(session.info.get(bus.PUBLISHED))
    finally:
        session.close()


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    """Async, though the route's queries run in its worker thread: creating a session
    does no I/O, and closing one only ends a read transaction, so the event loop does
    both and a read costs one thread hop instead of three."""
    session = Session(request.app.state.read_engine, expire_on_commit=False)
    session.info[access.PRINCIPAL] = _principal(request)
    try:
        yield session
    finally:
        session.close()


async def authorize(request: Request) -> None:
    """With auth on: 401 without a valid key, 403 when its role is below the route's."""
    if not request.app.state.settings.auth_enabled:
        return
    needed = request.app.state.route_roles.get(id(request.scope.get("route")), "admin")
    if needed == "public":
        return
    secret = _secret(request)
    if not secret:
        raise Unauthorized("this server requires an API key: send 'Authorization: Bearer <key>'")
    principal = await run_in_threadpool(_authenticate, request.app.state, secret)
    if principal is None:
        raise Unauthorized("the API key is not valid (unknown or revoked)")
    if not principal.has_role(needed):
        raise Forbidden(
            f"this needs a key of role {needed}; key {principal.name!r} is {principal.role}"
        )
    request.state.principal = principal


def _secret(request: Request) -> str:
    """The key a request carries: `Authorization: Bearer`, or, on a web page only, the
    key its sign-in form stored in a cookie. The REST API never takes the cookie, so a
    page of another site cannot use a signed-in browser against it."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return secret.strip()
    if getattr(request.scope.get("route"), "signs_in_by_cookie", False):
        return request.cookies.get(KEY_COOKIE, "")
    return ""


def _authenticate(state: Any, secret: str) -> Principal | None:
    with session_scope(state.read_engine, read_only=True) as session:
        principal = api_keys.authenticate(session, secret)
    if principal is not None and api_keys.use_is_stale(principal):
        with session_scope(state.engine) as session:
            api_keys.record_use(session, principal)
    return principal


def _principal(request: Request) -> Principal | None:
    return getattr(request.state, "principal", None)


async def get_secret_box(request: Request) -> SecretBox:
    return request.app.state.secret_box


async def get_egress_policy(request: Request) -> EgressPolicy:
    return request.app.state.egress_policy


async def get_limits(request: Request) -> Limits:
    return request.app.state.limits


async def get_blob_store(request: Request) -> BlobStore:
    # Async only to skip the thread hop FastAPI makes for a sync dependency.
    return request.app.state.blob_store


# scope="function": commit before the response is sent, so a client never sees
# success for a transaction that then fails.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
BlobStoreDep = Annotated[BlobStore, Depends(get_blob_store)]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]
EgressPolicyDep = Annotated[EgressPolicy, Depends(get_egress_policy)]
LimitsDep = Annotated[Limits, Depends(get_limits)]
