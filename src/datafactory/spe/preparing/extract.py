"""One dataset of a permit, from the holder's source to a workspace table.

:func:`plan` checks what the permit names against the catalogue (a published data
dictionary, a registered source, each permitted variable in both) before a byte is read.
:func:`extract` reads only the permitted variables (and the person's identifier) and types
them as the dictionary says. Then one of the two forms: :func:`pseudonymise` replaces the
identifier by the permit domain's pseudonym (``pseudonym``); for the aggregated form,
:func:`plan_tables` checks the aggregate tables the permit names and
:func:`aggregate_named` makes each (people per combination of its group variables, sums and
means of its measures), while :func:`aggregate` keeps the one count table per dataset of
permits that name no table; the disclosure rules apply to every cell.

Every problem found is collected, not raised at once, so that one report names all of
them; the caller decides that the preparation fails.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy.orm import Session

from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import Variable, VariableType, pick
from datafactory.catalogue.service import metadata_of
from datafactory.catalogue.sources import (
    DataSource,
    SourceAccess,
    read_source,
    source_columns,
    source_of,
)
from datafactory.core.errors import DatafactoryError
from datafactory.identity.actor import Actor
from datafactory.permits.schemas import TABLE_NAME
from datafactory.privacy import matricule
from datafactory.privacy.sdc import (
    CellInput,
    DisclosureRules,
    Reason,
    Statistic,
    check_cells,
)
from datafactory.spe.arrow import arrow_type
from datafactory.spe.preparing.report import Check, Outcome, TableReport
from datafactory.spe.tables import UNIT_COLUMN, ColumnSpec, TableSpec
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.files import pseudonymise_file
from datafactory.ttp.keyring import DomainKeys

PEOPLE = "people"
ROWS = "rows"
SUPPRESSED = "suppressed"
_GROUPABLE = (VariableType.code, VariableType.boolean, VariableType.integer)
_NUMERIC = (VariableType.integer, VariableType.decimal)


@dataclass
class Planned:
    """One dataset of the permit, checked against the catalogue."""

    dataset_id: str
    variables: tuple[str, ...]
    """The permitted variables, in the permit's order."""
    source: DataSource
    dictionary: dict[str, Variable]
    label: str

    @property
    def table(self) -> str:
        return self.source.table_name

    @property
    def person(self) -> str | None:
        return self.source.person_column


@dataclass
class Findings:
    """What the preparation found so far: checks that ran, and problems that stop it."""

    checks: list[Check] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def passed(self, name: str, detail: str = "", table: str | None = None) -> None:
        self.checks.append(Check(name, Outcome.passed, detail, table))

    def warn(self, name: str, detail: str, table: str | None = None) -> None:
        self.checks.append(Check(name, Outcome.warning, detail, table))

    def fail(self, name: str, detail: str, table: str | None = None) -> None:
        self.checks.append(Check(name, Outcome.failed, detail, table))
        self.errors.append(detail)


# --- plan -------------------------------------------------------------------------------


def plan(session: Session, scope: dict[str, Any], findings: Findings) -> list[Planned]:
    planned: list[Planned] = []
    for item in scope.get("datasets") or []:
        found = _plan_one(session, str(item.get("id")), item, findings)
        if found is not None:
            planned.append(found)
    tables = Counter(p.table for p in planned)
    for name, times in tables.items():
        if times > 1:
            findings.fail(
                "table names",
                f"{times} datasets of the permit become the workspace table {name}; "
                "register distinct table names.",
            )
    if not scope.get("datasets"):
        findings.fail("scope", "The permit names no dataset.")
    return planned


