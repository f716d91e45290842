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
