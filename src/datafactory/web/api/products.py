"""Data products: what was made with the catalogue's datasets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from datafactory.catalogue.products import service
from datafactory.catalogue.products.schemas import (
    ProductCreate,
    ProductPage,
    ProductPublic,
)
from datafactory.identity.actor import Actor
from datafactory.web.deps import SessionDep, allow

router = APIRouter(tags=["products"])
Anyone = Annotated[Actor, Depends(allow("products.view"))]


@router.post("/api/v1/products", status_code=status.HTTP_201_CREATED)
def register_product(
    body: ProductCreate,
    session: SessionDep,
    response: Response,
    actor: Annotated[Actor, Depends(allow("products.create"))],
) -> ProductPublic:
    product = service.register_product(session, actor, product=body)
    response.headers["Location"] = f"/api/v1/products/{product.id}"
    return service.public(session, product)


@router.get("/api/v1/products/{product_id}")
def show_product(product_id: int, session: SessionDep, _actor: Anyone) -> ProductPublic:
    return service.public(session, service.get_product(session, product_id))


@router.get("/api/v1/datasets/{dataset_id}/products")
def dataset_products(
    dataset_id: str, session: SessionDep, actor: Anyone
) -> ProductPage:
    items = service.products_of_dataset(session, actor, dataset_id)
    return ProductPage(
        items=[service.public(session, p) for p in items], total=len(items)
    )
