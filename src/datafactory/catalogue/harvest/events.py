"""Ledger events of harvesting."""

from __future__ import annotations

from dataclasses import dataclass

from datafactory.core.ledger import LedgerEvent


@dataclass(frozen=True)
class HarvestSourceCreated(LedgerEvent):
    """An administrator added a harvest source of ``type`` reading ``url`` for the
    organisation ``publisher_id``; ``allow_private_network`` lets it reach private
    addresses and local files."""

    action = "catalogue.harvest.source_created"
    source_id: int
    name: str
    type: str
    url: str
    publisher_id: int
    allow_private_network: bool

    def subject(self) -> str:
        return f"harvest_source:{self.source_id}"


@dataclass(frozen=True)
class HarvestCompleted(LedgerEvent):
    """A harvest run read its source; the counts are the run's report."""

    action = "catalogue.harvest.completed"
    source_id: int
    run_id: int
    created: int
    updated: int
    unchanged: int
    archived: int
    failed: int

    def subject(self) -> str:
        return f"harvest_source:{self.source_id}"


@dataclass(frozen=True)
class HarvestFailed(LedgerEvent):
    """A harvest run stopped before writing anything; ``reason`` says why."""

    action = "catalogue.harvest.failed"
    source_id: int
    run_id: int
    reason: str

    def subject(self) -> str:
        return f"harvest_source:{self.source_id}"
