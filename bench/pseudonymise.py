"""Pseudonymisation throughput: our batch path against a naive per-row ``hmac.new`` loop.

Run by hand::

    uv run python bench/pseudonymise.py [--rows 10000000] [--check-collisions]

1. Makes N distinct synthetic matricules, vectorised with numpy (no Python per row):
   N distinct (birth day, serial) pairs are drawn without replacement from the
   33 237 days of 1930-2020 x 1000 serials (33.2 M possible numbers), and both check
   digits are computed with numpy lookup tables (Luhn: the doubled-digit table; Verhoeff:
   11 rounds of the D5 tables over the whole column). A sample of 10 000 is checked against
   ``matricule.is_valid``. They are written to Parquet with a second, numeric column.
2. Streams that file with ``ParquetFile.iter_batches`` and writes the pseudonymised file,
   once per method, in the same run, with the same reader and writer settings:

   * ``ours``: ``Pseudonymiser.column`` (keyed HMAC context copied per identifier,
     vectorised encoding, Arrow output built from buffers);
   * ``naive``: ``[hmac.new(key, id.encode(), sha256).digest() for id in ids]``, then the
     same vectorised encoding (the headline ratio: it isolates the keyed hashing);
   * ``naive, per-row encoding``: the same loop with the per-row encoder that
     ``Pseudonymiser.one`` uses (what calling ``one`` in a loop costs).

   All three outputs are compared row for row.
3. Reports ids/s for the pseudonymisation step alone and for the whole pipeline (Parquet
   read and write included), in wall-clock time and per CPU-second (process CPU time, all
   threads: the per-core figure), the load average, and a profile of where our time goes.

``--check-collisions`` counts the distinct pseudonyms of the N identifiers (N distinct
identifiers, so any shortfall is a collision of the 125-bit pseudonyms).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cryptography
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datafactory.privacy import matricule, pseudonyms
from datafactory.privacy.pseudonyms import Pseudonymiser, derive_domain_key

ID_COLUMN = "person_id"
FIRST_DAY = np.datetime64("1930-01-01")
LAST_DAY = np.datetime64("2020-12-31")

_LUHN_DOUBLED = np.array(matricule._LUHN_DOUBLED, dtype=np.int64)
_VERHOEFF_D = np.array(matricule._VERHOEFF_D, dtype=np.int64)
_VERHOEFF_P = np.array(matricule._VERHOEFF_P, dtype=np.int64)
_VERHOEFF_INV = np.array(matricule._VERHOEFF_INV, dtype=np.int64)


def generate_matricules(n: int, seed: int) -> pa.Array:
    """n distinct valid matricules as an Arrow string array, without Python per row."""
    rng = np.random.default_rng(seed)
    days = int((LAST_DAY - FIRST_DAY).astype(int)) + 1
    capacity = days * 1000
    if n > capacity:
        raise SystemExit(f"at most {capacity} distinct numbers in 1930-2020")
    index = rng.choice(capacity, size=n, replace=False)
    born = FIRST_DAY + (index // 1000).astype("timedelta64[D]")
    serial = index % 1000
    year = born.astype("datetime64[Y]").astype(np.int64) + 1970
    month = (born.astype("datetime64[M]").astype(np.int64) % 12) + 1
    day = (born - born.astype("datetime64[M]")).astype(np.int64) + 1
    digits = np.empty((n, 13), dtype=np.uint8)
    start = 0
    for value, width in [(year, 4), (month, 2), (day, 2), (serial, 3)]:
        for k in range(width):
            digits[:, start + k] = value // 10 ** (width - 1 - k) % 10
        start += width
    # Luhn: from the right, the rightmost payload digit (index 10) and every other one
    # (the even indices) are doubled.
    total = np.zeros(n, dtype=np.int64)
    for i in range(11):
        total += _LUHN_DOUBLED[digits[:, i]] if i % 2 == 0 else digits[:, i]
    digits[:, 11] = -total % 10
    c = np.zeros(n, dtype=np.int64)
    for position in range(1, 12):  # from the right: position 1 is index 10
        c = _VERHOEFF_D[c, _VERHOEFF_P[position % 8][digits[:, 11 - position]]]
    digits[:, 12] = _VERHOEFF_INV[c]
    digits += 48  # ASCII
    offsets = np.arange(0, 13 * (n + 1), 13, dtype=np.int32)
    array = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(digits))
    sample = array.slice(0, 10_000).to_pylist()
    assert all(matricule.is_valid(x) for x in sample), "generator bug"
    return array


def naive(key: bytes) -> Callable[[pa.Array], pa.Array]:
    """Per-row ``hmac.new``; the same vectorised encoding as ours."""

    def run(values: pa.Array) -> pa.Array:
        ids = values.to_pylist()
        present = [x for x in ids if x is not None]
        digests = b"".join(
            [hmac.new(key, x.encode(), hashlib.sha256).digest() for x in present]
        )
        text = pseudonyms._encode_digests(digests).tobytes().decode("ascii")
        out = iter(text[i : i + 26] for i in range(0, len(text), 26))
        return pa.array([None if x is None else next(out) for x in ids], pa.string())

    return run


def naive_per_row(key: bytes) -> Callable[[pa.Array], pa.Array]:
    """Per-row ``hmac.new`` and per-row encoding: ``Pseudonymiser.one`` in a loop."""
    encode = pseudonyms._encode_one

    def run(values: pa.Array) -> pa.Array:
        return pa.array(
            [
                None
                if x is None
                else encode(hmac.new(key, x.encode(), hashlib.sha256).digest())
                for x in values.to_pylist()
            ],
            pa.string(),
        )

    return run


@dataclass
class Timing:
    rows: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    step_wall: float = 0.0
    step_cpu: float = 0.0
    read_cpu: float = 0.0
    write_cpu: float = 0.0

    def line(self, name: str) -> str:
        return (
            f"{name:26s} step {self.rows / self.step_wall / 1e6:5.2f} M ids/s wall, "
            f"{self.rows / self.step_cpu / 1e6:5.2f} M/CPU-s | "
            f"pipeline {self.rows / self.wall / 1e6:5.2f} M ids/s wall, "
            f"{self.rows / self.cpu / 1e6:5.2f} M/CPU-s"
        )

    def split(self) -> str:
        per_row = 1e9 / self.rows
        rest = self.cpu - self.step_cpu - self.read_cpu - self.write_cpu
        return (
            f"CPU ns per row: read {self.read_cpu * per_row:.0f}, pseudonymise "
            f"{self.step_cpu * per_row:.0f}, write {self.write_cpu * per_row:.0f}, "
            f"other {rest * per_row:.0f}"
        )


def stream(
    source: Path,
    target: Path,
    method: Callable[[pa.Array], pa.Array],
    batch_size: int,
) -> Timing:
    timing = Timing()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    reader = pq.ParquetFile(source)
    index = reader.schema_arrow.get_field_index(ID_COLUMN)
    schema = reader.schema_arrow.set(index, pa.field(ID_COLUMN, pa.string()))
    others = [c for c in schema.names if c != ID_COLUMN]
    # Pseudonyms are random: dictionary pages, min/max statistics and Snappy only cost
    # time on them (about 80 ns a row here), so the pseudonym column goes without.
    with pq.ParquetWriter(
        target,
        schema,
        use_dictionary=others,
        write_statistics=others,
        compression={ID_COLUMN: "none", **dict.fromkeys(others, "snappy")},
    ) as writer:
        batches = reader.iter_batches(batch_size=batch_size)
        while True:
            c = time.process_time()
            batch = next(batches, None)
            timing.read_cpu += time.process_time() - c
            if batch is None:
                break
            w, c = time.perf_counter(), time.process_time()
            column = method(batch.column(index))
            timing.step_wall += time.perf_counter() - w
            timing.step_cpu += time.process_time() - c
            columns = list(batch.columns)
            columns[index] = column
            c = time.process_time()
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            timing.write_cpu += time.process_time() - c
            timing.rows += batch.num_rows
    timing.wall = time.perf_counter() - wall0
    timing.cpu = time.process_time() - cpu0
    return timing


def same_output(a: Path, b: Path, batch_size: int) -> bool:
    left = pq.ParquetFile(a).iter_batches(batch_size=batch_size, columns=[ID_COLUMN])
    right = pq.ParquetFile(b).iter_batches(batch_size=batch_size, columns=[ID_COLUMN])
    return all(
        x.column(0).equals(y.column(0)) for x, y in zip(left, right, strict=True)
    )


def distinct(path: Path) -> tuple[int, int]:
    """Rows and distinct values of the identifier column of a Parquet file."""
    column = pq.read_table(path, columns=[ID_COLUMN]).column(ID_COLUMN)
    return len(column), pc.count_distinct(column).as_py()


def profile(pseudonymiser: Pseudonymiser, values: pa.Array, key: bytes) -> None:
    """Where the time of ``column`` goes, per identifier (CPU time, best of 3)."""
    binary = values.cast(pa.binary())
    batch = pseudonyms._BATCH
    copy = pseudonymiser._keyed.copy
    n = len(values)

    def best(fn: Callable[[], object]) -> float:
        runs = []
        for _ in range(3):
            start = time.process_time()
            fn()
            runs.append(time.process_time() - start)
        return min(runs) / n * 1e9

    chunks = [binary.slice(s, batch) for s in range(0, n, batch)]
    lists = [c.to_pylist() for c in chunks]
    digests = [
        [(h := copy()).update(m) or h.finalize() for m in ids]  # type: ignore[func-returns-value]
        for ids in lists
    ]
    blobs = [b"".join(d) for d in digests]
    parts = {
        "Arrow -> list of bytes": lambda: [c.to_pylist() for c in chunks],
        "HMAC (copy/update/finalize)": lambda: [
            [(h := copy()).update(m) or h.finalize() for m in ids]  # type: ignore[func-returns-value]
            for ids in lists
        ],
        "join digests": lambda: [b"".join(d) for d in digests],
        "encode (numpy)": lambda: [pseudonyms._encode_digests(b) for b in blobs],
        "whole column()": lambda: pseudonymiser.column(values),
    }
    print(f"\nprofile of Pseudonymiser.column on {n} ids (CPU ns per id, best of 3):")
    for name, fn in parts.items():
        print(f"  {name:30s} {best(fn):6.0f}")
    ipad = hashlib.sha256(bytes(b ^ 0x36 for b in key.ljust(64, b"\0")))
    opad = hashlib.sha256(bytes(b ^ 0x5C for b in key.ljust(64, b"\0")))
    flat = [m for ids in lists for m in ids]

    def midstates() -> None:
        icopy, ocopy = ipad.copy, opad.copy
        for m in flat:
            h = icopy()
            h.update(m)
            o = ocopy()
            o.update(h.digest())
            o.digest()

    print("  keyed hashing alone, for comparison:")
    for name, fn in {
        "hmac.new per row": lambda: [
            hmac.new(key, m, hashlib.sha256).digest() for m in flat
        ],
        "hashlib midstates (note §6)": midstates,
        "cryptography HMAC copy (ours)": lambda: [
            (h := copy()).update(m) or h.finalize()  # type: ignore[func-returns-value]
            for m in flat
        ],
    }.items():
        ns = best(fn)
        print(f"  {name:30s} {ns:6.0f}  ({1e3 / ns:.2f} M/s)")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--batch-size", type=int, default=65_536)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dir", type=Path, help="where the Parquet files go")
    parser.add_argument("--check-collisions", action="store_true")
    parser.add_argument(
        "--skip-per-row-encoding",
        action="store_true",
        help="leave out the slowest baseline (per-row encoding)",
    )
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-pseudonymise-"))
    folder.mkdir(parents=True, exist_ok=True)
    n = args.rows

    print(
        f"date {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; {platform.node()}, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}; "
        f"Python {sys.version.split()[0]}, pyarrow {pa.__version__}, "
        f"numpy {np.__version__}, cryptography {cryptography.__version__}"
    )
    print(f"rows {n}, Parquet batches of {args.batch_size}; load average {load()}")

    start = time.perf_counter()
    ids = generate_matricules(n, args.seed)
    source = folder / "identifiers.parquet"
    amounts = np.random.default_rng(args.seed + 1).integers(0, 100_000, n)
    pq.write_table(pa.table({ID_COLUMN: ids, "amount": amounts}), source)
    del ids, amounts
    print(
        f"generated and wrote {n} distinct matricules in "
        f"{time.perf_counter() - start:.1f} s ({source.stat().st_size / 1e6:.0f} MB)"
    )

    master = random.Random(args.seed).randbytes(32)
    key = derive_domain_key(master, "bench", 1)
    ours = Pseudonymiser(key)
    methods: dict[str, Callable[[pa.Array], pa.Array]] = {
        "ours": ours.column,
        "naive (hmac.new)": naive(key),
    }
    if not args.skip_per_row_encoding:
        methods["naive, per-row encoding"] = naive_per_row(key)
    timings: dict[str, Timing] = {}
    outputs: dict[str, Path] = {}
    for name, method in methods.items():
        outputs[name] = folder / f"out-{len(outputs)}.parquet"
        timings[name] = stream(source, outputs[name], method, args.batch_size)
        print(f"{timings[name].line(name)}   load {load()}")
        print(f"{'':26s} {timings[name].split()}")

    first = outputs["ours"]
    for name, path in outputs.items():
        if path != first:
            assert same_output(first, path, args.batch_size), f"{name} differs"
    print("all outputs identical")

    base = timings["naive (hmac.new)"]
    mine = timings["ours"]
    print(
        f"ratio ours / naive (hmac.new): step {base.step_cpu / mine.step_cpu:.2f}x "
        f"(CPU), {base.step_wall / mine.step_wall:.2f}x (wall); pipeline "
        f"{base.cpu / mine.cpu:.2f}x (CPU), {base.wall / mine.wall:.2f}x (wall)"
    )
    if "naive, per-row encoding" in timings:
        slow = timings["naive, per-row encoding"]
        print(
            f"ratio ours / naive with per-row encoding: step "
            f"{slow.step_cpu / mine.step_cpu:.2f}x (CPU), pipeline "
            f"{slow.cpu / mine.cpu:.2f}x (CPU)"
        )

    if args.check_collisions:
        start = time.perf_counter()
        rows, different_ids = distinct(source)
        assert rows == different_ids == n, "the identifiers are not distinct"
        rows, different = distinct(first)
        print(
            f"collisions: {rows} pseudonyms of {different_ids} distinct identifiers, "
            f"{different} distinct -> {rows - different} collisions "
            f"({time.perf_counter() - start:.1f} s)"
        )
        assert different == rows, "collision found"

    sample = pq.ParquetFile(source).read_row_group(0).column(ID_COLUMN)
    sample = sample.slice(0, min(len(sample), 1_000_000)).combine_chunks()
    profile(ours, sample, key)
    print(f"load average at the end {load()}")


if __name__ == "__main__":
    main()
