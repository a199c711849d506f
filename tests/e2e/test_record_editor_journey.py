"""A data steward creates a data service in the web form, is told what publishing needs,
completes it and publishes it, in Chromium, with axe on the form."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.test_journeys import STEWARD, sign_in

pytestmark = pytest.mark.e2e


def test_a_steward_creates_and_publishes_a_data_service(
    page: Any, check_a11y: Any
) -> None:
    sign_in(page, STEWARD)
    page.goto("/publishers/statec")
    page.get_by_role("link", name="New data service").click()
    expect(page).to_have_url(re.compile(r"/services/new$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New data service")
    check_a11y(page)

    title = f"Rents API {uuid.uuid4().hex[:6]}"
    page.get_by_role("group", name="Title").get_by_label("English").fill(title)
    page.get_by_role("button", name="Create draft").click()
    expect(page).to_have_url(re.compile(r"/services/[a-z0-9]+/edit\?saved=1$"))
    expect(page.get_by_role("status")).to_have_text("Saved.")
    service_id = page.url.split("/")[-2]

    # Too early: what DCAT-AP-LU asks for is named on its field, and the form is kept.
    endpoints = page.get_by_label("Endpoint URLs")
    page.get_by_role("button", name="Save and publish").click()
    expect(page.get_by_role("alert")).to_contain_text("does not meet DCAT-AP-LU")
    expect(endpoints).to_have_attribute("aria-invalid", "true")
    expect(endpoints).to_have_accessible_description(re.compile("endpoint URL"))
    expect(
        page.get_by_role("group", name="Title").get_by_label("English")
    ).to_have_value(title)
    check_a11y(page)

    page.get_by_role("group", name="Description").get_by_label("English").fill(
        "Asking rents advertised, by commune, as JSON."
    )
    endpoints.fill("https://api.statec.lu/rents/v1/")
    page.get_by_label("Endpoint descriptions").fill(
        "https://api.statec.lu/rents/v1/openapi.json"
    )
    page.get_by_role("group", name="Datasets served").get_by_label(
        "Population by commune", exact=True
    ).check()
    page.get_by_label("Access rights").select_option(label="Public")
    page.get_by_label("Licence").select_option(
        label="Creative Commons Attribution 4.0 International"
    )
    page.get_by_label("Contact e-mail address").fill("api@statec.lu")
    page.get_by_role("button", name="Save and publish").click()

    expect(page).to_have_url(re.compile(rf"/services/{service_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("link", name="Edit")).to_be_visible()
    expect(
        page.locator("#record-datasets").get_by_role(
            "link", name="Population by commune"
        )
    ).to_be_visible()

    page.goto("/services")
    expect(page.get_by_role("link", name=title)).to_have_attribute(
        "href", f"/services/{service_id}"
    )
