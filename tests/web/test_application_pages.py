"""The applicant's pages through a signed-in browser session: the dashboard, the wizard
(step by step, with its errors, its file upload and its completeness list), the inbox and
the permit with its signed JWS."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from datafactory.permits import applications, notifications, procedure
from datafactory.permits.models import Application, Attachment, Permit
from datafactory.permits.schemas import ApplicationForm, CommandIn, ProhibitedUse
from datafactory.permits.workflow import State
from tests.factories import PASSWORD
from tests.permits.world import World, build_world, complete_form

PDF = b"%PDF-1.4\n% an ethics approval\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def world(committed) -> World:
    return committed(build_world)


def csrf(client) -> str:
    page = client.get("/sign-in")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client, email: str) -> None:
    response = client.post(
        "/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303


@pytest.fixture
def rita(client, world):
    sign_in(client, world.researcher.email)
    return client


def post(client, path: str, data: dict[str, Any] | None = None, **kwargs):
    return client.post(
        path,
        data={"csrf_token": csrf(client), **(data or {})},
        follow_redirects=False,
        **kwargs,
    )


def start(client, dataset: str = "") -> int:
    created = post(client, "/applications/new", {"dataset": dataset})
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    found = re.fullmatch(r"/applications/(\d+)/edit\?step=1", location)
    assert found, location
    return int(found.group(1))


def save(client, application_id: int, step: int, data: dict[str, Any], **kwargs):
    return post(
        client, f"/applications/{application_id}/edit?step={step}", data, **kwargs
    )


def form_of(committed, application_id: int) -> dict[str, Any]:
    return committed(lambda s: dict(s.get(Application, application_id).form))


def state_of(committed, application_id: int) -> str:
    return committed(lambda s: s.get(Application, application_id).state)


def error_of(page: str, key: str) -> str:
    found = re.search(rf'<p class="field-error" id="error-{key}">([^<]*)</p>', page)
    assert found, f"no error shown for {key}"
    return html.unescape(found.group(1))


def alert_of(page: str) -> str:
    return re.search(r'role="alert".*?</div>', page, re.S).group(0)


def step_fields(world: World) -> dict[int, dict[str, Any]]:
    """The complete application of the test world, as the wizard's steps post it."""
    full = complete_form(world)
    register, claims = full["datasets"]
    data: dict[str, Any] = {"data_form": "pseudonymised"}
    for i, request in enumerate((register, claims)):
        data[f"datasets-{i}-id"] = request["dataset_id"]
        data[f"datasets-{i}-variables"] = [v["name"] for v in request["variables"]]
        for v in request["variables"]:
            data[f"datasets-{i}-why-{v['name']}"] = v["justification"]
    data["pseudonymisation_justification"] = full["pseudonymisation_justification"]
    data["linkages-0-left"], data["linkages-0-right"] = full["linkages"][0]["datasets"]
    data["linkages-0-why"] = full["linkages"][0]["justification"]
    return {
        1: {
            "organisation_id": str(world.university),
            "principal_investigator": world.researcher.email,
            "team-0-email": world.colleague.email,
            "team-0-role": "statistician",
            "team-1-email": "",
            "team-1-role": "",
        },
        2: {
            "regime": "ehds",
            "title": full["title"],
            "abstract": full["abstract"],
            "purposes": full["purposes"],
            "purpose_detail": full["purpose_detail"],
            "legal_bases": full["legal_bases"],
        },
        3: data,
        4: {
            "start_date": full["start_date"],
            "duration_months": "24",
            "ethics_status": "not_required",
            "ethics_committee": "",
            "ethics_reference": "",
            "prohibited_uses": [u.value for u in ProhibitedUse],
            "funding": full["funding"],
            "publication_plan": full["publication_plan"],
        },
    }


