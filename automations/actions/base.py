"""What every action shares: the delivery it sends, the integration it sends to, and
how one HTTP exchange becomes an `Outcome` (delivered, retry later, or final)."""

import email.utils
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from automations.egress import EgressRefused

MAX_RESPONSE_BYTES = 64 * 1024  # read at most this much of a receiver's answer
STORED_RESPONSE_CHARS = 1024  # and keep this much of it in the attempt record
USER_AGENT = "Strata-Webhooks/1"


@dataclass(frozen=True)
class Message:
    """A leased delivery, as an action needs it."""

    message_id: str
    kind: str
    payload: Any
    chain: str


@dataclass(frozen=True)
class Target:
    """An integration with its secrets decrypted, for the duration of one send."""

    id: int
    kind: str
    url: str
    secret: str | None = None
    access_token: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    latency_ms: float | None = None
    response: str = ""
    error: str = ""
    retryable: bool = False
    # Seconds the receiver asked us to wait (Retry-After), if it did.
    retry_after: float | None = None


class Action(Protocol):
    def act(self, message: Message, target: Target | None) -> Outcome: ...


def post(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST once; never follow redirects; read a capped part of the answer."""
    started = time.perf_counter()
    try:
        with client.stream("POST", url, content=body, headers=headers) as response:
            received = bytearray()
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= MAX_RESPONSE_BYTES:
                    break
    except httpx.HTTPError as exc:
        latency = (time.perf_counter() - started) * 1000
        refused = _egress_refusal(exc)
        if refused is not None:
            return Outcome(False, latency_ms=latency, error=str(refused))
        retryable = isinstance(exc, httpx.TransportError)
        return Outcome(
            False, latency_ms=latency, error=f"{type(exc).__name__}: {exc}", retryable=retryable
        )
    latency = (time.perf_counter() - started) * 1000
    return classify(response.status_code, response.headers, bytes(received), latency)


def classify(status: int, headers: httpx.Headers, body: bytes, latency_ms: float) -> Outcome:
    """2xx delivered; 408, 429 and 5xx retried; redirects and other 4xx final."""
    text = body[: STORED_RESPONSE_CHARS * 4].decode("utf-8", "replace")[:STORED_RESPONSE_CHARS]
    if 200 <= status < 300:
        return Outcome(True, status, latency_ms, text)
    retryable = status in (408, 429) or status >= 500
    error = f"HTTP {status}"
    if 300 <= status < 400:
        error += " (redirects are not followed)"
    return Outcome(
        False,
        status,
        latency_ms,
        text,
        error,
        retryable,
        retry_after=parse_retry_after(headers.get("retry-after")),
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _egress_refusal(exc: BaseException) -> EgressRefused | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, EgressRefused):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
