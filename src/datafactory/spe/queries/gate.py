"""The query gate: the one door through which members ask aggregate questions of a workspace.

Every path (the API, the web editor, ``datafactory spe query``) calls :func:`ask`. It

1. checks that the actor is a member of a ready workspace;
2. parses the SQL into the closed analysis model (``spe/parse.py``), or refuses it;
3. refuses a query whose population differs from an earlier answered one by fewer people
   than the threshold (the differencing defence, :func:`_differencing`);
4. runs the analysis on a locked-down engine (``spe/engines``);
5. applies the disclosure rules of ``privacy.sdc`` to every cell, with secondary
   suppression, and refuses a result in which every cell fails;
6. records the query in the workspace's query ledger and the hash-chained ledger, in the
   caller's transaction, whether it was answered or refused.

A refusal is an answer too: :func:`ask` returns it rather than raising, so the caller's
transaction commits the record of the refused query. Callers turn it into a 422 or a
non-zero exit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.errors import InvalidInput
from datafactory.identity.actor import Actor
from datafactory.privacy.sdc import (
    CellInput,
    CellVerdict,
    DisclosureRules,
    Reason,
    Statistic,
    check_cells,
    complete_grid,
    round_to_base,
)
from datafactory.spe import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.spe.analysis import AggregateKind, Analysis, Column
from datafactory.spe.config import EngineLimits, SpeConfig
from datafactory.spe.engines.base import QueryEngine
from datafactory.spe.engines.duckdb import DuckDBEngine
from datafactory.spe.models import Workspace
from datafactory.spe.outputs import save_output
from datafactory.spe.parse import QueryRefused, parse
from datafactory.spe.queries.events import QueryAnswered, QueryResultSaved
from datafactory.spe.queries.events import QueryRefused as Refused
from datafactory.spe.queries.models import ANSWERED, REFUSED, WorkspaceQuery
from datafactory.spe.workspaces import ensure_member, get_workspace, workspace_tables

MAX_SQL_CHARS = 20_000

EngineFactory = Callable[[EngineLimits], QueryEngine]


@dataclass(frozen=True)
class SuppressedCell:
    row: int
    column: str
    reasons: tuple[str, ...]
    """In words, for the member: never a value, and a zero reads as a small count."""


@dataclass(frozen=True)
class Answer:
    """What the gate says to one query: a released table, or a refusal with its reasons."""

    query_id: int
    workspace: str
    sql: str
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    """Released values; a suppressed cell is None."""
    suppressed: tuple[SuppressedCell, ...] = ()
    reasons: tuple[str, ...] = ()
    """Why the query was refused; empty when it was answered."""
    rounded_to: int | None = None
    notes: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict, repr=False)
    """Per-cell counts behind the released table, kept encrypted with a saved output so
    the airlock can check it again; never shown to the member."""

    @property
    def refused(self) -> bool:
        return bool(self.reasons)

    def csv(self) -> str:
        """The released table as CSV, suppressed cells empty."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if v is None else v for v in row])
        return buffer.getvalue()


