"""A service with STRATA_AUTH=on, its first admin key made by `strata keys create`."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import Server, start_server, stop_server


def strata(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """The `strata` command on the server's database, as an operator runs it."""
    env = {
        **os.environ,
        "STRATA_HOME": str(server.home),
        "STRATA_DATABASE_URL": server.database_url,
        "STRATA_URL": server.url,
    }
    return subprocess.run(
        [sys.executable, "-m", "registry", *args], env=env, capture_output=True, text=True
    )


@dataclass
class AuthServer:
    server: Server
    admin_secret: str
    secrets: dict[str, str] = field(default_factory=dict)

    def client(self, secret: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return self.server.api(headers=headers)

    @property
    def admin(self) -> httpx.Client:
        return self.client(self.admin_secret)

    def make_key(self, role: str, name: str | None = None) -> tuple[str, str]:
        """A new key made through the API by the admin key: (name, secret)."""
        name = name or f"{role}-{uuid.uuid4().hex[:8]}"
        with self.admin as api:
            response = api.post("/keys", json={"name": name, "role": role})
        assert response.status_code == 201, response.text
        self.secrets[name] = response.json()["secret"]
        return name, self.secrets[name]


def start_auth_server(home: Path, env: dict[str, str] | None = None) -> Iterator[AuthServer]:
    server = start_server(home, {"STRATA_AUTH": "on", **(env or {})})
    try:
        made = strata(server, "keys", "create", "--name", "root", "--role", "admin", "--json")
        assert made.returncode == 0, made.stderr
        secret = json.loads(made.stdout)["secret"]
        yield AuthServer(server, secret, {"root": secret})
    finally:
        stop_server(server)
