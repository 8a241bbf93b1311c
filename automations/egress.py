"""Where deliveries may connect: the guard against server-side request forgery.

A webhook URL is user input that makes the service open connections, so targets in
private, loopback, link-local, shared, reserved and multicast ranges are refused unless
`STRATA_WEBHOOK_ALLOWED_HOSTS` admits the host name or a network holding the address.
The check runs when an integration is saved and again on every connect, against every
address the name resolves to, and the connection goes to an address that passed: a
name that re-resolves to 10.0.0.1 after the save (DNS rebinding) is still refused.
Redirects are never followed (see actions/base.py).
"""

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class EgressRefused(Exception):
    """The target is not a public address and is not allowlisted."""


@dataclass(frozen=True)
class EgressPolicy:
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, allowlist: str | Iterable[str]) -> "EgressPolicy":
        """From `STRATA_WEBHOOK_ALLOWED_HOSTS`: comma-separated host names, IPs or CIDRs."""
        items = allowlist.split(",") if isinstance(allowlist, str) else list(allowlist)
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for item in (i.strip().lower() for i in items):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.add(item.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def check_url(self, url: str) -> None:
        """Refuse a URL that is malformed or whose host resolves anywhere not allowed."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise EgressRefused(f"webhook URLs must be http or https, not {parts.scheme!r}")
        if not parts.hostname:
            raise EgressRefused(f"webhook URL {url!r} has no host")
        if parts.username or parts.password:
            raise EgressRefused("webhook URLs may not carry credentials; use an access token")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise EgressRefused(f"webhook URL {url!r} has an invalid port") from exc
        self.resolve(parts.hostname, port)

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of `host`, all of them checked; raises if any is refused."""
        host = host.lower().rstrip(".")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise EgressRefused(f"cannot resolve webhook host {host!r}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            self._check_address(host, ipaddress.ip_address(address.split("%")[0]))
        return addresses

    def _check_address(self, host: str, address: IPAddress) -> None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if host in self.allowed_hosts or any(address in net for net in self.allowed_networks):
            return
        if not address.is_global or address.is_multicast:
            raise EgressRefused(
                f"webhook host {host!r} resolves to {address}, a private, loopback or "
                "link-local address; add it to STRATA_WEBHOOK_ALLOWED_HOSTS to allow it"
            )


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the policy admits, checked at connect time."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._policy.resolve(host, port)
        except EgressRefused as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"no address for {host!r}")


def guarded_client(policy: EgressPolicy, timeout: httpx.Timeout) -> httpx.Client:
    """An httpx client whose every connection passes the policy; no redirects."""
    transport = httpx.HTTPTransport(retries=0)
    # httpx has no public hook for the network backend; its transport is a thin shell
    # around this httpcore pool, so swap the pool for one that connects through ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=100,
        max_keepalive_connections=20,
        network_backend=_GuardedBackend(policy),
    )
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
