"""Catalogue upkeep from the command line: the periodic link check for cron, and the
search index rebuilt after an upgrade.

``datafactory catalogue check-links`` checks every published access and download URL,
stores the answers and rescores the datasets, as the ``catalogue.check_links`` job does;
run it daily from cron or a systemd timer so that the accessibility indicators of the quality
score stay current (docs/quality.md). ``datafactory catalogue reindex`` rebuilds every
published dataset's search entry, for an upgrade that changes how entries are made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from datafactory.catalogue import search
from datafactory.catalogue.quality.checks import check_links_task
from datafactory.cli import sources
from datafactory.cli.common import open_runtime
from datafactory.cli.output import say
from datafactory.core.jobs import JobContext

app = typer.Typer(help="Catalogue upkeep.", no_args_is_help=True)
app.add_typer(sources.app, name="source")
DataDir = Annotated[Path | None, typer.Option("--data-dir")]


@dataclass
class _BarContext(JobContext):
    """A job context that reports to a progress bar instead of a job row."""

    bar: Progress | None = None
    task: TaskID = TaskID(0)

    def progress(
        self, done: int, total: int | None, message: str | None = None
    ) -> None:
        if self.bar is not None:
            self.bar.update(
                self.task, completed=done, total=total, description=message or None
            )


@app.command("check-links")
def check_links(data_dir: DataDir = None) -> None:
    """Check the links of every published dataset and rescore them (for cron)."""
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()
        ) as bar:
            task = bar.add_task("Checking links", total=None)
            context = _BarContext("cli", runtime.sessions, bar=bar, task=task)
            result = check_links_task(context, {}, settings=runtime.settings)
    say(
        f"{result['checked']} link(s) checked: {result['reachable']} reachable, "
        f"{result['unreachable']} unreachable; {result['datasets_rescored']} "
        "dataset(s) rescored."
    )


@app.command("reindex")
def reindex(data_dir: DataDir = None) -> None:
    """Rebuild the search entry of every published dataset from its published metadata."""
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()
        ) as bar:
            task = bar.add_task("Indexing", total=None)
            count = search.reindex(
                runtime.sessions,
                progress=lambda done, total: bar.update(
                    task, completed=done, total=total
                ),
            )
    say(f"{count} published dataset(s) indexed.")
