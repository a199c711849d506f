"""Cell statistics: the hidden columns the disclosure rules read, never shown to a user.

`__n` counts the people (distinct pseudonyms) in a cell, or rows when the table has no
pseudonym. For each SUM or AVG `a`: `__total__a` is the sum of its values,
`__largest1__a` and `__largest2__a` the two largest contributions of one person (the sum of
their values in the cell), and `__negative__a` whether any value is negative.
"""

from tests.spec.tables import WORKSPACE

HIDDEN = ["__n", "__total__t", "__largest1__t", "__largest2__t", "__negative__t"]


def test_people_in_a_register(spec_test):
    """In a table with one row per person, people are rows."""
    spec_test(
        WORKSPACE,
        "SELECT sex, SUM(birth_year) AS t FROM person GROUP BY sex",
        [("F", 5955.0, 2000.0, 1980.0, False), ("M", 1990.0, 1990.0, None, False)],
        columns=["sex", *HIDDEN[1:]],
    )


def test_people_with_several_rows(spec_test):
    """When a person has several rows, `__n` counts the person once and their
    contribution is the sum of their rows."""
    spec_test(
        WORKSPACE,
        "SELECT year, SUM(amount) AS t FROM claim GROUP BY year",
        [(2020, 3, 31.0, 20.0, 10.0, False), (2021, 2, 225.0, 200.0, 25.0, True)],
        columns=["year", *HIDDEN],
    )


def test_people_across_a_join_with_other_statistics(spec_test):
    """The same holds next to statistics that do not add up per person (a median)."""
    spec_test(
        WORKSPACE,
        "SELECT p.sex, AVG(c.amount) AS t, MEDIAN(c.amount) AS m FROM person p "
        "JOIN claim c ON p.pseudonym = c.pseudonym GROUP BY p.sex",
        [("F", 2, 235.0, 210.0, 25.0, True), ("M", 1, 20.0, 20.0, None, False)],
        columns=["sex", *HIDDEN],
    )


def test_people_in_a_global_aggregate(spec_test):
    """Without groups the whole selection is one cell."""
    spec_test(
        WORKSPACE,
        "SELECT COUNT(DISTINCT care_type) AS types, COUNT(*) AS n FROM claim",
        [(4,)],
        columns=["__n"],
    )


def test_rows_of_a_table_without_people(spec_test):
    """A table without a pseudonym counts rows."""
    spec_test(WORKSPACE, "SELECT COUNT(*) AS n FROM commune", [(2,)], columns=["__n"])
