"""Signing in and out with a password."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse

from datafactory.core.errors import TooManyRequests
from datafactory.identity.actor import Actor
from datafactory.identity.sign_in import (
    record_failure,
    sign_in_with_password,
    throttle_check,
)
from datafactory.web.deps import SESSION_PERSON, RuntimeDep, SessionDep, allow
from datafactory.web.pages import page_router
from datafactory.web.pages.home import local_path
from datafactory.web.templating import csrf_token, render

router = page_router("pages")
Viewer = Annotated[Actor, Depends(allow("platform.view"))]
WRONG = "The e-mail address or the password is wrong."
THROTTLED = (
    "Too many failed sign-ins for this account. Wait a few minutes and try again."
)


@router.get("/sign-in")
def sign_in_form(request: Request, _actor: Viewer, next: str = "/") -> Any:
    return render(request, "sign_in.html", {"next": local_path(next), "email": ""})


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    _actor: Viewer,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form()] = "/",
) -> Any:
    limits = runtime.sign_in_limits
    context = {"next": local_path(next), "email": email}
    try:
        throttle_check(session, limits, email)
    except TooManyRequests as exc:
        record_failure(session, limits, email, "throttled")
        response = render(
            request, "sign_in.html", {**context, "error": THROTTLED}, status_code=429
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    person = sign_in_with_password(session, limits, email=email, password=password)
    if person is None:
        # Returned, not raised: the failure must be committed to be counted and ledgered.
        return render(
            request, "sign_in.html", {**context, "error": WRONG}, status_code=401
        )
    request.session.clear()
    request.session[SESSION_PERSON] = person.id
    csrf_token(request)  # a fresh token for the new session
    return RedirectResponse(local_path(next), status_code=303)


@router.post("/sign-out")
def sign_out(request: Request, _actor: Viewer) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/", status_code=303)
