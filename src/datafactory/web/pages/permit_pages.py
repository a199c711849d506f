"""A permit's pages: my permits, one permit with its signed JWS, my GA4GH passport."""

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.core.errors import (
    InvalidInput,
)
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Person
from datafactory.permits import issuing
from datafactory.permits.config import PermitsConfig
from datafactory.permits.models import Application
from datafactory.permits.schemas import (
    DataForm,
)
from datafactory.web.api.permits import ConfigDep
from datafactory.web.deps import SessionDep, allow
from datafactory.web.i18n import current_language
from datafactory.web.pages import page_router
from datafactory.web.pages.wizard_form import (
    DATA_FORMS,
    PERMIT_DONE,
    PERMIT_STATUS,
    dataset_title,
    rows_of,
    strings_of,
)
from datafactory.web.templating import render

router = page_router("permits")
Participant = Annotated[Actor, Depends(allow("permits.application.use"))]


# --- permits ----------------------------------------------------------------------------


@router.get("/permits")
def permits(request: Request, session: SessionDep, actor: Participant) -> Any:
    """The permits that name me."""
    context = {
        "permits": issuing.permits_of(session, actor),
        "permit_status": PERMIT_STATUS,
    }
    return render(request, "permits.html", context)


@router.get("/permits/passport.json")
def passport(
    session: SessionDep, config: ConfigDep, actor: Participant
) -> JSONResponse:
    """My GA4GH passport, as ``/api/v1/passport`` gives it, for the signed-in browser."""
    visas = issuing.visas_for(session, actor, config)
    return JSONResponse(
        {"ga4gh_passport_v1": visas},
        headers={
            "Content-Disposition": 'attachment; filename="ga4gh-passport.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/permits/{permit_id}")
def permit_page(
    permit_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Participant,
    done: str | None = None,
) -> Any:
    """A permit's scope, its signed JWS and the link to my passport."""
    return render_permit(request, session, config, actor, permit_id, done=done)


def render_permit(
    request: Request,
    session: Session,
    config: PermitsConfig,
    actor: Actor,
    permit_id: int,
    *,
    done: str | None = None,
    problem: InvalidInput | None = None,
    status_code: int = 200,
) -> Any:
    """The permit page, with what the holder or a decider may do to the permit."""
    permit = issuing.get_permit(session, actor, permit_id)
    lang = current_language.get()
    scope = permit.scope
    regimes = config.regimes
    regime_code = str(scope.get("regime", ""))
    regime = regimes.get(regime_code) if regime_code in regimes else None
    purposes = []
    for code in strings_of(scope.get("purposes")):
        known = (
            next((p for p in regime.purposes if p.code == code), None)
            if regime
            else None
        )
        purposes.append((known.label.get(lang), known.article) if known else (code, ""))
    datasets = [
        {
            "id": str(d.get("id", "")),
            "title": dataset_title(session, str(d.get("id", "")), lang),
            "variables": strings_of(d.get("variables")),
        }
        for d in rows_of(scope.get("datasets"))
    ]
    titles = {d["id"]: d["title"] for d in datasets}
    user_ids = [int(u) for u in scope.get("users", []) if isinstance(u, int)]
    users = list(
        session.scalars(
            select(Person).where(Person.id.in_(user_ids)).order_by(Person.name)
        )
    )
    form = str(scope.get("form") or "")
    form_words = next((DATA_FORMS[f][0] for f in DataForm if f.value == form), form)
    application = session.get(Application, permit.application_id)
    context = {
        "permit": permit,
        "status_words": PERMIT_STATUS.get(permit.status, permit.status),
        "regime_title": regime.title.get(lang) if regime else regime_code,
        "purposes": purposes,
        "purpose_detail": str(scope.get("purpose_detail", "")),
        "form_words": form_words,
        "datasets": datasets,
        "linkages": [
            [titles.get(x, x) for x in pair]
            for pair in (strings_of(p) for p in scope.get("linkages", []))
        ],
        "aggregate_tables": [
            {
                "name": str(t.get("name", "")),
                "dataset": titles.get(str(t.get("dataset", "")), t.get("dataset", "")),
                "group_by": strings_of(t.get("group_by")),
                "measures": strings_of(t.get("measures")),
            }
            for t in rows_of(scope.get("aggregate_tables"))
        ],
        "users": users,
        "conditions": str(scope.get("conditions", "")),
        "application": application,
        "in_force": permit.status in issuing.IN_FORCE,
        "may_change": permit.holder_id == actor.person_id,
        "may_revoke": policy.allowed(actor, "permits.permit.revoke"),
        "done": PERMIT_DONE.get(done or ""),
        "problem": problem,
    }
    return render(request, "permit.html", context, status_code=status_code)
