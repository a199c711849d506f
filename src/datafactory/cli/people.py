"""People and roles from the command line: how an operator makes the first administrator."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from datafactory.cli.common import open_runtime
from datafactory.cli.output import fail, say
from datafactory.core.db import unit_of_work
from datafactory.identity import people
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation, Person, Role

app = typer.Typer(help="People and their roles.", no_args_is_help=True)
DataDir = Annotated[Path | None, typer.Option("--data-dir")]
OPERATOR = Actor(ref="system:cli", name="cli", roles=frozenset({("admin", None)}))


@app.command()
def create(
    email: str,
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create a person. Without --password-stdin they can sign in only through OIDC."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with open_runtime(data_dir) as runtime:
        runtime.migrate()
        with unit_of_work(runtime.sessions) as session:
            person = people.create_person(
                session, OPERATOR, email=email, name=name, password=password
            )
    say(f"created person {person.id}")


@app.command()
def grant(
    email: str,
    role: Annotated[Role, typer.Argument(help="The role to grant.")],
    organisation: Annotated[
        str | None, typer.Option("--organisation", help="Organisation slug.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Give a person a role, for an organisation or platform-wide."""
    with open_runtime(data_dir) as runtime, unit_of_work(runtime.sessions) as session:
        person = session.scalar(select(Person).where(Person.email == email.lower()))
        if person is None:
            fail(f"there is no person with the address {email}")
            return
        organisation_id = None
        if organisation is not None:
            org = session.scalar(
                select(Organisation).where(Organisation.slug == organisation)
            )
            if org is None:
                fail(f"there is no organisation {organisation!r}")
                return
            organisation_id = org.id
        people.grant_role(
            session,
            OPERATOR,
            person_id=person.id,
            organisation_id=organisation_id,
            role=role,
        )
    say(f"granted {role.value} to person {person.id}")
