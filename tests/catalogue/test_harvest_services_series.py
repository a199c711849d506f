"""Harvesting data services and dataset series from real fixtures, with their links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rdflib import URIRef
from rdflib.namespace import DCAT
from sqlalchemy import select

from datafactory.catalogue import records, service
from datafactory.catalogue.harvest import sources
from datafactory.catalogue.harvest.run import harvest
from datafactory.catalogue.models import CatalogueRecord, Dataset
from datafactory.catalogue.rdf import IN_SERIES
from datafactory.catalogue.validation import Profile, validate
from datafactory.core.db import utcnow
from datafactory.identity.actor import Actor
from tests.factories import organisation
from tests.support.shared import FIXTURES, needs_shared

DCAT_DIR = FIXTURES / "dcat"
BASE = "https://data.example.lu"
OPERATOR = Actor(ref="system:cli", name="cli", roles=frozenset({("admin", None)}))

HVD = DCAT_DIR / "dcat-ap-hvd-3.0.0-examples"
SERIES_FILES = [
    p
    for p in sorted((DCAT_DIR / "dcat-ap-3.0.1-examples").glob("*dataset-series*.ttl"))
    if "a dcat:DatasetSeries" in p.read_text()
]
SERVICE_FILES = [
    *sorted(HVD.glob("example-data_service_*.ttl")),
    HVD / "example-ms_dataset_data_service.ttl",
    DCAT_DIR / "udata-harvest-tests" / "catalog.xml",
    DCAT_DIR / "udata-harvest-tests" / "bnodes.xml",
    DCAT_DIR / "udata-harvest-tests" / "udata.xml",
    DCAT_DIR / "ckanext-dcat-examples" / "dataset.rdf",
]


@pytest.fixture
def add(committed):
    committed(lambda s: organisation(s, "statec"))

    def make(name: str, url: str, **options):
        return committed(
            lambda s: (
                sources.add_source(
                    s,
                    OPERATOR,
                    name=name,
                    type=sources.SourceType.dcat,
                    url=url,
                    publisher="statec",
                    allow_private_network=True,
                    **options,
                ).id
            )
        )

    return make


@pytest.fixture
def run(runtime):
    def go(name: str, **options):
        return harvest(
            runtime.sessions, OPERATOR, source=name, base_url=BASE, **options
        )

    return go


def published(db, kind: str) -> list[CatalogueRecord]:
    db.expire_all()
    return list(
        db.scalars(
            select(CatalogueRecord).where(
                CatalogueRecord.kind == kind, CatalogueRecord.status == "published"
            )
        )
    )


def conforms(db, record: CatalogueRecord) -> list[str]:
    graph = records.record_graph(db, record, BASE)
    profiles = [Profile.dcat_ap_3, Profile.dcat_ap_lu]
    if records.metadata_of(db, record).is_hvd:
        profiles.append(Profile.hvd)
    return [v.message for v in validate(graph, profiles).violations]


@needs_shared
def test_every_service_fixture_brings_its_services_which_validate(add, run, db):
    created = 0
    for number, path in enumerate(SERVICE_FILES):
        add(f"s{number}", str(path))
        report = run(f"s{number}")
        assert report["services"]["failed"] == 0, report["services"]["failures"]
        assert report["services"]["created"] >= 1, path.name
        created += report["services"]["created"]
    services = published(db, "service")
    assert len(services) == created >= len(SERVICE_FILES)
    for record in services:
        assert conforms(db, record) == [], record.remote_id


@needs_shared
def test_a_file_holding_only_a_service_is_harvested(add, run, db):
    add("hvd", str(HVD / "example-data_service_openapi_sla.ttl"))
    report = run("hvd")
    assert report["services"]["created"] == 1 and report["created"] == 0
    (record,) = published(db, "service")
    meta = records.metadata_of(db, record)
    assert [str(u) for u in meta.documentation] == [
        "https://orgea.examplems.gov/api/sla.html"
    ]
    # c_b7f6a4f3 is a sub-category; our vocabulary holds the six top categories.
    assert any("c_b7f6a4f3" in n["note"] for n in report["notes"])
    assert record.remote_iri == "https://data.exampleMS.gov/id/dataset/EAMS-APIplatform"


@needs_shared
@pytest.mark.parametrize("path", SERIES_FILES, ids=lambda p: p.name)
def test_series_fixtures_bring_their_series(add, run, db, path):
    add("series", str(path))
    report = run("series")
    assert report["series"]["created"] >= 1, report["series"]["failures"]
    for record in published(db, "series"):
        assert conforms(db, record) == []


@needs_shared
def test_services_link_to_the_datasets_harvested_with_them(add, run, db):
    add("ms", str(HVD / "example-ms_dataset_data_service.ttl"))
    report = run("ms")
    assert (report["created"], report["services"]["created"]) == (2, 1)
    (record,) = published(db, "service")
    graph = records.record_graph(db, record, BASE)
    served = set(graph.objects(None, DCAT.servesDataset))
    datasets = {
        URIRef(f"{BASE}/id/dataset/{d.id}") for d in db.scalars(select(Dataset))
    }
    assert served == datasets, "the remote IRIs became our URIs"
    for dataset in db.scalars(select(Dataset)):
        assert [s.id for s in records.services_serving(db, dataset)] == [record.id]


@needs_shared
def test_an_inline_access_service_is_linked_from_its_distribution(add, run, db):
    add("ckan", str(DCAT_DIR / "ckanext-dcat-examples" / "dataset.rdf"))
    report = run("ckan")
    assert report["created"] == 1 and report["services"]["created"] == 1
    (record,) = published(db, "service")
    dataset = db.scalars(select(Dataset)).one()
    graph = service.dataset_graph(db, dataset, BASE)
    linked = set(graph.objects(None, DCAT.accessService))
    assert linked == {URIRef(f"{BASE}/id/service/{record.id}")}


@needs_shared
def test_members_name_their_series_and_the_series_lists_them(add, run, db, tmp_path):
    # SEMIC's bee examples give their members no title; this copy gives one of the two
    # its own, and the other takes the series' (tests/catalogue/test_harvest.py).
    source = (
        DCAT_DIR
        / "dcat-ap-3.0.1-examples"
        / "example-bee-population-dataset-series.ttl"
    )
    text = source.read_text().replace(
        "example-ds:BeePopulation2022 a dcat:Dataset;",
        'example-ds:BeePopulation2022 a dcat:Dataset; dct:title "Bees 2022"@en;',
    )
    copy = tmp_path / "bees.ttl"
    copy.write_text(text)
    add("bees", str(copy))
    report = run("bees")
    assert report["created"] == 2 and report["series"]["created"] == 1
    (series,) = published(db, "series")
    members = records.series_members(db, series)
    assert len(members) == 2
    for member in members:
        graph = service.dataset_graph(db, member, BASE)
        assert set(graph.objects(None, IN_SERIES)) == {
            URIRef(f"{BASE}/id/series/{series.id}")
        }
    again = run("bees")
    assert again["series"]["unchanged"] == 1 and again["series"]["created"] == 0


@needs_shared
def test_a_service_gone_upstream_is_withdrawn_after_the_grace_period(
    add, run, db, tmp_path
):
    path = tmp_path / "api.ttl"
    path.write_text((HVD / "example-data_service_openapi_sla.ttl").read_text())
    add("api", str(path), grace_days=7)
    run("api")
    path.write_text(
        (
            DCAT_DIR
            / "dcat-ap-3.0.1-examples"
            / "example-bee-population-dataset-series.ttl"
        ).read_text()
    )
    t0 = utcnow()
    assert run("api", now=t0)["services"]["archived"] == 0
    assert run("api", now=t0 + timedelta(days=8))["services"]["archived"] == 1
    assert published(db, "service") == []


@needs_shared
def test_a_bad_service_fails_alone(add, run, db, tmp_path):
    path = tmp_path / "mixed.ttl"
    path.write_text(
        """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<https://x.example/api/good> a dcat:DataService ; dct:title "Good API"@en ;
    dcat:endpointURL <https://x.example/api/> .
