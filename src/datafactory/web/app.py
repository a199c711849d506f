"""The app factory: wires settings, the runtime, middleware, error handlers and routers.

Nothing here does domain work; it only connects the rooms (STYLE.md section 14).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from datafactory.core.config import Settings
from datafactory.core.logs import configure_logging
from datafactory.runtime import Runtime
from datafactory.web import problems
from datafactory.web.api import airlock as airlock_api
from datafactory.web.api import audit as audit_api
from datafactory.web.api import catalogue as catalogue_api
from datafactory.web.api import catalogue_records as catalogue_records_api
from datafactory.web.api import ckan as ckan_api
from datafactory.web.api import credentials as credentials_api
from datafactory.web.api import harvest as harvest_api
from datafactory.web.api import identity as identity_api
from datafactory.web.api import jobs as jobs_api
from datafactory.web.api import permits as permits_api
from datafactory.web.api import products as products_api
from datafactory.web.api import quality as quality_api
from datafactory.web.api import register as register_api
from datafactory.web.api import sources as sources_api
from datafactory.web.api import spe as spe_api
from datafactory.web.api import system as system_api
from datafactory.web.api import ttp as ttp_api
from datafactory.web.api import ttp_linkage as ttp_linkage_api
from datafactory.web.middleware import BodyLimit, Language, Metrics, RequestContext
from datafactory.web.pages import (
    account,
    admin,
    audit,
    catalogue,
    editor,
    handling,
    harvest,
    home,
    inbox,
    oidc,
    permit_changes,
    permit_pages,
    quality,
    record_editor,
    register,
    sign_in,
    ttp_review,
)
from datafactory.web.pages import airlock as airlock_pages
from datafactory.web.pages import applications as applicant_pages
from datafactory.web.pages import catalogue_records as catalogue_records_pages
from datafactory.web.pages import spe as spe_pages
from datafactory.web.templating import make_templates

STATIC = Path(__file__).parent / "static"


def _operation_id(route: APIRoute) -> str:
    room = route.tags[0] if route.tags else "platform"
    return f"{room}-{route.name}"


def create_app(
    settings: Settings | None = None, runtime: Runtime | None = None
) -> FastAPI:
    settings = settings or (runtime.settings if runtime else Settings())
    runtime = runtime or Runtime(settings)
    configure_logging(settings.log_level, json=settings.log_json)
    app = FastAPI(
        title="datafactory",
        summary="Luxembourg's platform for sharing public-sector data safely.",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=_operation_id,
    )
    app.state.runtime = runtime
    app.state.templates = make_templates(settings)
    app.state.metrics = Metrics()
    app.state.oauth = oidc.build_oauth(settings)
    problems.install(app)
    for router in (
        system_api.router,
        identity_api.router,
        audit_api.router,
        jobs_api.router,
        catalogue_api.router,
        catalogue_records_api.router,
        harvest_api.router,
        ckan_api.router,
        quality_api.router,
        products_api.router,
        permits_api.router,
        credentials_api.router,
        register_api.router,
        ttp_api.router,
        ttp_linkage_api.router,
        sources_api.router,
        spe_api.router,
        airlock_api.router,
        home.router,
        sign_in.router,
        oidc.router,
        account.router,
        admin.router,
        audit.router,
        editor.router,  # before catalogue: /datasets/new is no dataset id
        catalogue.router,
        record_editor.router,  # before the record pages: /services/new is no id
        catalogue_records_pages.router,
        harvest.router,
        quality.router,
        register.router,
        applicant_pages.router,  # before handling: /applications/new is no id
        handling.router,
        inbox.router,
        permit_pages.router,
        permit_changes.router,
        ttp_review.router,
        spe_pages.router,
        airlock_pages.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret(),
        session_cookie="datafactory_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(Language)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext, metrics=app.state.metrics)
    return app


def create_app_from_env() -> FastAPI:
    """For ``uvicorn --factory`` in each worker of ``datafactory serve``."""
    return create_app(Settings())
