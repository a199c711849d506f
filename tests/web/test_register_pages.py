"""The public register over HTTP: JSON, CSV and Atom with the right media types, and the
register and KPI pages for anonymous visitors."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.permits.test_register import (
    START,
    Clock,
    Desk,
    app_with_register,
    desk_for,
    named_world,
)

ATOM = "{http://www.w3.org/2005/Atom}"
LISTS = ("applications", "decisions", "permits", "successes")


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def desk(committed, runtime, clock) -> Desk:
    desk = desk_for(committed, runtime, committed(named_world), clock)
    runtime.__dict__["permits"] = desk.config  # what the app reads as runtime.permits
    return desk


@pytest.fixture
def anonymous(runtime, desk) -> Iterator[TestClient]:
    with TestClient(app_with_register(runtime)) as client:
        yield client


@pytest.fixture
def decided(desk, clock) -> Desk:
    """Two decisions (one permit) and one application still open, all public."""
    world = desk.world
    granted = desk.submitted(title="Care & cure <pilot>\x0b")
    refused = desk.submitted(title='=HYPERLINK("http://evil.example")')
    desk.submitted(title="Still open")
    for app_id in (granted, refused):
        desk.start_processing(app_id)
    clock.set(datetime(2026, 11, 10, 9, tzinfo=UTC))
    desk.grant(granted)
    clock.set(datetime(2026, 11, 11, 9, tzinfo=UTC))
    desk.refuse(refused, "-1 point: aggregated data would do.")
    assert world
    return desk


def test_each_list_answers_json_with_items_and_total(anonymous, decided):
    expected = {"applications": 3, "decisions": 2, "permits": 1, "successes": 0}
    for name in LISTS:
        response = anonymous.get(f"/api/v1/register/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["total"] == expected[name]
        assert len(body["items"]) == expected[name]
        assert (body["page"], body["page_size"]) == (1, 50)
    decisions = anonymous.get("/api/v1/register/decisions").json()["items"]
    assert [d["decision"] for d in decisions] == [
        "NEGATIVE",
        "POSITIVE",
    ]  # latest first


def test_each_list_answers_csv_with_a_header_and_one_row_per_item(anonymous, decided):
    for name in LISTS:
        response = anonymous.get(f"/api/v1/register/{name}?format=csv")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert (
            response.headers["content-disposition"]
            == f'attachment; filename="register-{name}.csv"'
        )
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == int(response.headers["x-total-count"])
    response = anonymous.get("/api/v1/register/decisions?format=csv")
    rows = {r["title"]: r for r in csv.DictReader(io.StringIO(response.text))}
    # A cell a spreadsheet would run as a formula is defused with a leading quote.
    refused = rows['\'=HYPERLINK("http://evil.example")']
    assert refused["reasons"] == "'-1 point: aggregated data would do."
    assert refused["decision"] == "NEGATIVE"
    granted = rows["Care & cure <pilot>\x0b"]
    assert granted["permit"] == "PRM-2026-00001"
    assert granted["purpose_codes"] == "ehds-53-1-e"
    assert granted["dataset_titles"] == (
        "Population register extract; Health-insurance claims"
    )


def test_paging_and_bad_parameters(anonymous, decided):
    page = anonymous.get("/api/v1/register/applications?page=2&page_size=2").json()
    assert (page["total"], len(page["items"]), page["page"]) == (3, 1, 2)
    for query in ("page=0", "page_size=0", "page_size=1001", "format=xml"):
        response = anonymous.get(f"/api/v1/register/applications?{query}")
        assert response.status_code == 422, query


def test_the_atom_feed_is_valid_atom_with_an_entry_per_decision_and_permit(
    anonymous, decided
):
    response = anonymous.get("/register/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id") == "http://testserver/register"
    assert feed.findtext(f"{ATOM}title")
    assert feed.findtext(f"{ATOM}updated") == "2026-11-11T09:00:00Z"
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None
    self_link = feed.find(f"{ATOM}link[@rel='self']")
    assert self_link.get("href") == "http://testserver/register/feed.atom"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 3  # two decisions and one permit
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == 3
    for entry in entries:
        for part in ("id", "title", "updated", "summary"):
            assert entry.findtext(f"{ATOM}{part}"), part
        assert (
            entry.find(f"{ATOM}link")
            .get("href")
            .startswith("http://testserver/register?show=")
        )
        datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))
    # Latest first, and the text survives escaping.
    assert entries[0].findtext(f"{ATOM}updated") == "2026-11-11T09:00:00Z"
    titles = " | ".join(e.findtext(f"{ATOM}title") for e in entries)
    assert "Care & cure <pilot>" in titles  # the vertical tab XML cannot hold is gone
    assert b"Care &amp; cure &lt;pilot&gt;" in response.content


def test_an_empty_feed_is_still_valid_atom(anonymous, clock):
    response = anonymous.get("/register/feed.atom")
    feed = ET.fromstring(response.content)
    assert feed.findall(f"{ATOM}entry") == []
    assert feed.findtext(f"{ATOM}updated") == "2026-11-02T09:00:00Z"  # now


def test_the_kpis_answer_json(anonymous, decided):
    response = anonymous.get("/api/v1/kpis")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["received"] == 3
    assert body["authorisation_rate"] == {
        "decided": 2,
        "positive": 1,
        "negative": 1,
        "rate": 0.5,
    }
    assert body["as_of"] == "2026-11-11"


def test_the_register_pages_render_for_anonymous_visitors(anonymous, decided):
    for name in LISTS:
        response = anonymous.get(f"/register?show={name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/html")
        assert "<h1>Public register</h1>" in response.text
        assert f'href="/api/v1/register/{name}?format=csv' in response.text
        assert 'href="/register/feed.atom"' in response.text
    decisions = anonymous.get("/register?show=decisions").text
    assert 'id="decision-DA-2026-' in decisions
    assert "Care &amp; cure &lt;pilot&gt;" in decisions
    assert "-1 point: aggregated data would do." in decisions
    permits = anonymous.get("/register?show=permits").text
    assert 'id="permit-PRM-2026-00001"' in permits
    assert "matricule, birth_year, sex" in permits
    assert anonymous.get("/register").text.count("Still open") == 1
    assert anonymous.get("/register?show=nothing").status_code == 422


def test_the_kpi_page_renders_charts_and_tables(anonymous, decided):
    response = anonymous.get("/register/kpis")
    assert response.status_code == 200
    page = response.text
    assert "<h1>Key performance indicators</h1>" in page
    assert page.count('<svg class="chart" role="img"') >= 5
    assert '<dd id="kpi-rate">50 %</dd>' in page
    assert '<dd id="kpi-received">3</dd>' in page


def test_the_pages_render_with_nothing_in_the_register(anonymous):
    for path in ("/register", "/register?show=successes", "/register/kpis"):
        response = anonymous.get(path)
        assert response.status_code == 200, path
    assert "Nothing is published in this list yet." in anonymous.get("/register").text
