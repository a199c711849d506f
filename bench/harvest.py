"""Harvest benchmark: a synthetic N-dataset DCAT-AP Turtle file through the whole pipeline.

    uv run python bench/harvest.py                      # 10 000 datasets, SQLite file
    uv run python bench/harvest.py 2000 --database-url postgresql+psycopg://postgres@127.0.0.1/test

Measured in one run, on the same file: the ceiling (rdflib parsing only, and pyoxigraph's
parser, alone and with its triples converted into an rdflib graph, which is how the harvest
now reads Turtle and N-Triples), the
validation floor (pyrudof, the fastest SHACL engine we found, on the records as we publish
them, DCAT-AP 3 and DCAT-AP-LU violation shapes: validation alone, nothing else), then our
harvest (parse, normalise, validate with SHACL, store, score, index) into a fresh database,
split at the moment every record has been read and normalised. Rates are datasets per second; ratios are to rdflib's parse-only rate;
the harvest's CPU seconds are printed too (on a shared machine they say more than wall time). On
PostgreSQL the run uses a schema of its own, dropped after.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph
import pyrudof
from rdflib import Graph
from sqlalchemy import create_engine, text

from datafactory import migrations
from datafactory.catalogue import rdf, validation
from datafactory.catalogue.harvest import oxigraph
from datafactory.catalogue.harvest.dcat import read_dcat
from datafactory.catalogue.harvest.fetch import Fetcher
from datafactory.catalogue.harvest.run import HARVESTER, harvest
from datafactory.catalogue.harvest.sources import SourceType, add_source
from datafactory.core.config import Settings
from datafactory.core.db import unit_of_work
from datafactory.identity import people
from datafactory.identity.actor import Actor
from datafactory.identity.models import OrganisationKind
from datafactory.runtime import Runtime

EU = "http://publications.europa.eu/resource/authority"
THEMES = "AGRI ECON EDUC ENER ENVI GOVE HEAL REGI SOCI TRAN".split()
# Format literals as portals write them: each one must be normalised to an EU file type.
FORMATS = ["CSV", "csv", "text/csv", "JSON", "application/json", "XLSX", "PDF", "xml"]
WORDS_FR = (
    "population commune emploi santé prix énergie transport école logement eau".split()
)
WORDS_EN = "population municipality jobs health prices energy transport school housing water".split()

PREFIXES = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

<https://bench.example.lu/catalogue> a dcat:Catalog ;
    dct:title "Bench catalogue"@en .
"""


def turtle(n: int, seed: int = 42) -> str:
    rng = random.Random(seed)
    parts = [PREFIXES]
    for i in range(n):
        k, j = rng.randrange(10), rng.randrange(10)
        iri = f"https://bench.example.lu/dataset/{i}"
        dists = []
        for d in range(1 + rng.randrange(2)):
            url = f"https://bench.example.lu/files/{i}-{d}"
            dists.append(
                f'[ a dcat:Distribution ; dcat:accessURL <{url}> ; dcat:downloadURL <{url}> ; dct:format "{rng.choice(FORMATS)}" ; '
                f'dcat:byteSize "{rng.randrange(1, 10**7)}"^^xsd:nonNegativeInteger ; '
                f"dct:license <{EU}/licence/CC_BY_4_0> ]"
            )
        parts.append(
            f"<{iri}> a dcat:Dataset ;\n"
            f'    dct:title "{WORDS_FR[k]} {WORDS_FR[j]} {i}"@fr, "{WORDS_EN[k]} {WORDS_EN[j]} {i}"@en ;\n'
            f'    dct:description "{" ".join(rng.choices(WORDS_FR, k=14))}"@fr, '
            f'"{" ".join(rng.choices(WORDS_EN, k=14))}"@en ;\n'
            f'    dcat:keyword "{WORDS_FR[k]}"@fr, "{WORDS_EN[j]}"@en ;\n'
            f"    dcat:theme <{EU}/data-theme/{THEMES[k]}> ;\n"
            f"    dct:accessRights <{EU}/access-right/PUBLIC> ;\n"
            f"    dct:language <{EU}/language/FRA>, <{EU}/language/ENG> ;\n"
            f"    dct:accrualPeriodicity <{EU}/frequency/ANNUAL> ;\n"
            f"    dcat:distribution {', '.join(dists)} .\n"
        )
    return "\n".join(parts)


def oxigraph_to_rdflib(data: bytes) -> Graph:
    """Parse with pyoxigraph into an rdflib graph, as the harvest does (conversion of the
    terms included)."""
    graph = Graph()
    assert oxigraph.parse_into(graph, data, "turtle", "https://bench.example.lu/")
    return graph


