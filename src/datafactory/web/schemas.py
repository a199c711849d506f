"""API shapes for core parts that have no room of their own (the ledger)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from datafactory.core.ledger import LedgerEntry


class LedgerEntryPublic(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def from_entry(cls, entry: LedgerEntry) -> LedgerEntryPublic:
        return cls(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            details=json.loads(entry.details),
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )


class LedgerPage(BaseModel):
    items: list[LedgerEntryPublic]
    next_after: int | None
