"""The data.europa.eu MQA scorer: table, bands, shares, links and real fixtures."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from datafactory.catalogue.mqa import (
    DIMENSIONS,
    INDICATORS,
    MAX_TOTAL,
    DatasetScore,
    DefaultVocabularies,
    band_for,
    catalogue_score,
    score_dataset,
)
from tests.support.shared import FIXTURES as SHARED_FIXTURES  # noqa: E402

DS = "https://data.public.lu/id/dataset/population"
FIXTURES = SHARED_FIXTURES / "dcat" / "dcat-ap-3.0.1-examples"
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"

COMPLETE = f"""
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .

<{DS}> a dcat:Dataset ;
    dct:title "Population by commune"@en, "Population par commune"@fr ;
    dct:description "Resident population on 1 January."@en ;
    dcat:keyword "population"@en, "démographie"@fr ;
    dcat:theme <{EU}data-theme/SOCI> ;
    dct:spatial <{EU}country/LUX> ;
    dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "2020-01-01"^^xsd:date ] ;
    dct:accessRights <{EU}access-right/PUBLIC> ;
    dcat:contactPoint [ a vcard:Organization ; vcard:hasEmail <mailto:info@statec.lu> ] ;
    dct:publisher <https://data.public.lu/id/organization/statec> ;
    dct:issued "2020-03-01"^^xsd:date ;
    dct:modified "2024-03-01"^^xsd:date ;
    dcat:distribution <{DS}/csv>, <{DS}/json> .

<{DS}/csv> a dcat:Distribution ;
    dcat:accessURL <https://data.public.lu/population> ;
    dcat:downloadURL <https://download.data.public.lu/population.csv> ;
    dct:format <{EU}file-type/CSV> ;
    dcat:mediaType <{IANA}text/csv> ;
    dct:license <{EU}licence/CC_BY_4_0> ;
    dct:rights [ a dct:RightsStatement ] ;
    dcat:byteSize "14253"^^xsd:nonNegativeInteger .

<{DS}/json> a dcat:Distribution ;
    dcat:accessURL <https://data.public.lu/population> ;
    dcat:downloadURL <https://download.data.public.lu/population.json> ;
    dct:format <{EU}file-type/JSON> ;
    dcat:mediaType <{IANA}application/json> ;
    dct:license <{EU}licence/CC_BY_4_0> ;
    dct:rights [ a dct:RightsStatement ] ;
    dcat:byteSize "20480"^^xsd:nonNegativeInteger .
