"""The query gate's parser: SQL in the DuckDB dialect to an :class:`Analysis`, or a refusal.

sqlglot reads the text once; a whitelist then walks the tree, and everything it does not know
is refused with a reason naming the construct in plain words. Nothing of the user's text
reaches an engine: engines render SQL from the analysis model alone, so a comment, a second
statement or a quoting trick that survived here would still have nowhere to go.

The accepted language, in short: one ``SELECT`` of aggregates (``COUNT(*)``,
``COUNT([DISTINCT] x)``, ``SUM``, ``AVG``/``MEAN``, ``MEDIAN``, ``STDDEV``, ``VARIANCE``,
``MIN``, ``MAX``), optionally grouped by expressions it also selects, from workspace tables
joined (``INNER``/``LEFT``) on equalities of their declared join keys, filtered by comparisons,
``AND``/``OR``/``NOT``, ``IN`` lists, ``BETWEEN``, ``IS [NOT] NULL``, ``LIKE``, arithmetic,
``CAST``, searched ``CASE`` and a few scalar functions, ordered by result columns. The spec
tests in ``tests/spec`` are the reference.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from datafactory.core.errors import InvalidInput
from datafactory.spe import analysis as m
from datafactory.spe.tables import TableSpec

DIALECT = "duckdb"


class QueryRefused(InvalidInput):
    """The gate refused a query; ``reasons`` names each refused construct."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = list(dict.fromkeys(reasons))
        detail = "The query was refused: " + "; ".join(self.reasons) + "."
        super().__init__(detail, extra={"reasons": self.reasons})


class _Refuse(Exception):
    """One refused construct, raised inside a walk and collected by its caller."""


STATEMENT_NAMES: dict[type[exp.Expr], str] = {
    exp.Copy: "COPY",
    exp.Attach: "ATTACH",
    exp.Detach: "DETACH",
    exp.Install: "INSTALL",
    exp.Set: "SET",
    exp.Pragma: "PRAGMA",
    exp.Pivot: "PIVOT",
    exp.Union: "UNION",
    exp.Intersect: "INTERSECT",
    exp.Except: "EXCEPT",
    exp.Insert: "INSERT",
    exp.Update: "UPDATE",
    exp.Delete: "DELETE",
    exp.Drop: "DROP",
    exp.Create: "CREATE (or SELECT … INTO)",
    exp.Describe: "DESCRIBE",
    exp.Show: "SHOW",
    exp.Use: "USE",
}

SELECT_CLAUSES = {
    "with_": "WITH (common table expressions)",
    "distinct": "SELECT DISTINCT",
    "into": "SELECT … INTO",
    "having": "HAVING",
    "qualify": "QUALIFY",
    "windows": "WINDOW",
    "limit": "LIMIT",
    "offset": "OFFSET",
    "sample": "SAMPLE",
    "laterals": "LATERAL",
    "pivots": "PIVOT",
    "prewhere": "PREWHERE",
    "connect": "CONNECT BY",
    "settings": "SETTINGS",
    "locks": "FOR UPDATE",
    "exclude": "EXCLUDE",
    "kind": "SELECT AS STRUCT",
    "hint": "query hints",
    "operation_modifiers": "query modifiers",
    "distribute": "DISTRIBUTE BY",
    "cluster": "CLUSTER BY",
    "sort": "SORT BY",
    "match": "MATCH_RECOGNIZE",
    "format": "FORMAT",
    "options": "OPTIONS",
    "for_": "FOR",
}

SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "system", "temp"}
SYSTEM_PREFIXES = ("duckdb_", "sqlite_", "pragma_", "pg_")

