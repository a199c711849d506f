"""Where the data of a protected dataset lives, for the preparation of workspaces.

The catalogue publishes a protected dataset's description and data dictionary, never its
data. The holder's extract stays where the holder keeps it: a Parquet or CSV file (a key
in the platform's file store, or an absolute path under the configured holders folder) or
a table of one of the holder's databases. A data steward of the publisher registers that
location once per dataset, together with the name of the table it becomes in a workspace
(``person``, ``claim``) and the column holding the person's national identification
number. Only the publisher's stewards and catalogue administrators ever see it; the
preparation of a workspace (``spe.preparation``) reads it.

Database connections are named here, never given: the caller of :func:`read_source` hands
in a mapping name → SQLAlchemy URL (from the operator's settings), which is neither stored
nor logged, as it usually carries a password.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
import pyarrow.csv as pa_csv  # type: ignore[import-untyped, unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ForeignKey, MetaData, String, create_engine, select
from sqlalchemy import Table as SqlTable
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from datafactory.catalogue import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.catalogue.events import DataSourceRegistered
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import DatasetStatus
from datafactory.core import ledger
from datafactory.core.db import Base, UTCDateTime, utcnow
from datafactory.core.errors import (
    ConfigurationError,
    InvalidInput,
    NotFound,
)
from datafactory.core.files import FileStore, check_key
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role

__all__ = [
    "DataSource",
    "DataSourceIn",
    "DataSourcePublic",
    "SourceAccess",
    "SourceKind",
    "get_source",
    "read_source",
    "set_source",
    "source_columns",
    "source_of",
    "source_public",
]

NAME = r"^[a-z_][a-z0-9_]{0,62}$"
"""A workspace table name: lower case, as the query gate quotes it."""
COLUMN = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"
_SQL_TABLE = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$"
)
_CONNECTION = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
_SQL_BATCH = 50_000


class SourceKind(StrEnum):
    parquet = "parquet"
    csv = "csv"
    sql = "sql"


class DataSource(Base):
    """Where one protected dataset's extract is, and what it becomes in a workspace."""

    __tablename__ = "catalogue_data_sources"

    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(String(1000))
    """A file store key, an absolute path under the holders folder, or for ``sql`` a
    table (``schema.table`` or ``table``)."""
    connection: Mapped[str | None] = mapped_column(String(100))
    """For ``sql``: the name of the database connection (its URL is never stored)."""
    table_name: Mapped[str] = mapped_column(String(63))
    person_column: Mapped[str | None] = mapped_column(String(63))
    """The column holding the person's national identification number; None when the
    dataset is about no one in particular."""
    registered_by: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DataSourceIn(BaseModel):
    """What a data steward registers for a protected dataset."""

    model_config = ConfigDict(extra="forbid")

    kind: SourceKind
    location: str = Field(min_length=1, max_length=1000)
    connection: str | None = Field(default=None, pattern=_CONNECTION)
    table_name: str = Field(pattern=NAME)
    person_column: str | None = Field(default=None, pattern=COLUMN)

    @model_validator(mode="after")
    def _location_fits_kind(self) -> DataSourceIn:
        if self.kind is SourceKind.sql:
            if not self.connection:
                raise ValueError("a SQL source names its database connection")
            if not _SQL_TABLE.fullmatch(self.location):
                raise ValueError("a SQL source's location is a table: schema.table")
            return self
        if self.connection is not None:
            raise ValueError("only a SQL source names a database connection")
        if self.location.startswith("/"):
            path = Path(self.location)
            if ".." in path.parts:
                raise ValueError("a holder's file path may not contain '..'")
        else:
            check_key(self.location)
        if Path(self.location).suffix.lower() not in _SUFFIXES[self.kind]:
            shown = " or ".join(_SUFFIXES[self.kind])
            raise ValueError(f"a {self.kind.value} file ends in {shown}")
        return self


_SUFFIXES = {SourceKind.parquet: (".parquet", ".pq"), SourceKind.csv: (".csv",)}