def ask(
    session: Session,
    actor: Actor,
    config: SpeConfig,
    workspace_name: str,
    sql: str,
    *,
    round_results: bool = False,
    engine_factory: EngineFactory | None = None,
) -> Answer:
    """Answer or refuse ``sql`` in workspace ``workspace_name`` for ``actor``."""
    started = time.perf_counter()
    workspace = get_workspace(session, workspace_name)
    ensure_member(session, actor, workspace)
    if len(sql) > MAX_SQL_CHARS:
        raise InvalidInput(f"A query is at most {MAX_SQL_CHARS} characters long.")
    tables = workspace_tables(session, config, workspace)
    specs = {name: spec for name, (spec, _data) in tables.items()}
    try:
        analysis = parse(sql, specs)
    except QueryRefused as refusal:
        return _refuse(session, actor, workspace, sql, None, refusal.reasons, started)

    engine = (engine_factory or DuckDBEngine)(config.engine)
    for name in dict.fromkeys(t.table for t in analysis.source.tables):
        engine.load(*tables[name])
    rules = config.rules

    too_close = _differencing(session, workspace, analysis, engine, rules)
    if too_close:
        return _refuse(session, actor, workspace, sql, analysis, too_close, started)

    screened = engine.screen(analysis)
    result = screened if screened is not None else engine.run(analysis)
    if result.num_rows > config.engine.max_cells:
        return _refuse(
            session,
            actor,
            workspace,
            sql,
            analysis,
            [
                f"The result has {result.num_rows} groups, more than the "
                f"{config.engine.max_cells} a table may have: group more coarsely."
            ],
            started,
        )
    table, endpoints, verdicts = decide(
        engine, analysis, result, rules, screened=screened is not None
    )
    if endpoints:
        return _refuse(session, actor, workspace, sql, analysis, endpoints, started)
    if all(v.suppressed for column in verdicts.values() for v in column):
        return _refuse(
            session,
            actor,
            workspace,
            sql,
            analysis,
            [
                "Every cell of the result fails the disclosure rules ("
                + _reasons_in_words(verdicts, rules)
                + "): choose broader groups or a larger population."
            ],
            started,
        )
    answer = table.release(
        analysis, verdicts, rules, round_to=rules.round_base if round_results else None
    )
    record = _record(
        session,
        workspace,
        actor,
        sql,
        analysis,
        ANSWERED,
        [],
        cells=len(answer.rows) * len(analysis.aggregates),
        suppressed=len(answer.suppressed),
        started=started,
        summary={
            "columns": list(answer.columns),
            "suppressed": [
                {"row": s.row, "column": s.column, "reasons": list(s.reasons)}
                for s in answer.suppressed
            ],
            "rounded_to": answer.rounded_to,
        },
    )
    ledger.record(
        session,
        actor.ref,
        QueryAnswered(
            workspace=workspace.name,
            query_id=record.id,
            sql_sha256=_sha256(sql),
            cells=record.cells,
            suppressed=record.suppressed,
        ),
    )
    return Answer(
        query_id=record.id,
        workspace=workspace.name,
        sql=sql,
        columns=answer.columns,
        rows=answer.rows,
        suppressed=answer.suppressed,
        rounded_to=answer.rounded_to,
        notes=answer.notes,
        evidence=answer.evidence,
    )


def decide(
    engine: QueryEngine,
    analysis: Analysis,
    result: pa.Table,
    rules: DisclosureRules,
    *,
    screened: bool,
) -> tuple[_Table, list[str], dict[str, list[CellVerdict]]]:
    """The cells of ``result``, the endpoint rule's refusals and the verdicts. A
    ``screened`` result (bounds, from ``engine.screen``) decides only when every cell
    passes; otherwise the exact statistics of ``engine.run`` decide, so that the answer
    is always the one the exact query gives."""
    table, endpoints, verdicts = _checked(analysis, result, rules, bounds=screened)
    if screened and (endpoints or _any_suppressed(verdicts)):
        table, endpoints, verdicts = _checked(analysis, engine.run(analysis), rules)
    return table, endpoints, verdicts


def _checked(
    analysis: Analysis,
    result: pa.Table,
    rules: DisclosureRules,
    *,
    bounds: bool = False,
) -> tuple[_Table, list[str], dict[str, list[CellVerdict]]]:
    """The result as cells with the zero cells added, the endpoint rule's refusals and
    the verdicts."""
    table = _Table.of(analysis, result, bounds=bounds)
    endpoints = _endpoint_rule(analysis, table, rules)
    table.add_zero_cells(analysis)
    return table, endpoints, table.verdicts(analysis, rules)


def _any_suppressed(verdicts: dict[str, list[CellVerdict]]) -> bool:
    return any(v.suppressed for column in verdicts.values() for v in column)


def save_answer(
    session: Session,
    actor: Actor,
    config: SpeConfig,
    answer: Answer,
    *,
    name: str,
) -> int:
    """Keep an answered query's released table as a workspace output (CSV, with its cell
    evidence as a sidecar), ready for a release request. Returns the output's id."""
    if answer.refused:
        raise InvalidInput("A refused query has no table to keep.")
    workspace = get_workspace(session, answer.workspace)
    ensure_member(session, actor, workspace)
    stem = name.strip() or f"query-{answer.query_id}"
    stem = stem.removesuffix(".csv")
    origin = f"query:{answer.query_id}"
    output = save_output(
        session,
        actor,
        config,
        workspace,
        name=f"{stem}.csv",
        kind="table",
        media_type="text/csv",
        data=answer.csv().encode(),
        origin=origin,
        code=answer.sql,
    )
    save_output(
        session,
        actor,
        config,
        workspace,
        name=f"{stem}.sdc.json",
        kind="evidence",
        media_type="application/json",
        data=json.dumps(answer.evidence, sort_keys=True, default=str).encode(),
        origin=origin,
        code=answer.sql,
    )
    ledger.record(
        session,
        actor.ref,
        QueryResultSaved(
            workspace=workspace.name, query_id=answer.query_id, output_id=output.id
        ),
    )
    return output.id