COMPARE_OPS: dict[type[exp.Expr], str] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.GT: ">",
    exp.GTE: ">=",
}
ARITHMETIC_OPS: dict[type[exp.Expr], str] = {
    exp.Add: "+",
    exp.Sub: "-",
    exp.Mul: "*",
    exp.Div: "/",
    exp.Mod: "%",
}
FUNCTION_NODES: dict[type[exp.Expr], str] = {
    exp.Year: "year",
    exp.Month: "month",
    exp.Day: "day",
    exp.Floor: "floor",
    exp.Ceil: "ceil",
    exp.Round: "round",
    exp.Abs: "abs",
    exp.Coalesce: "coalesce",
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Length: "length",
}
AGGREGATE_NODES: dict[type[exp.Expr], m.AggregateKind] = {
    exp.Sum: m.AggregateKind.sum,
    exp.Avg: m.AggregateKind.mean,
    exp.Median: m.AggregateKind.median,
    exp.Stddev: m.AggregateKind.std,
    exp.StddevSamp: m.AggregateKind.std,
    exp.Variance: m.AggregateKind.var,
    exp.Min: m.AggregateKind.min,
    exp.Max: m.AggregateKind.max,
}
ANONYMOUS_AGGREGATES = {"mean": m.AggregateKind.mean}
CAST_TYPES: dict[object, str] = {
    **dict.fromkeys(
        (
            exp.DataType.Type.INT,
            exp.DataType.Type.BIGINT,
            exp.DataType.Type.SMALLINT,
            exp.DataType.Type.TINYINT,
        ),
        "integer",
    ),
    **dict.fromkeys(
        (
            exp.DataType.Type.DOUBLE,
            exp.DataType.Type.FLOAT,
            exp.DataType.Type.DECIMAL,
        ),
        "double",
    ),
    **dict.fromkeys(
        (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.CHAR),
        "string",
    ),
    exp.DataType.Type.DATE: "date",
    exp.DataType.Type.BOOLEAN: "boolean",
}


def parse(sql: str, tables: Mapping[str, TableSpec]) -> m.Analysis:
    """Read one query against the workspace ``tables``; raise :class:`QueryRefused`."""
    statement = _one_statement(sql)
    scope = _Scope.of(statement, tables)
    return scope.analysis(statement)


def parse_condition(
    text: str, source: m.Source, tables: Mapping[str, TableSpec]
) -> m.Expr:
    """Read back a canonical filter (``Analysis.canonical_filter``) over ``source``, through
    the same whitelist as a user's WHERE."""
    try:
        node = sqlglot.parse_one(text, read=DIALECT, into=exp.Condition)
    except (ParseError, TokenError) as error:
        raise QueryRefused(
            [f"the filter could not be read ({_first_line(error)})"]
        ) from None
    specs = {t.alias: _lookup(tables, t.table) for t in source.tables}
    scope = _Scope(tables=tables, refs={a.lower(): (a, s) for a, s in specs.items()})
    scope.source = source
    try:
        return scope.condition(node)
    except _Refuse as refusal:
        raise QueryRefused([str(refusal)]) from None


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _one_statement(sql: str) -> exp.Select:
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except (ParseError, TokenError) as error:
        raise QueryRefused(
            [f"the SQL could not be read ({_first_line(error)})"]
        ) from None
    if len(statements) != 1:
        raise QueryRefused(
            [f"exactly one statement is allowed, found {len(statements)}"]
        )
    statement = statements[0]
    if isinstance(statement, exp.Select):
        return statement
    if isinstance(statement, exp.Command):
        name = str(statement.this).upper()
    else:
        name = STATEMENT_NAMES.get(type(statement), type(statement).__name__.upper())
    raise QueryRefused([f"only a SELECT is allowed, not {name}"])


def _lookup(tables: Mapping[str, TableSpec], name: str) -> TableSpec:
    for key, spec in tables.items():
        if key.lower() == name.lower():
            return spec
    raise KeyError(name)


