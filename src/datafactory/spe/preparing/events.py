"""Ledger events of the preparation of workspaces. No event holds a value of the data:
tables appear with their row and variable counts only."""

from __future__ import annotations

from dataclasses import dataclass

from datafactory.core.ledger import LedgerEvent


@dataclass(frozen=True)
class WorkspacePrepared(LedgerEvent):
    """The trusted third party prepared workspace ``workspace`` for permit
    ``permit_reference`` in the ``form`` the permit allows (``pseudonymised`` or
    ``aggregated``): ``tables`` maps each stored table to its row count;
    ``invalid_identifiers`` rows were dropped for an invalid identifier."""

    action = "spe.workspace.prepared"
    workspace_id: int
    workspace: str
    permit_reference: str
    form: str
    tables: dict[str, int]
    invalid_identifiers: int

    def subject(self) -> str:
        return f"spe-workspace:{self.workspace}"


@dataclass(frozen=True)
class WorkspacePreparationFailed(LedgerEvent):
    """The preparation of workspace ``workspace`` failed for ``reason``; no table of it
    was stored and the workspace is ``failed`` until a new preparation succeeds."""

    action = "spe.workspace.preparation_failed"
    workspace_id: int
    workspace: str
    permit_reference: str
    reason: str

    def subject(self) -> str:
        return f"spe-workspace:{self.workspace}"
