"""How `strata serve` runs uvicorn: one process, or N API processes sharing one socket.

With several processes uvicorn creates the listening socket itself (protocol number
0), and asyncio's event loop only sets TCP_NODELAY on accepted sockets whose protocol
is TCP. A client reusing a keep-alive connection then waits ~40 ms per request
(Nagle's algorithm against delayed ACKs). uvloop, used when installed, sets the option
itself; `NoDelayHttpProtocol` sets it on every connection whatever the loop.
"""

import asyncio
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from registry.settings import Settings


class NoDelayHttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "warning",
        "http": NoDelayHttpProtocol,
    }


def run(settings: Settings, workers: int) -> None:
    """Serve until stopped. Each of several processes builds its app from the
    environment (`create_app` as a factory), so settings must come from there."""
    options = uvicorn_options(settings)
    if workers == 1:
        from registry.main import create_app

        uvicorn.run(create_app(settings), **options)
    else:
        uvicorn.run("registry.main:create_app", factory=True, workers=workers, **options)