@dataclass
class _Scope:
    """The tables a query reads, by the alias the user gave them."""

    tables: Mapping[str, TableSpec]
    refs: dict[str, tuple[str, TableSpec]] = field(default_factory=dict)
    """User alias (lower case) → (canonical alias, spec)."""
    source: m.Source | None = None
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, select: exp.Select, tables: Mapping[str, TableSpec]) -> _Scope:
        scope = cls(tables=tables)
        scope.reasons += _forbidden_clauses(select)
        scope.source = scope._source(select)
        if scope.reasons:
            raise QueryRefused(scope.reasons)
        return scope

    # --- source ------------------------------------------------------------------------

    def _source(self, select: exp.Select) -> m.Source | None:
        from_ = select.args.get("from_")
        if from_ is None:
            self.reasons.append("a FROM naming a workspace table is required")
            return None
        base = self._table(from_.this)
        joins: list[m.Join] = []
        for node in select.args.get("joins") or []:
            join = self._join(node)
            if join is not None:
                joins.append(join)
        if base is None or self.reasons:
            return None
        return m.Source(base, tuple(joins))

    def _table(self, node: exp.Expr) -> m.TableRef | None:
        try:
            return self._table_or_refuse(node)
        except _Refuse as refusal:
            self.reasons.append(str(refusal))
            return None

    def _table_or_refuse(self, node: exp.Expr) -> m.TableRef:
        if not isinstance(node, exp.Table):
            raise _Refuse(f"{_describe(node)} as a source (only workspace tables)")
        if not isinstance(node.this, exp.Identifier):
            raise _Refuse(f"table function {_function_name(node.this)}")
        name = node.name
        if node.args.get("db") or node.args.get("catalog"):
            schema = node.args["db"].name if node.args.get("db") else ""
            if schema.lower() in SYSTEM_SCHEMAS or name.lower().startswith(
                SYSTEM_PREFIXES
            ):
                raise _Refuse(f"the system catalogue view {node.sql(DIALECT)}")
            raise _Refuse(f"the qualified table name {node.sql(DIALECT)}")
        extras = [k for k, v in node.args.items() if v and k not in ("this", "alias")]
        if extras:
            raise _Refuse(f"table options ({', '.join(sorted(extras))}) on {name}")
        if re.search(r"[./:\\]", name):
            raise _Refuse(f"the file or URL {name!r} as a source")
        if name.lower().startswith(SYSTEM_PREFIXES):
            raise _Refuse(f"the system catalogue view {name}")
        try:
            spec = _lookup(self.tables, name)
        except KeyError:
            known = ", ".join(sorted(self.tables)) or "none"
            raise _Refuse(
                f"unknown table {name!r} (the workspace has: {known})"
            ) from None
        alias_node = node.args.get("alias")
        if alias_node is not None and alias_node.args.get("columns"):
            raise _Refuse(f"renaming the columns of {name} in its alias")
        user_alias = (alias_node.name if alias_node is not None else name).lower()
        if user_alias in self.refs:
            raise _Refuse(f"the table alias {user_alias!r} is used twice")
        taken = {canonical for canonical, _ in self.refs.values()}
        canonical, k = spec.name, 1
        while canonical in taken:
            k += 1
            canonical = f"{spec.name}_{k}"
        self.refs[user_alias] = (canonical, spec)
        return m.TableRef(spec.name, canonical)

    def _join(self, node: exp.Join) -> m.Join | None:
        side = (node.args.get("side") or "").upper()
        kind = (node.args.get("kind") or "").upper()
        method = (node.args.get("method") or "").upper()
        if method:
            self.reasons.append(f"{method} JOIN")
            return None
        if kind == "CROSS":
            self.reasons.append(
                "CROSS JOIN (joins must be equi-joins on declared keys)"
            )
            return None
        if side not in ("", "LEFT") or kind not in ("", "INNER", "OUTER"):
            self.reasons.append(f"{' '.join(p for p in (side, kind) if p)} JOIN")
            return None
        if node.args.get("using"):
            self.reasons.append("JOIN … USING (write ON a.key = b.key)")
            return None
        on = node.args.get("on")
        if on is None:
            self.reasons.append(
                "a join without ON (comma or implicit cross join); join ON declared keys"
            )
            return None
        before = set(self.refs)
        table = self._table(node.this)
        if table is None:
            return None
        try:
            pairs = self._join_keys(on, table, before)
        except _Refuse as refusal:
            self.reasons.append(str(refusal))
            return None
        return m.Join(table, "left" if side == "LEFT" else "inner", pairs)

    def _join_keys(
        self, on: exp.Expr, table: m.TableRef, before: set[str]
    ) -> tuple[tuple[m.Column, m.Column], ...]:
        equalities = list(on.flatten()) if isinstance(on, exp.And) else [on]
        pairs = []
        for equality in equalities:
            if not isinstance(equality, exp.EQ):
                raise _Refuse(
                    f"the join condition {equality.sql(DIALECT)} (only equalities of keys)"
                )
            a, b = (
                self._key(side, equality)
                for side in (equality.this, equality.expression)
            )
            earlier_aliases = {self.refs[u][0] for u in before}
            if a.table == table.alias and b.table in earlier_aliases:
                a, b = b, a
            if not (b.table == table.alias and a.table in earlier_aliases):
                raise _Refuse(
                    f"the join condition {equality.sql(DIALECT)} (it must compare "
                    f"{table.table} to a table joined before it)"
                )
            pairs.append((a, b))
        return tuple(pairs)

    def _key(self, node: exp.Expr, equality: exp.Expr) -> m.Column:
        if not isinstance(node, exp.Column):
            raise _Refuse(
                f"the join condition {equality.sql(DIALECT)} (only key columns)"
            )
        column = self.column(node)
        spec = self.spec_of(column.table)
        if column.name not in spec.join_keys:
            keys = ", ".join(spec.join_keys) or "none"
            raise _Refuse(
                f"joining on {spec.name}.{column.name}, which is not a declared join key "
                f"(keys of {spec.name}: {keys})"
            )
        return column

    def spec_of(self, canonical: str) -> TableSpec:
        for alias, spec in self.refs.values():
            if alias == canonical:
                return spec
        raise KeyError(canonical)

    # --- columns and expressions -------------------------------------------------------

    def column(self, node: exp.Column) -> m.Column:
        if node.args.get("db") or node.args.get("catalog"):
            raise _Refuse(f"the qualified column {node.sql(DIALECT)}")
        name = node.name
        if isinstance(node.this, exp.Star):
            raise _Refuse(
                f"{node.sql(DIALECT)} (record-level: name aggregates instead)"
            )
        if node.table:
            ref = self.refs.get(node.table.lower())
            if ref is None:
                raise _Refuse(
                    f"unknown table or alias {node.table!r} in {node.sql(DIALECT)}"
                )
            found = [c.name for c in ref[1].columns if c.name.lower() == name.lower()]
            if not found:
                raise _Refuse(f"unknown column {node.sql(DIALECT)}")
            return m.Column(ref[0], found[0])
        matches = [
            m.Column(alias, c.name)
            for alias, spec in self.refs.values()
            for c in spec.columns
            if c.name.lower() == name.lower()
        ]
        if not matches:
            raise _Refuse(f"unknown column {name!r}")
        if len(matches) > 1:
            raise _Refuse(f"the column {name!r} is ambiguous: prefix it with its table")
        return matches[0]

    def identifying(self, column: m.Column) -> bool:
        return self.spec_of(column.table).column(column.name).identifying

    def condition(self, node: exp.Expr) -> m.Expr:
        expr = self.scalar(node)
        for column in _outside_is_null(expr):
            if self.identifying(column):
                raise _Refuse(
                    f"filtering on the identifier column {column.table}.{column.name} "
                    "(only IS NULL / IS NOT NULL)"
                )
        return expr

    def scalar(self, node: exp.Expr) -> m.Expr:  # noqa: C901 - one branch per node
        handler = _SCALAR_HANDLERS.get(type(node))
        if handler is not None:
            return handler(self, node)
        if isinstance(node, exp.Func) and _is_aggregate(node):
            raise _Refuse(
                f"the aggregate {node.sql(DIALECT)} inside an expression or filter"
            )
        if isinstance(node, (exp.Subquery, exp.Select, exp.Exists)):
            raise _Refuse("subqueries")
        if isinstance(node, exp.Window):
            raise _Refuse("window functions (OVER)")
        if isinstance(node, (exp.Placeholder, exp.Parameter)):
            raise _Refuse(f"the parameter {node.sql(DIALECT)}")
        if isinstance(node, exp.Func):
            raise _Refuse(f"the function {_function_name(node)} is not allowed")
        raise _Refuse(f"{_describe(node)} is not supported")

    def literal(self, node: exp.Expr) -> m.Literal:
        expr = self.scalar(node)
        if isinstance(expr, m.Negate) and isinstance(expr.operand, m.Literal):
            value = expr.operand.value
            if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                return m.Literal(-value)
        if not isinstance(expr, m.Literal):
            raise _Refuse(f"{node.sql(DIALECT)} where a literal value is expected")
        return expr

    # --- the SELECT --------------------------------------------------------------------

    def analysis(self, select: exp.Select) -> m.Analysis:
        assert self.source is not None
        where = (
            self._collect(lambda: self.condition(select.args["where"].this))
            if select.args.get("where")
            else None
        )
        items = [self._item(node) for node in select.expressions]
        groups_by = self._group_by(select, items)
        self._check_groups(items, groups_by)
        names = _aliases(items, self.reasons)
        order = self._order(select, items, names)
        if self.reasons:
            raise QueryRefused(self.reasons)
        groups = tuple(
            m.Group(item.expr, name)
            for item, name in zip(items, names, strict=True)
            if isinstance(item, _GroupItem)
        )
        aggregates = tuple(
            m.Aggregate(item.kind, item.argument, name)
            for item, name in zip(items, names, strict=True)
            if isinstance(item, _AggregateItem)
        )
        if not aggregates:
            raise QueryRefused(
                ["a result needs at least one aggregate, such as COUNT(*)"]
            )
        specs = tuple(self.spec_of(t.alias) for t in self.source.tables)
        return m.Analysis(
            source=self.source,
            specs=specs,
            filter=where,
            groups=groups,
            aggregates=aggregates,
            columns=tuple(names),
            order=order,
        )

    def _collect(self, make: Callable[[], m.Expr]) -> m.Expr | None:
        try:
            return make()
        except _Refuse as refusal:
            self.reasons.append(str(refusal))
            return None

    def _item(self, node: exp.Expr) -> _Item:
        alias = node.alias if isinstance(node, exp.Alias) else None
        body = node.this if isinstance(node, exp.Alias) else node
        try:
            if isinstance(body, exp.Star):
                raise _Refuse("SELECT * (record-level: name aggregates instead)")
            if isinstance(body, exp.Func) and _is_aggregate(body):
                return self._aggregate(body, alias)
            expr = self.scalar(body)
            for column in m.columns_of(expr):
                if self.identifying(column):
                    raise _Refuse(_grouping_identifier(column))
            return _GroupItem(body, expr, alias)
        except _Refuse as refusal:
            self.reasons.append(str(refusal))
            return _BadItem(body, alias)

    def _aggregate(self, node: exp.Func, alias: str | None) -> _AggregateItem:
        if isinstance(node, exp.Count):
            argument_node = node.this
            if node.expressions:
                raise _Refuse(f"{node.sql(DIALECT)} of more than one expression")
            if isinstance(argument_node, exp.Star):
                return _AggregateItem(node, m.AggregateKind.count, None, alias)
            kind = m.AggregateKind.count
            if isinstance(argument_node, exp.Distinct):
                if len(argument_node.expressions) != 1:
                    raise _Refuse("COUNT(DISTINCT …) of more than one expression")
                argument_node = argument_node.expressions[0]
                kind = m.AggregateKind.count_distinct
        elif isinstance(node, exp.Anonymous):
            kind = ANONYMOUS_AGGREGATES[node.name.lower()]
            if len(node.expressions) != 1:
                raise _Refuse(f"{node.name.upper()} takes one argument")
            argument_node = node.expressions[0]
        elif type(node) in AGGREGATE_NODES:
            kind = AGGREGATE_NODES[type(node)]
            extras = [k for k, v in node.args.items() if v and k != "this"]
            if extras:
                raise _Refuse(f"extra arguments to {node.sql(DIALECT)}")
            argument_node = node.this
        else:
            raise _Refuse(
                f"the aggregate function {_function_name(node)} is not allowed"
            )
        if argument_node is None or isinstance(argument_node, exp.Star):
            raise _Refuse(f"{node.sql(DIALECT)} needs a column")
        if isinstance(argument_node, exp.Distinct):
            raise _Refuse(
                f"DISTINCT inside {node.sql(DIALECT)} (only COUNT(DISTINCT x))"
            )
        argument = self.scalar(argument_node)
        if kind is not m.AggregateKind.count_distinct:
            for column in m.columns_of(argument):
                if self.identifying(column):
                    raise _Refuse(
                        f"aggregating the identifier column {column.table}.{column.name} "
                        "(only COUNT(DISTINCT …) may use it)"
                    )
        return _AggregateItem(node, kind, argument, alias)

    def _group_by(self, select: exp.Select, items: list[_Item]) -> list[m.Expr]:
        group = select.args.get("group")
        if group is None:
            return []
        extras = [
            k for k, v in group.args.items() if v and k not in ("expressions", "all")
        ]
        if extras:
            self.reasons.append(
                f"GROUP BY {', '.join(e.upper() for e in sorted(extras))}"
            )
            return []
        if group.args.get("all"):
            return [i.expr for i in items if isinstance(i, _GroupItem)]
        result: list[m.Expr] = []
        for node in group.expressions:
            try:
                result.append(self._group_key(node, items))
            except _Refuse as refusal:
                self.reasons.append(str(refusal))
        return result

    def _group_key(self, node: exp.Expr, items: list[_Item]) -> m.Expr:
        target = _select_target(node, items)
        if isinstance(target, _AggregateItem):
            raise _Refuse(f"GROUP BY {node.sql(DIALECT)}, an aggregate")
        if isinstance(target, (_GroupItem, _BadItem)):
            return target.expr if isinstance(target, _GroupItem) else m.Literal(None)
        expr = self.scalar(node)
        for column in m.columns_of(expr):
            if self.identifying(column):
                raise _Refuse(_grouping_identifier(column))
        return expr

    def _check_groups(self, items: list[_Item], groups_by: list[m.Expr]) -> None:
        for item in items:
            if isinstance(item, _GroupItem) and item.expr not in groups_by:
                self.reasons.append(
                    f"{item.node.sql(DIALECT)} is neither aggregated nor in GROUP BY "
                    "(record-level results are refused)"
                )
        selected = [i.expr for i in items if isinstance(i, _GroupItem)]
        for expr in groups_by:
            if expr not in selected and not self.reasons:
                self.reasons.append(
                    "every GROUP BY expression must also be selected, so that each "
                    "row of the result says which group it is"
                )
                return

    def _order(
        self, select: exp.Select, items: list[_Item], names: list[str]
    ) -> tuple[m.OrderItem, ...]:
        order = select.args.get("order")
        if order is None:
            return ()
        result = []
        for node in order.expressions:
            ordered = node if isinstance(node, exp.Ordered) else exp.Ordered(this=node)
            try:
                target = _select_target(ordered.this, items)
            except _Refuse as refusal:
                self.reasons.append(str(refusal))
                continue
            if target is None:
                try:
                    expr = self.scalar(ordered.this)
                except _Refuse:
                    expr = None
                target = next(
                    (i for i in items if isinstance(i, _GroupItem) and i.expr == expr),
                    None,
                )
                if target is None:
                    target = next(
                        (
                            i
                            for i in items
                            if isinstance(i, _AggregateItem) and i.node == ordered.this
                        ),
                        None,
                    )
            if target is None:
                self.reasons.append(
                    f"ORDER BY {ordered.this.sql(DIALECT)} (only result columns)"
                )
                continue
            name = names[items.index(target)]
            result.append(
                m.OrderItem(
                    name,
                    descending=bool(ordered.args.get("desc")),
                    nulls_first=bool(ordered.args.get("nulls_first")),
                )
            )
        return tuple(result)


