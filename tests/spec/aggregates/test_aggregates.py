"""Aggregates: every result column is a statistic over the rows of a group."""

import pytest

from tests.spec.tables import WORKSPACE


def test_count_rows(spec_test):
    """`COUNT(*)` counts rows."""
    spec_test(WORKSPACE, "SELECT COUNT(*) AS n FROM claim", [(6,)])


def test_count_values(spec_test):
    """`COUNT(x)` counts the rows where `x` is not NULL."""
    spec_test(WORKSPACE, "SELECT COUNT(birth_year) AS n FROM person", [(4,)])


def test_count_distinct(spec_test):
    """`COUNT(DISTINCT x)` counts different values; it is the one aggregate allowed on the
    pseudonym, to count people."""
    spec_test(
        WORKSPACE, "SELECT COUNT(DISTINCT pseudonym) AS people FROM claim", [(4,)]
    )
    spec_test(WORKSPACE, "SELECT COUNT(DISTINCT care_type) AS types FROM claim", [(3,)])


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("SUM", 256.0),
        ("AVG", 256.0 / 6),
        ("MEAN", 256.0 / 6),
        ("MEDIAN", 15.0),
        ("MIN", -5.0),
        ("MAX", 200.0),
        ("STDDEV", 78.1067645384615),
        ("STDDEV_SAMP", 78.1067645384615),
        ("VARIANCE", 6100.666666666667),
        ("VAR_SAMP", 6100.666666666667),
    ],
)
def test_statistics_of_a_column(spec_test, function, expected):
    """`SUM`, `AVG` (or `MEAN`), `MEDIAN`, `MIN`, `MAX`, `STDDEV` (sample standard
    deviation, also `STDDEV_SAMP`) and `VARIANCE` (sample variance, also `VAR_SAMP`)
    summarise a numeric expression, ignoring NULLs."""
    spec_test(WORKSPACE, f"SELECT {function}(amount) AS s FROM claim", [(expected,)])


def test_aggregate_of_an_expression(spec_test):
    """An aggregate's argument may be an expression of the row."""
    spec_test(
        WORKSPACE,
        "SELECT SUM(CASE WHEN amount > 15 THEN 1 ELSE 0 END) AS big, "
        "MAX(2021 - year) AS oldest FROM claim",
        [(3, 1)],
    )


def test_aliases_are_generated_when_missing(spec_test):
    """A result column without `AS name` is named after its statistic and column, or
    `count` for `COUNT(*)`."""
    spec_test(
        WORKSPACE,
        "SELECT care_type, COUNT(*), SUM(amount) FROM claim GROUP BY care_type",
        [("gp", 4, 61.0), ("hospital", 1, 200.0), ("dental", 1, -5.0)],
        columns=["care_type", "count", "sum_amount"],
    )


def test_aggregates_over_an_empty_selection(spec_test):
    """Without GROUP BY there is one result row even when no row matches: counts are 0,
    other statistics NULL."""
    spec_test(
        WORKSPACE,
        "SELECT COUNT(*) AS n, SUM(amount) AS total FROM claim WHERE year > 3000",
        [(0, None)],
    )
