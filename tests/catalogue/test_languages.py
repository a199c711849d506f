"""Texts in every language of the EU language vocabulary, not only the form's four.

A national catalogue harvesting the EU keeps a dataset whose title is Greek: it is stored,
shown (``pick`` falls back to any language present), found by search, exported as
``@el`` literals and validated, while an unknown or malformed tag is refused.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from rdflib import Graph, Literal
from rdflib.namespace import DCTERMS
from sqlalchemy import select

from datafactory.catalogue import search, service
from datafactory.catalogue.harvest import sources
from datafactory.catalogue.harvest.run import harvest
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import (
    FALLBACK,
    LANGUAGES,
    TEXT_LANGUAGES,
    DatasetDraft,
    check_text,
    language_of,
    pick,
    pick_language,
)
from datafactory.catalogue.search import SearchQuery, Sort
from datafactory.catalogue.validation import Profile, validate
from datafactory.catalogue.vocabularies import load
from datafactory.identity.actor import Actor
from tests.catalogue.test_datasets import COMPLETE, bearer, create
from tests.catalogue.test_datasets import world as world  # noqa: F401 (a fixture)
from tests.catalogue.test_search import published
from tests.factories import organisation

EU = "http://publications.europa.eu/resource/authority"
OPERATOR = Actor(ref="system:cli", name="cli", roles=frozenset({("admin", None)}))
BASE = "https://data.example.lu"
GREEK_TITLE = "Πληθυσμός μελισσών στην Ελλάδα"

# A record as a Greek catalogue publishes it: every text in Greek only, one language tag
# with a region subtag, one in a language outside the vocabulary (Catalan), and the
# dct:language given as the EU authority's code.
GREEK_RECORD = f"""
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .

<https://data.gov.gr/id/dataset/bees> a dcat:Dataset ;
    dct:identifier "bees" ;
    dct:title "{GREEK_TITLE}"@el ;
    dct:description "Ετήσια καταμέτρηση των μελισσών ανά περιφέρεια."@el-GR ,
        "Recompte anual de les abelles."@ca ;
    dcat:keyword "μέλισσες"@el , "abelles"@ca ;
    dct:language <{EU}/language/ELL> ;
    dcat:contactPoint [ a vcard:Kind ; vcard:fn "ΕΛΣΤΑΤ" ;
        vcard:hasEmail <mailto:info@statistics.gr> ] ;
    dcat:distribution [ a dcat:Distribution ;
        dcat:accessURL <https://data.gov.gr/bees.csv> ;
        dct:format <{EU}/file-type/CSV> ;
        dct:license <{EU}/licence/CC_BY_4_0> ] .
