"""Errors raised by services; interfaces map them to messages (pages), 4xx JSON (API) or exit codes (CLI)."""

from __future__ import annotations


class ApplicationError(Exception):
    """A business rule refused the request. `field` names the offending input where there is one."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class NotFoundError(ApplicationError):
    code = "not_found"
    status = 404


class PermissionDeniedError(ApplicationError):
    code = "forbidden"
    status = 403


class RateLimitedError(ApplicationError):
    """Too many requests of one kind in a short time; try again later."""

    code = "rate_limited"
    status = 429


class ConflictError(ApplicationError):
    """The request clashes with the state of the data (a record still in use, a destructive change not confirmed)."""

    code = "conflict"
    status = 409


#: What a database integer column can hold (PostgreSQL bigint, SQLite INTEGER): the bounds every integer taken
#: from a request is checked against before it can reach a query.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class OutOfRangeError(ApplicationError):
    """A number in the request is beyond what a database integer can hold."""

    code = "out_of_range"
    status = 400
