"""``datafactory ttp link``: identifier matching of one file (deduplication) or two.

The command reads and checks the files first (one clear error, nothing recorded, nothing
written), then trains, scores and clusters with a progress bar, saves the person index and
the review queue, and writes each file to ``--out-dir`` as ``<name>.linked.<csv|parquet>``
with its identifying columns replaced by the ``pseudonym`` column: a temporary file each,
renamed only when all were written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from datafactory.cli.common import open_runtime
from datafactory.cli.output import console, say
from datafactory.core.db import unit_of_work
from datafactory.core.errors import Forbidden, NotFound
from datafactory.identity.actor import Actor
from datafactory.identity.models import Person, Role
from datafactory.ttp import linkage

OPERATOR = Actor(
    ref="system:cli", name="cli", roles=frozenset({(Role.ttp_operator.value, None)})
)
PHASES = {
    "reading": "reading files",
    "training": "training the model",
    "scoring": "scoring pairs",
    "clustering": "finding persons",
    "saving": "saving the person index",
    "writing": "writing files",
}


def _acting(sessions: sessionmaker[Session], email: str | None) -> Actor:
    """The CLI's TTP operator, or the person ``--as`` names (as ``ttp`` commands do)."""
    if email is None:
        return OPERATOR
    with unit_of_work(sessions) as session:
        person = session.scalar(
            select(Person).where(Person.email == email.strip().lower())
        )
        if person is None:
            raise NotFound(f"there is no person with the address {email}")
        if not person.active:
            raise Forbidden(f"{email} is deactivated")
        return Actor.for_person(person)


def link(
    left: Annotated[
        Path, typer.Argument(help="CSV or Parquet file; alone, it is deduplicated.")
    ],
    domain: Annotated[str, typer.Option("--domain", help="The pseudonym domain.")],
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Folder for the pseudonymised files.")
    ],
    columns: Annotated[
        str,
        typer.Option(
            "--columns",
            help="Fields to compare and their columns: first_name=prenom,"
            "surname=nom,birth_date=naissance,address=numero+rue,postcode=cp "
            "(fields: first_name, surname, birth_date, sex, address, postcode).",
        ),
    ],
    right: Annotated[
        Path | None, typer.Argument(help="A second file, to link with the first.")
    ] = None,
    right_columns: Annotated[
        str | None,
        typer.Option(
            "--right-columns", help="The second file's columns, if named differently."
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key", help="Column of the holder's row keys (else row numbers)."
        ),
    ] = None,
    right_key: Annotated[
        str | None, typer.Option("--right-key", help="The second file's key column.")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="The first file's holder label.")
    ] = None,
    right_label: Annotated[
        str | None, typer.Option("--right-label", help="The second file's label.")
    ] = None,
    match_threshold: Annotated[
        float, typer.Option("--match-threshold", min=0.0, max=1.0)
    ] = 0.95,
    review_threshold: Annotated[
        float, typer.Option("--review-threshold", min=0.0, max=1.0)
    ] = 0.6,
    blocking: Annotated[
        str | None,
        typer.Option(
            "--blocking",
            help="Blocking rules instead of the defaults, separated by ';': "
            "first_name+surname;birth_date+postcode;surname:3+birth_date",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="A name for the run.")
    ] = None,
    as_: Annotated[
        str | None,
        typer.Option("--as", help="Act as this TTP operator (e-mail address)."),
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
) -> None:
    """Link records without a common identifier; matched records share a pseudonym."""
    left_map = linkage.parse_columns(columns)
    sources = [linkage.SourceFile(left, left_map, label=label or "", key=key)]
    if right is not None:
        sources.append(
            linkage.SourceFile(
                right,
                linkage.parse_columns(right_columns) if right_columns else left_map,
                label=right_label or "",
                key=right_key or key,
            )
        )
    rules = (
        [linkage.BlockingRule.parse(r) for r in blocking.split(";") if r.strip()]
        if blocking
        else None
    )
    fields = set.intersection(*(set(s.columns) for s in sources))
    spec = linkage.LinkageSpec.for_fields(
        fields,
        blocking=rules,
        match_threshold=match_threshold,
        review_threshold=review_threshold,
    )
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        actor = _acting(runtime.sessions, as_)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(PHASES["reading"], total=None)

            def progress(phase: str, done: int, total: int | None) -> None:
                bar.update(
                    task,
                    description=PHASES.get(phase, phase),
                    completed=done,
                    total=total,
                )

            report = linkage.link_files(
                runtime.sessions,
                actor,
                runtime.ttp,
                domain=domain,
                sources=sources,
                out_dir=out_dir,
                spec=spec,
                name=name,
                progress=progress,
            )
    say(
        f"run {report.run_id} in {report.domain}: {report.records} records, "
        f"{report.persons} persons, {report.linked_pairs} pairs linked, "
        f"{report.review_pairs} pairs waiting for clerical review"
    )
    for path in report.outputs:
        say(f"written {path}")
