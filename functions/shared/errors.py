"""The error model (DESIGN.md §4). Domain code raises these; the shared HTTP router turns them into responses.

The HTTP status is a property of the exception class, never guessed from message text.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 400
    code = "BAD_REQUEST"

    headers: dict[str, str] = {}

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []
        self.headers = {**type(self).headers, **(headers or {})}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(AppError):
    status, code = 400, "BAD_REQUEST"


class Unauthorized(AppError):
    status, code = 401, "UNAUTHORIZED"


class Forbidden(AppError):
    status, code = 403, "FORBIDDEN"


class NotFound(AppError):
    status, code = 404, "NOT_FOUND"


class Conflict(AppError):
    status, code = 409, "CONFLICT"


class PayloadTooLarge(AppError):
    status, code = 413, "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(AppError):
    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"


class Unprocessable(AppError):
    status, code = 422, "VALIDATION_FAILED"


class ServiceUnavailable(AppError):
    """Something we depend on is briefly unavailable: the client may retry (Retry-After)."""

    status, code = 503, "TEMPORARILY_UNAVAILABLE"
    headers = {"Retry-After": "1"}


class Throttled(AppError):
    status, code = 429, "THROTTLED"
    headers = {"Retry-After": "1"}


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}
