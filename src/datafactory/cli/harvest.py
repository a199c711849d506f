"""Harvest sources from the command line: add, list, run one, run those due.

``datafactory harvest run-due`` runs every source whose schedule (daily, weekly) is due;
call it from cron or a systemd timer (see docs/harvest.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from datafactory.catalogue.harvest import run as harvest_run
from datafactory.catalogue.harvest import sources
from datafactory.catalogue.harvest.errors import HarvestError
from datafactory.cli.common import open_runtime
from datafactory.cli.output import console, plain, say
from datafactory.core.db import unit_of_work, utcnow
from datafactory.identity.actor import Actor
from datafactory.runtime import Runtime

app = typer.Typer(help="Harvest other catalogues into ours.", no_args_is_help=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir")]
OPERATOR = Actor(ref="system:cli", name="cli", roles=frozenset({("admin", None)}))


@app.command()
def add(
    name: str,
    type: Annotated[sources.SourceType, typer.Option("--type", help="Source type.")],
    url: Annotated[
        str, typer.Option("--url", help="File path, file:// or http(s) URL.")
    ],
    publisher: Annotated[str, typer.Option("--publisher", help="Organisation slug.")],
    allow_private_network: Annotated[
        bool,
        typer.Option(
            "--allow-private-network",
            help="Let the source reach private addresses and local files.",
        ),
    ] = False,
    schedule: Annotated[
        sources.Schedule, typer.Option("--schedule", help="When run-due runs it.")
    ] = sources.Schedule.never,
    language: Annotated[
        str, typer.Option("--language", help="Language of untagged texts.")
    ] = "fr",
    grace_days: Annotated[
        int,
        typer.Option("--grace-days", help="Days before a vanished record is archived."),
    ] = 7,
    data_dir: DataDir = None,
) -> None:
    """Add a harvest source for an organisation."""
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        with unit_of_work(runtime.sessions) as session:
            source = sources.add_source(
                session,
                OPERATOR,
                name=name,
                type=type,
                url=url,
                publisher=publisher,
                allow_private_network=allow_private_network,
                schedule=schedule,
                language=language,
                grace_days=grace_days,
            )
            say(f"added harvest source {source.name} ({source.id})")


@app.command("list")
def list_(data_dir: DataDir = None) -> None:
    """List the harvest sources and how their last run went."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        found = sources.list_sources(session, OPERATOR)
        runs = sources.last_runs(session, [s.id for s in found])
        table = Table("name", "type", "url", "schedule", "last run", "result")
        for source in found:
            last = runs.get(source.id)
            table.add_row(
                source.name,
                source.type,
                source.url,
                source.schedule,
                last.started_at.strftime("%Y-%m-%d %H:%M") if last else "never",
                _summary(last.report, last.error) if last else "",
            )
        console.print(table)


def _summary(report: dict[str, Any] | None, error: str | None) -> str:
    if error:
        return f"failed: {error}"
    if not report:
        return "running"
    return ", ".join(
        f"{report.get(key, 0)} {key}"
        for key in ("created", "updated", "unchanged", "archived", "failed")
    )


def _run_one(runtime: Runtime, name: str) -> dict[str, Any]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"harvesting {name}", total=None)

        def progress(done: int, total: int | None, message: str) -> None:
            bar.update(task, completed=done, total=total, description=message)

        return harvest_run.harvest(
            runtime.sessions,
            OPERATOR,
            source=name,
            base_url=runtime.settings.base_url,
            max_bytes=runtime.settings.harvest_max_bytes,
            progress=progress,
        )


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        plain(json.dumps(report, indent=2, sort_keys=True))
        return
    say(f"{report['source']}: {_summary(report, None)}")
    for failure in report["failures"]:
        say(f"  failed {failure['remote_id']}: {failure['reason']}")


@app.command("run")
def run_(
    name: str,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Harvest one source now, in this process, and print the report."""
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        _print_report(_run_one(runtime, name), as_json)


@app.command("run-due")
def run_due(data_dir: DataDir = None) -> None:
    """Harvest every source whose schedule is due (call from cron or a systemd timer)."""
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        with unit_of_work(runtime.sessions) as session:
            due = [s.name for s in sources.due_sources(session, OPERATOR, utcnow())]
        if not due:
            say("no harvest source is due")
        for name in due:
            try:
                _print_report(_run_one(runtime, name), False)
            except HarvestError as exc:
                say(f"{name}: failed: {exc.detail}")