@dataclass(frozen=True)
class _GroupItem:
    node: exp.Expr
    expr: m.Expr
    alias: str | None


@dataclass(frozen=True)
class _AggregateItem:
    node: exp.Expr
    kind: m.AggregateKind
    argument: m.Expr | None
    alias: str | None


@dataclass(frozen=True)
class _BadItem:
    node: exp.Expr
    alias: str | None


_Item = _GroupItem | _AggregateItem | _BadItem


def _select_target(node: exp.Expr, items: list[_Item]) -> _Item | None:
    """The select item a GROUP BY or ORDER BY names by ordinal or alias, if any."""
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        index = int(node.this) - 1
        if not 0 <= index < len(items):
            raise _Refuse(f"position {node.this} is not a result column")
        return items[index]
    if isinstance(node, exp.Column) and not node.table:
        for item in items:
            if item.alias is not None and item.alias.lower() == node.name.lower():
                return item
    return None


def _aliases(items: list[_Item], reasons: list[str]) -> list[str]:
    names: list[str] = []
    taken: set[str] = set()
    for item in items:
        if item.alias is not None:
            name = item.alias
            if name.startswith(m.RESERVED_PREFIX):
                reasons.append(
                    f"the result name {name!r} (names starting with __ are reserved)"
                )
            if name.lower() in taken:
                reasons.append(f"two result columns are named {name!r}")
        else:
            base = _default_alias(item)
            name, k = base, 1
            while name.lower() in taken:
                k += 1
                name = f"{base}_{k}"
        taken.add(name.lower())
        names.append(name)
    return names


