"""The public register: what it lists, when a decision enters it, and that no person's name
or e-mail ever leaves through it (JSON, CSV or Atom)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from datafactory.identity.models import Person
from datafactory.permits import applications, procedure, register
from datafactory.permits.clocks import LUXEMBOURG, add_working_days, local_date
from datafactory.permits.config import PermitsConfig
from datafactory.permits.models import Permit
from datafactory.permits.schemas import ApplicationCreate, ApplicationForm, CommandIn
from datafactory.permits.workflow import Decision
from datafactory.web.app import create_app
from tests.permits.world import World, build_world, complete_form

RESEARCHER_NAME = "Rita Schmit-Hoffmann"
COLLEAGUE_NAME = "Colin Weber-Kremer"


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)

    def set(self, at: datetime) -> None:
        self.at = at


@dataclass
class Desk:
    """Runs applications through the real procedure, as their people would."""

    committed: Any
    config: PermitsConfig
    world: World

    def draft(self, **changes: Any) -> int:
        def create(session):
            body = ApplicationCreate(
                form=ApplicationForm.model_validate(
                    complete_form(self.world, **changes)
                )
            )
            return applications.create_application(
                session, self.world.actor(self.world.researcher), self.config, body=body
            ).id

        return self.committed(create)

    def run(self, who: Person, app_id: int, name: str, **fields: Any) -> None:
        def step(session):
            procedure.execute(
                session,
                self.world.actor(who),
                self.config,
                application_id=app_id,
                command=CommandIn.model_validate({"command": name, **fields}),
            )

        self.committed(step)

    def submitted(self, **changes: Any) -> int:
        app_id = self.draft(**changes)
        self.run(self.world.researcher, app_id, "submit")
        return app_id

    def start_processing(self, app_id: int) -> None:
        self.run(self.world.handler, app_id, "start_screening")
        self.run(self.world.handler, app_id, "start_processing")

    def grant(self, app_id: int, reasons: str = "All criteria are met.") -> None:
        self.run(self.world.decider, app_id, "grant", comment=reasons)

    def refuse(self, app_id: int, reasons: str = "The data are not necessary.") -> None:
        self.run(self.world.decider, app_id, "refuse", comment=reasons)


def named_world(session) -> World:
    world = build_world(session)
    session.get(Person, world.researcher.id).name = RESEARCHER_NAME
    session.get(Person, world.colleague.id).name = COLLEAGUE_NAME
    return world


def app_with_register(runtime) -> FastAPI:
    return create_app(runtime=runtime)


# 2 November 2026 is a Monday; 09:00 UTC is 10:00 in Luxembourg.
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def world(committed) -> World:
    return committed(named_world)


def desk_for(committed, runtime, world, clock, delay: int = 0) -> Desk:
    config = dataclasses.replace(
        runtime.permits,
        now=clock,
        base_url="http://testserver",
        register_delay_working_days=delay,
    )
    return Desk(committed, config, world)


@pytest.fixture
def desk(committed, runtime, world, clock) -> Desk:
    return desk_for(committed, runtime, world, clock)


def read(desk: Desk, query, today: date, **kwargs: Any):
    return desk.committed(
        lambda session: query(session, desk.config, today=today, **kwargs)
    )


# --- when a decision becomes public (pure) --------------------------------------------


def test_a_decision_before_christmas_waits_for_five_working_days_over_the_holidays():
    # Friday 18 December 2026; 25 and 26 December are public holidays in Luxembourg.
    decided = datetime(2026, 12, 18, 15, 0, tzinfo=UTC)
    assert add_working_days(date(2026, 12, 18), 5) == date(2026, 12, 28)
    assert not register.is_public(decided, date(2026, 12, 27), 5)
    assert register.is_public(decided, date(2026, 12, 28), 5)
    # A decision on the weekend after counts from the same Monday, so is public too.
    assert register.published_through(date(2026, 12, 28), 5) == date(2026, 12, 20)
    assert register.published_through(date(2026, 12, 27), 5) == date(2026, 12, 17)


def test_without_a_delay_a_decision_is_public_the_same_day():
    today = date(2026, 11, 4)
    assert register.published_through(today, 0) == today
    late_evening = datetime(2026, 11, 4, 22, 30, tzinfo=UTC)  # 23:30 in Luxembourg
    assert register.is_public(late_evening, today, 0)
    assert late_evening < register.public_before(today, 0)


@pytest.mark.parametrize("delay", [0, 1, 3, 10, 30])
def test_the_sql_cutoff_agrees_with_the_rule_for_every_day(delay):
    # Across the year-end holidays and Easter 2027, at both ends of the Luxembourg day.
    for today in (date(2026, 12, 20) + timedelta(days=i) for i in range(130)):
        cutoff = register.public_before(today, delay)
        for back in range(0, 60):
            day = today - timedelta(days=back)
            for hour in (0, 12, 23):
                local = datetime(day.year, day.month, day.day, hour, 30)
                at = local.replace(tzinfo=LUXEMBOURG).astimezone(UTC)
                assert (at < cutoff) == register.is_public(at, today, delay), (
                    today,
                    at,
                )


def test_a_negative_delay_is_refused():
    with pytest.raises(ValueError):
        register.published_through(date(2026, 11, 2), -1)


# --- the lists ------------------------------------------------------------------------


def test_drafts_never_appear_and_submitted_applications_appear_at_once(desk, world):
    desk.draft(title="A draft nobody submitted")
    app_id = desk.submitted()
    today = local_date(START)

    page = read(desk, register.applications_received, today)
    assert page.total == 1
    [row] = page.items
    assert row.reference == f"DA-2026-{app_id:05d}"
    assert row.title == "Diabetes care pathways and employment"
    assert row.organisation == "UNI"
    assert row.regime == "ehds"
    assert [(p.code, p.label) for p in row.purposes] == [
        (
            "ehds-53-1-e",
            desk.config.regimes.purpose("ehds", "ehds-53-1-e").label.en,
        )
    ]
    assert [(d.id, d.title) for d in row.datasets] == [
        (world.register, "Population register extract"),
        (world.claims, "Health-insurance claims"),
    ]
    assert row.submitted_on == today
    assert row.status == "SUBMITTED"
    assert row.summary.startswith("We study how people with diabetes")
    assert "A draft nobody submitted" not in json.dumps(page.model_dump(mode="json"))

    # Nothing is decided yet, so the other lists are empty.
    for query in (register.decisions, register.permits, register.success_stories):
        assert read(desk, query, today).total == 0


def test_purpose_labels_and_dataset_titles_follow_the_language(desk):
    desk.submitted()
    page = read(desk, register.applications_received, local_date(START), lang="fr")
    [row] = page.items
    assert row.purposes[0].label == (
        desk.config.regimes.purpose("ehds", "ehds-53-1-e").label.fr
    )
    assert (
        row.datasets[0].title == "Extrait du registre national des personnes physiques"
    )


def test_a_withdrawn_draft_never_appears_but_a_withdrawn_application_does(desk, world):
    never_sent = desk.draft(title="Withdrawn before submission")
    desk.run(world.researcher, never_sent, "withdraw")
    sent = desk.submitted(title="Withdrawn after submission")
    desk.run(world.researcher, sent, "withdraw")
    page = read(desk, register.applications_received, local_date(START))
    assert [(r.title, r.status) for r in page.items] == [
        ("Withdrawn after submission", "WITHDRAWN")
    ]
    assert read(desk, register.decisions, local_date(START)).total == 0


def test_applications_are_paged_latest_first(desk, clock):
    for n in range(3):
        desk.submitted(title=f"Study {n}")
        clock.advance(days=1)
    today = local_date(clock())
    first = read(desk, register.applications_received, today, page_size=2)
    second = read(desk, register.applications_received, today, page=2, page_size=2)
    assert (first.total, second.total) == (3, 3)
    assert [r.title for r in first.items] == ["Study 2", "Study 1"]
    assert [r.title for r in second.items] == ["Study 0"]
    with pytest.raises(ValueError):
        read(desk, register.applications_received, today, page=0)
    with pytest.raises(ValueError):
        read(desk, register.applications_received, today, page_size=0)


def test_decisions_and_permits_wait_for_the_publication_delay(
    committed, runtime, world, clock
):
    desk = desk_for(committed, runtime, world, clock, delay=3)
    granted = desk.submitted(title="Granted study")
    refused = desk.submitted(title="Refused study")
    desk.start_processing(granted)
    desk.start_processing(refused)
    clock.set(datetime(2026, 11, 2, 14, 0, tzinfo=UTC))  # Monday
    desk.grant(granted, "Purpose EHDS Art. 53(1)(e); the data are minimised.")
    desk.refuse(refused, "Aggregated data would achieve the purpose.")

    # Three working days after Monday 2 November is Thursday 5 November.
    wednesday, thursday = date(2026, 11, 4), date(2026, 11, 5)
    for query in (register.decisions, register.permits):
        assert read(desk, query, wednesday).total == 0
    statuses = {
        r.title: r.status
        for r in read(desk, register.applications_received, wednesday).items
    }
    assert statuses == {
        "Granted study": "DECISION_ISSUED",
        "Refused study": "DECISION_ISSUED",
    }

    decided = read(desk, register.decisions, thursday)
    by_title = {r.title: r for r in decided.items}
    assert decided.total == 2
    positive, negative = by_title["Granted study"], by_title["Refused study"]
    assert positive.decision is Decision.POSITIVE
    assert positive.reasons == "Purpose EHDS Art. 53(1)(e); the data are minimised."
    assert positive.decided_on == date(2026, 11, 2)
    assert positive.permit == "PRM-2026-00001"
    assert positive.organisation == "UNI"
    assert negative.decision is Decision.NEGATIVE
    assert negative.reasons == "Aggregated data would achieve the purpose."
    assert negative.permit is None
    statuses = {
        r.title: r.status
        for r in read(desk, register.applications_received, thursday).items
    }
    assert statuses == {
        "Granted study": "POSITIVE_DECISION_ISSUED",
        "Refused study": "NEGATIVE_DECISION_ISSUED",
    }

    [permit] = read(desk, register.permits, thursday).items
    assert permit.reference == "PRM-2026-00001"
    assert permit.application == positive.reference
    assert permit.title == "Granted study"
    assert permit.organisation == "UNI"
    assert permit.status == "GRANTED"
    assert permit.data_form == "pseudonymised"
    assert [(d.id, d.title, d.variables) for d in permit.datasets] == [
        (
            world.register,
            "Population register extract",
            ["matricule", "birth_year", "sex"],
        ),
        (
            world.claims,
            "Health-insurance claims",
            ["matricule", "diagnosis_group", "amount"],
        ),
    ]
    assert permit.linkages == [[world.register, world.claims]]
    assert [p.code for p in permit.purposes] == ["ehds-53-1-e"]
    assert (permit.starts_on, permit.ends_on) == (date(2027, 1, 1), date(2029, 1, 1))
    assert permit.granted_on == date(2026, 11, 2)
    assert permit.results_url is None


def test_an_aggregated_permit_publishes_its_tables_but_not_their_reasons(desk, world):
    why = "Prevalence by age group and sex is the outcome of the study."
    app_id = desk.submitted(
        data_form="aggregated",
        aggregate_tables=[
            {
                "name": "people_by_age_sex",
                "dataset_id": world.register,
                "group_by": ["birth_year", "sex"],
                "justification": why,
            }
        ],
    )
    desk.start_processing(app_id)
    desk.grant(app_id)

    [permit] = read(desk, register.permits, date(2027, 1, 1)).items
    assert permit.data_form == "aggregated"
    assert [t.model_dump() for t in permit.aggregate_tables] == [
        {
            "name": "people_by_age_sex",
            "dataset": world.register,
            "group_by": ["birth_year", "sex"],
            "measures": [],
        }
    ]
    assert why not in permit.model_dump_json()


def test_successful_cases_are_permits_with_published_results(desk, world, committed):
    first, second = desk.submitted(title="First"), desk.submitted(title="Second")
    for app_id in (first, second):
        desk.start_processing(app_id)
        desk.grant(app_id)
    today = local_date(START)
    assert read(desk, register.success_stories, today).total == 0

    def publish(session):
        permits = session.scalars(select(Permit).order_by(Permit.id)).all()
        permits[0].results_url = "https://doi.org/10.1234/diabetes-pathways"
        permits[1].results_url = "javascript:alert(1)"  # never a link

    committed(publish)
    stories = read(desk, register.success_stories, today)
    assert stories.total == 1
    [story] = stories.items
    assert (story.permit, story.title, story.organisation) == (
        "PRM-2026-00001",
        "First",
        "UNI",
    )
    assert story.results_url == "https://doi.org/10.1234/diabetes-pathways"
    assert [d.id for d in story.datasets] == [world.register, world.claims]
    shown = {
        p.reference: p.results_url for p in read(desk, register.permits, today).items
    }
    assert shown == {
        "PRM-2026-00001": "https://doi.org/10.1234/diabetes-pathways",
        "PRM-2026-00002": None,
    }


# --- no personal data, whatever the format ---------------------------------------------


def test_no_name_or_e_mail_of_a_person_leaves_through_the_register(
    runtime, desk, world, committed
):
    granted, refused, waiting = (desk.submitted(title=f"S{i}") for i in range(3))
    for app_id in (granted, refused):
        desk.start_processing(app_id)
    desk.run(
        world.handler,
        granted,
        "request_review",
        reviewer_emails=[world.reviewer.email],
    )
    desk.grant(granted)
    desk.refuse(refused)
    desk.draft(title="A draft")
    committed(
        lambda s: setattr(
            s.scalars(select(Permit)).one(), "results_url", "https://example.org/r"
        )
    )
    runtime.__dict__["permits"] = desk.config  # the app reads runtime.permits
    people = [
        world.researcher,
        world.colleague,
        world.handler,
        world.decider,
        world.reviewer,
    ]
    forbidden = [RESEARCHER_NAME, COLLEAGUE_NAME]
    forbidden += [p.email for p in people]
    forbidden += [p.email.split("@")[0] + "@" for p in people]

    with TestClient(app_with_register(runtime)) as client:
        bodies: dict[str, str] = {}
        paths = [
            *(
                f"/api/v1/register/{name}?format={fmt}"
                for name in ("applications", "decisions", "permits", "successes")
                for fmt in ("json", "csv")
            ),
            *(
                f"/register?show={name}"
                for name in ("applications", "decisions", "permits", "successes")
            ),
            "/register/feed.atom",
            "/api/v1/kpis",
            "/register/kpis",
        ]
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            bodies[path] = response.text

    everything = "\n".join(bodies.values())
    assert "S0" in everything and "PRM-2026-00001" in everything
    assert "A draft" not in everything
    for text in forbidden:
        assert text.lower() not in everything.lower(), text
    # Permit users are person ids: the register shows no "users" field.
    decisions = json.loads(bodies["/api/v1/register/decisions?format=json"])
    assert decisions["total"] == 2
    permits = json.loads(bodies["/api/v1/register/permits?format=json"])
    assert "users" not in permits["items"][0]
    assert "conditions" not in permits["items"][0]