def history(
    session: Session, actor: Actor, workspace_name: str, *, limit: int = 50
) -> list[WorkspaceQuery]:
    """The member's view of the workspace's query ledger, newest first."""
    workspace = get_workspace(session, workspace_name)
    ensure_member(session, actor, workspace)
    return list(
        session.scalars(
            select(WorkspaceQuery)
            .where(WorkspaceQuery.workspace_id == workspace.id)
            .order_by(WorkspaceQuery.id.desc())
            .limit(limit)
        )
    )


# --- the differencing defence -------------------------------------------------------------


def _differencing(
    session: Session,
    workspace: Workspace,
    analysis: Analysis,
    engine: QueryEngine,
    rules: DisclosureRules,
) -> list[str]:
    """Refuse when this query's population differs from an earlier answered one's (or
    from the whole source, which anyone can count) by 1 to threshold-1 people: the
    difference of the two answers would describe those few people. The populations are
    measured on the real data, so a rewritten filter selecting the same people is caught
    as well as the classic pair and tracker queries."""
    current = analysis.canonical_filter
    earlier: dict[str | None, int | None] = {}
    if current is not None:
        earlier[None] = None
    rows = session.execute(
        select(WorkspaceQuery.population, WorkspaceQuery.id)
        .where(
            WorkspaceQuery.workspace_id == workspace.id,
            WorkspaceQuery.source == analysis.source.signature,
            WorkspaceQuery.outcome == ANSWERED,
        )
        .order_by(WorkspaceQuery.id)
    )
    for population, query_id in rows:
        if population != current:
            earlier.setdefault(population, query_id)
    if not earlier:
        return []
    filters = list(earlier)
    differences = engine.population_differences(analysis, filters)
    reasons = []
    for population, difference in zip(filters, differences, strict=True):
        if 0 < difference < rules.threshold:
            earlier_id = earlier[population]
            against = (
                "the whole table"
                if earlier_id is None
                else f"earlier query #{earlier_id}"
            )
            reasons.append(
                f"Its population differs from that of {against} by fewer than "
                f"{rules.threshold} people: comparing the two answers could reveal "
                "them (differencing)."
            )
    return reasons[:3]


# --- the result as cells ----------------------------------------------------------------


def _statistic(kind: AggregateKind) -> Statistic:
    return Statistic(kind.value)


