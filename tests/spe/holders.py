"""A small world for preparing workspaces: three protected datasets with published data
dictionaries, their holders' extracts (Parquet, CSV and a table in a separate SQLite
database), a permit in force with its workspace, a TTP operator, a data steward and the
permit's team."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from datafactory.catalogue.models import Dataset, DatasetVersion
from datafactory.catalogue.sources import DataSourceIn, set_source
from datafactory.identity import people
from datafactory.identity.actor import Actor
from datafactory.identity.models import OrganisationKind, Person, Role
from datafactory.privacy import matricule
from datafactory.spe import workspaces
from datafactory.spe.config import SpeConfig
from tests.factories import SYSTEM, person
from tests.ttp.world import make_permit, ttp_config

PEOPLE = 60
CARE = ("general_practice", "hospital", "specialist")


def variable(name: str, kind: str = "string", sensitivity: str = "other", **more: Any):
    return {"name": name, "type": kind, "sensitivity": sensitivity, **more}


REGISTER = [
    variable("matricule", sensitivity="direct_identifier"),
    variable("birth_year", "integer", "quasi_identifier", minimum=1920, maximum=2010),
    variable(
        "sex",
        "code",
        "quasi_identifier",
        code_list=[{"code": "F"}, {"code": "M"}],
    ),
    variable("commune", "code", "quasi_identifier"),
    variable("nationality", "code", "quasi_identifier", null_rate=0.1),
]
CLAIMS = [
    variable("matricule", sensitivity="direct_identifier"),
    variable("year", "integer", "quasi_identifier", minimum=2019, maximum=2024),
    variable(
        "care_type",
        "code",
        "sensitive",
        code_list=[{"code": c} for c in CARE],
    ),
    variable("amount", "decimal", minimum=0, maximum=5000),
    variable("act_code", "code", "sensitive"),
]
EMPLOYMENT = [
    variable("matricule", sensitivity="direct_identifier"),
    variable("status", "code", code_list=[{"code": "employed"}, {"code": "seeker"}]),
    variable("spell_start", "date", "quasi_identifier", minimum=2015, maximum=2024),
]


def dictionary_dataset(
    session: Session, dataset_id: str, publisher_id: int, variables: list[dict]
) -> Dataset:
    """A published protected dataset (the catalogue's own tests publish through SHACL)."""
    document = {"title": {"en": f"Dataset {dataset_id}"}, "variables": variables}
    dataset = Dataset(
        id=dataset_id,
        publisher_id=publisher_id,
        status="published",
        draft=document,
        version=1,
    )
    session.add(dataset)
    session.flush()
    session.add(
        DatasetVersion(
            dataset_id=dataset_id, number=1, document=document, published_by="test"
        )
    )
    session.flush()
    return dataset


@dataclass(frozen=True)
class Extracts:
    """What the holders hold: the real rows, identifiers in the clear."""

    numbers: list[str]
    register: pa.Table
    claims: pa.Table
    employment: pa.Table


def make_extracts(seed: int = 11, invalid: int = 2) -> Extracts:
    rng = random.Random(seed)
    numbers = matricule.generate_many(rng, PEOPLE)
    # A few rows whose number fails its check digits: counted and dropped.
    broken = [n[:-1] + str((int(n[-1]) + 1) % 10) for n in numbers[:invalid]]
    register = pa.table(
        {
            "matricule": numbers + broken,
            "first_name": [f"Name{i}" for i in range(PEOPLE + invalid)],
            "birth_year": [1930 + rng.randrange(70) for _ in range(PEOPLE + invalid)],
            "sex": [rng.choice("FM") for _ in range(PEOPLE + invalid)],
            "commune": [
                rng.choice(["luxembourg", "esch", "diekirch"])
                for _ in range(PEOPLE + invalid)
            ],
            "nationality": [
                rng.choice(["LUX", "PRT", None]) for _ in range(PEOPLE + invalid)
            ],
        }
    )
    claimants = [rng.choice(numbers[: PEOPLE // 2]) for _ in range(80)]
    claims = pa.table(
        {
            "matricule": claimants,
            "year": [2019 + rng.randrange(6) for _ in claimants],
            "care_type": [rng.choice(CARE) for _ in claimants],
            "amount": [round(rng.uniform(10, 900), 2) for _ in claimants],
            "act_code": ["C1" for _ in claimants],
        }
    )
    workers = numbers[PEOPLE // 3 :]
    employment = pa.table(
        {
            "matricule": workers,
            "status": [rng.choice(["employed", "seeker"]) for _ in workers],
            "spell_start": [date(2016 + rng.randrange(8), 1, 1) for _ in workers],
        }
    )
    return Extracts(numbers, register, claims, employment)


def write_holders(folder: Path, extracts: Extracts) -> dict[str, Any]:
    """The register as Parquet, the claims as CSV (under the holders folder), the
    employment histories as a table of another SQLite database."""
    folder.mkdir(parents=True, exist_ok=True)
    register = folder / "statec" / "register.parquet"
    register.parent.mkdir()
    pq.write_table(extracts.register, register)
    claims = folder / "cns" / "claims.csv"
    claims.parent.mkdir()
    rows = extracts.claims.to_pylist()
    with claims.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    url = f"sqlite:///{folder / 'adem.sqlite3'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE employment (matricule TEXT, status TEXT, spell_start TEXT)"
            )
        )
        connection.execute(
            text("INSERT INTO employment VALUES (:matricule, :status, :spell_start)"),
            [
                {**row, "spell_start": row["spell_start"].isoformat()}
                for row in extracts.employment.to_pylist()
            ],
        )
    engine.dispose()
    return {"register": register, "claims": claims, "sql_url": url}


@dataclass(frozen=True)
class World:
    ttp: Person
    steward: Person
    applicant: Person
    member: Person
    outsider: Person
    handler: Person
    publisher_id: int
    permit_id: int
    permit_reference: str
    workspace: str
    holders: Path
    files: dict[str, Any]
    extracts: Extracts

    def actor(self, who: Person) -> Actor:
        return Actor.for_person(who)

    @property
    def connections(self) -> dict[str, str]:
        return {"adem": self.files["sql_url"]}


def spe_config(runtime: Any, tmp_path: Path) -> SpeConfig:
    workspaces.TABLE_CACHE.clear()
    return SpeConfig(
        store=runtime.store,
        work_dir=tmp_path / "spe-work",
        ttp=ttp_config(tmp_path),
    )


def build_world(
    session: Session,
    config: SpeConfig,
    tmp_path: Path,
    *,
    form: str = "pseudonymised",
    register_variables: tuple[str, ...] = (
        "matricule",
        "birth_year",
        "sex",
        "commune",
        "nationality",
    ),
    claims_variables: tuple[str, ...] = ("matricule", "year", "care_type", "amount"),
    employment_variables: tuple[str, ...] = ("matricule", "status", "spell_start"),
    sources: bool = True,
    extracts: Extracts | None = None,
) -> World:
    holder = people.create_organisation(
        session,
        SYSTEM,
        slug="statec",
        name="STATEC",
        kind=OrganisationKind.data_holder,
        is_public_sector=True,
    ).id
    ttp_org = people.create_organisation(
        session,
        SYSTEM,
        slug="ipms",
        name="IPMS",
        kind=OrganisationKind.trusted_third_party,
        is_public_sector=True,
    ).id
    steward = person(session, "steward@statec.lu", roles=((Role.data_steward, holder),))
    ttp = person(session, "ttp@ipms.lu", roles=((Role.ttp_operator, ttp_org),))
    applicant = person(session, "rita@uni.lu", roles=((Role.reuser, None),))
    member = person(session, "marc@uni.lu", roles=((Role.reuser, None),))
    outsider = person(session, "olga@uni.lu", roles=((Role.reuser, None),))
    handler = person(session, "hans@authority.lu", roles=((Role.handler, None),))
    for dataset_id, variables in (
        ("register", REGISTER),
        ("claims", CLAIMS),
        ("employment", EMPLOYMENT),
    ):
        dictionary_dataset(session, dataset_id, holder, variables)
    permit = make_permit(session, applicant, "PRM-2026-00042")
    permit.scope = {
        "form": form,
        "users": [applicant.id, member.id],
        "datasets": [
            {"id": "register", "uri": "u:register", "variables": register_variables},
            {"id": "claims", "uri": "u:claims", "variables": claims_variables},
            {
                "id": "employment",
                "uri": "u:employment",
                "variables": employment_variables,
            },
        ],
        "linkages": [["register", "claims"], ["register", "employment"]],
    }
    session.flush()
    name = workspaces.create_workspace(
        session, workspaces.SYSTEM, config, permit=permit, name="study"
    ).name
    extracts = extracts or make_extracts()
    holders = tmp_path / "holders"
    files = write_holders(holders, extracts)
    world = World(
        ttp=ttp,
        steward=steward,
        applicant=applicant,
        member=member,
        outsider=outsider,
        handler=handler,
        publisher_id=holder,
        permit_id=permit.id,
        permit_reference=permit.reference,
        workspace=name,
        holders=holders,
        files=files,
        extracts=extracts,
    )
    if sources:
        register_sources(session, world)
    return world


def register_sources(session: Session, world: World) -> None:
    steward = world.actor(world.steward)
    for dataset_id, source in (
        (
            "register",
            DataSourceIn(
                kind="parquet",
                location=str(world.files["register"]),
                table_name="person",
                person_column="matricule",
            ),
        ),
        (
            "claims",
            DataSourceIn(
                kind="csv",
                location=str(world.files["claims"]),
                table_name="claim",
                person_column="matricule",
            ),
        ),
        (
            "employment",
            DataSourceIn(
                kind="sql",
                location="employment",
                connection="adem",
                table_name="employment",
                person_column="matricule",
            ),
        ),
    ):
        set_source(session, steward, dataset_id=dataset_id, source=source)


def at(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)
