"""Sources: the workspace tables a query reads, and how they join."""

from tests.spec.tables import WORKSPACE


def test_a_query_reads_one_workspace_table(spec_test):
    """`FROM person` reads the workspace table `person`. Table names are not case
    sensitive and may carry an alias."""
    spec_test(WORKSPACE, "SELECT COUNT(*) AS n FROM Person AS p", [(5,)])


def test_inner_join_on_the_pseudonym(spec_test):
    """`JOIN … ON a.pseudonym = b.pseudonym` keeps the rows that match on both sides.
    Joins are equi-joins on declared keys; the pseudonym is always a key."""
    spec_test(
        WORKSPACE,
        "SELECT p.sex, COUNT(*) AS claims FROM person p "
        "JOIN claim c ON p.pseudonym = c.pseudonym GROUP BY p.sex",
        [("F", 4), ("M", 1)],
    )


def test_left_join_keeps_people_without_a_match(spec_test):
    """`LEFT JOIN` keeps every row of the left side; columns of the right side are NULL
    where nothing matched, which `IS NULL` can test."""
    spec_test(
        WORKSPACE,
        "SELECT COUNT(*) AS without_claims FROM person p "
        "LEFT JOIN claim c ON p.pseudonym = c.pseudonym WHERE c.pseudonym IS NULL",
        [(2,)],
    )


def test_join_on_another_declared_key(spec_test):
    """Tables may also join on the keys their specification declares, here `commune`."""
    spec_test(
        WORKSPACE,
        "SELECT m.canton, COUNT(*) AS people FROM person p "
        "JOIN commune m ON m.commune = p.commune GROUP BY m.canton",
        [("Esch", 2), ("Luxembourg", 2)],
    )


def test_three_tables_join_in_a_chain(spec_test):
    """Each join compares the new table to one joined before it."""
    spec_test(
        WORKSPACE,
        "SELECT m.canton, SUM(c.amount) AS total FROM person p "
        "JOIN claim c ON c.pseudonym = p.pseudonym "
        "JOIN commune m ON p.commune = m.commune GROUP BY m.canton",
        [("Esch", 230.0), ("Luxembourg", 25.0)],
    )


def test_unqualified_columns_resolve_when_unambiguous(spec_test):
    """A column name found in only one joined table needs no prefix."""
    spec_test(
        WORKSPACE,
        "SELECT care_type, COUNT(*) AS n FROM person p "
        "JOIN claim c ON p.pseudonym = c.pseudonym GROUP BY care_type",
        [("gp", 3), ("hospital", 1), ("dental", 1)],
    )
