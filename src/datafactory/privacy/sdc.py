"""Statistical disclosure control of output tables: the rules every released cell obeys.

Pure functions, no database: the query gate, the airlock and the tests (with ACRO as an
oracle) use the same rules. Defaults are ACRO's (``acro/default.yaml``).

Primary rules follow ACRO 1.0.2's statbarns (``acro/analyses.json``, ``statbarns.json``,
``risks.json``) for the statistic that produced the cell:

================  ===============  =============================================
statistic         ACRO statbarn    checks
================  ===============  =============================================
count, distinct   Frequencies      threshold, zeros
sum, mean         LinearAggr.      threshold, NK dominance, p-ratio
median            Position         threshold, zeros
min, max          Endpoints        threshold, zeros
std, var          Shape            degrees of freedom (n - 1)
================  ===============  =============================================

The comparisons are ACRO's own (``acro/sdcchecks.py``): a cell fails the threshold when
``n < threshold``, dominance when ``top_n / total >= k``, the p-ratio when
``(total - top1 - top2) / top1 < p``, degrees of freedom when ``n - 1 < dof_threshold``.
Where ACRO only asks for a human review (negative values make dominance undefined) we
cannot check the cell, so it is suppressed: deny by default.

Secondary suppression (ACRO leaves it to the output checker) then stops the totals of a
line of cells from revealing a suppressed cell; see :func:`check_cells`.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class DisclosureRules:
    threshold: int = 10
    """A cell needs at least this many contributing people (ACRO ``safe_threshold``)."""
    dof_threshold: int = 10
    """Residual degrees of freedom a model or a spread statistic needs."""
    nk_n: int = 2
    nk_k: float = 0.9
    """Dominance: a cell fails when its ``nk_n`` largest contributors hold at least
    ``nk_k`` of its total."""
    p_ratio: float = 0.10
    """p% rule: a cell fails when (total - largest - second) / largest < p."""
    zeros_disclosive: bool = True
    round_base: int = 5
    """Base for the optional rounding of released values."""


class Statistic(StrEnum):
    # The interface names the member after the SQL aggregate; it shadows str.count.
    count = "count"  # type: ignore[assignment]
    count_distinct = "count_distinct"
    sum = "sum"
    mean = "mean"
    median = "median"
    std = "std"
    var = "var"
    min = "min"
    max = "max"


MAGNITUDE_STATISTICS = frozenset({Statistic.sum, Statistic.mean})
"""Statistics whose cells carry a total and the largest contributions (dominance)."""
_SPREAD_STATISTICS = frozenset({Statistic.std, Statistic.var})
# ACRO's ClassDisclosure risk: Frequencies, Position (median) and Endpoints (min, max).
_ZERO_STATISTICS = frozenset(
    {
        Statistic.count,
        Statistic.count_distinct,
        Statistic.median,
        Statistic.min,
        Statistic.max,
    }
)


class Reason(StrEnum):
    """Why a cell is suppressed. Declaration order is the order reasons are listed in."""

    threshold = "threshold"
    zero = "zero"
    dominance = "dominance"
    p_ratio = "p_ratio"
    negative = "negative"
    dof = "dof"
    secondary = "secondary"

    def describe(self, rules: DisclosureRules) -> str:
        """The reason in words, for a refusal or an output checker's screen."""
        return {
            Reason.threshold: f"fewer than {rules.threshold} people",
            Reason.zero: "a zero cell reveals that nobody has this combination",
            Reason.dominance: (
                f"the {rules.nk_n} largest contributors hold at least "
                f"{rules.nk_k:.0%} of the total"
            ),
            Reason.p_ratio: (
                "the others contribute less than "
                f"{rules.p_ratio:.0%} of the largest contribution"
            ),
            Reason.negative: "negative values: dominance cannot be checked",
            Reason.dof: f"fewer than {rules.dof_threshold} degrees of freedom",
            Reason.secondary: "suppressed so that totals cannot reveal another cell",
        }[self]


_REASON_ORDER = {reason: i for i, reason in enumerate(Reason)}


@dataclass(frozen=True)
class CellInput:
    """What the rules need to know about one result cell (never the values themselves)."""

    group: tuple[object, ...]
    """The cell's group values, ``()`` for a global aggregate."""
    n: int
    """Contributing units: people, or rows when the table has no unit column."""
    total: float | None = None
    """Magnitude statistics: the sum of the values (needed when ``n > 0``)."""
    largest: tuple[float, ...] = ()
    """Largest per-unit contributions, descending; at least ``max(nk_n, 2)`` items,
    or all ``n`` when there are fewer."""
    has_negative: bool = False


