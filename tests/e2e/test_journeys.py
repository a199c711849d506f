"""User journeys through the real app in Chromium, with axe on every page visited.

Each test is one person's path through the pages: anonymous visitors, the admin, a
researcher, an auditor. Every page they see must have no serious or critical WCAG 2.1 AA
violation.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from datafactory.demo import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

ADMIN = "admin@demo.datafactory.lu"
RESEARCHER = "researcher@demo.datafactory.lu"
AUDITOR = "auditor@demo.datafactory.lu"
STEWARD = "steward.statec@demo.datafactory.lu"
CITIZEN_NAME = "Claude Citoyen"


def sign_in(page: Any, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/sign-in")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()


def main_nav(page: Any) -> Any:
    return page.get_by_role("navigation", name="Main")


def test_an_anonymous_visitor_reads_the_home_page_and_finds_sign_in(
    page: Any, check_a11y: Any
) -> None:
    response = page.goto("/")
    assert response.status == 200
    expect(page).to_have_title(re.compile("datafactory"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Public-sector data, shared safely"
    )
    check_a11y(page)

    page.get_by_role("main").get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    check_a11y(page)


def test_an_anonymous_visitor_switches_the_language_to_french_and_german(
    page: Any, check_a11y: Any
) -> None:
    page.goto("/sign-in")
    # By hreflang, not by name: the navigation's own label is translated too.
    french, german = page.locator("a[hreflang=fr]"), page.locator("a[hreflang=de]")

    expect(french).to_have_accessible_name("Français")
    french.click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(french).to_have_attribute("aria-current", "true")
    check_a11y(page)

    german.click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(german).to_have_attribute("aria-current", "true")
    expect(french).not_to_have_attribute("aria-current", "true")
    check_a11y(page)

    page.locator("a[hreflang=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_an_unknown_address_shows_a_readable_not_found_page(
    page: Any, check_a11y: Any
) -> None:
    response = page.goto("/no/such/page")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_role("alert")).to_contain_text(
        "There is nothing at this address."
    )
    expect(page.get_by_role("link", name="Back to the home page")).to_be_visible()
    check_a11y(page)


def test_a_wrong_password_is_reported_next_to_the_form(
    page: Any, check_a11y: Any
) -> None:
    sign_in(page, ADMIN, "not-the-password")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text("The e-mail address or the password is wrong.")
    for label in ("E-mail address", "Password"):
        field = page.get_by_label(label)
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_accessible_description(
            "The e-mail address or the password is wrong."
        )
    expect(page.get_by_label("E-mail address")).to_have_value(ADMIN)
    check_a11y(page)


def test_the_admin_signs_in_and_sees_the_admin_navigation(
    page: Any, check_a11y: Any
) -> None:
    sign_in(page, ADMIN)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_text("Signed in as")).to_contain_text("Ada Admin")
    nav = main_nav(page)
    expect(nav.get_by_role("link", name="People and roles")).to_be_visible()
    expect(nav.get_by_role("link", name="Audit ledger")).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name="Sign in")).to_have_count(
        0
    )
    check_a11y(page)

    page.get_by_role("button", name="Sign out").click()
    expect(main_nav(page).get_by_role("link", name="People and roles")).to_have_count(0)


def test_a_researcher_creates_uses_and_revokes_an_api_token(
    page: Any, live_server: Any, check_a11y: Any
) -> None:
    # Anonymous, the account page sends her to sign in, and back once she has.
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/account$"))
    page.get_by_label("E-mail address").fill(RESEARCHER)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    expect(main_nav(page).get_by_role("link", name="My account")).to_have_attribute(
        "aria-current", "page"
    )
    check_a11y(page)

    name = f"notebook-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("checkbox", name="account").check()
    page.get_by_label("Valid for (days)").fill("7")
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_role("status")).to_contain_text("Copy it now")
    secret = page.locator("#new-token").inner_text().strip()
    assert secret
    check_a11y(page)

    me = httpx.get(
        f"{live_server.url}/api/me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert me.status_code == 200, me.text
    assert me.json()["name"] == "Rita Researcher"
    assert me.json()["scopes"] == ["account"]

    # The secret is shown once only. (Not page.reload(): that would post the form again.)
    main_nav(page).get_by_role("link", name="My account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    expect(page.get_by_text(secret)).to_have_count(0)
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("active")
    row.get_by_role("button", name=f"Revoke {name}").click()
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button")).to_have_count(0)
    check_a11y(page)

    again = httpx.get(
        f"{live_server.url}/api/me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert again.status_code == 401


def test_an_incomplete_token_form_shows_messages_beside_its_fields(
    page: Any, check_a11y: Any
) -> None:
    sign_in(page, RESEARCHER)
    page.goto("/account")
    page.get_by_label("Name", exact=True).fill("")
    with page.expect_response(re.compile(r"/account/tokens$")) as answer:
        page.get_by_role("button", name="Create token").click()
    assert answer.value.status == 422

    expect(page.get_by_role("heading", level=1)).to_have_text("My account")
    name = page.get_by_label("Name", exact=True)
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description(
        "Give the token a name of 1 to 100 characters."
    )
    expect(page.get_by_role("group", name="Scopes")).to_have_accessible_description(
        "Choose at least one scope."
    )
    expect(page.get_by_role("alert")).to_be_visible()
    check_a11y(page)


def test_the_admin_grants_a_role_and_revokes_it(page: Any, check_a11y: Any) -> None:
    sign_in(page, ADMIN)
    main_nav(page).get_by_role("link", name="People and roles").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("People and roles")
    check_a11y(page)

    citizen = page.get_by_role("row").filter(has_text=CITIZEN_NAME)
    expect(citizen).not_to_contain_text("auditor")
    page.get_by_label("Person").select_option(label=CITIZEN_NAME)
    page.get_by_label("Role").select_option("auditor")
    page.get_by_label("Organisation").select_option(label="Platform-wide")
    page.get_by_role("button", name="Grant role").click()

    expect(page).to_have_url(re.compile(r"/admin/people$"))
    citizen = page.get_by_role("row").filter(has_text=CITIZEN_NAME)
    expect(citizen).to_contain_text("auditor")
    check_a11y(page)

    citizen.get_by_role("button", name=f"Revoke auditor from {CITIZEN_NAME}").click()
    citizen = page.get_by_role("row").filter(has_text=CITIZEN_NAME)
    expect(citizen).not_to_contain_text("auditor")
    expect(citizen).to_contain_text("citizen")
    check_a11y(page)


def test_an_auditor_verifies_the_whole_ledger_in_the_background(
    page: Any, check_a11y: Any
) -> None:
    sign_in(page, AUDITOR)
    main_nav(page).get_by_role("link", name="Audit ledger").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit ledger")
    expect(page.get_by_role("table", name="Latest entries")).to_be_visible()
    check_a11y(page)

    page.get_by_role("button", name="Verify the whole chain").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f]{32}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("audit.verify")
    check_a11y(page)

    status = page.locator("#job-status .job-state")
    expect(status).to_have_text("succeeded", timeout=15_000)
    progress = page.get_by_role("progressbar", name="Progress")
    expect(progress).to_be_visible()
    value, maximum = progress.evaluate("p => [p.value, p.max]")
    assert maximum > 0 and value == maximum
    expect(page.locator("#job-status dl.result")).to_contain_text("ok")
    check_a11y(page)


def test_a_researcher_neither_sees_nor_opens_the_admin_pages(
    page: Any, check_a11y: Any
) -> None:
    sign_in(page, RESEARCHER)
    nav = main_nav(page)
    expect(nav.get_by_role("link", name="My account")).to_be_visible()
    expect(nav.get_by_role("link", name="People and roles")).to_have_count(0)
    expect(nav.get_by_role("link", name="Audit ledger")).to_have_count(0)

    response = page.goto("/admin/people")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    expect(page.get_by_role("alert")).to_contain_text("not allowed")
    check_a11y(page)


def test_the_admin_pages_fit_a_narrow_phone_screen_without_scrolling_sideways(
    browser: Any, live_server: Any, check_a11y: Any
) -> None:
    # WCAG 1.4.10 (reflow): 320 CSS pixels wide; wide tables scroll in their own region.
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 320, "height": 640}
    )
    try:
        narrow = context.new_page()
        sign_in(narrow, ADMIN)
        expect(narrow).to_have_url(re.compile(r"/$"))
        for path in ("/", "/account", "/admin/people", "/audit"):
            narrow.goto(path)
            page_width, view_width = narrow.evaluate(
                "[document.documentElement.scrollWidth,"
                " document.documentElement.clientWidth]"
            )
            assert page_width <= view_width, f"{path} scrolls sideways at 320 px"
        region = narrow.get_by_role("region", name="Latest entries")
        region.focus()
        expect(region).to_be_focused()
        check_a11y(narrow)
    finally:
        context.close()


def test_the_api_documentation_renders_swagger_ui(page: Any) -> None:
    response = page.goto("/api/docs")
    assert response.status == 200
    expect(page).to_have_title("datafactory API")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("datafactory")


def test_a_visitor_searches_filters_by_a_facet_and_opens_a_dataset(
    page: Any, check_a11y: Any
) -> None:
    page.goto("/")
    page.get_by_role("searchbox", name="Search the catalogue").fill("population")
    page.get_by_role("main").get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/datasets\?q=population"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Datasets")
    check_a11y(page)

    protected = page.get_by_role("group", name="Open or protected")
    protected.get_by_label(re.compile(r"^Open \(\d+\)$")).check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"open=true"))
    check_a11y(page)

    page.get_by_role("link", name="Population by commune").click()
    expect(page).to_have_url(re.compile(r"/datasets/[a-z0-9]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Population by commune")
    check_a11y(page)


def test_a_researcher_cites_a_dataset_and_reads_the_catalogue_quality(
    page: Any, check_a11y: Any
) -> None:
    page.goto("/datasets?q=population+commune")
    page.get_by_role("link", name="Population by commune").first.click()
    expect(page).to_have_url(re.compile(r"/datasets/[a-z0-9]+$"))
    dataset_id = page.url.rsplit("/", 1)[1]
    quality = page.get_by_role("region", name="Metadata quality")
    expect(quality.get_by_role("table", name="Points per dimension")).to_be_visible()
    check_a11y(page)

    cite = page.get_by_role("region", name="Cite this dataset")
    cite.get_by_text("BibTeX", exact=True).click()
    bibtex = cite.get_by_label("Citation as BibTeX")
    expect(bibtex).to_be_visible()
    copied = bibtex.inner_text()
    assert copied.startswith("@") and f"/id/dataset/{dataset_id}" in copied
    check_a11y(page)

    main_nav(page).get_by_role("link", name="Metadata quality").click()
    expect(page).to_have_url(re.compile(r"/quality$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Metadata quality")
    expect(page.get_by_role("img", name="Average points per dimension")).to_be_visible()
    check_a11y(page)


def test_a_steward_creates_fills_and_publishes_a_dataset(
    page: Any, check_a11y: Any
) -> None:
    sign_in(page, STEWARD)
    main_nav(page).get_by_role("link", name="New dataset").click()
    expect(page).to_have_url(re.compile(r"/datasets/new$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New dataset")
    expect(page.get_by_label("Publisher")).to_have_value(re.compile(r"^\d+$"))
    check_a11y(page)

    title = f"Loyers annoncés {uuid.uuid4().hex[:6]}"
    page.get_by_role("group", name="Title").get_by_label("Français").fill(title)
    page.get_by_role("button", name="Create draft").click()
    expect(page).to_have_url(re.compile(r"/datasets/[a-z0-9]+/edit\?saved=1$"))
    expect(page.get_by_role("status")).to_have_text("Saved.")
    dataset_id = page.url.split("/")[-2]
    check_a11y(page)

    # Too early: the missing description is named beside its fields.
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("does not meet DCAT-AP-LU")
    description = page.get_by_role("group", name="Description")
    expect(description).to_have_accessible_description(
        re.compile("must have a description")
    )
    english = description.get_by_label("English")
    expect(english).to_have_attribute("aria-invalid", "true")
    check_a11y(page)

    english.fill("Asking rents advertised, by commune and quarter.")
    description.get_by_label("Français").fill("Loyers annoncés, par commune.")
    page.get_by_role("group", name="Keywords").get_by_label("Français").fill(
        "logement, loyers"
    )
    page.get_by_role("group", name="Themes").get_by_label("Economy and finance").check()
    page.get_by_label("Access rights").select_option(label="Public")
    page.get_by_label("Update frequency").select_option(label="Annual")
    page.get_by_label("Contact e-mail address").fill("info@statec.lu")
    page.get_by_label("Access URL").fill("https://lustat.statec.lu/rents.csv")
    page.get_by_label("Format").select_option(label="CSV")
    page.get_by_label("Licence").select_option(
        label="Creative Commons Attribution 4.0 International"
    )
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_label("Access URL")).to_have_value(
        "https://lustat.statec.lu/rents.csv"
    )
    check_a11y(page)

    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/datasets/{dataset_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("link", name="Edit")).to_be_visible()
    check_a11y(page)

    page.get_by_role("link", name="STATEC", exact=True).click()
    expect(page).to_have_url(re.compile(r"/publishers/statec$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("STATEC")
    expect(page.get_by_role("link", name=title)).to_have_attribute(
        "href", f"/datasets/{dataset_id}"
    )
    check_a11y(page)
