"""How much the hash-chained ledger costs against a plain audit table, on one machine.

Run by hand: `uv run python bench/ledger.py [--database-url URL] [--entries N]`.
Baseline: the same rows inserted into a plain table (no chain, no hashing, no lock) in
transactions of the same size. Reports entries per second for both and their ratio, and
the speed of `verify` over the whole chain.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert

from datafactory import migrations
from datafactory.core import ledger
from datafactory.core.db import make_engine, make_sessionmaker, unit_of_work

PLAIN = Table(
    "bench_plain_audit",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("actor", String(200)),
    Column("action", String(100)),
    Column("subject", String(300)),
    Column("details", Text),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--per-transaction", type=int, default=1)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    PLAIN.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    n, per = args.entries, args.per_transaction

    start = time.perf_counter()
    for i in range(0, n, per):
        with unit_of_work(sessions) as session:
            for j in range(i, min(i + per, n)):
                session.execute(
                    insert(PLAIN).values(
                        actor="person:1",
                        action="bench.done",
                        subject=f"thing:{j}",
                        details=ledger.canonical_json({"n": j}),
                    )
                )
    plain = n / (time.perf_counter() - start)

    start = time.perf_counter()
    for i in range(0, n, per):
        with unit_of_work(sessions) as session:
            for j in range(i, min(i + per, n)):
                ledger.append(
                    session,
                    actor="person:1",
                    action="bench.done",
                    subject=f"thing:{j}",
                    details={"n": j},
                )
    chained = n / (time.perf_counter() - start)

    start = time.perf_counter()
    with unit_of_work(sessions) as session:
        result = ledger.verify(session)
    verify_rate = result.entries / (time.perf_counter() - start)
    assert result.ok

    print(f"backend {engine.dialect.name}, {n} entries, {per} per transaction")
    print(f"plain audit table : {plain:10.0f} entries/s")
    print(
        f"hash-chained      : {chained:10.0f} entries/s  (ratio {chained / plain:.2f})"
    )
    print(f"verify            : {verify_rate:10.0f} entries/s")
    PLAIN.metadata.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
