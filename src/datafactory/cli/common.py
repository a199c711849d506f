"""What every command shares: settings from options and environment, the runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.cli.output import fail
from datafactory.core.config import Settings
from datafactory.core.errors import Forbidden, NotFound
from datafactory.identity.actor import Actor
from datafactory.identity.models import Person
from datafactory.runtime import Runtime


def load_settings(**overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        fail(f"invalid setting {where}: {first.get('msg')}")
        raise  # unreachable: fail() exits


def person_actor(session: Session, email: str) -> Actor:
    """The active person with this e-mail address, as an actor (``--as EMAIL``)."""
    person = session.scalar(select(Person).where(Person.email == email.strip().lower()))
    if person is None:
        raise NotFound(f"there is no person with the address {email}")
    if not person.active:
        raise Forbidden(f"{email} is deactivated")
    return Actor.for_person(person)


def open_runtime(data_dir: Path | None = None, **overrides: Any) -> Runtime:
    return Runtime(load_settings(data_dir=data_dir, **overrides))
