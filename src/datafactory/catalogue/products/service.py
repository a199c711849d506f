"""Register data products and find the products made with a dataset."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.catalogue import service
from datafactory.catalogue.citation import CitationError, bare_doi
from datafactory.catalogue.products import policy as _rules  # noqa: F401  (rules)
from datafactory.catalogue.products.events import DataProductRegistered
from datafactory.catalogue.products.models import DataProduct, DataProductDataset
from datafactory.catalogue.products.schemas import (
    ProductCreate,
    ProductPublic,
    ProductType,
)
from datafactory.core import ledger
from datafactory.core.errors import FieldError, InvalidInput, NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor

_SEPARATOR = "; "


def _doi(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    try:
        return bare_doi(value)
    except CitationError as exc:
        raise InvalidInput(
            "The DOI is not valid.",
            errors=[FieldError("doi", "Give a DOI such as 10.1234/abc.")],
        ) from exc


def register_product(
    session: Session, actor: Actor, *, product: ProductCreate
) -> DataProduct:
    """Record a product made with published datasets, and ledger it."""
    policy.ensure(actor, "products.create")
    dataset_ids = sorted(set(product.dataset_ids))
    for dataset_id in dataset_ids:
        dataset = service.get_dataset(session, actor, dataset_id)
        if dataset.version == 0:
            raise InvalidInput(
                "Products link to published datasets only.",
                errors=[FieldError("dataset_ids", f"{dataset_id} is not published.")],
            )
    created = DataProduct(
        type=product.type.value,
        title=product.title.strip(),
        authors=_SEPARATOR.join(a.strip() for a in product.authors if a.strip()),
        link=str(product.link) if product.link else None,
        doi=_doi(product.doi),
        created_by=actor.ref,
    )
    session.add(created)
    session.flush()
    session.add_all(
        DataProductDataset(product_id=created.id, dataset_id=d) for d in dataset_ids
    )
    session.flush()
    ledger.record(
        session,
        actor.ref,
        DataProductRegistered(created.id, created.type, tuple(dataset_ids)),
    )
    return created


def datasets_of(session: Session, product_id: int) -> list[str]:
    return list(
        session.scalars(
            select(DataProductDataset.dataset_id)
            .where(DataProductDataset.product_id == product_id)
            .order_by(DataProductDataset.dataset_id)
        )
    )


def public(session: Session, product: DataProduct) -> ProductPublic:
    return ProductPublic(
        id=product.id,
        type=ProductType(product.type),
        title=product.title,
        authors=[a for a in product.authors.split(_SEPARATOR) if a],
        link=product.link,
        doi=product.doi,
        dataset_ids=datasets_of(session, product.id),
        created_by=product.created_by,
        created_at=product.created_at,
    )


def get_product(session: Session, product_id: int) -> DataProduct:
    product = session.get(DataProduct, product_id)
    if product is None:
        raise NotFound(f"There is no data product {product_id}.")
    return product


def products_of_dataset(
    session: Session, actor: Actor, dataset_id: str
) -> list[DataProduct]:
    """The products made with a dataset, newest first."""
    service.get_dataset(session, actor, dataset_id)
    return list(
        session.scalars(
            select(DataProduct)
            .join(DataProductDataset, DataProductDataset.product_id == DataProduct.id)
            .where(DataProductDataset.dataset_id == dataset_id)
            .order_by(DataProduct.created_at.desc(), DataProduct.id.desc())
        )
    )
