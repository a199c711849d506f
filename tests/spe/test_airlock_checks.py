"""The airlock's automatic checks, one kind of output at a time: pure functions of the
bytes and the disclosure rules."""

from __future__ import annotations

import json

import numpy as np
import pytest

from datafactory.privacy.sdc import DisclosureRules
from datafactory.spe.airlock import checks
from datafactory.spe.airlock.checks import CheckResult
from datafactory.spe.airlock.models import CheckStatus

RULES = DisclosureRules()


def table(text: str) -> bytes:
    return "\n".join(line.strip() for line in text.strip().splitlines()).encode()


# --- frequency tables --------------------------------------------------------------------


def test_a_frequency_table_with_a_3_fails_and_names_the_cell():
    result = checks.check_table(
        table("""
            commune,n
            Esch,120
            Vianden,3
        """),
        RULES,
    )
    assert result.status == CheckStatus.failed
    assert [(c.row, c.column) for c in result.cells] == [(2, "n")]
    assert result.cells[0].reasons == ("fewer than 10 people",)
    assert "row 2, column 'n'" in result.reasons[0]


def test_a_frequency_table_of_large_counts_passes():
    result = checks.check_table(
        table("""
            sex,age_group,count
            F,18-39,120
            F,40+,98
            M,18-39,101
            M,40+,10
        """),
        RULES,
    )
    assert result.status == CheckStatus.passed, result.reasons
    assert result.facts["count_columns"] == ["count"]


def test_a_zero_cell_fails_as_class_disclosure():
    result = checks.check_table(table("sex,n\nF,120\nM,0"), RULES)
    assert result.status == CheckStatus.failed
    assert any("zero" in r for r in result.cells[0].reasons)


def test_blank_and_redacted_cells_count_as_suppressed():
    result = checks.check_table(
        table("commune,n\nEsch,120\nVianden,\nClervaux,[REDACTED]"), RULES
    )
    assert result.status == CheckStatus.passed, result.reasons


def test_a_crosstab_of_whole_numbers_is_checked_without_count_names():
    result = checks.check_table(
        table("""
            grant_type,2010,2011,2012
            G,120,130,140
            R/G,8,8,8
        """),
        RULES,
    )
    assert result.status == CheckStatus.failed
    assert len(result.cells) == 3
    assert result.facts["count_columns"] == ["2010", "2011", "2012"]


@pytest.mark.parametrize(
    "text",
    [
        "commune,mean_income\nEsch,3100.5\nVianden,2900.25",
        "commune,total_amount\nEsch,3\nVianden,2900",
        "sex,label\nF,a\nM,b",
    ],
    ids=["means", "magnitude-named-integers", "no-numbers"],
)
def test_a_table_without_recognised_counts_goes_to_review(text):
    result = checks.check_table(table(text), RULES)
    assert result.status == CheckStatus.review
    assert "by hand" in result.reasons[0]


def test_a_table_that_is_too_long_or_unreadable_fails():
    rows = "\n".join(f"p{i},1" for i in range(checks.MAX_TABLE_ROWS + 1))
    long = checks.check_table(f"person,n\n{rows}".encode(), RULES)
    assert long.status == CheckStatus.failed and "rows" in long.reasons[0]
    ragged = checks.check_table(b"a,n\nx,12,13", RULES)
    assert ragged.status == CheckStatus.failed and "cannot be read" in ragged.reasons[0]
    assert checks.check_table(b"", RULES).status == CheckStatus.failed
    assert checks.check_table(b"\xff\xfe", RULES).status == CheckStatus.failed


def test_a_higher_threshold_from_the_rules_applies():
    strict = DisclosureRules(threshold=150)
    result = checks.check_table(table("sex,n\nF,120\nM,200"), strict)
    assert result.status == CheckStatus.failed
    assert result.cells[0].reasons == ("fewer than 150 people",)


# --- tables with evidence ----------------------------------------------------------------


def evidence(*cells: dict, column: str = "total", statistic: str = "sum") -> bytes:
    return json.dumps(
        {
            "version": 1,
            "groups": ["commune"],
            "aggregates": [
                {"column": column, "statistic": statistic, "cells": list(cells)}
            ],
        }
    ).encode()


SAFE_CELL = {
    "group": ["Esch"],
    "n": 200,
    "total": 100_000.0,
    "largest": [900.0, 800.0],
}
DOMINATED_CELL = {
    "group": ["Vianden"],
    "n": 40,
    "total": 100_000.0,
    "largest": [95_000.0, 1_000.0],
}


def test_evidence_applies_dominance_to_a_released_magnitude_cell():
    result = checks.check_table(
        table("commune,total\nEsch,100000\nVianden,100000"),
        RULES,
        evidence=evidence(SAFE_CELL, DOMINATED_CELL),
    )
    assert result.status == CheckStatus.failed
    assert [(c.row, c.column) for c in result.cells] == [(1, "total"), (2, "total")]
    assert any("largest contributors" in r for r in result.cells[1].reasons)


WILTZ_CELL = {
    "group": ["Wiltz"],
    "n": 30,
    "total": 60_000.0,
    "largest": [3_000.0, 2_900.0],
}


def test_evidence_accepts_failing_cells_that_the_table_suppressed():
    result = checks.check_table(
        table("commune,total\nEsch,100000\nWiltz,\nVianden,"),
        RULES,
        evidence=evidence(SAFE_CELL, WILTZ_CELL, DOMINATED_CELL),
    )
    assert result.status == CheckStatus.passed, result.reasons
    assert result.facts["evidence_cells"] == 3


