"""Filters: the WHERE clause chooses the rows an aggregate reads."""

import pytest

from tests.spec.tables import WORKSPACE

COUNT = "SELECT COUNT(*) AS n FROM person WHERE "


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("birth_year = 1980", 1),
        ("birth_year <> 1980", 3),
        ("birth_year < 1990", 2),
        ("birth_year <= 1990", 3),
        ("birth_year > 1980", 2),
        ("birth_year >= 1980", 3),
    ],
    ids=["equal", "not-equal", "less", "less-or-equal", "greater", "greater-or-equal"],
)
def test_comparisons(spec_test, condition, expected):
    """`=`, `<>`, `<`, `<=`, `>`, `>=` compare a value; a NULL compares as unknown and the
    row is left out."""
    spec_test(WORKSPACE, COUNT + condition, [(expected,)])


def test_and_or_not(spec_test):
    """`AND`, `OR` and `NOT` combine conditions, with parentheses as usual."""
    spec_test(
        WORKSPACE,
        COUNT
        + "(sex = 'F' AND birth_year > 1976) OR NOT (commune = 'Esch' OR sex = 'F')",
        [(3,)],
    )


def test_in_a_list_of_literals(spec_test):
    """`IN (…)` and `NOT IN (…)` test membership of a list of literal values."""
    spec_test(WORKSPACE, COUNT + "birth_year IN (1980, 2000, -1)", [(2,)])
    spec_test(WORKSPACE, COUNT + "commune NOT IN ('Esch')", [(2,)])


def test_between(spec_test):
    """`BETWEEN low AND high` includes both ends."""
    spec_test(WORKSPACE, COUNT + "birth_year BETWEEN 1980 AND 1990", [(2,)])
    spec_test(WORKSPACE, COUNT + "birth_year NOT BETWEEN 1980 AND 1990", [(2,)])


def test_is_null(spec_test):
    """`IS NULL` and `IS NOT NULL` test for missing values."""
    spec_test(WORKSPACE, COUNT + "birth_year IS NULL", [(1,)])
    spec_test(WORKSPACE, COUNT + "commune IS NOT NULL", [(4,)])


def test_like(spec_test):
    """`LIKE` matches a pattern: `%` any text, `_` one character. It is case sensitive on
    every engine."""
    spec_test(WORKSPACE, COUNT + "commune LIKE 'Lux%'", [(2,)])
    spec_test(WORKSPACE, COUNT + "commune LIKE 'lux%'", [(0,)])


def test_arithmetic(spec_test):
    """`+ - * / %` compute on numbers. Division is true division, and dividing by zero
    gives NULL."""
    spec_test(WORKSPACE, COUNT + "(birth_year + 10) * 2 / 4 - 1 > 994", [(2,)])
    spec_test(WORKSPACE, COUNT + "birth_year % 10 = 5", [(1,)])
    spec_test(WORKSPACE, COUNT + "birth_year / 0 IS NULL", [(5,)])
    spec_test(WORKSPACE, COUNT + "-birth_year < -1985", [(2,)])


def test_date_parts(spec_test):
    """`year()`, `month()` and `day()` read parts of a date; `DATE 'YYYY-MM-DD'` is a date
    literal."""
    spec_test(WORKSPACE, COUNT + "year(born) < 1985 AND month(born) = 3", [(1,)])
    spec_test(WORKSPACE, COUNT + "day(born) = 31", [(1,)])
    spec_test(WORKSPACE, COUNT + "born >= DATE '1990-01-01'", [(2,)])


def test_number_functions(spec_test):
    """`floor`, `ceil`, `round(x[, digits])` and `abs`."""
    spec_test(WORKSPACE, COUNT + "floor(birth_year / 1000) = 2", [(1,)])
    spec_test(WORKSPACE, COUNT + "ceil(birth_year / 1000) = 2", [(4,)])
    spec_test(WORKSPACE, COUNT + "round(birth_year / 100, 1) = 19.8", [(2,)])
    spec_test(WORKSPACE, COUNT + "abs(birth_year - 1990) <= 10", [(3,)])


def test_text_functions(spec_test):
    """`lower`, `upper`, `length` and `coalesce` (the first non-NULL argument)."""
    spec_test(WORKSPACE, COUNT + "lower(commune) = 'esch'", [(2,)])
    spec_test(WORKSPACE, COUNT + "upper(sex) = 'F' AND length(commune) = 4", [(1,)])
    spec_test(WORKSPACE, COUNT + "coalesce(commune, 'unknown') = 'unknown'", [(1,)])


def test_cast(spec_test):
    """`CAST(x AS type)` (and `x::type`) converts to INTEGER, DOUBLE, VARCHAR, DATE or
    BOOLEAN; a value that cannot convert becomes NULL."""
    spec_test(WORKSPACE, COUNT + "CAST(birth_year AS VARCHAR) LIKE '19%'", [(3,)])
    spec_test(WORKSPACE, COUNT + "CAST(commune AS INTEGER) IS NULL", [(5,)])


def test_case_when(spec_test):
    """`CASE WHEN condition THEN literal … ELSE literal END` picks the first matching
    branch."""
    spec_test(
        WORKSPACE,
        COUNT + "CASE WHEN birth_year < 1985 THEN 'old' ELSE 'young' END = 'old'",
        [(2,)],
    )


def test_filter_on_a_joined_table(spec_test):
    """A filter may use columns of every joined table."""
    spec_test(
        WORKSPACE,
        "SELECT SUM(c.amount) AS total FROM person p JOIN claim c "
        "ON p.pseudonym = c.pseudonym WHERE p.sex = 'F' AND c.care_type = 'gp'",
        [(40.0,)],
    )
