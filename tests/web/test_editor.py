"""The steward's editor pages and the publisher page, through a signed-in browser session."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from datafactory.catalogue.models import Dataset
from datafactory.identity.models import Role
from tests.factories import PASSWORD, organisation, person

EU = "http://publications.europa.eu/resource/authority"


@pytest.fixture
def world(committed):
    def make(session):
        statec = organisation(session, "statec")
        person(session, "steward@statec.lu", roles=((Role.data_steward, statec.id),))
        person(session, "r@uni.lu", roles=((Role.reuser, None),))
        return statec.id

    return committed(make)


def csrf(client, path: str = "/sign-in") -> str:
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client, email: str) -> None:
    response = client.post(
        "/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303


@pytest.fixture
def steward(client, world):
    sign_in(client, "steward@statec.lu")
    return client


def post(client, path: str, **fields):
    data = {"csrf_token": csrf(client, "/sign-in"), **fields}
    return client.post(path, data=data, follow_redirects=False)


def create(client, publisher_id: int, **fields) -> str:
    created = post(client, "/datasets/new", publisher_id=str(publisher_id), **fields)
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    assert re.fullmatch(r"/datasets/[a-z0-9]{12}/edit\?saved=1", location)
    return location.split("/")[2]


def draft_of(db, dataset_id: str) -> dict:
    db.expire_all()
    return db.get(Dataset, dataset_id).draft


def form_of(client, dataset_id: str) -> dict:
    """The editor's current values, as the form would post them again."""
    page = client.get(f"/datasets/{dataset_id}/edit").text
    values = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input id="field-[^"]+" name="(\w+)" type="[a-z]+"[^>]*value="([^"]*)"',
            page,
        )
    }
    values.update(
        {
            name: html.unescape(value)
            for name, value in re.findall(r'name="(\w+)"[^>]*>([^<]*)</textarea>', page)
        }
    )
    return values


def test_a_steward_creates_a_draft_with_only_a_french_title(steward, world, db):
    page = steward.get("/datasets/new")
    assert page.status_code == 200
    assert "<legend>Title</legend>" in page.text
    assert 'lang="lb"' in page.text and "Lëtzebuergesch" in page.text
    assert ">STATEC</option>" in page.text

    dataset_id = create(steward, world, title_fr="Population par commune")
    saved = steward.get(f"/datasets/{dataset_id}/edit?saved=1")
    assert 'role="status"' in saved.text and "Saved." in saved.text
    assert 'value="Population par commune"' in saved.text
    draft = draft_of(db, dataset_id)
    assert draft["title"] == {"fr": "Population par commune"}
    assert draft["distributions"] == [] and draft["description"] == {}
    assert db.get(Dataset, dataset_id).status == "draft"


def test_a_draft_without_a_title_or_publisher_is_shown_again_with_messages(
    steward, world, db
):
    refused = post(steward, "/datasets/new", title_fr="", description_en="Text")
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert 'aria-describedby="error-publisher_id"' in refused.text
    assert 'id="error-title"' in refused.text
    assert "Give a title in at least one language" in refused.text
    assert ">Text</textarea>" in refused.text, "what was typed stays in the form"
    assert db.scalars(select(Dataset)).all() == []


def test_editing_adds_a_description_in_two_languages(steward, world, db):
    dataset_id = create(steward, world, title_fr="Population par commune")
    fields = form_of(steward, dataset_id)
    fields.update(
        description_fr="Résidents au 1er janvier.",
        description_de="Einwohner am 1. Januar.",
        keywords_fr="population, commune",
        themes=f"{EU}/data-theme/SOCI",
    )
    saved = post(steward, f"/datasets/{dataset_id}/edit", **fields)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/datasets/{dataset_id}/edit?saved=1"
    draft = draft_of(db, dataset_id)
    assert draft["description"] == {
        "fr": "Résidents au 1er janvier.",
        "de": "Einwohner am 1. Januar.",
    }
    assert draft["title"] == {"fr": "Population par commune"}
    assert draft["keywords"] == {"fr": ["commune", "population"]}
    assert draft["themes"] == [f"{EU}/data-theme/SOCI"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("access_url", "not a url", "Input should be a valid URL"),
        ("frequency", f"{EU}/frequency/NEVER_HEARD_OF", "Choose one of the listed"),
        ("version_info", "x" * 60, "at most 50 characters"),
    ],
)
def test_an_invalid_value_is_shown_next_to_its_field_and_changes_nothing(
    steward, world, db, field, value, message
):
    dataset_id = create(steward, world, title_fr="Population par commune")
    before = draft_of(db, dataset_id)
    fields = {**form_of(steward, dataset_id), "description_en": "New", field: value}
    refused = post(steward, f"/datasets/{dataset_id}/edit", **fields)
    assert refused.status_code == 422
    described = re.search(
        rf'id="field-{field}"[^>]*aria-invalid="true" aria-describedby="error-{field}"',
        refused.text,
    )
    assert described, f"{field} is not marked invalid"
    error = re.search(
        rf'<p class="field-error" id="error-{field}">([^<]*)</p>', refused.text
    )
    assert error and message in html.unescape(error.group(1))
    alert = re.search(r'role="alert".*?</div>', refused.text, re.S).group(0)
    assert f'href="#group-{field}"' in alert
    assert draft_of(db, dataset_id) == before


