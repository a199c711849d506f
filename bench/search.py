"""Catalogue search benchmark: N synthetic published datasets, p50/p95 of API and engine.

    uv run python bench/search.py                       # 100 000 datasets, SQLite file
    uv run python bench/search.py 1000000 --database-url postgresql+psycopg://postgres@127.0.0.1/test

The datasets go straight into the tables in bulk (no SHACL, no service): the point is the
query, not the publishing. Rows are what ``search.index_dataset`` writes (same ids, facet
tokens, sample tokens and text); on SQLite they go in with executemany in large
transactions, on PostgreSQL with COPY (``terms`` computed in SQL from a staging table).
Secondary indexes are dropped during the load and built after, and the text index is then
optimised (SQLite) or vacuumed and analysed (PostgreSQL).

Each timed query first runs once untimed for each of its 20 distinct parameter sets
(steady state: the pages it needs are in the operating system's cache, as on a server that
has been answering for a while); then the API and the engine take turns on runs 1..R.

On PostgreSQL the run uses a schema of its own, dropped after; on SQLite a file under a
temporary folder, deleted after. ``--keep`` keeps either and prints its URL;
``--loaded URL`` measures a database kept that way without loading it again.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Connection

from datafactory import migrations
from datafactory.catalogue import vocabularies
from datafactory.catalogue.search import SearchQuery, search
from datafactory.catalogue.search.base import unaccent
from datafactory.catalogue.search.entries import facet_token, sample_tokens
from datafactory.catalogue.search.postgresql import CONFIGS, terms_sql
from datafactory.catalogue.search.store import facet_values
from datafactory.core.config import Settings
from datafactory.identity.models import Organisation
from datafactory.runtime import Runtime
from datafactory.web.app import create_app

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
BATCH = 20_000
START = datetime(2020, 1, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TABLES = ("datasets", "dataset_versions", "search_documents")


def rows(n: int, rng: random.Random) -> Iterator[dict[str, Any]]:
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
        is_open = rng.random() < 0.8
        at = START + timedelta(minutes=i)
        yield {
            "i": i,
            "id": f"b{i:011d}",
            "doc_id": (at - EPOCH) // timedelta(microseconds=1),
            "publisher": 1 + i % PUBLISHERS,
            "at": at,
            "title": title,
            "body": body,
            "keyword": WORDS_EN[rng.randrange(10)],
            "facets": [
                ("publisher", f"pub{1 + i % PUBLISHERS}"),
                ("theme", THEMES[k]),
                ("format", FORMATS[rng.randrange(5)]),
                ("licence", "CC_BY_4_0"),
                ("access_rights", "PUBLIC" if is_open else "NON_PUBLIC"),
                ("language", "FRA"),
                ("open", "true" if is_open else "false"),
            ],
        }


def _draft(r: dict[str, Any]) -> str:
    return json.dumps(
        {
            "title": r["title"],
            "description": r["body"],
            "keywords": {"en": [r["keyword"]]},
        }
    )


def _texts(r: dict[str, Any]) -> dict[str, str]:
    """The inputs of ``terms_sql``: title+body and title per language, unaccented."""
    out = {}
    for lang in CONFIGS:
        title = unaccent(r["title"].get(lang, ""))
        body = r["body"].get(lang, "")
        if lang == "en":
            body += " " + r["keyword"]
        out[f"t_{lang}"] = title
        out[f"a_{lang}"] = title + "\n" + unaccent(body)
    return out


class Loader:
    """Numbers facet values as the index does, and counts them for ``search_facet_values``."""

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str], int] = {}
        self.counts: Counter[tuple[str, str]] = Counter()

    def tokens(self, r: dict[str, Any]) -> list[str]:
        pairs = [*r["facets"], ("keyword", r["keyword"])]
        self.counts.update(pairs)
        return [
            facet_token(f, self.ids.setdefault((f, v), len(self.ids) + 1))
            for f, v in pairs
        ]

    def document(self, r: dict[str, Any], tokens: list[str]) -> tuple[Any, ...]:
        sort_titles = [
            vocabularies.fold(r["title"].get(lang) or r["title"]["fr"])[:300]
            for lang in CONFIGS
        ]
        return (
            r["doc_id"],
            r["id"],
            r["publisher"],
            r["at"],
            *sort_titles,
            " ".join(tokens),
        )

    def facet_values(self) -> list[dict[str, Any]]:
        return [
            {"id": i, "facet": f, "value": v, "documents": self.counts[(f, v)]}
            for (f, v), i in self.ids.items()
        ]


DOCUMENT_COLUMNS = (
    "id, dataset_id, publisher_id, modified_at, "
    + ", ".join(f"title_{lang}" for lang in CONFIGS)
    + ", facets"
)


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
    loader = Loader()
    indexes = _drop_indexes(connection)
    if connection.dialect.name == "postgresql":
        _load_postgresql(connection, n, loader)
    else:
        _load_sqlite(connection, n, loader)
    connection.execute(insert(facet_values), loader.facet_values())
    started = time.perf_counter()
    for statement in indexes:
        connection.exec_driver_sql(statement)
    print(f"  indexes built in {time.perf_counter() - started:.1f} s")


def _drop_indexes(connection: Connection) -> list[str]:
    """Drop the secondary indexes of the bulk-loaded tables; answer how to rebuild them."""
    if connection.dialect.name == "postgresql":
        found = connection.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "WHERE i.schemaname = current_schema() AND i.tablename = ANY(:t) "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conname = i.indexname)"
            ),
            {"t": list(TABLES)},
        ).all()
    else:
        found = connection.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                "AND sql IS NOT NULL AND tbl_name IN ('datasets', 'dataset_versions', "
                "'search_documents')"
            )
        ).all()
    for name, _ in found:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return [definition for _, definition in found]


def _load_sqlite(connection: Connection, n: int, loader: Loader) -> None:
    raw = connection.connection.driver_connection
    assert raw is not None
    naive = "%Y-%m-%d %H:%M:%S.%f"  # as UTCDateTime keeps it on SQLite
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        datasets, versions, docs, fts = [], [], [], []
        for r in batch:
            draft, at = _draft(r), r["at"].strftime(naive)
            tokens = loader.tokens(r)
            datasets.append(
                (r["id"], r["publisher"], "published", draft, 1, at, at, at)
            )
            versions.append((r["id"], 1, draft, at, "bench"))
            doc = loader.document(r, tokens)
            docs.append((*doc[:3], at, *doc[4:]))
            fts.append(
                (
                    r["doc_id"],
                    "\n".join(r["title"].values()),
                    "\n".join(r["body"].values()) + " " + r["keyword"],
                    " ".join(tokens + list(sample_tokens(r["id"]))),
                )
            )
        raw.executemany(
            "INSERT INTO datasets (id, publisher_id, status, draft, version, "
            "created_at, modified_at, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            datasets,
        )
        raw.executemany(
            "INSERT INTO dataset_versions (dataset_id, number, document, "
            "published_at, published_by) VALUES (?, ?, ?, ?, ?)",
            versions,
        )
        raw.executemany(
            f"INSERT INTO search_documents ({DOCUMENT_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            docs,
        )
        raw.executemany(
            "INSERT INTO search_fts (rowid, title, body, facets) VALUES (?, ?, ?, ?)",
            fts,
        )
        batch.clear()

    for r in rows(n, random.Random(42)):
        batch.append(r)
        if len(batch) == BATCH:
            flush()
    flush()
    started = time.perf_counter()
    raw.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
    print(f"  FTS5 optimize in {time.perf_counter() - started:.1f} s")


def _load_postgresql(connection: Connection, n: int, loader: Loader) -> None:
    raw = connection.connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    inputs = [f"{kind}_{lang}" for lang in CONFIGS for kind in ("a", "t")]
    cursor.execute(
        "CREATE TEMPORARY TABLE bench_documents ON COMMIT DROP AS "
        f"SELECT {DOCUMENT_COLUMNS} FROM search_documents WITH NO DATA"
    )
    cursor.execute(
        "CREATE TEMPORARY TABLE bench_text (id bigint, "
        + ", ".join(f"{name} text" for name in inputs)
        + ", tokens text[]) ON COMMIT DROP"
    )
    batch: list[dict[str, Any]] = []

    def copy(statement: str, values: list[tuple[Any, ...]]) -> None:
        with cursor.copy(statement) as target:
            for value in values:
                target.write_row(value)

    def flush() -> None:
        datasets, versions, docs, texts = [], [], [], []
        for r in batch:
            draft, at = _draft(r), r["at"]
            tokens = loader.tokens(r)
            datasets.append(
                (r["id"], r["publisher"], "published", draft, 1, at, at, at)
            )
            versions.append((r["id"], 1, draft, at, "bench"))
            docs.append(loader.document(r, tokens))
            given = _texts(r)
            texts.append(
                (
                    r["doc_id"],
                    *(given[name] for name in inputs),
                    tokens + list(sample_tokens(r["id"])),
                )
            )
        copy(
            "COPY datasets (id, publisher_id, status, draft, version, created_at, "
            "modified_at, published_at) FROM STDIN",
            datasets,
        )
        copy(
            "COPY dataset_versions (dataset_id, number, document, published_at, "
            "published_by) FROM STDIN",
            versions,
        )
        copy(f"COPY bench_documents ({DOCUMENT_COLUMNS}) FROM STDIN", docs)
        copy(f"COPY bench_text (id, {', '.join(inputs)}, tokens) FROM STDIN", texts)
        batch.clear()

    for r in rows(n, random.Random(42)):
        batch.append(r)
        if len(batch) == BATCH:
            flush()
    flush()
    started = time.perf_counter()
    cursor.execute(
        f"INSERT INTO search_documents ({DOCUMENT_COLUMNS}, terms) "
        f"SELECT {', '.join('d.' + c.strip() for c in DOCUMENT_COLUMNS.split(','))}, "
        f"{terms_sql(lambda name: f't.{name}')} "
        "FROM bench_documents d JOIN bench_text t ON t.id = d.id"
    )
    print(f"  terms computed in {time.perf_counter() - started:.1f} s")


def interleaved(fns: list[Callable[[int], None]], runs: int) -> list[list[float]]:
    """Milliseconds of each of ``fns`` on runs 1..R, taking turns at going first."""
    timings: list[list[float]] = [[] for _ in fns]
    for i in range(1, runs + 1):
        order = list(range(len(fns)))
        if i % 2:
            order.reverse()
        for k in order:
            started = time.perf_counter()
            fns[k](i)
            timings[k].append((time.perf_counter() - started) * 1000)
    return timings


def percentiles(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--loaded", metavar="URL", help="measure a kept database")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    url, schema = args.loaded or args.database_url, None
    if args.loaded:
        pass
    elif url is None:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    elif url.startswith("postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with create_engine(url).begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    try:
        run(url, workdir, args.n, args.runs, load_first=not args.loaded)
    finally:
        if args.keep or args.loaded:
            print(f"kept: --loaded '{url}'")
        elif schema:
            with create_engine(args.database_url).begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        if not (args.keep and url.startswith("sqlite")):
            shutil.rmtree(workdir, ignore_errors=True)


def run(url: str, workdir: Path, n: int, runs: int, *, load_first: bool) -> None:
    settings = Settings(
        data_dir=workdir,
        database_url=url,
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
        queue="immediate",
        log_level="WARNING",
    )
    runtime = Runtime(settings)
    backend = runtime.engine.dialect.name
    if load_first:
        migrations.upgrade(runtime.engine)
        started = time.perf_counter()
        with runtime.engine.begin() as connection:
            load(connection, n)
        if backend == "postgresql":
            with runtime.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                connection.execute(text("VACUUM ANALYZE"))
        else:
            with runtime.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        print(
            f"{backend}: loaded {n} datasets in {time.perf_counter() - started:.1f} s"
        )
    if url.startswith("sqlite"):
        size = Path(url.removeprefix("sqlite:///")).stat().st_size
        print(f"  database file {size / 2**20:.0f} MiB")

    with TestClient(create_app(runtime=runtime)) as client:
        _measure(runtime, client, runs)
    runtime.dispose()


#: Run i and run i + PERIOD ask the same query.
PERIOD = 20


def params(i: int) -> dict[str, Any]:
    """Run i's query: one word, one theme, one publisher (about 1 dataset in 270)."""
    return {
        "q": WORDS_EN[i % 10],
        "theme": THEMES[(i * 3) % 10],
        "publisher": f"pub{1 + i % PUBLISHERS}",
    }


