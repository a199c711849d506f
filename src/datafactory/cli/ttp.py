"""The trusted third party from the command line: domains, master keys, files,
re-identification and the citizen lookup.

Commands act as the CLI's TTP operator (``system:cli``) unless ``--as EMAIL`` names a
person, who must hold the ``ttp_operator`` role. Re-identification always names the person:
the four-eyes rule needs two different people, which a system actor cannot be.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.orm import Session

from datafactory.cli.common import open_runtime, person_actor
from datafactory.cli.output import console, plain, say
from datafactory.cli.ttp_link import link
from datafactory.core.db import unit_of_work
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role
from datafactory.ttp import domains, files, lookup, reidentification
from datafactory.ttp.models import DomainKind, RequestStatus

app = typer.Typer(
    help="The trusted third party: pseudonym domains, keys, files, re-identification.",
    no_args_is_help=True,
)
app.command("link")(link)
domains_app = typer.Typer(help="Pseudonym domains.", no_args_is_help=True)
keys_app = typer.Typer(help="The master keys.", no_args_is_help=True)
reidentify_app = typer.Typer(
    help="Four-eyes re-identification of a pseudonym.", no_args_is_help=True
)
app.add_typer(domains_app, name="domains")
app.add_typer(keys_app, name="keys")
app.add_typer(reidentify_app, name="reidentify")

DataDir = Annotated[Path | None, typer.Option("--data-dir")]
As = Annotated[
    str | None,
    typer.Option("--as", help="Act as this TTP operator (e-mail address)."),
]
AsPerson = Annotated[
    str, typer.Option("--as", help="The TTP operator acting (e-mail address).")
]
OPERATOR = Actor(
    ref="system:cli", name="cli", roles=frozenset({(Role.ttp_operator.value, None)})
)


def acting(session: Session, email: str | None) -> Actor:
    return OPERATOR if email is None else person_actor(session, email)


# --- domains ----------------------------------------------------------------------------


@domains_app.command("list")
def list_domains(as_: As = None, data_dir: DataDir = None) -> None:
    """List the pseudonym domains."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        found = domains.list_domains(session, acting(session, as_))
        permits = domains.permit_references(session, found)
        table = Table("name", "kind", "status", "permit", "key version", "created")
        for d in found:
            table.add_row(
                d.name,
                d.kind,
                d.status,
                permits.get(d.permit_id, "") if d.permit_id else "",
                ", ".join(str(v) for v in d.key_versions),
                d.created_at.strftime("%Y-%m-%d"),
            )
        console.print(table)


@domains_app.command("create")
def create_domain(
    name: str,
    kind: Annotated[
        DomainKind | None, typer.Option("--kind", help="permit or sector.")
    ] = None,
    permit: Annotated[
        str | None, typer.Option("--permit", help="The permit's reference.")
    ] = None,
    as_: As = None,
    data_dir: DataDir = None,
) -> None:
    """Create a domain: sector:NAME, or permit:REFERENCE for a permit in force."""
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        with unit_of_work(runtime.sessions) as session:
            domain = domains.create_domain(
                session,
                acting(session, as_),
                runtime.ttp,
                name=name,
                kind=kind,
                permit_reference=permit,
            )
            say(f"created {domain.name} on master key version {domain.key_version}")


@domains_app.command("rotate")
def rotate_domain(name: str, as_: As = None, data_dir: DataDir = None) -> None:
    """Move a domain to the newest master key version."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        domain = domains.rotate_domain(
            session, acting(session, as_), runtime.ttp, name=name
        )
        say(f"{domain.name} now uses master key version {domain.key_version}")


@domains_app.command("retire")
def retire_domain(
    name: str,
    reason: Annotated[str, typer.Option("--reason", help="Why it is retired.")],
    as_: As = None,
    data_dir: DataDir = None,
) -> None:
    """Stop a domain from making new pseudonyms."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        domain = domains.retire_domain(
            session, acting(session, as_), runtime.ttp, name=name, reason=reason
        )
        say(f"{domain.name} is retired")


# --- keys -------------------------------------------------------------------------------


@keys_app.command("rotate")
def rotate_keys(
    expected: Annotated[
        int | None,
        typer.Option("--expected-version", help="Refuse if the current one differs."),
    ] = None,
    as_: As = None,
    data_dir: DataDir = None,
) -> None:
    """Add a new master key version; then rotate the domains that should move to it."""
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        with unit_of_work(runtime.sessions) as session:
            version = domains.rotate_master_key(
                session, acting(session, as_), runtime.ttp, expected_version=expected
            )
    say(f"master key version {version} added")


# --- files ------------------------------------------------------------------------------


