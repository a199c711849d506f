"""Harvesting: real DCAT fixtures in place, Hydra paging, CKAN and udata APIs over a real
local HTTP server, incremental runs, archiving after the grace period, safety limits."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import DCTERMS
from sqlalchemy import func, select

from datafactory.catalogue import service
from datafactory.catalogue.harvest import readers, sources
from datafactory.catalogue.harvest.dcat import TITLE_FROM_IRI, TITLE_FROM_SERIES, parse
from datafactory.catalogue.harvest.errors import HarvestError
from datafactory.catalogue.harvest.fetch import Document
from datafactory.catalogue.harvest.models import HarvestRecord, HarvestRun
from datafactory.catalogue.harvest.normalise import (
    DESCRIPTION_FROM_TITLE,
    content_hash,
)
from datafactory.catalogue.harvest.run import harvest
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import DatasetDraft
from datafactory.catalogue.validation import Profile, validate
from datafactory.core.db import utcnow
from datafactory.core.jobs import Job
from datafactory.core.ledger import LedgerEntry
from datafactory.identity.actor import Actor
from tests.factories import organisation
from tests.support.shared import FIXTURES, needs_shared

DCAT_DIR = FIXTURES / "dcat"
needs_fixtures = needs_shared
OPERATOR = Actor(ref="system:cli", name="cli", roles=frozenset({("admin", None)}))
BASE = "https://data.example.lu"
# Fixtures that cannot be harvested as one whole document, and why.
NOT_WHOLE = {
    "udata-harvest-tests/evian.json": "DCAT-US JSON with a remote @context, not RDF",
    "udata-harvest-tests/csw/geonetwork-dcat-page-1.xml": "a CSW envelope, not RDF/XML",
    "udata-harvest-tests/csw/geonetwork-geodcatap-page-1.xml": "a CSW envelope",
    "udata-harvest-tests/paged-collection-1.jsonld": "links to a remote next page",
    "udata-harvest-tests/partial-collection-1.jsonld": "links to a remote next page",
}


def rdf_fixtures() -> list[Path]:
    if not DCAT_DIR.is_dir():
        return []
    return sorted(
        p
        for p in DCAT_DIR.rglob("*")
        if p.suffix in (".ttl", ".rdf", ".xml", ".jsonld", ".json")
        and "invalid-syntax" not in p.parts
        and not p.name.startswith("ckan_")
        and str(p.relative_to(DCAT_DIR)) not in NOT_WHOLE
    )


@pytest.fixture
def publisher(committed) -> str:
    committed(lambda s: organisation(s, "statec"))
    return "statec"


@pytest.fixture
def add(committed, publisher):
    def make(name: str, url: str, type: str = "dcat", **options):
        options.setdefault("allow_private_network", True)
        return committed(
            lambda s: (
                sources.add_source(
                    s,
                    OPERATOR,
                    name=name,
                    type=sources.SourceType(type),
                    url=url,
                    publisher=publisher,
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


Route = Callable[[str, dict[str, list[str]], str], tuple[bytes, str] | None]


@pytest.fixture
def server() -> Iterator[Callable[[Route], str]]:
    """A real threaded HTTP server on 127.0.0.1; ``start(route)`` returns its base URL."""
    started: list[ThreadingHTTPServer] = []

    def start(route: Route) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                base = f"http://127.0.0.1:{self.server.server_address[1]}"
                found = route(parts.path, parse_qs(parts.query), base)
                if found is None:
                    self.send_error(404)
                    return
                body, content_type = found
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        started.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def datasets_of(db) -> list[Dataset]:
    db.expire_all()
    return list(db.scalars(select(Dataset).order_by(Dataset.id)))


# --- real DCAT fixtures -------------------------------------------------------------------


@needs_fixtures
def test_real_fixtures_fail_as_published_and_validate_once_harvested(add, run, db):
    files = rdf_fixtures()
    assert len(files) >= 35
    raw_conforming, created, failed = [], 0, 0
    reasons: list[str] = []
    titled = 0
    made_titles: dict[str, int] = {}
    for number, path in enumerate(files):
        graph = Graph()
        parse(Document(str(path), path.read_bytes(), None), graph)
        if validate(graph, [Profile.dcat_ap_3]).conforms:
            raw_conforming.append(str(path.relative_to(DCAT_DIR)))
        add(f"f{number}", str(path))
        try:
            report = run(f"f{number}")
        except HarvestError as exc:
            assert "holds no dcat:Dataset" in exc.detail, exc.detail
            continue
        created += report["created"]
        failed += report["failed"]
        for failure in report["failures"]:
            assert failure["reason"], failure
            reasons.append(failure["reason"])
        titled += sum(n["note"] == DESCRIPTION_FROM_TITLE for n in report["notes"])
        for note in report["notes"]:
            if note["note"] in (TITLE_FROM_SERIES, TITLE_FROM_IRI):
                made_titles[note["note"]] = made_titles.get(note["note"], 0) + 1
    # As published, no real or synthetic catalogue conforms to DCAT-AP 3.0.1; only some
    # of SEMIC's own examples do.
    assert all(p.startswith("dcat-ap-") for p in raw_conforming), raw_conforming
    harvested = [d for d in datasets_of(db) if d.status == "published"]
    assert len(harvested) == created >= 30
    for dataset in harvested:
        graph = service.dataset_graph(db, dataset, BASE)
        profiles = [Profile.dcat_ap_3, Profile.dcat_ap_lu]
        if service.metadata_of(db, dataset).is_hvd:
            profiles.append(Profile.hvd)
        report = validate(graph, profiles)
        assert report.violations == [], (dataset.id, report.violations[:3])
    # Figures (45 files): 13 raw conform (SEMIC examples only); 68 created, 0 failed.
    # Records without a description take their title (each with a note). Texts in
    # every language of the EU vocabulary are kept (ckanext-dcat's Spanish ones too, see
    # below). 7 dcat:Datasets in SEMIC's bee-population fragments (data.gov.gr IRIs,
    # showing one property each) carry no dct:title at all, in any language: each is
    # given its series' title and the last segment of its IRI (or that segment alone),
    # with a note, so that every record of every real fixture is published and valid.
    assert (created, failed) == (68, 0)
    assert reasons == []
    assert made_titles == {TITLE_FROM_SERIES: 6, TITLE_FROM_IRI: 1}
    # 23 datasets, 11 data services and dataset series (harvested beside them,
    # tests/catalogue/test_harvest_services_series.py) and the 7 titled here take their
    # title as description too.
    assert titled == 23 + 11 + 7


@needs_fixtures
def test_a_series_member_without_a_title_takes_its_series_title_with_a_note(
    add, run, db
):
    add(
        "bees",
        str(
            DCAT_DIR
            / "dcat-ap-3.0.1-examples"
            / "example-bee-population-dataset-series.ttl"
        ),
    )
    report = run("bees")
    assert (report["created"], report["failed"]) == (2, 0)
    titles = sorted(service.metadata_of(db, d).title["en"] for d in datasets_of(db))
    assert titles == [
        "Bee population: BeePopulation2022",
        "Bee population: BeePopulation2023",
    ]
    assert [n["note"] for n in report["notes"]].count(TITLE_FROM_SERIES) == 2


@needs_fixtures
def test_repairs_malformed_dates_broken_iris_and_keeps_the_original_iri(add, run, db):
    path = DCAT_DIR / "udata-harvest-tests" / "geonetwork.xml"
    add("geo", str(path))
    report = run("geo")
    notes = " ".join(n["note"] for n in report["notes"])
    assert "repaired the IRI" in notes
    datara = (
        DCAT_DIR
        / "udata-harvest-tests"
        / "datara--5a26b0f6-0ccf-46ad-ac58-734054b91977.rdf.xml"
    )
    add("datara", str(datara))
    assert run("datara")["created"] == 1
    records = list(db.scalars(select(HarvestRecord)))
    assert all(r.remote_iri and " " not in r.remote_iri for r in records)


@needs_fixtures
def test_multilingual_literals_keep_every_eu_language(add, run, db):
    add("ml", str(DCAT_DIR / "ckanext-dcat-examples" / "dataset_multilingual.ttl"))
    report = run("ml")
    assert report["created"] == 1
    dataset = datasets_of(db)[0]
    meta = service.metadata_of(db, dataset)
    # Spanish is an EU language and stays; Catalan is not in the EU vocabulary.
    assert meta.title == {
        "en": "Test DCAT dataset",
        "es": "Conjunto de datos de prueba DCAT",
    }
    assert meta.keywords == {"en": ["Oaks", "Pines"], "es": ["Pinos", "Robles"]}
    assert any("title: dropped the languages ca " in n["note"] for n in report["notes"])
    graph = service.dataset_graph(db, dataset, BASE)
    assert Literal("Conjunto de datos de prueba DCAT", lang="es") in set(
        graph.objects(None, DCTERMS.title)
    )


@needs_fixtures
@pytest.mark.parametrize(
    "path",
    sorted((DCAT_DIR / "invalid-syntax").glob("*")) if DCAT_DIR.is_dir() else [],
    ids=lambda p: p.name,
)
def test_a_document_that_does_not_parse_fails_and_writes_nothing(add, run, db, path):
    add("bad", str(path))
    with pytest.raises(HarvestError, match="does not parse as turtle"):
        run("bad")
    assert datasets_of(db) == []
    assert db.scalar(select(func.count()).select_from(HarvestRecord)) == 0
    failed = db.scalars(select(HarvestRun)).one()
    assert failed.status == "failed" and "does not parse" in (failed.error or "")


@needs_fixtures
def test_dcat_us_json_is_refused_with_a_reason(add, run, db):
    add("evian", str(DCAT_DIR / "udata-harvest-tests" / "evian.json"))
    with pytest.raises(HarvestError, match="remote JSON-LD @context"):
        run("evian")
    assert datasets_of(db) == []


# --- Hydra paging -------------------------------------------------------------------------


def hydra_route(stem: str) -> Route:
    def route(path, query, base):
        page = (query.get("page") or ["1"])[0] if path == "/catalog.jsonld" else None
        if page is None:
            return None
        text = (DCAT_DIR / "udata-harvest-tests" / f"{stem}-{page}.jsonld").read_text()
        text = text.replace(
            "http://data.test.org/catalog.jsonld", f"{base}/catalog.jsonld"
        )
        return text.encode(), "application/ld+json"

    return route


@needs_fixtures
@pytest.mark.parametrize("stem", ["paged-collection", "partial-collection"])
def test_hydra_paging_in_both_styles(add, run, server, stem):
    url = server(hydra_route(stem))
    add("hydra", f"{url}/catalog.jsonld?page=1")
    report = run("hydra")
    assert report["created"] + report["failed"] == 4
    assert report["created"] >= 3


# --- CKAN and udata APIs --------------------------------------------------------------------


def ckan_packages() -> list[dict]:
    folder = DCAT_DIR / "ckanext-dcat-examples"
    packages = []
    for path in sorted(folder.glob("ckan_*.json")):
        package = json.loads(path.read_text())
        package.setdefault("id", path.stem)
        packages.append(package)
    piveau = json.loads(
        (
            FIXTURES / "piveau-api" / "hub-search-search-response-example.json"
        ).read_text()
    )
    return packages + piveau["result"]["results"]


def ckan_route(packages: list[dict]) -> Route:
    def route(path, query, base):
        if path != "/api/3/action/package_search":
            return None
        rows, start = int(query["rows"][0]), int(query["start"][0])
        body = {
            "success": True,
            "result": {
                "count": len(packages),
                "results": packages[start : start + rows],
            },
        }
        return json.dumps(body).encode(), "application/json"

    return route


@needs_fixtures
def test_ckan_package_search_with_paging(add, run, server, monkeypatch, db):
    monkeypatch.setattr(readers, "PAGE_SIZE", 2)
    packages = ckan_packages()
    add("ckan", server(ckan_route(packages)), type="ckan", language="en")
    report = run("ckan")
    assert report["created"] + report["failed"] == len(packages) == 5
    assert report["created"] >= 4, report["failures"]
    full = next(
        service.metadata_of(db, d)
        for d in datasets_of(db)
        if service.metadata_of(db, d).title.get("en") == "Test DCAT dataset"
    )
    assert full.frequency and full.frequency.endswith("/MONTHLY")
    assert full.distributions[0].format.endswith("/CSV")
    assert full.distributions[0].byte_size == 12323


def udata_items() -> list[dict]:
    real = json.loads(
        (
            FIXTURES
            / "udata-api"
            / "datagouv-api1-dataset-5de8f397634f4164071119c5.json"
        ).read_text()
    )["data"]
    second = copy.deepcopy(real) | {"id": "second", "title": "Deuxième jeu"}
    third = copy.deepcopy(real) | {"id": "third", "title": "Troisième jeu"}
    return [real, second, third]


def udata_route(items: list[dict]) -> Route:
    def route(path, query, base):
        if path != "/api/1/datasets/":
            return None
        page, size = int(query["page"][0]), int(query["page_size"][0])
        chunk = items[(page - 1) * size : page * size]
        more = page * size < len(items)
        body = {
            "data": chunk,
            "page": page,
            "page_size": size,
            "total": len(items),
            "next_page": f"{base}/api/1/datasets/?page={page + 1}" if more else None,
        }
        return json.dumps(body).encode(), "application/json"

    return route


@needs_fixtures
def test_udata_incremental_runs_and_archiving_after_the_grace_period(
    add, run, server, monkeypatch, db
):
    monkeypatch.setattr(readers, "PAGE_SIZE", 2)
    items = udata_items()
    items.append({"id": "broken", "title": "", "resources": []})
    add("udata", server(udata_route(items)), type="udata", grace_days=7)
    first = run("udata")
    assert (first["created"], first["failed"]) == (3, 1)
    assert first["failures"][0]["remote_id"] == "broken"
    assert "title" in first["failures"][0]["reason"]
    meta = service.metadata_of(db, datasets_of(db)[0])
    assert meta.frequency and meta.frequency.endswith("/MONTHLY")
    assert all(isinstance(d.byte_size, int) for d in meta.distributions)

    second = run("udata")
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 3)

    items[1] = items[1] | {"title": "Deuxième jeu, revu"}
    del items[2]
    t0 = utcnow()
    third = run("udata", now=t0)
    assert (third["updated"], third["unchanged"], third["archived"]) == (1, 1, 0)
    fourth = run("udata", now=t0 + timedelta(days=8))
    assert fourth["archived"] == 1
    gone = db.scalars(select(Dataset).where(Dataset.status == "deleted")).one()
    assert gone.deletion_reason == f"missing upstream since {t0.date().isoformat()}"
    runs = list(db.scalars(select(HarvestRun).order_by(HarvestRun.id)))
    assert [r.report["archived"] for r in runs] == [0, 0, 0, 1]


# --- safety -------------------------------------------------------------------------------

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns:dct="http://purl.org/dc/terms/" xmlns:dcat="http://www.w3.org/ns/dcat#">
<dcat:Dataset rdf:about="http://x.test/1"><dct:title>&lol3;</dct:title></dcat:Dataset>
</rdf:RDF>"""


