"""The public register and the procedure's KPIs, for anyone, without signing in.

Each register list answers JSON (``items``, ``total``, ``page``, ``page_size``) by default
and CSV with ``?format=csv``: the same page (``page``, ``page_size`` up to 1000) as one
row per entry, lists joined with ``"; "``, and ``X-Total-Count`` giving the total. A cell
that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-`` or ``@``) is
prefixed with ``'``. ``/register/feed.atom`` is an Atom 1.0 feed of the latest public
decisions and permits.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel

from datafactory.identity.actor import Actor
from datafactory.permits import kpis as kpi_service
from datafactory.permits import register
from datafactory.permits.clocks import local_date
from datafactory.permits.register import (
    MAX_PAGE_SIZE,
    DecisionRow,
    PermitRow,
    ReceivedRow,
    RegisterPage,
    SuccessRow,
)
from datafactory.permits.workflow import Decision
from datafactory.web.api.permits import ConfigDep
from datafactory.web.deps import SessionDep, allow
from datafactory.web.i18n import current_language

router = APIRouter(tags=["register"])
Reader = Annotated[Actor, Depends(allow("permits.register.view"))]
KpiReader = Annotated[Actor, Depends(allow("permits.kpi.view"))]
Page = Annotated[int, Query(ge=1)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Format = Literal["json", "csv"]

CSV_TYPE = "text/csv; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FEED_ENTRIES = 50
_CSV_DOC: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot hold at all, not even escaped: ElementTree would write them
# as they are and the feed would not parse.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

Row = TypeVar("Row", bound=BaseModel)
Column = tuple[str, Callable[[Any], object]]


# --- CSV -----------------------------------------------------------------------------


def _joined(values: Sequence[object]) -> str:
    return "; ".join(str(v) for v in values)


APPLICATION_COLUMNS: list[Column] = [
    ("reference", lambda r: r.reference),
    ("kind", lambda r: r.kind),
    ("title", lambda r: r.title),
    ("summary", lambda r: r.summary),
    ("organisation", lambda r: r.organisation),
    ("regime", lambda r: r.regime),
    ("purpose_codes", lambda r: _joined([p.code for p in r.purposes])),
    ("purpose_labels", lambda r: _joined([p.label for p in r.purposes])),
    ("dataset_ids", lambda r: _joined([d.id for d in r.datasets])),
    ("dataset_titles", lambda r: _joined([d.title for d in r.datasets])),
    ("submitted_on", lambda r: r.submitted_on),
    ("status", lambda r: r.status),
]
DECISION_COLUMNS: list[Column] = [
    ("reference", lambda r: r.reference),
    ("kind", lambda r: r.kind),
    ("title", lambda r: r.title),
    ("organisation", lambda r: r.organisation),
    ("regime", lambda r: r.regime),
    ("purpose_codes", lambda r: _joined([p.code for p in r.purposes])),
    ("purpose_labels", lambda r: _joined([p.label for p in r.purposes])),
    ("dataset_ids", lambda r: _joined([d.id for d in r.datasets])),
    ("dataset_titles", lambda r: _joined([d.title for d in r.datasets])),
    ("submitted_on", lambda r: r.submitted_on),
    ("decision", lambda r: r.decision.value),
    ("decided_on", lambda r: r.decided_on),
    ("reasons", lambda r: r.reasons),
    ("permit", lambda r: r.permit),
]
PERMIT_COLUMNS: list[Column] = [
    ("reference", lambda r: r.reference),
    ("application", lambda r: r.application),
    ("title", lambda r: r.title),
    ("organisation", lambda r: r.organisation),
    ("regime", lambda r: r.regime),
    ("purpose_codes", lambda r: _joined([p.code for p in r.purposes])),
    ("purpose_labels", lambda r: _joined([p.label for p in r.purposes])),
    ("dataset_ids", lambda r: _joined([d.id for d in r.datasets])),
    ("dataset_titles", lambda r: _joined([d.title for d in r.datasets])),
    (
        "variables",
        lambda r: _joined([f"{d.id}: {', '.join(d.variables)}" for d in r.datasets]),
    ),
    ("data_form", lambda r: r.data_form),
    ("linkages", lambda r: _joined([" + ".join(pair) for pair in r.linkages])),
    ("starts_on", lambda r: r.starts_on),
    ("ends_on", lambda r: r.ends_on),
    ("status", lambda r: r.status),
    ("granted_on", lambda r: r.granted_on),
    ("results_url", lambda r: r.results_url),
]
SUCCESS_COLUMNS: list[Column] = [
    ("permit", lambda r: r.permit),
    ("application", lambda r: r.application),
    ("title", lambda r: r.title),
    ("organisation", lambda r: r.organisation),
    ("purpose_codes", lambda r: _joined([p.code for p in r.purposes])),
    ("purpose_labels", lambda r: _joined([p.label for p in r.purposes])),
    ("dataset_ids", lambda r: _joined([d.id for d in r.datasets])),
    ("dataset_titles", lambda r: _joined([d.title for d in r.datasets])),
    ("starts_on", lambda r: r.starts_on),
    ("ends_on", lambda r: r.ends_on),
    ("results_url", lambda r: r.results_url),
]


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def to_csv(rows: Sequence[BaseModel], columns: Sequence[Column]) -> str:
    """``rows`` as CSV with a header line, every cell made safe for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([name for name, _ in columns])
    for row in rows:
        writer.writerow([_cell(get(row)) for _, get in columns])
    return buffer.getvalue()