"""

ALL_LINKS: dict[str, bool | None] = {
    "https://data.public.lu/population": True,
    "https://download.data.public.lu/population.csv": True,
    "https://download.data.public.lu/population.json": True,
}


def graph_of(turtle: str) -> Graph:
    return Graph().parse(data=turtle, format="turtle")


def by_name(score: DatasetScore, name: str) -> float:
    return next(s.points for s in score.indicators if s.indicator == name)


def indicator(score: DatasetScore, name: str):
    return next(s for s in score.indicators if s.indicator == name)


# --- the table ---------------------------------------------------------------


def test_the_table_sums_to_405_points():
    assert sum(row.points for row in INDICATORS) == MAX_TOTAL == 405
    assert len(INDICATORS) == 23


def test_each_dimension_has_its_methodology_points():
    per = {d: sum(r.points for r in INDICATORS if r.dimension == d) for d in DIMENSIONS}
    assert per == {
        "Findability": 100,
        "Accessibility": 100,
        "Interoperability": 110,
        "Reusability": 75,
        "Contextuality": 20,
    }


def test_indicator_names_and_keys_are_unique():
    assert len({r.name for r in INDICATORS}) == len({r.key for r in INDICATORS}) == 23


# --- whole datasets ----------------------------------------------------------


def test_an_empty_dataset_scores_zero_and_bad():
    score = score_dataset(Graph(), DS, link_status={}, shacl_conforms=None)
    assert score.total == 0
    assert score.band == "Bad"
    assert score.max_total == 405
    assert len(score.indicators) == 23


def test_a_complete_dataset_scores_405_and_excellent():
    score = score_dataset(
        graph_of(COMPLETE), DS, link_status=ALL_LINKS, shacl_conforms=True
    )
    missing = [s for s in score.indicators if s.points != s.max_points]
    assert missing == []
    assert score.total == 405
    assert score.band == "Excellent"
    assert score.by_dimension() == {
        "Findability": 100,
        "Accessibility": 100,
        "Interoperability": 110,
        "Reusability": 75,
        "Contextuality": 20,
    }


def test_shacl_violations_cost_the_compliance_points():
    graph = graph_of(COMPLETE)
    score = score_dataset(graph, DS, link_status=ALL_LINKS, shacl_conforms=False)
    assert score.total == 375
    assert indicator(score, "DCAT-AP compliance").detail == "SHACL violations"
    unvalidated = score_dataset(graph, DS, link_status=ALL_LINKS, shacl_conforms=None)
    assert indicator(unvalidated, "DCAT-AP compliance").detail == "not checked"


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "Bad"),
        (120, "Bad"),
        (120.5, "Bad"),
        (121, "Sufficient"),
        (220, "Sufficient"),
        (221, "Good"),
        (350, "Good"),
        (350.5, "Good"),
        (351, "Excellent"),
        (405, "Excellent"),
    ],
    ids=str,
)
def test_band_boundaries(total, band):
    assert band_for(total) == band


# --- distributions -----------------------------------------------------------


TWO_DISTRIBUTIONS = f"""
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<{DS}> dcat:distribution <{DS}/a>, <{DS}/b> .
<{DS}/a> dcat:accessURL <https://a.example/> ;
    dct:license <{EU}licence/CC_BY_4_0> .
<{DS}/b> dcat:accessURL <https://b.example/> ;
    dct:format <{EU}file-type/CSV> .
