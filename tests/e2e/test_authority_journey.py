"""The data authority's journey in Chromium: the handler opens the queue and screens a
submitted application, the decider grants a recommended one; axe runs on every page.

The applications are made here through the services on the live server's runtime, so the
journey does not depend on which demo applications exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.catalogue.models import Dataset
from datafactory.core.db import unit_of_work
from datafactory.demo import DEMO_PASSWORD
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation, Person
from datafactory.permits import applications, procedure
from datafactory.permits.config import PermitsConfig
from datafactory.permits.schemas import ApplicationCreate, ApplicationForm, CommandIn
from tests.permits.world import complete_form

pytestmark = pytest.mark.e2e

RESEARCHER = "researcher@demo.datafactory.lu"
HANDLER = "handler@demo.datafactory.lu"
DECIDER = "decider@demo.datafactory.lu"


@dataclass(frozen=True)
class Arranged:
    submitted: str
    submitted_id: int
    recommended: str
    recommended_id: int


def _person(session: Session, email: str) -> Person:
    found = session.scalar(select(Person).where(Person.email == email))
    assert found is not None, f"the demo has no {email}"
    return found


def _dataset(session: Session, title_en: str) -> str:
    for dataset in session.scalars(select(Dataset)):
        if dataset.draft.get("title", {}).get("en") == title_en:
            return dataset.id
    raise LookupError(title_en)


def _send(
    session: Session,
    who: Person,
    config: PermitsConfig,
    application_id: int,
    name: str,
    **fields: Any,
) -> None:
    procedure.execute(
        session,
        Actor.for_person(who),
        config,
        application_id=application_id,
        command=CommandIn.model_validate({"command": name, **fields}),
    )


def _apply(session: Session, config: PermitsConfig, title: str) -> tuple[int, str]:
    researcher = _person(session, RESEARCHER)
    university = session.scalar(
        select(Organisation.id).where(Organisation.slug == "uni-lu")
    )
    world = SimpleNamespace(
        university=university,
        researcher=researcher,
        colleague=researcher,
        register=_dataset(session, "Population register extract"),
        claims=_dataset(session, "Health-insurance claims"),
    )
    form = complete_form(world, title=title, team=[])  # type: ignore[arg-type]
    created = applications.create_application(
        session,
        Actor.for_person(researcher),
        config,
        body=ApplicationCreate(form=ApplicationForm.model_validate(form)),
    )
    _send(session, researcher, config, created.id, "submit")
    return created.id, created.reference


@pytest.fixture(scope="module")
def arranged(live_server: Any) -> Arranged:
    runtime = live_server.runtime
    config = runtime.permits
    with unit_of_work(runtime.sessions) as session:
        submitted_id, submitted = _apply(session, config, "Commuting and asthma")
        recommended_id, recommended = _apply(session, config, "Diabetes pathways")
        handler = _person(session, HANDLER)
        for name, fields in (
            ("start_screening", {}),
            ("start_processing", {}),
            (
                "recommend",
                {"recommendation": "POSITIVE", "comment": "All criteria are met."},
            ),
        ):
            _send(session, handler, config, recommended_id, name, **fields)
    return Arranged(submitted, submitted_id, recommended, recommended_id)


def sign_in(page: Any, email: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))


def test_the_handler_opens_the_queue_and_screens_a_submitted_application(
    page: Any, arranged: Arranged, check_a11y: Any
) -> None:
    sign_in(page, HANDLER)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Handler queue"
    ).click()
    expect(page).to_have_url(re.compile(r"/authority/queue$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Handler queue")
    check_a11y(page)

    # Only the submitted ones, then open ours.
    for state in ("Pre-screening", "Awaiting additional information", "Processing"):
        page.get_by_label(state, exact=True).uncheck()
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page).to_have_url(re.compile(r"state=SUBMITTED"))
    queue = page.get_by_role("region", name="Applications in the chosen states")
    queue.get_by_role("link", name=arranged.submitted, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/applications/{arranged.submitted_id}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(arranged.submitted)
    expect(page.get_by_role("region", name="Criteria checks")).to_be_visible()
    expect(page.get_by_role("button", name="Grant the permit")).to_have_count(0)
    check_a11y(page)

    page.get_by_role("button", name="Start screening").click()
    expect(page).to_have_url(re.compile(r"\?done=start_screening$"))
    expect(page.get_by_role("status")).to_have_text("Screening has started.")
    expect(
        page.get_by_role("region", name="Status and deadline").get_by_text(
            "Pre-screening", exact=True
        )
    ).to_be_visible()
    check_a11y(page)

    # A request for information without a word is refused beside its field.
    page.get_by_role("button", name="Request information").click()
    comment = page.get_by_label("What must the applicant add or explain?")
    expect(comment).to_have_attribute("aria-invalid", "true")
    expect(comment).to_have_accessible_description(
        "Say what the applicant must add or explain."
    )
    expect(page.get_by_role("alert")).to_be_visible()
    check_a11y(page)


def test_the_decider_grants_a_recommended_application(
    page: Any, arranged: Arranged, check_a11y: Any
) -> None:
    sign_in(page, DECIDER)
    page.goto("/authority/queue")
    waiting = page.get_by_role(
        "region", name="Applications with a recommendation, waiting for a decider"
    )
    waiting.get_by_role("link", name=arranged.recommended, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/applications/{arranged.recommended_id}$"))
    check_a11y(page)

    page.get_by_label("Reasons for the decision (published)").fill(
        "The purpose is EHDS Art. 53(1)(e) and the data are minimised."
    )
    page.get_by_label("Conditions of the permit (optional)").fill(
        "Results are published within 18 months."
    )
    page.get_by_role("button", name="Grant the permit").click()
    expect(page.get_by_role("status")).to_have_text("The permit was granted.")
    expect(page.get_by_text("Decision issued: permit granted")).to_be_visible()
    expect(page.get_by_role("button", name="Grant the permit")).to_have_count(0)
    check_a11y(page)


def test_the_authority_pages_fit_a_phone(
    browser: Any, live_server: Any, arranged: Arranged, check_a11y: Any
) -> None:
    # WCAG 1.4.10 (reflow): 320 CSS pixels wide; tables scroll in their own region.
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 320, "height": 640}
    )
    try:
        narrow = context.new_page()
        sign_in(narrow, HANDLER)
        for path in ("/authority/queue", f"/applications/{arranged.recommended_id}"):
            narrow.goto(path)
            page_width, view_width = narrow.evaluate(
                "[document.documentElement.scrollWidth,"
                " document.documentElement.clientWidth]"
            )
            assert page_width <= view_width, f"{path} scrolls sideways at 320 px"
            check_a11y(narrow)
    finally:
        context.close()
