"""The access procedure's pages: the handler's queue, the application page every party
sees (cut to their part), its command forms, and a reviewer's list, through signed-in
browser sessions on the real app."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from datafactory.identity.models import Person
from datafactory.permits import applications, procedure
from datafactory.permits.models import Application, Permit
from datafactory.permits.schemas import ApplicationCreate, ApplicationForm, CommandIn
from datafactory.permits.workflow import State
from tests.factories import PASSWORD
from tests.permits.world import World, build_world, complete_form

NOW = datetime.now(UTC)
PDF = b"%PDF-1.4\n% ethics approval\n"


@pytest.fixture
def world(committed) -> World:
    return committed(build_world)


@pytest.fixture
def browser(app) -> Iterator:  # type: ignore[no-untyped-def]
    """``browser(person)``: a TestClient signed in as that person."""
    opened: list[TestClient] = []

    def open_as(who: Person) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        opened.append(client)
        response = client.post(
            "/sign-in",
            data={"email": who.email, "password": PASSWORD, "csrf_token": csrf(client)},
            follow_redirects=False,
        )
        assert response.status_code == 303
        return client

    yield open_as
    for client in opened:
        client.__exit__(None, None, None)


def csrf(client: TestClient) -> str:
    page = client.get("/sign-in")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def version_on(page: str) -> str:
    found = re.search(r'name="expected_version" value="(\d+)"', page)
    assert found is not None
    return found.group(1)


def send(client: TestClient, application_id: int, command: str, **fields: str):  # type: ignore[no-untyped-def]
    """Post one command form as the page would, with the version the page shows."""
    page = client.get(f"/applications/{application_id}")
    data = {
        "csrf_token": csrf(client),
        "command": command,
        "expected_version": version_on(page.text),
        **fields,
    }
    return client.post(
        f"/applications/{application_id}/commands", data=data, follow_redirects=False
    )


def commands_offered(page: str) -> set[str]:
    return set(re.findall(r'name="command" value="(\w+)"', page))


def table(page: str, table_id: str) -> str:
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found is not None, f"no table {table_id}"
    return found.group(1)


# --- arranging through the services ------------------------------------------------------


def config_at(runtime, at: datetime):  # type: ignore[no-untyped-def]
    return dataclasses.replace(runtime.permits, now=lambda: at)


def submitted(committed, runtime, world: World, *, at: datetime, title: str) -> int:  # type: ignore[no-untyped-def]
    config = config_at(runtime, at)

    def make(session) -> int:  # type: ignore[no-untyped-def]
        actor = world.actor(world.researcher)
        body = ApplicationCreate(
            form=ApplicationForm.model_validate(complete_form(world, title=title))
        )
        created = applications.create_application(session, actor, config, body=body)
        procedure.execute(
            session,
            actor,
            config,
            application_id=created.id,
            command=CommandIn.model_validate({"command": "submit"}),
        )
        return created.id

    return committed(make)


def step(
    committed,
    runtime,
    world: World,
    who: Person,
    application_id: int,
    name: str,
    *,
    at: datetime = NOW,
    **fields,
):  # type: ignore[no-untyped-def]
    config = config_at(runtime, at)

    def run(session) -> None:  # type: ignore[no-untyped-def]
        procedure.execute(
            session,
            world.actor(who),
            config,
            application_id=application_id,
            command=CommandIn.model_validate({"command": name, **fields}),
        )

    committed(run)


def processing(committed, runtime, world: World, *, title: str) -> int:  # type: ignore[no-untyped-def]
    application_id = submitted(committed, runtime, world, at=NOW, title=title)
    step(committed, runtime, world, world.handler, application_id, "start_screening")
    step(committed, runtime, world, world.handler, application_id, "start_processing")
    return application_id


def state_of(runtime, application_id: int) -> str:  # type: ignore[no-untyped-def]
    with runtime.sessions() as session:
        found = session.get(Application, application_id)
        assert found is not None
        return found.state


def reference_of(runtime, application_id: int) -> str:  # type: ignore[no-untyped-def]
    with runtime.sessions() as session:
        found = session.get(Application, application_id)
        assert found is not None
        return found.reference


# --- the queue ---------------------------------------------------------------------------


def test_the_handler_sees_the_queue_by_deadline_and_the_overdue_apart(
    runtime, committed, world, browser
):
    fresh = submitted(committed, runtime, world, at=NOW, title="Fresh study")
    late = submitted(
        committed, runtime, world, at=NOW - timedelta(days=200), title="Late study"
    )
    recent = submitted(
        committed, runtime, world, at=NOW - timedelta(days=30), title="Recent study"
    )
    refs = {i: reference_of(runtime, i) for i in (fresh, late, recent)}

    page = browser(world.handler).get("/authority/queue")

    assert page.status_code == 200
    queue = table(page.text, "queue")
    positions = [queue.index(refs[i]) for i in (late, recent, fresh)]
    assert positions == sorted(positions), "soonest deadline first"
    overdue = table(page.text, "overdue")
    assert refs[late] in overdue
    assert refs[fresh] not in overdue and refs[recent] not in overdue
    # Said in words, not only shown in a colour.
    assert re.search(r"Overdue by \d+ working days", overdue)
    assert "UNI" in queue  # the applicant organisation
    assert '<th scope="col">' in queue


def test_the_queue_filters_by_state_and_pages(runtime, committed, world, browser):
    screened = submitted(committed, runtime, world, at=NOW, title="Screened study")
    step(committed, runtime, world, world.handler, screened, "start_screening")
    waiting = submitted(committed, runtime, world, at=NOW, title="Waiting study")
    client = browser(world.handler)

    page = client.get("/authority/queue", params={"state": "PRE_SCREENING"})

    queue = table(page.text, "queue")
    assert reference_of(runtime, screened) in queue
    assert reference_of(runtime, waiting) not in queue
    assert 'value="PRE_SCREENING" checked' in page.text
    assert client.get("/authority/queue", params={"page": 2}).status_code == 200
    # An unknown state is ignored rather than an error.
    assert client.get("/authority/queue?state=NOPE").status_code == 200


def test_only_the_authority_sees_the_queue(world, browser):
    assert browser(world.researcher).get("/authority/queue").status_code == 403


# --- the application page and its commands ----------------------------------------------


def test_the_handler_sees_the_criteria_and_only_the_commands_allowed(
    runtime, committed, world, browser
):
    application_id = submitted(committed, runtime, world, at=NOW, title="Criteria")

    page = browser(world.handler).get(f"/applications/{application_id}")

    assert page.status_code == 200
    assert "Criteria checks" in page.text
    assert "EHDS Art. 53(2)" in page.text  # the rule each check comes from
    assert re.search(r"✓ </span>Met", page.text)
    assert commands_offered(page.text) == {"start_screening", "remark"}
    # The answers: purposes by their label, variables with their sensitivity.
    assert "Scientific research related to the health or care sectors" in page.text
    assert "EHDS Art. 53(1)(e)" in page.text
    assert re.search(
        r"<code>matricule</code></th><td>Direct identifier</td>", page.text
    )
    assert "GDPR Art. 9(2)(j)" in page.text


def test_a_request_for_information_needs_a_comment_then_pauses_the_clock(
    runtime, committed, world, browser
):
    application_id = submitted(committed, runtime, world, at=NOW, title="Ask")
    step(committed, runtime, world, world.handler, application_id, "start_screening")
    client = browser(world.handler)

    empty = send(client, application_id, "request_information", comment="  ")

    assert empty.status_code == 422
    assert 'id="cmd-request_information-comment-error"' in empty.text
    assert "Say what the applicant must add or explain." in empty.text
    assert re.search(
        r'id="cmd-request_information-comment"[^>]*aria-invalid="true"'
        r'[^>]*aria-describedby="cmd-request_information-comment-error"',
        empty.text,
    )
    assert state_of(runtime, application_id) == State.PRE_SCREENING

    asked = send(
        client,
        application_id,
        "request_information",
        comment="Please confirm the ethics position.",
    )

    assert asked.status_code == 303
    assert asked.headers["location"] == (
        f"/applications/{application_id}?done=request_information"
    )
    assert state_of(runtime, application_id) == State.AWAITING_ADDITIONAL_INFORMATION
    page = client.get(asked.headers["location"])
    assert "The request for information was sent" in page.text
    assert "Awaiting additional information" in page.text
    assert "Paused:" in page.text and "the applicant has until" in page.text


def test_a_stale_version_or_a_command_no_longer_possible_answers_409(
    runtime, committed, world, browser
):
    application_id = submitted(committed, runtime, world, at=NOW, title="Race")
    client = browser(world.handler)
    page = client.get(f"/applications/{application_id}")
    seen = version_on(page.text)
    # A colleague screens the application after the page was loaded.
    step(committed, runtime, world, world.handler, application_id, "start_screening")

    stale = client.post(
        f"/applications/{application_id}/commands",
        data={
            "csrf_token": csrf(client),
            "command": "start_screening",
            "expected_version": seen,
        },
        follow_redirects=False,
    )

    assert stale.status_code == 409
    text = html.unescape(stale.text)
    assert "Your action was not carried out" in text
    assert "changed since you loaded it" in text
    assert "The application is now: Pre-screening." in text
    assert "What you can do now: Request information" in text
    assert "Traceback" not in text

    again = send(client, application_id, "start_screening")

    assert again.status_code == 409
    assert "not possible while the application is PRE_SCREENING" in html.unescape(
        again.text
    )


def test_a_reviewer_sees_their_pending_review_and_sends_it(
    runtime, committed, world, browser
):
    application_id = processing(committed, runtime, world, title="Reviewed")
    handler = browser(world.handler)
    asked = send(
        handler,
        application_id,
        "request_review",
        reviewer_emails=f"{world.reviewer.email}\n",
    )
    assert asked.status_code == 303, asked.text
    reference = reference_of(runtime, application_id)
    reviewer = browser(world.reviewer)

    mine = reviewer.get("/reviews")

    assert mine.status_code == 200
    assert reference in table(mine.text, "pending")
    page = reviewer.get(f"/applications/{application_id}")
    assert commands_offered(page.text) == {"review", "remark"}
    assert "Criteria checks" not in page.text  # for the authority's staff

    sent = send(
        reviewer,
        application_id,
        "review",
        comment="The variables requested are proportionate.",
        recommendation="POSITIVE",
    )

    assert sent.status_code == 303
    after = reviewer.get("/reviews")
    assert "No application waits for your review." in after.text
    assert reference in table(after.text, "given")
    timeline = handler.get(f"/applications/{application_id}").text
    assert "The variables requested are proportionate." in timeline
    assert world.reviewer.name in timeline


def test_the_decider_grants_with_reasons_and_a_permit_exists(
    runtime, committed, world, browser
):
    application_id = processing(committed, runtime, world, title="Granted")
    step(
        committed,
        runtime,
        world,
        world.handler,
        application_id,
        "recommend",
        recommendation="POSITIVE",
        comment="All criteria are met.",
    )
    decider = browser(world.decider)
    queue = decider.get("/authority/queue")
    assert reference_of(runtime, application_id) in table(
        queue.text, "awaiting-decision"
    )
    page = decider.get(f"/applications/{application_id}")
    assert {"grant", "refuse"} <= commands_offered(page.text)

    without = send(decider, application_id, "grant", comment="")
    assert without.status_code == 422
    assert "Give the reasons for the decision" in without.text

    granted = send(
        decider,
        application_id,
        "grant",
        comment="The purpose is EHDS Art. 53(1)(e); the data are minimised.",
        conditions="Results are published within 18 months.",
    )

    assert granted.status_code == 303
    with runtime.sessions() as session:
        permit = session.scalars(
            select(Permit).where(Permit.application_id == application_id)
        ).one()
        assert permit.status == "GRANTED"
    page = decider.get(granted.headers["location"])
    assert "Decision issued: permit granted" in page.text
    assert permit.reference in page.text
    assert commands_offered(page.text) == set()


def test_an_outsider_gets_404_everywhere(runtime, committed, world, browser):
    application_id = submitted(committed, runtime, world, at=NOW, title="Private")
    outsider = browser(world.outsider)

    assert outsider.get(f"/applications/{application_id}").status_code == 404
    posted = outsider.post(
        f"/applications/{application_id}/commands",
        data={"csrf_token": csrf(outsider), "command": "withdraw"},
        follow_redirects=False,
    )
    assert posted.status_code == 404
    assert outsider.get(
        f"/applications/{application_id}/attachments/1"
    ).status_code == (404)
    assert outsider.get("/applications/999999").status_code == 404


def test_the_applicant_sees_neither_criteria_nor_internal_remarks(
    runtime, committed, world, browser
):
    application_id = submitted(committed, runtime, world, at=NOW, title="Mine")
    step(committed, runtime, world, world.handler, application_id, "start_screening")
    step(
        committed,
        runtime,
        world,
        world.handler,
        application_id,
        "remark",
        comment="Internal: check the company link.",
    )
    step(
        committed,
        runtime,
        world,
        world.handler,
        application_id,
        "request_information",
        comment="Please send the ethics approval.",
    )
    applicant = browser(world.researcher)

    page = applicant.get(f"/applications/{application_id}")

    assert page.status_code == 200
    assert "Criteria checks" not in page.text
    assert "Internal: check the company link." not in page.text
    assert "Please send the ethics approval." in page.text
    assert world.handler.name not in page.text  # staff appear as the authority
    assert "The data authority" in page.text
    assert commands_offered(page.text) == {"provide_information", "withdraw"}
    assert f"/applications/{application_id}/edit?step=1" in page.text

    answered = send(
        applicant,
        application_id,
        "provide_information",
        comment="The approval is not required for registry research.",
    )
    assert answered.status_code == 303
    assert state_of(runtime, application_id) == State.PRE_SCREENING
    handler_page = browser(world.handler).get(f"/applications/{application_id}").text
    assert "Internal: check the company link." in handler_page


def test_a_draft_sends_its_applicant_to_the_wizard(runtime, committed, world, browser):
    def make(session) -> int:  # type: ignore[no-untyped-def]
        body = ApplicationCreate(form=ApplicationForm(title="Half done"))
        return applications.create_application(
            session, world.actor(world.researcher), runtime.permits, body=body
        ).id

    application_id = committed(make)

    page = browser(world.researcher).get(
        f"/applications/{application_id}", follow_redirects=False
    )

    assert page.status_code == 303
    assert page.headers["location"] == f"/applications/{application_id}/edit"


def test_an_attachment_downloads_for_the_parties_only(
    runtime, committed, world, browser
):
    config = runtime.permits

    def make(session) -> tuple[int, int]:  # type: ignore[no-untyped-def]
        actor = world.actor(world.researcher)
        body = ApplicationCreate(
            form=ApplicationForm.model_validate(complete_form(world))
        )
        created = applications.create_application(session, actor, config, body=body)
        attachment = applications.attach(
            session,
            actor,
            config,
            application_id=created.id,
            filename="éthique approval.pdf",
            media_type="application/pdf",
            data=PDF,
        )
        procedure.execute(
            session,
            actor,
            config,
            application_id=created.id,
            command=CommandIn.model_validate({"command": "submit"}),
        )
        return created.id, attachment.id

    application_id, attachment_id = committed(make)
    handler = browser(world.handler)
    page = handler.get(f"/applications/{application_id}")
    link = f"/applications/{application_id}/attachments/{attachment_id}"
    assert link in page.text

    download = handler.get(link)

    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert "attachment;" in download.headers["content-disposition"]
    assert "%C3%A9thique" in download.headers["content-disposition"]
    assert browser(world.outsider).get(link).status_code == 404


def test_someone_with_no_review_sees_an_empty_list(world, browser):
    page = browser(world.outsider).get("/reviews")

    assert page.status_code == 200
    assert "No application waits for your review." in page.text


def test_an_unknown_command_is_refused_without_a_stack_trace(
    runtime, committed, world, browser
):
    application_id = submitted(committed, runtime, world, at=NOW, title="Odd")
    client = browser(world.handler)

    odd = send(client, application_id, "launch_rockets")
    damaged = client.post(
        f"/applications/{application_id}/commands",
        data={
            "csrf_token": csrf(client),
            "command": "start_screening",
            "expected_version": "x",
        },
        follow_redirects=False,
    )

    assert odd.status_code == 422
    assert damaged.status_code == 422
    assert "Traceback" not in odd.text + damaged.text
    assert state_of(runtime, application_id) == State.SUBMITTED
