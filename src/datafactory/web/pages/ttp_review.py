"""The clerical review queue of identifier matching, for TTP operators.

``/ttp/review`` lists the pending pairs, the most likely matches first, with how each field
agreed and masked hints only; each row has one form whose two buttons accept (the same
person) or reject (different people) the pair through ``/ttp/review/{pair_id}/decision``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from datafactory.core.errors import Conflict, DatafactoryError, FieldError, InvalidInput
from datafactory.identity.actor import Actor
from datafactory.ttp import review
from datafactory.web.deps import SessionDep, allow
from datafactory.web.messages import N_
from datafactory.web.pages import page_router
from datafactory.web.templating import render

router = page_router("ttp")
Reviewer = Annotated[Actor, Depends(allow("ttp.review.view"))]
Decider = Annotated[Actor, Depends(allow("ttp.review.decide"))]

PAGE_SIZE = 25
DECISIONS = {"accept": True, "reject": False}
OUTCOMES = {"accept": "accepted", "reject": "rejected"}

FIELD_WORDS: Mapping[str, str] = {
    "first_name": N_("First name"),
    "surname": N_("Surname"),
    "birth_date": N_("Birth date"),
    "sex": N_("Sex"),
    "address": N_("Address"),
    "postcode": N_("Postcode"),
}
KIND_WORDS: Mapping[str, str] = {
    "exact": N_("Same"),
    "swapped": N_("Same, with first name and surname swapped"),
    "similar": N_("Similar"),
    "different": N_("Different"),
    "missing": N_("Missing in one record"),
}
DONE_WORDS: Mapping[str, str] = {
    "accepted": N_("The pair was accepted: both records now belong to one person."),
    "rejected": N_("The pair was rejected: the records stay apart."),
}


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    page: int,
    run: int | None,
    done: str | None = None,
    problem: DatafactoryError | None = None,
) -> Any:
    found = review.pending_pairs(
        session, actor, run_id=run, page=page, page_size=PAGE_SIZE
    )

    def page_link(number: int) -> str:
        kept = [("run", str(run))] if run is not None else []
        return "/ttp/review?" + urlencode([*kept, ("page", str(number))])

    context = {
        "found": found,
        "run": run,
        "page_link": page_link,
        "done": DONE_WORDS.get(done or ""),
        "problem": problem,
        "field_words": FIELD_WORDS,
        "kind_words": KIND_WORDS,
    }
    status = problem.status if problem is not None else 200
    return render(request, "ttp_review.html", context, status_code=status)


@router.get("/ttp/review")
def review_page(
    request: Request,
    session: SessionDep,
    actor: Reviewer,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    run: Annotated[int | None, Query(ge=1)] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Any:
    """The pending pairs of identifier matching, page by page."""
    return _page(request, session, actor, page=page, run=run, done=done)


@router.post("/ttp/review/{pair_id}/decision")
def decide(
    pair_id: int,
    request: Request,
    session: SessionDep,
    actor: Decider,
    decision: Annotated[str, Form(max_length=10)],
    page: Annotated[int, Form(ge=1, le=100_000)] = 1,
    run: Annotated[str, Form(max_length=12)] = "",
) -> Any:
    """Accept or reject one pair, then back to the same page of the queue."""
    chosen_run = int(run) if run.strip().isdigit() else None
    try:
        if decision not in DECISIONS:
            raise InvalidInput(
                "Choose accept or reject.",
                errors=[FieldError("decision", "Choose accept or reject.")],
            )
        review.decide_pair(session, actor, pair_id=pair_id, accept=DECISIONS[decision])
    except (Conflict, InvalidInput) as problem:
        session.rollback()
        return _page(
            request, session, actor, page=page, run=chosen_run, problem=problem
        )
    kept = [("run", str(chosen_run))] if chosen_run is not None else []
    query = urlencode([*kept, ("page", str(page)), ("done", OUTCOMES[decision])])
    return RedirectResponse(f"/ttp/review?{query}", status_code=303)
