"""The hash-chained audit ledger.

Every room records what it did through :func:`record`, on the same session as the change, so
the entry and the change commit together or not at all. Each entry holds the hash of the one
before it; editing, deleting or reordering any entry breaks the chain from that point, and
:func:`verify` names the first entry that no longer fits. Truncating the tail leaves a valid
but shorter chain; a head signed with the platform key (:func:`sign_head`) and kept elsewhere
reveals that too (:func:`check_head`).

On PostgreSQL and SQLite the migration installs triggers that refuse UPDATE and DELETE on the
table, so even a bug in our own code cannot rewrite history.
"""

from __future__ import annotations

import base64
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, ClassVar, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import String, Text, func, inspect, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from datafactory.core.db import Base, UTCDateTime, utcnow
from datafactory.core.keys import key_id, public_key_b64

GENESIS_HASH = "0" * 64
# Any fixed 64-bit number will do; it names the lock that serialises appends on PostgreSQL.
_PG_LEDGER_LOCK = 7_340_177_201


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str] = mapped_column(String(300), index=True)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: str,
    prev_hash: str,
) -> str:
    material = canonical_json(
        {
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "subject": subject,
            "details": json.loads(details),
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(material.encode()).hexdigest()


def hash_of(entry: LedgerEntry) -> str:
    return entry_hash(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        details=entry.details,
        prev_hash=entry.prev_hash,
    )


def _head(session: Session) -> LedgerEntry | None:
    return session.scalars(
        select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(1)
    ).first()


# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerEvent(ABC):
    """Base of every ledgered event. Subclasses are frozen dataclasses with a docstring
    saying what happened and what each field means; ``docs/ledger-events.md`` is built
    from them."""

    action: ClassVar[str]
    registry: ClassVar[dict[str, type[LedgerEvent]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "action" in cls.__dict__:
            LedgerEvent.registry[cls.action] = cls

    @abstractmethod
    def subject(self) -> str:
        """What the event is about, as ``kind:id``."""

    def details(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple):
        return sorted(value) if not isinstance(value, tuple) else list(value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return value


def record(session: Session, actor: str, event: LedgerEvent) -> LedgerEntry:
    """Append ``event`` to the ledger on ``session``; the caller's transaction commits it."""
    return append(
        session,
        actor=actor,
        action=event.action,
        subject=event.subject(),
        details=event.details(),
    )


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any],
) -> LedgerEntry:
    head = _appended_head(session)
    if head is None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LEDGER_LOCK}
            )
        head = _head(session)
    entry = LedgerEntry(
        seq=1 if head is None else head.seq + 1,
        at=utcnow(),
        actor=actor,
        action=action,
        subject=subject,
        details=canonical_json(details),
        prev_hash=GENESIS_HASH if head is None else head.hash,
    )
    entry.hash = hash_of(entry)
    session.add(entry)
    # Flushing here makes a concurrent append with the same seq fail now, not at commit.
    session.flush()
    session.info[_HEAD_KEY] = (session.get_transaction(), entry)
    return entry


_HEAD_KEY = "datafactory.ledger.head"


def _appended_head(session: Session) -> LedgerEntry | None:
    """The entry this transaction appended last, while it is still the head; else None.

    Once a transaction has appended, nobody else can (PostgreSQL: the advisory lock,
    held to the end of the transaction; SQLite: the write lock), so the next entry
    follows the one appended here without asking the database (a publication records
    several entries in a row). The entry counts only in the same outermost transaction
    and while it is still in the session: a rolled-back savepoint expunges what it
    added, and the head is then read again. Were this ever wrong, the new entry would
    take a ``seq`` that exists and the flush would fail: the chain cannot fork.
    """
    found = session.info.get(_HEAD_KEY)
    if found is None:
        return None
    transaction, entry = found
    if transaction is not session.get_transaction() or not inspect(entry).persistent:
        del session.info[_HEAD_KEY]
        return None
    return cast(LedgerEntry, entry)


# --- verification ---------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_broken: int | None = None
    reason: str | None = None


Progress = Callable[[int, int], None]


def verify(session: Session, progress: Progress | None = None) -> Verification:
    """Recompute the whole chain; name the first entry that does not fit."""
    total = session.scalar(select(func.count()).select_from(LedgerEntry)) or 0
    expected_seq, prev_hash, done = 1, GENESIS_HASH, 0
    for entry in _entries_in_order(session):
        problem = _check_entry(entry, expected_seq, prev_hash)
        if problem is not None:
            return Verification(
                False, done, expected_seq - 1, prev_hash, entry.seq, problem
            )
        expected_seq, prev_hash, done = entry.seq + 1, entry.hash, done + 1
        if progress is not None and (done % 500 == 0 or done == total):
            progress(done, total)
    if progress is not None and total == 0:
        progress(0, 0)
    return Verification(True, done, expected_seq - 1, prev_hash)


def _entries_in_order(session: Session) -> Iterator[LedgerEntry]:
    last = 0
    while batch := entries_after(session, after=last, limit=1000):
        yield from batch
        last = batch[-1].seq


def _check_entry(entry: LedgerEntry, expected_seq: int, prev_hash: str) -> str | None:
    if entry.seq != expected_seq:
        return f"entry {expected_seq} is missing (next present is {entry.seq})"
    if entry.prev_hash != prev_hash:
        return f"entry {entry.seq} does not point at the hash of entry {entry.seq - 1}"
    try:
        recomputed = hash_of(entry)
    except (ValueError, TypeError):
        return f"entry {entry.seq} has unreadable details"
    if recomputed != entry.hash:
        return f"entry {entry.seq} was changed after it was written"
    return None


# --- signed heads ---------------------------------------------------------------------


@dataclass(frozen=True)
class SignedHead:
    seq: int
    hash: str
    signed_at: str
    key_id: str
    public_key: str
    signature: str

    def message(self) -> bytes:
        return canonical_json(
            {"seq": self.seq, "hash": self.hash, "signed_at": self.signed_at}
        ).encode()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def sign_head(session: Session, key: Ed25519PrivateKey) -> SignedHead:
    head = _head(session)
    seq, digest = (0, GENESIS_HASH) if head is None else (head.seq, head.hash)
    public = key.public_key()
    unsigned = SignedHead(
        seq=seq,
        hash=digest,
        signed_at=utcnow().isoformat(timespec="seconds"),
        key_id=key_id(public),
        public_key=public_key_b64(public),
        signature="",
    )
    signature = base64.b64encode(key.sign(unsigned.message())).decode()
    return SignedHead(**{**asdict(unsigned), "signature": signature})


def check_head(
    session: Session, saved: SignedHead, trusted: Ed25519PublicKey
) -> str | None:
    """None when ``saved`` was signed by ``trusted`` and is still part of the chain."""
    try:
        trusted.verify(base64.b64decode(saved.signature), saved.message())
    except (InvalidSignature, ValueError):
        return "the saved head's signature does not verify with the platform key"
    if saved.seq == 0:
        return None
    entry = session.get(LedgerEntry, saved.seq)
    if entry is None:
        return f"entry {saved.seq} of the saved head is gone: the ledger was truncated"
    if entry.hash != saved.hash:
        return f"entry {saved.seq} no longer has the hash of the saved head"
    return None


def entries_after(session: Session, *, after: int, limit: int) -> list[LedgerEntry]:
    """Entries in order, starting after ``after``: the ledger's paging."""
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.seq > after)
            .order_by(LedgerEntry.seq)
            .limit(limit)
        )
    )


def latest_entries(session: Session, *, limit: int) -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(limit)
        )
    )