<https://x.example/api/no-endpoint> a dcat:DataService ; dct:title "No endpoint"@en .
<https://x.example/api/untitled> a dcat:DataService ;
    dcat:endpointURL <https://x.example/other/> .
"""
    )
    add("mixed", str(path))
    report = run("mixed")["services"]
    assert (report["created"], report["failed"]) == (1, 2)
    reasons = {f["remote_id"]: f["reason"] for f in report["failures"]}
    assert "endpointURL" in reasons["https://x.example/api/no-endpoint"]
    assert "title" in reasons["https://x.example/api/untitled"]


def test_records_hashed_before_the_links_existed_keep_their_hash():
    """Upgrading must not make every harvested dataset look changed upstream."""
    import hashlib
    import json

    from datafactory.catalogue.harvest.normalise import content_hash
    from datafactory.catalogue.schemas import DatasetDraft

    draft = DatasetDraft.model_validate(
        {
            "title": {"en": "T"},
            "distributions": [{"access_url": "https://x.example/a.csv"}],
        }
    )
    before = draft.model_dump(mode="json")
    del before["in_series"]
    del before["distributions"][0]["access_services"]
    canonical = json.dumps(
        {"iri": "https://x.example/d", "metadata": before},
        sort_keys=True,
        separators=(",", ":"),
    )
    old = hashlib.sha256(canonical.encode()).hexdigest()
    assert content_hash(draft, "https://x.example/d") == old
    linked = draft.model_copy(update={"in_series": ["https://x.example/s"]})
    assert content_hash(linked, "https://x.example/d") != old
