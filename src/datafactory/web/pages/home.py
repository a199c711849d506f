"""The home page and the language switch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from datafactory.core.errors import NotFound
from datafactory.identity.actor import Actor
from datafactory.web.deps import allow
from datafactory.web.i18n import LANGUAGES
from datafactory.web.pages import page_router
from datafactory.web.templating import render

router = page_router("pages")
Viewer = Annotated[Actor, Depends(allow("platform.view"))]


@router.get("/")
def home(request: Request, _actor: Viewer) -> Any:
    return render(request, "home.html", {})


@router.get("/language/{code}")
def choose_language(code: str, _actor: Viewer, next: str = "/") -> RedirectResponse:
    if code not in LANGUAGES:
        raise NotFound(f"There is no language {code!r} here.")
    response = RedirectResponse(local_path(next), status_code=303)
    response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax")
    return response


def local_path(target: str) -> str:
    """Only same-site paths: an open redirect would help phishing."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
