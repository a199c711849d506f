"""The platform's errors and their RFC 9457 problem+json shape.

Rooms raise these, never HTTP exceptions; one handler in ``web`` turns them into answers and
the CLI prints their ``detail`` as one line. The tree::

    DatafactoryError (500)
    ├── ConfigurationError (500)      settings that cannot work
    ├── BadRequest (400)
    │   └── InvalidInput (422)        a value breaks a rule; ``errors`` names the fields
    ├── Unauthenticated (401)
    ├── Forbidden (403)
    ├── NotFound (404)
    ├── Conflict (409)
    ├── Gone (410)
    ├── PayloadTooLarge (413)
    ├── TooManyRequests (429)         ``retry_after`` seconds
    └── LedgerBroken (500)            the audit chain does not verify
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

PROBLEM_BASE = "https://datafactory.lu/problems/"


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field, for showing next to that field."""

    field: str
    message: str


class DatafactoryError(Exception):
    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra or {}

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [
                {"field": e.field, "message": e.message} for e in self.errors
            ]
        body.update(self.extra)
        return body


class ConfigurationError(DatafactoryError):
    slug = "configuration"
    title = "The platform is not configured correctly"


class BadRequest(DatafactoryError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class InvalidInput(BadRequest):
    status = 422
    slug = "invalid-input"
    title = "Invalid input"


class Unauthenticated(DatafactoryError):
    status = 401
    slug = "unauthenticated"
    title = "Sign-in required"


class Forbidden(DatafactoryError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(DatafactoryError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DatafactoryError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Gone(DatafactoryError):
    status = 410
    slug = "gone"
    title = "Gone"


class PayloadTooLarge(DatafactoryError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class TooManyRequests(DatafactoryError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after})
        self.retry_after = retry_after


class LedgerBroken(DatafactoryError):
    slug = "ledger-broken"
    title = "The audit ledger does not verify"