@dataclass(frozen=True)
class CellVerdict:
    group: tuple[object, ...]
    reasons: tuple[Reason, ...]
    """Primary reasons in :class:`Reason` order, then ``Reason.secondary`` if added."""

    @property
    def suppressed(self) -> bool:
        return bool(self.reasons)


def check_cells(
    statistic: Statistic, cells: Sequence[CellInput], rules: DisclosureRules
) -> list[CellVerdict]:
    """Verdicts for the cells of one result, in the order given.

    First each cell meets the primary rules of its statistic (module docstring). Then
    secondary suppression. A *line* is the set of cells that share all group values but
    one (a one-dimensional table is one line; a global aggregate has none). A line's
    total is obtainable from another query (the same query without that grouping
    column, or without any grouping for a one-dimensional table), and that total minus
    the released cells of the line gives a lone suppressed cell back; with two
    suppressed cells only their sum is known. So whenever a line of two or more cells
    holds exactly one suppressed cell, one more of its cells is suppressed, until no
    such line is left. The partner is the cell that closes the most other open lines
    (lines that also hold exactly one suppressed cell), then the one with the smallest
    ``n`` (the least information lost), then the earlier in ``cells``; plain "smallest
    n" would open fresh lines and spread suppression across the table. This is the
    classic heuristic, not a full audit of interval attacks across several lines.

    The cells must share one arity and have distinct groups; the gate adds the missing
    combinations (:func:`complete_grid`) as ``n=0`` cells first, so that zeros are
    checked and count as suppressed cells of their lines.
    """
    primary = [_primary_reasons(statistic, cell, rules) for cell in cells]
    secondary = _secondary_suppression(cells, [bool(r) for r in primary])
    return [
        CellVerdict(
            cell.group,
            reasons + ((Reason.secondary,) if i in secondary else ()),
        )
        for i, (cell, reasons) in enumerate(zip(cells, primary, strict=True))
    ]


def _primary_reasons(
    statistic: Statistic, cell: CellInput, rules: DisclosureRules
) -> tuple[Reason, ...]:
    if cell.n < 0:
        raise ValueError(f"cell {cell.group!r}: negative count {cell.n}")
    reasons: set[Reason] = set()
    if statistic in _SPREAD_STATISTICS:
        # ACRO's Shape statbarn only asks for degrees of freedom: n - 1 for a spread.
        if cell.n - 1 < rules.dof_threshold:
            reasons.add(Reason.dof)
    else:
        if cell.n < rules.threshold:
            reasons.add(Reason.threshold)
        if statistic in _ZERO_STATISTICS and rules.zeros_disclosive and cell.n == 0:
            reasons.add(Reason.zero)
        if statistic in MAGNITUDE_STATISTICS and cell.n > 0:
            reasons.update(_dominance_reasons(cell, rules))
    return tuple(sorted(reasons, key=_REASON_ORDER.__getitem__))


def _dominance_reasons(cell: CellInput, rules: DisclosureRules) -> set[Reason]:
    needed = min(cell.n, max(rules.nk_n, 2))
    if cell.total is None or len(cell.largest) < needed:
        raise ValueError(
            f"cell {cell.group!r}: a magnitude cell needs its total and its "
            f"{needed} largest contributions"
        )
    total = cell.total
    if cell.has_negative or total < 0 or any(value < 0 for value in cell.largest):
        return {Reason.negative}
    reasons: set[Reason] = set()
    # Division as ACRO does it, so that k and p meet at exactly the same boundary.
    # A zero total leaves the share undefined (ACRO: NaN, which passes).
    if total > 0 and sum(cell.largest[: rules.nk_n]) / total >= rules.nk_k:
        reasons.add(Reason.dominance)
    top1 = cell.largest[0] if cell.largest else 0.0
    rest = total - sum(cell.largest[:2])
    # ACRO keeps the bare remainder when the largest is 0: all-zero cells fail.
    p_value = rest if top1 == 0 else rest / top1
    if p_value < rules.p_ratio:
        reasons.add(Reason.p_ratio)
    return reasons