class DataSourcePublic(BaseModel):
    """A registered source, as its stewards see it (never shown to the public)."""

    dataset_id: str
    kind: SourceKind
    location: str
    connection: str | None
    table_name: str
    person_column: str | None
    registered_by: str
    registered_at: datetime


def source_public(source: DataSource) -> DataSourcePublic:
    return DataSourcePublic(
        dataset_id=source.dataset_id,
        kind=SourceKind(source.kind),
        location=source.location,
        connection=source.connection,
        table_name=source.table_name,
        person_column=source.person_column,
        registered_by=source.registered_by,
        registered_at=source.registered_at,
    )


# --- the verbs ----------------------------------------------------------------------------


def _steward_of_publisher(actor: Actor, dataset: Any) -> bool:
    if not (actor.is_authenticated or actor.is_system):
        return False
    if actor.has_role(Role.catalogue_admin, Role.admin):
        return True
    if dataset is None:
        return actor.has_role(Role.data_steward)
    return actor.has_role(Role.data_steward, organisation_id=dataset.publisher_id)


# Where the data lives is for the publisher's stewards, never for the public.
policy.register({"catalogue.source.manage": _steward_of_publisher})


def _stewarded(session: Session, actor: Actor, dataset_id: str) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or not policy.allowed(actor, "catalogue.dataset.view", dataset):
        raise NotFound(f"There is no dataset {dataset_id}.")
    policy.ensure(actor, "catalogue.source.manage", dataset)
    return dataset


def set_source(
    session: Session,
    actor: Actor,
    *,
    dataset_id: str,
    source: DataSourceIn,
) -> DataSource:
    """Register where a dataset's data lives, replacing an earlier registration."""
    dataset = _stewarded(session, actor, dataset_id)
    if dataset.status == DatasetStatus.deleted.value:
        raise InvalidInput(f"Dataset {dataset_id} was withdrawn.")
    found = session.get(DataSource, dataset_id)
    replaced = found is not None
    if found is None:
        found = DataSource(dataset_id=dataset_id)
        session.add(found)
    found.kind = source.kind.value
    found.location = source.location
    found.connection = source.connection
    found.table_name = source.table_name
    found.person_column = source.person_column
    found.registered_by = actor.ref
    found.registered_at = utcnow()
    session.flush()
    ledger.record(
        session,
        actor.ref,
        DataSourceRegistered(
            dataset_id=dataset_id,
            kind=found.kind,
            connection=found.connection,
            table_name=found.table_name,
            person_column=found.person_column,
            # The auditor can tell which location was registered without the ledger
            # spelling out where the holder keeps its data.
            location_sha256=hashlib.sha256(found.location.encode()).hexdigest(),
            replaced=replaced,
        ),
    )
    return found


def get_source(session: Session, actor: Actor, *, dataset_id: str) -> DataSource:
    """The dataset's registered source, for its stewards and catalogue administrators."""
    _stewarded(session, actor, dataset_id)
    found = session.get(DataSource, dataset_id)
    if found is None:
        raise NotFound(f"No source is registered for dataset {dataset_id}.")
    return found


def source_of(session: Session, dataset_id: str) -> DataSource | None:
    """The source without a policy check: for the preparation, which checked its own."""
    return session.get(DataSource, dataset_id)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceAccess:
    """What reading a source needs from the platform, handed in by the caller."""

    store: FileStore | None = None
    """The platform's file store, for sources registered by key."""
    holders_dir: Path | None = None
    """The only folder whose files may be named by absolute path."""
    sql_connections: Mapping[str, str] = field(default_factory=dict)
    """Connection name → SQLAlchemy URL. Never stored, never logged."""


def source_columns(source: DataSource, access: SourceAccess) -> list[str]:
    """The columns the source has, read from its header or schema only."""
    kind = SourceKind(source.kind)
    if kind is SourceKind.sql:
        return [c.name for c in _sql_table(source, access).columns]
    data = _file_bytes(source, access)
    try:
        if kind is SourceKind.parquet:
            names: list[str] = pq.read_schema(pa.BufferReader(data)).names
            return names
        reader = pa_csv.open_csv(
            pa.BufferReader(data), read_options=pa_csv.ReadOptions(block_size=1 << 16)
        )
        return list(reader.schema.names)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        raise _unreadable(source) from None


