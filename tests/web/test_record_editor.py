"""The steward's editor for data services and dataset series, through a signed-in browser
session: drafts with a title only, SHACL messages on their fields, publishing, new versions,
and who may do it."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from datafactory.catalogue import vocabularies
from datafactory.catalogue.models import CatalogueRecord, CatalogueRecordVersion
from datafactory.catalogue.schemas import DRAFTS, RecordKind
from datafactory.identity.models import Role
from datafactory.web.pages.record_editor_form import RecordForm
from tests.factories import organisation, person
from tests.web.test_editor import create as create_dataset
from tests.web.test_editor import csrf, post, sign_in

EU = "http://publications.europa.eu/resource/authority"
HVD_STATISTICS = "http://data.europa.eu/bna/c_e1da4e07"
SERVICE_FIELDS = {
    "title_en": "Population API",
    "title_fr": "API population",
    "description_en": "Query the resident population by commune and year.",
    "endpoint_urls": "https://api.statec.lu/population/v1/",
    "endpoint_descriptions": "https://api.statec.lu/population/v1/openapi.json",
    "access_rights": f"{EU}/access-right/PUBLIC",
    "licence": f"{EU}/licence/CC_BY_4_0",
    "contact_email": "api@statec.lu",
}
SERIES_FIELDS = {
    "title_en": "Population on 1 January",
    "description_en": "One dataset a year: the residents on 1 January.",
    "frequency": f"{EU}/frequency/ANNUAL",
    "spatial": f"{EU}/country/LUX",
    "temporal_start": "2024-01-01",
    "contact_email": "info@statec.lu",
}


@pytest.fixture
def world(committed):
    def make(session):
        statec = organisation(session, "statec")
        cns = organisation(session, "cns")
        person(session, "steward@statec.lu", roles=((Role.data_steward, statec.id),))
        person(session, "steward@cns.lu", roles=((Role.data_steward, cns.id),))
        person(session, "r@uni.lu", roles=((Role.reuser, None),))
        return statec.id

    return committed(make)


@pytest.fixture
def steward(client, world):
    sign_in(client, "steward@statec.lu")
    return client


@pytest.fixture
def published_dataset(steward, world) -> str:
    """A published dataset of STATEC, for a service to serve."""
    dataset_id = create_dataset(
        steward,
        world,
        title_en="Population by commune",
        description_en="Residents on 1 January.",
    )
    assert post(steward, f"/datasets/{dataset_id}/publish").status_code == 303
    return dataset_id


def create(client, path: str, publisher_id: int, **fields) -> str:
    created = post(client, f"/{path}/new", publisher_id=str(publisher_id), **fields)
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    assert re.fullmatch(rf"/{path}/[a-z0-9]{{12}}/edit\?saved=1", location)
    return location.split("/")[2]


def record_of(db, record_id: str) -> CatalogueRecord:
    db.expire_all()
    record = db.get(CatalogueRecord, record_id)
    assert record is not None
    return record


def form_of(client, path: str, record_id: str) -> dict[str, str | list[str]]:
    """The editor's current values, as the form would post them again."""
    page = client.get(f"/{path}/{record_id}/edit").text
    values: dict[str, str | list[str]] = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input id="field-[^"]+" name="(\w+)" type="[a-z]+"[^>]*value="([^"]*)"',
            page,
        )
    }
    for name, value in re.findall(r'name="(\w+)"[^>]*>([^<]*)</textarea>', page):
        values[name] = html.unescape(value)
    for name, value in re.findall(
        r'<input type="checkbox" id="[^"]+" name="(\w+)" value="([^"]*)" checked>', page
    ):
        values.setdefault(name, [])
        values[name].append(html.unescape(value))  # type: ignore[union-attr]
    for name, value in re.findall(
        r'<select id="field-\w+" name="(\w+)".*?<option value="([^"]*)" selected>',
        page,
        re.S,
    ):
        values[name] = html.unescape(value)
    return values