def test_an_xml_bomb_is_refused(add, run, tmp_path, db):
    path = tmp_path / "bomb.rdf"
    path.write_bytes(BOMB)
    add("bomb", str(path))
    with pytest.raises(HarvestError, match="entity declarations"):
        run("bomb")
    assert datasets_of(db) == []


def test_private_addresses_and_files_need_the_admin_flag(add, run, server):
    url = server(lambda path, query, base: (b"", "text/turtle"))
    add("private", f"{url}/catalog.ttl", allow_private_network=False)
    with pytest.raises(HarvestError, match="non-public address 127.0.0.1"):
        run("private")
    add("file", "/etc/hostname", allow_private_network=False)
    with pytest.raises(HarvestError, match="local files"):
        run("file")


def test_documents_over_the_size_limit_are_refused(add, run, server):
    url = server(lambda path, query, base: (b"#" * 5000, "text/turtle"))
    add("big", f"{url}/catalog.ttl")
    with pytest.raises(HarvestError, match="larger than the limit"):
        run("big", max_bytes=2048)


@needs_fixtures
def test_the_ledger_records_the_source_the_datasets_and_the_run(add, run, db):
    add("one", str(DCAT_DIR / "dcat-ap-3.0.1-examples" / "example-bee-population.ttl"))
    run("one")
    actions = [
        e.action for e in db.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))
    ]
    assert "catalogue.harvest.source_created" in actions
    assert "catalogue.dataset.created" in actions
    assert "catalogue.dataset.published" in actions
    assert actions[-1] == "catalogue.harvest.completed"