def test_evidence_demands_secondary_suppression_of_a_revealing_total():
    # Esch alone beside a suppressed Vianden gives Vianden back from the overall total.
    result = checks.check_table(
        table("commune,total\nEsch,100000\nVianden,"),
        RULES,
        evidence=evidence(SAFE_CELL, DOMINATED_CELL),
    )
    assert result.status == CheckStatus.failed
    assert [(c.row, c.column) for c in result.cells] == [(1, "total")]
    assert "totals cannot reveal" in result.cells[0].reasons[0]


def test_evidence_of_a_gate_table_re_verifies_its_counts():
    cells = (
        {"group": ["Esch"], "n": 120},
        {"group": ["Wiltz"], "n": 40},
        {"group": ["Vianden"], "n": 4},
    )
    released = checks.check_table(
        table("commune,n\nEsch,120\nWiltz,\nVianden,"),
        RULES,
        evidence=evidence(*cells, column="n", statistic="count"),
    )
    assert released.status == CheckStatus.passed, released.reasons
    leaked = checks.check_table(
        table("commune,people\nEsch,120\nWiltz,40\nVianden,4"),
        RULES,
        evidence=evidence(*cells, column="people", statistic="count"),
    )
    assert leaked.status == CheckStatus.failed
    assert {(c.row, c.column) for c in leaked.cells} == {(2, "people"), (3, "people")}


@pytest.mark.parametrize(
    "sidecar",
    [b"not json", b'{"aggregates": [{"column": "total"}]}', evidence(column="other")],
    ids=["unreadable", "no-cells", "unknown-column"],
)
def test_evidence_that_cannot_be_used_sends_the_table_to_review(sidecar):
    result = checks.check_table(
        table("commune,total\nEsch,100000"), RULES, evidence=sidecar
    )
    assert result.status == CheckStatus.review


# --- regressions -------------------------------------------------------------------------


def statsmodels_summary(n: int) -> bytes:
    import statsmodels.api as sm

    generator = np.random.default_rng(11)
    x = generator.normal(size=n)
    y = 2 * x + generator.normal(size=n)
    fitted = sm.OLS(y, sm.add_constant(x)).fit()
    return str(fitted.summary()).encode()


@pytest.mark.parametrize(("n", "status"), [(9, "fail"), (52, "pass")])
def test_a_real_statsmodels_summary_is_judged_by_its_residual_dof(n, status):
    result = checks.check_regression(statsmodels_summary(n), RULES)
    assert result.status == CheckStatus(status)
    assert result.facts["df_resid"] == [n - 2]


def test_regression_df_resid_5_fails_and_50_passes():
    five = checks.check_regression(b"Df Residuals:      5\n", RULES)
    assert five.status == CheckStatus.failed
    assert five.reasons[0].startswith("A model has 5 residual degrees of freedom")
    fifty = checks.check_regression(b"Df Residuals:      50\n", RULES)
    assert fifty.status == CheckStatus.passed


def test_several_models_are_judged_by_the_smallest():
    text = b"Df Residuals: 80\n...\nDf Residuals: 9\n"
    assert checks.residual_dof(text) == [80.0, 9.0]
    assert checks.check_regression(text, RULES).status == CheckStatus.failed


def test_a_json_summary_states_df_resid():
    good = json.dumps({"model": "ols", "fit": {"df_resid": 48.0}}).encode()
    assert checks.check_regression(good, RULES).status == CheckStatus.passed
    bad = json.dumps([{"df_resid": 3}]).encode()
    assert checks.check_regression(bad, RULES).status == CheckStatus.failed


def test_a_summary_without_degrees_of_freedom_goes_to_review():
    result = checks.check_regression(b"coefficient 0.3 (0.1)", RULES)
    assert result.status == CheckStatus.review
    assert "Df Residuals" in result.reasons[0]


# --- figures and texts -------------------------------------------------------------------

PASSING = CheckResult(CheckStatus.passed, ("ok",))


def test_a_figure_without_justification_or_table_fails():
    result = checks.check_figure(
        media_type="image/png", justification=None, underlying=None
    )
    assert result.status == CheckStatus.failed
    assert len(result.reasons) == 2


@pytest.mark.parametrize(
    ("underlying", "status"),
    [
        (PASSING, CheckStatus.passed),
        (CheckResult(CheckStatus.failed, ("small",)), CheckStatus.failed),
        (CheckResult(CheckStatus.review, ("?",)), CheckStatus.review),
    ],
    ids=["table-passes", "table-fails", "table-in-review"],
)
def test_a_figure_follows_its_underlying_table(underlying, status):
    result = checks.check_figure(
        media_type="image/svg+xml",
        justification="Bars of table 1.",
        underlying=underlying,
    )
    assert result.status == status


def test_a_figure_of_another_type_fails():
    result = checks.check_figure(
        media_type="application/pdf", justification="x", underlying=PASSING
    )
    assert result.status == CheckStatus.failed


def test_a_text_goes_to_the_checkers():
    assert checks.check_text().status == CheckStatus.review


def test_the_worst_verdict_wins():
    assert checks.worst([]) == CheckStatus.passed
    assert checks.worst([CheckStatus.passed, CheckStatus.review]) == CheckStatus.review
    assert checks.worst([CheckStatus.failed, CheckStatus.review]) == CheckStatus.failed