def error_on(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="error-{field}">([^<]*)</p>', page)
    assert found, f"no message on {field}"
    return html.unescape(found.group(1))


def test_a_steward_creates_a_service_draft_with_only_a_title(steward, world, db):
    page = steward.get("/services/new")
    assert page.status_code == 200
    assert "<h1>New data service</h1>" in page.text
    assert "<legend>Title</legend>" in page.text and 'lang="lb"' in page.text
    assert ">STATEC</option>" in page.text
    assert 'for="field-endpoint_urls"' in page.text
    assert 'name="frequency"' not in page.text, "a service has no frequency"

    service_id = create(steward, "services", world, title_fr="API population")
    saved = steward.get(f"/services/{service_id}/edit?saved=1")
    assert "<h1>Edit data service</h1>" in saved.text
    assert 'role="status"' in saved.text and "Saved." in saved.text
    assert 'value="API population"' in saved.text
    record = record_of(db, service_id)
    assert record.kind == "service" and record.status == "draft"
    assert record.draft["title"] == {"fr": "API population"}
    assert record.draft["endpoint_urls"] == []


def test_a_draft_without_a_title_is_shown_again_with_what_was_typed(steward, world, db):
    refused = post(
        steward,
        "/series/new",
        publisher_id=str(world),
        description_de="Jährlich.",
        temporal_start="2024-01-01",
    )
    assert refused.status_code == 422
    assert "Give a title in at least one language" in error_on(refused.text, "title")
    alert = re.search(r'role="alert".*?</div>', refused.text, re.S).group(0)
    assert 'href="#group-title"' in alert
    assert ">Jährlich.</textarea>" in refused.text
    assert 'value="2024-01-01"' in refused.text
    assert db.scalars(select(CatalogueRecord)).all() == []


def test_publishing_a_title_only_service_names_each_missing_field(steward, world, db):
    service_id = create(steward, "services", world, title_en="An API")
    refused = post(steward, f"/services/{service_id}/publish")
    assert refused.status_code == 422
    assert "does not meet DCAT-AP-LU" in refused.text
    assert "endpoint URL" in error_on(refused.text, "endpoint_urls")
    assert re.search(
        r'id="field-endpoint_urls"[^>]*aria-invalid="true" '
        r'aria-describedby="hint-endpoint_urls error-endpoint_urls"',
        refused.text,
    )
    alert = re.search(r'role="alert".*?</div>', refused.text, re.S).group(0)
    assert 'href="#group-endpoint_urls"' in alert
    assert 'value="An API"' in refused.text
    assert record_of(db, service_id).status == "draft"


def test_save_and_publish_writes_the_form_then_publishes_it(
    steward, world, db, published_dataset
):
    service_id = create(steward, "services", world, title_en="An API")
    editor = steward.get(f"/services/{service_id}/edit").text
    assert f'value="{published_dataset}"' in editor
    assert "Population by commune" in editor

    fields = {**SERVICE_FIELDS, "serves_datasets": published_dataset}
    published = post(steward, f"/services/{service_id}/publish", **fields)
    assert published.status_code == 303, published.text
    assert published.headers["location"] == f"/services/{service_id}"
    record = record_of(db, service_id)
    assert record.status == "published" and record.version == 1
    assert record.draft["serves_datasets"] == [published_dataset]
    assert record.draft["endpoint_urls"] == ["https://api.statec.lu/population/v1/"]

    page = steward.get(f"/services/{service_id}")
    assert "<h1>Population API</h1>" in page.text
    assert f'href="/services/{service_id}/edit"' in page.text
    assert f'<a href="/datasets/{published_dataset}">' in page.text
    assert f'href="/services/{service_id}"' in steward.get("/services").text
    # Anyone sees it now, without the Edit link.
    steward.cookies.clear()
    public = steward.get(f"/services/{service_id}")
    assert public.status_code == 200 and "/edit" not in public.text


def test_editing_a_published_service_stays_in_the_working_copy_until_published(
    steward, world, db
):
    service_id = create(steward, "services", world, title_en="An API")
    assert (
        post(steward, f"/services/{service_id}/publish", **SERVICE_FIELDS).status_code
        == 303
    )
    fields = {
        **form_of(steward, "services", service_id),
        "title_en": "Population API 2",
    }
    assert fields["endpoint_urls"] == SERVICE_FIELDS["endpoint_urls"]
    assert fields["licence"] == SERVICE_FIELDS["licence"]
    saved = post(steward, f"/services/{service_id}/edit", **fields)
    assert saved.status_code == 303, saved.text
    editor = steward.get(f"/services/{service_id}/edit").text
    assert "Published, version 1" in editor
    assert "Saved changes stay in the working copy" in editor
    assert "<h1>Population API</h1>" in steward.get(f"/services/{service_id}").text

    assert post(steward, f"/services/{service_id}/publish").status_code == 303
    assert record_of(db, service_id).version == 2
    assert "<h1>Population API 2</h1>" in steward.get(f"/services/{service_id}").text
    versions = db.scalars(
        select(CatalogueRecordVersion.number).where(
            CatalogueRecordVersion.record_id == service_id
        )
    ).all()
    assert sorted(versions) == [1, 2]


def test_a_high_value_service_must_also_meet_the_hvd_rules(steward, world, db):
    service_id = create(steward, "services", world, title_en="An API")
    fields = {**SERVICE_FIELDS, "hvd_categories": HVD_STATISTICS}
    refused = post(steward, f"/services/{service_id}/publish", **fields)
    assert refused.status_code == 422
    assert "page (foaf:page)" in error_on(refused.text, "documentation")
    assert 'role="status"' in refused.text, "the form was saved before publishing"
    assert record_of(db, service_id).draft["hvd_categories"] == [HVD_STATISTICS]
    assert re.search(rf'value="{HVD_STATISTICS}" checked', refused.text)

    fields["documentation"] = "https://api.statec.lu/docs/population"
    published = post(steward, f"/services/{service_id}/publish", **fields)
    assert published.status_code == 303, published.text
    assert "High-value data" in steward.get(f"/services/{service_id}").text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "endpoint_urls",
            "https://api.statec.lu/\nnot a url",
            "Line 2: Input should be",
        ),
        ("licence", f"{EU}/licence/NEVER_HEARD_OF", "Choose one of the listed"),
        ("serves_datasets", "abcdefghjkmn", "Choose one of the listed datasets"),
        ("hvd_categories", "http://data.europa.eu/bna/c_nope", "Choose one of the"),
        ("contact_name", "x" * 201, "at most 200 characters"),
    ],
)
def test_a_wrong_value_is_shown_on_its_field_and_nothing_typed_is_lost(
    steward, world, db, field, value, message
):
    service_id = create(steward, "services", world, title_en="An API")
    before = record_of(db, service_id).draft
    fields = {
        **form_of(steward, "services", service_id),
        "description_de": "Neu eingetippt.",
        "keywords_fr": "population, api",
        field: value,
    }
    for action in ("edit", "publish"):
        refused = post(steward, f"/services/{service_id}/{action}", **fields)
        assert refused.status_code == 422
        assert message in error_on(refused.text, field)
        alert = re.search(r'role="alert".*?</div>', refused.text, re.S).group(0)
        assert f'href="#group-{field}"' in alert
        assert ">Neu eingetippt.</textarea>" in refused.text
        assert 'value="population, api"' in refused.text
        assert record_of(db, service_id).draft == before
        assert record_of(db, service_id).status == "draft"


