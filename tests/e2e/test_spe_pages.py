"""The secure processing environment in Chromium: a member opens a workspace, asks the
query gate through the SQL editor and reads the released table, a refused query shows its
reasons; axe on the workspace page, a release request, the checkers' queue and the public
archive of a permit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from datafactory.core.db import unit_of_work
from datafactory.identity.models import Person
from datafactory.spe import workspaces
from tests.e2e.test_journeys import sign_in
from tests.web.test_spe_pages import REFUSED_SQL, SMALL_SQL, Study, build_study

pytestmark = pytest.mark.e2e

RESEARCHER = "researcher@demo.datafactory.lu"
CHECKER = "checker@demo.datafactory.lu"
CHECKER2 = "checker2@demo.datafactory.lu"


@pytest.fixture(scope="module")
def study(live_server: Any) -> Study:
    """A ready workspace of the researcher's, with one approved release and one waiting
    for the checkers, in the live server's database and under its keys."""
    runtime = live_server.runtime
    workspaces.TABLE_CACHE.clear()
    with unit_of_work(runtime.sessions) as session:

        def who(email: str) -> Person:
            found = session.query(Person).filter_by(email=email).one()
            return found

        return build_study(
            session,
            runtime.spe,
            who(RESEARCHER),
            (who(CHECKER), who(CHECKER2)),
            reference="PRM-2026-E2E01",
            name="e2e-study",
        )


def test_a_member_runs_a_query_in_the_editor_and_sees_the_table(
    page: Any, check_a11y: Any, study: Study
) -> None:
    sign_in(page, RESEARCHER)
    page.goto("/workspaces")
    page.get_by_role("link", name=study.workspace, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Workspace {study.workspace}"
    )
    check_a11y(page)

    page.get_by_label("SQL query").fill(SMALL_SQL)
    page.get_by_label("Round counts and sums to 5").check()
    page.get_by_role("button", name="Run the query").click()
    table = page.get_by_role("table", name="Released table")
    expect(table).to_be_visible()
    expect(table.get_by_role("columnheader", name="commune")).to_be_visible()
    # The tiny commune's count is suppressed, and the cell says why.
    expect(table.get_by_text("Suppressed").first).to_be_visible()
    expect(page.get_by_label("SQL query")).to_have_value(SMALL_SQL)
    check_a11y(page)


def test_a_refused_query_shows_its_reasons(
    page: Any, check_a11y: Any, study: Study
) -> None:
    sign_in(page, RESEARCHER)
    page.goto(f"/workspaces/{study.workspace}")
    page.get_by_label("SQL query").fill(REFUSED_SQL)
    page.get_by_role("button", name="Run the query").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The query was refused.")
    expect(alert.get_by_role("listitem").first).to_be_visible()
    expect(page.get_by_role("table", name="Released table")).to_have_count(0)
    check_a11y(page)


def test_a_member_reads_a_release_request_and_its_list(
    page: Any, check_a11y: Any, study: Study
) -> None:
    sign_in(page, RESEARCHER)
    page.goto(f"/workspaces/{study.workspace}/releases")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Release requests")
    check_a11y(page)
    page.get_by_role("link", name=f"Request {study.approved_id}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        f"Release request {study.approved_id}"
    )
    expect(page.locator("#request-status")).to_have_text("Approved")
    expect(page.get_by_role("link", name="Download by-sex.csv")).to_be_visible()
    check_a11y(page)

    page.goto(f"/workspaces/{study.workspace}/releases")
    page.get_by_label("Title").fill("A draft")
    page.get_by_role("button", name="Open the request").click()
    expect(page.get_by_role("status")).to_contain_text("The release request was opened")
    page.get_by_role("button", name="Add the output").click()
    expect(page.get_by_role("status")).to_contain_text("The output was added")
    check_a11y(page)


def test_a_checker_reviews_from_the_queue(
    page: Any, check_a11y: Any, study: Study
) -> None:
    sign_in(page, CHECKER)
    page.goto("/checking")
    expect(page.get_by_role("heading", level=1)).to_have_text("Output checking")
    check_a11y(page)
    page.get_by_role("link", name=f"Request {study.pending_id}", exact=True).click()
    expect(page.get_by_role("heading", name="Your review")).to_be_visible()
    check_a11y(page)
    page.get_by_role("radio", name="Request changes").check()
    page.get_by_label("Comment (required to reject or request changes)").fill(
        "Please round the counts."
    )
    page.get_by_role("button", name="Record my review").click()
    expect(page.get_by_role("status")).to_contain_text("Your review was recorded")
    expect(page.get_by_role("heading", name="Your review")).to_have_count(0)


def test_anyone_reads_the_public_archive_of_a_permit(
    page: Any, check_a11y: Any, study: Study
) -> None:
    answer = page.goto(f"/permits/{study.permit_reference}/archive")
    assert answer is not None and answer.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Code archive of permit {study.permit_reference}"
    )
    expect(page.get_by_text("SHA-256").first).to_be_visible()
    check_a11y(page)


def test_a_member_runs_a_job_and_its_page_follows_it(
    page: Any, check_a11y: Any, study: Study
) -> None:
    sign_in(page, RESEARCHER)
    page.goto(f"/workspaces/{study.workspace}")
    page.get_by_label("Job name").fill("Hello")
    page.get_by_label("Python script").fill("print('hello from the sandbox')")
    page.get_by_role("button", name="Submit the job").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
    check_a11y(page)
    # htmx swaps the status in until the job has ended.
    expect(page.locator(".job-state")).to_have_text(
        re.compile("Succeeded|Failed"), timeout=60_000
    )
    expect(page.get_by_role("heading", name="Standard output")).to_be_visible()
    check_a11y(page)
