"""Ledger events of data products."""

from __future__ import annotations

from dataclasses import dataclass

from datafactory.core.ledger import LedgerEvent


@dataclass(frozen=True)
class DataProductRegistered(LedgerEvent):
    """Someone registered a data product (``kind``: publication, result, code or other)
    made with the datasets ``dataset_ids``."""

    action = "catalogue.product.registered"
    product_id: int
    kind: str
    dataset_ids: tuple[str, ...]

    def subject(self) -> str:
        return f"product:{self.product_id}"