def validation_floor(path: Path, batch_size: int = 1000) -> float:
    """Seconds pyrudof takes to validate every record of ``path``, rendered as publishing
    renders it, against the two profiles every dataset meets, in batches of
    ``batch_size`` records as the harvest validates them (pyrudof's time per record
    grows with the graph: one graph of 10,000 records takes about twice as long):
    reading the N-Triples and validating, per profile (the rendering and the reading of
    the file are not counted)."""
    remotes = read_dcat(
        Fetcher(allow_private_network=True, max_bytes=1 << 30),
        str(path),
        language="en",
        progress=lambda _message: None,
    )
    now = datetime.now(UTC)
    batches: list[str] = []
    for start in range(0, len(remotes), batch_size):
        union = Graph()
        for number, remote in enumerate(remotes[start : start + batch_size], start):
            assert remote.draft is not None
            facts = rdf.DatasetFacts(
                id=f"bench{number:07d}",
                base_url="http://127.0.0.1:8000",
                publisher=rdf.Publisher("bench", "Bench"),
                created_at=now,
                modified_at=now,
                version=0,
                links={},
            )
            rdf.add_dataset(union, facts, remote.draft)
        batches.append(union.serialize(format="nt"))
    seconds = 0.0
    for profile in (validation.Profile.dcat_ap_3, validation.Profile.dcat_ap_lu):
        session = pyrudof.Rudof(pyrudof.RudofConfig())
        session.read_shacl(validation.load_violation_shapes_text(profile))
        for triples in batches:
            session.reset_data()
            started = time.perf_counter()
            session.read_data(triples, pyrudof.RDFFormat.NTriples)
            report = session.validate_shacl()
            seconds += time.perf_counter() - started
            assert report.conforms, profile
    return seconds


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:9,.0f} datasets/s ({seconds:7.1f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=10_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-harvest-"))
    url, schema = args.database_url, None
    if url is None:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    elif url.startswith("postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with create_engine(url).begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    try:
        run(url, workdir, args.n)
    finally:
        if schema:
            with create_engine(args.database_url).begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def run(url: str, workdir: Path, n: int) -> None:
    path = workdir / "catalogue.ttl"
    path.write_text(turtle(n), encoding="utf-8")
    data = path.read_bytes()
    print(f"{n} datasets, {len(data) / 1e6:.1f} MB of Turtle")

    started = time.perf_counter()
    triples = len(Graph().parse(data=data, format="turtle"))
    ceiling = time.perf_counter() - started
    print(f"  rdflib parse only        {rate(n, ceiling)}  {triples:,} triples")

    started = time.perf_counter()
    quads = sum(1 for _ in pyoxigraph.parse(data, format=pyoxigraph.RdfFormat.TURTLE))
    oxi = time.perf_counter() - started
    print(f"  pyoxigraph parse only    {rate(n, oxi)}  x{ceiling / oxi:.0f} rdflib")
    assert quads == triples, (quads, triples)

    started = time.perf_counter()
    converted = len(oxigraph_to_rdflib(data))
    oxi_graph = time.perf_counter() - started
    print(
        f"  pyoxigraph -> rdflib     {rate(n, oxi_graph)}  x{ceiling / oxi_graph:.1f} rdflib"
    )
    assert converted == triples, (converted, triples)

    floor = validation_floor(path)
    print(f"  SHACL floor (pyrudof)    {rate(n, floor)}  validation alone, 2 profiles")

    settings = Settings(
        data_dir=workdir,
        database_url=url,
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
        queue="immediate",
        log_level="WARNING",
    )
    runtime = Runtime(settings)
    migrations.upgrade(runtime.engine)
    with unit_of_work(runtime.sessions) as session:
        people.create_organisation(
            session,
            Actor.system("bench"),
            slug="bench",
            name="Bench",
            kind=OrganisationKind.public_body,
            is_public_sector=True,
        )
        add_source(
            session,
            HARVESTER,
            name="bench",
            type=SourceType.dcat,
            url=str(path),
            publisher="bench",
            allow_private_network=True,
        )
    marks: dict[str, float] = {}

    def progress(_done: int, total: int | None, _message: str) -> None:
        if total is not None and "read" not in marks:
            marks["read"] = time.perf_counter()

    started, cpu_started = time.perf_counter(), time.process_time()
    report = harvest(
        runtime.sessions,
        HARVESTER,
        source="bench",
        base_url="http://127.0.0.1:8000",
        progress=progress,
    )
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    assert report["created"] == n and report["failed"] == 0, report["failures"][:3]
    read = marks["read"] - started
    print(f"  harvest: read+normalise  {rate(n, read)}")
    print(f"  harvest: store+publish   {rate(n, total - read)}")
    print(
        f"  harvest, whole ({runtime.engine.dialect.name:10}) {rate(n, total)}"
        f"  ratio to rdflib parse {ceiling / total:.3f}"
    )
    # The machine is shared: CPU seconds of this process say more than wall time then.
    print(f"  harvest, whole, CPU      {rate(n, cpu)}")
    runtime.dispose()


if __name__ == "__main__":
    main()
