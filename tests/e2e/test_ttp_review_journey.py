"""The TTP operator's clerical review in Chromium: the demo holders' employment file is
linked to the population register, the uncertain pairs wait on the review page, and the
operator decides one; axe on every page. Nobody else reaches the page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from datafactory.demo.holders import load_holders
from tests.e2e.test_journeys import sign_in

pytestmark = pytest.mark.e2e

TTP_OPERATOR = "ttp@demo.datafactory.lu"


@pytest.fixture(scope="module")
def linked(live_server: Any) -> dict[str, int]:
    """The demo's holder files, pseudonymised and linked for the researcher's permit."""
    return load_holders(live_server.runtime)


def test_a_ttp_operator_decides_a_pair_of_the_review_queue(
    page: Any, check_a11y: Any, linked: dict[str, int]
) -> None:
    assert linked["employment_matched"] > 0
    sign_in(page, TTP_OPERATOR)
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Clerical review"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Clerical review of record pairs"
    )
    check_a11y(page)
    # The seeded demo data leaves a couple of uncertain pairs for people to decide.
    table = page.get_by_role("table")
    expect(table).to_be_visible()
    first = table.get_by_role("row").nth(1)
    pair = first.get_by_role("rowheader").inner_text()
    # Masked hints only: initials and a birth year, never a whole name.
    expect(first).to_contain_text(re.compile(r"Initials: \w?\.|No initials"))
    first.get_by_role("button", name=f"Reject pair {pair}: different people").click()
    expect(page.get_by_role("status").first).to_be_visible()
    expect(page.get_by_role("rowheader", name=pair, exact=True)).to_have_count(0)
    check_a11y(page)


def test_a_researcher_cannot_open_the_review_queue(page: Any) -> None:
    sign_in(page, "researcher@demo.datafactory.lu")
    answer = page.goto("/ttp/review")
    assert answer is not None and answer.status == 403