def test_the_dashboard_lists_my_drafts_and_offers_a_new_application(rita, world):
    empty = rita.get("/applications")
    assert empty.status_code == 200
    assert "<h1>My applications</h1>" in empty.text
    assert 'href="/applications/new"' in empty.text
    assert "Inbox: 0 unread messages" in empty.text
    assert "You take part in no application yet." in empty.text

    application_id = start(rita)
    page = rita.get("/applications")
    assert re.search(r"DA-\d{4}-\d{5}", page.text)
    assert "Draft, not yet submitted" in page.text and "<code>DRAFT</code>" in page.text
    assert f'href="/applications/{application_id}/edit"' in page.text
    assert "Continue the draft" in page.text


def test_only_reusers_may_start_an_application(client, world):
    sign_in(client, world.handler.email)
    page = client.get("/applications")
    assert page.status_code == 200
    assert 'href="/applications/new"' not in page.text
    assert client.get("/applications/new").status_code == 403
    assert post(client, "/applications/new").status_code == 403


def test_request_access_from_a_dataset_prefills_the_draft(rita, world, committed):
    page = rita.get(f"/applications/new?dataset={world.register}")
    assert page.status_code == 200
    assert "Population register extract" in page.text
    assert f'name="dataset" value="{world.register}"' in page.text

    application_id = start(rita, world.register)
    form = form_of(committed, application_id)
    assert form["datasets"] == [{"dataset_id": world.register, "variables": []}]
    assert form["principal_investigator"] == world.researcher.email
    assert form["organisation_id"] == world.university

    step1 = rita.get(f"/applications/{application_id}/edit?step=1")
    assert f'value="{world.researcher.email}"' in step1.text
    assert re.search(
        rf'<option value="{world.university}" selected>UNI</option>', step1.text
    )


def test_an_open_dataset_is_not_prefilled(rita, world, committed):
    page = rita.get(f"/applications/new?dataset={world.open_dataset}")
    assert "cannot be requested" in page.text
    assert 'name="dataset"' not in page.text
    application_id = start(rita, world.open_dataset)
    assert form_of(committed, application_id)["datasets"] == []


def test_each_step_saves_and_shows_its_values_again(rita, world, committed):
    application_id = start(rita)
    fields = step_fields(world)

    saved = save(rita, application_id, 1, {**fields[1], "action": "next"})
    assert saved.status_code == 303
    assert (
        saved.headers["location"]
        == f"/applications/{application_id}/edit?step=2&saved=1"
    )
    again = rita.get(f"/applications/{application_id}/edit?step=1")
    assert f'value="{world.colleague.email}"' in again.text
    assert 'value="statistician"' in again.text
    assert 'name="team-1-email"' in again.text, "an empty row to add someone"

    # Choosing the framework first lists its purposes.
    regime = save(rita, application_id, 2, {"regime": "ehds", "action": "next"})
    assert regime.headers["location"].endswith("step=2&regime_changed=1")
    step2 = rita.get(regime.headers["location"])
    assert 'role="status"' in step2.text and "tick those of your project" in step2.text
    assert "EHDS Art. 53(1)(e)" in step2.text
    assert 'value="ehds-53-1-e"' in step2.text

    for step in (2, 3, 4):
        saved = save(rita, application_id, step, {**fields[step], "action": "next"})
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"].endswith(f"step={step + 1}&saved=1")

    form = ApplicationForm.model_validate(form_of(committed, application_id))
    expected = ApplicationForm.model_validate(complete_form(world))
    assert form == expected

    step3 = rita.get(f"/applications/{application_id}/edit?step=3")
    assert "Health-insurance claims" in step3.text
    assert re.search(r'name="datasets-1-variables" value="amount" checked', step3.text)
    assert "Costs of care per pathway.</textarea>" in step3.text
    assert re.search(r'value="pseudonymised"[^>]*checked', step3.text)
    step4 = rita.get(f"/applications/{application_id}/edit?step=4")
    assert 'value="2027-01-01"' in step4.text and 'value="24"' in step4.text
    assert "I will not try to re-identify anyone in the data." in step4.text

    # "Save and go back" saves and goes one step back.
    back = save(rita, application_id, 3, {**fields[3], "action": "back"})
    assert back.headers["location"].endswith("step=2&saved=1")