def _plan_one(
    session: Session, dataset_id: str, item: dict[str, Any], findings: Findings
) -> Planned | None:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or dataset.version == 0:
        findings.fail(
            "data dictionary",
            f"Dataset {dataset_id} has no published data dictionary.",
        )
        return None
    metadata = metadata_of(session, dataset)
    label = pick(metadata.title, "en") or dataset_id
    source = source_of(session, dataset_id)
    if source is None:
        findings.fail(
            "source registered",
            f"No source is registered for dataset {dataset_id} ({label}): a data "
            "steward of its publisher registers where its data lives.",
        )
        return None
    findings.passed("source registered", f"dataset {dataset_id}", source.table_name)
    dictionary = {v.name: v for v in metadata.variables}
    variables = tuple(dict.fromkeys(str(v) for v in item.get("variables") or []))
    unknown = [v for v in variables if v not in dictionary]
    if not variables:
        findings.fail(
            "permitted variables",
            f"The permit names no variable of dataset {dataset_id} ({label}).",
            source.table_name,
        )
        return None
    if unknown:
        findings.fail(
            "permitted variables",
            f"Dataset {dataset_id} ({label}): the data dictionary has no variable "
            f"{', '.join(unknown)}.",
            source.table_name,
        )
        return None
    if source.person_column and source.person_column not in dictionary:
        findings.fail(
            "person column",
            f"Dataset {dataset_id} ({label}): the person column "
            f"{source.person_column} is not in the data dictionary.",
            source.table_name,
        )
        return None
    return Planned(dataset_id, variables, source, dictionary, label)


# --- extract ----------------------------------------------------------------------------


def extract(
    planned: Planned, access: SourceAccess, findings: Findings, *, with_person: bool
) -> pa.Table | None:
    """The permitted variables (and the person column when ``with_person``), typed as
    the dictionary says; identifiers stay text. None when something is missing."""
    wanted = list(planned.variables)
    if with_person and planned.person and planned.person not in wanted:
        wanted.append(planned.person)
    try:
        present = set(source_columns(planned.source, access))
    except DatafactoryError as exc:
        findings.fail("source readable", exc.detail, planned.table)
        return None
    missing = [v for v in wanted if v not in present]
    if missing:
        findings.fail(
            "permitted variables",
            f"The source of dataset {planned.dataset_id} ({planned.label}) has no "
            f"column {', '.join(missing)}.",
            planned.table,
        )
        return None
    try:
        data = read_source(planned.source, access, wanted)
    except DatafactoryError as exc:
        findings.fail("source readable", exc.detail, planned.table)
        return None
    findings.passed(
        "permitted variables",
        f"{len(planned.variables)} variable(s) read from the source",
        planned.table,
    )
    return _typed(planned, data, findings)


def _typed(planned: Planned, data: pa.Table, findings: Findings) -> pa.Table | None:
    columns = []
    for name in data.column_names:
        variable = planned.dictionary[name]
        identifying = name == planned.person or _identifying(variable)
        kind = "string" if identifying else variable.type.value
        try:
            columns.append(_cast(data.column(name), kind))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            # Arrow's message quotes the offending value: never shown.
            findings.fail(
                "types",
                f"Column {name} of dataset {planned.dataset_id} cannot be read as "
                f"{kind}, the type its data dictionary gives.",
                planned.table,
            )
            return None
    findings.passed("types", "every column has its dictionary type", planned.table)
    return pa.table(dict(zip(data.column_names, columns, strict=True)))


def _identifying(variable: Variable) -> bool:
    return variable.sensitivity.value == "direct_identifier"


def _cast(column: pa.ChunkedArray, kind: str) -> pa.ChunkedArray:
    target = arrow_type(kind)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        trimmed = pc.utf8_trim_whitespace(column)
        # An empty CSV cell is a missing value, whatever the column's type.
        column = pc.if_else(
            pc.equal(trimmed, ""), pa.scalar(None, column.type), trimmed
        )
        if kind == "boolean":
            column = pc.utf8_lower(column)
    if column.type.equals(target):
        return column
    return pc.cast(column, target)


