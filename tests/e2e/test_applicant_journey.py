"""The applicant's journey in Chromium: from a protected dataset's "Request access" through
the application wizard to its completeness list, with axe on every wizard page, a refused
step among them, and the wizard at a phone's width; then the inbox and a permit."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from datafactory.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

RESEARCHER = "researcher@demo.datafactory.lu"
ANALYST = "analyst@demo.datafactory.lu"
DATASET = "Health-insurance claims"


def sign_in(page: Any, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/sign-in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))


def step_heading(page: Any) -> Any:
    return page.get_by_role("heading", level=2).first


def save_and_continue(page: Any) -> None:
    page.get_by_role("button", name="Save and continue").click()


def test_a_researcher_requests_access_and_sees_what_is_missing(
    page: Any, check_a11y: Any
) -> None:
    title = f"Care pathways {uuid.uuid4().hex[:6]}"
    sign_in(page, RESEARCHER)
    page.goto("/datasets?q=claims")
    page.get_by_role("link", name=DATASET).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(DATASET)
    page.get_by_role("link", name="Request access").click()
    expect(page).to_have_url(re.compile(r"/applications/new\?dataset=\w+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New application")
    expect(page.get_by_role("status")).to_contain_text(DATASET)
    check_a11y(page)

    # Step 1: applicant and team.
    page.get_by_role("button", name="Start the application").click()
    expect(page).to_have_url(re.compile(r"/applications/\d+/edit\?step=1$"))
    expect(step_heading(page)).to_have_text("Step 1 of 5: Applicant and team")
    expect(page.get_by_label("Principal investigator's e-mail address")).to_have_value(
        RESEARCHER
    )
    check_a11y(page)
    page.get_by_label("Organisation you apply for").select_option(
        label="University of Luxembourg"
    )
    member = page.get_by_role("group", name="Team member 1")
    member.get_by_label("E-mail address").fill(ANALYST)
    member.get_by_label("Role in the project").fill("statistician")
    page.get_by_role("button", name="Save and add another team member").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(
        page.get_by_role("group", name="Team member 1").get_by_label("E-mail address")
    ).to_have_value(ANALYST)
    expect(page.get_by_role("group", name="Team member 2")).to_be_visible()
    save_and_continue(page)

    # Step 2: the framework first, then its purposes.
    expect(step_heading(page)).to_have_text("Step 2 of 5: Project")
    check_a11y(page)
    page.get_by_role("group", name="Legal framework").get_by_label(
        re.compile("European Health Data Space")
    ).check()
    page.get_by_label("Project title").fill(title)
    page.get_by_label("Public summary").fill(
        "We study how people with diabetes use primary care in Luxembourg, and how"
        " care pathways differ by age, sex and commune of residence, to inform the"
        " national diabetes plan."
    )
    save_and_continue(page)
    expect(page.get_by_role("status")).to_contain_text("tick those of your project")
    purposes = page.get_by_role("group", name="Purposes")
    purposes.get_by_label(re.compile(r"\(EHDS Art\. 53\(1\)\(e\)\)$")).check()
    page.get_by_label("How you will use the data").fill(
        "Quality of diabetes care, by care pathway."
    )
    bases = page.get_by_role("group", name="Legal bases", exact=True)
    bases.get_by_label(re.compile(r"^Art\. 6\(1\)\(e\)")).check()
    bases.get_by_label(re.compile(r"^Art\. 9\(2\)\(j\)")).check()
    check_a11y(page)
    save_and_continue(page)

    # Step 3: the dataset of the page we came from, its variables, the form.
    expect(step_heading(page)).to_have_text("Step 3 of 5: Data")
    dataset = page.get_by_role("group", name=DATASET)
    expect(dataset).to_be_visible()
    dataset.get_by_label(re.compile(r"^diagnosis_group")).check()
    dataset.get_by_label("Why you need diagnosis_group").fill(
        "Selects the diabetes cohort from all claims."
    )
    forms = page.get_by_role("group", name="Form of the data")
    expect(forms.get_by_role("radio")).to_have_count(2)
    expect(forms.get_by_label("Anonymised")).to_have_count(0)
    forms.get_by_label("Aggregated").check()
    check_a11y(page)
    # Aggregated data are the tables the applicant names, added without JavaScript.
    page.get_by_role("button", name="Save", exact=True).click()
    tables = page.get_by_role("group", name="Aggregate tables")
    tables.get_by_label("Dataset the table counts").select_option(label=DATASET)
    tables.get_by_label("Name of the table").fill("people_by_diagnosis")
    tables.get_by_role("button", name="Save and add the table").click()
    table = page.get_by_role("group", name=re.compile(r"^Table 1, from "))
    table.get_by_role("group", name="Count people by").get_by_label(
        re.compile(r"^diagnosis_group")
    ).check()
    table.get_by_label("Why you need this table").fill(
        "People with diabetes by diagnosis group are the study's denominator."
    )
    check_a11y(page)
    save_and_continue(page)

    # Step 4: a wrong duration is refused beside its field, then corrected.
    expect(step_heading(page)).to_have_text("Step 4 of 5: Duration and safeguards")
    check_a11y(page)
    page.get_by_label("Start date").fill("2027-01-01")
    page.get_by_label("Duration in months").fill("1.5")
    page.get_by_label("No, no ethics approval is required for this project").check()
    declarations = page.get_by_role("group", name="Declarations")
    for box in declarations.get_by_role("checkbox").all():
        box.check()
    with page.expect_response(re.compile(r"/edit\?step=4$")) as answer:
        save_and_continue(page)
    assert answer.value.status == 422
    duration = page.get_by_label("Duration in months")
    expect(duration).to_have_attribute("aria-invalid", "true")
    expect(duration).to_have_accessible_description(re.compile("whole number"))
    expect(duration).to_have_value("1.5")
    expect(page.get_by_role("alert")).to_contain_text("whole number")
    expect(declarations.get_by_role("checkbox").first).to_be_checked()
    check_a11y(page)
    duration.fill("12")
    save_and_continue(page)

    # Step 5: the completeness list, with links back to the steps.
    expect(step_heading(page)).to_have_text("Step 5 of 5: Check and submit")
    expect(
        page.get_by_role("heading", name="Is the application complete?")
    ).to_be_visible()
    advice = page.locator("#completeness-advice")
    expect(advice).to_contain_text("The explanation of your purpose has")
    link = advice.get_by_role(
        "link", name=re.compile("The explanation of your purpose")
    )
    expect(link).to_have_attribute("href", re.compile(r"step=2#group-purpose_detail$"))
    expect(page.get_by_role("button", name="Submit the application")).to_be_visible()
    check_a11y(page)

    # The wizard fits a phone's screen without scrolling sideways (WCAG 1.4.10).
    page.set_viewport_size({"width": 320, "height": 640})
    for step in (1, 3, 4, 5):
        page.goto(re.sub(r"step=\d.*$", f"step={step}", page.url))
        widths = page.evaluate(
            "[document.documentElement.scrollWidth,"
            " document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], f"step {step} scrolls sideways at 320 px"
    check_a11y(page)

    # The dashboard lists the draft with what to do next.
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Applications"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My applications")
    row = page.get_by_role("row").filter(has_text=title)
    expect(row).to_contain_text("Draft, not yet submitted")
    expect(
        row.get_by_role("link", name=re.compile("Continue the draft"))
    ).to_be_visible()
    check_a11y(page)

    # The inbox and the permits of the demo researcher.
    page.get_by_role("link", name=re.compile(r"^Inbox: \d+ unread")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    check_a11y(page)
    page.goto("/permits")
    expect(page.get_by_role("heading", level=1)).to_have_text("My permits")
    check_a11y(page)
    permits = page.get_by_role("table", name="Permits that name you").get_by_role(
        "link"
    )
    expect(permits).not_to_have_count(0)
    permits.first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Permit PRM-")
    token = page.get_by_label("Signed permit (JWS), to copy")
    expect(token).to_have_value(re.compile(r"^[\w-]+\.[\w-]+\.[\w-]+$"))
    check_a11y(page)
