"""Injected dependencies: the request's database session and the blob store.

Routes that only read take `ReadSessionDep` (every GET, and POSTs that only read,
such as a query with a large body, so they never queue behind writers on SQLite).
Every other route takes `SessionDep`: a writing transaction that commits when the
route returns and rolls back if it raises.
"""

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from registry.db import session_scope
from registry.storage.blob_store import BlobStore


def get_session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.engine) as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    """Async, though the route's queries run in its worker thread: creating a session
    does no I/O, and closing one only ends a read transaction, so the event loop does
    both and a read costs one thread hop instead of three."""
    session = Session(request.app.state.read_engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


async def get_blob_store(request: Request) -> BlobStore:
    # Async only to skip the thread hop FastAPI makes for a sync dependency.
    return request.app.state.blob_store


# scope="function": commit before the response is sent, so a client never sees
# success for a transaction that then fails.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
BlobStoreDep = Annotated[BlobStore, Depends(get_blob_store)]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
