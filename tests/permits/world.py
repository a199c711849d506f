"""A small world for the access procedure: the authority, a university, a data holder with
two protected datasets and an open one, and one person per part, all made through the real
services. ``complete_form`` is an application that passes the completeness check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from datafactory.catalogue import service as catalogue
from datafactory.catalogue.schemas import DatasetDraft
from datafactory.demo.datasets import DATASETS
from datafactory.identity import people
from datafactory.identity.actor import Actor
from datafactory.identity.models import OrganisationKind, Person, Role
from datafactory.permits.schemas import ProhibitedUse
from tests.factories import SYSTEM, person

BASE_URL = "http://testserver"


@dataclass(frozen=True)
class World:
    university: int
    company: int
    holder: int
    register: str
    claims: str
    open_dataset: str
    researcher: Person
    colleague: Person
    analyst: Person
    handler: Person
    decider: Person
    reviewer: Person
    assistant: Person
    outsider: Person

    def actor(self, who: Person) -> Actor:
        return Actor.for_person(who)


def _demo(title_en: str) -> tuple[str, dict[str, Any]]:
    for _slug, contact, metadata in DATASETS:
        if metadata["title"].get("en") == title_en:
            return contact, metadata
    raise LookupError(title_en)


def _publish(session: Session, publisher: int, title_en: str) -> str:
    contact, metadata = _demo(title_en)
    draft = DatasetDraft.model_validate(
        {**metadata, "contact_email": contact, "contact_name": "Holder"}
    )
    dataset = catalogue.create_dataset(
        session, SYSTEM, publisher_id=publisher, metadata=draft
    )
    catalogue.publish_dataset(session, SYSTEM, dataset_id=dataset.id, base_url=BASE_URL)
    return dataset.id


def build_world(session: Session) -> World:
    def org(slug: str, kind: OrganisationKind, public: bool) -> int:
        return people.create_organisation(
            session,
            SYSTEM,
            slug=slug,
            name=slug.upper(),
            kind=kind,
            is_public_sector=public,
        ).id

    university = org("uni", OrganisationKind.research, True)
    company = org("company", OrganisationKind.company, False)
    holder = org("holder", OrganisationKind.data_holder, True)
    authority = org("authority", OrganisationKind.authority, True)
    lnds = org("lnds", OrganisationKind.public_body, True)
    world = World(
        university=university,
        company=company,
        holder=holder,
        register=_publish(session, holder, "Population register extract"),
        claims=_publish(session, holder, "Health-insurance claims"),
        open_dataset=_publish(session, holder, "Population by commune"),
        researcher=person(session, "rita@uni.lu", roles=((Role.reuser, university),)),
        colleague=person(session, "colin@uni.lu", roles=((Role.reuser, university),)),
        analyst=person(session, "ana@company.lu", roles=((Role.reuser, company),)),
        handler=person(
            session, "henri@authority.lu", roles=((Role.handler, authority),)
        ),
        decider=person(
            session, "delphine@authority.lu", roles=((Role.decider, authority),)
        ),
        reviewer=person(
            session, "steward@holder.lu", roles=((Role.data_steward, holder),)
        ),
        assistant=person(session, "lea@lnds.lu", roles=((Role.assistant, lnds),)),
        outsider=person(
            session, "olivier@elsewhere.lu", roles=((Role.reuser, company),)
        ),
    )
    session.flush()
    return world


def complete_form(world: World, **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "regime": "ehds",
        "organisation_id": world.university,
        "principal_investigator": world.researcher.email,
        "team": [{"email": world.colleague.email, "role": "statistician"}],
        "title": "Diabetes care pathways and employment",
        "abstract": " ".join(
            ["We study how people with diabetes use primary care in Luxembourg,"]
            + ["and how care pathways differ by age, sex and commune of residence."] * 3
        ),
        "purposes": ["ehds-53-1-e"],
        "purpose_detail": "Scientific research on the quality of diabetes care, to "
        "inform the national diabetes plan and primary-care guidelines.",
        "legal_bases": ["art6-1-e", "art9-2-j"],
        "datasets": [
            {
                "dataset_id": world.register,
                "variables": [
                    {
                        "name": "matricule",
                        "justification": "Needed by the trusted third party to link "
                        "the register with the claims; replaced by a pseudonym.",
                    },
                    {
                        "name": "birth_year",
                        "justification": "Age groups are the main stratification.",
                    },
                    {"name": "sex", "justification": "Outcomes differ by sex."},
                ],
            },
            {
                "dataset_id": world.claims,
                "variables": [
                    {
                        "name": "matricule",
                        "justification": "Linkage key with the register, "
                        "pseudonymised by the trusted third party.",
                    },
                    {
                        "name": "diagnosis_group",
                        "justification": "Selects the diabetes cohort.",
                    },
                    {
                        "name": "amount",
                        "justification": "Costs of care per pathway.",
                    },
                ],
            },
        ],
        "data_form": "pseudonymised",
        "pseudonymisation_justification": "Care pathways follow the same person "
        "across years and across the two datasets, which anonymised data cannot show.",
        "linkages": [
            {
                "datasets": [world.register, world.claims],
                "justification": "Claims are analysed by age and sex from the register.",
            }
        ],
        "start_date": date(2027, 1, 1).isoformat(),
        "duration_months": 24,
        "ethics": {
            "status": "not_required",
            "committee": "",
            "reference": "",
            "attachment_id": None,
        },
        "prohibited_uses_declared": [u.value for u in ProhibitedUse],
        "funding": "Fonds national de la recherche, grant C24/123",
        "publication_plan": "Open-access article and a public summary within 18 months.",
    }
    form.update(changes)
    return form
