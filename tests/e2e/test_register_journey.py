"""An anonymous visitor reads the public register and the KPI dashboard in Chromium, with
axe on every page. Only the structure of the pages is asserted: the rows depend on the demo's
dates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def register_url(live_server: LiveServer) -> str:
    return live_server.url


@pytest.fixture
def visitor(browser: Any, register_url: str) -> Iterator[Any]:
    context = browser.new_context(base_url=register_url, locale="en-GB")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_an_anonymous_visitor_reads_the_public_register(
    visitor: Any, register_url: str, check_a11y: Any
) -> None:
    page = visitor
    response = page.goto("/register")
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Public register")
    sections = page.get_by_role("navigation", name="Register sections")
    expect(sections.get_by_role("link")).to_have_count(4)
    expect(
        sections.get_by_role("link", name=re.compile("^Applications received"))
    ).to_have_attribute("aria-current", "page")
    main = page.get_by_role("main")
    expect(main.get_by_role("link", name="This list as JSON")).to_be_visible()
    expect(main.get_by_role("link", name="This list as CSV")).to_be_visible()
    expect(
        main.get_by_role("link", name="Atom feed of the latest decisions and permits")
    ).to_be_visible()
    check_a11y(page)

    for name, show in (
        ("Decisions", "decisions"),
        ("Permits", "permits"),
        ("Successful cases", "successes"),
    ):
        sections.get_by_role("link", name=re.compile(f"^{name}")).click()
        expect(page).to_have_url(re.compile(rf"/register\?show={show}$"))
        expect(page.get_by_role("heading", level=2, name=name)).to_be_visible()
        # Either a table of entries or the sentence that says there is none yet.
        tables = main.get_by_role("table")
        if tables.count() == 0:
            expect(
                main.get_by_text("Nothing is published in this list yet.")
            ).to_be_visible()
        check_a11y(page)

    json_href = main.get_by_role("link", name="This list as JSON").get_attribute("href")
    answer = httpx.get(f"{register_url}{json_href}", timeout=5)
    assert answer.status_code == 200
    assert set(answer.json()) >= {"items", "total"}
    feed = httpx.get(f"{register_url}/register/feed.atom", timeout=5)
    assert feed.headers["content-type"].startswith("application/atom+xml")


def test_an_anonymous_visitor_reads_the_kpi_dashboard(
    visitor: Any, check_a11y: Any
) -> None:
    page = visitor
    page.goto("/register")
    page.get_by_role("main").get_by_role(
        "link", name="Key performance indicators"
    ).click()
    expect(page).to_have_url(re.compile(r"/register/kpis$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Key performance indicators"
    )
    main = page.get_by_role("main")
    expect(main.get_by_role("img").first).to_be_visible()
    expect(main.get_by_role("table", name="Applications by status")).to_be_visible()
    expect(
        main.get_by_role("table", name="Positive and negative decisions")
    ).to_be_visible()
    check_a11y(page)
