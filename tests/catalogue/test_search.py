"""Catalogue search: words in every language, facets, sorts, paging, the CKAN subset.

Written once, run on whichever backend the suite runs on (SQLite FTS5 or PostgreSQL full
text). Most datasets are published by ``published`` below, which writes what the service
writes and indexes through the same ``search.index_dataset`` call, because full SHACL
validation costs about half a second per dataset; the service's own calls are covered by
``test_the_service_indexes_on_publish_and_unindexes_on_delete``.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import ckanapi
import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from datafactory.catalogue import search, service
from datafactory.catalogue.models import Dataset, DatasetVersion
from datafactory.catalogue.schemas import DatasetDraft
from datafactory.catalogue.search import SearchQuery, Sort
from datafactory.catalogue.search.store import documents, facet_values
from tests.catalogue.test_datasets import COMPLETE, PROTECTED
from tests.factories import SYSTEM, organisation

EU = "http://publications.europa.eu/resource/authority"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def published(session, org, metadata, *, days=0, dataset_id=None):
    """A published dataset, as ``service.publish_dataset`` leaves it, minus SHACL."""
    meta = DatasetDraft.model_validate(metadata)
    at = T0 + timedelta(days=days)
    dataset = Dataset(
        id=dataset_id or service.new_dataset_id(),
        publisher_id=org.id,
        status="published",
        draft=meta.model_dump(mode="json"),
        version=1,
        published_at=at,
        modified_at=at,
    )
    session.add(dataset)
    session.add(
        DatasetVersion(
            dataset_id=dataset.id,
            number=1,
            document=dataset.draft,
            published_at=at,
            published_by="test",
        )
    )
    session.flush()
    search.index_dataset(session, dataset, meta)
    return dataset


def with_(base, **changes):
    return {**base, **changes}


@pytest.fixture
def catalogue(db):
    statec, cns = organisation(db, "statec"), organisation(db, "cns")
    made = {
        "population": published(db, statec, COMPLETE, days=1, dataset_id="population"),
        "claims": published(db, cns, PROTECTED, days=2, dataset_id="claims"),
        "bevoelkerung": published(
            db,
            statec,
            with_(
                COMPLETE,
                title={
                    "de": "Bevölkerung nach Gemeinde",
                    "lb": "Awunner vun de Gemengen",
                },
                description={"de": "Einwohner am 1. Januar."},
                keywords={"de": ["Einwohner"]},
                themes=[f"{EU}/data-theme/SOCI", f"{EU}/data-theme/REGI"],
            ),
            days=3,
            dataset_id="bevoelkerung",
        ),
        "energy": published(
            db,
            statec,
            with_(
                COMPLETE,
                title={"en": "Electricity prices", "fr": "Prix de l'électricité"},
                description={"en": "Household prices per kWh; population weighted."},
                keywords={"en": ["energy"]},
                themes=[f"{EU}/data-theme/ENER"],
            ),
            days=4,
            dataset_id="energy",
        ),
    }
    db.commit()
    return made


def ids(session, **query):
    return search.search(session, SearchQuery(**query)).items


def test_words_match_in_every_language_whatever_the_case_and_accents(db, catalogue):
    assert set(ids(db, text="bevolkerung")) == {"bevoelkerung"}  # ö without its dots
    assert set(ids(db, text="GEMENGEN")) == {"bevoelkerung"}  # Luxembourgish title
    assert set(ids(db, text="électricité")) == {"energy"}
    assert set(ids(db, text="electricite prix")) == {"energy"}
    assert set(ids(db, text="einwohner")) == {"bevoelkerung"}  # a German keyword
    assert ids(db, text="nowhere-to-be-found") == ()


def test_plural_finds_singular_on_both_backends(db, catalogue):
    # PostgreSQL's french stemmer and SQLite's Porter stemmer both reduce "communes"
    # and "commune" to "commun"; docs/search.md says where the two backends differ.
    assert "population" in ids(db, text="communes")
    assert "energy" in ids(db, text="prices")
    assert "energy" in ids(db, text="price")


def test_every_word_must_match(db, catalogue):
    assert set(ids(db, text="population")) == {"population", "energy"}
    assert set(ids(db, text="population commune")) == {"population"}


def test_facets_count_the_current_result_set_with_labels_in_the_readers_language(
    db, catalogue
):
    result = search.search(db, SearchQuery(lang="fr"))
    counts = {f.name: {v.value: v.count for v in f.values} for f in result.facets}
    labels = {f.name: {v.value: v.label for v in f.values} for f in result.facets}
    assert result.total == 4
    assert counts["publisher"] == {"statec": 3, "cns": 1}
    assert counts["theme"] == {"SOCI": 2, "REGI": 1, "ENER": 1}
    assert counts["open"] == {"true": 3, "false": 1}
    assert counts["access_rights"] == {"PUBLIC": 3, "NON_PUBLIC": 1}
    assert counts["format"] == {"CSV": 3}
    assert counts["licence"] == {"CC_BY_4_0": 3}
    assert counts["language"] == {"FRA": 3}
    assert labels["theme"]["ENER"] == "Énergie"
    assert labels["open"]["false"] == "Protégé"
    assert labels["publisher"]["statec"] == "STATEC"

    narrowed = search.search(db, SearchQuery(text="population"))
    themes = next(f for f in narrowed.facets if f.name == "theme")
    assert {v.value: v.count for v in themes.values} == {"SOCI": 1, "ENER": 1}


def test_filters_or_within_a_facet_and_across_facets(db, catalogue):
    assert set(ids(db, filters={"theme": ("ENER", "REGI")})) == {
        "energy",
        "bevoelkerung",
    }
    assert set(ids(db, filters={"theme": ("SOCI",), "open": ("true",)})) == {
        "population",
        "bevoelkerung",
    }
    assert ids(db, filters={"open": ("false",)}) == ("claims",)
    assert ids(db, filters={"publisher": ("cns",), "theme": ("ENER",)}) == ()
    # Codes, IRIs and aliases name the same value.
    assert set(ids(db, filters={"theme": (f"{EU}/data-theme/ENER",)})) == {"energy"}
    assert set(ids(db, filters={"format": ("text/csv",), "keyword": ("energy",)})) == {
        "energy"
    }


def test_every_sort(db, catalogue):
    assert ids(db, sort=Sort.MODIFIED) == (
        "energy",
        "bevoelkerung",
        "claims",
        "population",
    )
    # No words: relevance falls back to the newest first.
    assert ids(db, sort=Sort.RELEVANCE) == ids(db, sort=Sort.MODIFIED)
    assert ids(db, sort=Sort.TITLE, lang="en") == (
        "bevoelkerung",  # "Bevölkerung …" (no English title: French, German, English)
        "energy",  # "Electricity prices"
        "claims",  # "Health-insurance claims"
        "population",  # "Population by commune"
    )
    # A title match outranks a match in the description only.
    assert ids(db, text="population", sort=Sort.RELEVANCE) == ("population", "energy")


def test_pages_and_total(db, catalogue):
    first = search.search(db, SearchQuery(sort=Sort.MODIFIED, page=1, page_size=3))
    second = search.search(db, SearchQuery(sort=Sort.MODIFIED, page=2, page_size=3))
    assert (first.total, second.total) == (4, 4)
    assert len(first.items) == 3 and len(second.items) == 1
    assert not set(first.items) & set(second.items)


def test_the_service_indexes_on_publish_and_unindexes_on_delete(db):
    org = organisation(db, "statec")
    draft = service.create_dataset(
        db, SYSTEM, publisher_id=org.id, metadata=DatasetDraft.model_validate(COMPLETE)
    )
    assert ids(db, text="population") == ()  # drafts never appear
    service.publish_dataset(db, SYSTEM, dataset_id=draft.id, base_url="http://test")
    assert ids(db, text="population") == (draft.id,)
    service.edit_dataset(
        db, SYSTEM, dataset_id=draft.id, changes={"title": {"en": "Draft only"}}
    )
    assert ids(db, text="draft") == ()  # the working copy is not public
    service.delete_dataset(db, SYSTEM, dataset_id=draft.id, reason="Superseded.")
    assert ids(db, text="population") == ()
    assert db.scalar(select(func.count()).select_from(documents)) == 0
    assert db.scalar(select(func.sum(facet_values.c.documents))) == 0


HOSTILE = [
    '"',
    '"unclosed',
    "*",
    "pop*",
    "NEAR(",
    "NEAR(a b",
    "'",
    "' OR 1=1 --",
    "--",
    "a AND OR NOT b",
    "title:population",
    "^caret {col}: (x)",
    "\\",
    "%_",
    "x" * 1900,
    "population " * 150,
    "ö" * 500,
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:20]))
def test_hostile_query_text_never_fails(client, catalogue, text):
    answer = client.get("/api/v1/datasets", params={"q": text})
    assert answer.status_code == 200, answer.text
    ckan = client.get("/api/3/action/package_search", params={"q": text})
    assert ckan.status_code in (200, 409), ckan.text


def test_the_native_api_searches_filters_sorts_and_pages(client, catalogue):
    answer = client.get(
        "/api/v1/datasets",
        params={
            "q": "population",
            "theme": ["SOCI", "ENER"],
            "publisher": "statec",
            "open": "true",
            "sort": "title",
            "page_size": 1,
        },
        headers={"Accept-Language": "en"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 2
    assert [d["id"] for d in body["items"]] == ["energy"]
    themes = {v["value"]: v for v in body["facets"]["theme"]}
    assert themes["ENER"] == {
        "value": "ENER",
        "label": "Energy",
        "count": 1,
        "selected": True,
    }
    assert client.get("/api/v1/datasets", params={"page_size": 1001}).status_code == 422
    assert client.get("/api/v1/datasets", params={"sort": "nope"}).status_code == 422


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_url(app):
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws="none",
            http="h11",
            loop="asyncio",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def test_an_unmodified_ckan_client_reads_the_catalogue(catalogue, live_url):
    ckan = ckanapi.RemoteCKAN(live_url, user_agent="datafactory-tests")
    found = ckan.action.package_search(
        q="population",
        fq="organization:statec res_format:CSV",
        rows=10,
        sort="metadata_modified desc",
        **{"facet.field": '["organization", "tags", "groups"]'},
    )
    assert found["count"] == 2
    assert [p["name"] for p in found["results"]] == ["energy", "population"]
    tags = {i["name"]: i["count"] for i in found["search_facets"]["tags"]["items"]}
    assert tags["energy"] == 1
    assert found["results"][1]["organization"]["name"] == "statec"
    assert found["results"][1]["resources"][0]["format"] == "CSV"

    paged = ckan.action.package_search(rows=1, start=3, sort="title_string asc")
    assert (paged["count"], [p["id"] for p in paged["results"]]) == (4, ["population"])
    assert ckan.action.package_search(fq="tags:Einwohner")["count"] == 1

    shown = ckan.action.package_show(id="claims")
    assert shown["organization"]["name"] == "cns"
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="nothing-here")
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(fq="nosuchfield:x")
    assert ckan.action.organization_list() == ["cns", "statec"]
    assert "Einwohner" in ckan.action.tag_list()
    assert "CC_BY_4_0" in {lic["id"] for lic in ckan.action.license_list()}

    get_only = ckanapi.RemoteCKAN(live_url, get_only=True)
    assert get_only.action.package_search(q="electricite")["count"] == 1
