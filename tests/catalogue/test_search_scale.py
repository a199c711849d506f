"""Catalogue search past a few datasets: estimates, tiers, kept counts, ids, migration.

``store``'s limits (10,000 exact matches, samples of 2,000) are lowered here so that a few
dozen datasets exercise the paths a catalogue of a million takes. docs/search.md, "How a
search runs", describes them; bench/search.py measures them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from datafactory import migrations
from datafactory.catalogue import search
from datafactory.catalogue.schemas import DatasetDraft
from datafactory.catalogue.search import SearchQuery, Sort, store
from datafactory.catalogue.search.entries import sample_tokens
from datafactory.catalogue.search.sqlite import fts_tokens
from datafactory.core.db import make_engine
from tests.catalogue.test_datasets import COMPLETE
from tests.catalogue.test_search import EU, published, with_
from tests.conftest import BACKEND, PG_URL
from tests.factories import organisation


def numbered(db, org, n, *, start=0, **changes):
    made = [
        published(
            db,
            org,
            with_(COMPLETE, **changes),
            days=start + i,
            dataset_id=f"d{start + i:03d}",
        )
        for i in range(n)
    ]
    db.commit()
    return made


def counts(result, facet):
    return {
        v.value: v.count
        for v in next(f for f in result.facets if f.name == facet).values
    }


def test_a_large_result_set_is_paged_exactly_and_counted_from_a_sample(db, monkeypatch):
    statec = organisation(db, "statec")
    numbered(db, statec, 40)
    monkeypatch.setattr(store, "EXACT_LIMIT", 5)
    monkeypatch.setattr(store, "SAMPLE_SIZE", 1000)

    result = search.search(db, SearchQuery(text="population", page_size=3))
    assert result.items == ("d039", "d038", "d037")  # the page itself is exact
    by_title = SearchQuery(text="population", sort=Sort.TITLE, page=2, page_size=2)
    assert search.search(db, by_title).items == ("d002", "d003")  # same titles: by id
    assert result.total_approximate and result.facets_approximate
    # Sample tokens put about one document in four in the 1-in-4 sample.
    sampled = sum(1 for i in range(40) if "s4" in sample_tokens(f"d{i:03d}"))
    assert result.total == max(4 * sampled, 6)  # never under EXACT_LIMIT + 1
    assert counts(result, "publisher") == {"statec": result.total}

    # One facet value alone: its count is kept, so the total stays exact.
    alone = search.search(db, SearchQuery(filters={"publisher": ("statec",)}))
    assert (alone.total, alone.total_approximate) == (40, False)
    assert alone.facets_approximate

    # No words, no filters: the kept counts, exact however large.
    everything = search.search(db, SearchQuery())
    assert (everything.total, everything.facets_approximate) == (40, False)
    assert counts(everything, "theme") == {"SOCI": 40}


def test_past_the_lookup_limit_facets_come_from_a_random_subset(db, monkeypatch):
    statec = organisation(db, "statec")
    numbered(db, statec, 12)
    monkeypatch.setattr(store, "LOOKUP_LIMIT", 4)
    result = search.search(db, SearchQuery(text="population"))
    assert (result.total, result.total_approximate) == (12, False)
    # PostgreSQL reads each match's tokens with the match; SQLite would look each up.
    assert result.facets_approximate == (BACKEND == "sqlite")
    assert counts(result, "theme") == {"SOCI": 12}


def test_relevance_puts_every_word_in_the_title_first_newest_first(db):
    statec = organisation(db, "statec")
    in_title = with_(COMPLETE, title={"en": "Water quality"})
    in_body = with_(
        COMPLETE, title={"en": "Rivers"}, description={"en": "Water quality of rivers"}
    )
    for day, meta in enumerate([in_title, in_body, in_title, in_body, in_body]):
        published(db, statec, meta, days=day, dataset_id=f"w{day}")
    db.commit()

    def page(number, size=2):
        query = SearchQuery(text="water quality", page=number, page_size=size)
        return search.search(db, query).items

    assert page(1, 5) == ("w2", "w0", "w4", "w3", "w1")
    assert page(1) + page(2) + page(3) == page(1, 5)  # pages across the tiers
    assert search.search(db, SearchQuery(text="water", start=3)).items == ("w3", "w1")
    # Only one of the words in a title is not the title tier.
    partly = search.search(db, SearchQuery(text="rivers quality")).items
    assert partly == ("w4", "w3", "w1")


def test_kept_counts_follow_republication_and_deletion(db):
    statec = organisation(db, "statec")
    dataset = published(db, statec, COMPLETE, dataset_id="p1")
    published(db, statec, COMPLETE, days=1, dataset_id="p2")
    assert counts(search.search(db, SearchQuery()), "theme") == {"SOCI": 2}

    changed = with_(
        COMPLETE, themes=[f"{EU}/data-theme/ENER"], keywords={"en": ["kWh"]}
    )
    search.index_dataset(db, dataset, DatasetDraft.model_validate(changed))
    assert counts(search.search(db, SearchQuery()), "theme") == {"SOCI": 1, "ENER": 1}
    assert search.values_of(db, "keyword") == ["commune", "kWh", "population"]

    search.remove(db, "p2")
    assert counts(search.search(db, SearchQuery()), "theme") == {"ENER": 1}
    assert search.values_of(db, "keyword") == ["kWh"]
    assert search.search(db, SearchQuery(filters={"theme": ("SOCI",)})).total == 0


def test_datasets_published_in_the_same_microsecond_get_their_own_ids(db):
    statec = organisation(db, "statec")
    for name in ("first", "second", "third"):
        published(db, statec, COMPLETE, dataset_id=name)  # all at T0
    assert search.search(db, SearchQuery(sort=Sort.MODIFIED)).items == (
        "third",
        "second",
        "first",
    )
    ids = db.scalars(text("SELECT id FROM search_documents ORDER BY id")).all()
    assert len(set(ids)) == 3 and ids[-1] - ids[0] == 2


@pytest.mark.parametrize(
    "word", ["a_b", "é_x", "\u03d2", "\u13f8", "\u4e2d\u6587", "x\u0301y", "__"]
)
def test_words_the_tokenizer_splits_never_fail(db, word):
    statec = organisation(db, "statec")
    published(db, statec, with_(COMPLETE, title={"en": f"Odd {word} title"}))
    result = search.search(db, SearchQuery(text=word, filters={"open": ("true",)}))
    assert result.total <= 1


def test_fts_tokens_are_the_tokenizers_own():
    assert fts_tokens("population") == ("population",)
    assert fts_tokens("a_b") == ("a", "b")
    assert fts_tokens("\u4e2d\u6587") == ("\u4e2d\u6587",)


def test_the_native_api_says_which_counts_are_estimates(client, db, monkeypatch):
    statec = organisation(db, "statec")
    numbered(db, statec, 8)
    body = client.get("/api/v1/datasets", params={"q": "population"}).json()
    assert (body["total"], body["total_approximate"], body["facets_approximate"]) == (
        8,
        False,
        False,
    )
    monkeypatch.setattr(store, "EXACT_LIMIT", 2)
    body = client.get("/api/v1/datasets", params={"q": "population"}).json()
    assert body["total_approximate"] and body["facets_approximate"]
    assert [d["id"] for d in body["items"]][:2] == ["d007", "d006"]


def test_the_page_and_the_ckan_api_say_which_counts_are_estimates(
    client, db, monkeypatch
):
    statec = organisation(db, "statec")
    numbered(db, statec, 8)
    page = client.get("/datasets", params={"q": "population"}).text
    assert "8 datasets found" in page and "≈" not in page
    ckan = client.get("/api/3/action/package_search", params={"q": "population"})
    assert ckan.json()["result"]["count_is_estimate"] is False

    monkeypatch.setattr(store, "EXACT_LIMIT", 2)
    page = client.get("/datasets", params={"q": "population"}).text
    assert "About" in page and "≈" in page
    assert "estimates from a sample" in page
    ckan = client.get("/api/3/action/package_search", params={"q": "population"})
    result = ckan.json()["result"]
    assert result["count_is_estimate"] is True
    assert result["facets_are_estimates"] is True


# -- migration 0007 ---------------------------------------------------------------------


@pytest.fixture
def bare_url(tmp_path):
    """An empty database (no migrations yet) of the suite's backend."""
    if PG_URL is None:
        yield f"sqlite:///{tmp_path / 'bare.sqlite3'}"
        return
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _old_index(connection, doc_id, dataset_id, title, body, facets, day):
    at = datetime(2025, 3, day, 12, 0, tzinfo=UTC)
    stored = at.replace(tzinfo=None) if connection.dialect.name == "sqlite" else at
    connection.execute(
        text(
            "INSERT INTO datasets (id, publisher_id, status, draft, version, "
            "created_at, modified_at, published_at) "
            "VALUES (:id, 1, 'published', '{}', 1, :at, :at, :at)"
        ),
        {"id": dataset_id, "at": stored},
    )
    connection.execute(
        text(
            "INSERT INTO search_documents (id, dataset_id, publisher_id, modified_at, "
            "title_lb, title_fr, title_de, title_en) "
            "VALUES (:doc, :id, 1, :at, :t, :t, :t, :t)"
        ),
        {"doc": doc_id, "id": dataset_id, "at": stored, "t": title.lower()},
    )
    connection.execute(
        text("INSERT INTO search_facets (doc_id, facet, value) VALUES (:d, :f, :v)"),
        [{"d": doc_id, "f": f, "v": v} for f, v in facets],
    )
    if connection.dialect.name == "sqlite":
        connection.execute(
            text("INSERT INTO search_fts (rowid, title, body) VALUES (:d, :t, :b)"),
            {"d": doc_id, "t": title, "b": body},
        )
    else:
        connection.execute(
            text(
                "UPDATE search_documents SET "
                "tsv_en = setweight(to_tsvector('english', :t), 'A') || "
                "setweight(to_tsvector('english', :b), 'B') WHERE id = :d"
            ),
            {"d": doc_id, "t": title, "b": body},
        )