def _value_checks(
    planned: Planned, data: pa.Table, findings: Findings, columns: Sequence[str]
) -> None:
    """Values outside the dictionary's code list or range: worth knowing, not fatal
    (the dummy data follows the dictionary, the analysis the data)."""
    for name in columns:
        variable = planned.dictionary[name]
        column = data.column(name)
        if variable.type is VariableType.code and variable.code_list:
            codes = pa.array([c.code for c in variable.code_list], pa.string())
            outside = pc.sum(
                pc.invert(pc.fill_null(pc.is_in(column, value_set=codes), True))
            ).as_py()
            if outside:
                findings.warn(
                    "code list",
                    f"{outside} value(s) of {name} are not in its code list.",
                    planned.table,
                )
        low, high = variable.minimum, variable.maximum
        if variable.type in (VariableType.integer, VariableType.decimal) and (
            low is not None or high is not None
        ):
            outside = 0
            if low is not None:
                outside += pc.sum(pc.fill_null(pc.less(column, low), False)).as_py()
            if high is not None:
                outside += pc.sum(pc.fill_null(pc.greater(column, high), False)).as_py()
            if outside:
                findings.warn(
                    "range",
                    f"{outside} value(s) of {name} lie outside its declared range.",
                    planned.table,
                )


def column_spec(variable: Variable, name: str | None = None) -> ColumnSpec:
    return ColumnSpec(
        name=name or variable.name,
        type=variable.type.value,
        sensitivity=variable.sensitivity.value,
        label=pick(variable.label, "en"),
        codes=tuple(c.code for c in variable.code_list),
        minimum=variable.minimum,
        maximum=variable.maximum,
        null_rate=variable.null_rate,
    )


# --- identifiers ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Identifiers:
    keep: Any
    """A boolean mask: rows whose identifier is valid or missing."""
    invalid: int
    reasons: dict[str, int]
    missing: int


def _check_identifiers(column: pa.ChunkedArray) -> _Identifiers:
    keep: list[bool] = []
    reasons: Counter[str] = Counter()
    missing = 0
    for raw in column.to_pylist():
        if raw is None:
            missing += 1
            keep.append(True)
            continue
        problem = matricule.check(raw)
        if problem is not None:
            reasons[problem.value] += 1
        keep.append(problem is None)
    return _Identifiers(
        pa.array(keep, pa.bool_()),
        sum(reasons.values()),
        dict(sorted(reasons.items())),
        missing,
    )


# --- the pseudonymised form -------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    spec: TableSpec
    data: pa.Table
    report: TableReport


def pseudonymise(
    session: Session,
    actor: Actor,
    ttp: TtpConfig,
    *,
    domain: DomainKeys,
    planned: Planned,
    data: pa.Table,
    findings: Findings,
    workspace: str,
) -> Prepared | None:
    """The permitted variables with the person's identifier replaced by the pseudonym
    the TTP's file pseudonymisation gives in the permit's domain (``ttp.files``)."""
    source_rows = data.num_rows
    person = planned.person if planned.person in planned.variables else None
    if UNIT_COLUMN in planned.variables and person != UNIT_COLUMN:
        findings.fail(
            "person column",
            f"Dataset {planned.dataset_id} has a variable named {UNIT_COLUMN} that is "
            "not its person column; the workspace reserves that name.",
            planned.table,
        )
        return None
    checked = None
    if person is not None:
        checked = _check_identifiers(data.column(person))
        data = data.filter(checked.keep)
        data = _pseudonymised_by_ttp(
            session, actor, ttp, domain.domain, planned, data, person, workspace
        )
        data = data.rename_columns(
            [UNIT_COLUMN if n == person else n for n in data.column_names]
        )
        if checked.invalid:
            findings.warn(
                "identifiers",
                f"{checked.invalid} row(s) dropped: their identifier is not a valid "
                "matricule.",
                planned.table,
            )
        else:
            findings.passed("identifiers", "every identifier is valid", planned.table)
    others = [
        v
        for v in planned.variables
        if v != person and _identifying(planned.dictionary[v])
    ]
    for name in others:
        data = data.set_column(
            data.column_names.index(name), name, _keyed(domain, name, data.column(name))
        )
    plain = [v for v in planned.variables if v != person and v not in others]
    _value_checks(planned, data, findings, plain)
    spec, unique, people = _spec(planned, data, person, others)
    return Prepared(
        spec,
        data.select([c.name for c in spec.columns]),
        TableReport(
            name=spec.name,
            dataset_id=planned.dataset_id,
            rows=data.num_rows,
            variables=tuple(c.name for c in spec.columns),
            source_rows=source_rows,
            unit=spec.unit,
            unit_unique=unique,
            people=people,
            invalid_identifiers=checked.invalid if checked else 0,
            invalid_reasons=checked.reasons if checked else {},
            missing_identifiers=checked.missing if checked else 0,
        ),
    )


