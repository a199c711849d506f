"""The metadata-quality dashboard, with its charts drawn as inline SVG on the server.

The Content-Security-Policy forbids inline scripts and styles, so the charts are SVG
elements whose sizes are attributes computed here; each has a ``<title>``, a ``<desc>``
and a data table beside it for anyone who cannot see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from datafactory.catalogue import mqa
from datafactory.catalogue.quality import scoring
from datafactory.identity.actor import Actor
from datafactory.web.deps import SessionDep, allow
from datafactory.web.pages import page_router
from datafactory.web.templating import render

router = page_router("quality")
Anyone = Annotated[Actor, Depends(allow("quality.view"))]

#: Bar charts: the label column, the width of a full bar and the height of a row.
LABEL_WIDTH, BAR_WIDTH, ROW_HEIGHT = 150, 300, 32


@dataclass(frozen=True)
class Bar:
    """One bar of a horizontal bar chart, with its geometry in SVG units."""

    label: str
    value: float
    maximum: float
    y: int
    width: float
    css: str = ""


def bars(
    rows: list[tuple[str, float, float]], *, css: dict[str, str] | None = None
) -> list[Bar]:
    """Lay out ``(label, value, maximum)`` rows as bars scaled to their maximum."""
    return [
        Bar(
            label,
            value,
            maximum,
            y=i * ROW_HEIGHT,
            width=round(BAR_WIDTH * value / maximum, 1) if maximum else 0.0,
            css=(css or {}).get(label, ""),
        )
        for i, (label, value, maximum) in enumerate(rows)
    ]


BAND_CSS = {
    "Excellent": "band-excellent",
    "Good": "band-good",
    "Sufficient": "band-sufficient",
    "Bad": "band-bad",
}


def band_ranges() -> dict[str, str]:
    """Each band's points, "351–405" and so on, from the methodology's lower bounds."""
    ranges: dict[str, str] = {}
    upper = mqa.MAX_TOTAL
    for lower, band in mqa.BANDS:
        ranges[band] = f"{lower}–{upper}"
        upper = lower - 1
    return ranges


@router.get("/quality")
def quality_page(request: Request, session: SessionDep, _actor: Anyone) -> Any:
    figures = scoring.catalogue_quality(session)
    dimension_bars = bars(
        [(d, figures.by_dimension[d], scoring.DIMENSION_MAX[d]) for d in mqa.DIMENSIONS]
    )
    most = max([*figures.bands.values(), 1])
    band_bars = bars(
        [(band, figures.bands[band], most) for _, band in mqa.BANDS], css=BAND_CSS
    )
    context = {
        "figures": figures,
        "max_total": mqa.MAX_TOTAL,
        "dimension_bars": dimension_bars,
        "band_bars": band_bars,
        "label_width": LABEL_WIDTH,
        "bar_width": BAR_WIDTH,
        "row_height": ROW_HEIGHT,
        "band_ranges": band_ranges(),
        "band_css": BAND_CSS,
    }
    return render(request, "quality.html", context)