def _default_alias(item: _Item) -> str:
    if isinstance(item, _AggregateItem):
        if item.argument is None:
            return "count"
        column = next(m.columns_of(item.argument), None)
        return f"{item.kind.value}_{column.name}" if column else item.kind.value
    if isinstance(item, _GroupItem):
        if isinstance(item.expr, m.Column):
            return item.expr.name
        column = next(m.columns_of(item.expr), None)
        prefix = item.expr.name if isinstance(item.expr, m.Function) else "expr"
        return f"{prefix}_{column.name}" if column else prefix
    return "column"


def _grouping_identifier(column: m.Column) -> str:
    return (
        f"grouping by or returning the identifier column {column.table}.{column.name} "
        "(record-level)"
    )


def _outside_is_null(expr: m.Expr) -> Iterator[m.Column]:
    """The columns of ``expr`` other than those tested directly by IS [NOT] NULL."""
    if isinstance(expr, m.IsNull) and isinstance(expr.operand, m.Column):
        return
    if isinstance(expr, m.Column):
        yield expr
        return
    for child in expr.children():
        yield from _outside_is_null(child)


def _is_aggregate(node: exp.Func) -> bool:
    if isinstance(node, exp.Anonymous):
        return node.name.lower() in ANONYMOUS_AGGREGATES
    return isinstance(node, (exp.AggFunc, exp.Count)) or type(node) in AGGREGATE_NODES