def test_wrong_answers_come_back_with_messages_and_nothing_typed_is_lost(
    rita, world, committed
):
    application_id = start(rita)
    before = form_of(committed, application_id)
    long = " ".join(["word"] * 260)
    refused = save(
        rita,
        application_id,
        2,
        {"regime": "ehds", "title": "Diabetes & care", "abstract": long},
    )
    assert refused.status_code == 422
    assert 'aria-invalid="true" aria-describedby="hint-abstract error-abstract"' in (
        refused.text
    )
    assert "260 words" in error_of(refused.text, "abstract")
    assert 'href="#group-abstract"' in alert_of(refused.text)
    assert 'value="Diabetes &amp; care"' in refused.text
    assert f">{long}</textarea>" in refused.text
    assert re.search(r'value="ehds"[^>]*checked', refused.text)
    assert form_of(committed, application_id) == before

    refused = save(
        rita,
        application_id,
        4,
        {
            "start_date": "31/01/2027",
            "duration_months": "two years",
            "funding": "FNR",
            "prohibited_uses": ["art54-a"],
        },
    )
    assert refused.status_code == 422
    assert "year-month-day" in error_of(refused.text, "start_date")
    assert "whole number" in error_of(refused.text, "duration_months")
    assert 'value="31/01/2027"' in refused.text and 'value="two years"' in refused.text
    assert ">FNR</textarea>" in refused.text
    assert re.search(r'value="art54-a" checked', refused.text)
    assert form_of(committed, application_id) == before

    refused = save(
        rita,
        application_id,
        1,
        {
            "team-0-email": "",
            "team-0-role": "data manager",
            "principal_investigator": "x",
        },
    )
    assert refused.status_code == 422
    assert "clear the row" in error_of(refused.text, "team-0-email")
    assert "e-mail address" in error_of(refused.text, "principal_investigator")
    assert 'value="data manager"' in refused.text
    assert form_of(committed, application_id) == before


def test_an_explanation_for_an_unticked_variable_is_kept_and_reported(
    rita, world, committed
):
    application_id = start(rita, world.register)
    refused = save(
        rita,
        application_id,
        3,
        {
            "datasets-0-id": world.register,
            "datasets-0-variables": ["sex"],
            "datasets-0-why-sex": "Outcomes differ by sex.",
            "datasets-0-why-birth_year": "Age groups are the main stratification.",
        },
    )
    assert refused.status_code == 422
    assert "did not tick it" in error_of(refused.text, "datasets-0-birth_year")
    assert "Age groups are the main stratification.</textarea>" in refused.text
    assert re.search(r'value="sex" checked', refused.text)


def test_the_anonymised_form_is_not_offered(rita, world):
    application_id = start(rita, world.register)
    page = rita.get(f"/applications/{application_id}/edit?step=3")
    assert 'name="data_form" value="pseudonymised"' in page.text
    assert 'name="data_form" value="aggregated"' in page.text
    assert 'value="anonymised"' not in page.text
    refused = save(
        rita,
        application_id,
        3,
        {"datasets-0-id": world.register, "data_form": "anonymised"},
    )
    assert refused.status_code == 422
    assert "forms offered" in error_of(refused.text, "data_form")


