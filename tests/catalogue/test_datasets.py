"""Publishing datasets: drafts, validation on publish, persistent URIs, versions, tombstones."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS
from sqlalchemy import select

from datafactory.catalogue.rdf import ADMS, CSVW
from datafactory.core.ledger import LedgerEntry
from datafactory.identity.models import Role
from tests.factories import organisation, person_with_token

EU = "http://publications.europa.eu/resource/authority"
COMPLETE = {
    "title": {"fr": "Population par commune", "en": "Population by commune"},
    "description": {
        "fr": "Population résidente au 1er janvier.",
        "en": "Residents on 1 January.",
    },
    "keywords": {"fr": ["population", "commune"], "en": ["population"]},
    "themes": [f"{EU}/data-theme/SOCI"],
    "access_rights": f"{EU}/access-right/PUBLIC",
    "frequency": f"{EU}/frequency/ANNUAL",
    "languages": [f"{EU}/language/FRA"],
    "spatial": [f"{EU}/country/LUX"],
    "contact_email": "info@statec.lu",
    "contact_name": "STATEC",
    "version_info": "2026",
    "distributions": [
        {
            "title": {"en": "CSV file"},
            "access_url": "https://statistiques.public.lu/population.csv",
            "download_url": "https://statistiques.public.lu/population.csv",
            "format": f"{EU}/file-type/CSV",
            "media_type": "https://www.iana.org/assignments/media-types/text/csv",
            "licence": f"{EU}/licence/CC_BY_4_0",
            "byte_size": 12345,
        }
    ],
}
PROTECTED = {
    "title": {
        "en": "Health-insurance claims",
        "fr": "Prestations de l'assurance maladie",
    },
    "description": {"en": "Claims reimbursed by the CNS, one row per claim."},
    "access_rights": f"{EU}/access-right/NON_PUBLIC",
    "data_protection": ["https://w3id.org/dpv#PersonalData"],
    "access_conditions": {"en": "Apply to the data authority (EHDS Art. 67)."},
    "distributions": [{"access_url": "https://data.public.lu/spe/cns-claims"}],
    "variables": [
        {
            "name": "matricule",
            "label": {"en": "National identifier"},
            "type": "string",
            "sensitivity": "direct_identifier",
        },
        {
            "name": "birth_year",
            "label": {"en": "Year of birth"},
            "type": "integer",
            "sensitivity": "quasi_identifier",
        },
        {
            "name": "amount",
            "label": {"en": "Amount"},
            "type": "decimal",
            "unit": "EUR",
            "sensitivity": "other",
        },
    ],
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
            "cns": cns.id,
            "steward": person_with_token(
                session, "steward@statec.lu", roles=((Role.data_steward, statec.id),)
            ),
            "other": person_with_token(
                session, "steward@cns.lu", roles=((Role.data_steward, cns.id),)
            ),
            "reuser": person_with_token(
                session, "r@uni.lu", roles=((Role.reuser, None),)
            ),
        }

    return committed(make)


def create(client, world, metadata=COMPLETE, who="steward", publisher="statec"):
    return client.post(
        "/api/v1/datasets",
        headers=bearer(world[who].token),
        json={"publisher_id": world[publisher], "metadata": metadata},
    )


def test_a_steward_creates_a_draft_that_only_stewards_see(client, world, db):
    created = create(client, world)
    assert created.status_code == 201
    dataset_id = created.json()["id"]
    assert created.json()["status"] == "draft"
    assert client.get(f"/api/v1/datasets/{dataset_id}").status_code == 404
    draft = client.get(
        f"/api/v1/datasets/{dataset_id}?draft=true",
        headers=bearer(world["steward"].token),
    )
    assert draft.status_code == 200
    actions = [e.action for e in db.scalars(select(LedgerEntry))]
    assert "catalogue.dataset.created" in actions


@pytest.mark.parametrize(
    ("who", "publisher", "status"),
    [("other", "statec", 403), ("reuser", "statec", 403)],
    ids=["steward-of-another-holder", "reuser"],
)
def test_only_the_publishers_stewards_may_create(client, world, who, publisher, status):
    assert create(client, world, who=who, publisher=publisher).status_code == status


def test_a_draft_may_be_incomplete_but_publishing_names_what_is_missing(client, world):
    created = create(client, world, metadata={"title": {"en": "Just a title"}})
    dataset_id = created.json()["id"]
    refused = client.post(
        f"/api/v1/datasets/{dataset_id}/publish", headers=bearer(world["steward"].token)
    )
    assert refused.status_code == 422
    body = refused.json()
    assert body["type"].endswith("/invalid-input")
    fields = {e["field"] for e in body["errors"]}
    assert "description" in fields
    assert all("Traceback" not in e["message"] for e in body["errors"])
    assert client.get(f"/api/v1/datasets/{dataset_id}").status_code == 404


def test_a_published_dataset_is_served_at_its_persistent_uri_in_every_format(
    client, world
):
    dataset_id = create(client, world).json()["id"]
    published = client.post(
        f"/api/v1/datasets/{dataset_id}/publish", headers=bearer(world["steward"].token)
    )
    assert published.status_code == 200, published.json()
    assert published.json()["version"] == 1
    uri = URIRef(f"http://127.0.0.1:8000/id/dataset/{dataset_id}")
    for media, rdflib_format in [
        ("text/turtle", "turtle"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
    ]:
        response = client.get(f"/id/dataset/{dataset_id}", headers={"Accept": media})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media)
        graph = Graph().parse(data=response.content, format=rdflib_format)
        assert (uri, DCTERMS.identifier, Literal(str(uri))) in graph
        assert (
            uri,
            DCTERMS.title,
            Literal("Population by commune", lang="en"),
        ) in graph
        assert len(list(graph.objects(uri, DCAT.distribution))) == 1
    html = client.get(
        f"/id/dataset/{dataset_id}",
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert (
        html.status_code == 303
        and html.headers["location"] == f"/datasets/{dataset_id}"
    )
    page = client.get(f"/datasets/{dataset_id}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Population by commune" in page.text


def test_renaming_keeps_the_uri_and_versions_stay_citable(client, world):
    steward = bearer(world["steward"].token)
    dataset_id = create(client, world).json()["id"]
    client.post(f"/api/v1/datasets/{dataset_id}/publish", headers=steward)
    renamed = client.patch(
        f"/api/v1/datasets/{dataset_id}",
        headers=steward,
        json={"title": {"en": "Residents by commune"}},
    )
    assert renamed.status_code == 200 and renamed.json()["id"] == dataset_id
    assert client.get(f"/api/v1/datasets/{dataset_id}").json()["metadata"]["title"] == {
        "fr": "Population par commune",
        "en": "Population by commune",
    }, "the public sees the published version until the next publication"
    client.post(f"/api/v1/datasets/{dataset_id}/publish", headers=steward)
    now = client.get(f"/api/v1/datasets/{dataset_id}").json()
    assert now["version"] == 2 and now["metadata"]["title"] == {
        "en": "Residents by commune"
    }
    first = client.get(f"/api/v1/datasets/{dataset_id}/versions/1").json()
    assert first["title"]["en"] == "Population by commune"
    assert client.get(f"/api/v1/datasets/{dataset_id}/versions/9").status_code == 404


def test_an_invalid_edit_names_the_field_and_changes_nothing(client, world):
    steward = bearer(world["steward"].token)
    dataset_id = create(client, world).json()["id"]
    refused = client.patch(
        f"/api/v1/datasets/{dataset_id}",
        headers=steward,
        json={"title": {"xx": "Wrong language"}, "themes": ["not an iri"]},
    )
    assert refused.status_code == 422
    assert {e["field"].split(".")[0] for e in refused.json()["errors"]} >= {
        "title",
        "themes",
    }
    draft = client.get(
        f"/api/v1/datasets/{dataset_id}?draft=true", headers=steward
    ).json()
    assert draft["metadata"]["title"]["en"] == "Population by commune"


def test_a_deleted_dataset_answers_410_with_its_tombstone(client, world):
    steward = bearer(world["steward"].token)
    dataset_id = create(client, world).json()["id"]
    client.post(f"/api/v1/datasets/{dataset_id}/publish", headers=steward)
    deleted = client.request(
        "DELETE",
        f"/api/v1/datasets/{dataset_id}",
        headers=steward,
        json={"reason": "Replaced by the 2027 series."},
    )
    assert deleted.status_code == 204
    gone = client.get(f"/id/dataset/{dataset_id}", headers={"Accept": "text/turtle"})
    assert gone.status_code == 410
    assert "Replaced by the 2027 series." in gone.json()["detail"]
    assert gone.json()["deleted_at"]


def test_protected_data_exports_its_data_dictionary_as_csvw_columns(client, world):
    steward = bearer(world["other"].token)
    dataset_id = create(
        client, world, metadata=PROTECTED, who="other", publisher="cns"
    ).json()["id"]
    assert (
        client.post(
            f"/api/v1/datasets/{dataset_id}/publish", headers=steward
        ).status_code
        == 200
    )
    turtle = client.get(
        f"/id/dataset/{dataset_id}", headers={"Accept": "text/turtle"}
    ).content
    graph = Graph().parse(data=turtle, format="turtle")
    uri = URIRef(f"http://127.0.0.1:8000/id/dataset/{dataset_id}")
    sample = graph.value(uri, ADMS.sample)
    schema = graph.value(sample, CSVW.tableSchema)
    names = {str(graph.value(c, CSVW.name)) for c in graph.objects(schema, CSVW.column)}
    assert names == {"matricule", "birth_year", "amount"}
    page = client.get(f"/datasets/{dataset_id}", headers={"Accept": "text/html"})
    assert "direct identifier" in page.text


def test_the_catalogue_export_pages_with_hydra(client, world):
    steward = bearer(world["steward"].token)
    for year in ("2024", "2025", "2026"):
        metadata = {**COMPLETE, "title": {"en": f"Population {year}"}}
        dataset_id = create(client, world, metadata=metadata).json()["id"]
        client.post(f"/api/v1/datasets/{dataset_id}/publish", headers=steward)
    first = client.get("/catalogue.ttl?page=1&page_size=2")
    assert first.status_code == 200 and first.headers["content-type"].startswith(
        "text/turtle"
    )
    graph = Graph().parse(data=first.content, format="turtle")
    hydra = "http://www.w3.org/ns/hydra/core#"
    assert len(list(graph.subjects(None, DCAT.Dataset))) == 2
    total = next(graph.objects(None, URIRef(hydra + "totalItems")))
    assert int(total) == 3
    assert any(graph.objects(None, URIRef(hydra + "next")))
    last = Graph().parse(data=client.get("/catalogue.ttl?page=2&page_size=2").content)
    assert not any(last.objects(None, URIRef(hydra + "next")))
    for extension in ("jsonld", "rdf", "nt"):
        assert client.get(f"/catalogue.{extension}").status_code == 200
    assert client.get("/catalogue.ttl?page_size=1001").status_code == 422
    assert client.get("/catalogue.csv").status_code == 404