def test_a_series_is_refused_on_its_description_then_published(steward, world, db):
    series_id = create(steward, "series", world, title_en="Yearly")
    editor = steward.get(f"/series/{series_id}/edit").text
    assert "<h1>Edit dataset series</h1>" in editor
    assert 'name="endpoint_urls"' not in editor
    refused = post(steward, f"/series/{series_id}/publish")
    assert refused.status_code == 422
    assert "description" in error_on(refused.text, "description")
    assert 'aria-describedby="error-description"' in refused.text

    fields = {**form_of(steward, "series", series_id), **SERIES_FIELDS}
    published = post(steward, f"/series/{series_id}/publish", **fields)
    assert published.status_code == 303, published.text
    record = record_of(db, series_id)
    assert record.version == 1
    assert record.draft["spatial"] == [f"{EU}/country/LUX"]
    assert record.draft["temporal_start"] == "2024-01-01"
    assert record.draft["frequency"] == f"{EU}/frequency/ANNUAL"
    listing = steward.get("/series").text
    assert f'<a href="/series/{series_id}">Population on 1 January</a>' in listing
    page = steward.get(f"/series/{series_id}").text
    assert f'href="/series/{series_id}/edit"' in page


def test_the_publisher_page_lists_services_and_series_with_drafts_for_stewards(
    steward, world, db
):
    series_id = create(steward, "series", world, title_en="Yearly")
    fields = {**form_of(steward, "series", series_id), **SERIES_FIELDS}
    assert post(steward, f"/series/{series_id}/publish", **fields).status_code == 303
    draft_id = create(steward, "services", world, title_en="Unfinished API")

    page = steward.get("/publishers/statec").text
    assert f'<a href="/series/{series_id}">Population on 1 January</a>' in page
    assert f'<a href="/services/{draft_id}/edit">Unfinished API</a>' in page
    assert "(data service)" in page and "(dataset series)" in page

    steward.cookies.clear()
    public = steward.get("/publishers/statec").text
    assert f'<a href="/series/{series_id}">Population on 1 January</a>' in public
    assert "Unfinished API" not in public
    assert "Data services and dataset series" in public