def test_datasets_are_added_from_the_protected_ones_and_removed(rita, world, committed):
    application_id = start(rita)
    page = rita.get(f"/applications/{application_id}/edit?step=3")
    options = re.search(
        r'<select id="field-add_dataset_id".*?</select>', page.text, re.S
    ).group(0)
    assert world.register in options and world.claims in options
    assert world.open_dataset not in options, "open data needs no permit"

    added = save(
        rita,
        application_id,
        3,
        {"add_dataset_id": world.claims, "action": "add_dataset"},
    )
    assert added.headers["location"].endswith("step=3&saved=1")
    page = rita.get(added.headers["location"])
    assert "<legend>Health-insurance claims</legend>" in page.text
    assert 'name="datasets-0-variables" value="diagnosis_group"' in page.text
    assert "special category of personal data" in page.text

    unknown = save(
        rita,
        application_id,
        3,
        {"datasets-0-id": world.claims, "add_dataset_id": world.open_dataset},
    )
    assert unknown.status_code == 422
    assert "from the list" in error_of(unknown.text, "datasets")

    removed = save(
        rita,
        application_id,
        3,
        {"datasets-0-id": world.claims, "datasets-0-remove": "1"},
    )
    assert removed.status_code == 303
    assert form_of(committed, application_id)["datasets"] == []


def test_the_ethics_approval_is_uploaded_and_bad_files_get_a_message(
    rita, world, committed, runtime
):
    import dataclasses

    runtime.permits = dataclasses.replace(runtime.permits, attachment_max_bytes=2048)
    application_id = start(rita)

    def upload(name: str, data: bytes, media_type: str):
        return save(
            rita,
            application_id,
            4,
            {"ethics_status": "approved", "ethics_committee": "CNER"},
            files={"ethics_file": (name, data, media_type)},
        )

    too_large = upload("approval.pdf", PDF + b"x" * 4096, "application/pdf")
    assert too_large.status_code == 422
    assert "too large" in error_of(too_large.text, "ethics_file")
    assert "2 KB" in error_of(too_large.text, "ethics_file")
    assert 'aria-describedby="hint-ethics_file error-ethics_file"' in too_large.text
    assert 'value="CNER"' in too_large.text
    assert re.search(r'value="approved"[^>]*checked', too_large.text)

    wrong_type = upload("approval.txt", b"approved", "text/plain")
    assert wrong_type.status_code == 422
    assert "Attach one of" in error_of(wrong_type.text, "ethics_file")

    disguised = upload("approval.pdf", PNG, "application/pdf")
    assert disguised.status_code == 422
    assert "not really application/pdf" in error_of(disguised.text, "ethics_file")
    assert committed(lambda s: s.scalars(select(Attachment)).all()) == []

    accepted = upload("approval.pdf", PDF, "application/pdf")
    assert accepted.status_code == 303, accepted.text
    attachment_id = form_of(committed, application_id)["ethics"]["attachment_id"]
    assert attachment_id is not None
    page = rita.get(f"/applications/{application_id}/edit?step=4")
    assert "Approval attached: approval.pdf" in page.text
    assert f'name="ethics_attachment_id" value="{attachment_id}"' in page.text

    # Saving the step again without a file keeps the one attached.
    kept = save(
        rita,
        application_id,
        4,
        {"ethics_status": "approved", "ethics_attachment_id": str(attachment_id)},
    )
    assert kept.status_code == 303
    assert (
        form_of(committed, application_id)["ethics"]["attachment_id"] == attachment_id
    )


def test_the_last_step_lists_what_is_missing_and_refuses_to_submit(
    rita, world, committed
):
    application_id = start(rita)
    page = rita.get(f"/applications/{application_id}/edit?step=5")
    assert page.status_code == 200
    missing = re.search(r'<ul id="completeness-missing">.*?</ul>', page.text, re.S)
    assert missing, "the completeness list"
    assert "Choose the legal framework of your application" in missing.group(0)
    assert f'href="/applications/{application_id}/edit?step=2#group-regime"' in (
        missing.group(0)
    )
    assert f'href="/applications/{application_id}/edit?step=4#group-start_date"' in (
        missing.group(0)
    )
    assert "<strong>Missing:</strong>" in missing.group(0)

    refused = save(rita, application_id, 5, {"action": "submit"})
    assert refused.status_code == 422
    assert "not complete" in alert_of(refused.text)
    assert f"/applications/{application_id}/edit?step=2#group-regime" in alert_of(
        refused.text
    )
    assert state_of(committed, application_id) == State.DRAFT


