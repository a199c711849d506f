"""The airlock's automatic checks, one per kind of output. Pure: bytes and rules in, a
verdict with readable reasons out.

- **Tables** (CSV): every frequency cell (in a column named like a count: ``n``,
  ``count``, ``freq``, ``n_…``, ``…_count``; or, in a crosstab, the columns of whole
  numbers after the labels) is checked with the disclosure rules: under the threshold
  or zero, it fails. Blank cells count as suppressed. When the table has an evidence sidecar (``<name>.sdc.json``,
  written by the query gate and by the sandbox's helper) the full rules run on the cell
  statistics it holds, dominance and p% included, and every cell that fails them must be
  blank (suppressed) in the table. Tables of the query gate were checked when the gate
  answered; this verifies them again from their evidence. A table with no count column and
  no evidence gets no automatic verdict: the checkers review it.
- **Regression summaries** (statsmodels summary text, or JSON with ``df_resid``): the
  residual degrees of freedom must reach ``rules.dof_threshold``; a summary that does not
  state them goes to review.
- **Figures** (PNG or SVG): need a justification and their underlying table in the same
  request, and that table must pass.
- **Texts**: reviewed by the checkers only.

The verdict is ACRO's: ``fail`` beats ``review`` beats ``pass``.

Evidence sidecar format (JSON)::

    {"version": 1,
     "groups": ["sex", "commune"],          # the table's group columns
     "aggregates": [
       {"column": "n", "statistic": "count",  # a column of the table, a privacy.sdc Statistic
        "cells": [{"group": ["F", "Esch"], "n": 120, "total": null,
                   "largest": [], "has_negative": false}, ...]}],
     "bounds": true}                          # optional: see below

With ``"bounds": true`` (the gate answered from ``QueryEngine.screen``) each ``n`` is a lower
bound on the people of its cell and each ``largest`` an upper bound on a contribution; the
rules only get stricter on bounds, so cells that pass on them pass on the exact statistics.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from datafactory.privacy.sdc import (
    CellInput,
    DisclosureRules,
    Reason,
    Statistic,
    check_cells,
)
from datafactory.spe.airlock.models import CheckStatus

MAX_TABLE_ROWS = 5000
"""OpenSAFELY's limit: a longer table is closer to a list of people than a summary."""
FIGURE_TYPES = frozenset({"image/png", "image/svg+xml"})
_COUNT_NAME = re.compile(
    r"^(n|count|counts|freq|frequency|frequencies|number|num|patients|people"
    r"|persons)$|^(n|count|num|number|freq)_|_(n|count|counts|freq|frequency)$",
    re.IGNORECASE,
)
_DF_RESID = re.compile(r"Df\s+Resid(?:uals)?\.?\s*:?\s*([-+]?\d+(?:\.\d+)?)", re.I)
_DF_RESID_KEYS = ("df_resid", "df_residuals", "residual_dof", "dof")
_MAGNITUDE_NAME = re.compile(
    r"sum|mean|avg|average|median|std|var|min|max|total|amount|income|cost|rate|ratio"
    r"|percent|pct|share",
    re.IGNORECASE,
)
_ORDER = {CheckStatus.passed: 0, CheckStatus.review: 1, CheckStatus.failed: 2}


@dataclass(frozen=True)
class CellProblem:
    """A released cell that breaks a rule: its row (from 1, after the header), column
    and reasons."""

    row: int
    column: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CheckResult:
    status: CheckStatus
    reasons: tuple[str, ...]
    """Readable, one sentence each; the first says the worst."""
    cells: tuple[CellProblem, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    """What the check measured: rows, count columns, degrees of freedom…"""

    @property
    def passed(self) -> bool:
        return self.status == CheckStatus.passed

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "reasons": list(self.reasons),
            "cells": [
                {"row": c.row, "column": c.column, "reasons": list(c.reasons)}
                for c in self.cells[:100]
            ],
            "cells_failing": len(self.cells),
            "facts": dict(self.facts),
        }


