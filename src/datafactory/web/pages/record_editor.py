"""The data steward's editor for data services and dataset series: create a draft, edit its
working copy, publish it. It works as the dataset editor does (``editor.py``), under the same
policy rules, and goes through ``catalogue.records`` as the API does.

Publishing from the form saves what it holds first, so a steward who types and publishes
at once loses nothing when the SHACL validation refuses: the typed values are the saved
working copy the messages are about.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from datafactory.catalogue import publishers, records, service, vocabularies
from datafactory.catalogue.models import CatalogueRecord
from datafactory.catalogue.schemas import DRAFTS, RecordDraft, RecordKind, pick
from datafactory.core.errors import InvalidInput
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation
from datafactory.web.deps import SessionDep, SettingsDep, allow
from datafactory.web.i18n import current_language
from datafactory.web.pages import page_router
from datafactory.web.pages.editor_form import LANGUAGE_NAMES
from datafactory.web.pages.record_editor_form import (
    CHOICES,
    VOCABULARY_OF,
    RecordForm,
    field_errors,
    fields_of,
    input_names,
    summary,
)
from datafactory.web.templating import render

router = page_router("pages")
Creator = Annotated[Actor, Depends(allow("catalogue.dataset.create"))]
Editor = Annotated[Actor, Depends(allow("catalogue.dataset.edit"))]
Releaser = Annotated[Actor, Depends(allow("catalogue.dataset.publish"))]
SERVICE, SERIES = RecordKind.service, RecordKind.series
PATHS = {SERVICE: "services", SERIES: "series"}


async def _posted(request: Request) -> FormData:
    return await request.form()


Posted = Annotated[FormData, Depends(_posted)]


def _options(name: str, lang: str, chosen: list[str]) -> list[tuple[str, str]]:
    """(IRI, label) of a vocabulary, then any chosen value it lacks (kept, not lost)."""
    known = vocabularies.load(VOCABULARY_OF[name])
    listed = [(c.iri, known.label(c.iri, lang)) for c in known]
    return listed + [(v, v) for v in chosen if v and v not in known]


def _publisher_of_form(
    session: Session, actor: Actor, record: CatalogueRecord | None
) -> Organisation | None:
    """Whose datasets a service may serve: its publisher's; on a new record, the one
    publisher the steward may choose (with several, the choice comes after saving)."""
    if record is not None:
        return session.get(Organisation, record.publisher_id)
    choices = publishers.publishers_for(session, actor)
    return choices[0] if len(choices) == 1 else None


def _offered_datasets(
    session: Session,
    actor: Actor,
    kind: RecordKind,
    record: CatalogueRecord | None,
) -> list[tuple[str, str]] | None:
    """(reference, title) of the datasets a service may be said to serve: its
    publisher's published datasets, and every link it holds already (an IRI elsewhere
    too), by title. None when the form cannot tell the publisher yet."""
    if kind is not SERVICE:
        return None
    publisher = _publisher_of_form(session, actor, record)
    held = (
        records.record_refs(records.metadata_of(session, record, draft=True))
        if record is not None
        else []
    )
    if publisher is None and not held:
        return None
    lang = current_language.get()
    offered: dict[str, str] = {}
    named: set[str] = set()
    for ref in held:
        found = records.find_datasets(session, [ref])
        if found:
            named.add(found[0].id)
        offered[ref] = (
            pick(service.metadata_of(session, found[0]).title, lang) if found else ref
        )
    if publisher is not None:
        for dataset in publishers.get_publisher(
            session, actor, publisher.slug
        ).published:
            if dataset.id not in named and dataset.id not in offered:
                offered[dataset.id] = pick(
                    service.metadata_of(session, dataset).title, lang
                )
    return sorted(offered.items(), key=lambda item: (item[1].casefold(), item[0]))


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    form: RecordForm,
    *,
    offered: list[tuple[str, str]] | None,
    record: CatalogueRecord | None = None,
    problem: InvalidInput | None = None,
    saved: bool = False,
) -> Any:
    kind = form.kind
    lang = current_language.get()
    context = {
        "kind": kind.value,
        "path": PATHS[kind],
        "record": record,
        "form": form,
        "problem": problem,
        "summary": summary(kind, problem),
        "field_errors": field_errors(kind, problem),
        "saved": saved,
        "languages": LANGUAGE_NAMES,
        "options": {
            name: _options(
                name,
                lang,
                form.checked(name) if name in CHOICES[kind] else [form.value(name)],
            )
            for name in VOCABULARY_OF
            if name in fields_of(kind)
        },
        "datasets": offered,
        "publishers": publishers.publishers_for(session, actor)
        if record is None
        else [],
        "publisher": session.get(Organisation, record.publisher_id) if record else None,
    }
    status = 422 if problem else 200
    return render(request, "record_editor.html", context, status_code=status)


def _editable(
    session: Session, actor: Actor, kind: RecordKind, record_id: str
) -> CatalogueRecord:
    record = records.get_record(session, actor, kind, record_id)
    records.ensure_may_edit(actor, record)
    return record


def _save(
    session: Session,
    actor: Actor,
    record: CatalogueRecord,
    form: RecordForm,
    offered: list[tuple[str, str]] | None,
) -> None:
    """Write the form to the working copy if it changes anything; InvalidInput (and
    nothing written) if a field is wrong."""
    kind = form.kind
    current = records.metadata_of(session, record, draft=True)
    changes = form.changes(current, datasets=[ref for ref, _ in offered or []])
    before = current.model_dump(mode="json")
    after: RecordDraft = DRAFTS[kind].model_validate({**before, **changes})
    if after.model_dump(mode="json") != before:
        records.edit_record(
            session, actor, kind=kind, record_id=record.id, changes=changes
        )


def _new(request: Request, session: Session, actor: Actor, kind: RecordKind) -> Any:
    offered = _offered_datasets(session, actor, kind, None)
    return _page(request, session, actor, RecordForm(kind), offered=offered)


def _create(
    request: Request,
    session: Session,
    actor: Actor,
    kind: RecordKind,
    posted: FormData,
) -> Any:
    form = RecordForm.from_form(kind, posted)
    offered = _offered_datasets(session, actor, kind, None)
    try:
        publisher_id, metadata = form.new_record(
            datasets=[ref for ref, _ in offered or []]
        )
        record = records.create_record(
            session, actor, kind=kind, publisher_id=publisher_id, metadata=metadata
        )
    except InvalidInput as problem:
        return _page(request, session, actor, form, offered=offered, problem=problem)
    return RedirectResponse(f"/{PATHS[kind]}/{record.id}/edit?saved=1", status_code=303)


def _edit_page(
    request: Request,
    session: Session,
    actor: Actor,
    kind: RecordKind,
    record_id: str,
    saved: bool,
) -> Any:
    record = _editable(session, actor, kind, record_id)
    meta = records.metadata_of(session, record, draft=True)
    return _page(
        request,
        session,
        actor,
        RecordForm.from_metadata(kind, meta),
        offered=_offered_datasets(session, actor, kind, record),
        record=record,
        saved=saved,
    )


def _save_page(
    request: Request,
    session: Session,
    actor: Actor,
    kind: RecordKind,
    record_id: str,
    posted: FormData,
) -> Any:
    record = _editable(session, actor, kind, record_id)
    form = RecordForm.from_form(kind, posted)
    offered = _offered_datasets(session, actor, kind, record)
    try:
        _save(session, actor, record, form, offered)
    except InvalidInput as problem:
        return _page(
            request,
            session,
            actor,
            form,
            offered=offered,
            record=record,
            problem=problem,
        )
    return RedirectResponse(f"/{PATHS[kind]}/{record_id}/edit?saved=1", status_code=303)


def _publish(
    request: Request,
    session: Session,
    base_url: str,
    actor: Actor,
    kind: RecordKind,
    record_id: str,
    posted: FormData,
) -> Any:
    record = _editable(session, actor, kind, record_id)
    # The editor's "Save and publish" carries the fields; a bare form publishes the
    # working copy as saved.
    saving = any(name in posted for name in input_names(kind))
    if saving:
        form = RecordForm.from_form(kind, posted)
        offered = _offered_datasets(session, actor, kind, record)
        try:
            _save(session, actor, record, form, offered)
        except InvalidInput as problem:
            return _page(
                request,
                session,
                actor,
                form,
                offered=offered,
                record=record,
                problem=problem,
            )
    try:
        records.publish_record(
            session, actor, kind=kind, record_id=record_id, base_url=base_url
        )
    except InvalidInput as problem:
        # The SHACL violations, beside the fields of the working copy just saved.
        meta = records.metadata_of(session, record, draft=True)
        return _page(
            request,
            session,
            actor,
            RecordForm.from_metadata(kind, meta),
            offered=_offered_datasets(session, actor, kind, record),
            record=record,
            problem=problem,
            saved=saving,
        )
    return RedirectResponse(f"/{PATHS[kind]}/{record_id}", status_code=303)


# --- data services ------------------------------------------------------------------------


@router.get("/services/new")
def new_service(request: Request, session: SessionDep, actor: Creator) -> Any:
    return _new(request, session, actor, SERVICE)


@router.post("/services/new")
def create_service(
    request: Request, session: SessionDep, actor: Creator, posted: Posted
) -> Any:
    return _create(request, session, actor, SERVICE, posted)


@router.get("/services/{service_id}/edit")
def edit_service_page(
    service_id: str,
    request: Request,
    session: SessionDep,
    actor: Editor,
    saved: bool = False,
) -> Any:
    return _edit_page(request, session, actor, SERVICE, service_id, saved)


@router.post("/services/{service_id}/edit")
def save_service(
    service_id: str,
    request: Request,
    session: SessionDep,
    actor: Editor,
    posted: Posted,
) -> Any:
    return _save_page(request, session, actor, SERVICE, service_id, posted)


@router.post("/services/{service_id}/publish")
def publish_service(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Releaser,
    posted: Posted,
) -> Any:
    return _publish(
        request, session, settings.base_url, actor, SERVICE, service_id, posted
    )


# --- dataset series -----------------------------------------------------------------------


@router.get("/series/new")
def new_series(request: Request, session: SessionDep, actor: Creator) -> Any:
    return _new(request, session, actor, SERIES)


@router.post("/series/new")
def create_series(
    request: Request, session: SessionDep, actor: Creator, posted: Posted
) -> Any:
    return _create(request, session, actor, SERIES, posted)


@router.get("/series/{series_id}/edit")
def edit_series_page(
    series_id: str,
    request: Request,
    session: SessionDep,
    actor: Editor,
    saved: bool = False,
) -> Any:
    return _edit_page(request, session, actor, SERIES, series_id, saved)


@router.post("/series/{series_id}/edit")
def save_series(
    series_id: str,
    request: Request,
    session: SessionDep,
    actor: Editor,
    posted: Posted,
) -> Any:
    return _save_page(request, session, actor, SERIES, series_id, posted)


@router.post("/series/{series_id}/publish")
def publish_series(
    series_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: Releaser,
    posted: Posted,
) -> Any:
    return _publish(
        request, session, settings.base_url, actor, SERIES, series_id, posted
    )