def read_source(
    source: DataSource, access: SourceAccess, columns: Sequence[str]
) -> pa.Table:
    """Only ``columns`` of the source, in that order. CSV columns come as text (the
    data dictionary types them); Parquet and SQL columns keep their own types."""
    kind = SourceKind(source.kind)
    if kind is SourceKind.sql:
        return _read_sql(source, access, columns)
    data = _file_bytes(source, access)
    try:
        if kind is SourceKind.parquet:
            return pq.read_table(pa.BufferReader(data), columns=list(columns))
        return pa_csv.read_csv(
            pa.BufferReader(data),
            convert_options=pa_csv.ConvertOptions(
                include_columns=list(columns),
                column_types={name: pa.string() for name in columns},
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError, KeyError):
        raise _unreadable(source) from None


def _unreadable(source: DataSource) -> InvalidInput:
    # Arrow's own message may quote a row of the holder's data: never shown.
    return InvalidInput(
        f"The {source.kind.upper()} source of dataset {source.dataset_id} cannot be "
        "read: it is damaged, not UTF-8, or a row has the wrong number of fields."
    )


def _file_bytes(source: DataSource, access: SourceAccess) -> bytes:
    if not source.location.startswith("/"):
        if access.store is None:
            raise ConfigurationError("No file store was given to read sources from.")
        return access.store.read(source.location)
    if access.holders_dir is None:
        raise ConfigurationError(
            f"Dataset {source.dataset_id} names a file by path, but no holders folder "
            "is configured."
        )
    folder = access.holders_dir.resolve()
    path = Path(source.location).resolve()
    if not path.is_relative_to(folder):
        # Resolved, so a symbolic link cannot lead out of the holders folder either.
        raise InvalidInput(
            f"The source of dataset {source.dataset_id} lies outside the holders folder."
        )
    if not path.is_file():
        raise NotFound(f"The source file of dataset {source.dataset_id} is missing.")
    return path.read_bytes()


def _sql_url(source: DataSource, access: SourceAccess) -> str:
    url = access.sql_connections.get(source.connection or "")
    if url is None:
        raise ConfigurationError(
            f"Dataset {source.dataset_id} is read through the database connection "
            f"{source.connection!r}, which is not configured."
        )
    return url


def _sql_table(source: DataSource, access: SourceAccess) -> SqlTable:
    schema, _, name = source.location.rpartition(".")
    engine = create_engine(_sql_url(source, access))
    try:
        return SqlTable(name, MetaData(), schema=schema or None, autoload_with=engine)
    except NoSuchTableError:
        raise NotFound(
            f"The source table of dataset {source.dataset_id} is missing."
        ) from None
    except SQLAlchemyError as exc:
        # The driver's message may hold the URL and its password: name the kind only.
        raise ConfigurationError(
            f"The database connection {source.connection!r} failed "
            f"({type(exc).__name__})."
        ) from None
    finally:
        engine.dispose()


def _read_sql(
    source: DataSource, access: SourceAccess, columns: Sequence[str]
) -> pa.Table:
    table = _sql_table(source, access)
    engine = create_engine(_sql_url(source, access))
    values: dict[str, list[Any]] = {name: [] for name in columns}
    try:
        with engine.connect() as connection:
            result = connection.execution_options(stream_results=True).execute(
                select(*(table.c[name] for name in columns))
            )
            for rows in result.partitions(_SQL_BATCH):
                for name, column in zip(columns, zip(*rows, strict=True), strict=True):
                    values[name].extend(column)
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"Reading dataset {source.dataset_id} through {source.connection!r} failed "
            f"({type(exc).__name__})."
        ) from None
    finally:
        engine.dispose()
    try:
        return pa.table({name: pa.array(values[name]) for name in columns})
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise _unreadable(source) from None
