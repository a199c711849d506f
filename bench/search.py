"""Catalogue search benchmark: N synthetic published datasets, p50/p95 of API and engine.

    uv run python bench/search.py                       # 100 000 datasets, SQLite file
    uv run python bench/search.py 20000 --database-url postgresql+psycopg://postgres@127.0.0.1/test

The datasets go straight into the tables in bulk (no SHACL, no service): the point is the
query, not the publishing. On PostgreSQL the run uses a schema of its own, dropped after.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Connection

from datafactory import migrations
from datafactory.catalogue.models import Dataset, DatasetVersion
from datafactory.catalogue.search import SearchQuery, search
from datafactory.catalogue.search.base import unaccent
from datafactory.catalogue.search.postgresql import CONFIGS
from datafactory.catalogue.search.store import documents, facets
from datafactory.core.config import Settings
from datafactory.identity.models import Organisation
from datafactory.runtime import Runtime
from datafactory.web.app import create_app

EU = "http://publications.europa.eu/resource/authority"
THEMES = [
    "AGRI",
    "ECON",
    "EDUC",
    "ENER",
    "ENVI",
    "GOVE",
    "HEAL",
    "JUST",
    "REGI",
    "SOCI",
]
FORMATS = ["CSV", "JSON", "XLSX", "PDF", "XML"]
WORDS_FR = (
    "population commune emploi santé prix énergie transport école logement eau".split()
)
WORDS_EN = "population municipality jobs health prices energy transport school housing water".split()
WORDS_DE = "Bevölkerung Gemeinde Arbeit Gesundheit Preise Energie Verkehr Schule Wohnen Wasser".split()
PUBLISHERS = 20
BATCH = 5000


def rows(n: int, rng: random.Random) -> Any:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for i in range(n):
        k = rng.randrange(10)
        title = {
            "fr": f"{WORDS_FR[k]} {WORDS_FR[rng.randrange(10)]} {i}",
            "en": f"{WORDS_EN[k]} {WORDS_EN[rng.randrange(10)]} {i}",
            "de": f"{WORDS_DE[k]} {WORDS_DE[rng.randrange(10)]} {i}",
        }
        body = {
            "fr": " ".join(rng.choices(WORDS_FR, k=12)),
            "en": " ".join(rng.choices(WORDS_EN, k=12)),
        }
        yield {
            "i": i,
            "id": f"b{i:011d}",
            "publisher": 1 + i % PUBLISHERS,
            "at": start + timedelta(minutes=i),
            "title": title,
            "body": body,
            "theme": THEMES[k],
            "format": FORMATS[rng.randrange(5)],
            "open": rng.random() < 0.8,
            "keyword": WORDS_EN[rng.randrange(10)],
        }


def load(connection: Connection, n: int) -> None:
    connection.execute(
        insert(Organisation),
        [
            {
                "id": p,
                "slug": f"pub{p}",
                "name": f"Publisher {p}",
                "kind": "data_holder",
                "is_public_sector": True,
                "created_at": datetime.now(UTC),
            }
            for p in range(1, PUBLISHERS + 1)
        ],
    )
    batch: list[dict[str, Any]] = []
    for row in rows(n, random.Random(42)):
        batch.append(row)
        if len(batch) == BATCH:
            _insert(connection, batch)
            batch = []
    if batch:
        _insert(connection, batch)


def _insert(connection: Connection, batch: list[dict[str, Any]]) -> None:
    draft = [
        {
            "title": r["title"],
            "description": r["body"],
            "keywords": {"en": [r["keyword"]]},
        }
        for r in batch
    ]
    connection.execute(
        insert(Dataset),
        [
            {
                "id": r["id"],
                "publisher_id": r["publisher"],
                "status": "published",
                "draft": d,
                "version": 1,
                "created_at": r["at"],
                "modified_at": r["at"],
                "published_at": r["at"],
            }
            for r, d in zip(batch, draft, strict=True)
        ],
    )
    connection.execute(
        insert(DatasetVersion),
        [
            {
                "dataset_id": r["id"],
                "number": 1,
                "document": d,
                "published_at": r["at"],
                "published_by": "bench",
            }
            for r, d in zip(batch, draft, strict=True)
        ],
    )
    connection.execute(
        insert(documents),
        [
            {
                "id": r["i"] + 1,
                "dataset_id": r["id"],
                "publisher_id": r["publisher"],
                "modified_at": r["at"],
                **{
                    f"title_{lang}": unaccent(r["title"].get(lang, r["title"]["fr"]))
                    for lang in CONFIGS
                },
            }
            for r in batch
        ],
    )
    connection.execute(insert(facets), [f for r in batch for f in _facets(r)])
    if connection.dialect.name == "postgresql":
        _pg_text(connection, batch)
    else:
        connection.execute(
            text("INSERT INTO search_fts (rowid, title, body) VALUES (:id, :t, :b)"),
            [
                {
                    "id": r["i"] + 1,
                    "t": "\n".join(r["title"].values()),
                    "b": "\n".join(r["body"].values()) + " " + r["keyword"],
                }
                for r in batch
            ],
        )


def _facets(r: dict[str, Any]) -> list[dict[str, Any]]:
    pairs = [
        ("publisher", f"pub{r['publisher']}"),
        ("theme", r["theme"]),
        ("format", r["format"]),
        ("licence", "CC_BY_4_0"),
        ("access_rights", "PUBLIC" if r["open"] else "NON_PUBLIC"),
        ("open", "true" if r["open"] else "false"),
        ("language", "FRA"),
        ("keyword", r["keyword"]),
    ]
    return [{"doc_id": r["i"] + 1, "facet": f, "value": v} for f, v in pairs]


def _pg_text(connection: Connection, batch: list[dict[str, Any]]) -> None:
    connection.execute(
        text(
            "UPDATE search_documents SET "
            "tsv_fr = setweight(to_tsvector('french', :tf), 'A') || "
            "setweight(to_tsvector('french', :bf), 'B'), "
            "tsv_en = setweight(to_tsvector('english', :te), 'A') || "
            "setweight(to_tsvector('english', :be), 'B'), "
            "tsv_de = setweight(to_tsvector('german', :td), 'A'), "
            "tsv_lb = to_tsvector('simple', '') WHERE id = :id"
        ),
        [
            {
                "id": r["i"] + 1,
                "tf": unaccent(r["title"]["fr"]),
                "bf": unaccent(r["body"]["fr"]),
                "te": unaccent(r["title"]["en"]),
                "be": unaccent(r["body"]["en"] + " " + r["keyword"]),
                "td": unaccent(r["title"]["de"]),
            }
            for r in batch
        ],
    )


def percentiles(fn: Callable[[int], None], runs: int) -> tuple[float, float]:
    timings = []
    for i in range(runs):
        started = time.perf_counter()
        fn(i)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    url, schema = args.database_url, None
    if url is None:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    elif url.startswith("postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with create_engine(url).begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    try:
        run(url, workdir, args.n, args.runs)
    finally:
        if schema:
            with create_engine(args.database_url).begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def run(url: str, workdir: Path, n: int, runs: int) -> None:
    settings = Settings(
        data_dir=workdir,
        database_url=url,
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
        queue="immediate",
        log_level="WARNING",
    )
    runtime = Runtime(settings)
    migrations.upgrade(runtime.engine)
    started = time.perf_counter()
    with runtime.engine.begin() as connection:
        load(connection, n)
        if connection.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
    print(
        f"{runtime.engine.dialect.name}: loaded {n} datasets in {time.perf_counter() - started:.1f} s"
    )

    def params(i: int) -> dict[str, Any]:
        return {
            "q": WORDS_EN[i % 10],
            "theme": THEMES[(i * 3) % 10],
            "publisher": f"pub{1 + i % PUBLISHERS}",
        }

    client = TestClient(create_app(runtime=runtime))

    def api(i: int) -> None:
        assert client.get("/api/v1/datasets", params=params(i)).status_code == 200

    def engine(i: int) -> None:
        p = params(i)
        with runtime.sessions() as session:
            search(
                session,
                SearchQuery(
                    text=p["q"],
                    filters={"theme": (p["theme"],), "publisher": (p["publisher"],)},
                ),
            )

    def broad(i: int) -> None:
        with runtime.sessions() as session:
            search(session, SearchQuery(text=WORDS_FR[i % 10]))

    for name, fn in (
        ("api q+theme+publisher", api),
        ("engine q+theme+publisher", engine),
        ("engine q only (broad)", broad),
    ):
        fn(0)
        p50, p95 = percentiles(fn, runs)
        print(f"  {name:28} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    runtime.dispose()


if __name__ == "__main__":
    main()