def test_a_date_that_is_no_date_stays_in_its_field(steward, world, db):
    series_id = create(steward, "series", world, title_en="Yearly")
    fields = {**form_of(steward, "series", series_id), "temporal_end": "2024-13-45"}
    refused = post(steward, f"/series/{series_id}/edit", **fields)
    assert refused.status_code == 422
    assert "date" in error_on(refused.text, "temporal_end")
    assert 'value="2024-13-45"' in refused.text
    assert record_of(db, series_id).draft.get("temporal_end") is None


def test_saving_keeps_what_the_form_does_not_show(steward, world, db, committed):
    service_id = create(steward, "services", world, title_en="Bee API")
    elsewhere = "https://data.example.eu/dataset/bees"

    def harvested(session):
        record = session.get(CatalogueRecord, service_id)
        record.draft = {
            **record.draft,
            "title": {"en": "Bee API", "el": "API μελισσών"},
            "serves_datasets": [elsewhere],
        }

    committed(harvested)
    fields = form_of(steward, "services", service_id)
    assert fields["serves_datasets"] == [elsewhere], "a link it holds stays ticked"
    fields["description_en"] = "Counts of bees."
    assert post(steward, f"/services/{service_id}/edit", **fields).status_code == 303
    draft = record_of(db, service_id).draft
    assert draft["title"] == {"en": "Bee API", "el": "API μελισσών"}
    assert draft["serves_datasets"] == [elsewhere]
    assert draft["description"] == {"en": "Counts of bees."}


