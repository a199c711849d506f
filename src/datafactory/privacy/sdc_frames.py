"""Cell statistics from raw data and from frequency tables, for the disclosure rules.

Two small doors into :mod:`datafactory.privacy.sdc`:

* :func:`cells_from_frame` summarises a raw pandas DataFrame the way a crosstab would
  group it, into the :class:`~datafactory.privacy.sdc.CellInput` of each cell. With a
  unit column (the pseudonym) a contributor is a person and a contribution is the sum
  of that person's values in the cell; without one every row is a contributor, as in
  ACRO. The ACRO oracle tests and the airlock use it.
* :func:`check_frequency_csv` checks a plain frequency table written as CSV (label
  columns, then integer count columns) with the count rules: the airlock's check of a
  table whose raw data it does not have.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd  # type: ignore[import-untyped, unused-ignore]

from datafactory.privacy.sdc import (
    MAGNITUDE_STATISTICS,
    CellInput,
    CellVerdict,
    DisclosureRules,
    Statistic,
    check_cells,
    complete_grid,
)

DEFAULT_RULES = DisclosureRules()


class NotAFrequencyTable(ValueError):
    """The CSV does not hold non-negative integer counts where counts belong."""


def cells_from_frame(
    frame: pd.DataFrame,
    statistic: Statistic,
    *,
    index: Sequence[str],
    columns: Sequence[str] = (),
    values: str | None = None,
    unit: str | None = None,
    rules: DisclosureRules = DEFAULT_RULES,
    complete: bool = True,
) -> list[CellInput]:
    """One :class:`CellInput` per combination of ``index`` and ``columns`` values.

    ``n`` counts units (or rows) with a value: rows whose ``values`` is null contribute
    nothing, so they do not count towards the threshold (ACRO counts them; ours is the
    stricter reading). With ``complete`` the missing combinations of the observed
    values (of the categories, for a categorical column) come back as ``n=0`` cells,
    like a crosstab with ``dropna=False``.
    """
    dimensions = [*index, *columns]
    if not dimensions:
        raise ValueError("a table needs at least one index column")
    data = frame if values is None else frame[frame[values].notna()]
    if statistic in MAGNITUDE_STATISTICS:
        if values is None:
            raise ValueError(f"{statistic} needs a values column")
        if not pd.api.types.is_numeric_dtype(frame[values]):
            raise ValueError(f"{statistic} needs numeric values, not {values!r}")
    keep = max(rules.nk_n, 2)
    cells: list[CellInput] = []
    grouped = data.groupby(dimensions, dropna=False, sort=True, observed=True)
    for key, rows in grouped:
        group = tuple(_plain(value) for value in key)
        n = int(rows[unit].nunique(dropna=False)) if unit else len(rows)
        if statistic not in MAGNITUDE_STATISTICS:
            cells.append(CellInput(group, n))
            continue
        amounts = rows[values].astype("float64")
        contributions = amounts if unit is None else amounts.groupby(rows[unit]).sum()
        cells.append(
            CellInput(
                group,
                n,
                total=float(amounts.sum()),
                largest=tuple(float(v) for v in contributions.nlargest(keep)),
                has_negative=bool((amounts < 0).any()),
            )
        )
    if complete:
        domains = [_domain(frame[name]) for name in dimensions]
        missing = complete_grid([cell.group for cell in cells], domains)
        cells.extend(CellInput(group, 0) for group in missing)
    return cells


def check_frame(
    frame: pd.DataFrame,
    statistic: Statistic,
    *,
    index: Sequence[str],
    columns: Sequence[str] = (),
    values: str | None = None,
    unit: str | None = None,
    rules: DisclosureRules = DEFAULT_RULES,
) -> list[CellVerdict]:
    """:func:`cells_from_frame` (completed with zero cells), then the rules."""
    cells = cells_from_frame(
        frame,
        statistic,
        index=index,
        columns=columns,
        values=values,
        unit=unit,
        rules=rules,
    )
    return check_cells(statistic, cells, rules)


def check_frequency_csv(
    data: bytes | str,
    rules: DisclosureRules = DEFAULT_RULES,
    *,
    label_columns: Sequence[str] | None = None,
) -> list[CellVerdict]:
    """Check a frequency table written as CSV: threshold and zeros, then secondary.

    Each count cell's group is its row's labels plus its column's header, so rows and
    columns form the lines of secondary suppression. Without ``label_columns`` the
    labels are the leading columns that are not all integers, or else the first column
    (a year, say). Anything else in a count column (a blank, text, a negative or
    fractional number, a cell already suppressed by hand) raises
    :class:`NotAFrequencyTable`: a table we cannot read is not released by us.
    """
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    if label_columns is None:
        label_columns = _guess_labels(table)
    unknown = [name for name in label_columns if name not in table.columns]
    if unknown:
        raise NotAFrequencyTable(f"no such label columns: {unknown}")
    count_columns = [name for name in table.columns if name not in label_columns]
    if not count_columns or table.empty:
        raise NotAFrequencyTable("the table has no count cells")
    cells: list[CellInput] = []
    for row_number, row in enumerate(table.itertuples(index=False), start=2):
        record = dict(zip(table.columns, row, strict=True))
        labels = tuple(record[name] for name in label_columns)
        for name in count_columns:
            count = _count(record[name])
            if count is None:
                raise NotAFrequencyTable(
                    f"line {row_number}, column {name!r}: {record[name]!r} is not a count"
                )
            cells.append(CellInput((*labels, name), count))
    return check_cells(Statistic.count, cells, rules)


def _guess_labels(table: pd.DataFrame) -> list[str]:
    labels: list[str] = []
    for name in table.columns:
        if all(_count(value) is not None for value in table[name]):
            break
        labels.append(name)
    return labels or [table.columns[0]]


def _count(text: str) -> int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0 or not value.is_integer():
        return None
    return int(value)


def _domain(column: pd.Series) -> list[object]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return [_plain(value) for value in column.cat.categories]
    return [_plain(value) for value in column.drop_duplicates()]


def _plain(value: object) -> object:
    """numpy scalars as Python values, so groups compare and print plainly."""
    return value.item() if isinstance(value, np.generic) else value