def worst(statuses: Iterable[CheckStatus]) -> CheckStatus:
    return max(statuses, key=_ORDER.__getitem__, default=CheckStatus.passed)


def reason_text(reason: Reason, rules: DisclosureRules) -> str:
    return reason.describe(rules)


# --- tables ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Csv:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _read_csv(data: bytes) -> _Csv:
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    lines = [tuple(cell.strip() for cell in line) for line in reader if line]
    if not lines:
        raise ValueError("the table is empty")
    header, rows = lines[0], tuple(lines[1:])
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            raise ValueError(
                f"row {number} has {len(row)} values and the header {len(header)}"
            )
    return _Csv(header=header, rows=rows)


def _number(text: str) -> float | None:
    """The cell's value, or None for a blank (suppressed) cell."""
    if text == "" or text.lower() in {
        "na",
        "nan",
        "null",
        "none",
        "-",
        "*",
        "[redacted]",
    }:
        return None
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if math.isnan(value):
        return None
    return value


def count_columns(table: _Csv) -> list[str]:
    """The columns that hold frequencies: those named as counts; failing that, as in a
    crosstab, the columns after the leading label columns when every value in them is
    a whole number (or blank) and none is named like a magnitude (sum, mean, amount…)."""
    named = [name for name in table.header if _COUNT_NAME.search(name)]
    if named:
        return named
    trailing: list[str] = []
    for index, name in enumerate(table.header):
        if all(_whole(row[index]) for row in table.rows):
            trailing.append(name)
        elif trailing:
            return []  # a label column after count columns: not a crosstab
    if len(trailing) == len(table.header):
        trailing = trailing[1:]  # the first column labels the rows (a year, say)
    if any(_MAGNITUDE_NAME.search(name) for name in trailing):
        return []
    return trailing


def _whole(text: str) -> bool:
    try:
        value = _number(text)
    except ValueError:
        return False
    return value is None or (value >= 0 and value.is_integer())


def check_table(
    data: bytes, rules: DisclosureRules, *, evidence: bytes | None = None
) -> CheckResult:
    """Check a CSV table: its frequency cells, and the cell statistics of its evidence
    when there is one."""
    try:
        table = _read_csv(data)
    except (UnicodeDecodeError, ValueError) as exc:
        return CheckResult(CheckStatus.failed, (f"The table cannot be read: {exc}.",))
    facts: dict[str, Any] = {"rows": len(table.rows), "columns": list(table.header)}
    if len(table.rows) > MAX_TABLE_ROWS:
        return CheckResult(
            CheckStatus.failed,
            (
                f"The table has {len(table.rows)} rows; at most {MAX_TABLE_ROWS} "
                "are released.",
            ),
            facts=facts,
        )
    results = [_frequencies(table, rules)]
    if evidence is not None:
        verified = _from_evidence(table, evidence, rules)
        if verified.status != CheckStatus.review:
            # Evidence that could be read covers the cells the names did not reveal.
            results = [r for r in results if r.status != CheckStatus.review]
        results.append(verified)
    return _combine(results, facts)


def _combine(results: Sequence[CheckResult], facts: dict[str, Any]) -> CheckResult:
    status = worst(r.status for r in results)
    reasons = [reason for r in results if r.status == status for reason in r.reasons]
    reasons += [reason for r in results if r.status != status for reason in r.reasons]
    for r in results:
        facts.update(r.facts)
    seen: set[tuple[int, str]] = set()
    cells: list[CellProblem] = []
    for r in results:
        for cell in r.cells:
            if (cell.row, cell.column) not in seen:
                seen.add((cell.row, cell.column))
                cells.append(cell)
    return CheckResult(status, tuple(dict.fromkeys(reasons)), tuple(cells), facts)


