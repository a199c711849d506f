"""The gate's parser beyond the language itself (tests/spec): what an Analysis knows, and
how refusals read."""

from __future__ import annotations

import pytest

from datafactory.core.errors import InvalidInput
from datafactory.spe import analysis as m
from datafactory.spe.parse import QueryRefused, parse, parse_condition
from datafactory.spe.tables import ColumnSpec, TableSpec

PERSON = TableSpec(
    "person",
    (
        ColumnSpec("pseudonym", sensitivity="direct_identifier"),
        ColumnSpec("sex"),
        ColumnSpec("birth_year", "integer"),
        ColumnSpec("commune"),
    ),
    unit_unique=True,
    keys=("commune",),
)
CLAIM = TableSpec(
    "claim",
    (
        ColumnSpec("pseudonym", sensitivity="direct_identifier"),
        ColumnSpec("year", "integer"),
        ColumnSpec("amount", "decimal"),
    ),
)
TABLES = {"person": PERSON, "Claim": CLAIM}


def test_an_analysis_knows_its_parts():
    analysis = parse(
        "SELECT p.sex, year AS y, COUNT(*) AS n, SUM(c.amount) AS total, "
        "COUNT(DISTINCT c.pseudonym) AS people FROM person p "
        "LEFT JOIN claim c ON c.pseudonym = p.pseudonym "
        "WHERE p.birth_year > 1970 GROUP BY 1, y ORDER BY total DESC",
        TABLES,
    )
    assert analysis.group_aliases == ("sex", "y")
    assert analysis.aggregate_aliases == ("n", "total", "people")
    assert [a.kind for a in analysis.aggregates] == [
        m.AggregateKind.count,
        m.AggregateKind.sum,
        m.AggregateKind.count_distinct,
    ]
    assert analysis.columns == ("sex", "y", "n", "total", "people")
    assert analysis.unit == m.Column("person", "pseudonym")
    assert not analysis.rows_are_units
    assert analysis.order == (m.OrderItem("total", descending=True),)
    assert analysis.source.signature == (
        "person LEFT JOIN claim AS claim ON person.pseudonym = claim.pseudonym"
    )
    assert analysis.canonical_filter == '"person"."birth_year" > 1970'


def test_user_aliases_do_not_change_the_source_or_the_filter():
    one = parse("SELECT COUNT(*) AS n FROM person a WHERE a.sex = 'F'", TABLES)
    two = parse("SELECT COUNT(*) AS k FROM PERSON AS b WHERE sex = 'F'", TABLES)
    assert one.source == two.source
    assert one.canonical_filter == two.canonical_filter


def test_a_table_joined_twice_gets_a_second_canonical_alias():
    analysis = parse(
        "SELECT COUNT(*) AS n FROM claim a JOIN claim b ON a.pseudonym = b.pseudonym",
        TABLES,
    )
    assert [t.alias for t in analysis.source.tables] == ["claim", "claim_2"]


@pytest.mark.parametrize(
    "where",
    [
        "sex = 'F' AND (birth_year BETWEEN 1950 AND 1990 OR commune IS NULL)",
        "NOT sex IN ('F', 'M') AND birth_year % 2 = -1",
        "CASE WHEN lower(sex) LIKE 'f%' THEN 1 ELSE 0 END = 1",
        "CAST(year(CAST(birth_year AS VARCHAR)) AS INTEGER) / 2 > 3.5",
        "pseudonym IS NOT NULL",
    ],
)
def test_a_canonical_filter_reads_back_as_the_same_expression(where):
    analysis = parse(f"SELECT COUNT(*) AS n FROM person WHERE {where}", TABLES)
    assert analysis.canonical_filter is not None
    again = parse_condition(analysis.canonical_filter, analysis.source, TABLES)
    assert m.walk(again) is not None
    assert parse_condition(
        analysis.canonical_filter, analysis.source, TABLES
    ) == parse_condition(analysis.canonical_filter, analysis.source, TABLES)


def test_a_canonical_filter_is_read_through_the_whitelist():
    source = parse("SELECT COUNT(*) AS n FROM person", TABLES).source
    with pytest.raises(QueryRefused, match="function getenv"):
        parse_condition("getenv('HOME') = 'x'", source, TABLES)


def test_a_refusal_lists_every_refused_construct():
    with pytest.raises(QueryRefused) as refused:
        parse(
            "SELECT DISTINCT sex, pseudonym, MAX(pseudonym) AS m FROM person "
            "WHERE getenv('x') = 1 LIMIT 5",
            TABLES,
        )
    assert isinstance(refused.value, InvalidInput)
    reasons = refused.value.reasons
    assert any("SELECT DISTINCT" in r for r in reasons)
    assert any("LIMIT" in r for r in reasons)
    assert refused.value.problem()["reasons"] == reasons


def test_refusals_name_the_construct_in_plain_words():
    cases = {
        "SELECT COUNT(*) AS n FROM persons": "unknown table 'persons'",
        "SELECT COUNT(nope) AS n FROM person": "unknown column 'nope'",
        "SELECT COUNT(pseudonym) AS n FROM person p JOIN claim c ON p.pseudonym = c.pseudonym": "ambiguous",
        "SELECT SUM(amount) / COUNT(*) AS r FROM claim": "inside an expression",
        "SELECT COUNT(*) AS n, COUNT(*) AS n FROM claim": "two result columns",
        "SELECT year, COUNT(*) AS n FROM claim GROUP BY year, amount": "also be selected",
        "SELECT year FROM claim GROUP BY year": "at least one aggregate",
        "SELECT COUNT(*) AS n FROM claim ORDER BY amount": "only result columns",
        "SELECT STDDEV_POP(amount) AS s FROM claim": "stddev_pop",
        "SELECT COUNT(*) AS n FROM claim RIGHT JOIN person ON claim.pseudonym = person.pseudonym": "RIGHT JOIN",
        "SELECT COUNT(*) AS n FROM claim c JOIN person p USING (pseudonym)": "USING",
        "SELECT MAX(amount, 2) AS m FROM claim": "extra arguments",
        "SELECT COUNT(*) AS n FROM claim WHERE amount IN (1, year)": "literal",
        "SELECT COUNT(*) AS n FROM claim WHERE amount ILIKE 'x'": "not supported",
        "SELECT COUNT(*) AS n": "FROM",
    }
    for sql, reason in cases.items():
        with pytest.raises(QueryRefused) as refused:
            parse(sql, TABLES)
        assert reason.lower() in refused.value.detail.lower(), (
            sql,
            refused.value.detail,
        )


def test_count_distinct_of_the_pseudonym_counts_people():
    analysis = parse("SELECT COUNT(DISTINCT pseudonym) AS people FROM claim", TABLES)
    assert analysis.aggregates[0].kind is m.AggregateKind.count_distinct


def test_the_model_refuses_what_the_parser_would():
    with pytest.raises(ValueError, match="not allowed"):
        m.Function("getenv", (m.Literal("HOME"),))
    with pytest.raises(ValueError, match="literals"):
        m.InList(m.Column("person", "sex"), (m.Column("person", "sex"),))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one aggregate"):
        m.Analysis(
            source=m.Source(m.TableRef("person", "person")),
            specs=(PERSON,),
            filter=None,
            groups=(),
            aggregates=(),
            columns=(),
        )
    with pytest.raises(ValueError, match="no column"):
        m.Analysis(
            source=m.Source(m.TableRef("person", "person")),
            specs=(PERSON,),
            filter=m.IsNull(m.Column("person", "nope")),
            groups=(),
            aggregates=(m.Aggregate(m.AggregateKind.count, None, "n"),),
            columns=("n",),
        )