def test_a_complete_application_is_submitted_and_the_wizard_closes(
    rita, world, committed
):
    application_id = start(rita)
    fields = step_fields(world)
    for step in (1, 2, 3, 4):
        assert save(rita, application_id, step, fields[step]).status_code == 303
    page = rita.get(f"/applications/{application_id}/edit?step=5")
    assert 'id="completeness-done"' in page.text
    assert 'id="completeness-missing"' not in page.text

    submitted = save(rita, application_id, 5, {"action": "submit"})
    assert submitted.status_code == 303
    assert submitted.headers["location"] == f"/applications/{application_id}"
    assert state_of(committed, application_id) == State.SUBMITTED

    closed = rita.get(
        f"/applications/{application_id}/edit?step=2", follow_redirects=False
    )
    assert closed.status_code == 303
    assert closed.headers["location"] == f"/applications/{application_id}"
    again = save(rita, application_id, 2, fields[2])
    assert again.status_code == 303
    dashboard = rita.get("/applications")
    assert "Submitted, waiting for screening" in dashboard.text


def test_an_assistant_is_invited_from_the_last_step(rita, world, committed):
    application_id = start(rita)
    unknown = save(
        rita,
        application_id,
        5,
        {"action": "invite", "assistant_email": world.colleague.email},
    )
    assert unknown.status_code == 422
    assert "assistant" in error_of(unknown.text, "assistant_email")
    assert f'value="{world.colleague.email}"' in unknown.text

    invited = save(
        rita,
        application_id,
        5,
        {"action": "invite", "assistant_email": world.assistant.email},
    )
    assert invited.status_code == 303
    assert invited.headers["location"].endswith("step=5&invited=1")
    assert "The assistant is invited" in rita.get(invited.headers["location"]).text


def test_nobody_else_opens_the_wizard(client, world, committed):
    sign_in(client, world.researcher.email)
    application_id = start(client)
    client.cookies.clear()
    sign_in(client, world.outsider.email)
    assert client.get(f"/applications/{application_id}/edit").status_code == 404
    assert save(client, application_id, 1, {"title": "x"}).status_code == 404


def test_the_inbox_marks_messages_read(rita, world, committed):
    def arrange(session):
        first = notifications.notify(
            session,
            person_ids=[world.researcher.id],
            subject="Application DA-1 was granted.",
            body="Application DA-1 was granted.\n\nDiabetes care",
            link="/applications/1",
        )
        second = notifications.notify(
            session,
            person_ids=[world.researcher.id],
            subject="Please answer on DA-2.",
            body="Please answer.",
        )
        other = notifications.notify(
            session, person_ids=[world.colleague.id], subject="Not for Rita", body="."
        )
        return first[0].id, second[0].id, other[0].id

    first, second, other = committed(arrange)
    assert "Inbox: 2 unread messages" in rita.get("/applications").text
    page = rita.get("/inbox")
    assert page.status_code == 200
    assert page.text.count("Unread:") == 2
    assert "Not for Rita" not in page.text
    assert page.text.index("Please answer on DA-2.") < page.text.index("DA-1 was")
    assert 'href="/applications/1"' in page.text

    read = post(rita, f"/inbox/{first}/read")
    assert read.status_code == 303
    page = rita.get("/inbox")
    assert page.text.count("Unread:") == 1
    assert "1 unread message." in page.text
    assert post(rita, f"/inbox/{other}/read").status_code == 404

    assert post(rita, "/inbox/read-all").status_code == 303
    page = rita.get("/inbox")
    assert "Unread:" not in page.text and "Mark all as read" not in page.text
    assert committed(lambda s: notifications.unread_count(s, world.researcher.id)) == 0
    assert second


