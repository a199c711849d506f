"""Database migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datafactory import migrations
from datafactory.cli.common import open_runtime
from datafactory.cli.output import say

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command()
def upgrade(
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
) -> None:
    """Apply every migration not yet applied."""
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        say(f"Database at revision {migrations.current_revision(runtime.engine)}.")


@app.command()
def current(
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
) -> None:
    """Show the applied revision and the newest one shipped."""
    with open_runtime(data_dir) as runtime:
        applied = migrations.current_revision(runtime.engine)
    say(f"applied: {applied or 'none'}; newest: {migrations.head_revision()}")
