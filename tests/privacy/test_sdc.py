"""Disclosure rules of output cells: primary rules at their boundaries, secondary
suppression, zero cells, rounding, and the frame and CSV doors."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.privacy.sdc import (
    CellInput,
    DisclosureRules,
    Reason,
    Statistic,
    check_cells,
    complete_grid,
    round_to_base,
)
from datafactory.privacy.sdc_frames import (
    NotAFrequencyTable,
    cells_from_frame,
    check_frame,
    check_frequency_csv,
)

RULES = DisclosureRules()


def primary(statistic: Statistic, cell: CellInput, rules: DisclosureRules = RULES):
    """The reasons of a lone global cell, which has no line and so no secondary."""
    [verdict] = check_cells(statistic, [cell], rules)
    return verdict.reasons


def magnitude(n: int, contributions: list[float]) -> CellInput:
    ordered = sorted(contributions, reverse=True)
    return CellInput((), n, total=float(sum(contributions)), largest=tuple(ordered[:2]))


# --- primary rules -----------------------------------------------------------------


@pytest.mark.parametrize(
    "statistic",
    [
        Statistic.count,
        Statistic.count_distinct,
        Statistic.median,
        Statistic.min,
        Statistic.max,
    ],
)
def test_threshold_releases_ten_and_suppresses_nine(statistic):
    assert primary(statistic, CellInput((), 10)) == ()
    assert primary(statistic, CellInput((), 9)) == (Reason.threshold,)


@pytest.mark.parametrize(
    "statistic",
    [
        Statistic.count,
        Statistic.count_distinct,
        Statistic.median,
        Statistic.min,
        Statistic.max,
    ],
)
def test_a_zero_cell_fails_the_threshold_and_the_zeros_rule(statistic):
    assert primary(statistic, CellInput((), 0)) == (Reason.threshold, Reason.zero)


def test_zeros_not_disclosive_still_leaves_a_zero_below_the_threshold():
    rules = DisclosureRules(zeros_disclosive=False)
    assert primary(Statistic.count, CellInput((), 0), rules) == (Reason.threshold,)


@pytest.mark.parametrize("statistic", [Statistic.sum, Statistic.mean])
def test_magnitude_cells_have_no_zeros_rule(statistic):
    # ACRO's LinearAggregations statbarn has no class-disclosure risk.
    assert primary(statistic, CellInput((), 0)) == (Reason.threshold,)


@pytest.mark.parametrize("statistic", [Statistic.std, Statistic.var])
def test_spread_needs_ten_degrees_of_freedom_and_nothing_else(statistic):
    assert primary(statistic, CellInput((), 11)) == ()
    assert primary(statistic, CellInput((), 10)) == (Reason.dof,)
    assert primary(statistic, CellInput((), 0)) == (Reason.dof,)


def test_dominance_fails_at_exactly_k():
    # Two largest 4.5 + 4.5 = 9 of 10: exactly 0.9; the rest 1 / 4.5 passes the p-ratio.
    cell = CellInput((), 12, total=10.0, largest=(4.5, 4.5))
    assert primary(Statistic.sum, cell) == (Reason.dominance,)


def test_dominance_passes_just_below_k():
    cell = CellInput((), 12, total=10.0, largest=(4.4, 4.5)[::-1])
    assert primary(Statistic.sum, cell) == ()


def test_p_ratio_passes_at_exactly_p_and_fails_below():
    # (total - 10 - 0.5) / 10 = 1 / 10 = 0.1 exactly: not below p. Top two hold 10.5 / 11.5.
    at_p = CellInput((), 12, total=11.5, largest=(10.0, 0.5))
    assert primary(Statistic.sum, at_p, DisclosureRules(nk_k=0.99)) == ()
    below = CellInput((), 12, total=11.4, largest=(10.0, 0.5))
    assert primary(Statistic.sum, below, DisclosureRules(nk_k=0.99)) == (
        Reason.p_ratio,
    )


def test_one_person_dominates_every_rule_of_a_magnitude_cell():
    assert primary(Statistic.mean, magnitude(1, [50.0])) == (
        Reason.threshold,
        Reason.dominance,
        Reason.p_ratio,
    )


def test_an_all_zero_cell_fails_the_p_ratio_as_in_acro():
    # ACRO keeps the bare remainder (0) when the largest is 0; the share is undefined.
    cell = CellInput((), 12, total=0.0, largest=(0.0, 0.0))
    assert primary(Statistic.sum, cell) == (Reason.p_ratio,)


def test_a_cell_with_a_negative_value_cannot_be_checked_and_is_suppressed():
    cell = CellInput((), 20, total=100.0, largest=(10.0, 10.0), has_negative=True)
    assert primary(Statistic.sum, cell) == (Reason.negative,)


def test_a_negative_total_counts_as_negative_even_unflagged():
    cell = CellInput((), 20, total=-5.0, largest=(1.0, 1.0))
    assert primary(Statistic.mean, cell) == (Reason.negative,)


def test_a_magnitude_cell_without_its_evidence_is_an_error():
    with pytest.raises(ValueError, match="largest contributions"):
        check_cells(Statistic.sum, [CellInput((), 12, total=10.0)], RULES)
    with pytest.raises(ValueError, match="total"):
        check_cells(Statistic.sum, [CellInput((), 12, largest=(1.0, 1.0))], RULES)


def test_a_larger_nk_n_needs_more_contributions():
    rules = DisclosureRules(nk_n=3)
    with pytest.raises(ValueError):
        check_cells(Statistic.sum, [CellInput((), 12, total=10, largest=(1, 1))], rules)
    cell = CellInput((), 12, total=10.0, largest=(3.0, 3.0, 3.0))
    assert primary(Statistic.sum, cell, rules) == (Reason.dominance,)


def test_reasons_describe_themselves_with_the_rules():
    assert Reason.threshold.describe(RULES) == "fewer than 10 people"
    assert all(reason.describe(RULES) for reason in Reason)


# --- secondary suppression ---------------------------------------------------------


def counts_grid(rows: list[list[int]]) -> list[CellInput]:
    return [
        CellInput((r, c), n) for r, row in enumerate(rows) for c, n in enumerate(row)
    ]


def suppressed_groups(verdicts):
    return {v.group: v.reasons for v in verdicts if v.suppressed}


def test_one_dimensional_table_suppresses_the_next_smallest_cell():
    cells = [CellInput(("a",), 50), CellInput(("b",), 3), CellInput(("c",), 20)]
    verdicts = check_cells(Statistic.count, cells, RULES)
    assert suppressed_groups(verdicts) == {
        ("b",): (Reason.threshold,),
        ("c",): (Reason.secondary,),
    }


def test_a_global_aggregate_has_no_line():
    verdicts = check_cells(Statistic.count, [CellInput((), 3)], RULES)
    assert verdicts[0].reasons == (Reason.threshold,)


def test_a_line_of_one_cell_needs_no_partner():
    cells = [CellInput(("a", "x"), 3), CellInput(("b", "y"), 30)]
    # Two lines of one cell each per cell: nothing to add.
    assert suppressed_groups(check_cells(Statistic.count, cells, RULES)) == {
        ("a", "x"): (Reason.threshold,)
    }


def test_two_dimensional_secondary_suppression_closes_rows_and_columns():
    verdicts = check_cells(
        Statistic.count,
        counts_grid([[5, 40, 30], [25, 60, 70], [35, 80, 90]]),
        RULES,
    )
    # (0,0) fails; its row partner (0,2: 30) and column partner (1,0: 25) go, and the
    # rectangle closes at (1,2): every row and column holds 0 or 2 suppressed cells.
    assert suppressed_groups(verdicts) == {
        (0, 0): (Reason.threshold,),
        (0, 2): (Reason.secondary,),
        (1, 0): (Reason.secondary,),
        (1, 2): (Reason.secondary,),
    }


def test_the_partner_closes_another_open_line_before_it_is_the_smallest():
    # (0,0) and (1,1) fail. Row 0's smallest partner would be (0,2)=20, but (0,1)=30
    # also closes column 1 (open because of (1,1)); then (1,0) closes row 1 and
    # column 0 at once. Four cells, where "smallest n" alone would take six.
    verdicts = check_cells(
        Statistic.count, counts_grid([[5, 30, 20], [40, 4, 50]]), RULES
    )
    assert suppressed_groups(verdicts) == {
        (0, 0): (Reason.threshold,),
        (1, 1): (Reason.threshold,),
        (0, 1): (Reason.secondary,),
        (1, 0): (Reason.secondary,),
    }


def test_ties_go_to_the_earlier_cell():
    cells = [CellInput(("a",), 2), CellInput(("b",), 20), CellInput(("c",), 20)]
    verdicts = check_cells(Statistic.count, cells, RULES)
    assert [v.reasons for v in verdicts] == [
        (Reason.threshold,),
        (Reason.secondary,),
        (),
    ]


def test_primary_and_secondary_reasons_come_in_order():
    cells = [CellInput(("a",), 0), CellInput(("b",), 4), CellInput(("c",), 30)]
    verdicts = check_cells(Statistic.count, cells, RULES)
    assert [v.reasons for v in verdicts] == [
        (Reason.threshold, Reason.zero),
        (Reason.threshold,),
        (),
    ]


def test_cells_of_one_result_must_share_arity_and_be_distinct():
    with pytest.raises(ValueError, match="same number"):
        check_cells(Statistic.count, [CellInput(("a",), 1), CellInput((), 2)], RULES)
    with pytest.raises(ValueError, match="same group"):
        check_cells(
            Statistic.count, [CellInput(("a",), 1), CellInput(("a",), 2)], RULES
        )


def test_nan_groups_are_one_group():
    cells = [CellInput((float("nan"),), 3), CellInput((float("nan"),), 30)]
    with pytest.raises(ValueError, match="same group"):
        check_cells(Statistic.count, cells, RULES)


# --- zero cells ------------------------------------------------------------------


def test_complete_grid_returns_the_missing_combinations():
    groups = [("a", 1), ("a", 2), ("b", 1)]
    assert complete_grid(groups) == [("b", 2)]


def test_complete_grid_adds_a_code_list():
    groups = [("a", 1), ("b", 1)]
    assert complete_grid(groups, [["a", "b", "c"], [1]]) == [("c", 1)]


def test_complete_grid_keeps_observed_values_outside_the_code_list():
    assert complete_grid([("z",)], [["a"]]) == [("a",)]


def test_complete_grid_of_a_global_aggregate_or_nothing():
    assert complete_grid([()]) == []
    assert complete_grid([]) == []
    assert complete_grid([], [["a", "b"]]) == [("a",), ("b",)]


def test_complete_grid_of_nan_groups_adds_one_nan_combination():
    nan = float("nan")
    missing = complete_grid([("a", nan), ("b", 1)])
    assert len(missing) == 2
    assert ("a", 1) in missing


# --- rounding --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), (2, 0), (3, 5), (7.4, 5), (8, 10), (12.5, 10), (17.5, 20), (-3, -5)],
)
def test_round_to_nearest_multiple_halves_to_even(value, expected):
    assert round_to_base(value, 5) == expected


def test_round_refuses_a_bad_base_or_value():
    with pytest.raises(ValueError):
        round_to_base(3, 0)
    with pytest.raises(ValueError):
        round_to_base(float("nan"), 5)


# --- properties ------------------------------------------------------------------

seeds = st.integers(min_value=0, max_value=2**32 - 1)
shapes = st.lists(st.integers(min_value=1, max_value=5), min_size=0, max_size=3)
statistics = st.sampled_from(list(Statistic))


def random_cells(seed: int, shape: list[int], statistic: Statistic) -> list[CellInput]:
    rng = np.random.default_rng(seed)
    cells = []
    for group in itertools.product(*(range(size) for size in shape)):
        # Many cells near the threshold, some zero, some large.
        n = int(rng.choice([0, rng.integers(1, 15), rng.integers(10, 200)]))
        if statistic in (Statistic.sum, Statistic.mean) and n:
            values = rng.exponential(10.0, size=n) * rng.choice([1, 1, 50], size=n)
            ordered = np.sort(values)[::-1]
            cells.append(
                CellInput(
                    group,
                    n,
                    total=float(values.sum()),
                    largest=tuple(float(v) for v in ordered[:2]),
                )
            )
        else:
            cells.append(CellInput(group, n))
    return cells


def lines_of(groups):
    arity = len(groups[0]) if groups else 0
    lines: dict = {}
    for i, group in enumerate(groups):
        for free in range(arity):
            lines.setdefault((free, group[:free] + group[free + 1 :]), []).append(i)
    return lines.values()


@settings(max_examples=300)
@given(seeds, shapes, statistics)
def test_no_released_cell_has_fewer_people_than_the_threshold(seed, shape, statistic):
    cells = random_cells(seed, shape, statistic)
    verdicts = check_cells(statistic, cells, RULES)
    floor = RULES.dof_threshold + 1 if statistic in ("std", "var") else RULES.threshold
    for cell, verdict in zip(cells, verdicts, strict=True):
        assert verdict.group == cell.group
        if not verdict.suppressed:
            assert cell.n >= floor


@settings(max_examples=300)
@given(seeds, shapes, statistics)
def test_no_line_holds_exactly_one_suppressed_cell(seed, shape, statistic):
    verdicts = check_cells(statistic, random_cells(seed, shape, statistic), RULES)
    for members in lines_of([v.group for v in verdicts]):
        hidden = sum(verdicts[i].suppressed for i in members)
        assert len(members) < 2 or hidden != 1


@settings(max_examples=300)
@given(seeds, shapes)
def test_secondary_suppression_only_adds(seed, shape):
    cells = random_cells(seed, shape, Statistic.count)
    verdicts = check_cells(Statistic.count, cells, RULES)
    for cell, verdict in zip(cells, verdicts, strict=True):
        alone = check_cells(Statistic.count, [CellInput((), cell.n)], RULES)[0]
        assert verdict.reasons[: len(alone.reasons)] == alone.reasons


@settings(max_examples=300)
@given(
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    st.integers(min_value=1, max_value=1000),
)
def test_rounding_gives_multiples_and_is_idempotent(value, base):
    rounded = round_to_base(value, base)
    assert rounded % base == 0
    assert abs(rounded - value) <= base / 2
    assert round_to_base(rounded, base) == rounded


# --- frames and CSV -----------------------------------------------------------------


def test_cells_from_frame_sums_contributions_per_person():
    frame = pd.DataFrame(
        {
            "pseudonym": ["p1", "p1", "p2", "p3"],
            "region": ["a", "a", "a", "b"],
            "amount": [5.0, 7.0, 3.0, -1.0],
        }
    )
    cells = cells_from_frame(
        frame, Statistic.sum, index=["region"], values="amount", unit="pseudonym"
    )
    assert cells == [
        CellInput(("a",), 2, total=15.0, largest=(12.0, 3.0)),
        CellInput(("b",), 1, total=-1.0, largest=(-1.0,), has_negative=True),
    ]


def test_cells_from_frame_without_unit_counts_rows_and_adds_zero_cells():
    frame = pd.DataFrame({"sex": ["F", "F", "M"], "region": ["a", "b", "a"]})
    cells = cells_from_frame(frame, Statistic.count, index=["sex"], columns=["region"])
    assert cells == [
        CellInput(("F", "a"), 1),
        CellInput(("F", "b"), 1),
        CellInput(("M", "a"), 1),
        CellInput(("M", "b"), 0),
    ]


def test_cells_from_frame_uses_categories_and_skips_null_values():
    frame = pd.DataFrame(
        {
            "sex": pd.Categorical(["F", "F"], categories=["F", "M", "X"]),
            "age": [30.0, None],
        }
    )
    cells = cells_from_frame(frame, Statistic.median, index=["sex"], values="age")
    assert cells == [CellInput(("F",), 1), CellInput(("M",), 0), CellInput(("X",), 0)]


def test_check_frame_refuses_a_magnitude_without_numbers():
    frame = pd.DataFrame({"sex": ["F"], "name": ["x"]})
    with pytest.raises(ValueError, match="numeric"):
        check_frame(frame, Statistic.sum, index=["sex"], values="name")


def test_frequency_csv_checks_counts_and_protects_rows_and_columns():
    csv = "year,F,M\n2020,40,3\n2021,50,60\n2022,70,0\n"
    verdicts = check_frequency_csv(csv.encode())
    assert suppressed_groups(verdicts) == {
        ("2020", "M"): (Reason.threshold,),
        ("2022", "M"): (Reason.threshold, Reason.zero),
        ("2020", "F"): (Reason.secondary,),
        ("2022", "F"): (Reason.secondary,),
    }


def test_frequency_csv_with_text_labels_and_a_single_count_column():
    csv = "region,sex,count\na,F,12\na,M,15\nb,F,4\n"
    verdicts = check_frequency_csv(csv)
    # Long format is a region x sex table: b/F's column partner a/F, then a/F's row
    # partner a/M (region a's total is another query's answer).
    assert suppressed_groups(verdicts) == {
        ("b", "F", "count"): (Reason.threshold,),
        ("a", "F", "count"): (Reason.secondary,),
        ("a", "M", "count"): (Reason.secondary,),
    }


@pytest.mark.parametrize(
    "csv",
    ["year,F\n2020,\n", "year,F\n2020,2.5\n", "year,F\n2020,-1\n", "year\n2020\n"],
    ids=["blank", "fraction", "negative", "no-counts"],
)
def test_frequency_csv_refuses_what_is_not_a_count(csv):
    with pytest.raises(NotAFrequencyTable):
        check_frequency_csv(csv)


def test_frequency_csv_with_named_label_columns():
    csv = "year,age,count\n2020,30,12\n2020,31,11\n"
    assert not any(
        v.suppressed for v in check_frequency_csv(csv, label_columns=["year", "age"])
    )
    with pytest.raises(NotAFrequencyTable, match="no such"):
        check_frequency_csv(csv, label_columns=["sex"])