@needs_fixtures
def test_a_background_job_harvests_with_progress(add, runtime, committed, db):
    source_id = add("job", str(DCAT_DIR / "udata-harvest-tests" / "flat.jsonld"))

    def submit(session):
        return runtime.queue.submit(
            session,
            kind="catalogue.harvest",
            requested_by="person:1",
            params={"source_id": source_id, "requested_by": "person:1"},
        ).id

    job_id = committed(submit)
    for _ in range(100):
        db.expire_all()
        job = db.get(Job, job_id)
        if job.finished:
            break
        time.sleep(0.05)
    assert job.status == "succeeded", job.error
    assert job.result["created"] == 3 and job.total == 3 and job.done == 3
    assert db.scalars(select(HarvestRun)).one().requested_by == "person:1"


# --- API and CLI --------------------------------------------------------------------------


@needs_fixtures
def test_the_api_adds_a_source_runs_it_in_the_background_and_shows_the_report(
    client, committed, publisher
):
    from datafactory.identity.models import Role
    from tests.factories import person_with_token

    admin = committed(
        lambda s: person_with_token(
            s, "cat@statec.lu", roles=((Role.catalogue_admin, None),)
        )
    )
    headers = {"Authorization": f"Bearer {admin.token}"}
    flat = DCAT_DIR / "udata-harvest-tests" / "flat.jsonld"
    body = {"name": "flat", "type": "dcat", "url": str(flat), "publisher": publisher}
    refused = client.post("/api/v1/harvest/sources", headers=headers, json=body)
    assert refused.status_code == 201  # files need the flag only when read
    source = refused.json()
    started = client.post(
        f"/api/v1/harvest/sources/{source['id']}/runs", headers=headers
    )
    assert started.status_code == 202
    job_id = started.json()["job_id"]
    job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
    assert job["status"] == "failed" and "local files" in job["error"]
    report = client.get(f"/api/v1/harvest/runs/{job_id}", headers=headers).json()
    assert report["status"] == "failed"
    listed = client.get("/api/v1/harvest/sources", headers=headers).json()
    assert listed[0]["last_run"]["error"] == job["error"]


