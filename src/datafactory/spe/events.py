"""Ledger events of workspaces: their creation with a permit, changes of members, each
table stored, closing when the permit ends and destruction. Reads of protected data are
ledgered by the gate and the jobs that make them. No event holds a value of the data or
a key; members appear as person ids."""

from __future__ import annotations

from dataclasses import dataclass

from datafactory.core.ledger import LedgerEvent


@dataclass(frozen=True)
class WorkspaceCreated(LedgerEvent):
    """Workspace ``workspace`` was created for permit ``permit_reference``, with the
    permit's users ``members`` (person ids); the permit ends on ``permit_ends_on``. Its
    key was issued by the TTP in the same transaction."""

    action = "spe.workspace.created"
    workspace_id: int
    workspace: str
    permit_id: int
    permit_reference: str
    members: tuple[int, ...]
    permit_ends_on: str

    def subject(self) -> str:
        return f"spe-workspace:{self.workspace}"


@dataclass(frozen=True)
class WorkspaceMembersChanged(LedgerEvent):
    """Permit ``permit_reference`` was ``change`` (``AMENDED`` or ``RENEWED``): workspace
    ``workspace`` now has ``members``; ``added`` and ``removed`` are the difference, and the
    permit ends on ``permit_ends_on``."""

    action = "spe.workspace.members_changed"
    workspace_id: int
    workspace: str
    permit_reference: str
    change: str
    members: tuple[int, ...]
    added: tuple[int, ...]
    removed: tuple[int, ...]
    permit_ends_on: str

    def subject(self) -> str:
        return f"spe-workspace:{self.workspace}"


@dataclass(frozen=True)
class WorkspaceTableStored(LedgerEvent):
    """Table ``table`` of workspace ``workspace`` was stored encrypted at
    ``storage_key``: ``rows`` rows, ``bytes`` bytes sealed, ``sha256`` of the plaintext
    Parquet; ``replaced`` when it took the place of an earlier table of that name."""

    action = "spe.workspace.table_stored"
    workspace_id: int
    workspace: str
    table: str
    rows: int
    columns: tuple[str, ...]
    storage_key: str
    bytes: int
    sha256: str
    replaced: bool

    def subject(self) -> str:
        return f"spe-workspace:{self.workspace}"


@dataclass(frozen=True)
class WorkspaceClosed(LedgerEvent):
    """Workspace ``workspace`` was closed because ``reason`` (its permit was revoked or
    expired): nobody may use it any more, and it is destroyed after ``destroy_after``."""

    action = "spe.workspace.closed"
    workspace_id: int
    workspace: str
    reason: str
    destroy_after: str

    def subject(self) -> str:
        return f"spe-workspace:{self.workspace}"


@dataclass(frozen=True)
class WorkspaceDestroyed(LedgerEvent):
    """Workspace ``workspace`` was destroyed for ``reason``: its key was shredded at the
    TTP (``key_shredded`` false when it was already gone) and the stored files
    ``deleted`` (storage keys) removed; ``tables`` names the tables it held."""

    action = "spe.workspace.destroyed"
    workspace_id: int
    workspace: str
    reason: str
    key_shredded: bool
    tables: tuple[str, ...]
    deleted: tuple[str, ...]

    def subject(self) -> str:
        return f"spe-workspace:{self.workspace}"


@dataclass(frozen=True)
class WorkspaceRenamed(LedgerEvent):
    """Workspace ``before``, still empty, is now called ``workspace``; the TTP shredded
    the key bound to the old name and issued one for the new."""

    action = "spe.workspace.renamed"
    workspace_id: int
    before: str
    workspace: str

    def subject(self) -> str:
        return f"spe-workspace:{self.workspace}"
