"""Demo data: the Luxembourg actors of the data strategy and one person for each role.

Loading is idempotent: what exists is left alone, so the demo can be started again over the
same folder without duplicating anything. ``harvest_portal`` then harvests a small DCAT-AP
file shipped with the package (a fictional commune's portal); the harvest is incremental,
so running it again reports the records as unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import as_file, files
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from datafactory.catalogue import service as catalogue
from datafactory.catalogue.harvest.models import HarvestSource
from datafactory.catalogue.harvest.run import HARVESTER, harvest
from datafactory.catalogue.harvest.sources import SourceType, add_source
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import DatasetDraft
from datafactory.core.db import unit_of_work
from datafactory.demo.datasets import DATASETS
from datafactory.demo.records import load_records
from datafactory.identity import people
from datafactory.identity.actor import Actor
from datafactory.identity.models import (
    Membership,
    Organisation,
    OrganisationKind,
    Person,
    Role,
)

DEMO_PASSWORD = "datafactory-demo"
HARVEST_SOURCE = "uewerbaach-portal"
HARVEST_FILE = "harvest/communes-portal.ttl"
HARVEST_PUBLISHER = "mindigital"
_LOADER = Actor.system("demo")


@dataclass(frozen=True)
class DemoOrganisation:
    slug: str
    name: str
    kind: OrganisationKind
    public: bool


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    roles: tuple[tuple[Role, str | None], ...]
    """(role, organisation slug or None for a platform-wide role)."""


ORGANISATIONS = (
    DemoOrganisation(
        "mindigital", "Ministry for Digitalisation", OrganisationKind.public_body, True
    ),
    DemoOrganisation(
        "cgpd",
        "Government Commissioner for Data Protection (CGPD)",
        OrganisationKind.authority,
        True,
    ),
    DemoOrganisation(
        "ctie", "State IT Centre (CTIE)", OrganisationKind.public_body, True
    ),
    DemoOrganisation(
        "ttp",
        "National Trusted Third Party",
        OrganisationKind.trusted_third_party,
        True,
    ),
    DemoOrganisation(
        "lnds",
        "Luxembourg National Data Service (LNDS)",
        OrganisationKind.public_body,
        True,
    ),
    DemoOrganisation("statec", "STATEC", OrganisationKind.data_holder, True),
    DemoOrganisation(
        "cns", "Caisse nationale de santé (CNS)", OrganisationKind.data_holder, True
    ),
    DemoOrganisation(
        "adem",
        "Agence pour le développement de l'emploi (ADEM)",
        OrganisationKind.data_holder,
        True,
    ),
    DemoOrganisation(
        "igss",
        "Inspection générale de la sécurité sociale (IGSS)",
        OrganisationKind.data_holder,
        True,
    ),
    DemoOrganisation(
        "uni-lu", "University of Luxembourg", OrganisationKind.research, True
    ),
    DemoOrganisation(
        "datalytics", "Datalytics S.à r.l.", OrganisationKind.company, False
    ),
)

PEOPLE = (
    DemoPerson("admin@demo.datafactory.lu", "Ada Admin", ((Role.admin, None),)),
    DemoPerson(
        "catalogue@demo.datafactory.lu",
        "Carla Catalogue",
        ((Role.catalogue_admin, "mindigital"),),
    ),
    DemoPerson(
        "steward.statec@demo.datafactory.lu",
        "Sam Steward",
        ((Role.data_steward, "statec"),),
    ),
    DemoPerson(
        "steward.cns@demo.datafactory.lu",
        "Chantal Santé",
        ((Role.data_steward, "cns"),),
    ),
    DemoPerson(
        "steward.adem@demo.datafactory.lu",
        "Emile Emploi",
        ((Role.data_steward, "adem"),),
    ),
    DemoPerson(
        "steward.igss@demo.datafactory.lu",
        "Ines Sécurité",
        ((Role.data_steward, "igss"),),
    ),
    DemoPerson(
        "handler@demo.datafactory.lu", "Henri Handler", ((Role.handler, "cgpd"),)
    ),
    DemoPerson(
        "decider@demo.datafactory.lu", "Delphine Decider", ((Role.decider, "cgpd"),)
    ),
    DemoPerson(
        "auditor@demo.datafactory.lu", "Aurélie Auditor", ((Role.auditor, None),)
    ),
    DemoPerson(
        "spe@demo.datafactory.lu", "Pol Operator", ((Role.spe_operator, "ctie"),)
    ),
    DemoPerson(
        "checker@demo.datafactory.lu", "Olga Checker", ((Role.output_checker, "ctie"),)
    ),
    DemoPerson(
        "checker2@demo.datafactory.lu",
        "Oscar Checker",
        ((Role.output_checker, "ctie"),),
    ),
    DemoPerson("ttp@demo.datafactory.lu", "Tom Trusted", ((Role.ttp_operator, "ttp"),)),
    DemoPerson(
        "assistant@demo.datafactory.lu", "Lea Assistant", ((Role.assistant, "lnds"),)
    ),
    DemoPerson(
        "researcher@demo.datafactory.lu", "Rita Researcher", ((Role.reuser, "uni-lu"),)
    ),
    DemoPerson(
        "analyst@demo.datafactory.lu", "Marc Analyst", ((Role.reuser, "datalytics"),)
    ),
    DemoPerson(
        "citizen@demo.datafactory.lu", "Claude Citoyen", ((Role.citizen, None),)
    ),
)


def load(session: Session, base_url: str = "http://127.0.0.1:8000") -> dict[str, int]:
    """Create what is missing; return how many organisations, people and datasets were added."""
    added = {"organisations": 0, "people": 0, "datasets": 0}
    slugs = {o.slug: o for o in session.scalars(select(Organisation))}
    for spec in ORGANISATIONS:
        if spec.slug not in slugs:
            slugs[spec.slug] = people.create_organisation(
                session,
                _LOADER,
                slug=spec.slug,
                name=spec.name,
                kind=spec.kind,
                is_public_sector=spec.public,
            )
            added["organisations"] += 1
    admin = Actor(ref=_LOADER.ref, name="demo", roles=frozenset({("admin", None)}))
    for who in PEOPLE:
        person = session.scalar(select(Person).where(Person.email == who.email))
        if person is None:
            person = people.create_person(
                session,
                _LOADER,
                email=who.email,
                name=who.name,
                password=DEMO_PASSWORD,
                method="demo",
            )
            added["people"] += 1
        held = {
            (m.role, m.organisation_id)
            for m in session.scalars(
                select(Membership).where(Membership.person_id == person.id)
            )
        }
        for role, slug in who.roles:
            org_id = slugs[slug].id if slug else None
            if (role.value, org_id) not in held:
                people.grant_role(
                    session,
                    admin,
                    person_id=person.id,
                    organisation_id=org_id,
                    role=role,
                )
    added["datasets"] = _load_datasets(session, admin, slugs, base_url)
    # After the datasets: the statistics API serves some of them.
    added.update(load_records(session, admin, slugs, base_url))
    return added


def _load_datasets(
    session: Session,
    admin: Actor,
    organisations: dict[str, Organisation],
    base_url: str,
) -> int:
    existing = {
        (d.publisher_id, _key(d.draft.get("title", {})))
        for d in session.scalars(select(Dataset))
    }
    added = 0
    for slug, contact, metadata in DATASETS:
        publisher = organisations[slug]
        if (publisher.id, _key(metadata["title"])) in existing:
            continue
        draft = DatasetDraft.model_validate(
            {**metadata, "contact_email": contact, "contact_name": publisher.name}
        )
        dataset = catalogue.create_dataset(
            session, admin, publisher_id=publisher.id, metadata=draft
        )
        catalogue.publish_dataset(
            session, admin, dataset_id=dataset.id, base_url=base_url
        )
        added += 1
    return added


def _key(title: dict[str, str]) -> str:
    return json.dumps(title, sort_keys=True)


def harvest_portal(
    sessions: sessionmaker[Session], base_url: str = "http://127.0.0.1:8000"
) -> dict[str, Any]:
    """Add the demo harvest source if missing and run it once; return the run's report.

    The source reads a Turtle file inside the installed package, so it is a local file,
    which only a source allowed to reach the private network may read.
    """
    with as_file(files(__name__).joinpath(HARVEST_FILE)) as path:
        with unit_of_work(sessions) as session:
            known = session.scalar(
                select(HarvestSource).where(HarvestSource.name == HARVEST_SOURCE)
            )
            if known is None:
                add_source(
                    session,
                    HARVESTER,
                    name=HARVEST_SOURCE,
                    type=SourceType.dcat,
                    url=str(path),
                    publisher=HARVEST_PUBLISHER,
                    allow_private_network=True,
                )
        return harvest(sessions, HARVESTER, source=HARVEST_SOURCE, base_url=base_url)