def _frequencies(table: _Csv, rules: DisclosureRules) -> CheckResult:
    columns = count_columns(table)
    if not columns or not table.rows:
        return CheckResult(
            CheckStatus.review,
            (
                "No column holds counts the automatic check recognises (named n, "
                "count, freq…, or a crosstab of whole numbers): the output checkers "
                "check this table by hand.",
            ),
            facts={"count_columns": []},
        )
    inputs: list[CellInput] = []
    places: list[tuple[int, str]] = []
    for column in columns:
        index = table.header.index(column)
        for number, row in enumerate(table.rows, start=1):
            try:
                value = _number(row[index])
            except ValueError as exc:
                return CheckResult(
                    CheckStatus.failed,
                    (f"Column {column!r}, row {number}: {exc}.",),
                    facts={"count_columns": columns},
                )
            if value is None:
                continue  # suppressed already
            inputs.append(CellInput(group=(number, column), n=int(value)))
            places.append((number, column))
    verdicts = check_cells(Statistic.count, inputs, rules) if inputs else []
    problems = [
        CellProblem(row, column, tuple(reason_text(r, rules) for r in v.reasons))
        for (row, column), v in zip(places, verdicts, strict=True)
        if _primary(v.reasons)
    ]
    facts = {"count_columns": columns, "count_cells": len(inputs)}
    if not problems:
        return CheckResult(
            CheckStatus.passed,
            (f"All {len(inputs)} frequency cells meet the disclosure rules.",),
            facts=facts,
        )
    return CheckResult(
        CheckStatus.failed,
        (_cells_sentence(problems),),
        tuple(problems),
        facts,
    )


def _primary(reasons: Sequence[Reason]) -> bool:
    # Secondary suppression is the gate's remedy for a grid; a released table is judged
    # on the cells it shows.
    return any(r != Reason.secondary for r in reasons)


def _cells_sentence(problems: Sequence[CellProblem]) -> str:
    first = problems[0]
    more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
    return (
        f"{len(problems)} cell{'s' if len(problems) > 1 else ''} break the disclosure "
        f"rules: row {first.row}, column {first.column!r} ({', '.join(first.reasons)})"
        f"{more}."
    )


