"""Pseudonymise a CSV or Parquet file: one identifier column replaced by a domain's
pseudonyms, streamed in Arrow batches.

Two passes over the file. The first checks every identifier (``privacy.matricule``); one
invalid identifier stops the whole file, and the report gives how many and which rows
(never the identifiers). Only a file that is wholly valid gets the second pass, which
writes the result beside the target and renames it into place at the end, so a failure at
any point leaves no target and no partial file. The pseudonyms handed out are kept in the
domain's mapping table with their identifier sealed (AES-SIV), inserting only the new ones.

Row numbers count data rows from 1 (a CSV header is not a row). Empty identifier cells are
allowed and stay empty. Every CSV column is read as text, so the other columns come out
exactly as they went in (no "007" turned into 7).
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.errors import FieldError, InvalidInput, NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.privacy import matricule
from datafactory.ttp import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.domains import open_domain
from datafactory.ttp.errors import InvalidIdentifiers, PseudonymCollision
from datafactory.ttp.events import FilePseudonymised, FileRefused
from datafactory.ttp.keyring import DomainKeys, Keyring
from datafactory.ttp.models import DomainPseudonym, PseudonymDomain

Progress = Callable[[str, int, int | None], None]
"""Called with the phase (``checking``, ``pseudonymising``), rows done, rows in all (None
while unknown)."""

ROWS_REPORTED = 100
_CSV_BLOCK_BYTES = 4 * 1024 * 1024
_LOOKUP_CHUNK = 1000


class FileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"

    @property
    def media_type(self) -> str:
        return (
            "text/csv" if self is FileFormat.csv else "application/vnd.apache.parquet"
        )


_SUFFIXES = {
    ".csv": FileFormat.csv,
    ".parquet": FileFormat.parquet,
    ".pq": FileFormat.parquet,
}


def format_of(path: Path | str) -> FileFormat:
    suffix = Path(path).suffix.lower()
    found = _SUFFIXES.get(suffix)
    if found is None:
        raise InvalidInput(
            f"{Path(path).name!r} is neither CSV nor Parquet: name it .csv or .parquet.",
            errors=[FieldError("file", "Use a .csv or .parquet file.")],
        )
    return found


@dataclass(frozen=True)
class Report:
    """What happened to one file. ``invalid_rows`` holds at most the first 100 rows."""

    domain: str
    column: str
    source: str
    target: str
    rows: int
    identifiers: int = 0
    new_pseudonyms: int = 0
    key_version: int | None = None
    invalid: int = 0
    invalid_rows: tuple[int, ...] = ()
    problems: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.invalid == 0

    def error(self) -> InvalidIdentifiers:
        shown = ", ".join(str(r) for r in self.invalid_rows)
        more = "" if self.invalid <= len(self.invalid_rows) else ", ..."
        reasons = ", ".join(f"{n} {p}" for p, n in sorted(self.problems.items()))
        return InvalidIdentifiers(
            f"{self.source}: {self.invalid} row(s) hold an invalid identifier in column "
            f"{self.column!r} (rows {shown}{more}; {reasons}). Nothing was written.",
            extra={
                "invalid": self.invalid,
                "invalid_rows": list(self.invalid_rows),
                "problems": dict(self.problems),
                "rows": self.rows,
            },
        )

    def raise_for_invalid(self) -> None:
        if not self.ok:
            raise self.error()


def pseudonymise_file(
    session: Session,
    actor: Actor,
    config: TtpConfig,
    *,
    domain: str,
    column: str,
    source: Path,
    target: Path,
    progress: Progress | None = None,
    source_name: str | None = None,
    target_name: str | None = None,
) -> Report:
    """Write ``source`` to ``target`` with ``column`` pseudonymised in ``domain``.

    The formats follow the extensions (CSV in, Parquet out works). With an invalid
    identifier the report is not ``ok``: nothing is written, the refusal is ledgered.
    ``source_name`` and ``target_name`` name the files in the report and the ledger.
    """
    policy.ensure(actor, "ttp.file.pseudonymise")
    found = open_domain(session, domain)
    reader = _reader(source, column, config.batch_rows)
    writer_format = format_of(target)
    if source.resolve() == target.resolve():
        raise InvalidInput("The target must differ from the source.")
    names = (source_name or source.name, target_name or target.name)
    notify = progress or _quiet
    scan = _scan(reader, notify)
    if scan.invalid:
        return _refuse(session, actor, found, column, names[0], scan)
    keys = Keyring(session, config, actor.ref).domain_keys(found)
    mapping = _Mapping(session, found, keys, config)
    _write_atomically(
        target,
        lambda tmp: _pseudonymise(
            reader, writer_format, tmp, keys, mapping, scan, notify
        ),
    )
    report = Report(
        domain=found.name,
        column=column,
        source=names[0],
        target=names[1],
        rows=scan.rows,
        identifiers=scan.identifiers,
        new_pseudonyms=mapping.new,
        key_version=keys.version,
    )
    ledger.record(
        session,
        actor.ref,
        FilePseudonymised(
            domain_id=found.id,
            domain=found.name,
            key_version=keys.version,
            column=column,
            source=names[0],
            target=names[1],
            rows=report.rows,
            identifiers=report.identifiers,
            new_pseudonyms=report.new_pseudonyms,
        ),
    )
    return report


def _quiet(_phase: str, _done: int, _total: int | None) -> None:
    return None


# --- reading ----------------------------------------------------------------------------


@dataclass
class _Reader:
    """Batches of one file, with the identifier column's position."""

    path: Path
    format: FileFormat
    column: str
    index: int
    schema: Any
    total: int | None
    batch_rows: int

    def batches(self) -> Iterator[Any]:
        try:
            if self.format is FileFormat.parquet:
                yield from pq.ParquetFile(self.path).iter_batches(
                    batch_size=self.batch_rows
                )
            else:
                yield from _csv_reader(self.path, self.schema.names)
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
            raise _unreadable(self.path, self.format) from None

    def identifiers(self, batch: Any) -> list[str | None]:
        values: list[str | None] = (
            batch.column(self.index).cast(pa.string()).to_pylist()
        )
        return values