def _answer(
    result: RegisterPage[Row], format: Format, columns: Sequence[Column], name: str
) -> Any:
    if format == "json":
        return result
    return Response(
        to_csv(result.items, columns),
        media_type=CSV_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="register-{name}.csv"',
            "X-Total-Count": str(result.total),
        },
    )


# --- the register --------------------------------------------------------------------


@router.get(
    "/api/v1/register/applications",
    response_model=RegisterPage[ReceivedRow],
    responses=_CSV_DOC,
    summary="Applications received (EHDS Art. 57(1)(j)(ii)), latest first.",
)
def register_applications(
    session: SessionDep,
    config: ConfigDep,
    _actor: Reader,
    page: Page = 1,
    page_size: PageSize = 50,
    format: Format = "json",
) -> Any:
    result = register.applications_received(
        session,
        config,
        today=local_date(config.now()),
        page=page,
        page_size=page_size,
        lang=current_language.get(),
    )
    return _answer(result, format, APPLICATION_COLUMNS, "applications")


@router.get(
    "/api/v1/register/decisions",
    response_model=RegisterPage[DecisionRow],
    responses=_CSV_DOC,
    summary="Decisions with their reasons (EHDS Art. 57(1)(j)(iii)), latest first.",
)
def register_decisions(
    session: SessionDep,
    config: ConfigDep,
    _actor: Reader,
    page: Page = 1,
    page_size: PageSize = 50,
    format: Format = "json",
) -> Any:
    result = register.decisions(
        session,
        config,
        today=local_date(config.now()),
        page=page,
        page_size=page_size,
        lang=current_language.get(),
    )
    return _answer(result, format, DECISION_COLUMNS, "decisions")


@router.get(
    "/api/v1/register/permits",
    response_model=RegisterPage[PermitRow],
    responses=_CSV_DOC,
    summary="Permits with their scope and period, latest grant first.",
)
def register_permits(
    session: SessionDep,
    config: ConfigDep,
    _actor: Reader,
    page: Page = 1,
    page_size: PageSize = 50,
    format: Format = "json",
) -> Any:
    result = register.permits(
        session,
        config,
        today=local_date(config.now()),
        page=page,
        page_size=page_size,
        lang=current_language.get(),
    )
    return _answer(result, format, PERMIT_COLUMNS, "permits")


@router.get(
    "/api/v1/register/successes",
    response_model=RegisterPage[SuccessRow],
    responses=_CSV_DOC,
    summary="Successful data-sharing cases: permits whose results were published.",
)
def register_successes(
    session: SessionDep,
    config: ConfigDep,
    _actor: Reader,
    page: Page = 1,
    page_size: PageSize = 50,
    format: Format = "json",
) -> Any:
    result = register.success_stories(
        session,
        config,
        today=local_date(config.now()),
        page=page,
        page_size=page_size,
        lang=current_language.get(),
    )
    return _answer(result, format, SUCCESS_COLUMNS, "successes")


# --- the Atom feed -------------------------------------------------------------------


@dataclass(frozen=True)
class FeedEntry:
    id: str
    title: str
    updated: datetime
    link: str
    summary: str


