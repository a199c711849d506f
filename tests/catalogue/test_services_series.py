"""Data services and dataset series: drafts, validation on publish, URIs, links, export."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF
from sqlalchemy import select

from datafactory.catalogue.rdf import DATASET_SERIES, IN_SERIES
from datafactory.catalogue.validation import Profile, validate
from datafactory.core.ledger import LedgerEntry
from datafactory.identity.models import Role
from tests.catalogue.test_datasets import COMPLETE
from tests.factories import organisation, person_with_token

EU = "http://publications.europa.eu/resource/authority"
BASE = "http://127.0.0.1:8000"
HVD_LEGISLATION = URIRef("http://data.europa.eu/eli/reg_impl/2023/138/oj")
SERVICE = {
    "title": {"en": "Population API", "fr": "API population"},
    "description": {"en": "Query the resident population by commune and year."},
    "endpoint_urls": ["https://api.statec.lu/population/v1/"],
    "endpoint_descriptions": ["https://api.statec.lu/population/v1/openapi.json"],
    "documentation": ["https://api.statec.lu/docs/population"],
    "access_rights": f"{EU}/access-right/PUBLIC",
    "licence": f"{EU}/licence/CC_BY_4_0",
    "contact_email": "api@statec.lu",
    "contact_name": "STATEC",
}
SERIES = {
    "title": {"en": "Population on 1 January", "fr": "Population au 1er janvier"},
    "description": {"en": "One dataset a year: the residents on 1 January."},
    "frequency": f"{EU}/frequency/ANNUAL",
    "spatial": [f"{EU}/country/LUX"],
    "contact_email": "info@statec.lu",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(committed):
    def make(session):
        statec = organisation(session, "statec")
        cns = organisation(session, "cns")
        return {
            "statec": statec.id,
            "steward": person_with_token(
                session, "steward@statec.lu", roles=((Role.data_steward, statec.id),)
            ),
            "other": person_with_token(
                session, "steward@cns.lu", roles=((Role.data_steward, cns.id),)
            ),
        }

    return committed(make)


def make(client, world, path, metadata, *, publish=True, who="steward"):
    created = client.post(
        f"/api/v1/{path}",
        headers=bearer(world[who].token),
        json={"publisher_id": world["statec"], "metadata": metadata},
    )
    assert created.status_code == 201, created.json()
    record_id = created.json()["id"]
    if publish:
        done = client.post(
            f"/api/v1/{path}/{record_id}/publish",
            headers=bearer(world["steward"].token),
        )
        assert done.status_code == 200, done.json()
    return record_id


def test_a_service_draft_is_private_and_publishing_names_what_is_missing(
    client, world, db
):
    service_id = make(
        client, world, "services", {"title": {"en": "An API"}}, publish=False
    )
    assert client.get(f"/api/v1/services/{service_id}").status_code == 404
    refused = client.post(
        f"/api/v1/services/{service_id}/publish",
        headers=bearer(world["steward"].token),
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    errors = {e["field"]: e["message"] for e in refused.json()["errors"]}
    assert "endpointURL" in errors, errors
    assert "Data service" in errors["endpointURL"]
    fixed = client.patch(
        f"/api/v1/services/{service_id}",
        headers=bearer(world["steward"].token),
        json={"endpoint_urls": ["https://api.example.lu/"]},
    )
    assert fixed.status_code == 200
    published = client.post(
        f"/api/v1/services/{service_id}/publish",
        headers=bearer(world["steward"].token),
    )
    assert published.status_code == 200, published.json()
    assert published.json()["version"] == 1
    actions = [e.action for e in db.scalars(select(LedgerEntry))]
    assert "catalogue.record.published" in actions


def test_a_series_without_description_is_refused_on_that_field(client, world):
    series_id = make(
        client, world, "series", {"title": {"en": "Yearly"}}, publish=False
    )
    refused = client.post(
        f"/api/v1/series/{series_id}/publish", headers=bearer(world["steward"].token)
    )
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json()["errors"]}
    assert fields == {"description"}


def test_only_the_publishers_stewards_may_create_or_edit(client, world):
    refused = client.post(
        "/api/v1/series",
        headers=bearer(world["other"].token),
        json={"publisher_id": world["statec"], "metadata": SERIES},
    )
    assert refused.status_code == 403
    series_id = make(client, world, "series", SERIES)
    edit = client.patch(
        f"/api/v1/series/{series_id}",
        headers=bearer(world["other"].token),
        json={"title": {"en": "Mine now"}},
    )
    assert edit.status_code == 403
    anonymous = client.post("/api/v1/services", json={})
    assert anonymous.status_code == 401


def test_an_invalid_draft_field_is_a_problem_on_that_field(client, world):
    response = client.post(
        "/api/v1/services",
        headers=bearer(world["steward"].token),
        json={
            "publisher_id": world["statec"],
            "metadata": {"title": {"en": "x"}, "serves_datasets": ["not a ref"]},
        },
    )
    assert response.status_code == 422
    assert any("serves_datasets" in e["field"] for e in response.json()["errors"])


@pytest.mark.parametrize(
    ("media", "rdflib_format"),
    [
        ("text/turtle", "turtle"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
    ],
)
def test_services_and_series_have_content_negotiated_uris(
    client, world, media, rdflib_format
):
    service_id = make(client, world, "services", SERVICE)
    series_id = make(client, world, "series", SERIES)
    for path, cls in (
        (f"service/{service_id}", DCAT.DataService),
        (f"series/{series_id}", DATASET_SERIES),
    ):
        response = client.get(f"/id/{path}", headers={"Accept": media})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
        graph = Graph().parse(data=response.content, format=rdflib_format)
        uri = URIRef(f"{BASE}/id/{path}")
        assert (uri, RDF.type, cls) in graph
        assert (uri, DCTERMS.identifier, Literal(str(uri))) in graph
        html = client.get(
            f"/id/{path}", headers={"Accept": "text/html"}, follow_redirects=False
        )
        assert html.status_code == 303
        page = "services" if cls == DCAT.DataService else "series"
        assert html.headers["location"] == f"/{page}/{path.split('/')[1]}"


def test_a_withdrawn_service_answers_410_with_its_reason(client, world):
    service_id = make(client, world, "services", SERVICE)
    gone = client.request(
        "DELETE",
        f"/api/v1/services/{service_id}",
        headers=bearer(world["steward"].token),
        json={"reason": "Replaced by version 2 of the API"},
    )
    assert gone.status_code == 204
    for address in (f"/api/v1/services/{service_id}", f"/id/service/{service_id}"):
        response = client.get(address, headers={"Accept": "text/turtle"})
        assert response.status_code == 410
        assert "Replaced by version 2" in response.json()["detail"]
    # A series id is not a service id: the kinds keep to their own paths.
    assert client.get(f"/id/series/{service_id}").status_code == 404


def test_links_between_datasets_series_and_services(client, world):
    series_id = make(client, world, "series", SERIES)
    service_id = make(client, world, "services", SERVICE)
    member = dict(COMPLETE, in_series=[series_id])
    member["distributions"] = [
        dict(COMPLETE["distributions"][0], access_services=[service_id])
    ]
    dataset_id = client.post(
        "/api/v1/datasets",
        headers=bearer(world["steward"].token),
        json={"publisher_id": world["statec"], "metadata": member},
    ).json()["id"]
    published = client.post(
        f"/api/v1/datasets/{dataset_id}/publish",
        headers=bearer(world["steward"].token),
    )
    assert published.status_code == 200, published.json()
    served = client.patch(
        f"/api/v1/services/{service_id}",
        headers=bearer(world["steward"].token),
        json={"serves_datasets": [dataset_id]},
    )
    assert served.status_code == 200
    assert (
        client.post(
            f"/api/v1/services/{service_id}/publish",
            headers=bearer(world["steward"].token),
        ).status_code
        == 200
    )
    series = client.get(f"/api/v1/series/{series_id}").json()
    assert series["members"] == [dataset_id]
    dataset = URIRef(f"{BASE}/id/dataset/{dataset_id}")
    graph = Graph().parse(
        data=client.get(
            f"/id/dataset/{dataset_id}", headers={"Accept": "text/turtle"}
        ).content,
        format="turtle",
    )
    assert (dataset, IN_SERIES, URIRef(f"{BASE}/id/series/{series_id}")) in graph
    distribution = graph.value(dataset, DCAT.distribution)
    assert graph.value(distribution, DCAT.accessService) == URIRef(
        f"{BASE}/id/service/{service_id}"
    )
    service = Graph().parse(
        data=client.get(
            f"/id/service/{service_id}", headers={"Accept": "text/turtle"}
        ).content,
        format="turtle",
    )
    assert (
        URIRef(f"{BASE}/id/service/{service_id}"),
        DCAT.servesDataset,
        dataset,
    ) in service
    # Withdrawing the member takes it out of the series.
    client.request(
        "DELETE",
        f"/api/v1/datasets/{dataset_id}",
        headers=bearer(world["steward"].token),
        json={"reason": "wrong year"},
    )
    assert client.get(f"/api/v1/series/{series_id}").json()["members"] == []


def test_an_hvd_service_must_meet_the_hvd_shapes(client, world):
    hvd = dict(
        SERVICE,
        hvd_categories=["http://data.europa.eu/bna/c_e1da4e07"],
        documentation=[],
    )
    service_id = make(client, world, "services", hvd, publish=False)
    refused = client.post(
        f"/api/v1/services/{service_id}/publish",
        headers=bearer(world["steward"].token),
    )
    assert refused.status_code == 422
    assert "page" in {e["field"] for e in refused.json()["errors"]}
    client.patch(
        f"/api/v1/services/{service_id}",
        headers=bearer(world["steward"].token),
        json={"documentation": ["https://api.statec.lu/docs"]},
    )
    done = client.post(
        f"/api/v1/services/{service_id}/publish",
        headers=bearer(world["steward"].token),
    )
    assert done.status_code == 200, done.json()
    graph = Graph().parse(
        data=client.get(
            f"/id/service/{service_id}", headers={"Accept": "text/turtle"}
        ).content,
        format="turtle",
    )
    subject = URIRef(f"{BASE}/id/service/{service_id}")
    assert (
        subject,
        URIRef("http://data.europa.eu/r5r/applicableLegislation"),
        HVD_LEGISLATION,
    ) in graph


@pytest.mark.parametrize(
    ("profile", "shapes"),
    [
        ("dcat-ap-3.0.1", [Profile.dcat_ap_3, Profile.dcat_ap_lu]),
        ("dcat-ap-2.1.1", [Profile.dcat_ap_2]),
    ],
)
def test_the_export_lists_services_and_series_and_validates(
    client, world, profile, shapes
):
    series_id = make(client, world, "series", SERIES)
    service_id = make(client, world, "services", SERVICE)
    member = dict(COMPLETE, in_series=[series_id])
    dataset_id = client.post(
        "/api/v1/datasets",
        headers=bearer(world["steward"].token),
        json={"publisher_id": world["statec"], "metadata": member},
    ).json()["id"]
    client.post(
        f"/api/v1/datasets/{dataset_id}/publish",
        headers=bearer(world["steward"].token),
    )
    response = client.get(f"/catalogue.ttl?profile={profile}")
    assert response.status_code == 200
    graph = Graph().parse(data=response.content, format="turtle")
    catalogue = URIRef(f"{BASE}/id/catalogue")
    series = URIRef(f"{BASE}/id/series/{series_id}")
    dataset = URIRef(f"{BASE}/id/dataset/{dataset_id}")
    assert (catalogue, DCAT.service, URIRef(f"{BASE}/id/service/{service_id}")) in graph
    assert (catalogue, DCAT.dataset, series) in graph
    if profile == "dcat-ap-3.0.1":
        assert (series, RDF.type, DATASET_SERIES) in graph
        assert (dataset, IN_SERIES, series) in graph
    else:
        assert (series, RDF.type, DCAT.Dataset) in graph
        assert (dataset, DCTERMS.isPartOf, series) in graph
        assert not list(graph.subjects(RDF.type, DATASET_SERIES))
    report = validate(graph, shapes)
    assert report.violations == []


def test_the_models_match_their_migration(runtime):
    from tests.support.schema import differences

    tables = {"catalogue_records", "catalogue_record_versions", "series_memberships"}
    assert differences(runtime.engine, tables) == []


def test_the_pages_show_the_links_both_ways(client, world):
    series_id = make(client, world, "series", SERIES)
    service_id = make(client, world, "services", SERVICE)
    member = dict(COMPLETE, in_series=[series_id])
    member["distributions"] = [
        dict(COMPLETE["distributions"][0], access_services=[service_id])
    ]
    dataset_id = client.post(
        "/api/v1/datasets",
        headers=bearer(world["steward"].token),
        json={"publisher_id": world["statec"], "metadata": member},
    ).json()["id"]
    client.post(
        f"/api/v1/datasets/{dataset_id}/publish",
        headers=bearer(world["steward"].token),
    )
    dataset_page = client.get(f"/datasets/{dataset_id}").text
    assert "Part of series" in dataset_page and "Served by" in dataset_page
    assert f'href="/series/{series_id}"' in dataset_page
    assert f'href="/services/{service_id}"' in dataset_page
    series_page = client.get(f"/series/{series_id}")
    assert series_page.status_code == 200
    assert "Population on 1 January" in series_page.text
    assert f'href="/datasets/{dataset_id}"' in series_page.text
    service_page = client.get(f"/services/{service_id}")
    assert "https://api.statec.lu/population/v1/" in service_page.text
    assert "No published dataset is linked yet." in service_page.text
    listing = client.get("/services").text
    assert f'href="/services/{service_id}"' in listing
    assert f'href="/series/{series_id}"' in client.get("/series").text
    french = client.get(f"/series/{series_id}", headers={"Accept-Language": "fr"})
    assert "Population au 1er janvier" in french.text


ids = st.text(alphabet="abcdefghijkmnpqrstuvwxyz23456789", min_size=12, max_size=12)
iris = st.from_regex(r"https://[a-z]{1,10}\.example/[a-z0-9]{1,10}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    refs=st.lists(st.one_of(ids, iris), max_size=6),
    harvested=st.dictionaries(iris, ids, max_size=3),
)
def test_every_link_points_at_our_uri_or_stays_as_given(refs, harvested):
    """An id is ours; a harvested IRI becomes our URI; any other IRI stays as it is."""
    from datetime import UTC, datetime

    from datafactory.catalogue import rdf
    from datafactory.catalogue.schemas import DataServiceDraft

    links = {iri: f"{BASE}/id/dataset/{local}" for iri, local in harvested.items()}
    now = datetime(2026, 1, 1, tzinfo=UTC)
    facts = rdf.DatasetFacts(
        "abcdefghijkm", BASE, rdf.Publisher("statec", "STATEC"), now, now, 1, links
    )
    meta = DataServiceDraft.model_validate(
        {"title": {"en": "API"}, "serves_datasets": [*refs, *harvested]}
    )
    graph = rdf.new_graph()
    subject = rdf.add_service(graph, facts, meta)
    served = {str(o) for o in graph.objects(subject, DCAT.servesDataset)}
    expected = {
        links.get(r, r) if "://" in r else f"{BASE}/id/dataset/{r}"
        for r in [*refs, *harvested]
    }
    assert served == expected
    assert all(
        s.startswith(f"{BASE}/id/dataset/") for s in served if s in links.values()
    )


def test_services_and_series_are_found_by_the_start_of_their_words(client, world):
    """Any language, accents and case aside; every word must match; drafts and withdrawn
    records are never found."""
    population = make(client, world, "services", SERVICE)
    transport = make(
        client,
        world,
        "services",
        dict(
            SERVICE,
            title={"fr": "Horaires des bus", "de": "Busfahrpläne"},
            description={"fr": "Départs en temps réel, arrêt par arrêt."},
            keywords={"fr": ["mobilité"]},
        ),
    )
    make(
        client,
        world,
        "services",
        dict(SERVICE, title={"en": "Draft API"}),
        publish=False,
    )
    series_id = make(client, world, "series", SERIES)

    def found(path, q):
        response = client.get(f"/api/v1/{path}", params={"q": q})
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["total"] == len(body["items"])
        return {item["id"] for item in body["items"]}

    assert found("services", "") == {population, transport}
    assert found("services", "POPUL") == {population}  # the start of a word, any case
    assert found("services", "depart reel") == {transport}  # accents aside, all words
    assert found("services", "MOBILITE") == {transport}  # a keyword
    assert found("services", "busfahr") == {transport}  # another language
    assert found("services", "opul") == set()  # not the middle of a word
    assert found("services", "population bus") == set()
    assert found("services", "draft") == set()
    assert found("services", "_opul") == set()  # LIKE wildcards are only characters
    assert found("services", "%lation") == set()
    assert found("series", "janvier") == {series_id}
    client.request(
        "DELETE",
        f"/api/v1/services/{transport}",
        headers=bearer(world["steward"].token),
        json={"reason": "Replaced by the national mobility API."},
    )
    assert found("services", "bus") == set()


def test_the_lists_of_services_are_paged(client, world):
    made = {
        make(client, world, "services", dict(SERVICE, title={"en": f"API {n}"}))
        for n in range(5)
    }
    seen, page = [], 1
    while True:
        body = client.get(
            "/api/v1/services", params={"page": page, "page_size": 2}
        ).json()
        assert body["total"] == 5
        if not body["items"]:
            break
        seen += [item["id"] for item in body["items"]]
        page += 1
    assert page == 4 and sorted(seen) == sorted(made)
    refused = client.get("/api/v1/services", params={"page_size": 1001})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_the_export_pages_services_and_series_after_the_datasets(client, world):
    """Hydra counts every member, and a page holds page_size of them, whichever kind."""
    dataset_id = client.post(
        "/api/v1/datasets",
        headers=bearer(world["steward"].token),
        json={"publisher_id": world["statec"], "metadata": COMPLETE},
    ).json()["id"]
    client.post(
        f"/api/v1/datasets/{dataset_id}/publish", headers=bearer(world["steward"].token)
    )
    services = [make(client, world, "services", SERVICE) for _ in range(2)]
    series_id = make(client, world, "series", SERIES)
    catalogue = URIRef(f"{BASE}/id/catalogue")
    members = []
    for page in (1, 2, 3):
        graph = Graph().parse(
            data=client.get(f"/catalogue.ttl?page={page}&page_size=2").content,
            format="turtle",
        )
        total = next(
            graph.objects(None, URIRef("http://www.w3.org/ns/hydra/core#totalItems"))
        )
        assert int(total) == 4
        members.append(
            {str(o).rsplit("/", 1)[-1] for o in graph.objects(catalogue, DCAT.dataset)}
            | {
                str(o).rsplit("/", 1)[-1]
                for o in graph.objects(catalogue, DCAT.service)
            }
        )
    assert dataset_id in members[0]  # the datasets first
    assert set().union(*members) == {dataset_id, *services, series_id}
    assert sum(len(m) for m in members) == 4 and members[2] == set()


def test_the_pages_search_services_and_point_from_a_dataset_search(client, world):
    service_id = make(client, world, "services", SERVICE)
    make(client, world, "series", SERIES)
    listing = client.get("/services", params={"q": "population"})
    assert listing.status_code == 200
    assert f'href="/services/{service_id}"' in listing.text
    assert 'value="population"' in listing.text  # the words stay in the form
    nothing = client.get("/services", params={"q": "tramway"}).text
    assert "Nothing matches these words." in nothing
    assert f'href="/services/{service_id}"' not in nothing
    found = client.get("/datasets", params={"q": "population"}).text
    assert 'id="also-matching"' in found
    assert 'href="/services?q=population"' in found and "1 data service" in found
    assert 'href="/series?q=population"' in found and "1 dataset series" in found
    assert 'id="also-matching"' not in client.get("/datasets").text
    other = make(client, world, "services", dict(SERVICE, title={"en": "Bus API"}))
    first = client.get("/services", params={"page_size": 1}).text
    assert "1 / 2" in first
    assert 'href="/services?q=&amp;page=2&amp;page_size=1"' in first
    second = client.get("/services", params={"page_size": 1, "page": 2}).text
    shown = {i for i in (service_id, other) if f'href="/services/{i}"' in second}
    assert len(shown) == 1 and f'href="/services/{shown.pop()}"' not in first
    bad = client.get("/services", params={"page": "0"})
    assert bad.status_code == 422 and "Traceback" not in bad.text
    french = client.get(
        "/datasets", params={"q": "population"}, headers={"Accept-Language": "fr"}
    ).text
    assert "2 services de données" in french  # the Bus API says "population" too