def _measure(runtime: Runtime, client: TestClient, runs: int) -> None:
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

    def api_broad(i: int) -> None:
        answer = client.get("/api/v1/datasets", params={"q": WORDS_FR[i % 10]})
        assert answer.status_code == 200

    def everything(i: int) -> None:
        answer = client.get("/api/v1/datasets", params={"page": 1 + i % 5})
        assert answer.status_code == 200

    with runtime.sessions() as session:
        sample = search(session, SearchQuery(**_engine_query(params(0))))
        wide = search(session, SearchQuery(text=WORDS_FR[0]))
    print(
        f"  q+theme+publisher matches {sample.total} (exact: {not sample.facets_approximate});"
        f" broad '{WORDS_FR[0]}' matches {wide.total}"
        f" (total estimated: {wide.total_approximate},"
        f" facets estimated: {wide.facets_approximate})"
    )
    print(f"  load average before: {_load()}; R = {runs}")
    # API and engine take turns on the same query, first one then the other, so that
    # neither always finds the pages the other just read.
    for pair in (
        (("api q+theme+publisher", api), ("engine q+theme+publisher", engine)),
        (("api q only (broad)", api_broad), ("engine q only (broad)", broad)),
        (("api no query (everything)", everything),),
    ):
        for _, fn in pair:  # warm-up: each distinct query once, untimed
            for i in range(1, 1 + min(runs, PERIOD)):
                fn(i)
        timings = interleaved([fn for _, fn in pair], runs)
        for (name, _), times in zip(pair, timings, strict=True):
            p50, p95 = percentiles(times)
            print(f"  {name:28} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    print(f"  load average after: {_load()}")


def _engine_query(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "text": p["q"],
        "filters": {"theme": (p["theme"],), "publisher": (p["publisher"],)},
    }


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
