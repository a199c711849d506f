"""The public register of the access procedure (EHDS Art. 57(1)(j)).

Anyone may read it, without signing in. It lists:

- every application received, "without undue delay after reception" (Art. 57(1)(j)(ii)):
  from its submission, never as a draft;
- every decision, positive or negative, with its reasons, and every permit, each from
  ``register_delay_working_days`` Luxembourg working days after the decision (the authority
  must publish within 30, Art. 57(1)(j)(iii)): a decision taken on day ``d`` is public once
  ``today >= add_working_days(d, delay)``;
- the successful data-sharing cases: permits whose holder published results (Art. 61(4)).

Personal data never appear here: no person's name or e-mail, no user ids, only the
applicant's or holder's organisation. Free texts that the procedure publishes by design are
shown as written: the title, the lay summary (the form's public ``abstract``) and the
reasons of a decision.

Each query returns a page of frozen rows and the total; the API and the pages share them.
Purpose labels and dataset titles come in the language asked for (English by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from datafactory.catalogue.models import Dataset, DatasetVersion
from datafactory.catalogue.schemas import pick
from datafactory.identity.models import Organisation
from datafactory.permits.clocks import LUXEMBOURG, add_working_days, local_date
from datafactory.permits.config import PermitsConfig
from datafactory.permits.models import Application, Permit
from datafactory.permits.schemas import ApplicationForm
from datafactory.permits.workflow import Decision, State

__all__ = [
    "MAX_PAGE_SIZE",
    "AggregateTableScope",
    "DatasetRef",
    "DatasetScope",
    "DecisionRow",
    "PermitRow",
    "PurposeRef",
    "ReceivedRow",
    "RegisterPage",
    "SuccessRow",
    "applications_received",
    "decisions",
    "is_public",
    "permits",
    "public_before",
    "published_through",
    "success_stories",
]

MAX_PAGE_SIZE = 1000

Row = TypeVar("Row", bound=BaseModel)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class PurposeRef(_Frozen):
    code: str
    label: str = Field(description="The purpose's label in the language asked for.")


class DatasetRef(_Frozen):
    id: str
    title: str = Field(
        description="The published title, or the id when never published."
    )


class DatasetScope(DatasetRef):
    variables: list[str] = Field(default_factory=list)


class AggregateTableScope(_Frozen):
    """An aggregate table of an aggregated permit, published like its variables."""

    name: str
    dataset: str
    group_by: list[str]
    measures: list[str] = Field(default_factory=list)


class ReceivedRow(_Frozen):
    """An application as the register shows it from its submission."""

    reference: str
    kind: str = Field(description="new, amendment or renewal")
    title: str
    summary: str = Field(description="The applicant's public lay summary.")
    organisation: str | None = Field(
        description="The applicant organisation; none for a person applying alone."
    )
    regime: str
    purposes: list[PurposeRef]
    datasets: list[DatasetRef]
    submitted_on: date
    status: str = Field(
        description="D6.4 status. A decision shows its outcome "
        "(POSITIVE_DECISION_ISSUED) only once the decision itself is published; "
        "until then it reads DECISION_ISSUED."
    )


class DecisionRow(_Frozen):
    reference: str
    kind: str
    title: str
    organisation: str | None
    regime: str
    purposes: list[PurposeRef]
    datasets: list[DatasetRef]
    submitted_on: date
    decision: Decision
    decided_at: datetime
    decided_on: date = Field(description="The decision's date in Luxembourg.")
    reasons: str
    permit: str | None = Field(description="The permit a positive decision issued.")


class PermitRow(_Frozen):
    reference: str
    application: str
    title: str
    organisation: str | None = Field(description="The holder organisation.")
    regime: str
    purposes: list[PurposeRef]
    datasets: list[DatasetScope]
    data_form: str | None = Field(description="anonymised, pseudonymised or aggregated")
    linkages: list[list[str]] = Field(
        description="Pairs of datasets linked through the trusted third party."
    )
    aggregate_tables: list[AggregateTableScope] = Field(
        default_factory=list,
        description="The aggregated form's tables: names, group variables, measures.",
    )
    starts_on: date
    ends_on: date
    status: str = Field(description="GRANTED, AMENDED, RENEWED, REVOKED or EXPIRED")
    granted_on: date
    changed_at: datetime
    results_url: str | None


class SuccessRow(_Frozen):
    """A successful data-sharing case: a permit whose results were published."""

    permit: str
    application: str
    title: str
    organisation: str | None
    purposes: list[PurposeRef]
    datasets: list[DatasetRef]
    starts_on: date
    ends_on: date
    results_url: str


class RegisterPage(BaseModel, Generic[Row]):
    items: list[Row]
    total: int
    page: int
    page_size: int


# --- when a decision becomes public ------------------------------------------------------


def published_through(today: date, delay_working_days: int) -> date:
    """The last decision date whose entries are public on ``today``.

    ``add_working_days`` never moves backwards as its start moves forwards, so the
    decisions public today are exactly those taken on this date or before.
    """
    if delay_working_days < 0:
        raise ValueError("the delay cannot be negative")
    day = today
    while add_working_days(day, delay_working_days) > today:
        day -= timedelta(days=1)
    return day


def is_public(decided_at: datetime, today: date, delay_working_days: int) -> bool:
    """Whether a decision taken at ``decided_at`` is in the register on ``today``."""
    return today >= add_working_days(local_date(decided_at), delay_working_days)


def public_before(today: date, delay_working_days: int) -> datetime:
    """The instant (UTC) before which decisions are public on ``today``: the start, in
    Luxembourg, of the day after :func:`published_through`."""
    last = published_through(today, delay_working_days)
    start = datetime.combine(last + timedelta(days=1), time.min, tzinfo=LUXEMBOURG)
    return start.astimezone(UTC)


def _end_of(today: date) -> datetime:
    start = datetime.combine(today + timedelta(days=1), time.min, tzinfo=LUXEMBOURG)
    return start.astimezone(UTC)


# --- the queries -----------------------------------------------------------------------


def applications_received(
    session: Session,
    config: PermitsConfig,
    *,
    today: date,
    page: int = 1,
    page_size: int = 50,
    lang: str = "en",
) -> RegisterPage[ReceivedRow]:
    """Every submitted application (never a draft), latest submission first."""
    page, page_size = _checked(page, page_size)
    cutoff = public_before(today, config.register_delay_working_days)
    where = and_(
        Application.state != State.DRAFT.value,
        Application.submitted_at.is_not(None),
        Application.submitted_at < _end_of(today),
    )
    total = _count(session, select(Application.id).where(where))
    rows = session.execute(
        select(Application, Organisation.name)
        .outerjoin(Organisation, Organisation.id == Application.organisation_id)
        .where(where)
        .order_by(Application.submitted_at.desc(), Application.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    forms = [ApplicationForm.model_validate(a.form) for a, _ in rows]
    titles = _dataset_titles(session, (d for f in forms for d in f.dataset_ids()), lang)
    items = [
        ReceivedRow(
            reference=application.reference,
            kind=application.kind,
            title=application.title,
            summary=form.abstract,
            organisation=organisation,
            regime=application.regime,
            purposes=_purposes(config, application.regime, form.purposes, lang),
            datasets=[
                DatasetRef(id=d, title=titles.get(d, d)) for d in form.dataset_ids()
            ],
            submitted_on=local_date(_aware(application.submitted_at)),
            status=_status(application, cutoff),
        )
        for (application, organisation), form in zip(rows, forms, strict=True)
    ]
    return RegisterPage(items=items, total=total, page=page, page_size=page_size)


def decisions(
    session: Session,
    config: PermitsConfig,
    *,
    today: date,
    page: int = 1,
    page_size: int = 50,
    lang: str = "en",
) -> RegisterPage[DecisionRow]:
    """Positive and negative decisions with their reasons, once public; latest first."""
    page, page_size = _checked(page, page_size)
    where = and_(
        Application.state == State.DECISION_ISSUED.value,
        Application.decision.is_not(None),
        Application.decided_at.is_not(None),
        Application.decided_at
        < public_before(today, config.register_delay_working_days),
    )
    total = _count(session, select(Application.id).where(where))
    rows = session.execute(
        select(Application, Organisation.name)
        .outerjoin(Organisation, Organisation.id == Application.organisation_id)
        .where(where)
        .order_by(Application.decided_at.desc(), Application.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    forms = [ApplicationForm.model_validate(a.form) for a, _ in rows]
    titles = _dataset_titles(session, (d for f in forms for d in f.dataset_ids()), lang)
    issued = _permit_references(session, [a for a, _ in rows])
    items = []
    for (application, organisation), form in zip(rows, forms, strict=True):
        decided_at = _aware(application.decided_at)
        assert application.decision is not None  # the query keeps decided ones only
        decision = Decision(application.decision)
        items.append(
            DecisionRow(
                reference=application.reference,
                kind=application.kind,
                title=application.title,
                organisation=organisation,
                regime=application.regime,
                purposes=_purposes(config, application.regime, form.purposes, lang),
                datasets=[
                    DatasetRef(id=d, title=titles.get(d, d)) for d in form.dataset_ids()
                ],
                submitted_on=local_date(_aware(application.submitted_at)),
                decision=decision,
                decided_at=decided_at,
                decided_on=local_date(decided_at),
                reasons=application.decision_reason or "",
                permit=issued.get(application.id)
                if decision is Decision.POSITIVE
                else None,
            )
        )
    return RegisterPage(items=items, total=total, page=page, page_size=page_size)


def permits(
    session: Session,
    config: PermitsConfig,
    *,
    today: date,
    page: int = 1,
    page_size: int = 50,
    lang: str = "en",
) -> RegisterPage[PermitRow]:
    """Every permit, once the decision that granted it is public; latest grant first.

    The scope shown is the permit's current one (an amendment changes it in place).
    """
    page, page_size = _checked(page, page_size)
    where = _public_permit(today, config)
    total = _count(session, select(Permit.id).where(where))
    rows = _permit_rows(session, where, page, page_size)
    titles = _dataset_titles(
        session, (d["id"] for p, _, _ in rows for d in _scope_datasets(p)), lang
    )
    items = [
        PermitRow(
            reference=permit.reference,
            application=reference,
            title=title,
            organisation=organisation,
            regime=permit.regime,
            purposes=_purposes(
                config, permit.regime, _strings(permit.scope.get("purposes")), lang
            ),
            datasets=[
                DatasetScope(
                    id=d["id"],
                    title=titles.get(d["id"], d["id"]),
                    variables=_strings(d.get("variables")),
                )
                for d in _scope_datasets(permit)
            ],
            data_form=_text_or_none(permit.scope.get("form")),
            linkages=[
                _strings(pair)
                for pair in permit.scope.get("linkages") or []
                if isinstance(pair, list)
            ],
            aggregate_tables=[
                AggregateTableScope(
                    name=str(t.get("name", "")),
                    dataset=str(t.get("dataset", "")),
                    group_by=_strings(t.get("group_by")),
                    measures=_strings(t.get("measures")),
                )
                for t in permit.scope.get("aggregate_tables") or []
                if isinstance(t, dict)
            ],
            starts_on=permit.starts_on,
            ends_on=permit.ends_on,
            status=permit.status,
            granted_on=local_date(_aware(permit.granted_at)),
            changed_at=_aware(permit.changed_at),
            results_url=permit.results_url if _is_web_url(permit.results_url) else None,
        )
        for permit, (reference, title), organisation in rows
    ]
    return RegisterPage(items=items, total=total, page=page, page_size=page_size)


def success_stories(
    session: Session,
    config: PermitsConfig,
    *,
    today: date,
    page: int = 1,
    page_size: int = 50,
    lang: str = "en",
) -> RegisterPage[SuccessRow]:
    """Public permits whose results were published (a web address): latest grant first."""
    page, page_size = _checked(page, page_size)
    where = and_(
        _public_permit(today, config),
        or_(Permit.results_url.like("https://%"), Permit.results_url.like("http://%")),
    )
    total = _count(session, select(Permit.id).where(where))
    rows = _permit_rows(session, where, page, page_size)
    titles = _dataset_titles(
        session, (d["id"] for p, _, _ in rows for d in _scope_datasets(p)), lang
    )
    items = [
        SuccessRow(
            permit=permit.reference,
            application=reference,
            title=title,
            organisation=organisation,
            purposes=_purposes(
                config, permit.regime, _strings(permit.scope.get("purposes")), lang
            ),
            datasets=[
                DatasetRef(id=d["id"], title=titles.get(d["id"], d["id"]))
                for d in _scope_datasets(permit)
            ],
            starts_on=permit.starts_on,
            ends_on=permit.ends_on,
            results_url=permit.results_url or "",
        )
        for permit, (reference, title), organisation in rows
    ]
    return RegisterPage(items=items, total=total, page=page, page_size=page_size)


# --- helpers ---------------------------------------------------------------------------


def _checked(page: int, page_size: int) -> tuple[int, int]:
    if page < 1:
        raise ValueError("page starts at 1")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return page, page_size


def _count(session: Session, query: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _aware(at: datetime | None) -> datetime:
    # The queries only return rows where the instant is set; UTCDateTime makes it aware.
    assert at is not None
    return at


def _status(application: Application, cutoff: datetime) -> str:
    if application.state != State.DECISION_ISSUED.value or not application.decision:
        return application.state
    decided_at = application.decided_at
    if decided_at is not None and decided_at < cutoff:
        return f"{application.decision}_DECISION_ISSUED"
    return State.DECISION_ISSUED.value


def _purposes(
    config: PermitsConfig, regime: str, codes: Sequence[str], lang: str
) -> list[PurposeRef]:
    refs = []
    for code in codes:
        try:
            label = config.regimes.purpose(regime, code).label.get(lang)
        except KeyError:  # a regime or purpose the configuration no longer has
            label = code
        refs.append(PurposeRef(code=code, label=label))
    return refs


def _dataset_titles(
    session: Session, dataset_ids: Iterable[str], lang: str
) -> dict[str, str]:
    """The title of each dataset's latest published version, in one query."""
    wanted = sorted(set(dataset_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(DatasetVersion.dataset_id, DatasetVersion.document)
        .join(
            Dataset,
            and_(
                Dataset.id == DatasetVersion.dataset_id,
                Dataset.version == DatasetVersion.number,
            ),
        )
        .where(Dataset.id.in_(wanted))
    ).all()
    titles = {}
    for dataset_id, document in rows:
        text = document.get("title") if isinstance(document, dict) else None
        title = pick(text, lang) if isinstance(text, dict) else ""
        if title:
            titles[dataset_id] = title
    return titles


def _permit_references(
    session: Session, applications: Sequence[Application]
) -> dict[int, str]:
    """Application id → the permit its grant issued (a new permit), or changed (an
    amendment or renewal)."""
    if not applications:
        return {}
    ids = [a.id for a in applications]
    changed = {a.permit_id: a.id for a in applications if a.permit_id is not None}
    found: dict[int, str] = {}
    for permit_id, application_id, reference in session.execute(
        select(Permit.id, Permit.application_id, Permit.reference).where(
            or_(Permit.application_id.in_(ids), Permit.id.in_(list(changed)))
        )
    ):
        if permit_id in changed:
            found[changed[permit_id]] = reference
        if application_id in ids:
            found.setdefault(application_id, reference)
    return found


def _public_permit(today: date, config: PermitsConfig) -> ColumnElement[bool]:
    return Permit.granted_at < public_before(today, config.register_delay_working_days)


def _permit_rows(
    session: Session, where: ColumnElement[bool], page: int, page_size: int
) -> list[tuple[Permit, tuple[str, str], str | None]]:
    rows = session.execute(
        select(Permit, Application.reference, Application.title, Organisation.name)
        .join(Application, Application.id == Permit.application_id)
        .outerjoin(Organisation, Organisation.id == Permit.organisation_id)
        .where(where)
        .order_by(Permit.granted_at.desc(), Permit.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return [(p, (reference, title), name) for p, reference, title, name in rows]


def _scope_datasets(permit: Permit) -> list[dict[str, Any]]:
    datasets = permit.scope.get("datasets") or []
    return [d for d in datasets if isinstance(d, dict) and isinstance(d.get("id"), str)]


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(v) for v in value]


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_web_url(value: str | None) -> bool:
    return bool(value) and str(value).lower().startswith(("https://", "http://"))
