"""Injected dependencies: the request's database session and the blob store.

Routes that only read take `ReadSessionDep` (every GET, and POSTs that only read,
such as a query with a large body, so they never queue behind writers on SQLite).
Every other route takes `SessionDep`: a writing transaction that commits when the
route returns and rolls back if it raises.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from automations import bus
from automations.egress import EgressPolicy
from automations.secrets import SecretBox
from registry.limits import Limits
from registry.services import events
from registry.storage.blob_store import BlobStore

# Who makes a change, as the client says (until API keys name the caller).
AUTHOR_HEADER = "strata-author"
# Echoed from a delivery's headers by a receiver that calls back (loop guard).
CHAIN_HEADER = "strata-automation-chain"


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A writing transaction. Creating the session does no I/O (BEGIN comes with the
    route's first query, in its worker thread); commit or rollback, and the close,
    happen in one worker-thread call, so a write costs two thread hops, not three.

    Events the transaction published wake the in-process delivery worker once it has
    committed (other workers find them on their next poll)."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    session.info[events.AUTHOR] = request.headers.get(AUTHOR_HEADER, "")[:256]
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
    try:
        yield session
    finally:
        session.close()


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