"""


# --- the model ---------------------------------------------------------------------------


def test_the_text_languages_are_the_vocabularys_iso_639_1_codes():
    codes = {c.extra["iso_639_1"] for c in load("language")}
    assert TEXT_LANGUAGES == codes
    assert set(LANGUAGES) <= TEXT_LANGUAGES
    # The 24 official languages of the EU, and Luxembourgish.
    assert len(TEXT_LANGUAGES) == 25 and {"el", "ga", "mt", "lb"} <= TEXT_LANGUAGES


@pytest.mark.parametrize(
    ("tag", "key"),
    [
        ("el", "el"),
        ("EL", "el"),
        ("el-GR", "el"),
        ("pt_BR", "pt"),
        ("sr-Latn-RS", None),  # Serbian: not in the vocabulary
        ("ell", "el"),  # the EU authority's code
        ("gre", "el"),  # ISO 639-2/B
        ("ltz", "lb"),
        ("ca", None),
        ("e l", None),
        ("", None),
        ("english", None),
    ],
)
def test_a_language_tag_is_normalised_to_its_two_letter_code(tag, key):
    assert language_of(tag) == key


def test_unknown_malformed_and_doubled_tags_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="unknown language 'ca'"):
        check_text({"ca": "Conjunt de dades"})
    with pytest.raises(ValueError, match="not a language tag"):
        check_text({"e l": "x"})
    with pytest.raises(ValueError, match="are both el"):
        check_text({"el": "α", "el-GR": "β"})
    # A blank text in a known language is left out, not refused.
    assert check_text({"el-GR": "  ", "el": " α "}) == {"el": "α"}


def test_keywords_take_the_same_languages():
    draft = DatasetDraft.model_validate(
        {"title": {"el": "α"}, "keywords": {"el": ["μέλισσες"], "ell": ["μέλι"]}}
    )
    assert draft.keywords == {"el": ["μέλι", "μέλισσες"]}
    with pytest.raises(ValidationError, match="unknown language 'xx'"):
        DatasetDraft.model_validate({"title": {"el": "α"}, "keywords": {"xx": ["a"]}})


def _variants(code: str) -> st.SearchStrategy[str]:
    """Ways a source may write the tag of ``code``: any case, with a region subtag."""
    return st.tuples(
        st.sampled_from([code, code.upper(), code.title()]),
        st.sampled_from(["", "-LU", "-gr", "_BE", "-Latn"]),
    ).map("".join)


@st.composite
def texts(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str]]:
    """A raw text (tags as sources write them) and what ``check_text`` must make of it."""
    codes = draw(st.sets(st.sampled_from(sorted(TEXT_LANGUAGES)), max_size=8))
    raw, expected = {}, {}
    for code in sorted(codes):
        value = draw(st.text(min_size=1, max_size=20))
        raw[draw(_variants(code))] = value
        if value.strip():
            expected[code] = value.strip()
    return raw, expected


@given(texts())
def test_check_text_keeps_every_accepted_language(case):
    raw, expected = case
    assert check_text(raw) == expected


@given(
    texts(),
    st.one_of(
        st.sampled_from(sorted(TEXT_LANGUAGES)),
        st.text(string.ascii_letters, max_size=5),
    ),
)
def test_pick_never_returns_blank_when_any_text_is_present(case, lang):
    text = check_text(case[0])
    shown = pick(text, lang)
    assert bool(shown.strip()) == bool(text)
    if text:
        assert shown == text[pick_language(text, lang) or ""]


def test_pick_prefers_the_readers_language_then_the_fallback_then_the_alphabet():
    text = {"pt": "Abelhas", "el": "Μέλισσες", "de": "Bienen", "en": "Bees"}
    assert pick(text, "en") == "Bees"
    assert pick(text, "lb") == "Bienen"  # FALLBACK: fr, de, en, lb
    assert pick(text, "el-GR") == "Μέλισσες"
    assert FALLBACK == ("fr", "de", "en", "lb")
    others = {"pt": "Abelhas", "el": "Μέλισσες"}
    assert pick(others, "fr") == "Μέλισσες"  # el before pt
    assert pick({}, "fr") == "" and pick({"el": "  "}, "fr") == ""


# --- the API -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "says"),
    [
        ({"xx": "Unknown"}, "unknown language 'xx'"),
        ({"e n": "Malformed"}, "not a language tag"),
        ({"ca": "Conjunt de dades"}, "unknown language 'ca'"),
    ],
)
def test_the_api_refuses_a_bad_tag_with_a_problem_on_the_field(
    client, world, title, says
):
    refused = create(client, world, metadata={**COMPLETE, "title": title})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    errors = refused.json()["errors"]
    on_title = [e for e in errors if e["field"].split(".")[-1] == "title"]
    assert on_title and says in on_title[0]["message"], errors


def test_the_api_keeps_a_greek_text_and_normalises_its_tag(client, world):
    metadata = {**COMPLETE, "title": {**COMPLETE["title"], "el-GR": GREEK_TITLE}}
    created = create(client, world, metadata=metadata)
    assert created.status_code == 201, created.text
    dataset_id = created.json()["id"]
    draft = client.get(
        f"/api/v1/datasets/{dataset_id}?draft=true",
        headers=bearer(world["steward"].token),
    ).json()
    assert draft["metadata"]["title"]["el"] == GREEK_TITLE
    assert "el-GR" not in draft["metadata"]["title"]


# --- harvest, export, search ---------------------------------------------------------------


@pytest.fixture
def greek_source(committed, tmp_path) -> str:
    path = tmp_path / "greek.ttl"
    path.write_text(GREEK_RECORD, encoding="utf-8")

    def make(session):
        organisation(session, "statec")
        sources.add_source(
            session,
            OPERATOR,
            name="gr",
            type=sources.SourceType.dcat,
            url=str(path),
            publisher="statec",
            allow_private_network=True,
        )

    committed(make)
    return "gr"


def test_a_greek_record_is_harvested_published_exported_and_validated(
    runtime, db, client, greek_source
):
    report = harvest(runtime.sessions, OPERATOR, source=greek_source, base_url=BASE)
    assert (report["created"], report["failed"]) == (1, 0), report["failures"]
    notes = " ".join(n["note"] for n in report["notes"])
    assert "dropped the languages ca" in notes
    dataset = db.scalars(select(Dataset)).one()
    assert dataset.status == "published"
    meta = service.metadata_of(db, dataset)
    assert meta.title == {"el": GREEK_TITLE}
    assert set(meta.description) == {"el"}  # el-GR became el; ca was dropped
    assert meta.keywords == {"el": ["μέλισσες"]}
    graph = service.dataset_graph(db, dataset, BASE)
    titles = set(graph.objects(None, DCTERMS.title))
    assert Literal(GREEK_TITLE, lang="el") in titles
    report = validate(graph, [Profile.dcat_ap_3, Profile.dcat_ap_lu])
    assert report.violations == [], report.violations[:3]
    # Its page shows the Greek title to a reader of any language.
    page = client.get(f"/datasets/{dataset.id}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and f"<h1>{GREEK_TITLE}</h1>" in page.text
    # And the catalogue's own export has it, as data.europa.eu reads it.
    response = client.get("/catalogue.ttl")
    assert response.status_code == 200
    exported = Graph().parse(data=response.text, format="turtle")
    assert Literal(GREEK_TITLE, lang="el") in set(exported.objects(None, DCTERMS.title))


@pytest.mark.parametrize(
    "words",
    ["μελισσών", "ΜΕΛΙΣΣΩΝ", "μελισσων", "Ελλάδα", "μέλισσες", "πληθυσμός ελλαδα"],
)
def test_search_finds_a_greek_word_with_or_without_accents(db, words):
    statec = organisation(db, "statec")
    published(
        db,
        statec,
        {
            **COMPLETE,
            "title": {"el": GREEK_TITLE},
            "description": {"el": "Ετήσια καταμέτρηση."},
            "keywords": {"el": ["μέλισσες"]},
        },
        dataset_id="bees",
    )
    published(db, statec, COMPLETE, days=1, dataset_id="population")
    found = search.search(db, SearchQuery(text=words))
    assert found.items == ("bees",)
    # A Greek-only title still sorts, by itself, in every reader's language.
    for lang in LANGUAGES:
        ordered = search.search(db, SearchQuery(sort=Sort.TITLE, lang=lang))
        assert set(ordered.items) == {"bees", "population"}
