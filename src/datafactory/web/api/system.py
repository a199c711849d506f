"""Health, metrics, the OpenAPI document's human page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from datafactory.core.db import ping
from datafactory.identity.actor import Actor
from datafactory.web.deps import RuntimeDep, allow

router = APIRouter(tags=["system"])
Anyone = Annotated[Actor, Depends(allow("platform.view"))]


@router.get("/healthz", summary="Is the platform able to serve? Checks the database.")
def healthz(runtime: RuntimeDep, _actor: Anyone) -> Response:
    try:
        ping(runtime.engine)
    except SQLAlchemyError:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable"}, status_code=503
        )
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", summary="Prometheus metrics.", include_in_schema=False)
def metrics(request: Request, _actor: Anyone) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/docs", include_in_schema=False)
def api_docs(_actor: Anyone) -> HTMLResponse:
    # Swagger UI is vendored (static/vendor/swagger-ui): the platform needs no CDN.
    return HTMLResponse(
        """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>datafactory API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css"></head>
<body><main id="swagger-ui"></main>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script></body></html>"""
    )
