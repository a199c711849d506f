"""SQL built from the analysis model as sqlglot expressions, shared by the SQL engines.

Each engine subclasses :class:`SqlBuilder`, names its sqlglot dialect, and overrides the few
small named methods where its SQL differs (``top_two``, ``date_part``, ``median``…), each
with a comment saying why. Identifiers come from the workspace's table specs and are quoted by
sqlglot; no text of the user's query is ever part of the SQL.

The shape of the generated query depends on how units (people) relate to rows, because the
disclosure rules need per-cell statistics about people, not rows:

- **rows are units** (one table, one row per person, or no unit at all): a single
  ``GROUP BY``; ``__n`` is ``COUNT(*)`` and a row's value is its person's contribution.
- **units repeat, every aggregate decomposes per person** (counts, sums, means, min, max):
  group by (cell, unit) first, then by cell. One scan, and ``__n`` is a plain count.
- **units repeat, a sum or mean next to a median, deviation or distinct count**: the cell
  aggregates and the per-person contributions are two grouped scans joined on the cell.
- **units repeat, no sum or mean**: a single ``GROUP BY`` with ``COUNT(DISTINCT unit)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import ClassVar

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
from sqlglot import exp

from datafactory.spe import analysis as m
from datafactory.spe.parse import parse_condition
from datafactory.spe.tables import TableSpec

DECOMPOSABLE = {
    m.AggregateKind.count,
    m.AggregateKind.sum,
    m.AggregateKind.mean,
    m.AggregateKind.min,
    m.AggregateKind.max,
}
CAST_TARGETS = {
    "integer": "BIGINT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "date": "DATE",
    "boolean": "BOOLEAN",
}
UNIT = "__unit"


def hidden_columns(aggregate: m.Aggregate) -> tuple[str, str, str, str]:
    """The hidden statistics of a sum or mean ``aggregate``: total, the two largest
    per-unit contributions, and whether any value is negative."""
    a = aggregate.alias
    return (f"__total__{a}", f"__largest1__{a}", f"__largest2__{a}", f"__negative__{a}")


def _id(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _ref(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=_id(name), table=_id(table) if table else None)


def _alias(expression: exp.Expr, name: str) -> exp.Alias:
    return exp.Alias(this=expression, alias=_id(name))


def _number(value: int | str) -> exp.Expr:
    return exp.Literal.number(value)


class SqlBuilder:
    dialect: ClassVar[str] = "duckdb"

    # --- expressions -------------------------------------------------------------------

    def expression(self, node: m.Expr) -> exp.Expr:  # noqa: C901 - one case per node
        match node:
            case m.Column(table, name):
                return _ref(name, table)
            case m.Literal(value):
                return self.literal(value)
            case m.Compare(op, left, right):
                return self.compare(op, self.expression(left), self.expression(right))
            case m.Logical(op, operands):
                parts = [self.expression(o) for o in operands]
                joined = exp.and_(*parts) if op == "and" else exp.or_(*parts)
                return exp.Paren(this=joined)
            case m.Not(operand):
                return exp.Not(this=exp.Paren(this=self.expression(operand)))
            case m.InList(operand, values):
                return exp.In(
                    this=self.expression(operand),
                    expressions=[self.expression(v) for v in values],
                )
            case m.Between(operand, low, high):
                return exp.Between(
                    this=self.expression(operand),
                    low=self.expression(low),
                    high=self.expression(high),
                )
            case m.IsNull(operand):
                return exp.Is(this=self.expression(operand), expression=exp.Null())
            case m.Like(operand, pattern):
                return exp.Like(
                    this=self.expression(operand), expression=self.expression(pattern)
                )
            case m.Arithmetic(op, left, right):
                return self.arithmetic(
                    op, self.expression(left), self.expression(right)
                )
            case m.Negate(operand):
                return exp.Neg(this=exp.Paren(this=self.expression(operand)))
            case m.Function(name, args):
                return self.function(name, [self.expression(a) for a in args])
            case m.Cast(operand, to):
                return self.cast(self.expression(operand), to)
            case m.Case(whens, default):
                case = exp.Case()
                for condition, then in whens:
                    case = case.when(self.expression(condition), self.expression(then))
                if default is not None:
                    case = case.else_(self.expression(default))
                return case
        raise TypeError(
            f"not an analysis expression: {node!r}"
        )  # pragma: no cover - closed model

    def literal(self, value: m.LiteralValue) -> exp.Expr:
        if value is None:
            return exp.Null()
        if isinstance(value, bool):
            return exp.Boolean(this=value)
        if isinstance(value, (int, Decimal)):
            text = str(value)
            if text.startswith("-"):
                return exp.Neg(this=_number(text[1:]))
            return _number(text)
        return exp.Literal.string(value)

    def compare(self, op: str, left: exp.Expr, right: exp.Expr) -> exp.Expr:
        kinds: dict[str, type[exp.Binary]] = {
            "=": exp.EQ,
            "<>": exp.NEQ,
            "<": exp.LT,
            "<=": exp.LTE,
            ">": exp.GT,
            ">=": exp.GTE,
        }
        return kinds[op](this=left, expression=right)

    def arithmetic(self, op: str, left: exp.Expr, right: exp.Expr) -> exp.Expr:
        if op == "/":
            return self.divide(left, right)
        if op == "%":
            return self.modulo(left, right)
        kinds: dict[str, type[exp.Binary]] = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}
        return exp.Paren(this=kinds[op](this=left, expression=right))

    def divide(self, left: exp.Expr, right: exp.Expr) -> exp.Expr:
        return exp.Paren(
            this=exp.Div(this=left, expression=right, typed=False, safe=False)
        )

    def modulo(self, left: exp.Expr, right: exp.Expr) -> exp.Expr:
        return exp.Paren(this=exp.Mod(this=left, expression=right))

    def function(self, name: str, args: list[exp.Expr]) -> exp.Expr:
        if name in ("year", "month", "day"):
            return self.date_part(name, args[0])
        simple: dict[str, type[exp.Func]] = {
            "floor": exp.Floor,
            "ceil": exp.Ceil,
            "abs": exp.Abs,
            "lower": exp.Lower,
            "upper": exp.Upper,
            "length": exp.Length,
        }
        if name in simple:
            return simple[name](this=args[0])
        if name == "round":
            return exp.Round(this=args[0], decimals=args[1] if len(args) > 1 else None)
        if name == "coalesce":
            return exp.Coalesce(this=args[0], expressions=args[1:])
        raise ValueError(f"unknown function {name}")  # pragma: no cover - closed model

    def date_part(self, part: str, value: exp.Expr) -> exp.Expr:
        kinds: dict[str, type[exp.Func]] = {
            "year": exp.Year,
            "month": exp.Month,
            "day": exp.Day,
        }
        return kinds[part](this=value)

    def cast(self, value: exp.Expr, to: str) -> exp.Expr:
        return exp.Cast(this=value, to=exp.DataType.build(CAST_TARGETS[to]))

    # --- aggregates --------------------------------------------------------------------

    def aggregate(self, kind: m.AggregateKind, argument: exp.Expr | None) -> exp.Expr:
        if argument is None:
            return exp.Count(this=exp.Star())
        match kind:
            case m.AggregateKind.count:
                return exp.Count(this=argument)
            case m.AggregateKind.count_distinct:
                return exp.Count(this=exp.Distinct(expressions=[argument]))
            case m.AggregateKind.sum:
                return exp.Sum(this=argument)
            case m.AggregateKind.mean:
                return exp.Avg(this=argument)
            case m.AggregateKind.median:
                return self.median(argument)
            case m.AggregateKind.std:
                return self.std(argument)
            case m.AggregateKind.var:
                return self.var(argument)
            case m.AggregateKind.min:
                return exp.Min(this=argument)
            case m.AggregateKind.max:
                return exp.Max(this=argument)
        raise ValueError(kind)  # pragma: no cover - closed enum

    def median(self, value: exp.Expr) -> exp.Expr:
        return exp.Median(this=value)

    def std(self, value: exp.Expr) -> exp.Expr:
        return exp.StddevSamp(this=value)

    def var(self, value: exp.Expr) -> exp.Expr:
        return exp.Variance(this=value)

    def top_two(self, value: exp.Expr) -> tuple[exp.Expr, exp.Expr]:
        """The largest and second largest value of a group, NULL where missing."""
        raise NotImplementedError(f"engine {self.dialect} does not support top_two")

    def any_negative(self, value: exp.Expr) -> exp.Expr:
        less = exp.LT(this=value, expression=_number(0))
        return exp.Coalesce(this=exp.LogicalOr(this=less), expressions=[exp.false()])

    def as_double(self, value: exp.Expr) -> exp.Expr:
        return exp.Cast(this=value, to=exp.DataType.build("DOUBLE"))

    def as_integer(self, value: exp.Expr) -> exp.Expr:
        return exp.Cast(this=value, to=exp.DataType.build("BIGINT"))

    # --- the query ---------------------------------------------------------------------

    def source(self, source: m.Source) -> tuple[exp.Table, list[exp.Join]]:
        def table(ref: m.TableRef) -> exp.Table:
            return exp.Table(
                this=_id(ref.table), alias=exp.TableAlias(this=_id(ref.alias))
            )

        joins = []
        for join in source.joins:
            on = exp.and_(
                *(
                    exp.EQ(this=self.expression(a), expression=self.expression(b))
                    for a, b in join.on
                )
            )
            joins.append(
                exp.Join(
                    this=table(join.table),
                    on=on,
                    side="LEFT" if join.kind == "left" else None,
                )
            )
        return table(source.base), joins

    def scan(self, analysis: m.Analysis) -> exp.Select:
        """``SELECT … FROM <source> WHERE <filter>`` with no columns yet."""
        base, joins = self.source(analysis.source)
        select = exp.Select().from_(base)
        for join in joins:
            select = select.join(join)
        if analysis.filter is not None:
            select = select.where(self.expression(analysis.filter))
        return select

    def query(self, analysis: m.Analysis) -> exp.Select:
        if analysis.rows_are_units or analysis.unit is None:
            select = self._flat(analysis)
        elif all(a.kind in DECOMPOSABLE for a in analysis.aggregates):
            # Grouping by (cell, unit) first counts people more cheaply than
            # COUNT(DISTINCT unit) and gives each person's contribution on the way.
            select = self._per_unit(analysis)
        elif any(a.kind.magnitude for a in analysis.aggregates):
            select = self._joined(analysis)
        else:
            select = self._flat(analysis)
        return self._ordered(select, analysis)

    def _groups(self, analysis: m.Analysis) -> list[exp.Expr]:
        return [self.expression(g.expr) for g in analysis.groups]

    def _unit(self, analysis: m.Analysis) -> exp.Expr:
        assert analysis.unit is not None
        return self.expression(analysis.unit)

    def _flat(self, analysis: m.Analysis) -> exp.Select:
        per_row = analysis.rows_are_units or analysis.unit is None
        items: dict[str, exp.Expr] = {}
        for group in analysis.groups:
            items[group.alias] = self.expression(group.expr)
        for aggregate in analysis.aggregates:
            items[aggregate.alias] = self.aggregate(
                aggregate.kind, self._argument(aggregate)
            )
        items["__n"] = (
            exp.Count(this=exp.Star())
            if per_row
            else exp.Count(this=exp.Distinct(expressions=[self._unit(analysis)]))
        )
        for aggregate in analysis.aggregates:
            if aggregate.kind.magnitude:
                value = self._argument(aggregate)
                assert value is not None
                total, first, second, negative = hidden_columns(aggregate)
                top1, top2 = self.top_two(value)
                items[total] = self.as_double(exp.Sum(this=value))
                items[first] = self.as_double(top1)
                items[second] = self.as_double(top2)
                items[negative] = self.any_negative(value)
        return self._grouped(self.scan(analysis), items, self._groups(analysis))

    def _per_unit(self, analysis: m.Analysis) -> exp.Select:
        inner: dict[str, exp.Expr] = {}
        outer: dict[str, exp.Expr] = {}
        for i, group in enumerate(analysis.groups):
            inner[f"__g{i}"] = self.expression(group.expr)
            outer[group.alias] = _ref(f"__g{i}")
        inner[UNIT] = self._unit(analysis)
        for j, aggregate in enumerate(analysis.aggregates):
            value = self._argument(aggregate)
            part, count = f"__p{j}", f"__q{j}"
            kind = aggregate.kind
            if kind is m.AggregateKind.count:
                inner[part] = self.aggregate(kind, value)
                outer[aggregate.alias] = self.as_integer(
                    exp.Coalesce(
                        this=exp.Sum(this=_ref(part)), expressions=[_number(0)]
                    )
                )
            elif kind is m.AggregateKind.mean:
                assert value is not None
                inner[part] = exp.Sum(this=value)
                inner[count] = exp.Count(this=value)
                outer[aggregate.alias] = self.divide(
                    self.as_double(exp.Sum(this=_ref(part))), exp.Sum(this=_ref(count))
                )
            else:
                inner[part] = self.aggregate(kind, value)
                outer[aggregate.alias] = self.aggregate(kind, _ref(part))
        outer["__n"] = exp.Count(this=exp.Star())
        for j, aggregate in enumerate(analysis.aggregates):
            if aggregate.kind.magnitude:
                value = self._argument(aggregate)
                assert value is not None
                inner[f"__neg{j}"] = self.any_negative(value)
                total, first, second, negative = hidden_columns(aggregate)
                top1, top2 = self.top_two(_ref(f"__p{j}"))
                outer[total] = self.as_double(exp.Sum(this=_ref(f"__p{j}")))
                outer[first] = self.as_double(top1)
                outer[second] = self.as_double(top2)
                outer[negative] = exp.Coalesce(
                    this=exp.LogicalOr(this=_ref(f"__neg{j}")),
                    expressions=[exp.false()],
                )
        groups = self._groups(analysis)
        per_unit = self._grouped(
            self.scan(analysis), inner, [*groups, self._unit(analysis)]
        )
        keys: list[exp.Expr] = [_ref(f"__g{i}") for i in range(len(groups))]
        return self._grouped(
            exp.Select().from_(
                exp.Subquery(this=per_unit, alias=exp.TableAlias(this=_id("__units")))
            ),
            outer,
            keys,
        )

    def _joined(self, analysis: m.Analysis) -> exp.Select:
        groups = self._groups(analysis)
        cells: dict[str, exp.Expr] = {f"__g{i}": g for i, g in enumerate(groups)}
        contributions: dict[str, exp.Expr] = dict(cells)
        tops: dict[str, exp.Expr] = {
            f"__g{i}": _ref(f"__g{i}") for i in range(len(groups))
        }
        final: dict[str, exp.Expr] = {
            g.alias: _ref(f"__g{i}", "__cells") for i, g in enumerate(analysis.groups)
        }
        for j, aggregate in enumerate(analysis.aggregates):
            cells[f"__a{j}"] = self.aggregate(aggregate.kind, self._argument(aggregate))
            final[aggregate.alias] = _ref(f"__a{j}", "__cells")
        cells["__n"] = exp.Count(this=exp.Distinct(expressions=[self._unit(analysis)]))
        final["__n"] = _ref("__n", "__cells")
        for j, aggregate in enumerate(analysis.aggregates):
            if not aggregate.kind.magnitude:
                continue
            value = self._argument(aggregate)
            assert value is not None
            total, first, second, negative = hidden_columns(aggregate)
            cells[f"__t{j}"] = self.as_double(exp.Sum(this=value))
            cells[f"__neg{j}"] = self.any_negative(value)
            contributions[f"__c{j}"] = exp.Sum(this=value)
            top1, top2 = self.top_two(_ref(f"__c{j}"))
            tops[f"__l1_{j}"], tops[f"__l2_{j}"] = (
                self.as_double(top1),
                self.as_double(top2),
            )
            final[total] = _ref(f"__t{j}", "__cells")
            final[first] = _ref(f"__l1_{j}", "__tops")
            final[second] = _ref(f"__l2_{j}", "__tops")
            final[negative] = _ref(f"__neg{j}", "__cells")
        keys = [_ref(f"__g{i}") for i in range(len(groups))]
        cells_query = self._grouped(self.scan(analysis), cells, groups)
        per_unit = self._grouped(
            self.scan(analysis), contributions, [*groups, self._unit(analysis)]
        )
        tops_query = self._grouped(
            exp.Select().from_(
                exp.Subquery(this=per_unit, alias=exp.TableAlias(this=_id("__units")))
            ),
            tops,
            list(keys),
        )
        on: exp.Expr = (
            exp.and_(
                *(
                    exp.NullSafeEQ(
                        this=_ref(f"__g{i}", "__cells"),
                        expression=_ref(f"__g{i}", "__tops"),
                    )
                    for i in range(len(groups))
                )
            )
            if groups
            else exp.true()
        )
        select = (
            exp.Select()
            .from_(
                exp.Subquery(
                    this=cells_query, alias=exp.TableAlias(this=_id("__cells"))
                )
            )
            .join(
                exp.Join(
                    this=exp.Subquery(
                        this=tops_query, alias=exp.TableAlias(this=_id("__tops"))
                    ),
                    on=on,
                    side="LEFT",
                )
            )
        )
        return select.select(
            *(_alias(e, name) for name, e in final.items()), copy=False
        )

    def screen_query(self, analysis: m.Analysis) -> exp.Select:
        """One plain ``GROUP BY`` with the cell's aggregates and what bounds its people
        statistics (:meth:`SqlEngine.screen`): ``__rows``, and for each sum or mean its
        total, largest and smallest value."""
        items: dict[str, exp.Expr] = {}
        for group in analysis.groups:
            items[group.alias] = self.expression(group.expr)
        for aggregate in analysis.aggregates:
            items[aggregate.alias] = self.aggregate(
                aggregate.kind, self._argument(aggregate)
            )
        # COUNT(*), not COUNT(unit): the pseudonyms are never read, which would cost
        # more than the member's own query; the rows without a unit are known per table.
        items["__rows"] = exp.Count(this=exp.Star())
        for aggregate in analysis.aggregates:
            if aggregate.kind.magnitude:
                value = self._argument(aggregate)
                assert value is not None
                total, _first, _second, _negative = hidden_columns(aggregate)
                items[total] = self.as_double(exp.Sum(this=value))
                items[f"__max__{aggregate.alias}"] = self.as_double(exp.Max(this=value))
                items[f"__min__{aggregate.alias}"] = self.as_double(exp.Min(this=value))
        return self._ordered(
            self._grouped(self.scan(analysis), items, self._groups(analysis)), analysis
        )

    def _argument(self, aggregate: m.Aggregate) -> exp.Expr | None:
        return (
            None if aggregate.argument is None else self.expression(aggregate.argument)
        )

    def _grouped(
        self,
        select: exp.Select,
        items: dict[str, exp.Expr],
        keys: Sequence[exp.Expr],
    ) -> exp.Select:
        select = select.select(
            *(_alias(e, name) for name, e in items.items()), copy=False
        )
        if keys:
            select = select.group_by(*keys, copy=False)
        return select

    def _ordered(self, select: exp.Select, analysis: m.Analysis) -> exp.Select:
        for item in analysis.order:
            select = select.order_by(
                exp.Ordered(
                    this=_ref(item.alias),
                    desc=item.descending,
                    nulls_first=item.nulls_first,
                ),
                copy=False,
            )
        return select

    # --- the differencing defence ------------------------------------------------------

    def population_query(
        self, analysis: m.Analysis, filters: Sequence[m.Expr | None]
    ) -> exp.Select:
        """One scan counting, for each earlier filter, the units owning a row where exactly
        one of the current and the earlier filter holds."""
        base, joins = self.source(analysis.source)
        select = exp.Select().from_(base)
        for join in joins:
            select = select.join(join)
        current = self._holds(analysis.filter)
        differs = [
            exp.NEQ(this=current.copy(), expression=self._holds(earlier))
            for earlier in filters
        ]
        if analysis.unit is None or analysis.rows_are_units:
            return self._row_differences(analysis, select, filters, differs)
        # Units repeat: mark each unit owning a differing row, then count the marks.
        # Rows differing for no filter are dropped before the grouping, and grouping
        # by unit runs in parallel where a global COUNT(DISTINCT) would not.
        unit = self._unit(analysis)
        for k, condition in enumerate(differs):
            flag = exp.Case().when(condition, _number(1)).else_(_number(0))
            select = select.select(_alias(exp.Max(this=flag), f"f{k}"), copy=False)
        wanted = exp.and_(
            exp.Not(this=exp.Is(this=unit.copy(), expression=exp.Null())),
            exp.Paren(this=exp.or_(*(c.copy() for c in differs))),
        )
        per_unit = select.where(wanted, copy=False).group_by(unit, copy=False)
        counts = exp.Select().from_(
            exp.Subquery(this=per_unit, alias=exp.TableAlias(this=_id("__units")))
        )
        for k in range(len(differs)):
            counts = counts.select(
                _alias(exp.Sum(this=_ref(f"f{k}")), f"d{k}"), copy=False
            )
        return counts

    def _row_differences(
        self,
        analysis: m.Analysis,
        scan: exp.Select,
        filters: Sequence[m.Expr | None],
        differs: Sequence[exp.Expr],
    ) -> exp.Select:
        """Each row is a different unit (or there is none): counting rows counts people,
        without the distinct count's hash table over every pseudonym. Against the whole
        source (one of the two filters absent) the difference is the rows minus those
        where the filter holds: a filtered ``COUNT(*)`` the engine can push into its
        scan, several times cheaper than testing every row in a ``CASE`` when the
        engine knows its tables' sizes (:meth:`row_count`)."""
        whole: dict[int, exp.Expr] = {}
        for k, earlier in enumerate(filters):
            present = [f for f in (analysis.filter, earlier) if f is not None]
            if len(present) == 1:
                whole[k] = exp.Sub(
                    this=self.row_count(analysis.source.base.table),
                    expression=exp.Subquery(this=self._rows(analysis, present[0])),
                )
        pairs = [k for k in range(len(filters)) if k not in whole]
        if not pairs:
            return exp.Select().select(
                *(_alias(whole[k], f"d{k}") for k in range(len(filters)))
            )
        for k in pairs:
            counted = exp.Count(this=exp.Case().when(differs[k], _number(1)))
            scan = scan.select(_alias(counted, f"d{k}"), copy=False)
        if not whole:
            return scan
        return (
            exp.Select()
            .select(
                *(
                    _alias(whole[k], f"d{k}") if k in whole else _ref(f"d{k}", "__scan")
                    for k in range(len(filters))
                )
            )
            .from_(exp.Subquery(this=scan, alias=exp.TableAlias(this=_id("__scan"))))
        )

    def row_count(self, table: str) -> exp.Expr:
        """The number of rows of workspace table ``table``."""
        return exp.Subquery(
            this=exp.Select()
            .select(exp.Count(this=exp.Star()))
            .from_(exp.Table(this=_id(table)))
        )

    def _rows(self, analysis: m.Analysis, condition: m.Expr | None) -> exp.Select:
        base, joins = self.source(analysis.source)
        select = exp.Select().select(exp.Count(this=exp.Star())).from_(base)
        for join in joins:
            select = select.join(join)
        if condition is not None:
            select = select.where(self.expression(condition))
        return select

    def _holds(self, condition: m.Expr | None) -> exp.Expr:
        if condition is None:
            return exp.true()
        return exp.Coalesce(
            this=exp.Paren(this=self.expression(condition)), expressions=[exp.false()]
        )

    def sql(self, expression: exp.Expr, *, pretty: bool = False) -> str:
        return expression.sql(dialect=self.dialect, pretty=pretty)


