"""Where a protected dataset's data lives, from the command line:
``datafactory catalogue source set|show``.

Commands act as the CLI's catalogue administrator (``system:cli``) unless ``--as EMAIL``
names a person, who must be a data steward of the publisher or a catalogue administrator.
Database connections are named, never given: their URLs belong in the settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy.orm import Session

from datafactory.catalogue import sources
from datafactory.catalogue.sources import DataSourceIn, SourceKind
from datafactory.cli.common import open_runtime, person_actor
from datafactory.cli.output import console, say
from datafactory.core.db import unit_of_work
from datafactory.core.errors import FieldError, InvalidInput
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role

app = typer.Typer(
    help="Where protected datasets' data lives (stewards only).", no_args_is_help=True
)
DataDir = Annotated[Path | None, typer.Option("--data-dir")]
As = Annotated[
    str | None,
    typer.Option("--as", help="Act as this data steward (e-mail address)."),
]
ADMIN = Actor(
    ref="system:cli", name="cli", roles=frozenset({(Role.catalogue_admin.value, None)})
)


def acting(session: Session, email: str | None) -> Actor:
    return ADMIN if email is None else person_actor(session, email)


@app.command("set")
def set_source(
    dataset_id: str,
    kind: Annotated[SourceKind, typer.Option("--kind", help="parquet, csv or sql.")],
    location: Annotated[
        str,
        typer.Option(
            "--location",
            help="A file store key, an absolute path under the holders folder, or "
            "for sql a table (schema.table).",
        ),
    ],
    table: Annotated[
        str, typer.Option("--table", help="The workspace table it becomes (person).")
    ],
    person_column: Annotated[
        str | None,
        typer.Option("--person-column", help="The column of the matricule."),
    ] = None,
    connection: Annotated[
        str | None,
        typer.Option("--connection", help="For sql: the database connection's name."),
    ] = None,
    as_: As = None,
    data_dir: DataDir = None,
) -> None:
    """Register (or replace) where a protected dataset's data lives."""
    try:
        source = DataSourceIn(
            kind=kind,
            location=location,
            connection=connection,
            table_name=table,
            person_column=person_column,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "source"
        raise InvalidInput(
            f"invalid source ({where}): {first['msg']}",
            errors=[FieldError(where, first["msg"])],
        ) from None
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        with unit_of_work(runtime.sessions) as session:
            found = sources.set_source(
                session, acting(session, as_), dataset_id=dataset_id, source=source
            )
            say(
                f"dataset {found.dataset_id}: {found.kind} source registered; it "
                f"becomes the workspace table {found.table_name}"
            )


@app.command("show")
def show_source(dataset_id: str, as_: As = None, data_dir: DataDir = None) -> None:
    """Show where a protected dataset's data lives."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        found = sources.get_source(session, acting(session, as_), dataset_id=dataset_id)
        table = Table("field", "value")
        for field, value in (
            ("dataset", found.dataset_id),
            ("kind", found.kind),
            ("location", found.location),
            ("connection", found.connection or ""),
            ("workspace table", found.table_name),
            ("person column", found.person_column or ""),
            ("registered by", found.registered_by),
            ("registered at", found.registered_at.isoformat(timespec="seconds")),
        ):
            table.add_row(field, value)
        console.print(table)
