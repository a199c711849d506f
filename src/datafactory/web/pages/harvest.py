"""The harvest administration page: sources, their last report, and "Run now"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from datafactory.catalogue.harvest import sources
from datafactory.catalogue.harvest.run import start_harvest
from datafactory.identity.actor import Actor
from datafactory.web.deps import RuntimeDep, SessionDep, allow
from datafactory.web.pages import page_router
from datafactory.web.templating import render

router = page_router("pages")


@router.get("/admin/harvest")
def harvest_page(
    request: Request,
    session: SessionDep,
    actor: Annotated[Actor, Depends(allow("harvest.source.list"))],
) -> Any:
    found = sources.list_sources(session, actor)
    runs = sources.last_runs(session, [s.id for s in found])
    rows = [(source, runs.get(source.id)) for source in found]
    return render(request, "harvest.html", {"rows": rows})


@router.post("/admin/harvest/{source_id}/runs")
def run_now(
    source_id: int,
    session: SessionDep,
    runtime: RuntimeDep,
    actor: Annotated[Actor, Depends(allow("harvest.run"))],
) -> RedirectResponse:
    source = sources.get_source(session, actor, source_id)
    job = start_harvest(session, actor, source=source, submit=runtime.queue.submit)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)
