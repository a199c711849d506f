"""Ledger events of the airlock.

Every step of a release request is ledgered in the same transaction as the change: its
creation, each file added or removed, each submission with the automatic checks' verdicts,
each checker's review, each file a checker opened, the outcome, each download of a
released file, and the public archive and results registered at a permit's release. No
event holds an output's content; files appear as ids, names and SHA-256 digests.
"""

from __future__ import annotations

from dataclasses import dataclass

from datafactory.core.ledger import LedgerEvent


@dataclass(frozen=True)
class ReleaseRequestCreated(LedgerEvent):
    """A member opened release request ``request_id`` titled ``title`` in workspace
    ``workspace_id``."""

    action = "spe.release.created"
    request_id: int
    workspace_id: int
    title: str

    def subject(self) -> str:
        return f"release-request:{self.request_id}"


@dataclass(frozen=True)
class ReleaseFileAdded(LedgerEvent):
    """The author put output ``output_id`` (``name``, ``kind``, plaintext ``sha256``) into
    request ``request_id`` as an ``output`` to release or a ``supporting`` file."""

    action = "spe.release.file_added"
    request_id: int
    file_id: int
    output_id: int
    name: str
    kind: str
    role: str
    sha256: str

    def subject(self) -> str:
        return f"release-request:{self.request_id}"


@dataclass(frozen=True)
class ReleaseFileChanged(LedgerEvent):
    """The author changed the justification, underlying table or exception request of
    file ``file_id``; ``fields`` names what changed."""

    action = "spe.release.file_changed"
    request_id: int
    file_id: int
    fields: tuple[str, ...]

    def subject(self) -> str:
        return f"release-request:{self.request_id}"


@dataclass(frozen=True)
class ReleaseFileRemoved(LedgerEvent):
    """The author took output ``output_id`` out of request ``request_id``."""

    action = "spe.release.file_removed"
    request_id: int
    file_id: int
    output_id: int

    def subject(self) -> str:
        return f"release-request:{self.request_id}"


@dataclass(frozen=True)
class ReleaseRequestSubmitted(LedgerEvent):
    """Request ``request_id`` went to the output checkers for round ``round``.
    ``checks`` maps each output file's id to its automatic verdict (pass, fail, review);
    ``exceptions`` lists the failing files the author asked an exception for."""

    action = "spe.release.submitted"
    request_id: int
    round: int
    checks: dict[str, str]
    exceptions: tuple[int, ...]

    def subject(self) -> str:
        return f"release-request:{self.request_id}"


@dataclass(frozen=True)
class ReleaseReviewed(LedgerEvent):
    """An output checker decided round ``round`` of request ``request_id``:
    ``decision`` is approve, reject or changes_requested. ``reviews`` counts the
    reviews of the round so far."""

    action = "spe.release.reviewed"
    request_id: int
    round: int
    review_id: int
    decision: str
    reviews: int

    def subject(self) -> str:
        return f"release-request:{self.request_id}"


@dataclass(frozen=True)
class ReleaseRequestConcluded(LedgerEvent):
    """Both reviews of round ``round`` are in and request ``request_id`` is now
    ``outcome``: approved, rejected or returned to its author."""

    action = "spe.release.concluded"
    request_id: int
    round: int
    outcome: str
    decisions: tuple[str, ...]

    def subject(self) -> str:
        return f"release-request:{self.request_id}"


@dataclass(frozen=True)
class ReleaseRequestWithdrawn(LedgerEvent):
    """The author withdrew request ``request_id`` while it was ``previous_status``."""

    action = "spe.release.withdrawn"
    request_id: int
    previous_status: str

    def subject(self) -> str:
        return f"release-request:{self.request_id}"


@dataclass(frozen=True)
class ReleaseFileInspected(LedgerEvent):
    """An output checker opened file ``file_id`` (output ``output_id``, ``sha256``) of
    request ``request_id`` to review it."""

    action = "spe.release.file_inspected"
    request_id: int
    file_id: int
    output_id: int
    sha256: str

    def subject(self) -> str:
        return f"release-request:{self.request_id}"


@dataclass(frozen=True)
class ReleasedFileDownloaded(LedgerEvent):
    """A member downloaded released file ``file_id`` (output ``output_id``, ``name``,
    ``sha256``) of approved request ``request_id``."""

    action = "spe.release.downloaded"
    request_id: int
    file_id: int
    output_id: int
    name: str
    sha256: str

    def subject(self) -> str:
        return f"release-request:{self.request_id}"


@dataclass(frozen=True)
class CodeArchived(LedgerEvent):
    """Approving request ``request_id`` published the code behind its outputs on the
    public archive of permit ``permit_id``: ``sha256`` lists the new entries (code
    already archived is not repeated)."""

    action = "spe.archive.code_archived"
    permit_id: int
    request_id: int
    sha256: tuple[str, ...]

    def subject(self) -> str:
        return f"permit:{self.permit_id}"


@dataclass(frozen=True)
class ResultsRegistered(LedgerEvent):
    """The first release of permit ``permit_id`` registered data product
    ``product_id`` in the catalogue, made with ``dataset_ids``; ``results_url`` is the
    public archive page now shown as the permit's results, or None when the holder had
    named one already."""

    action = "spe.archive.results_registered"
    permit_id: int
    product_id: int
    request_id: int
    dataset_ids: tuple[str, ...]
    results_url: str | None

    def subject(self) -> str:
        return f"permit:{self.permit_id}"
