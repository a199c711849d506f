"""A small world for the trusted third party: three TTP operators and an outsider, a
permit in force, synthetic matricules, and helpers to write files and read the ledger."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core.ledger import LedgerEntry
from datafactory.identity import people
from datafactory.identity.actor import Actor
from datafactory.identity.models import OrganisationKind, Person, Role
from datafactory.permits.models import Application, Permit
from datafactory.privacy import matricule
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.keys import KeyCustody, KeyFileCustody
from tests.factories import SYSTEM, person

CLI_OPERATOR = Actor(
    ref="system:test-ttp", name="ttp", roles=frozenset({("ttp_operator", None)})
)


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "ttp-master.json"


def ttp_config(
    tmp_path: Path,
    *,
    custody: KeyCustody | None = None,
    clock: Clock | None = None,
    **changes: Any,
) -> TtpConfig:
    return TtpConfig(
        custody=custody or KeyFileCustody(key_file(tmp_path)),
        work_dir=tmp_path / "ttp-work",
        now=clock or Clock(),
        **changes,
    )


@dataclass(frozen=True)
class Team:
    alice: Person
    bob: Person
    carol: Person
    outsider: Person
    citizen: Person
    permit_reference: str

    def actor(self, who: Person) -> Actor:
        return Actor.for_person(who)

    @property
    def operators(self) -> list[Person]:
        return [self.alice, self.bob, self.carol]


def build_team(session: Session) -> Team:
    ttp = people.create_organisation(
        session,
        SYSTEM,
        slug="ipms",
        name="IPMS",
        kind=OrganisationKind.trusted_third_party,
        is_public_sector=True,
    ).id
    uni = people.create_organisation(
        session,
        SYSTEM,
        slug="uni",
        name="UNI",
        kind=OrganisationKind.research,
        is_public_sector=True,
    ).id
    alice = person(session, "alice@ipms.lu", roles=((Role.ttp_operator, ttp),))
    team = Team(
        alice=alice,
        bob=person(session, "bob@ipms.lu", roles=((Role.ttp_operator, ttp),)),
        carol=person(session, "carol@ipms.lu", roles=((Role.ttp_operator, ttp),)),
        outsider=person(session, "rita@uni.lu", roles=((Role.reuser, uni),)),
        citizen=person(session, "jean@example.lu", roles=((Role.citizen, None),)),
        permit_reference=make_permit(session, alice, "PRM-2026-00001").reference,
    )
    session.flush()
    return team


def make_permit(
    session: Session, holder: Person, reference: str, status: str = "GRANTED"
) -> Permit:
    """A permit row as the access procedure leaves it (the procedure has its own tests)."""
    now = datetime(2026, 10, 1, tzinfo=UTC)
    application = Application(
        reference=f"APP-{reference}",
        applicant_id=holder.id,
        form={},
        state="decided",
        created_at=now,
    )
    session.add(application)
    session.flush()
    permit = Permit(
        reference=reference,
        application_id=application.id,
        holder_id=holder.id,
        regime="ehds",
        status=status,
        scope={},
        starts_on=date(2026, 10, 1),
        ends_on=date(2028, 10, 1),
        granted_at=now,
        changed_at=now,
        token="token",
    )
    session.add(permit)
    session.flush()
    return permit


def matricules(n: int, seed: int = 7) -> list[str]:
    return matricule.generate_many(random.Random(seed), n)


def spaced(number: str) -> str:
    """The same number as people type it: ``1985 0101 123 45``."""
    return f"{number[:4]} {number[4:8]} {number[8:11]}.{number[11:]}"


def broken(number: str) -> str:
    """The number with its last (Verhoeff) digit changed: invalid."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def ledger_entries(session: Session, prefix: str = "ttp.") -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.action.startswith(prefix))
            .order_by(LedgerEntry.seq)
        )
    )


def ledger_text(session: Session) -> str:
    return "\n".join(
        json.dumps([e.actor, e.action, e.subject, e.details])
        for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))
    )


def ttp_app(runtime: Any, config: TtpConfig) -> Any:
    """The platform's app with this TTP config (its own custody, for the test)."""
    from datafactory.web.api import ttp as ttp_api
    from datafactory.web.app import create_app

    app = create_app(runtime=runtime)
    app.dependency_overrides[ttp_api.config_of] = lambda: config
    return app
