"""The secure processing environment from the command line: workspaces and the query gate.

``datafactory spe query --workspace W --user U "SQL"`` goes through the same gate as the API
and the web editor: it prints the released table and exits 0, or prints the refusal and its
reasons and exits 1. ``--user`` names a member by e-mail address, or by the part before the
``@`` when that is unambiguous (``researcher`` in the demo).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.cli.common import open_runtime, person_actor
from datafactory.cli.output import console, errors, fail, plain, say
from datafactory.core.db import unit_of_work
from datafactory.core.errors import NotFound
from datafactory.identity.actor import Actor
from datafactory.identity.models import Person, Role
from datafactory.spe import preparation, workspaces
from datafactory.spe.queries import gate

app = typer.Typer(
    help="The secure processing environment: workspaces and the query gate.",
    no_args_is_help=True,
)
OPERATOR = Actor(
    ref="system:cli", name="cli", roles=frozenset({(Role.spe_operator.value, None)})
)
DataDir = Annotated[Path | None, typer.Option("--data-dir")]
User = Annotated[
    str,
    typer.Option(
        "--user", "-u", help="The member asking: e-mail address, or its local part."
    ),
]


def person_named(session: Session, who: str) -> Actor:
    """The active person ``who`` names: a full address, or a local part that only one
    person's address starts with."""
    who = who.strip().lower()
    if "@" in who:
        return person_actor(session, who)
    found = list(
        session.scalars(select(Person.email).where(Person.email.startswith(f"{who}@")))
    )
    if not found:
        raise NotFound(f"there is no person {who!r}")
    if len(found) > 1:
        raise NotFound(f"{who!r} names several people: give the whole e-mail address")
    return person_actor(session, found[0])


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="One SELECT in DuckDB's dialect.")],
    workspace: Annotated[str, typer.Option("--workspace", "-w")],
    user: User,
    round_results: Annotated[
        bool, typer.Option("--round", help="Round counts and sums to base 5.")
    ] = False,
    save: Annotated[
        str | None,
        typer.Option(
            "--save", help="Keep the released table as a workspace output of this name."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDir = None,
) -> None:
    """Ask an aggregate question of a workspace through the query gate."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        actor = person_named(session, user)
        answer = gate.ask(
            session, actor, runtime.spe, workspace, sql, round_results=round_results
        )
        saved = None
        if save and not answer.refused:
            saved = gate.save_answer(session, actor, runtime.spe, answer, name=save)
    if answer.refused:
        if as_json:
            plain(
                json.dumps({"query": answer.query_id, "refused": list(answer.reasons)})
            )
        errors.print(
            f"[bold red]refused[/] (query #{answer.query_id}):", soft_wrap=True
        )
        for reason in answer.reasons:
            errors.print(f"  - {reason}", soft_wrap=True, markup=False)
        raise typer.Exit(1)
    if as_json:
        plain(
            json.dumps(
                {
                    "query": answer.query_id,
                    "columns": list(answer.columns),
                    "rows": [list(r) for r in answer.rows],
                    "suppressed": [
                        {"row": s.row, "column": s.column, "reasons": list(s.reasons)}
                        for s in answer.suppressed
                    ],
                    "notes": list(answer.notes),
                    "output": saved,
                },
                default=str,
            )
        )
        return
    table = Table(*answer.columns, title=f"query #{answer.query_id}")
    marks = {(s.row, s.column) for s in answer.suppressed}
    for i, row in enumerate(answer.rows):
        table.add_row(
            *(
                "suppressed" if (i, c) in marks else ("" if v is None else str(v))
                for c, v in zip(answer.columns, row, strict=True)
            )
        )
    console.print(table)
    reasons = sorted({r for s in answer.suppressed for r in s.reasons})
    for note in answer.notes:
        say(note)
    for reason in reasons:
        say(f"  suppressed: {reason}")
    if saved is not None:
        say(f"kept as workspace output #{saved}")


@app.command("workspaces")
def list_workspaces(
    user: Annotated[
        str | None,
        typer.Option("--user", "-u", help="Only the workspaces of this member."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """List the workspaces (all of them, or a member's)."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        if user is None:
            found = workspaces.list_workspaces(session, OPERATOR)
        else:
            found = workspaces.list_workspaces(session, person_named(session, user))
        table = Table("workspace", "status", "tables", "destroy after")
        for ws in found:
            tables = ", ".join(
                f"{t.name} ({t.rows:,} rows)"
                for t in workspaces.table_rows(session, ws)
            )
            table.add_row(
                ws.name,
                ws.status,
                tables or "-",
                ws.destroy_after.isoformat() if ws.destroy_after else "-",
            )
    if not found:
        fail("there are no workspaces")
    console.print(table)


@app.command()
def prepare(
    workspace: Annotated[str, typer.Option("--workspace", "-w")],
    as_: Annotated[
        str,
        typer.Option("--as", help="The TTP operator preparing it (e-mail address)."),
    ],
    abandon: Annotated[
        str | None,
        typer.Option(
            "--abandon",
            metavar="REASON",
            help="Instead, mark a preparation whose worker stopped as failed, so that "
            "it can run again.",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Prepare a workspace's tables from its permit's data sources (the TTP's job)."""
    with open_runtime(data_dir) as runtime:
        with unit_of_work(runtime.sessions) as session:
            actor = person_actor(session, as_)
        if abandon is not None:
            preparation.abandon_preparation(
                runtime.sessions, runtime.spe, actor, workspace, reason=abandon
            )
            say(f"The preparation of {workspace} was abandoned; it can run again.")
            return
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()
        ) as bar:
            task = bar.add_task(f"Preparing {workspace}", total=None)
            report = preparation.prepare_workspace(
                runtime.sessions,
                runtime.spe,
                actor,
                workspace,
                sql_connections=runtime.settings.spe_sql_connection_urls(),
                holders_dir=runtime.settings.resolved_spe_holders_dir,
                progress=lambda done, total, message: bar.update(
                    task, completed=done, total=total, description=message
                ),
            )
    if not report.ok:
        fail(f"workspace {workspace} was not prepared: {'; '.join(report.errors)}")
    for table in report.tables:
        say(f"{table.name}: {table.rows:,} rows, {len(table.variables)} variables")
