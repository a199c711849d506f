"""Facet value ids looked up once per transaction stay right across savepoints.

``store._value_ids`` remembers the ids a transaction has seen, so a batch of publications
asks once per value. A savepoint that inserted a value and rolled back takes the row
with it: the next document must get a value row that exists, and counts that add up.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from datafactory.catalogue import search
from datafactory.catalogue.search import SearchQuery
from datafactory.catalogue.search.store import facet_values
from tests.catalogue.test_datasets import COMPLETE
from tests.catalogue.test_search import published, with_
from tests.factories import organisation

THEME = "http://publications.europa.eu/resource/authority/data-theme/TECH"


def _counts(session) -> dict[tuple[str, str], int]:
    return {
        (r.facet, r.value): r.documents
        for r in session.execute(
            select(facet_values.c.facet, facet_values.c.value, facet_values.c.documents)
        )
    }


def test_a_value_inserted_in_a_rolled_back_savepoint_is_looked_up_again(db):
    org = organisation(db, "statec")
    metadata = with_(COMPLETE, themes=[THEME])
    with pytest.raises(RuntimeError):
        with db.begin_nested():
            published(db, org, metadata, dataset_id="gone")
            raise RuntimeError("this item fails after indexing")
    assert ("theme", "TECH") not in _counts(db)
    published(db, org, metadata, dataset_id="kept")
    published(db, org, metadata, dataset_id="kept2", days=1)
    db.flush()
    counts = _counts(db)
    assert counts[("theme", "TECH")] == 2
    found = search.search(db, SearchQuery(filters={"theme": ("TECH",)}))
    assert sorted(found.items) == ["kept", "kept2"]


def test_counts_match_the_documents_after_many_publications_in_one_transaction(db):
    orgs = [organisation(db, "statec"), organisation(db, "cns")]
    for n in range(12):
        published(
            db,
            orgs[n % 2],
            with_(COMPLETE, themes=[THEME] if n % 3 else []),
            dataset_id=f"d{n:02d}",
            days=n,
        )
    db.flush()
    counts = _counts(db)
    assert counts[("theme", "TECH")] == 8
    assert sum(v for (f, _), v in counts.items() if f == "publisher") == 12
