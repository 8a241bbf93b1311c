"""Injected dependencies: the request's database session and the blob store.

GET requests get a read-only transaction; every other method gets a writing one
that commits when the route returns and rolls back if it raises. A POST that only
reads (a query with a large body) asks for `ReadSessionDep` so it never queues
behind writers on SQLite.
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from registry.db import session_scope
from registry.storage.blob_store import BlobStore


def get_session(request: Request) -> Iterator[Session]:
    read_only = request.method in ("GET", "HEAD")
    with session_scope(request.app.state.engine, read_only=read_only) as session:
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.engine, read_only=True) as session:
        yield session


def get_blob_store(request: Request) -> BlobStore:
    return request.app.state.blob_store


# scope="function": commit before the response is sent, so a client never sees
# success for a transaction that then fails.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
BlobStoreDep = Annotated[BlobStore, Depends(get_blob_store)]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