def grant(committed, runtime, world: World) -> tuple[int, int]:
    config = runtime.permits

    def run(session, who, application_id, name, form=None, **fields):
        procedure.execute(
            session,
            world.actor(who),
            config,
            application_id=application_id,
            command=CommandIn.model_validate({"command": name, **fields}),
            form=ApplicationForm.model_validate(form) if form else None,
        )

    def walk(session):
        from datafactory.permits.schemas import ApplicationCreate

        application = applications.create_application(
            session,
            world.actor(world.researcher),
            config,
            body=ApplicationCreate(
                form=ApplicationForm.model_validate(complete_form(world))
            ),
        )
        run(session, world.researcher, application.id, "submit")
        run(session, world.handler, application.id, "start_screening")
        run(session, world.handler, application.id, "start_processing")
        run(
            session,
            world.decider,
            application.id,
            "grant",
            comment="The purpose is EHDS Art. 53(1)(e).",
            conditions="Results are published within 18 months.",
        )
        permit = session.scalars(select(Permit)).one()
        return application.id, permit.id

    return committed(walk)


def test_the_permit_page_shows_its_scope_and_signed_jws(
    rita, world, committed, runtime
):
    application_id, permit_id = grant(committed, runtime, world)
    token = committed(lambda s: s.get(Permit, permit_id).token)

    dashboard = rita.get("/applications")
    assert "Granted" in dashboard.text
    assert f'href="/permits/{permit_id}"' in dashboard.text
    assert "In force" in dashboard.text

    listing = rita.get("/permits")
    assert listing.status_code == 200 and f'href="/permits/{permit_id}"' in listing.text

    page = rita.get(f"/permits/{permit_id}")
    assert page.status_code == 200
    assert f">{token}</textarea>" in page.text
    assert token.count(".") == 2
    assert 'href="/.well-known/jwks.json"' in page.text
    assert "Population register extract" in page.text
    assert "<code>diagnosis_group</code>" in page.text
    assert "Scientific research related to the health or care sectors" in page.text
    assert "Pseudonymised" in page.text
    assert "Results are published within 18 months." in page.text
    assert world.colleague.email in page.text
    assert 'href="/permits/passport.json"' in page.text

    passport = rita.get("/permits/passport.json")
    assert passport.status_code == 200
    assert passport.headers["content-type"].startswith("application/json")
    assert "attachment" in passport.headers["content-disposition"]
    visas = json.loads(passport.text)["ga4gh_passport_v1"]
    assert len(visas) == 2  # one per dataset

    rita.cookies.clear()
    sign_in(rita, world.outsider.email)
    assert rita.get(f"/permits/{permit_id}").status_code == 404
    assert json.loads(rita.get("/permits/passport.json").text) == {
        "ga4gh_passport_v1": []
    }
    assert application_id


def test_signed_out_visitors_are_asked_to_sign_in(client, world):
    for path in ("/applications", "/inbox", "/permits", "/permits/passport.json"):
        assert client.get(path).status_code == 401, path
    page = client.get(
        "/applications", headers={"accept": "text/html"}, follow_redirects=False
    )
    assert page.status_code == 303
    assert page.headers["location"] == "/sign-in?next=/applications"


# --- the aggregate tables of the aggregated form -------------------------------------


def aggregated_step(world: World, **more: Any) -> dict[str, Any]:
    """Step 3 asking aggregated data of the register's birth year, sex and matricule."""
    return {
        "datasets-0-id": world.register,
        "datasets-0-variables": ["matricule", "birth_year", "sex"],
        "data_form": "aggregated",
        **more,
    }


