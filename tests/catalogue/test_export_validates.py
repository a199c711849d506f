"""The demo catalogue, exported page by page, meets the shapes it claims: 0 violations."""

from __future__ import annotations

import math

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, RDF

from datafactory import demo
from datafactory.catalogue.rdf import DATASET_SERIES
from datafactory.catalogue.validation import Profile, validate
from datafactory.demo import records as demo_records

HYDRA_NEXT = URIRef("http://www.w3.org/ns/hydra/core#next")
HARVESTED = 6  # the datasets of the demo's harvest source
MEMBERS = len(demo_records.YEARS)  # the yearly datasets of the demo's dataset series
TOTAL = len(demo.DATASETS) + HARVESTED + MEMBERS
HVD = sum(1 for _, _, metadata in demo.DATASETS if metadata.get("hvd_categories"))
HVD_SERVICES = 1  # the statistics API
RECORDS = 2  # the demo's data service and dataset series, paged after the datasets


@pytest.fixture
def demo_catalogue(committed, runtime, settings):
    committed(lambda session: demo.load(session, settings.base_url))
    report = demo.harvest_portal(runtime.sessions, settings.base_url)
    assert report["created"] == HARVESTED and report["failed"] == 0


def export_all(client, profile: str) -> Graph:
    merged, address = Graph(), f"/catalogue.ttl?page_size=4&profile={profile}"
    pages = 0
    while address:
        response = client.get(address)
        assert response.status_code == 200, response.text
        page = Graph().parse(data=response.content, format="turtle")
        merged += page
        pages += 1
        following = next(page.objects(None, HYDRA_NEXT), None)
        address = str(following).split("8000", 1)[-1] if following else ""
    assert pages == math.ceil((TOTAL + RECORDS) / 4), "the members at four a page"
    return merged


@pytest.mark.parametrize(
    ("profile", "shapes"),
    [
        ("dcat-ap-3.0.1", [Profile.dcat_ap_3, Profile.dcat_ap_lu]),
        ("dcat-ap-2.1.1", [Profile.dcat_ap_2]),
    ],
)
def test_the_exported_demo_catalogue_has_no_violation(
    client, demo_catalogue, profile, shapes
):
    graph = export_all(client, profile)
    series = 1 if profile == "dcat-ap-2.1.1" else 0  # 2.1.1 has no dcat:DatasetSeries
    assert len(set(graph.subjects(RDF.type, DCAT.Dataset))) == TOTAL + series
    assert len(set(graph.subjects(RDF.type, DCAT.DataService))) == 1
    assert len(set(graph.subjects(RDF.type, DATASET_SERIES))) == 1 - series
    report = validate(graph, shapes)
    assert report.violations == []
    assert report.conforms


def test_the_high_value_datasets_pass_the_hvd_shapes(client, demo_catalogue):
    """The HVD shapes target every dataset, so each HVD dataset is checked on its own."""
    graph = export_all(client, "dcat-ap-3.0.1")
    hvd = set(graph.subjects(URIRef("http://data.europa.eu/r5r/hvdCategory"), None))
    assert len(hvd) == HVD + HVD_SERVICES
    for dataset in hvd:
        own = client.get(
            str(dataset).split("8000", 1)[-1], headers={"Accept": "text/turtle"}
        )
        report = validate(
            Graph().parse(data=own.content, format="turtle"), [Profile.hvd]
        )
        assert report.conforms, [v.message for v in report.violations][:5]


def test_an_unknown_profile_is_refused(client):
    response = client.get("/catalogue.ttl?profile=dcat-ap-9")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "profile"