def _pseudonymised_by_ttp(
    session: Session,
    actor: Actor,
    ttp: TtpConfig,
    domain: str,
    planned: Planned,
    data: pa.Table,
    person: str,
    workspace: str,
) -> pa.Table:
    """Through ``pseudonymise_file``, so that the mapping for re-identification is kept
    and the ledger records the pseudonymisation as for any file the TTP handles. The
    extract waits in a private folder of the TTP's work folder, removed at the end."""
    ttp.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(dir=ttp.work_dir, prefix="prepare-") as private:
        folder = Path(private)
        source, target = folder / "extract.parquet", folder / "pseudonymised.parquet"
        pq.write_table(data, source)
        report = pseudonymise_file(
            session,
            actor,
            ttp,
            domain=domain,
            column=person,
            source=source,
            target=target,
            source_name=f"dataset {planned.dataset_id} ({planned.table})",
            target_name=f"workspace {workspace}, table {planned.table}",
        )
        report.raise_for_invalid()  # the invalid rows were dropped before
        return pq.read_table(target)


def _keyed(domain: DomainKeys, name: str, column: pa.ChunkedArray) -> pa.Array:
    """Another direct identifier (a household number): a keyed pseudonym of the domain,
    scoped to the column's name so it never equals a person's pseudonym. It is not kept
    for re-identification."""
    values = [None if v is None else f"{name}:{v}" for v in column.to_pylist()]
    return domain.pseudonymiser.column(pa.array(values, pa.string()))


def _spec(
    planned: Planned, data: pa.Table, person: str | None, others: list[str]
) -> tuple[TableSpec, bool, int | None]:
    columns = []
    if person is not None:
        columns.append(
            ColumnSpec(
                name=UNIT_COLUMN,
                type="string",
                sensitivity="direct_identifier",
                label="Pseudonym of the person in the permit's domain",
            )
        )
    columns += [
        column_spec(planned.dictionary[v]) for v in planned.variables if v != person
    ]
    unique, people = False, None
    if person is not None:
        pseudonyms = data.column(UNIT_COLUMN)
        people = pc.count_distinct(pseudonyms).as_py()
        unique = pseudonyms.null_count == 0 and people == data.num_rows
    spec = TableSpec(
        name=planned.table,
        columns=tuple(columns),
        unit=UNIT_COLUMN if person is not None else None,
        unit_unique=unique,
        keys=tuple(others),
        label=planned.label,
    )
    return spec, unique, people


# --- the aggregated form ----------------------------------------------------------------


@dataclass(frozen=True)
class NamedTable:
    """An aggregate table the permit names, checked against its dataset's plan."""

    name: str
    dataset_id: str
    group_by: tuple[str, ...]
    measures: tuple[str, ...] = ()