def _reader(path: Path, column: str, batch_rows: int) -> _Reader:
    kind = format_of(path)
    if not path.is_file():
        raise NotFound(f"There is no file {path}.")
    try:
        if kind is FileFormat.parquet:
            meta = pq.ParquetFile(path)
            schema, total = meta.schema_arrow, meta.metadata.num_rows
        else:
            schema, total = _csv_schema(path), None
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError, OSError):
        raise _unreadable(path, kind) from None
    if column not in schema.names:
        listed = ", ".join(schema.names[:30])
        raise InvalidInput(
            f"{path.name} has no column {column!r} (its columns: {listed}).",
            errors=[
                FieldError("column", "Name the column that holds the identifiers.")
            ],
        )
    kind_of_column = schema.field(column).type
    if not (
        pa.types.is_string(kind_of_column)
        or pa.types.is_large_string(kind_of_column)
        or pa.types.is_integer(kind_of_column)
    ):
        raise InvalidInput(
            f"Column {column!r} holds {kind_of_column}; identifiers must be text or "
            "whole numbers."
        )
    return _Reader(
        path, kind, column, schema.get_field_index(column), schema, total, batch_rows
    )


def _unreadable(path: Path, kind: FileFormat) -> InvalidInput:
    # Arrow's own message quotes the offending line, identifiers and all: never shown.
    why = (
        "a row has the wrong number of fields, or the file is not UTF-8"
        if kind is FileFormat.csv
        else "it is not a Parquet file, or it is damaged"
    )
    return InvalidInput(f"{path.name} cannot be read as {kind.value.upper()}: {why}.")


def _csv_schema(path: Path) -> Any:
    names = pa_csv.open_csv(
        path, read_options=pa_csv.ReadOptions(block_size=64 * 1024)
    ).schema.names
    return pa.schema([(name, pa.string()) for name in names])


def _csv_reader(path: Path, names: list[str]) -> Any:
    return pa_csv.open_csv(
        path,
        read_options=pa_csv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            strings_can_be_null=False,
        ),
    )


# --- pass 1: check ----------------------------------------------------------------------


@dataclass
class _Scan:
    rows: int = 0
    identifiers: int = 0
    invalid: int = 0
    invalid_rows: list[int] = field(default_factory=list)
    problems: Counter[str] = field(default_factory=Counter)


def _blank(raw: str | None) -> bool:
    return raw is None or not raw.strip()


def _scan(reader: _Reader, progress: Progress) -> _Scan:
    scan = _Scan()
    for batch in reader.batches():
        for offset, raw in enumerate(reader.identifiers(batch)):
            if raw is None or _blank(raw):
                continue
            scan.identifiers += 1
            problem = matricule.check(raw)
            if problem is not None:
                scan.invalid += 1
                scan.problems[problem.value] += 1
                if len(scan.invalid_rows) < ROWS_REPORTED:
                    scan.invalid_rows.append(scan.rows + offset + 1)
        scan.rows += batch.num_rows
        progress("checking", scan.rows, reader.total)
    return scan


def _refuse(
    session: Session,
    actor: Actor,
    domain: PseudonymDomain,
    column: str,
    source: str,
    scan: _Scan,
) -> Report:
    problems = dict(sorted(scan.problems.items()))
    ledger.record(
        session,
        actor.ref,
        FileRefused(
            domain_id=domain.id,
            domain=domain.name,
            column=column,
            source=source,
            rows=scan.rows,
            invalid=scan.invalid,
            problems=problems,
        ),
    )
    return Report(
        domain=domain.name,
        column=column,
        source=source,
        target="",
        rows=scan.rows,
        identifiers=scan.identifiers,
        invalid=scan.invalid,
        invalid_rows=tuple(scan.invalid_rows),
        problems=problems,
    )