def _function_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name)
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return _describe(node)


def _describe(node: exp.Expr) -> str:
    text = node.sql(DIALECT)
    return text if len(text) <= 60 else text[:57] + "…"


def _forbidden_clauses(select: exp.Select) -> list[str]:
    reasons = []
    for key, name in SELECT_CLAUSES.items():
        value = select.args.get(key)
        if value:
            if key == "with_" and value.args.get("recursive"):
                name = "WITH RECURSIVE (common table expressions)"
            reasons.append(name)
    for node in select.walk():
        if node is select:
            continue
        if isinstance(node, exp.Window):
            reasons.append("window functions (OVER)")
        elif isinstance(node, (exp.Select, exp.Subquery)):
            reasons.append("subqueries")
        elif isinstance(node, (exp.Union, exp.Intersect, exp.Except)):
            reasons.append(STATEMENT_NAMES[type(node)])
        elif isinstance(node, exp.Filter):
            reasons.append("FILTER (WHERE …) on an aggregate (use WHERE)")
    return list(dict.fromkeys(reasons))


# --- scalar node handlers ----------------------------------------------------------------


def _number(text: str) -> int | Decimal:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return Decimal(text)
    except InvalidOperation:
        raise _Refuse(f"the number {text!r}") from None


def _literal(_: _Scope, node: exp.Expr) -> m.Expr:
    assert isinstance(node, exp.Literal)
    return m.Literal(str(node.this) if node.is_string else _number(str(node.this)))