def _group_key(values: Sequence[object]) -> tuple[str, ...]:
    def text(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    return tuple(text(v) for v in values)


def _from_evidence(table: _Csv, evidence: bytes, rules: DisclosureRules) -> CheckResult:
    try:
        document = json.loads(evidence)
        groups = [str(g) for g in document.get("groups", [])]
        aggregates = list(document["aggregates"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return CheckResult(
            CheckStatus.review,
            ("The evidence beside the table cannot be read; checkers review it.",),
        )
    missing = [g for g in groups if g not in table.header]
    if missing:
        return CheckResult(
            CheckStatus.review,
            (f"The evidence names group columns the table lacks: {missing}.",),
        )
    indexes = [table.header.index(g) for g in groups]
    rows = {
        _group_key([row[i] for i in indexes]): (number, row)
        for number, row in enumerate(table.rows, start=1)
    }
    problems: list[CellProblem] = []
    reasons: list[str] = []
    checked = 0
    for aggregate in aggregates:
        outcome = _aggregate(aggregate, table, rows, rules)
        if isinstance(outcome, str):
            reasons.append(outcome)
            continue
        checked += outcome[0]
        problems.extend(outcome[1])
    facts = {"evidence_cells": checked}
    if problems:
        return CheckResult(
            CheckStatus.failed,
            (_cells_sentence(problems), *reasons),
            tuple(problems),
            facts,
        )
    if reasons:
        return CheckResult(CheckStatus.review, tuple(reasons), facts=facts)
    return CheckResult(
        CheckStatus.passed,
        (
            f"The evidence's {checked} cells meet the disclosure rules, dominance and "
            "p% included, or are suppressed in the table.",
        ),
        facts=facts,
    )


def _aggregate(
    aggregate: Mapping[str, Any],
    table: _Csv,
    rows: Mapping[tuple[str, ...], tuple[int, tuple[str, ...]]],
    rules: DisclosureRules,
) -> str | tuple[int, list[CellProblem]]:
    """The failing released cells of one aggregate column, or why it cannot be told."""
    try:
        column = str(aggregate["column"])
        statistic = Statistic(str(aggregate["statistic"]))
        cells = [
            CellInput(
                group=tuple(cell.get("group", ())),
                n=int(cell["n"]),
                total=None if cell.get("total") is None else float(cell["total"]),
                largest=tuple(float(x) for x in cell.get("largest", ())),
                has_negative=bool(cell.get("has_negative", False)),
            )
            for cell in aggregate["cells"]
        ]
    except (KeyError, TypeError, ValueError):
        return "An aggregate of the evidence cannot be read; checkers review it."
    if column not in table.header:
        return f"The evidence describes a column {column!r} the table lacks."
    index = table.header.index(column)
    problems: list[CellProblem] = []
    for cell, verdict in zip(cells, check_cells(statistic, cells, rules), strict=True):
        if not verdict.suppressed:
            continue
        found = rows.get(_group_key(cell.group))
        if found is None or found[1][index] == "" or _blank(found[1][index]):
            continue  # suppressed in the released table, as it must be
        number, _ = found
        problems.append(
            CellProblem(
                number, column, tuple(reason_text(r, rules) for r in verdict.reasons)
            )
        )
    return len(cells), problems


def _blank(text: str) -> bool:
    try:
        return _number(text) is None
    except ValueError:
        return False


# --- regressions ----------------------------------------------------------------------


def residual_dof(data: bytes) -> list[float]:
    """Every residual degrees of freedom the summary states (one per model)."""
    text = data.decode("utf-8", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return _dof_in_json(json.loads(stripped))
        except ValueError:
            pass
    return [float(m.group(1)) for m in _DF_RESID.finditer(text)]


def _dof_in_json(value: Any) -> list[float]:
    found: list[float] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if str(key).lower() in _DF_RESID_KEYS and isinstance(item, int | float):
                found.append(float(item))
            else:
                found.extend(_dof_in_json(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_dof_in_json(item))
    return found


def check_regression(data: bytes, rules: DisclosureRules) -> CheckResult:
    dofs = residual_dof(data)
    if not dofs:
        return CheckResult(
            CheckStatus.review,
            (
                "The summary states no residual degrees of freedom (Df Residuals); "
                "the output checkers review it.",
            ),
        )
    lowest = min(dofs)
    facts = {"df_resid": [int(d) if d.is_integer() else d for d in dofs]}
    shown = int(lowest) if lowest.is_integer() else lowest
    if lowest < rules.dof_threshold:
        return CheckResult(
            CheckStatus.failed,
            (
                f"A model has {shown} residual degrees of freedom; at least "
                f"{rules.dof_threshold} are needed.",
            ),
            facts=facts,
        )
    return CheckResult(
        CheckStatus.passed,
        (
            f"Residual degrees of freedom {shown} reach the minimum of "
            f"{rules.dof_threshold}.",
        ),
        facts=facts,
    )


# --- figures and texts ----------------------------------------------------------------


def check_figure(
    *,
    media_type: str,
    justification: str | None,
    underlying: CheckResult | None,
) -> CheckResult:
    """``underlying`` is the check of the figure's table, None when the request does
    not hold it."""
    problems: list[str] = []
    if media_type not in FIGURE_TYPES:
        problems.append(f"Figures are released as PNG or SVG, not {media_type}.")
    if not (justification or "").strip():
        problems.append(
            "A figure needs a justification: what it shows, its population and how "
            "small numbers were handled."
        )
    if underlying is None:
        problems.append(
            "A figure needs its underlying table in the same request, so the checkers "
            "can verify the numbers it draws."
        )
    elif underlying.status == CheckStatus.failed:
        problems.append("The figure's underlying table fails the disclosure rules.")
    if problems:
        return CheckResult(CheckStatus.failed, tuple(problems))
    assert underlying is not None
    if underlying.status == CheckStatus.review:
        return CheckResult(
            CheckStatus.review,
            ("The figure's underlying table needs the checkers' review.",),
        )
    return CheckResult(
        CheckStatus.passed,
        ("The figure has a justification and its underlying table passes.",),
    )


def check_text() -> CheckResult:
    return CheckResult(
        CheckStatus.review,
        ("Texts have no automatic check: the output checkers read them.",),
    )