@dataclass
class _Table:
    """The engine's result, row by row, with the hidden per-cell statistics apart."""

    groups: list[tuple[Any, ...]]
    values: dict[str, list[Any]]
    n: list[int]
    magnitude: dict[str, tuple[list[Any], list[Any], list[Any], list[Any]]]
    real_rows: int
    bounds: bool = False
    """Whether ``n`` and the largest contributions are bounds (``QueryEngine.screen``):
    people at least, contributions at most."""

    @classmethod
    def of(
        cls, analysis: Analysis, result: pa.Table, *, bounds: bool = False
    ) -> _Table:
        data = result.to_pydict()
        groups = list(
            zip(*(data[alias] for alias in analysis.group_aliases), strict=True)
        ) or [() for _ in range(result.num_rows)]
        magnitude = {
            a.alias: (
                data[f"__total__{a.alias}"],
                data[f"__largest1__{a.alias}"],
                data[f"__largest2__{a.alias}"],
                data[f"__negative__{a.alias}"],
            )
            for a in analysis.aggregates
            if a.kind.magnitude
        }
        return cls(
            groups=groups,
            values={a.alias: data[a.alias] for a in analysis.aggregates},
            n=[int(v or 0) for v in data["__n"]],
            magnitude=magnitude,
            real_rows=result.num_rows,
            bounds=bounds,
        )

    def add_zero_cells(self, analysis: Analysis) -> None:
        """The combinations of group values missing from a grouped count are zero cells
        (nobody has them): add them, so the zeros rule can suppress what their absence
        would reveal. A group that is a code column takes its whole code list."""
        if not analysis.groups or not any(
            _statistic(a.kind) is Statistic.count
            or _statistic(a.kind) is Statistic.count_distinct
            for a in analysis.aggregates
        ):
            return
        domains = [
            _domain(analysis, g.expr, self.groups, i)
            for i, g in enumerate(analysis.groups)
        ]
        missing = complete_grid(self.groups, domains)
        for group in missing:
            self.groups.append(tuple(group))
            self.n.append(0)
            for aggregate in analysis.aggregates:
                zero = (
                    0
                    if aggregate.kind
                    in (AggregateKind.count, AggregateKind.count_distinct)
                    else None
                )
                self.values[aggregate.alias].append(zero)
            for lists in self.magnitude.values():
                lists[0].append(0)
                lists[1].append(0)
                lists[2].append(0)
                lists[3].append(False)

    def cells(self, alias: str) -> list[CellInput]:
        if alias not in self.magnitude:
            return [CellInput(g, n) for g, n in zip(self.groups, self.n, strict=True)]
        totals, first, second, negative = self.magnitude[alias]
        return [
            CellInput(
                group,
                n,
                # A sum of missing values only is no total: judged as an all-zero
                # cell (the p% rule suppresses it), never left to fail the rules.
                total=_number(total) or 0.0,
                largest=(_number(a) or 0.0, _number(b) or 0.0),
                has_negative=bool(neg),
            )
            for group, n, total, a, b, neg in zip(
                self.groups, self.n, totals, first, second, negative, strict=True
            )
        ]

    def verdicts(
        self, analysis: Analysis, rules: DisclosureRules
    ) -> dict[str, list[CellVerdict]]:
        return {
            a.alias: check_cells(_statistic(a.kind), self.cells(a.alias), rules)
            for a in analysis.aggregates
        }

    def release(
        self,
        analysis: Analysis,
        verdicts: dict[str, list[CellVerdict]],
        rules: DisclosureRules,
        *,
        round_to: int | None,
    ) -> Answer:
        columns = analysis.columns
        group_index = {alias: i for i, alias in enumerate(analysis.group_aliases)}
        rows: list[tuple[Any, ...]] = []
        suppressed: list[SuppressedCell] = []
        order = _order(analysis, self)
        for out_row, i in enumerate(order):
            row: list[Any] = []
            for column in columns:
                if column in group_index:
                    row.append(_plain(self.groups[i][group_index[column]]))
                    continue
                verdict = verdicts[column][i]
                if verdict.suppressed:
                    row.append(None)
                    suppressed.append(
                        SuppressedCell(out_row, column, _shown(verdict.reasons, rules))
                    )
                    continue
                value = _released(self.values[column][i])
                kind = _kind(analysis, column)
                if round_to and value is not None and _roundable(kind):
                    value = round_to_base(float(value), round_to)
                row.append(value)
            rows.append(tuple(row))
        notes = []
        if round_to:
            notes.append(f"Counts and sums are rounded to the nearest {round_to}.")
        if suppressed:
            notes.append(
                f"{len(suppressed)} cell(s) are suppressed by the disclosure rules."
            )
        return Answer(
            query_id=0,
            workspace="",
            sql="",
            columns=columns,
            rows=tuple(rows),
            suppressed=tuple(suppressed),
            rounded_to=round_to,
            notes=tuple(notes),
            evidence=self.evidence(analysis, order),
        )

    def evidence(self, analysis: Analysis, order: Sequence[int]) -> dict[str, Any]:
        """The cell statistics behind a released table, in the airlock's sidecar format
        (``spe/airlock/checks.py``), so that its checks can verify the table again."""
        aggregates = []
        for aggregate in analysis.aggregates:
            cells = self.cells(aggregate.alias)
            aggregates.append(
                {
                    "column": aggregate.alias,
                    "statistic": _statistic(aggregate.kind).value,
                    "cells": [
                        {
                            "group": [_plain(v) for v in cells[i].group],
                            "n": cells[i].n,
                            "total": cells[i].total,
                            "largest": list(cells[i].largest),
                            "has_negative": cells[i].has_negative,
                        }
                        for i in order
                    ],
                }
            )
        evidence: dict[str, Any] = {
            "version": 1,
            "groups": list(analysis.group_aliases),
            "aggregates": aggregates,
        }
        if self.bounds:
            evidence["bounds"] = True
        return evidence


def _domain(
    analysis: Analysis, expr: object, groups: Sequence[tuple[Any, ...]], index: int
) -> list[Any]:
    observed = list(dict.fromkeys(g[index] for g in groups))
    if isinstance(expr, Column):
        for ref, spec in zip(analysis.source.tables, analysis.specs, strict=True):
            if ref.alias == expr.table and spec.has(expr.name):
                codes = spec.column(expr.name).codes
                if codes:
                    return list(dict.fromkeys([*codes, *observed]))
    return observed


