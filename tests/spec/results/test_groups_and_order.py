"""Groups and order: GROUP BY splits the rows into cells; ORDER BY sorts the result."""

from tests.spec.tables import WORKSPACE


def test_group_by_a_column(spec_test):
    """Each selected column that is not aggregated must be in GROUP BY; the result has one
    row per group, NULL being a group of its own."""
    spec_test(
        WORKSPACE,
        "SELECT commune, COUNT(*) AS n FROM person GROUP BY commune",
        [("Esch", 2), ("Luxembourg", 2), (None, 1)],
    )


def test_group_by_an_expression(spec_test):
    """A group may be an expression; GROUP BY names it again, by its alias or by its
    position."""
    sql = "SELECT floor(birth_year / 10) * 10 AS decade, COUNT(*) AS n FROM person"
    expected = [(1970, 1), (1980, 1), (1990, 1), (2000, 1), (None, 1)]
    spec_test(WORKSPACE, sql + " GROUP BY floor(birth_year / 10) * 10", expected)
    spec_test(WORKSPACE, sql + " GROUP BY decade", expected)
    spec_test(WORKSPACE, sql + " GROUP BY 1", expected)


def test_group_by_all(spec_test):
    """`GROUP BY ALL` groups by every selected column that is not an aggregate."""
    spec_test(
        WORKSPACE,
        "SELECT sex, year(born) < 1985 AS early, COUNT(*) AS n FROM person GROUP BY ALL",
        [("F", True, 2), ("F", False, 1), ("M", False, 1), ("M", None, 1)],
    )


def test_group_by_a_case_expression(spec_test):
    """`CASE WHEN` makes bands."""
    spec_test(
        WORKSPACE,
        "SELECT CASE WHEN amount >= 100 THEN 'high' WHEN amount >= 0 THEN 'low' "
        "ELSE 'refund' END AS band, COUNT(*) AS n FROM claim GROUP BY band",
        [("high", 1), ("low", 4), ("refund", 1)],
    )


def test_order_by_result_columns(spec_test):
    """ORDER BY names result columns by alias or position, ascending unless `DESC`; NULLs
    come last unless `NULLS FIRST`."""
    spec_test(
        WORKSPACE,
        "SELECT commune, COUNT(*) AS n FROM person GROUP BY commune ORDER BY commune DESC",
        [("Luxembourg", 2), ("Esch", 2), (None, 1)],
    )
    spec_test(
        WORKSPACE,
        "SELECT commune, COUNT(*) AS n FROM person GROUP BY commune "
        "ORDER BY 2, 1 NULLS FIRST",
        [(None, 1), ("Esch", 2), ("Luxembourg", 2)],
    )


def test_order_by_an_aggregate_expression(spec_test):
    """ORDER BY may repeat a selected aggregate instead of naming it."""
    spec_test(
        WORKSPACE,
        "SELECT care_type, SUM(amount) AS total FROM claim GROUP BY care_type "
        "ORDER BY SUM(amount)",
        [("dental", -5.0), ("gp", 61.0), ("hospital", 200.0)],
    )


def test_groups_of_a_join(spec_test):
    """Groups may come from any joined table, and several at once."""
    spec_test(
        WORKSPACE,
        "SELECT p.sex, c.year, AVG(c.amount) AS mean FROM person p "
        "JOIN claim c ON p.pseudonym = c.pseudonym GROUP BY p.sex, c.year",
        [("F", 2020, 10.0), ("F", 2021, 75.0), ("M", 2020, 20.0)],
    )
