"""A visitor follows a dataset series to its yearly datasets and on to the API serving
them, in Chromium, with axe on every page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_a_visitor_goes_from_a_series_to_its_members_and_the_api(
    page: Any, check_a11y: Any
) -> None:
    page.goto("/series")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dataset series")
    check_a11y(page)

    page.get_by_role("link", name="Population on 1 January").click()
    expect(page).to_have_url(re.compile(r"/series/[a-z0-9]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Population on 1 January")
    members = page.locator("#record-datasets li")
    expect(members).to_have_count(3)
    check_a11y(page)

    page.get_by_role("link", name="Population on 1 January 2025").click()
    expect(page).to_have_url(re.compile(r"/datasets/[a-z0-9]+$"))
    expect(page.locator("#in-series")).to_have_text("Population on 1 January")
    expect(page.locator("#served-by")).to_have_text("Luxembourg statistics API")
    check_a11y(page)

    page.locator("#served-by").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/services/[a-z0-9]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Luxembourg statistics API"
    )
    expect(
        page.get_by_text("https://api.statistiques.public.lu/v1/", exact=True)
    ).to_be_visible()
    expect(page.locator("#record-datasets li")).to_have_count(5)
    check_a11y(page)


def test_the_service_list_reads_in_french(page: Any, check_a11y: Any) -> None:
    page.goto("/language/fr")
    page.goto("/services")
    expect(page.get_by_role("heading", level=1)).to_have_text("Services de données")
    expect(
        page.get_by_role("link", name="API des statistiques du Luxembourg")
    ).to_be_visible()
    check_a11y(page)


def test_a_dataset_search_leads_to_the_services_with_the_same_words(
    page: Any, check_a11y: Any
) -> None:
    page.goto("/datasets")
    page.get_by_role("searchbox", name="Search the catalogue").fill("statistics api")
    page.get_by_role("button", name="Search", exact=True).click()
    also = page.locator("#also-matching")
    expect(also).to_contain_text("The same words also find:")
    check_a11y(page)

    also.get_by_role("link", name="1 data service").click()
    expect(page).to_have_url(re.compile(r"/services\?q=statistics\+api"))
    expect(page.get_by_label("Search the data services")).to_have_value(
        "statistics api"
    )
    expect(page.locator(".dataset-list li")).to_have_count(1)
    expect(page.get_by_role("link", name="Luxembourg statistics API")).to_be_visible()
    check_a11y(page)

    page.get_by_label("Search the data services").fill("tramway")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#record-count")).to_have_text("0 published records")
    expect(page.get_by_text("Nothing matches these words.")).to_be_visible()
    check_a11y(page)