def _secondary_suppression(
    cells: Sequence[CellInput], suppressed: list[bool]
) -> set[int]:
    """Indices of the cells suppressed to protect the lines' totals."""
    if not cells:
        return set()
    arity = len(cells[0].group)
    keys = [tuple(_hashable(value) for value in cell.group) for cell in cells]
    if any(len(key) != arity for key in keys):
        raise ValueError("all cells of a result need the same number of group values")
    if len(set(keys)) != len(keys):
        raise ValueError("two cells of a result have the same group")
    lines: dict[tuple[int, tuple[Hashable, ...]], list[int]] = {}
    cell_lines: list[list[tuple[int, tuple[Hashable, ...]]]] = [[] for _ in cells]
    for i, key in enumerate(keys):
        for free in range(arity):
            line = (free, key[:free] + key[free + 1 :])
            lines.setdefault(line, []).append(i)
            cell_lines[i].append(line)
    hidden = {
        line: sum(suppressed[i] for i in members) for line, members in lines.items()
    }
    # Ties are broken by the cells' group values, never by their order in the input, so
    # the gate and the airlock, reading the same cells in different orders, suppress the
    # same ones.
    rank = {
        i: r
        for r, i in enumerate(sorted(range(len(cells)), key=lambda i: _canon(keys[i])))
    }
    todo = deque(
        sorted(
            (line for line, count in hidden.items() if count == 1),
            key=lambda line: (line[0], _canon(line[1])),
        )
    )
    added: set[int] = set()

    def _closes(i: int) -> int:
        """How many other lines of cell ``i`` suppressing it would close."""
        return sum(
            hidden[line] == 1 and len(lines[line]) >= 2 for line in cell_lines[i]
        )

    while todo:
        line = todo.popleft()
        members = lines[line]
        if len(members) < 2 or hidden[line] != 1:
            continue
        candidates = [i for i in members if not suppressed[i]]
        pick = min(candidates, key=lambda i: (-_closes(i), cells[i].n, rank[i]))
        suppressed[pick] = True
        added.add(pick)
        for other in cell_lines[pick]:
            hidden[other] += 1
            if hidden[other] == 1:
                todo.append(other)
    return added


def _canon(key: tuple[Hashable, ...]) -> tuple[tuple[str, str], ...]:
    """A total order on group values of any types (None, numbers and text mixed)."""
    return tuple((type(v).__name__, str(v)) for v in key)


class _NaN:
    """One key for every NaN, which never equals itself."""

    def __repr__(self) -> str:
        return "NaN"


_NAN = _NaN()


def _hashable(value: object) -> Hashable:
    if isinstance(value, float) and math.isnan(value):
        return _NAN
    if not isinstance(value, Hashable):
        raise TypeError(f"group value {value!r} is not hashable")
    return value


def complete_grid(
    groups: Sequence[tuple[object, ...]],
    domains: Sequence[Sequence[object]] | None = None,
) -> list[tuple[object, ...]]:
    """The combinations of group values missing from a result: its zero cells.

    A grouped query only returns the combinations that occur, so a zero (which tells
    that nobody has the combination, ACRO's class disclosure) would pass unseen. The
    grid is the product of each position's values: the observed ones, after the given
    ``domains`` (a code list) when there are any. The gate adds the missing cells with
    ``n=0``. Order: the product's order, first position slowest.
    """
    if domains is None:
        if not groups:
            return []
        arity = len(groups[0])
        domains = [() for _ in range(arity)]
    arity = len(domains)
    values: list[dict[Hashable, object]] = [
        {_hashable(value): value for value in domain} for domain in domains
    ]
    present: set[tuple[Hashable, ...]] = set()
    for group in groups:
        if len(group) != arity:
            raise ValueError("all groups need as many values as there are domains")
        key = tuple(_hashable(value) for value in group)
        present.add(key)
        for position, value in enumerate(group):
            values[position].setdefault(key[position], value)
    return [
        tuple(values[position][key] for position, key in enumerate(combination))
        for combination in itertools.product(*(list(v) for v in values))
        if combination not in present
    ]


def round_to_base(value: float, base: int) -> int:
    """The nearest multiple of ``base``; halves go to the even multiple, as ACRO's
    ``round_table`` does (numpy's rounding). Rounding hides small changes between
    releases; it does not replace the threshold."""
    if base < 1:
        raise ValueError(f"rounding base must be a positive integer, not {base}")
    if not math.isfinite(value):
        raise ValueError(f"cannot round {value!r}")
    return round(value / base) * base
