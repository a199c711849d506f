"""Jinja2 templates with gettext, CSRF tokens and the navigation for the actor's roles."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from datafactory.core.config import Settings
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.web.i18n import (
    LANGUAGES,
    Translator,
    current_language,
    load_catalogues,
)

TEMPLATES = Path(__file__).parent / "templates"
CSRF_KEY = "csrf"


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    action: str


# Each link shows only to actors the policy lets through; later rooms add theirs here.
NAVIGATION = (
    NavItem("Home", "/", "platform.view"),
    NavItem("Datasets", "/datasets", "catalogue.view"),
    NavItem("New dataset", "/datasets/new", "catalogue.dataset.create"),
    NavItem("Metadata quality", "/quality", "quality.view"),
    NavItem("Applications", "/applications", "permits.application.use"),
    NavItem("Handler queue", "/authority/queue", "permits.queue.view"),
    NavItem("Inbox", "/inbox", "permits.application.use"),
    NavItem("Public register", "/register", "permits.register.view"),
    NavItem("Clerical review", "/ttp/review", "ttp.review.view"),
    NavItem("Workspaces", "/workspaces", "spe.workspace.use"),
    NavItem("Output checking", "/checking", "spe.output.check"),
    NavItem("My account", "/account", "account.view"),
    NavItem("People and roles", "/admin/people", "identity.person.list"),
    NavItem("Audit ledger", "/audit", "audit.read"),
)


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return token


def navigation(actor: Actor) -> list[NavItem]:
    return [item for item in NAVIGATION if policy.allowed(actor, item.action)]


def make_templates(settings: Settings) -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        extensions=["jinja2.ext.i18n"],
        autoescape=select_autoescape(default=True),
    )
    translator = Translator(load_catalogues())
    # jinja2.ext.i18n adds this method at run time, so the type checker cannot see it.
    install = env.install_gettext_callables  # type: ignore[attr-defined]
    install(translator.gettext, translator.ngettext, newstyle=True)
    env.globals.update(
        csrf_token=csrf_token,
        navigation=navigation,
        languages=LANGUAGES,
        current_language=current_language.get,
        base_url=settings.base_url,
        oidc_providers=settings.oidc_providers,
    )
    return Jinja2Templates(env=env)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Any:
    templates: Jinja2Templates = request.app.state.templates
    actor = getattr(request.state, "actor", None) or Actor.anonymous()
    return templates.TemplateResponse(
        request, name, {"actor": actor, **context}, status_code=status_code
    )