def plan_tables(
    scope: dict[str, Any], planned: Sequence[Planned], findings: Findings
) -> list[NamedTable]:
    """The aggregate tables the permit names, each grouping by permitted, non-identifying
    variables of a permitted dataset; empty for a permit that names none. Checked before
    a byte is read, like the datasets."""
    by_dataset = {p.dataset_id: p for p in planned}
    permitted = {str(d.get("id")) for d in scope.get("datasets") or []}
    tables: list[NamedTable] = []
    for item in scope.get("aggregate_tables") or []:
        table = NamedTable(
            name=str(item.get("name") or ""),
            dataset_id=str(item.get("dataset") or ""),
            group_by=tuple(dict.fromkeys(str(v) for v in item.get("group_by") or [])),
            measures=tuple(dict.fromkeys(str(v) for v in item.get("measures") or [])),
        )
        if _table_problems(
            table, by_dataset.get(table.dataset_id), permitted, findings
        ):
            continue
        tables.append(table)
    names = Counter(t.name for t in tables)
    for name, times in names.items():
        if times > 1:
            findings.fail(
                "aggregate tables", f"The permit names table {name} {times} times."
            )
    return tables


def _table_problems(
    table: NamedTable,
    planned: Planned | None,
    permitted: set[str],
    findings: Findings,
) -> bool:
    """Whether ``table`` cannot be made; says why."""
    if not re.fullmatch(TABLE_NAME, table.name):
        findings.fail(
            "aggregate tables",
            f"The permit names an aggregate table {table.name!r}, which is not a "
            "workspace table name.",
        )
        return True
    if planned is None:
        if table.dataset_id not in permitted:
            findings.fail(
                "aggregate tables",
                f"Table {table.name} counts dataset {table.dataset_id}, which the "
                "permit does not name.",
                table.name,
            )
        return True  # otherwise its dataset failed already, and said why
    problems = []
    if not table.group_by:
        problems.append("it groups by no variable")
    for role, names in (("groups by", table.group_by), ("sums", table.measures)):
        absent = [v for v in names if v not in planned.variables]
        if absent:
            problems.append(f"it {role} {', '.join(absent)}, not permitted")
        identifying = [
            v
            for v in names
            if v in planned.variables
            and (v == planned.person or _identifying(planned.dictionary[v]))
        ]
        if identifying:
            problems.append(f"it {role} the identifier {', '.join(identifying)}")
    amounts = [
        v
        for v in table.measures
        if v in planned.variables and planned.dictionary[v].type not in _NUMERIC
    ]
    if amounts:
        problems.append(f"it sums {', '.join(amounts)}, which are not numbers")
    if problems:
        findings.fail(
            "aggregate tables",
            f"Table {table.name} of dataset {table.dataset_id} cannot be made: "
            f"{'; '.join(problems)}.",
            table.name,
        )
        return True
    findings.passed(
        "aggregate tables",
        f"dataset {table.dataset_id}, by {', '.join(table.group_by)}",
        table.name,
    )
    return False


@dataclass(frozen=True)
class Counted:
    """A dataset's rows ready to count: invalid identifiers dropped, the others
    normalised, so that "1985 0101..." is one person."""

    planned: Planned
    data: pa.Table
    source_rows: int
    checked: _Identifiers | None


def counted(planned: Planned, data: pa.Table) -> Counted:
    source_rows = data.num_rows
    person = planned.person
    if person is None:
        return Counted(planned, data, source_rows, None)
    checked = _check_identifiers(data.column(person))
    data = data.filter(checked.keep)
    data = data.set_column(
        data.column_names.index(person),
        person,
        pa.array(
            [
                None if v is None else matricule.normalise(v)
                for v in data.column(person).to_pylist()
            ],
            pa.string(),
        ),
    )
    return Counted(planned, data, source_rows, checked)


