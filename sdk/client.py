"""The one HTTP client of the SDK: explicit timeouts, errors translated in one place."""

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from sdk import errors
from sdk.settings import ClientSettings

API_PREFIX = "/api/v1"
RETRIES = 3
IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE"}
STATUS_ERRORS: dict[int, type[errors.StrataError]] = {
    400: errors.ValidationError,
    401: errors.UnauthorizedError,
    403: errors.UnauthorizedError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    413: errors.ValidationError,
    422: errors.ValidationError,
}


class Client:
    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        headers = {"strata-author": settings.author}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._http = httpx.Client(
            base_url=settings.url.rstrip("/") + API_PREFIX,
            headers=headers,
            timeout=httpx.Timeout(settings.timeout, connect=10.0),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
            # Plain-http URLs never use TLS: skip loading the CA bundle (~40 ms per client).
            verify=settings.url.startswith("https://"),
        )

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return its decoded JSON (None for an empty body)."""
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[Iterable[bytes]]:
        """Yield the response body as chunks; HTTP errors are raised before the first chunk.

        A body cut short after a good start raises IntegrityError: what arrived is
        incomplete, whatever the cause."""
        try:
            with self._http.stream(method, path, **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_status(response)
                yield _complete_body(response, path)
        except httpx.TransportError as exc:
            raise _unavailable(self.settings.url, exc) from None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        attempts = RETRIES if method in IDEMPOTENT else 1
        for attempt in range(attempts):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt + 1 == attempts:
                    raise _unavailable(self.settings.url, exc) from None
                time.sleep(0.2 * 2**attempt)
                continue
            if response.status_code == 503 and attempt + 1 < attempts:
                time.sleep(0.2 * 2**attempt)
                continue
            raise_for_status(response)
            return response
        raise AssertionError("unreachable")


def _complete_body(response: httpx.Response, path: str) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes()
    except httpx.TransportError as exc:
        raise errors.IntegrityError(f"response to {path} arrived incomplete: {exc}") from None


def raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    if isinstance(detail, list):  # FastAPI request validation errors
        detail = "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}" for item in detail
        )
    status = response.status_code
    error_type = STATUS_ERRORS.get(status)
    if error_type is None:
        error_type = errors.ServerError if status >= 500 else errors.ValidationError
    raise error_type(f"{detail} (HTTP {status})", status_code=status)


def _unavailable(url: str, exc: Exception) -> errors.ServerUnavailableError:
    return errors.ServerUnavailableError(f"cannot reach the Strata server at {url}: {exc}")
