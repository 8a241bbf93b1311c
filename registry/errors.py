"""Errors raised by the service layer; `api/errors.py` maps each to one HTTP status.

RegistryError
 ├── Unauthorized      401  no API key, or one that is unknown or revoked
 ├── Forbidden         403  the key's role does not allow the request
 ├── NotFound          404  a project, collection, version, alias, run or blob is absent
 ├── Conflict          409  the request contradicts stored state
 ├── InvalidInput      422  a name, path, manifest or value is malformed
 │    └── DigestMismatch    uploaded bytes do not hash to the claimed digest
 ├── TooLarge          413  a body exceeds a limit
 └── TryAgain          503  a transient state (garbage collection deleting blobs); retry
"""


class RegistryError(Exception):
    status_code = 500
    headers: dict[str, str] = {}

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(RegistryError):
    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(RegistryError):
    status_code = 403


class NotFound(RegistryError):
    status_code = 404


class Conflict(RegistryError):
    status_code = 409


class InvalidInput(RegistryError):
    status_code = 422


class DigestMismatch(InvalidInput):
    pass


class TooLarge(RegistryError):
    status_code = 413


class TryAgain(RegistryError):
    status_code = 503