def test_an_aggregated_applicant_names_their_tables_without_javascript(
    rita, world, committed
):
    application_id = start(rita, world.register)
    pseudonymised = rita.get(f"/applications/{application_id}/edit?step=3")
    assert 'id="group-aggregate_tables"' not in pseudonymised.text
    assert "If you choose aggregated data, save this step" in pseudonymised.text

    assert save(rita, application_id, 3, aggregated_step(world)).status_code == 303
    page = rita.get(f"/applications/{application_id}/edit?step=3")
    assert 'id="group-aggregate_tables"' in page.text
    select = re.search(
        r'<select id="field-new_table_dataset".*?</select>', page.text, re.S
    ).group(0)
    assert f'value="{world.register}"' in select

    nothing = save(
        rita, application_id, 3, aggregated_step(world, action="add_aggregate_table")
    )
    assert nothing.status_code == 422
    assert "dataset of the table" in error_of(nothing.text, "new_table_dataset")
    nameless = save(
        rita,
        application_id,
        3,
        aggregated_step(world, new_table_name="by_age", action="add_aggregate_table"),
    )
    assert nameless.status_code == 422
    assert "dataset the table counts" in error_of(nameless.text, "new_table_dataset")
    assert 'name="new_table_name" type="text" maxlength="63" value="by_age"' in (
        nameless.text
    )

    added = save(
        rita,
        application_id,
        3,
        aggregated_step(
            world,
            new_table_dataset=world.register,
            new_table_name="by_age_sex",
            action="add_aggregate_table",
        ),
    )
    assert added.headers["location"].endswith("step=3&saved=1")
    page = rita.get(f"/applications/{application_id}/edit?step=3")
    boxes = re.findall(r'name="aggregate_tables-0-group_by" value="([^"]+)"', page.text)
    assert boxes == ["birth_year", "sex"], "requested, never the identifier"
    sums = re.findall(r'name="aggregate_tables-0-measures" value="([^"]+)"', page.text)
    assert sums == ["birth_year"], "only numbers are summed"

    table = {
        "aggregate_tables-0-dataset": world.register,
        "aggregate_tables-0-name": "by_age_sex",
        "aggregate_tables-0-group_by": ["birth_year", "sex"],
        "aggregate_tables-0-why": "Prevalence by age group and sex is the outcome.",
    }
    kept = save(rita, application_id, 3, aggregated_step(world, **table))
    assert kept.status_code == 303
    saved = form_of(committed, application_id)["aggregate_tables"]
    assert saved == [
        {
            "name": "by_age_sex",
            "dataset_id": world.register,
            "group_by": ["birth_year", "sex"],
            "measures": [],
            "justification": "Prevalence by age group and sex is the outcome.",
        }
    ]
    page = rita.get(f"/applications/{application_id}/edit?step=3")
    assert re.search(
        r'name="aggregate_tables-0-group_by" value="sex" checked', page.text
    )

    removed = save(
        rita,
        application_id,
        3,
        aggregated_step(world, **table, **{"aggregate_tables-0-remove": "1"}),
    )
    assert removed.status_code == 303
    assert form_of(committed, application_id)["aggregate_tables"] == []


def test_a_wrong_table_name_comes_back_beside_its_field(rita, world, committed):
    application_id = start(rita, world.register)
    bad = {
        "aggregate_tables-0-dataset": world.register,
        "aggregate_tables-0-name": "By age",
        "aggregate_tables-0-group_by": ["birth_year"],
        "aggregate_tables-1-dataset": world.register,
        "aggregate_tables-1-name": "twice",
        "aggregate_tables-2-dataset": world.register,
        "aggregate_tables-2-name": "twice",
    }
    refused = save(rita, application_id, 3, aggregated_step(world, **bad))
    assert refused.status_code == 422
    assert "lower-case letters" in error_of(refused.text, "aggregate_tables-0-name")
    assert "own name" in error_of(refused.text, "aggregate_tables-2-name")
    assert 'value="By age"' in refused.text, "what was typed stays"
    assert form_of(committed, application_id)["aggregate_tables"] == []


def test_the_last_step_asks_an_aggregated_applicant_for_a_table(rita, world):
    application_id = start(rita, world.register)
    assert save(rita, application_id, 3, aggregated_step(world)).status_code == 303
    page = rita.get(f"/applications/{application_id}/edit?step=5")
    missing = re.search(r'<ul id="completeness-missing">.*?</ul>', page.text, re.S)
    assert "Name at least one aggregate table" in missing.group(0)
    assert (
        f'href="/applications/{application_id}/edit?step=3#group-aggregate_tables"'
        in missing.group(0)
    )