def _stamp(at: datetime) -> str:
    """RFC 3339 in UTC, to the second."""
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def decision_entry(base_url: str, row: DecisionRow) -> FeedEntry:
    outcome = "Granted" if row.decision is Decision.POSITIVE else "Refused"
    purposes = ", ".join(p.label for p in row.purposes)
    summary = (
        f"{row.decision.value} decision of {row.decided_on.isoformat()} on "
        f"{row.reference} ({row.organisation or 'individual applicant'}; "
        f"{purposes}). Reasons: {row.reasons}"
    )
    return FeedEntry(
        id=f"{base_url}/register#decision-{row.reference}",
        title=f"{outcome}: {row.reference} {row.title}",
        updated=row.decided_at,
        link=f"{base_url}/register?show=decisions#decision-{row.reference}",
        summary=summary,
    )


def permit_entry(base_url: str, row: PermitRow) -> FeedEntry:
    datasets = ", ".join(d.title for d in row.datasets)
    summary = (
        f"Permit {row.reference} ({row.status}) for "
        f"{row.organisation or 'an individual applicant'}, from "
        f"{row.starts_on.isoformat()} to {row.ends_on.isoformat()}: {datasets}."
    )
    return FeedEntry(
        id=f"{base_url}/register#permit-{row.reference}",
        title=f"Permit {row.reference} ({row.status}): {row.title}",
        updated=row.changed_at,
        link=f"{base_url}/register?show=permits#permit-{row.reference}",
        summary=summary,
    )


def atom_feed(base_url: str, entries: Sequence[FeedEntry], now: datetime) -> bytes:
    """An Atom 1.0 (RFC 4287) document; ElementTree escapes every text and attribute."""

    def sub(
        parent: ET.Element, tag: str, text: str | None = None, **attrs: str
    ) -> ET.Element:
        element = ET.SubElement(parent, tag, attrs)
        element.text = None if text is None else _NOT_XML.sub("", text)
        return element

    # Plain tag names under a default xmlns: ElementTree's own default_namespace refuses
    # the unqualified attributes (rel, href) that Atom uses.
    feed = ET.Element("feed", {"xmlns": ATOM, XML_LANG: "en"})
    sub(feed, "id", f"{base_url}/register")
    sub(feed, "title", "Public register of the data authority: decisions and permits")
    updated = max((e.updated for e in entries), default=now)
    sub(feed, "updated", _stamp(updated))
    author = sub(feed, "author")
    sub(author, "name", "The data authority")
    sub(author, "uri", base_url)
    sub(
        feed,
        "link",
        rel="self",
        type="application/atom+xml",
        href=f"{base_url}/register/feed.atom",
    )
    sub(feed, "link", rel="alternate", type="text/html", href=f"{base_url}/register")
    for entry in entries:
        element = sub(feed, "entry")
        sub(element, "id", entry.id)
        sub(element, "title", entry.title)
        sub(element, "updated", _stamp(entry.updated))
        sub(element, "link", rel="alternate", type="text/html", href=entry.link)
        sub(element, "summary", entry.summary)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


@router.get(
    "/register/feed.atom",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}},
    summary="Atom feed of the latest public decisions and permits.",
)
def register_feed(session: SessionDep, config: ConfigDep, _actor: Reader) -> Response:
    now = config.now()
    today = local_date(now)
    base = config.base_url.rstrip("/")
    decided = register.decisions(session, config, today=today, page_size=FEED_ENTRIES)
    granted = register.permits(session, config, today=today, page_size=FEED_ENTRIES)
    entries = sorted(
        [
            *(decision_entry(base, row) for row in decided.items),
            *(permit_entry(base, row) for row in granted.items),
        ],
        key=lambda e: (e.updated, e.id),
        reverse=True,
    )[:FEED_ENTRIES]
    return Response(atom_feed(base, entries, now), media_type=ATOM_TYPE)


# --- KPIs ----------------------------------------------------------------------------


@router.get(
    "/api/v1/kpis",
    summary="Authorisation times and rate, volumes by sector, overdue and status counts.",
)
def kpis(session: SessionDep, config: ConfigDep, _actor: KpiReader) -> kpi_service.Kpis:
    return kpi_service.kpis(
        session,
        config,
        today=local_date(config.now()),
        lang=current_language.get(),
    )