# --- pass 2: pseudonymise and write -----------------------------------------------------


def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Write through a hidden file beside ``target``; rename only when all went well."""
    if not target.parent.is_dir():
        raise NotFound(f"There is no folder {target.parent}.")
    fd, name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part"
    )
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _pseudonymise(
    reader: _Reader,
    out_format: FileFormat,
    tmp: Path,
    keys: DomainKeys,
    mapping: _Mapping,
    scan: _Scan,
    progress: Progress,
) -> None:
    schema = reader.schema.set(reader.index, pa.field(reader.column, pa.string()))
    writer = (
        pq.ParquetWriter(tmp, schema)
        if out_format is FileFormat.parquet
        else pa_csv.CSVWriter(tmp, schema)
    )
    done = seen = 0
    try:
        for batch in reader.batches():
            identifiers = [
                None if raw is None or _blank(raw) else matricule.normalise(raw)
                for raw in reader.identifiers(batch)
            ]
            seen += sum(i is not None for i in identifiers)
            pseudonyms = keys.pseudonymiser.column(pa.array(identifiers, pa.string()))
            mapping.add(pseudonyms.to_pylist(), identifiers)
            columns = list(batch.columns)
            columns[reader.index] = pseudonyms
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
            done += batch.num_rows
            progress("pseudonymising", done, scan.rows)
        if (done, seen) != (scan.rows, scan.identifiers):
            # The second pass trusts the first one's checks: the file must not change.
            raise InvalidInput(
                f"{reader.path.name} changed while it was read; nothing was written."
            )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        raise InvalidInput(
            f"The result cannot be written as {out_format.value.upper()} (a column's "
            "type has no form there)."
        ) from None
    finally:
        writer.close()


class _Mapping:
    """The domain's mapping table, filled batch by batch with only the new pseudonyms."""

    def __init__(
        self,
        session: Session,
        domain: PseudonymDomain,
        keys: DomainKeys,
        config: TtpConfig,
    ) -> None:
        self.session = session
        self.domain = domain
        self.keys = keys
        self.now = config.now()
        self.new = 0

    def add(self, pseudonyms: list[str | None], identifiers: list[str | None]) -> None:
        pairs: dict[str, str] = {}
        for pseudonym, identifier in zip(pseudonyms, identifiers, strict=True):
            if pseudonym is None or identifier is None:
                continue
            if pairs.setdefault(pseudonym, identifier) != identifier:
                raise self._collision()
        sealed = {p: self.keys.seal(i, p) for p, i in pairs.items()}
        known = self._known(list(sealed))
        if any(sealed[p] != s for p, s in known.items()):
            raise self._collision()
        fresh = [
            {
                "domain_id": self.domain.id,
                "pseudonym": p,
                "key_version": self.keys.version,
                "sealed": s,
                "created_at": self.now,
            }
            for p, s in sealed.items()
            if p not in known
        ]
        if fresh:
            self.session.execute(_insert_new(self.session), fresh)
            self.new += len(fresh)

    def _known(self, pseudonyms: list[str]) -> dict[str, bytes]:
        known: dict[str, bytes] = {}
        for start in range(0, len(pseudonyms), _LOOKUP_CHUNK):
            rows = self.session.execute(
                select(DomainPseudonym.pseudonym, DomainPseudonym.sealed).where(
                    DomainPseudonym.domain_id == self.domain.id,
                    DomainPseudonym.pseudonym.in_(
                        pseudonyms[start : start + _LOOKUP_CHUNK]
                    ),
                )
            )
            known.update({p: bytes(s) for p, s in rows})
        return known

    def _collision(self) -> PseudonymCollision:
        return PseudonymCollision(
            f"Two different identifiers gave one pseudonym in {self.domain.name}; "
            "nothing was written. Rotate the domain and run the file again."
        )


def _insert_new(session: Session) -> Any:
    """INSERT that skips a (domain, pseudonym) another transaction stored meanwhile.

    ``ON CONFLICT (pseudonym, domain_id) DO NOTHING`` on both databases: SQLite's
    ``INSERT OR IGNORE`` would also swallow NOT NULL and CHECK failures.
    """
    # The table, not the class: a Core executemany skips the ORM's bulk bookkeeping.
    table = cast(Table, DomainPseudonym.__table__)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(
            index_elements=["pseudonym", "domain_id"]
        )
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(
            index_elements=["pseudonym", "domain_id"]
        )
    return insert(table)
