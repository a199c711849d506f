"""Ledger events of the trusted third party.

Every step that touches identifiers or keys is ledgered in the same transaction: domains'
lives, master key rotations, each pseudonymised (or refused) file, each step of a
re-identification and each citizen lookup. No event ever holds an identifier or a key; a
looked-up citizen appears only as a keyed hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from datafactory.core.ledger import LedgerEvent


@dataclass(frozen=True)
class DomainCreated(LedgerEvent):
    """A pseudonym domain ``name`` of ``kind`` (``permit`` or ``sector``) was created; its
    keys derive from master key version ``key_version``. ``permit_id`` names the permit of
    a permit domain."""

    action = "ttp.domain.created"
    domain_id: int
    name: str
    kind: str
    permit_id: int | None
    key_version: int

    def subject(self) -> str:
        return f"pseudonym-domain:{self.domain_id}"


@dataclass(frozen=True)
class DomainRotated(LedgerEvent):
    """Domain ``name`` moved from master key version ``from_version`` to ``to_version``:
    its pseudonyms from now on differ from those made before."""

    action = "ttp.domain.rotated"
    domain_id: int
    name: str
    from_version: int
    to_version: int

    def subject(self) -> str:
        return f"pseudonym-domain:{self.domain_id}"


@dataclass(frozen=True)
class DomainRetired(LedgerEvent):
    """Domain ``name`` was retired (``reason``): it makes no new pseudonyms; the ones it
    made stay re-identifiable and visible to citizen lookups."""

    action = "ttp.domain.retired"
    domain_id: int
    name: str
    reason: str

    def subject(self) -> str:
        return f"pseudonym-domain:{self.domain_id}"


@dataclass(frozen=True)
class MasterKeyRotated(LedgerEvent):
    """A new master key ``version`` was added in ``custody`` (where the keys live, never
    the key). Domains move to it one by one when rotated."""

    action = "ttp.key.rotated"
    version: int
    custody: str

    def subject(self) -> str:
        return f"ttp-master-key:{self.version}"


@dataclass(frozen=True)
class MasterKeyFirstUsed(LedgerEvent):
    """Master key ``version`` was used for the first time; its check value is now kept, so
    a different key under the same version number is refused from here on."""

    action = "ttp.key.first_used"
    version: int

    def subject(self) -> str:
        return f"ttp-master-key:{self.version}"


@dataclass(frozen=True)
class FilePseudonymised(LedgerEvent):
    """File ``source`` became ``target`` with column ``column`` replaced by pseudonyms of
    domain ``domain`` (master key ``key_version``): ``rows`` rows, ``identifiers`` of them
    with an identifier (the rest empty), ``new_pseudonyms`` pseudonyms not handed out
    before. File names only, never their content."""

    action = "ttp.file.pseudonymised"
    domain_id: int
    domain: str
    key_version: int
    column: str
    source: str
    target: str
    rows: int
    identifiers: int
    new_pseudonyms: int

    def subject(self) -> str:
        return f"pseudonym-domain:{self.domain_id}"


@dataclass(frozen=True)
class FileRefused(LedgerEvent):
    """File ``source`` was not pseudonymised: ``invalid`` of its ``rows`` rows hold an
    identifier that is not a valid matricule (``problems`` counts them by reason). Nothing
    was written and no pseudonym was handed out."""

    action = "ttp.file.refused"
    domain_id: int
    domain: str
    column: str
    source: str
    rows: int
    invalid: int
    problems: dict[str, int]

    def subject(self) -> str:
        return f"pseudonym-domain:{self.domain_id}"


@dataclass(frozen=True)
class ReidentificationRequested(LedgerEvent):
    """A TTP operator asked to re-identify ``pseudonym`` of ``domain`` for
    ``legal_reason``; a second, different operator must approve."""

    action = "ttp.reidentification.requested"
    request_id: int
    domain: str
    pseudonym: str
    legal_reason: str

    def subject(self) -> str:
        return f"reidentification:{self.request_id}"


@dataclass(frozen=True)
class ReidentificationApproved(LedgerEvent):
    """Person ``approved_by`` approved the request that person ``requested_by`` made."""

    action = "ttp.reidentification.approved"
    request_id: int
    requested_by: int
    approved_by: int

    def subject(self) -> str:
        return f"reidentification:{self.request_id}"


@dataclass(frozen=True)
class ReidentificationRefused(LedgerEvent):
    """Person ``refused_by`` refused the request, for ``reason``."""

    action = "ttp.reidentification.refused"
    request_id: int
    refused_by: int
    reason: str

    def subject(self) -> str:
        return f"reidentification:{self.request_id}"


@dataclass(frozen=True)
class IdentifierRevealed(LedgerEvent):
    """The requester of an approved request was shown the identifier behind
    ``pseudonym`` of ``domain`` (made under master key ``key_version``). The identifier
    itself is never ledgered."""

    action = "ttp.reidentification.revealed"
    request_id: int
    domain: str
    pseudonym: str
    key_version: int

    def subject(self) -> str:
        return f"reidentification:{self.request_id}"


@dataclass(frozen=True)
class CitizenLookedUp(LedgerEvent):
    """Someone asked which domains hold records about one person, named here only by
    ``person_ref``, a hash keyed with master key ``key_version``; ``domains`` domains
    do."""

    action = "ttp.lookup"
    person_ref: str
    key_version: int
    domains: int

    def subject(self) -> str:
        return f"citizen:{self.person_ref}"


# --- identifier matching ----------------------------------------------------------------
# A run is ledgered when it starts and ends, with its counts; each clerical decision on a
# review pair on its own. No event holds a name, a birth date, an address or a row key.


@dataclass(frozen=True)
class LinkageStarted(LedgerEvent):
    """Linkage run ``run_id`` (``name``) started in domain ``domain`` over the files
    ``sources`` (labels, never content), as a ``link_type`` (``link`` or ``dedupe``) run:
    pairs scoring at least ``match_threshold`` are linked, those from ``review_threshold``
    up go to clerical review. ``fields`` are the fields compared."""

    action = "ttp.linkage.started"
    run_id: int
    name: str
    domain: str
    link_type: str
    sources: tuple[str, ...]
    fields: tuple[str, ...]
    match_threshold: float
    review_threshold: float

    def subject(self) -> str:
        return f"linkage-run:{self.run_id}"


@dataclass(frozen=True)
class LinkageFinished(LedgerEvent):
    """Linkage run ``run_id`` finished: ``records`` records became ``persons`` persons of
    the index; ``linked_pairs`` pairs scored at or above the match threshold and were
    linked, ``review_pairs`` pairs wait for clerical review. ``new_pseudonyms`` pseudonyms
    of the domain were handed out for the first time; ``outputs`` names the files written."""

    action = "ttp.linkage.finished"
    run_id: int
    records: int
    persons: int
    linked_pairs: int
    review_pairs: int
    new_pseudonyms: int
    outputs: tuple[str, ...]

    def subject(self) -> str:
        return f"linkage-run:{self.run_id}"


@dataclass(frozen=True)
class LinkageFailed(LedgerEvent):
    """Linkage run ``run_id`` stopped without linking anything, for ``reason`` (a message
    that never quotes the data)."""

    action = "ttp.linkage.failed"
    run_id: int
    reason: str

    def subject(self) -> str:
        return f"linkage-run:{self.run_id}"


@dataclass(frozen=True)
class PairDecided(LedgerEvent):
    """A TTP operator ``decision`` (``accepted`` or ``rejected``) review pair ``pair_id``
    of run ``run_id``, scored ``match_probability``. On acceptance person
    ``merged_person`` was merged into person ``kept_person`` (both None when the two
    records already shared a person) and ``also_settled`` other pending pairs between the
    same two persons were settled with it."""

    action = "ttp.linkage.pair_decided"
    pair_id: int
    run_id: int
    decision: str
    match_probability: float
    kept_person: int | None = None
    merged_person: int | None = None
    also_settled: int = 0

    def subject(self) -> str:
        return f"review-pair:{self.pair_id}"


# --- workspace keys ---------------------------------------------------------------------
# The TTP holds the key of every workspace of the secure processing environment; the
# ledger names the workspace and the master key version, never the key.


@dataclass(frozen=True)
class WorkspaceKeyIssued(LedgerEvent):
    """A new random key was made for workspace ``workspace`` and stored wrapped under a
    key derived from master key version ``master_version``."""

    action = "ttp.workspace_key.issued"
    workspace: str
    master_version: int

    def subject(self) -> str:
        return f"workspace-key:{self.workspace}"


@dataclass(frozen=True)
class WorkspaceKeyShredded(LedgerEvent):
    """The key of workspace ``workspace`` (wrapped under master key version
    ``master_version``) was deleted: every file sealed with it is unreadable for good."""

    action = "ttp.workspace_key.shredded"
    workspace: str
    master_version: int

    def subject(self) -> str:
        return f"workspace-key:{self.workspace}"