def _boolean(_: _Scope, node: exp.Expr) -> m.Expr:
    return m.Literal(bool(node.this))


def _null(_: _Scope, __: exp.Expr) -> m.Expr:
    return m.Literal(None)


def _column(scope: _Scope, node: exp.Expr) -> m.Expr:
    assert isinstance(node, exp.Column)
    return scope.column(node)


def _paren(scope: _Scope, node: exp.Expr) -> m.Expr:
    return scope.scalar(node.this)


def _compare(scope: _Scope, node: exp.Expr) -> m.Expr:
    return m.Compare(
        COMPARE_OPS[type(node)], scope.scalar(node.this), scope.scalar(node.expression)
    )


def _arithmetic(scope: _Scope, node: exp.Expr) -> m.Expr:
    return m.Arithmetic(
        ARITHMETIC_OPS[type(node)],
        scope.scalar(node.this),
        scope.scalar(node.expression),
    )


def _logical(scope: _Scope, node: exp.Expr) -> m.Expr:
    assert isinstance(node, exp.Connector)
    op: str = "and" if isinstance(node, exp.And) else "or"
    operands = tuple(scope.scalar(part) for part in node.flatten())
    return m.Logical("and" if op == "and" else "or", operands)


def _not(scope: _Scope, node: exp.Expr) -> m.Expr:
    return m.Not(scope.scalar(node.this))


