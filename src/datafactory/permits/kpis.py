"""Key performance indicators of the access procedure, public like the register.

- **Authorisation time**, in calendar days between Luxembourg dates: from submission to
  decision, and from the complete application to decision, where "complete" is the
  ``processing_started`` event (the handler found the application complete and admissible;
  EHDS Art. 68(4) counts the decision period from there). Median and 90th percentile,
  overall, by regime and by purpose.
- **Authorisation rate**: positive decisions / decisions (withdrawn applications are not
  decisions).
- **Volume by sector**: applications received by the kind of the applicant organisation
  (``identity.models.OrganisationKind``; ``individual`` for a person applying without one)
  and by public versus private sector (a person alone counts as private).
- **Overdue**: open applications whose clock runs and whose deadline is before ``today``.
- **Counts per D6.4 status** of every submitted application (never drafts).

The KPIs follow the register: a decision counts in the times and the rate, and shows its
outcome in the status counts, only once it is public (``register.is_public``); until then
its status is the plain ``DECISION_ISSUED``. An application with several purposes counts
once in each of its purposes.

``fetch`` reads everything in two queries; ``compute`` and ``summarise`` are pure.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.identity.models import Organisation, OrganisationKind
from datafactory.permits.clocks import local_date
from datafactory.permits.config import PermitsConfig
from datafactory.permits.models import Application, ApplicationEvent
from datafactory.permits.regimes import Regimes
from datafactory.permits.register import is_public
from datafactory.permits.workflow import Decision, State

__all__ = [
    "INDIVIDUAL",
    "SECTORS",
    "STATUSES",
    "AuthorisationRate",
    "Count",
    "DurationStats",
    "GroupTimes",
    "Kpis",
    "Submitted",
    "Times",
    "compute",
    "fetch",
    "kpis",
    "nearest_rank",
    "summarise",
]

#: The sector of an application made by a person without an organisation.
INDIVIDUAL = "individual"

#: The D6.4 statuses of submitted applications, in procedure order. ``DECISION_ISSUED``
#: alone is a decision not yet public.
STATUSES = (
    State.SUBMITTED.value,
    State.PRE_SCREENING.value,
    State.AWAITING_ADDITIONAL_INFORMATION.value,
    State.PROCESSING.value,
    State.DECISION_ISSUED.value,
    f"{Decision.POSITIVE.value}_DECISION_ISSUED",
    f"{Decision.NEGATIVE.value}_DECISION_ISSUED",
    State.WITHDRAWN.value,
)
#: The sectors of ``volume_by_sector``: the organisation kinds, then people alone.
SECTORS = (*(kind.value for kind in OrganisationKind), INDIVIDUAL)
_OPEN = frozenset(
    {
        State.SUBMITTED.value,
        State.PRE_SCREENING.value,
        State.AWAITING_ADDITIONAL_INFORMATION.value,
        State.PROCESSING.value,
    }
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class DurationStats(_Frozen):
    count: int
    median_days: float | None
    p90_days: float | None = Field(
        description="90th percentile by the nearest-rank method."
    )


class Times(_Frozen):
    submission_to_decision: DurationStats
    complete_to_decision: DurationStats


class GroupTimes(Times):
    code: str
    label: str


class AuthorisationRate(_Frozen):
    decided: int
    positive: int
    negative: int
    rate: float | None = Field(description="positive / decided; none before any.")


class Count(_Frozen):
    code: str
    count: int


class Kpis(_Frozen):
    as_of: date
    received: int = Field(description="Applications submitted (drafts never count).")
    authorisation_time: Times
    authorisation_time_by_regime: list[GroupTimes]
    authorisation_time_by_purpose: list[GroupTimes]
    authorisation_rate: AuthorisationRate
    volume_by_sector: list[Count] = Field(
        description="By the applicant organisation's kind."
    )
    volume_by_public_private: list[Count]
    overdue: int
    by_status: list[Count]


# --- the statistics (pure) ------------------------------------------------------------


def nearest_rank(values: Sequence[float], percentile: int) -> float:
    """The ``percentile``-th percentile of ``values`` by the nearest-rank method.

    Sort the values; the answer is the one at rank ``ceil(percentile / 100 * n)``
    (1-based): the smallest value with at least ``percentile`` per cent of the values at
    or below it. Always one of the values, never an interpolation. The rank is computed
    in integers, so that (for instance) 90 % of 70 values is rank 63 exactly.
    """
    if not values:
        raise ValueError("no values")
    if not 0 < percentile <= 100:
        raise ValueError("the percentile must be in (0, 100]")
    ordered = sorted(values)
    rank = -(-percentile * len(ordered) // 100)
    return ordered[rank - 1]


def summarise(days: Sequence[float]) -> DurationStats:
    """Count, median (``statistics.median``: the mean of the two middle values for an
    even count) and nearest-rank 90th percentile; ``None`` for both without values."""
    if not days:
        return DurationStats(count=0, median_days=None, p90_days=None)
    return DurationStats(
        count=len(days),
        median_days=float(statistics.median(days)),
        p90_days=float(nearest_rank(days, 90)),
    )


# --- the rows and the computation -----------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    """What the KPIs need of one submitted application."""

    regime: str
    purposes: tuple[str, ...]
    state: str
    decision: str | None
    submitted_at: datetime
    decided_at: datetime | None
    complete_at: datetime | None
    """The first ``processing_started`` event."""
    clock: str
    deadline: date | None
    organisation_kind: str | None
    public_sector: bool | None


def fetch(session: Session) -> list[Submitted]:
    """Every submitted application, in two queries."""
    complete: dict[int, datetime] = {}
    for application_id, at in session.execute(
        select(ApplicationEvent.application_id, ApplicationEvent.at).where(
            ApplicationEvent.type == "processing_started"
        )
    ):
        if application_id not in complete or at < complete[application_id]:
            complete[application_id] = at
    rows = session.execute(
        select(Application, Organisation.kind, Organisation.is_public_sector)
        .outerjoin(Organisation, Organisation.id == Application.organisation_id)
        .where(
            Application.state != State.DRAFT.value,
            Application.submitted_at.is_not(None),
        )
        .order_by(Application.id)
    ).all()
    found = []
    for application, kind, public_sector in rows:
        assert application.submitted_at is not None
        purposes = application.form.get("purposes") or []
        found.append(
            Submitted(
                regime=application.regime,
                purposes=tuple(str(p) for p in purposes),
                state=application.state,
                decision=application.decision,
                submitted_at=application.submitted_at,
                decided_at=application.decided_at,
                complete_at=complete.get(application.id),
                clock=application.clock,
                deadline=application.deadline,
                organisation_kind=kind,
                public_sector=public_sector,
            )
        )
    return found


def kpis(
    session: Session, config: PermitsConfig, *, today: date, lang: str = "en"
) -> Kpis:
    return compute(
        fetch(session),
        config.regimes,
        today=today,
        delay_working_days=config.register_delay_working_days,
        lang=lang,
    )


def compute(
    rows: Iterable[Submitted],
    regimes: Regimes,
    *,
    today: date,
    delay_working_days: int = 0,
    lang: str = "en",
) -> Kpis:
    """The KPIs of ``rows`` on ``today``. Pure."""
    rows = list(rows)
    decided = [r for r in rows if _decision_public(r, today, delay_working_days)]
    by_regime: dict[str, list[Submitted]] = defaultdict(list)
    by_purpose: dict[str, list[Submitted]] = defaultdict(list)
    for row in decided:
        by_regime[row.regime].append(row)
        for purpose in dict.fromkeys(row.purposes):
            by_purpose[purpose].append(row)
    positive = sum(1 for r in decided if r.decision == Decision.POSITIVE.value)
    statuses = Counter(_status(r, today, delay_working_days) for r in rows)
    kinds = Counter(r.organisation_kind or INDIVIDUAL for r in rows)
    sectors = Counter("public" if r.public_sector else "private" for r in rows)
    return Kpis(
        as_of=today,
        received=len(rows),
        authorisation_time=_times(decided),
        authorisation_time_by_regime=[
            _group(code, label, by_regime[code])
            for code, label in _regime_groups(regimes, by_regime, lang)
        ],
        authorisation_time_by_purpose=[
            _group(code, label, by_purpose[code])
            for code, label in _purpose_groups(regimes, by_purpose, lang)
        ],
        authorisation_rate=AuthorisationRate(
            decided=len(decided),
            positive=positive,
            negative=len(decided) - positive,
            rate=positive / len(decided) if decided else None,
        ),
        volume_by_sector=[
            Count(code=code, count=kinds[code]) for code in _then_others(SECTORS, kinds)
        ],
        volume_by_public_private=[
            Count(code=code, count=sectors[code]) for code in ("public", "private")
        ],
        overdue=sum(
            1
            for r in rows
            if r.state in _OPEN
            and r.clock == "running"
            and r.deadline is not None
            and r.deadline < today
        ),
        by_status=[
            Count(code=code, count=statuses[code])
            for code in _then_others(STATUSES, statuses)
        ],
    )


def _then_others(known: Sequence[str], seen: Iterable[str]) -> list[str]:
    """``known`` in its order, then any other code seen, sorted."""
    return [*known, *sorted(set(seen) - set(known))]


def _group(code: str, label: str, decided: Sequence[Submitted]) -> GroupTimes:
    times = _times(decided)
    return GroupTimes(
        code=code,
        label=label,
        submission_to_decision=times.submission_to_decision,
        complete_to_decision=times.complete_to_decision,
    )


def _decision_public(row: Submitted, today: date, delay: int) -> bool:
    return (
        row.state == State.DECISION_ISSUED.value
        and row.decision is not None
        and row.decided_at is not None
        and is_public(row.decided_at, today, delay)
    )


def _status(row: Submitted, today: date, delay: int) -> str:
    if row.state != State.DECISION_ISSUED.value or row.decision is None:
        return row.state
    if _decision_public(row, today, delay):
        return f"{row.decision}_DECISION_ISSUED"
    return State.DECISION_ISSUED.value


def _days(start: datetime, end: datetime) -> int:
    return (local_date(end) - local_date(start)).days


def _times(decided: Sequence[Submitted]) -> Times:
    return Times(
        submission_to_decision=summarise(
            [_days(r.submitted_at, r.decided_at) for r in decided if r.decided_at]
        ),
        complete_to_decision=summarise(
            [
                _days(r.complete_at, r.decided_at)
                for r in decided
                if r.decided_at and r.complete_at
            ]
        ),
    )


def _regime_groups(
    regimes: Regimes, seen: Mapping[str, object], lang: str
) -> list[tuple[str, str]]:
    groups = [(r.code, r.title.get(lang)) for r in regimes]
    return groups + [(code, code) for code in sorted(set(seen) - set(regimes.codes))]


def _purpose_groups(
    regimes: Regimes, seen: Mapping[str, object], lang: str
) -> list[tuple[str, str]]:
    groups = [(p.code, p.label.get(lang)) for r in regimes for p in r.purposes]
    known = {code for code, _ in groups}
    return groups + [(code, code) for code in sorted(set(seen) - known)]
