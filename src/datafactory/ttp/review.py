"""The clerical review queue: pairs the matcher was unsure about, decided by a person.

A TTP operator sees, for each pending pair, only what the decision needs: the match
probability, how each field agreed (exact, swapped, similar at a named threshold,
different, missing) and masked hints (initials, birth year). Never a whole name, birth
date or address: the TTP keeps none after the run.

Accepting a pair merges the two persons of the index: the younger person points at the
older one, its records move over, and so the records share one pseudonym from then on.
Other pending pairs between the same two persons are settled with it. Rejecting changes
nothing but the pair. Only TTP operators review; every decision is ledgered, and a pair is
decided once (a second operator deciding at the same moment gets a conflict).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from datafactory.core import ledger
from datafactory.core.db import utcnow
from datafactory.core.errors import Conflict, NotFound
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Role
from datafactory.ttp.events import PairDecided
from datafactory.ttp.linkage_models import (
    LinkageRun,
    LinkedPerson,
    LinkedRecord,
    PairStatus,
    ReviewPair,
)
from datafactory.ttp.models import PseudonymDomain

MAX_PAGE_SIZE = 200
FIELD_ORDER = ("first_name", "surname", "birth_date", "sex", "address", "postcode")


@dataclass(frozen=True)
class Agreement:
    """How one field of the two records compared."""

    field: str
    kind: str
    """``exact``, ``swapped``, ``similar``, ``different`` or ``missing``."""
    method: str | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class PairView:
    """One pending pair as the reviewer sees it."""

    id: int
    run_id: int
    run_name: str
    domain: str
    match_probability: float
    agreements: tuple[Agreement, ...]
    left: dict[str, str]
    right: dict[str, str]


@dataclass(frozen=True)
class PairPage:
    items: list[PairView]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields any listed pair compares, in a fixed order."""
        present = {a.field for item in self.items for a in item.agreements}
        return tuple(f for f in FIELD_ORDER if f in present)


def pending_pairs(
    session: Session,
    actor: Actor,
    *,
    run_id: int | None = None,
    page: int = 1,
    page_size: int = 25,
) -> PairPage:
    """Pending pairs, the most likely matches first (then the oldest)."""
    policy.ensure(actor, "ttp.review.view")
    page, page_size = max(1, page), min(max(1, page_size), MAX_PAGE_SIZE)
    where = [ReviewPair.status == PairStatus.pending.value]
    if run_id is not None:
        where.append(ReviewPair.run_id == run_id)
    total = session.scalar(select(func.count()).select_from(ReviewPair).where(*where))
    rows = session.execute(
        select(ReviewPair, LinkageRun.name, PseudonymDomain.name)
        .join(LinkageRun, LinkageRun.id == ReviewPair.run_id)
        .join(PseudonymDomain, PseudonymDomain.id == LinkageRun.domain_id)
        .where(*where)
        .order_by(ReviewPair.match_probability.desc(), ReviewPair.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return PairPage(
        items=[_view(pair, run_name, domain) for pair, run_name, domain in rows],
        total=total or 0,
        page=page,
        page_size=page_size,
    )


def _view(pair: ReviewPair, run_name: str, domain: str) -> PairView:
    agreements = tuple(
        Agreement(
            field=name,
            kind=str(level.get("kind", "different")),
            method=level.get("method"),
            threshold=level.get("threshold"),
        )
        for name, level in sorted(
            pair.agreement.items(),
            key=lambda item: (
                FIELD_ORDER.index(item[0])
                if item[0] in FIELD_ORDER
                else len(FIELD_ORDER)
            ),
        )
    )
    hints: dict[str, Any] = pair.hints or {}
    return PairView(
        id=pair.id,
        run_id=pair.run_id,
        run_name=run_name,
        domain=domain,
        match_probability=pair.match_probability,
        agreements=agreements,
        left={k: str(v) for k, v in dict(hints.get("left", {})).items()},
        right={k: str(v) for k, v in dict(hints.get("right", {})).items()},
    )


def decide_pair(
    session: Session,
    actor: Actor,
    *,
    pair_id: int,
    accept: bool,
    now: datetime | None = None,
) -> ReviewPair:
    """Accept (the same person: merge) or reject (different people) one pending pair."""
    policy.ensure(actor, "ttp.review.decide")
    pair = session.get(ReviewPair, pair_id)
    if pair is None:
        raise NotFound(f"There is no review pair {pair_id}.")
    at = now or utcnow()
    status = PairStatus.accepted if accept else PairStatus.rejected
    # Claim the pair in one statement, so two operators cannot both decide it.
    claimed = session.execute(
        update(ReviewPair)
        .where(
            ReviewPair.id == pair_id,
            ReviewPair.status == PairStatus.pending.value,
        )
        .values(status=status.value, decided_by=actor.ref, decided_at=at)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise Conflict(f"Review pair {pair_id} was decided already.")
    session.refresh(pair)
    kept = merged = None
    settled = 0
    if accept:
        kept, merged = _merge(session, pair, at)
        settled = _settle(session, pair, kept, actor, at)
    ledger.record(
        session,
        actor.ref,
        PairDecided(
            pair_id=pair.id,
            run_id=pair.run_id,
            decision=status.value,
            match_probability=pair.match_probability,
            kept_person=kept,
            merged_person=merged,
            also_settled=settled,
        ),
    )
    return pair


def person_of(session: Session, record_id: int) -> int:
    """The person a record belongs to now."""
    person = session.scalar(
        select(LinkedRecord.person_id).where(LinkedRecord.id == record_id)
    )
    if person is None:
        raise NotFound(f"There is no linked record {record_id}.")
    return int(person)


def _merge(
    session: Session, pair: ReviewPair, at: datetime
) -> tuple[int | None, int | None]:
    left = person_of(session, pair.left_record_id)
    right = person_of(session, pair.right_record_id)
    if left == right:
        return None, None
    kept, merged = min(left, right), max(left, right)
    session.execute(
        update(LinkedRecord)
        .where(LinkedRecord.person_id == merged)
        .values(person_id=kept)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(LinkedPerson)
        .where((LinkedPerson.id == merged) | (LinkedPerson.merged_into == merged))
        .values(merged_into=kept, merged_at=at)
        .execution_options(synchronize_session=False)
    )
    return kept, merged


def _settle(
    session: Session,
    pair: ReviewPair,
    kept: int | None,
    actor: Actor,
    at: datetime,
) -> int:
    """Accept the other pending pairs whose records now share one person."""
    person = kept if kept is not None else person_of(session, pair.left_record_id)
    left, right = aliased(LinkedRecord), aliased(LinkedRecord)
    others = list(
        session.scalars(
            select(ReviewPair.id)
            .join(left, left.id == ReviewPair.left_record_id)
            .join(right, right.id == ReviewPair.right_record_id)
            .where(
                ReviewPair.status == PairStatus.pending.value,
                ReviewPair.id != pair.id,
                left.person_id == person,
                right.person_id == person,
            )
        )
    )
    if others:
        session.execute(
            update(ReviewPair)
            .where(ReviewPair.id.in_(others))
            .values(
                status=PairStatus.accepted.value, decided_by=actor.ref, decided_at=at
            )
            .execution_options(synchronize_session=False)
        )
    return len(others)


policy.register(
    {
        "ttp.review.view": policy.having(Role.ttp_operator),
        "ttp.review.decide": policy.having(Role.ttp_operator),
    }
)