def _negate(scope: _Scope, node: exp.Expr) -> m.Expr:
    return m.Negate(scope.scalar(node.this))


def _is(scope: _Scope, node: exp.Expr) -> m.Expr:
    if not isinstance(node.expression, exp.Null):
        raise _Refuse(f"{node.sql(DIALECT)} (only IS NULL and IS NOT NULL)")
    return m.IsNull(scope.scalar(node.this))


def _in(scope: _Scope, node: exp.Expr) -> m.Expr:
    if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
        raise _Refuse("IN with a subquery or list value (only a list of literals)")
    values = tuple(scope.literal(v) for v in node.expressions)
    if not values:
        raise _Refuse("an empty IN list")
    return m.InList(scope.scalar(node.this), values)


def _between(scope: _Scope, node: exp.Expr) -> m.Expr:
    if node.args.get("symmetric"):
        raise _Refuse("BETWEEN SYMMETRIC")
    return m.Between(
        scope.scalar(node.this),
        scope.scalar(node.args["low"]),
        scope.scalar(node.args["high"]),
    )


def _like(scope: _Scope, node: exp.Expr) -> m.Expr:
    if node.args.get("escape"):
        raise _Refuse("LIKE … ESCAPE")
    return m.Like(scope.scalar(node.this), scope.scalar(node.expression))


def _function(scope: _Scope, node: exp.Expr) -> m.Expr:
    name = FUNCTION_NODES[type(node)]
    args = [node.this]
    if isinstance(node, exp.Round):
        extras = [
            k for k, v in node.args.items() if v and k not in ("this", "decimals")
        ]
        if extras:
            raise _Refuse(f"extra arguments to {node.sql(DIALECT)}")
        if node.args.get("decimals") is not None:
            args.append(node.args["decimals"])
    elif isinstance(node, exp.Coalesce):
        args += list(node.expressions)
    else:
        extras = [k for k, v in node.args.items() if v and k != "this"]
        if extras:
            raise _Refuse(f"extra arguments to {node.sql(DIALECT)}")
    try:
        return m.Function(name, tuple(scope.scalar(a) for a in args))
    except ValueError as error:
        raise _Refuse(str(error)) from None


def _cast(scope: _Scope, node: exp.Expr) -> m.Expr:
    assert isinstance(node, exp.Cast)
    to = CAST_TYPES.get(node.to.this)
    if to is None or node.args.get("format"):
        raise _Refuse(f"CAST to {node.to.sql(DIALECT)}")
    return m.Cast(scope.scalar(node.this), to)


def _case(scope: _Scope, node: exp.Expr) -> m.Expr:
    if node.this is not None:
        raise _Refuse("CASE x WHEN … (write CASE WHEN x = … THEN …)")
    whens = tuple(
        (scope.condition(branch.this), scope.literal(branch.args["true"]))
        for branch in node.args.get("ifs") or []
    )
    default = node.args.get("default")
    return m.Case(whens, scope.literal(default) if default is not None else None)


_SCALAR_HANDLERS: dict[type[exp.Expr], Callable[[_Scope, exp.Expr], m.Expr]] = {
    exp.Literal: _literal,
    exp.Boolean: _boolean,
    exp.Null: _null,
    exp.Column: _column,
    exp.Paren: _paren,
    **dict.fromkeys(COMPARE_OPS, _compare),
    **dict.fromkeys(ARITHMETIC_OPS, _arithmetic),
    exp.And: _logical,
    exp.Or: _logical,
    exp.Not: _not,
    exp.Neg: _negate,
    exp.Is: _is,
    exp.In: _in,
    exp.Between: _between,
    exp.Like: _like,
    **dict.fromkeys(FUNCTION_NODES, _function),
    exp.Cast: _cast,
    exp.Case: _case,
}