def test_migration_0007_converts_an_existing_index(bare_url):
    engine = make_engine(bare_url)
    migrations.upgrade(engine, "0006_permits")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organisations (id, slug, name, kind, is_public_sector, "
                "created_at) VALUES (1, 'statec', 'STATEC', 'data_holder', true, "
                "CURRENT_TIMESTAMP)"
            )
        )
        common = [("publisher", "statec"), ("open", "true"), ("theme", "SOCI")]
        _old_index(
            connection, 1, "older", "Population by commune", "Residents", common, 1
        )
        _old_index(
            connection,
            2,
            "newer",
            "Electricity prices",
            "Population weighted",
            [*common[:2], ("theme", "ENER")],
            2,
        )
    migrations.upgrade(engine)

    with Session(engine) as session:
        found = search.search(session, SearchQuery(text="population"))
        assert found.items == ("older", "newer")  # the title tier first
        assert counts(found, "theme") == {"SOCI": 1, "ENER": 1}
        assert search.search(session, SearchQuery(sort=Sort.MODIFIED)).items == (
            "newer",
            "older",
        )
        assert search.search(
            session, SearchQuery(filters={"theme": ("ENER",)})
        ).items == ("newer",)
        everything = search.search(session, SearchQuery())
        assert (everything.total, counts(everything, "open")) == (2, {"true": 2})
        ids = session.scalars(text("SELECT id FROM search_documents ORDER BY id")).all()
        assert ids[0] == 1_740_830_400_000_000  # 2025-03-01 12:00 UTC, in microseconds

    # And back, and forth again.
    config = migrations.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006_permits")
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT doc_id, facet, value FROM search_facets ORDER BY doc_id, facet"
            )
        ).all()
        assert [tuple(r) for r in rows][:3] == [
            (1, "open", "true"),
            (1, "publisher", "statec"),
            (1, "theme", "SOCI"),
        ]
    migrations.upgrade(engine)
    with Session(engine) as session:
        assert search.search(session, SearchQuery(text="electricity")).items == (
            "newer",
        )
    engine.dispose()


def test_each_facet_lists_its_most_frequent_values_ties_to_the_first_indexed(
    db, monkeypatch
):
    statec = organisation(db, "statec")
    for day, words in enumerate([["zebra", "apple"], ["zebra", "mango"], ["kiwi"]]):
        published(
            db,
            statec,
            with_(COMPLETE, keywords={"en": words}),
            days=day,
            dataset_id=f"k{day}",
        )
    db.commit()
    monkeypatch.setattr(store, "FACET_LIMIT", 2)
    # zebra (2), then apple, mango and kiwi (1 each): apple was indexed first.
    for query in (SearchQuery(), SearchQuery(text="population")):
        assert counts(search.search(db, query), "keyword") == {"zebra": 2, "apple": 1}
