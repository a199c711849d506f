"""The data steward's editor (create a draft, edit its working copy, publish it) and the
publisher pages that list what an organisation publishes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from datafactory.catalogue import publishers, records, service, vocabularies
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import DatasetStatus, RecordKind, pick
from datafactory.core.errors import InvalidInput
from datafactory.identity.actor import Actor
from datafactory.web.deps import SessionDep, SettingsDep, allow
from datafactory.web.i18n import current_language
from datafactory.web.pages import page_router
from datafactory.web.pages.catalogue_records import PATHS as RECORD_PATHS
from datafactory.web.pages.editor_form import (
    LANGUAGE_NAMES,
    VOCABULARY_OF,
    EditorForm,
    field_errors,
    form_field,
    readable,
)
from datafactory.web.templating import render

router = page_router("pages")
Anyone = Annotated[Actor, Depends(allow("catalogue.view"))]
Creator = Annotated[Actor, Depends(allow("catalogue.dataset.create"))]
Editor = Annotated[Actor, Depends(allow("catalogue.dataset.edit"))]
Releaser = Annotated[Actor, Depends(allow("catalogue.dataset.publish"))]


async def _submitted(request: Request) -> EditorForm:
    form = await request.form()
    return EditorForm.from_form(form, form.getlist("themes"))


Submitted = Annotated[EditorForm, Depends(_submitted)]


def _options(name: str, lang: str, chosen: list[str]) -> list[tuple[str, str]]:
    """(IRI, label) of a vocabulary, then any chosen value it lacks (kept, not lost)."""
    known = vocabularies.load(VOCABULARY_OF[name])
    listed = [(c.iri, known.label(c.iri, lang)) for c in known]
    return listed + [(v, v) for v in chosen if v and v not in known]


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    form: EditorForm,
    *,
    dataset: Dataset | None = None,
    problem: InvalidInput | None = None,
    saved: bool = False,
) -> Any:
    lang = current_language.get()
    context = {
        "dataset": dataset,
        "form": form,
        "problem": problem,
        "summary": [(readable(e.message), form_field(e.field)) for e in problem.errors]
        if problem
        else [],
        "field_errors": field_errors(problem),
        "saved": saved,
        "languages": LANGUAGE_NAMES,
        "options": {
            name: _options(
                name,
                lang,
                form.themes if name == "themes" else [form.value(name)],
            )
            for name in VOCABULARY_OF
        },
        "publishers": publishers.publishers_for(session, actor)
        if dataset is None
        else [],
        "publisher": publishers.publisher_of(session, dataset) if dataset else None,
    }
    status = 422 if problem else 200
    return render(request, "editor.html", context, status_code=status)


@router.get("/datasets/new")
def new_dataset(request: Request, session: SessionDep, actor: Creator) -> Any:
    return _page(request, session, actor, EditorForm())


@router.post("/datasets/new")
def create_dataset(
    request: Request, session: SessionDep, actor: Creator, form: Submitted
) -> Any:
    try:
        publisher_id, metadata = form.new_dataset()
        dataset = service.create_dataset(
            session, actor, publisher_id=publisher_id, metadata=metadata
        )
    except InvalidInput as problem:
        return _page(request, session, actor, form, problem=problem)
    return RedirectResponse(f"/datasets/{dataset.id}/edit?saved=1", status_code=303)


@router.get("/datasets/{dataset_id}/edit")
def edit_page(
    dataset_id: str,
    request: Request,
    session: SessionDep,
    actor: Editor,
    saved: bool = False,
) -> Any:
    dataset = service.get_dataset(session, actor, dataset_id)
    service.ensure_may_edit(actor, dataset)
    form = EditorForm.from_metadata(service.metadata_of(session, dataset, draft=True))
    return _page(request, session, actor, form, dataset=dataset, saved=saved)


@router.post("/datasets/{dataset_id}/edit")
def save_dataset(
    dataset_id: str,
    request: Request,
    session: SessionDep,
    actor: Editor,
    form: Submitted,
) -> Any:
    dataset = service.get_dataset(session, actor, dataset_id)
    current = service.metadata_of(session, dataset, draft=True)
    try:
        service.edit_dataset(
            session, actor, dataset_id=dataset_id, changes=form.changes(current)
        )
    except InvalidInput as problem:
        # edit_dataset validates before it writes, so nothing has changed.
        return _page(request, session, actor, form, dataset=dataset, problem=problem)
    return RedirectResponse(f"/datasets/{dataset_id}/edit?saved=1", status_code=303)


@router.post("/datasets/{dataset_id}/publish")
def publish_dataset(
    dataset_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Releaser,
) -> Any:
    try:
        service.publish_dataset(
            session, actor, dataset_id=dataset_id, base_url=settings.base_url
        )
    except InvalidInput as problem:
        # The SHACL violations, shown beside the fields of the saved working copy.
        dataset = service.get_dataset(session, actor, dataset_id)
        meta = service.metadata_of(session, dataset, draft=True)
        form = EditorForm.from_metadata(meta)
        return _page(request, session, actor, form, dataset=dataset, problem=problem)
    return RedirectResponse(f"/datasets/{dataset_id}", status_code=303)


@router.get("/publishers/{slug}")
def publisher_page(
    slug: str, request: Request, session: SessionDep, actor: Anyone
) -> Any:
    found = publishers.get_publisher(session, actor, slug)
    lang = current_language.get()

    def rows(datasets: list[Dataset], *, draft: bool) -> list[tuple[str, str]]:
        return [
            (d.id, pick(service.metadata_of(session, d, draft=draft).title, lang))
            for d in datasets
        ]

    context = {
        "organisation": found.organisation,
        "published": rows(found.published, draft=False),
        "drafts": rows(found.drafts, draft=True),
        "may_edit": found.may_edit,
        "records": [
            {
                "path": RECORD_PATHS[RecordKind(r.kind)],
                "id": r.id,
                "kind": r.kind,
                "draft": r.status != DatasetStatus.published.value,
                "title": pick(records.metadata_of(session, r).title, lang),
            }
            for r in found.records
        ],
    }
    return render(request, "publisher.html", context)
