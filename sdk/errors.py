"""Errors raised by the SDK. Every failure is one of these, never a bare Exception.

StrataError
 ├── NotFoundError            the project, artifact, version, alias or run does not exist
 ├── ConflictError            the request contradicts stored state
 ├── UnauthorizedError        missing or insufficient API key
 ├── ValidationError          a name, path, manifest or value is malformed (also a ValueError)
 ├── IntegrityError           bytes do not match their digest (corrupt blob, modified file)
 ├── ServerError              the server failed (5xx)
 ├── ServerUnavailableError   the server could not be reached in time
 └── OfflineError             the call needs the server, and the run is offline
"""


class StrataError(Exception):
    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class NotFoundError(StrataError):
    pass


class ConflictError(StrataError):
    pass


class UnauthorizedError(StrataError):
    pass


class ValidationError(StrataError, ValueError):
    pass


class IntegrityError(StrataError, ValueError):
    pass


class ServerError(StrataError):
    pass


class ServerUnavailableError(StrataError):
    pass


class OfflineError(StrataError):
    pass
