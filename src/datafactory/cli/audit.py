"""The audit ledger: verify the chain, print and check signed heads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from datafactory.cli.common import open_runtime
from datafactory.cli.output import fail, plain, say
from datafactory.core import ledger
from datafactory.core.db import unit_of_work
from datafactory.core.keys import public_key_from_b64

app = typer.Typer(help="The hash-chained audit ledger.", no_args_is_help=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir")]


@app.command()
def verify(
    data_dir: DataDir = None,
    head: Annotated[
        Path | None,
        typer.Option(
            "--head", help="A head saved by `audit head`: also detect truncation."
        ),
    ] = None,
) -> None:
    """Recompute the chain; name the first broken entry; exit 1 on any tampering."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        with Progress(
            TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), transient=True
        ) as progress:
            task = progress.add_task("ledger", total=None)
            result = ledger.verify(
                session,
                progress=lambda done, total: progress.update(
                    task, completed=done, total=total
                ),
            )
        if not result.ok:
            fail(f"ledger broken at entry {result.first_broken}: {result.reason}")
        if head is not None:
            saved = _read_head(head)
            problem = ledger.check_head(
                session, saved, runtime.signing_key.public_key()
            )
            if problem is not None:
                fail(problem)
    say(
        f"ledger ok: {result.entries} entries, head {result.head_seq} "
        f"{result.head_hash[:16]}…"
    )


def _read_head(path: Path) -> ledger.SignedHead:
    try:
        data = json.loads(path.read_text())
        saved = ledger.SignedHead(**data)
        public_key_from_b64(saved.public_key)
    except (OSError, ValueError, TypeError) as exc:
        fail(f"{path} is not a saved ledger head ({type(exc).__name__})")
        raise
    return saved


@app.command("head")
def print_head(data_dir: DataDir = None) -> None:
    """Print the head of the chain signed with the platform's Ed25519 key (JSON)."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        signed = ledger.sign_head(session, runtime.signing_key)
    plain(json.dumps(signed.to_json(), indent=2))
