"""Reference docs generated from the code: write them, or check they are up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datafactory.cli import docs_gen
from datafactory.cli.output import fail, say

app = typer.Typer(
    help="Reference docs generated from the code: write or check them.",
    no_args_is_help=True,
)
Root = Annotated[
    Path | None,
    typer.Option(
        "--root",
        help="Project folder holding docs/ (default: the source checkout, else the "
        "current folder).",
        show_default=False,
    ),
]


@app.command()
def generate(root: Root = None) -> None:
    """Write docs/configuration.md, docs/ledger-events.md and docs/cli.md."""
    changed = docs_gen.write(root or docs_gen.default_root())
    if changed:
        say(f"wrote {', '.join(changed)}")
    else:
        say("generated docs are up to date")


@app.command()
def check(root: Root = None) -> None:
    """Exit 1 when a generated doc is missing or differs from the code."""
    outdated = docs_gen.stale(root or docs_gen.default_root())
    if outdated:
        verb = "is" if len(outdated) == 1 else "are"
        fail(f"{', '.join(outdated)} {verb} stale: run `datafactory docs generate`")
    say("generated docs are up to date")