@needs_fixtures
def test_the_cli_adds_runs_and_lists(settings, committed, publisher, monkeypatch):
    from typer.testing import CliRunner

    from datafactory.cli.main import app

    monkeypatch.setenv("DATAFACTORY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DATAFACTORY_SECRET_KEY", settings.secret_key.get_secret_value())
    cli = CliRunner()
    data_dir = ["--data-dir", str(settings.data_dir)]
    flat = DCAT_DIR / "udata-harvest-tests" / "flat.jsonld"
    added = cli.invoke(
        app,
        ["harvest", "add", "flat", "--type", "dcat", "--url", str(flat)]
        + ["--publisher", publisher, "--allow-private-network", *data_dir],
    )
    assert added.exit_code == 0, added.output
    ran = cli.invoke(app, ["harvest", "run", "flat", "--json", *data_dir])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.output)["created"] == 3
    listed = cli.invoke(app, ["harvest", "list", *data_dir])
    assert "3 created" in listed.output


def test_the_order_of_set_valued_fields_is_not_a_change():
    """rdflib lists a subject's objects in an order that changes between processes."""
    eu = "http://publications.europa.eu/resource/authority"
    fra, ltz = f"{eu}/language/FRA", f"{eu}/language/LTZ"
    files = [{"access_url": f"https://example.lu/{n}.csv"} for n in ("a", "b")]
    one = DatasetDraft(title={"fr": "t"}, languages=[fra, ltz], distributions=files)
    other = DatasetDraft(
        title={"fr": "t"}, languages=[ltz, fra], distributions=files[::-1]
    )
    assert content_hash(one, "https://x") == content_hash(other, "https://x")
    changed = DatasetDraft(title={"fr": "t2"}, languages=[fra, ltz])
    assert content_hash(one, "https://x") != content_hash(changed, "https://x")
