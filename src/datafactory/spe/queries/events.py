"""Ledger events of the query gate: each query is a read of protected data, answered or
refused. The SQL itself stays in the query ledger (``spe_queries``); the event names the
query and the outcome, never a released value."""

from __future__ import annotations

from dataclasses import dataclass

from datafactory.core.ledger import LedgerEvent


@dataclass(frozen=True)
class QueryAnswered(LedgerEvent):
    """Query ``query_id`` of workspace ``workspace`` was answered: ``cells`` cells, of which
    ``suppressed`` were withheld by the disclosure rules."""

    action = "spe.query.answered"
    workspace: str
    query_id: int
    sql_sha256: str
    cells: int
    suppressed: int

    def subject(self) -> str:
        return f"spe-workspace:{self.workspace}"


@dataclass(frozen=True)
class QueryRefused(LedgerEvent):
    """Query ``query_id`` of workspace ``workspace`` was refused for ``reasons``."""

    action = "spe.query.refused"
    workspace: str
    query_id: int
    sql_sha256: str
    reasons: list[str]

    def subject(self) -> str:
        return f"spe-workspace:{self.workspace}"


@dataclass(frozen=True)
class QueryResultSaved(LedgerEvent):
    """The released table of query ``query_id`` became workspace output ``output_id``,
    ready to be put in a release request."""

    action = "spe.query.saved"
    workspace: str
    query_id: int
    output_id: int

    def subject(self) -> str:
        return f"spe-workspace:{self.workspace}"