class SqlEngine(SqlBuilder):
    """What the SQL engines share: rendering, running and the differencing scan. A
    subclass loads tables and executes SQL (``_execute``)."""

    name: ClassVar[str]

    def __init__(self) -> None:
        self._specs: dict[str, TableSpec] = {}

    def divide(self, left: exp.Expr, right: exp.Expr) -> exp.Expr:
        # True division, NULL for a zero divisor: DuckDB would give infinity and SQLite
        # NULL, so say it once for both.
        return super().divide(left, exp.Nullif(this=right, expression=_number(0)))

    def modulo(self, left: exp.Expr, right: exp.Expr) -> exp.Expr:
        # DuckDB raises on x % 0, and an error that depends on the data is an oracle on it.
        return super().modulo(left, exp.Nullif(this=right, expression=_number(0)))

    def render(self, analysis: m.Analysis) -> str:
        return self.sql(self.query(analysis), pretty=True)

    def run(self, analysis: m.Analysis) -> pa.Table:
        return self._execute(self.sql(self.query(analysis)))

    def screen(self, analysis: m.Analysis) -> pa.Table | None:
        """The result with bounds in place of the exact people statistics, from one plain
        ``GROUP BY``, or None when there is no bound or nothing to save.

        With at most ``R`` rows per unit and ``U`` rows without a unit in the table
        (:attr:`Analysis.unit_rows`), a cell of ``r`` rows has at least
        ``ceil((r - U) / R)`` people (``__n``), and no person contributes more than ``R``
        times the cell's largest value (``__largest1__a`` and ``__largest2__a``); totals
        and signs are exact. Lower
        people counts and higher contributions only make the disclosure rules stricter,
        so a cell that passes on bounds passes on the exact statistics too; where a cell
        does not, the gate asks :meth:`run`. This saves the (cell, person) grouping where
        people repeat, and the two-largest search everywhere."""
        spread = analysis.unit_rows
        if spread is None or spread.most < 1:
            return None
        if analysis.rows_are_units and not any(
            a.kind.magnitude for a in analysis.aggregates
        ):
            return None  # the exact query is already this plain GROUP BY
        table = self._execute(self.sql(self.screen_query(analysis)))
        with_unit = pc.max_element_wise(
            pc.subtract(table.column("__rows"), spread.without_unit), 0
        )
        people = pc.cast(
            pc.ceil(pc.divide(pc.cast(with_unit, pa.float64()), float(spread.most))),
            pa.int64(),
        )
        table = table.drop_columns(["__rows"]).append_column("__n", people)
        for aggregate in analysis.aggregates:
            if not aggregate.kind.magnitude:
                continue
            _total, first, second, negative = hidden_columns(aggregate)
            largest, smallest = f"__max__{aggregate.alias}", f"__min__{aggregate.alias}"
            most = pc.multiply(table.column(largest), float(spread.most))
            below_zero = pc.fill_null(pc.less(table.column(smallest), 0.0), False)
            table = table.drop_columns([largest, smallest])
            table = table.append_column(first, most).append_column(second, most)
            table = table.append_column(negative, below_zero)
        return table

    def population_differences(
        self, analysis: m.Analysis, earlier_filters: Sequence[str | None]
    ) -> list[int]:
        if not earlier_filters:
            return []
        filters = [
            None
            if text is None
            else parse_condition(text, analysis.source, self._specs)
            for text in earlier_filters
        ]
        table = self._execute(self.sql(self.population_query(analysis, filters)))
        row = table.to_pylist()[0]
        return [int(row[f"d{k}"] or 0) for k in range(len(filters))]

    def _execute(self, sql: str) -> pa.Table:
        raise NotImplementedError  # pragma: no cover - abstract


def canonical_sql(expr: m.Expr) -> str:
    """An expression as canonical DuckDB SQL (the query ledger's filter text)."""
    return SqlBuilder().sql(SqlBuilder().expression(expr))