@app.command()
def pseudonymise(
    source: Annotated[Path, typer.Argument(help="CSV or Parquet file in.")],
    target: Annotated[Path, typer.Argument(help="CSV or Parquet file out.")],
    domain: Annotated[str, typer.Option("--domain", help="The pseudonym domain.")],
    column: Annotated[str, typer.Option("--column", help="The identifier column.")],
    as_: As = None,
    data_dir: DataDir = None,
) -> None:
    """Replace a column of identifiers by the domain's pseudonyms, streaming the file."""
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        with (
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("rows"),
                console=console,
                transient=True,
            ) as bar,
            unit_of_work(runtime.sessions) as session,
        ):
            task = bar.add_task("checking", total=None)

            def progress(phase: str, done: int, total: int | None) -> None:
                bar.update(task, description=phase, completed=done, total=total)

            report = files.pseudonymise_file(
                session,
                acting(session, as_),
                runtime.ttp,
                domain=domain,
                column=column,
                source=source,
                target=target,
                progress=progress,
            )
    # The refusal is ledgered (committed above); now say why, in one line.
    report.raise_for_invalid()
    say(
        f"{report.rows} rows written to {target}: {report.identifiers} identifiers, "
        f"{report.new_pseudonyms} new pseudonyms in {report.domain} "
        f"(master key version {report.key_version})"
    )


# --- re-identification ------------------------------------------------------------------


@reidentify_app.command("request")
def request(
    domain: Annotated[str, typer.Option("--domain", help="The pseudonym domain.")],
    pseudonym: Annotated[str, typer.Option("--pseudonym", help="The pseudonym.")],
    reason: Annotated[
        str,
        typer.Option(
            "--reason", help="The legal reason: order, reference and article."
        ),
    ],
    as_: AsPerson,
    data_dir: DataDir = None,
) -> None:
    """Ask to re-identify a pseudonym; another operator must approve."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        made = reidentification.request_reidentification(
            session,
            acting(session, as_),
            domain=domain,
            pseudonym=pseudonym,
            legal_reason=reason,
            now=runtime.ttp.now(),
        )
        say(f"request {made.id} waits for a second operator's approval")


@reidentify_app.command("list")
def list_requests(
    as_: AsPerson,
    status: Annotated[
        RequestStatus | None, typer.Option("--status", help="Only these.")
    ] = RequestStatus.pending,
    data_dir: DataDir = None,
) -> None:
    """List re-identification requests (pending ones unless --status says otherwise)."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        found = reidentification.list_requests(
            session, acting(session, as_), status=status
        )
        table = Table("id", "domain", "pseudonym", "status", "requested by", "reason")
        for made, name in found:
            table.add_row(
                str(made.id),
                name,
                made.pseudonym,
                made.status,
                f"person {made.requested_by}",
                made.legal_reason,
            )
        console.print(table)


@reidentify_app.command("approve")
def approve(request_id: int, as_: AsPerson, data_dir: DataDir = None) -> None:
    """Approve another operator's request."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        reidentification.approve(
            session, acting(session, as_), request_id=request_id, now=runtime.ttp.now()
        )
        say(f"request {request_id} approved; its requester may now reveal it once")


@reidentify_app.command("refuse")
def refuse(
    request_id: int,
    reason: Annotated[str, typer.Option("--reason", help="Why it is refused.")],
    as_: AsPerson,
    data_dir: DataDir = None,
) -> None:
    """Refuse a request (or withdraw your own)."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        reidentification.refuse(
            session,
            acting(session, as_),
            request_id=request_id,
            reason=reason,
            now=runtime.ttp.now(),
        )
        say(f"request {request_id} refused")


@reidentify_app.command("reveal")
def reveal(request_id: int, as_: AsPerson, data_dir: DataDir = None) -> None:
    """Print the identifier of your approved request (once)."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        identifier = reidentification.reveal(
            session, acting(session, as_), runtime.ttp, request_id=request_id
        )
    plain(identifier)


# --- lookup -----------------------------------------------------------------------------


@app.command("lookup")
def lookup_(as_: As = None, data_dir: DataDir = None) -> None:
    """Read a matricule from stdin (never the command line, which shells keep) and list
    the domains holding records about that person."""
    if sys.stdin.isatty():
        number = typer.prompt("National identification number", hide_input=True)
    else:
        number = sys.stdin.readline().strip()
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        found = lookup.domains_holding(
            session, acting(session, as_), runtime.ttp, matricule=number
        )
    if not found:
        say("no domain holds records about this person")
    for ref in found:
        permit = f" (permit {ref.permit_reference})" if ref.permit_reference else ""
        say(f"{ref.name}{permit}, {ref.status}")