def aggregate(
    planned: Planned, data: pa.Table, rules: DisclosureRules, findings: Findings
) -> Prepared:
    """A permit that names no aggregate table (granted before the form named them):
    people per combination of every groupable permitted category, ``<table>_counts``."""
    person = planned.person
    groups = [
        v
        for v in planned.variables
        if v != person
        and not _identifying(planned.dictionary[v])
        and planned.dictionary[v].type in _GROUPABLE
    ]
    left_out = [v for v in planned.variables if v != person and v not in groups]
    if left_out:
        findings.warn(
            "aggregation",
            f"Not used as groups (identifiers, free text, amounts or dates): "
            f"{', '.join(left_out)}.",
            planned.table,
        )
    return _aggregated(
        counted(planned, data),
        groups,
        (),
        f"{planned.table}_counts",
        f"{planned.label}: counts",
        rules,
        findings,
    )


def aggregate_named(
    rows: Counted, table: NamedTable, rules: DisclosureRules, findings: Findings
) -> Prepared:
    """The table the permit names: people per combination of its group variables."""
    return _aggregated(
        rows,
        list(table.group_by),
        table.measures,
        table.name,
        f"{rows.planned.label}: people by {', '.join(table.group_by)}",
        rules,
        findings,
    )


def _aggregated(
    rows: Counted,
    groups: list[str],
    measures: Sequence[str],
    name: str,
    label: str,
    rules: DisclosureRules,
    findings: Findings,
) -> Prepared:
    """People (or rows, without a person column) per combination of ``groups``; cells
    that fail the disclosure rules (threshold, then secondary suppression) are
    withheld, with their reasons."""
    planned, data, person = rows.planned, rows.data, rows.planned.person
    counted_, verdicts = _counts(data, groups, person, rules)
    count_name = PEOPLE if person is not None else ROWS
    suppressed = [v for v in verdicts if v.suppressed]
    counts = counted_.column("n").to_pylist()
    released = pa.array(
        [None if v.suppressed else n for v, n in zip(verdicts, counts, strict=True)],
        pa.int64(),
    )
    reasons = pa.array(
        [",".join(r.value for r in v.reasons) or None for v in verdicts], pa.string()
    )
    columns: dict[str, Any] = {
        **{g: counted_.column(g) for g in groups},
        count_name: released,
        SUPPRESSED: reasons,
    }
    specs = [
        *(column_spec(planned.dictionary[g]) for g in groups),
        ColumnSpec(count_name, "integer", label=f"Number of {count_name}"),
        ColumnSpec(SUPPRESSED, "string", label="Why the count is withheld"),
    ]
    findings.passed(
        "disclosure rules",
        f"{len(suppressed)} of {len(verdicts)} cell(s) withheld (fewer than "
        f"{rules.threshold} {count_name}, or to protect another cell)",
        name,
    )
    for measure in measures:
        values = _magnitudes(data, groups, person, measure, verdicts, rules)
        columns.update(values)
        specs += [
            ColumnSpec(f"{measure}_sum", "decimal", label=f"Sum of {measure}"),
            ColumnSpec(
                f"{measure}_mean", "decimal", label=f"Mean of {measure} per row"
            ),
            ColumnSpec(
                f"{measure}_suppressed",
                "string",
                label=f"Why the sum and mean of {measure} are withheld",
            ),
        ]
        withheld = sum(
            v is not None for v in values[f"{measure}_suppressed"].to_pylist()
        )
        findings.passed(
            "disclosure rules",
            f"sum and mean of {measure}: {withheld} of {len(verdicts)} cell(s) "
            f"withheld (threshold, dominance ({rules.nk_n}, {rules.nk_k}), p% "
            f"{rules.p_ratio:.0%}, or to protect another cell)",
            name,
        )
    table = pa.table(columns)
    spec = TableSpec(name=name, columns=tuple(specs), unit=None, label=label)
    checked = rows.checked
    return Prepared(
        spec,
        table,
        TableReport(
            name=spec.name,
            dataset_id=planned.dataset_id,
            rows=table.num_rows,
            variables=tuple(c.name for c in spec.columns),
            source_rows=rows.source_rows,
            people=pc.count_distinct(data.column(person)).as_py() if person else None,
            invalid_identifiers=checked.invalid if checked else 0,
            invalid_reasons=checked.reasons if checked else {},
            missing_identifiers=checked.missing if checked else 0,
            suppressed_cells=len(suppressed),
        ),
    )


