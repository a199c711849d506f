"""Running the platform: ``demo``, ``serve`` and ``worker``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from huey.consumer import Consumer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from datafactory import demo as demo_data
from datafactory.cli.common import load_settings, open_runtime
from datafactory.cli.output import console, fail, say
from datafactory.core.config import DEMO_MARKER, Settings
from datafactory.core.db import unit_of_work
from datafactory.core.jobs import InProcessWorker
from datafactory.demo.applications import load_applications
from datafactory.demo.holders import load_holders
from datafactory.demo.workspace import load_workspace
from datafactory.runtime import Runtime

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data folder (default ./.datafactory or $DATAFACTORY_DATA_DIR).",
        show_default=False,
    ),
]
Port = Annotated[int | None, typer.Option("--port", help="Port to listen on (8000).")]
Host = Annotated[
    str | None, typer.Option("--host", help="Address to bind (127.0.0.1).")
]

# What the demo may delete with --reset: only files it made itself, never the whole folder.
_DEMO_FILES = ("datafactory.sqlite3", "jobs.sqlite3")
_DEMO_FOLDERS = ("files", "keys", "holders", "ttp", "spe")


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command()(serve)
    app.command()(worker)


def demo(
    data_dir: DataDir = None,
    port: Port = None,
    host: Host = None,
    reset: Annotated[bool, typer.Option("--reset", help="Start over.")] = False,
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Load the demo data and exit.")
    ] = False,
) -> None:
    """Start the platform with demo data on SQLite and a local folder."""
    settings = load_settings(data_dir=data_dir, port=port, host=host, demo=True)
    if reset:
        _reset(settings.data_dir)
    with Runtime(settings) as runtime:
        (settings.data_dir / DEMO_MARKER).write_text(
            "This folder holds datafactory's demo data (`datafactory demo`): commands "
            "run on it allow the demo's placeholder secrets.\n"
        )
        runtime.migrate()
        with unit_of_work(runtime.sessions) as session:
            added = demo_data.load(session, settings.base_url)
        with unit_of_work(runtime.sessions) as session:
            added["applications"] = load_applications(session, runtime.permits)
        added.update(load_holders(runtime))
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()
        ) as bar:
            task = bar.add_task("Preparing the SPE workspace demo", total=None)
            added.update(
                load_workspace(
                    runtime,
                    lambda done, total, _message: bar.update(
                        task, completed=done, total=total
                    ),
                )
            )
        report = demo_data.harvest_portal(runtime.sessions, settings.base_url)
        _announce(settings, added, report, serve=not no_serve)
        if not no_serve:
            _serve_in_process(runtime)


def _announce(
    settings: Settings,
    added: dict[str, int],
    report: dict[str, Any],
    *,
    serve: bool,
) -> None:
    say(
        f"Demo data in [bold]{settings.data_dir.resolve()}[/]: "
        f"{added['organisations']} organisations, {added['people']} people, "
        f"{added['datasets']} datasets and {added.get('applications', 0)} access "
        "applications added."
    )
    say(
        f"Harvest source [bold]{report['source']}[/] (a commune's DCAT-AP portal): "
        f"{report['created']} created, {report['updated']} updated, "
        f"{report['unchanged']} unchanged, {report['failed']} failed."
    )
    if added.get("register"):
        say(
            f"Trusted third party: {added['register']} residents, {added['claims']} "
            f"claims and {added['employment']} employment spells "
            f"({added['employment_matched']} linked to the register) pseudonymised for "
            "the researcher's permit."
        )
    if added.get("workspace_person"):
        say(
            f"Secure processing environment: workspace [bold]demo[/] with "
            f"{added['workspace_person']} people and {added['workspace_claim']} claims, "
            "and one approved release. Ask it a question:\n"
            '  datafactory spe query --workspace demo --user researcher "SELECT sex, '
            'COUNT(*) AS people FROM person GROUP BY sex"'
        )
    _print_sign_ins()
    if serve:
        address = f"http://{settings.host}:{settings.port}"
        say(f"\nThe platform is at [bold]{address}[/] (API docs: {address}/api/docs).")
        say("Press Ctrl+C to stop.")


def _reset(data_dir: Path) -> None:
    for name in _DEMO_FILES:
        for suffix in ("", "-wal", "-shm"):
            (data_dir / f"{name}{suffix}").unlink(missing_ok=True)
    for folder in _DEMO_FOLDERS:
        shutil.rmtree(data_dir / folder, ignore_errors=True)


def _print_sign_ins() -> None:
    table = Table(title=f"Demo sign-ins (password: {demo_data.DEMO_PASSWORD})")
    table.add_column("e-mail", no_wrap=True)
    table.add_column("name")
    table.add_column("roles")
    for person in demo_data.PEOPLE:
        roles = ", ".join(
            f"{r.value}@{org}" if org else r.value for r, org in person.roles
        )
        table.add_row(person.email, person.name, roles)
    console.print(table)


def _serve_in_process(runtime: Runtime) -> None:
    from datafactory.web.app import create_app

    worker = InProcessWorker(runtime.queue.huey)
    worker.start()
    try:
        uvicorn.run(
            create_app(runtime=runtime),
            host=runtime.settings.host,
            port=runtime.settings.port,
            log_level="warning",
        )
    finally:
        worker.stop()


def serve(
    data_dir: DataDir = None,
    port: Port = None,
    host: Host = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Web worker processes.")
    ] = None,
) -> None:
    """Run the platform for real: migrations first, then several web workers."""
    settings = load_settings(data_dir=data_dir, port=port, host=host, workers=workers)
    if settings.database_url is None:
        say("[yellow]warning:[/] no DATAFACTORY_DATABASE_URL: using SQLite.")
    runtime = Runtime(settings)
    runtime.migrate()
    runtime.dispose()
    # Each worker process builds its own app from the environment.
    os.environ["DATAFACTORY_DATA_DIR"] = str(settings.data_dir)
    say(
        f"Serving on http://{settings.host}:{settings.port} with {settings.workers} workers."
    )
    uvicorn.run(
        "datafactory.web.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        proxy_headers=True,
        log_level="warning",
    )


def worker(
    data_dir: DataDir = None,
    threads: Annotated[int, typer.Option("--threads", help="Worker threads.")] = 2,
) -> None:
    """Run background jobs (harvests, verification, preparation) from the queue."""
    with open_runtime(data_dir) as runtime:
        if runtime.settings.queue.value == "immediate":
            fail("the immediate queue runs jobs in the caller; nothing to consume")
        runtime.migrate()
        say(
            f"Worker started ({runtime.settings.queue.value} queue, {threads} threads)."
        )
        # A short poll ceiling: huey's default lets an idle queue wait 10 s for new work.
        Consumer(
            runtime.queue.huey, workers=threads, worker_type="thread", max_delay=1.0
        ).run()
