"""Pages: Jinja templates with htmx. Every page router checks CSRF on every unsafe request."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request

from datafactory.core.errors import Forbidden
from datafactory.web.templating import CSRF_KEY

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def check_csrf(request: Request) -> None:
    """Unsafe requests must echo the session's CSRF token in the form or a header."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(CSRF_KEY)
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise Forbidden("This form has expired. Reload the page and try again.")


def page_router(room: str) -> APIRouter:
    return APIRouter(
        tags=[room], include_in_schema=False, dependencies=[Depends(check_csrf)]
    )