def test_only_the_publishers_stewards_may_use_the_editor(client, world, db):
    sign_in(client, "steward@statec.lu")
    draft_id = create(client, "services", world, title_en="Draft API")
    live_id = create(client, "series", world, **SERIES_FIELDS)
    assert post(client, f"/series/{live_id}/publish").status_code == 303
    publisher = client.get("/publishers/statec").text
    assert 'href="/services/new"' in publisher and 'href="/series/new"' in publisher
    client.post("/sign-out", data={"csrf_token": csrf(client, "/")})

    # A browser not signed in is sent to sign in.
    anonymous = client.get(
        "/services/new", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/sign-in?next=/services/new"
    assert 'href="/series/new"' not in client.get("/publishers/statec").text

    sign_in(client, "r@uni.lu")
    assert client.get("/services/new").status_code == 403
    refused = post(client, "/series/new", publisher_id=str(world), title_en="X")
    assert refused.status_code == 403
    client.post("/sign-out", data={"csrf_token": csrf(client, "/")})

    sign_in(client, "steward@cns.lu")
    assert client.get(f"/series/{live_id}/edit").status_code == 403
    assert client.get(f"/services/{draft_id}/edit").status_code == 404
    refused = post(client, f"/series/{live_id}/edit", title_en="Mine now")
    assert refused.status_code == 403
    assert post(client, f"/series/{live_id}/publish").status_code == 403
    refused = post(client, "/series/new", publisher_id=str(world), title_en="X")
    assert refused.status_code == 403
    assert f"/series/{live_id}/edit" not in client.get(f"/series/{live_id}").text
    assert record_of(db, live_id).draft["title"] == {"en": "Population on 1 January"}
    assert len(db.scalars(select(CatalogueRecord)).all()) == 2


def test_a_form_without_its_csrf_token_changes_nothing(steward, world, db):
    service_id = create(steward, "services", world, title_en="An API")
    for path in ("/services/new", f"/services/{service_id}/edit"):
        for token in ({}, {"csrf_token": "forged"}):
            refused = steward.post(
                path,
                data={"publisher_id": str(world), "title_en": "Forged", **token},
                follow_redirects=False,
            )
            assert refused.status_code == 403
    refused = steward.post(
        f"/services/{service_id}/publish", data={}, follow_redirects=False
    )
    assert refused.status_code == 403
    record = record_of(db, service_id)
    assert record.draft["title"] == {"en": "An API"} and record.status == "draft"
    assert len(db.scalars(select(CatalogueRecord)).all()) == 1


# --- the form holds every field of the draft --------------------------------------------

_words = st.from_regex(r"[A-Za-zéüë][A-Za-zéüë ]{0,12}[A-Za-zéüë]", fullmatch=True)
_codes = st.sampled_from(["lb", "fr", "de", "en", "el", "pt"])
_urls = st.lists(
    st.sampled_from(
        [
            "https://api.statec.lu/v1/",
            "https://api.statec.lu/v1/openapi.json",
            "https://data.public.lu/docs/",
        ]
    ),
    unique=True,
    max_size=3,
)


def _iris(vocabulary: str) -> st.SearchStrategy[str]:
    return st.sampled_from([c.iri for c in vocabularies.load(vocabulary)])


def _some(vocabulary: str) -> st.SearchStrategy[list[str]]:
    return st.lists(_iris(vocabulary), unique=True, max_size=3)


_common = {
    "title": st.dictionaries(_codes, _words, min_size=1, max_size=3),
    "description": st.dictionaries(_codes, _words, max_size=3),
    "keywords": st.dictionaries(
        _codes, st.lists(_words, min_size=1, max_size=3), max_size=3
    ),
    "themes": _some("data-theme"),
    "hvd_categories": _some("hvd-category"),
    "contact_name": st.none() | _words,
    "contact_email": st.none() | st.just("info@statec.lu"),
}
_drafts = {
    RecordKind.service: st.fixed_dictionaries(
        {
            **_common,
            "endpoint_urls": _urls,
            "endpoint_descriptions": _urls,
            "documentation": _urls,
            "serves_datasets": st.lists(
                st.from_regex(r"[a-z2-9]{12}", fullmatch=True)
                | st.just("https://data.example.eu/dataset/bees"),
                unique=True,
                max_size=3,
            ),
            "access_rights": st.none() | _iris("access-right"),
            "licence": st.none() | _iris("licence"),
            "conforms_to": st.lists(
                st.just("https://www.w3.org/TR/vocab-dcat-3/"), max_size=1
            ),
            "landing_page": st.none() | st.just("https://statistiques.public.lu/"),
        }
    ),
    RecordKind.series: st.fixed_dictionaries(
        {
            **_common,
            "frequency": st.none() | _iris("frequency"),
            "spatial": _some("country"),
            "temporal_start": st.none() | st.dates().map(str),
            "temporal_end": st.none() | st.dates().map(str),
        }
    ),
}


@given(data=st.data(), kind=st.sampled_from(RecordKind))
def test_saving_the_form_unchanged_keeps_the_draft_as_it_was(data, kind):
    draft = DRAFTS[kind].model_validate(data.draw(_drafts[kind]))
    form = RecordForm.from_metadata(kind, draft)
    changes = form.changes(draft, datasets=getattr(draft, "serves_datasets", []))
    saved = DRAFTS[kind].model_validate({**draft.model_dump(mode="json"), **changes})
    assert saved == draft
