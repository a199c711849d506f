"""Ledger events of the catalogue room."""

from __future__ import annotations

from dataclasses import dataclass

from datafactory.core.ledger import LedgerEvent


@dataclass(frozen=True)
class DatasetCreated(LedgerEvent):
    """A data steward created a draft dataset for their organisation."""

    action = "catalogue.dataset.created"
    dataset_id: str
    publisher_id: int

    def subject(self) -> str:
        return f"dataset:{self.dataset_id}"


@dataclass(frozen=True)
class DatasetEdited(LedgerEvent):
    """The working copy of a dataset's metadata was changed; ``fields`` names what changed."""

    action = "catalogue.dataset.edited"
    dataset_id: str
    fields: tuple[str, ...]

    def subject(self) -> str:
        return f"dataset:{self.dataset_id}"


@dataclass(frozen=True)
class DatasetPublished(LedgerEvent):
    """A dataset passed validation and was published as ``version``."""

    action = "catalogue.dataset.published"
    dataset_id: str
    version: int

    def subject(self) -> str:
        return f"dataset:{self.dataset_id}"


@dataclass(frozen=True)
class DatasetDeleted(LedgerEvent):
    """A dataset was withdrawn; its URI now answers 410 with a tombstone giving ``reason``."""

    action = "catalogue.dataset.deleted"
    dataset_id: str
    reason: str

    def subject(self) -> str:
        return f"dataset:{self.dataset_id}"


@dataclass(frozen=True)
class DataSourceRegistered(LedgerEvent):
    """A data steward registered (or ``replaced``) where a protected dataset's data
    lives: its ``kind`` (parquet, csv, sql), the database ``connection`` name for SQL,
    the workspace ``table_name`` it becomes and its ``person_column``. The location itself
    stays out of the ledger; ``location_sha256`` identifies it."""

    action = "catalogue.source.registered"
    dataset_id: str
    kind: str
    connection: str | None
    table_name: str
    person_column: str | None
    location_sha256: str
    replaced: bool

    def subject(self) -> str:
        return f"dataset:{self.dataset_id}"


@dataclass(frozen=True)
class RecordCreated(LedgerEvent):
    """A data steward created a draft data service or dataset series (``kind``)."""

    action = "catalogue.record.created"
    kind: str
    record_id: str
    publisher_id: int

    def subject(self) -> str:
        return f"{self.kind}:{self.record_id}"


@dataclass(frozen=True)
class RecordEdited(LedgerEvent):
    """The working copy of a data service or dataset series changed; ``fields`` names what."""

    action = "catalogue.record.edited"
    kind: str
    record_id: str
    fields: tuple[str, ...]

    def subject(self) -> str:
        return f"{self.kind}:{self.record_id}"


@dataclass(frozen=True)
class RecordPublished(LedgerEvent):
    """A data service or dataset series passed validation and was published as ``version``."""

    action = "catalogue.record.published"
    kind: str
    record_id: str
    version: int

    def subject(self) -> str:
        return f"{self.kind}:{self.record_id}"


@dataclass(frozen=True)
class RecordDeleted(LedgerEvent):
    """A data service or dataset series was withdrawn; its URI answers 410 with ``reason``."""

    action = "catalogue.record.deleted"
    kind: str
    record_id: str
    reason: str

    def subject(self) -> str:
        return f"{self.kind}:{self.record_id}"
