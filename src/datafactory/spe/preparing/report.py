"""The preparation report: what the trusted third party put into a workspace and which
checks ran, for the applicant, the permit's users and the authority.

It holds counts and names only, never a value of the data: rows and variables per
table, identifiers dropped as invalid (by reason), how many pseudonyms of each linked pair
of tables match, and each check with its outcome. It is kept as JSON on the workspace
(``Workspace.preparation``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    passed = "passed"
    warning = "warning"
    """The check found something worth knowing that does not stop the preparation."""
    failed = "failed"


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    detail: str = ""
    table: str | None = None


@dataclass(frozen=True)
class TableReport:
    name: str
    dataset_id: str
    rows: int
    variables: tuple[str, ...]
    source_rows: int = 0
    unit: str | None = None
    unit_unique: bool = False
    people: int | None = None
    """Distinct pseudonyms (pseudonymised form) or people counted (aggregated form)."""
    invalid_identifiers: int = 0
    """Rows dropped because their identifier is not a valid matricule."""
    invalid_reasons: dict[str, int] = field(default_factory=dict)
    missing_identifiers: int = 0
    """Rows kept without a pseudonym: the source gave no identifier."""
    suppressed_cells: int = 0
    """Aggregated form: cells withheld by the disclosure rules."""


@dataclass(frozen=True)
class LinkageReport:
    datasets: tuple[str, str]
    tables: tuple[str, str]
    left: int
    """Distinct pseudonyms in the first table."""
    right: int
    matched: int
    """Pseudonyms found in both tables."""


@dataclass(frozen=True)
class PreparationReport:
    workspace: str
    permit: str
    form: str | None
    ok: bool
    prepared_by: str
    finished_at: datetime
    tables: tuple[TableReport, ...] = ()
    checks: tuple[Check, ...] = ()
    linkages: tuple[LinkageReport, ...] = ()
    errors: tuple[str, ...] = ()
    """Why the preparation failed; empty when it succeeded."""

    @property
    def invalid_identifiers(self) -> int:
        # Several aggregate tables may count one dataset: its rows are dropped once.
        per_dataset: dict[str, int] = {}
        for t in self.tables:
            per_dataset[t.dataset_id] = max(
                per_dataset.get(t.dataset_id, 0), t.invalid_identifiers
            )
        return sum(per_dataset.values())

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["finished_at"] = self.finished_at.isoformat()
        return _lists(data)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreparationReport:
        return cls(
            workspace=data["workspace"],
            permit=data["permit"],
            form=data.get("form"),
            ok=bool(data["ok"]),
            prepared_by=data["prepared_by"],
            finished_at=datetime.fromisoformat(data["finished_at"]),
            tables=tuple(
                TableReport(
                    **{
                        **t,
                        "variables": tuple(t["variables"]),
                        "invalid_reasons": dict(t.get("invalid_reasons", {})),
                    }
                )
                for t in data.get("tables", [])
            ),
            checks=tuple(
                Check(
                    name=c["name"],
                    outcome=Outcome(c["outcome"]),
                    detail=c.get("detail", ""),
                    table=c.get("table"),
                )
                for c in data.get("checks", [])
            ),
            linkages=tuple(
                LinkageReport(
                    datasets=(l_["datasets"][0], l_["datasets"][1]),
                    tables=(l_["tables"][0], l_["tables"][1]),
                    left=l_["left"],
                    right=l_["right"],
                    matched=l_["matched"],
                )
                for l_ in data.get("linkages", [])
            ),
            errors=tuple(data.get("errors", [])),
        )


def _lists(value: Any) -> Any:
    """Tuples as JSON lists, enums as their values, all the way down."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    if isinstance(value, StrEnum):
        return value.value
    return value
