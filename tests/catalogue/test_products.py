"""Data products: registered by stewards, reusers and admins, shown as "Used in"."""

from __future__ import annotations

from sqlalchemy import select

from datafactory.core.ledger import LedgerEntry
from tests.catalogue.quality_world import bearer, publish, world

__all__ = ["world"]


def register(client, world, who="reuser", **fields):
    body = {
        "type": "publication",
        "title": "Commuting in the Greater Region",
        "authors": ["Muller, Anne", "LISER"],
        "link": "https://example.org/paper",
        "doi": "https://doi.org/10.1234/commute.2026",
        **fields,
    }
    return client.post("/api/v1/products", headers=bearer(world[who].token), json=body)


def test_a_reuser_registers_a_product_that_is_ledgered(client, world, db):
    dataset_id = publish(client, world)
    created = register(client, world, dataset_ids=[dataset_id])
    assert created.status_code == 201, created.json()
    product = created.json()
    assert created.headers["location"] == f"/api/v1/products/{product['id']}"
    assert product["doi"] == "10.1234/commute.2026"
    assert product["authors"] == ["Muller, Anne", "LISER"]
    assert product["dataset_ids"] == [dataset_id]
    assert client.get(f"/api/v1/products/{product['id']}").json() == product
    entry = db.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "catalogue.product.registered")
    ).one()
    assert entry.subject == f"product:{product['id']}"


def test_products_are_listed_for_their_dataset_and_on_its_page(client, world):
    dataset_id = publish(client, world)
    assert client.get(f"/api/v1/datasets/{dataset_id}/products").json() == {
        "items": [],
        "total": 0,
    }
    assert "Used in" in client.get(f"/datasets/{dataset_id}").text
    register(client, world, dataset_ids=[dataset_id])
    register(
        client,
        world,
        who="steward",
        type="code",
        title="commute-model",
        doi=None,
        dataset_ids=[dataset_id],
    )
    listed = client.get(f"/api/v1/datasets/{dataset_id}/products").json()
    assert listed["total"] == 2
    assert {p["type"] for p in listed["items"]} == {"publication", "code"}
    page = client.get(f"/datasets/{dataset_id}").text
    assert (
        '<a href="https://example.org/paper">Commuting in the Greater Region</a>'
        in page
    )
    assert "commute-model" in page and "doi:10.1234/commute.2026" in page


def test_only_signed_in_stewards_reusers_and_admins_may_register(client, world):
    dataset_id = publish(client, world)
    assert (
        register(client, world, who="citizen", dataset_ids=[dataset_id]).status_code
        == 403
    )
    anonymous = client.post("/api/v1/products", json={})
    assert anonymous.status_code == 401


def test_products_link_to_published_datasets_with_valid_dois(client, world):
    draft = client.post(
        "/api/v1/datasets",
        headers=bearer(world["steward"].token),
        json={"publisher_id": world["statec"], "metadata": {"title": {"en": "Draft"}}},
    ).json()["id"]
    assert (
        register(client, world, who="steward", dataset_ids=[draft]).status_code == 422
    )
    assert register(client, world, dataset_ids=["nope"]).status_code == 404
    published = publish(client, world)
    bad = register(client, world, doi="not a doi", dataset_ids=[published])
    assert bad.status_code == 422
    assert register(client, world, dataset_ids=[]).status_code == 422
    assert client.get("/api/v1/products/999").status_code == 404