def _counts(
    data: pa.Table, groups: list[str], person: str | None, rules: DisclosureRules
) -> tuple[pa.Table, list[Any]]:
    if person is not None:
        counted_ = data.group_by(groups, use_threads=False).aggregate(
            [(person, "count_distinct")]
        )
        counted_ = counted_.rename_columns(
            [
                "n" if c == f"{person}_count_distinct" else c
                for c in counted_.column_names
            ]
        )
    else:
        counted_ = data.group_by(groups, use_threads=False).aggregate(
            [([], "count_all")]
        )
        counted_ = counted_.rename_columns(
            ["n" if c == "count_all" else c for c in counted_.column_names]
        )
    if groups:
        counted_ = counted_.sort_by([(g, "ascending") for g in groups])
    cells = [
        CellInput(group=tuple(row[g] for g in groups), n=int(row["n"]))
        for row in counted_.to_pylist()
    ]
    return counted_, check_cells(Statistic.count, cells, rules)


COUNT_WITHHELD = "count"
"""The reason a sum and mean are withheld when their cell's count is: with the count
released the mean would give it back (sum / mean)."""


def _magnitudes(
    data: pa.Table,
    groups: list[str],
    person: str | None,
    measure: str,
    counts: Sequence[Any],
    rules: DisclosureRules,
) -> dict[str, pa.Array]:
    """The sum and mean (over the rows with a value) of ``measure`` per cell of
    ``counts`` (the count verdicts, in the table's order). Dominance and the p% rule are checked on each person's
    contribution (their rows' sum in the cell; each row's value without a person
    column), as the gate does; a cell whose count is withheld withholds its sum and
    mean too, since the mean and the sum give the count back."""
    if person is not None:
        per_unit = data.group_by([*groups, person], use_threads=False).aggregate(
            [(measure, "sum"), (measure, "count")]
        )
        value, rows = f"{measure}_sum", f"{measure}_count"
    else:
        per_unit, value, rows = data.select([*groups, measure]), measure, None
    contributions: dict[tuple[Any, ...], list[float]] = {}
    values: dict[tuple[Any, ...], int] = {}
    for row in per_unit.to_pylist():
        if row[value] is not None:
            key = tuple(row[g] for g in groups)
            contributions.setdefault(key, []).append(float(row[value]))
            values[key] = values.get(key, 0) + (int(row[rows]) if rows else 1)
    wanted = max(rules.nk_n, 2)
    cells = []
    for verdict in counts:
        found = contributions.get(verdict.group, [])
        cells.append(
            CellInput(
                group=verdict.group,
                n=len(found),
                total=sum(found),
                largest=tuple(sorted(found, reverse=True)[:wanted]),
                has_negative=any(v < 0 for v in found),
            )
        )
    verdicts = check_cells(Statistic.sum, cells, rules)
    sums: list[float | None] = []
    means: list[float | None] = []
    reasons: list[str | None] = []
    for cell, count, verdict in zip(cells, counts, verdicts, strict=True):
        why = [r.value for r in verdict.reasons]
        if count.suppressed:
            why.append(COUNT_WITHHELD)
        if cell.n == 0:
            why.append(Reason.zero.value)  # nobody has a value: no mean to give
        if why:
            sums.append(None)
            means.append(None)
            reasons.append(",".join(dict.fromkeys(why)))
        else:
            total = cell.total or 0.0
            sums.append(total)
            means.append(total / values[cell.group])
            reasons.append(None)
    return {
        f"{measure}_sum": pa.array(sums, pa.float64()),
        f"{measure}_mean": pa.array(means, pa.float64()),
        f"{measure}_suppressed": pa.array(reasons, pa.string()),
    }