def test_publishing_an_incomplete_draft_shows_the_shacl_messages_on_the_form(
    steward, world, db
):
    dataset_id = create(steward, world, title_fr="Population par commune")
    refused = post(steward, f"/datasets/{dataset_id}/publish")
    assert refused.status_code == 422
    assert "does not meet DCAT-AP-LU" in refused.text
    error = re.search(r'id="error-description">([^<]*)<', refused.text)
    assert error and "must have a description" in error.group(1)
    assert 'aria-describedby="error-description"' in refused.text
    assert 'value="Population par commune"' in refused.text
    db.expire_all()
    assert db.get(Dataset, dataset_id).status == "draft"


def test_publishing_a_complete_draft_leads_to_the_dataset_page(steward, world, db):
    dataset_id = create(
        steward,
        world,
        title_fr="Population par commune",
        title_en="Population by commune",
        description_en="Residents on 1 January.",
        access_rights=f"{EU}/access-right/PUBLIC",
        frequency=f"{EU}/frequency/ANNUAL",
        contact_email="info@statec.lu",
        access_url="https://statistiques.public.lu/population.csv",
        format=f"{EU}/file-type/CSV",
        licence=f"{EU}/licence/CC_BY_4_0",
    )
    assert draft_of(db, dataset_id)["distributions"][0]["format"] == (
        f"{EU}/file-type/CSV"
    )
    published = post(steward, f"/datasets/{dataset_id}/publish")
    assert published.status_code == 303, published.text
    assert published.headers["location"] == f"/datasets/{dataset_id}"
    page = steward.get(f"/datasets/{dataset_id}")
    assert "Population by commune" in page.text
    assert f'href="/datasets/{dataset_id}/edit"' in page.text
    assert 'href="/publishers/statec"' in page.text
    # Anyone sees it now, without the Edit link.
    steward.cookies.clear()
    public = steward.get(f"/datasets/{dataset_id}")
    assert public.status_code == 200 and "/edit" not in public.text


def test_a_reuser_may_neither_open_nor_post_the_editor(client, world):
    sign_in(client, "r@uni.lu")
    assert client.get("/datasets/new").status_code == 403
    assert "New dataset" not in client.get("/").text
    refused = post(client, "/datasets/new", publisher_id=str(world), title_fr="X")
    assert refused.status_code == 403


def test_the_publisher_page_lists_published_datasets_and_drafts_for_stewards(
    steward, world
):
    home = steward.get("/")
    assert 'href="/datasets/new"' in home.text
    published = create(
        steward,
        world,
        title_en="Population by commune",
        description_en="Residents.",
    )
    assert post(steward, f"/datasets/{published}/publish").status_code == 303
    draft = create(steward, world, title_en="Unfinished draft")

    page = steward.get("/publishers/statec")
    assert page.status_code == 200
    assert "<h1>STATEC</h1>" in page.text and "Data holder" in page.text
    assert "1 published dataset" in page.text
    assert f'<a href="/datasets/{published}">Population by commune</a>' in page.text
    assert f'<a href="/datasets/{draft}/edit">Unfinished draft</a>' in page.text

    steward.cookies.clear()
    public = steward.get("/publishers/statec")
    assert "Population by commune" in public.text
    assert "Unfinished draft" not in public.text
    assert steward.get("/publishers/nowhere").status_code == 404
