"""Ledger events of the permits room.

Every event of an application's stream is ledgered as ``ApplicationEventRecorded`` in the
same transaction, so the public chain proves each step of every procedure; the permit's own
life (granted, amended, renewed, revoked, expired) has an event each.
"""

from __future__ import annotations

from dataclasses import dataclass

from datafactory.core.ledger import LedgerEvent


@dataclass(frozen=True)
class ApplicationEventRecorded(LedgerEvent):
    """A step of an access application's procedure: ``event_type`` (``submitted``,
    ``information_requested``, ``granted``…) became event ``seq`` of application
    ``reference``; ``state`` is the D6.4 status after it."""

    action = "permits.application.event"
    application_id: int
    reference: str
    seq: int
    event_type: str
    state: str

    def subject(self) -> str:
        return f"application:{self.application_id}"


@dataclass(frozen=True)
class AttachmentUploaded(LedgerEvent):
    """A file was attached to an application (its name, type, size and SHA-256; never
    its content)."""

    action = "permits.attachment.uploaded"
    application_id: int
    attachment_id: int
    media_type: str
    size: int
    sha256: str

    def subject(self) -> str:
        return f"application:{self.application_id}"


@dataclass(frozen=True)
class PermitGranted(LedgerEvent):
    """A decider's positive decision issued permit ``reference`` for the named users,
    from ``starts_on`` to ``ends_on``. ``token_sha256`` fingerprints the signed JWS."""

    action = "permits.permit.granted"
    permit_id: int
    reference: str
    application_id: int
    users: tuple[int, ...]
    datasets: tuple[str, ...]
    starts_on: str
    ends_on: str
    token_sha256: str

    def subject(self) -> str:
        return f"permit:{self.permit_id}"


@dataclass(frozen=True)
class PermitChanged(LedgerEvent):
    """A permit's status changed: ``AMENDED`` or ``RENEWED`` (through application
    ``application_id``), ``REVOKED`` (by a decider, with ``reason``) or ``EXPIRED`` (by the
    expiry job)."""

    action = "permits.permit.changed"
    permit_id: int
    status: str
    application_id: int | None
    reason: str
    ends_on: str

    def subject(self) -> str:
        return f"permit:{self.permit_id}"


@dataclass(frozen=True)
class PermitResultsPublished(LedgerEvent):
    """A permit's holder recorded where the project's results were published (``url``):
    the permit joins the register of successful data-sharing cases."""

    action = "permits.permit.results_published"
    permit_id: int
    url: str

    def subject(self) -> str:
        return f"permit:{self.permit_id}"
