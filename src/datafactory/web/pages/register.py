"""The public register and the KPI dashboard, for anyone, without signing in.

``/register`` shows one of four lists at a time (``?show=``: applications received,
decisions, permits, successful cases) as a paged table, with links to the same list as
JSON and CSV and to the Atom feed. ``/register/kpis`` draws the procedure's KPIs as inline
SVG bar charts (``_kpi_chart.html``), each followed by a table of the same figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request

from datafactory.identity.actor import Actor
from datafactory.permits import kpis as kpi_service
from datafactory.permits import register
from datafactory.permits.clocks import local_date
from datafactory.web.api.permits import ConfigDep
from datafactory.web.deps import SessionDep, allow
from datafactory.web.i18n import current_language
from datafactory.web.messages import N_
from datafactory.web.pages import page_router
from datafactory.web.templating import render

router = page_router("register")
Reader = Annotated[Actor, Depends(allow("permits.register.view"))]
KpiReader = Annotated[Actor, Depends(allow("permits.kpi.view"))]
Section = Literal["applications", "decisions", "permits", "successes"]

PAGE_SIZE = 25
#: The CSV links ask for this many rows: the whole register in all but a large country.
CSV_PAGE_SIZE = register.MAX_PAGE_SIZE

SECTIONS: dict[str, str] = {
    "applications": N_("Applications received"),
    "decisions": N_("Decisions"),
    "permits": N_("Permits"),
    "successes": N_("Successful cases"),
}
API_PATHS = {
    "applications": "/api/v1/register/applications",
    "decisions": "/api/v1/register/decisions",
    "permits": "/api/v1/register/permits",
    "successes": "/api/v1/register/successes",
}
STATUS_LABELS = {
    "SUBMITTED": N_("Submitted"),
    "PRE_SCREENING": N_("Pre-screening"),
    "AWAITING_ADDITIONAL_INFORMATION": N_("Awaiting additional information"),
    "PROCESSING": N_("Processing"),
    "DECISION_ISSUED": N_("Decision issued, not yet published"),
    "POSITIVE_DECISION_ISSUED": N_("Positive decision issued"),
    "NEGATIVE_DECISION_ISSUED": N_("Negative decision issued"),
    "WITHDRAWN": N_("Withdrawn"),
    "GRANTED": N_("Granted"),
    "AMENDED": N_("Amended"),
    "RENEWED": N_("Renewed"),
    "REVOKED": N_("Revoked"),
    "EXPIRED": N_("Expired"),
}
DECISION_LABELS = {"POSITIVE": N_("Positive"), "NEGATIVE": N_("Negative")}
KIND_LABELS = {
    "new": N_("New application"),
    "amendment": N_("Amendment"),
    "renewal": N_("Renewal"),
}
FORM_LABELS = {
    "anonymised": N_("Anonymised"),
    "pseudonymised": N_("Pseudonymised"),
    "aggregated": N_("Aggregated"),
}
SECTOR_LABELS = {
    "public_body": N_("Public body"),
    "data_holder": N_("Data holder"),
    "authority": N_("Authority"),
    "research": N_("Research organisation"),
    "company": N_("Company"),
    "trusted_third_party": N_("Trusted third party"),
    "citizens": N_("Citizens' organisation"),
    kpi_service.INDIVIDUAL: N_("Person without an organisation"),
    "public": N_("Public sector"),
    "private": N_("Private sector"),
}

#: KPI charts: the width of a full bar and the height of one labelled row, in SVG units.
BAR_WIDTH, ROW_HEIGHT = 480, 48


@dataclass(frozen=True)
class KpiBar:
    """One bar of a KPI chart: its label above it, its value after it."""

    label: str
    value: float
    display: str
    y: int
    width: float
    css: str = ""


def kpi_bars(
    rows: list[tuple[str, float]], *, css: dict[str, str] | None = None
) -> list[KpiBar]:
    """Lay out ``(label, value)`` rows as bars scaled to the largest value."""
    most = max([value for _, value in rows] + [0.0])
    return [
        KpiBar(
            label=label,
            value=value,
            display=f"{value:g}",
            y=i * ROW_HEIGHT,
            width=round(BAR_WIDTH * value / most, 1) if most else 0.0,
            css=(css or {}).get(label, ""),
        )
        for i, (label, value) in enumerate(rows)
    ]


@router.get("/register")
def register_page(
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    _actor: Reader,
    show: Section = "applications",
    page: Annotated[int, Query(ge=1)] = 1,
) -> Any:
    today = local_date(config.now())
    lang = current_language.get()
    lists: dict[str, Callable[..., register.RegisterPage[Any]]] = {
        "applications": register.applications_received,
        "decisions": register.decisions,
        "permits": register.permits,
        "successes": register.success_stories,
    }
    totals: dict[str, int] = {}
    result: register.RegisterPage[Any] | None = None
    for key, query in lists.items():
        shown = key == show
        found = query(
            session,
            config,
            today=today,
            page=page if shown else 1,
            page_size=PAGE_SIZE if shown else 1,
            lang=lang,
        )
        totals[key] = found.total
        if shown:
            result = found
    assert result is not None
    context = {
        "show": show,
        "sections": SECTIONS,
        "totals": totals,
        "rows": result.items,
        "total": result.total,
        "page": page,
        "pages": max(1, -(-result.total // PAGE_SIZE)),
        "json_url": f"{API_PATHS[show]}?page={page}&page_size={PAGE_SIZE}",
        "csv_url": f"{API_PATHS[show]}?format=csv&page_size={CSV_PAGE_SIZE}",
        "status_labels": STATUS_LABELS,
        "decision_labels": DECISION_LABELS,
        "kind_labels": KIND_LABELS,
        "form_labels": FORM_LABELS,
        "delay": config.register_delay_working_days,
    }
    return render(request, "register.html", context)


@router.get("/register/kpis")
def kpis_page(
    request: Request, session: SessionDep, config: ConfigDep, _actor: KpiReader
) -> Any:
    figures = kpi_service.kpis(
        session, config, today=local_date(config.now()), lang=current_language.get()
    )
    timed_regimes = [
        g
        for g in figures.authorisation_time_by_regime
        if g.submission_to_decision.count
    ]
    timed_purposes = [
        g
        for g in figures.authorisation_time_by_purpose
        if g.submission_to_decision.count
    ]
    rate = figures.authorisation_rate
    sectors = [c for c in figures.volume_by_sector if c.count]
    context = {
        "figures": figures,
        "rate_percent": None if rate.rate is None else round(100 * rate.rate, 1),
        "timed_regimes": timed_regimes,
        "timed_purposes": timed_purposes,
        "regime_bars": kpi_bars(
            [
                (g.label, g.submission_to_decision.median_days or 0.0)
                for g in timed_regimes
            ]
        ),
        "purpose_bars": kpi_bars(
            [
                (g.label, g.submission_to_decision.median_days or 0.0)
                for g in timed_purposes
            ]
        ),
        "decision_bars": kpi_bars(
            [
                (DECISION_LABELS["POSITIVE"], float(rate.positive)),
                (DECISION_LABELS["NEGATIVE"], float(rate.negative)),
            ],
            css={
                DECISION_LABELS["POSITIVE"]: "band-excellent",
                DECISION_LABELS["NEGATIVE"]: "band-bad",
            },
        ),
        "sectors": sectors,
        "sector_bars": kpi_bars(
            [(SECTOR_LABELS.get(c.code, c.code), float(c.count)) for c in sectors]
        ),
        "public_private_bars": kpi_bars(
            [
                (SECTOR_LABELS.get(c.code, c.code), float(c.count))
                for c in figures.volume_by_public_private
            ]
        ),
        "status_bars": kpi_bars(
            [
                (STATUS_LABELS.get(c.code, c.code), float(c.count))
                for c in figures.by_status
            ]
        ),
        "status_labels": STATUS_LABELS,
        "sector_labels": SECTOR_LABELS,
        "bar_width": BAR_WIDTH,
        "row_height": ROW_HEIGHT,
    }
    return render(request, "kpis.html", context)
