"""The access procedure from the command line: the daily round for cron."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from datafactory.cli.common import open_runtime
from datafactory.cli.output import say

app = typer.Typer(help="The data authority's access procedure.", no_args_is_help=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir")]


@app.command()
def daily(data_dir: DataDir = None) -> None:
    """Expire ended permits, remind handlers of deadlines, send pending e-mails, and
    destroy the SPE workspaces whose retention after their permit has passed."""
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()
        ) as bar:
            task = bar.add_task("Daily round", total=4)
            report, destroyed = runtime.daily_round(
                lambda done, _total: bar.update(task, completed=done)
            )
    say(
        f"{report.day}: {report.expired} permit(s) expired, "
        f"{report.reminders} reminder(s), {report.emailed} e-mail(s) sent, "
        f"{len(destroyed)} workspace(s) destroyed."
    )