"""


def test_distribution_indicators_score_the_share_that_meets_them():
    score = score_dataset(
        graph_of(TWO_DISTRIBUTIONS),
        DS,
        link_status={"https://a.example/": True, "https://b.example/": False},
        shacl_conforms=None,
    )
    assert by_name(score, "Licence information") == 10
    assert by_name(score, "Licence vocabulary") == 5
    assert by_name(score, "AccessURL accessibility") == 25
    assert indicator(score, "Licence information").detail == "1/2 distributions"


def test_interoperability_counts_the_best_distribution_only():
    score = score_dataset(
        graph_of(TWO_DISTRIBUTIONS), DS, link_status={}, shacl_conforms=None
    )
    # b has an EU CSV format: format 20 + non-proprietary 20 + machine-readable 20.
    assert by_name(score, "Format") == 20
    assert by_name(score, "Non-proprietary") == 20
    assert by_name(score, "Machine-readable") == 20
    assert by_name(score, "Media type") == 0
    assert f"{DS}/b" in indicator(score, "Format").detail


def test_links_not_checked_score_zero_and_are_flagged():
    score = score_dataset(
        graph_of(COMPLETE),
        DS,
        link_status={"https://data.public.lu/population": None},
        shacl_conforms=True,
    )
    access = indicator(score, "AccessURL accessibility")
    download = indicator(score, "DownloadURL accessibility")
    assert access.points == download.points == 0
    assert access.not_checked == ("https://data.public.lu/population",)
    assert set(download.not_checked) == {
        "https://download.data.public.lu/population.csv",
        "https://download.data.public.lu/population.json",
    }
    assert "not checked" in access.detail
    assert score.total == 405 - 80


def test_literal_urls_and_formats_are_read_but_not_from_a_vocabulary():
    graph = Graph()
    dist = BNode()
    graph.add((URIRef(DS), DCAT.distribution, dist))
    graph.add((dist, DCAT.accessURL, Literal("https://x.example/")))
    graph.add((dist, DCTERMS.format, Literal("CSV")))
    score = score_dataset(
        graph, DS, link_status={"https://x.example/": True}, shacl_conforms=None
    )
    assert by_name(score, "AccessURL accessibility") == 50
    assert by_name(score, "Format") == 20
    assert by_name(score, "Machine-readable") == 0


def test_default_vocabularies_know_the_eu_authority_lists():
    v = DefaultVocabularies()
    assert v.is_file_type(f"{EU}file-type/PDF")
    assert not v.is_file_type(f"{EU}file-type/")
    assert v.is_media_type(f"{IANA}text/csv")
    assert v.is_media_type("http://www.iana.org/assignments/media-types/text/csv")
    assert not v.is_media_type("text/csv")
    assert v.is_non_proprietary(f"{EU}file-type/CSV")
    assert not v.is_non_proprietary(f"{EU}file-type/XLSX")
    assert v.is_machine_readable(f"{EU}file-type/XLSX")
    assert not v.is_machine_readable(f"{EU}file-type/PDF")
    assert v.is_licence(f"{EU}licence/CC_BY_4_0")
    assert not v.is_licence("https://creativecommons.org/licenses/by/4.0/")
    assert v.is_access_right(f"{EU}access-right/PUBLIC")


class EverythingIsInTheVocabulary:
    def is_file_type(self, iri: str) -> bool:
        return True

    is_media_type = is_non_proprietary = is_machine_readable = is_file_type
    is_licence = is_access_right = is_file_type


def test_vocabularies_plug_in_through_the_protocol():
    turtle = f"""
    @prefix dcat: <http://www.w3.org/ns/dcat#> .
    @prefix dct: <http://purl.org/dc/terms/> .
    <{DS}> dcat:distribution <{DS}/a> .
    <{DS}/a> dct:format "csv" ; dcat:mediaType "text/csv" ; dct:license "cc-by" .
    """
    graph = graph_of(turtle)
    default = score_dataset(graph, DS, link_status={}, shacl_conforms=None)
    plugged = score_dataset(
        graph,
        DS,
        link_status={},
        shacl_conforms=None,
        vocabularies=EverythingIsInTheVocabulary(),
    )
    assert plugged.total - default.total == 10 + 20 + 20 + 10


# --- catalogue ---------------------------------------------------------------


def test_the_catalogue_score_is_the_average_of_its_datasets():
    full = score_dataset(
        graph_of(COMPLETE), DS, link_status=ALL_LINKS, shacl_conforms=True
    )
    empty = score_dataset(Graph(), DS, link_status={}, shacl_conforms=None)
    result = catalogue_score([full, empty])
    assert result.average == 202.5
    assert result.band == "Sufficient"
    assert result.by_dimension["Interoperability"] == 55
    assert result.datasets == 2


def test_an_empty_catalogue_scores_zero():
    result = catalogue_score([])
    assert (result.average, result.band, result.datasets) == (0, "Bad", 0)


# --- properties --------------------------------------------------------------

_DATASET_PROPS = [
    (DCAT.keyword, Literal("bees")),
    (DCAT.theme, URIRef(f"{EU}data-theme/AGRI")),
    (DCTERMS.spatial, URIRef(f"{EU}country/LUX")),
    (DCTERMS.temporal, BNode("period")),
    (DCTERMS.accessRights, URIRef(f"{EU}access-right/PUBLIC")),
    (DCTERMS.accessRights, Literal("public")),
    (DCAT.contactPoint, BNode("contact")),
    (DCTERMS.publisher, URIRef("https://example.lu/org")),
    (DCTERMS.issued, Literal("2024-01-01")),
    (DCTERMS.modified, Literal("2024-02-01")),
]
_DIST_PROPS = [
    (DCAT.accessURL, URIRef("https://ok.example/")),
    (DCAT.accessURL, URIRef("https://broken.example/")),
    (DCAT.accessURL, URIRef("https://unknown.example/")),
    (DCAT.downloadURL, URIRef("https://ok.example/file")),
    (DCAT.downloadURL, URIRef("https://broken.example/file")),
    (DCTERMS.format, URIRef(f"{EU}file-type/CSV")),
    (DCTERMS.format, URIRef(f"{EU}file-type/XLSX")),
    (DCTERMS.format, Literal("CSV")),
    (DCAT.mediaType, URIRef(f"{IANA}text/csv")),
    (DCAT.mediaType, Literal("text/csv")),
    (DCTERMS.license, URIRef(f"{EU}licence/CC_BY_4_0")),
    (DCTERMS.license, URIRef("https://creativecommons.org/licenses/by/4.0/")),
    (DCTERMS.rights, BNode("rights")),
    (DCAT.byteSize, Literal(42)),
]
_LINKS: dict[str, bool | None] = {
    "https://ok.example/": True,
    "https://ok.example/file": True,
    "https://broken.example/": False,
    "https://broken.example/file": False,
}

_dataset_props = st.sets(st.sampled_from(range(len(_DATASET_PROPS))))
_distributions = st.lists(
    st.sets(st.sampled_from(range(len(_DIST_PROPS)))), min_size=0, max_size=3
)


def _build(dataset_props, distributions) -> Graph:
    graph = Graph()
    ds = URIRef(DS)
    graph.add((ds, RDF.type, DCAT.Dataset))
    for i in dataset_props:
        graph.add((ds, *_DATASET_PROPS[i]))
    for n, props in enumerate(distributions):
        dist = URIRef(f"{DS}/dist/{n}")
        graph.add((ds, DCAT.distribution, dist))
        for i in props:
            graph.add((dist, *_DIST_PROPS[i]))
    return graph


def _score(graph: Graph, shacl: bool | None) -> DatasetScore:
    return score_dataset(graph, DS, link_status=_LINKS, shacl_conforms=shacl)


@settings(max_examples=60, deadline=None)
@given(_dataset_props, _distributions, st.sampled_from([True, False, None]))
def test_total_is_bounded_and_is_the_sum_of_indicators(props, dists, shacl):
    score = _score(_build(props, dists), shacl)
    assert 0 <= score.total <= 405
    assert score.total == pytest.approx(sum(s.points for s in score.indicators))
    assert all(0 <= s.points <= s.max_points for s in score.indicators)
    assert score.band == band_for(score.total)


@settings(max_examples=60, deadline=None)
@given(_dataset_props, _distributions, st.data())
def test_adding_a_property_never_lowers_the_score(props, dists, data):
    graph = _build(props, dists)
    before = _score(graph, None).total
    targets = ["dataset", *range(len(dists))]
    target = data.draw(st.sampled_from(targets))
    if target == "dataset":
        graph.add((URIRef(DS), *data.draw(st.sampled_from(_DATASET_PROPS))))
    else:
        dist = URIRef(f"{DS}/dist/{target}")
        graph.add((dist, *data.draw(st.sampled_from(_DIST_PROPS))))
    assert _score(graph, None).total >= before - 1e-9


# --- real fixtures -----------------------------------------------------------

needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason="shared fixtures are not present"
)


@needs_fixtures
def test_the_bee_population_example_earns_only_the_publisher_points():
    graph = Graph().parse(FIXTURES / "example-bee-population.ttl")
    score = score_dataset(
        graph,
        "https://data.gov.gr/id/dataset/BeePopulation",
        link_status={},
        shacl_conforms=None,
    )
    earned = {s.indicator: s.points for s in score.indicators if s.points}
    assert earned == {"Publisher": 10}
    assert indicator(score, "Format").detail == "no distribution"
    assert indicator(score, "Licence information").detail == "0/0 distributions"
    assert (score.total, score.band) == (10, "Bad")


@needs_fixtures
def test_the_series_example_earns_spatial_and_dates():
    graph = Graph().parse(
        FIXTURES / "example-bee-population-dataset-series-modified.ttl"
    )
    score = score_dataset(
        graph,
        "https://data.gov.gr/id/dataset/BeePopulation2023",
        link_status={},
        shacl_conforms=None,
    )
    earned = {s.indicator: s.points for s in score.indicators if s.points}
    assert earned == {"Geo search": 20, "Date of issue": 5, "Modification date": 5}
    assert score.total == 30