def _order(analysis: Analysis, table: _Table) -> list[int]:
    """Rows in the query's ORDER BY, else by group values; added zero cells sort in."""
    indices = list(range(len(table.groups)))
    group_index = {alias: i for i, alias in enumerate(analysis.group_aliases)}

    def key_of(alias: str) -> Callable[[int], Any]:
        if alias in group_index:
            return lambda i: _sortable(table.groups[i][group_index[alias]])
        return lambda i: _sortable(table.values[alias][i])

    if analysis.order:
        for item in reversed(analysis.order):
            indices.sort(key=key_of(item.alias), reverse=item.descending)
        return indices
    return sorted(indices, key=lambda i: tuple(_sortable(v) for v in table.groups[i]))


def _sortable(value: Any) -> tuple[int, Any]:
    # None sorts last; numbers and text never compare with each other.
    if value is None:
        return (2, 0)
    if isinstance(value, int | float | Decimal):
        return (0, float(value))
    return (1, str(value))


def _endpoint_rule(
    analysis: Analysis, table: _Table, rules: DisclosureRules
) -> list[str]:
    """Min and max show one person's value: they are released only when every group of
    the result has at least the threshold of people."""
    endpoints = [
        a.alias
        for a in analysis.aggregates
        if a.kind in (AggregateKind.min, AggregateKind.max)
    ]
    if endpoints and any(n < rules.threshold for n in table.n[: table.real_rows]):
        return [
            f"{', '.join(endpoints)}: MIN and MAX are released only when every group "
            f"has at least {rules.threshold} people, and some group has fewer."
        ]
    return []


def _kind(analysis: Analysis, alias: str) -> AggregateKind:
    return next(a.kind for a in analysis.aggregates if a.alias == alias)


def _roundable(kind: AggregateKind) -> bool:
    return kind in (
        AggregateKind.count,
        AggregateKind.count_distinct,
        AggregateKind.sum,
    )


def _shown(reasons: Sequence[Reason], rules: DisclosureRules) -> tuple[str, ...]:
    """Reasons as the member sees them: a zero is shown as a small count, since saying
    "zero" would release the value the rule withholds."""
    shown = [
        (Reason.threshold if r is Reason.zero else r).describe(rules) for r in reasons
    ]
    return tuple(dict.fromkeys(shown))


def _reasons_in_words(
    verdicts: dict[str, list[CellVerdict]], rules: DisclosureRules
) -> str:
    reasons = {
        r
        for column in verdicts.values()
        for v in column
        for r in v.reasons
        if r is not Reason.secondary
    }
    return "; ".join(_shown(sorted(reasons, key=list(Reason).index), rules))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _released(value: Any) -> Any:
    """A released statistic: floats keep 10 significant digits, which no analysis needs
    more of and which drops the binary noise of sums (52.59999999999955 is 52.6)."""
    value = _plain(value)
    if isinstance(value, float) and value != 0 and math.isfinite(value):
        return float(f"{value:.10g}")
    return value


# --- records ----------------------------------------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _record(
    session: Session,
    workspace: Workspace,
    actor: Actor,
    sql: str,
    analysis: Analysis | None,
    outcome: str,
    reasons: Sequence[str],
    *,
    cells: int = 0,
    suppressed: int = 0,
    started: float,
    summary: dict[str, Any] | None = None,
) -> WorkspaceQuery:
    record = WorkspaceQuery(
        workspace_id=workspace.id,
        person_id=actor.person_id,
        sql=sql,
        source=analysis.source.signature if analysis is not None else None,
        population=analysis.canonical_filter if analysis is not None else None,
        outcome=outcome,
        reasons=list(reasons),
        cells=cells,
        suppressed=suppressed,
        summary=summary or {},
        duration_ms=round(1000 * (time.perf_counter() - started)),
    )
    session.add(record)
    session.flush()
    return record


def _refuse(
    session: Session,
    actor: Actor,
    workspace: Workspace,
    sql: str,
    analysis: Analysis | None,
    reasons: Sequence[str],
    started: float,
) -> Answer:
    record = _record(
        session, workspace, actor, sql, analysis, REFUSED, reasons, started=started
    )
    ledger.record(
        session,
        actor.ref,
        Refused(
            workspace=workspace.name,
            query_id=record.id,
            sql_sha256=_sha256(sql),
            reasons=list(reasons),
        ),
    )
    return Answer(
        query_id=record.id, workspace=workspace.name, sql=sql, reasons=tuple(reasons)
    )


__all__ = ["Answer", "SuppressedCell", "ask", "history", "save_answer"]
