"""The applicant's pages: my applications and permits, the application wizard, the inbox.

The wizard saves one step at a time with the ``save_draft`` command: the step's fields are
merged into the saved form, so a draft may stay incomplete until "Check and submit", where
the completeness check lists what is left and the ``submit`` command sends it. Whatever
was typed stays on the page when something is wrong, with the message beside its field
and a summary at the top, as in the dataset editor. Everything works without JavaScript:
adding a team member, a dataset or a linkage is a submit button that saves the step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from datafactory.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
)
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Person
from datafactory.permits import applications, issuing, notifications, procedure
from datafactory.permits.completeness import ABSTRACT_MAX_WORDS, PROHIBITED_USE_TEXT
from datafactory.permits.config import PermitsConfig
from datafactory.permits.models import Application
from datafactory.permits.schemas import (
    MAX_GROUPS,
    ApplicationCreate,
    ApplicationForm,
    CommandIn,
    DataForm,
    DatasetRequest,
    Gap,
)
from datafactory.permits.workflow import Command, State
from datafactory.web.api.permits import ConfigDep
from datafactory.web.deps import SessionDep, allow
from datafactory.web.i18n import current_language
from datafactory.web.messages import N_
from datafactory.web.pages import page_router
from datafactory.web.pages.editor_form import readable
from datafactory.web.pages.wizard_form import (
    APPLICATION_STATUS,
    DATA_FORMS,
    ETHICS_STATUS,
    LAST_STEP,
    LEGAL_BASES,
    NEXT_STEPS,
    PARSERS,
    PERMIT_STATUS,
    SENSITIVITY,
    STEPS,
    DatasetChoice,
    Posted,
    PostedDep,
    Step,
    VariableInfo,
    dataset_title,
    friendly_message,
    invalid_input,
    key_of,
    my_organisations,
    person_id_of,
    protected_datasets,
    rows_of,
    safe,
    size_in_words,
    step_of,
    strings_of,
    variable_key,
)
from datafactory.web.templating import render

router = page_router("permits")
Participant = Annotated[Actor, Depends(allow("permits.application.use"))]
Applicant = Annotated[Actor, Depends(allow("permits.application.create"))]

# --- the wizard's pages -----------------------------------------------------------------


@dataclass(frozen=True)
class VariableRow:
    key: str
    name: str
    label: str
    sensitivity: str
    checked: bool
    justification: str


@dataclass(frozen=True)
class DatasetRow:
    index: int
    id: str
    title: str
    requestable: bool
    variables: list[VariableRow]


@dataclass(frozen=True)
class TableOption:
    """A variable an aggregate table may count by (or sum), ticked or not."""

    id: str
    name: str
    label: str
    checked: bool


@dataclass(frozen=True)
class TableRow:
    index: int
    name: str
    dataset_id: str
    dataset_title: str
    groups: list[TableOption]
    measures: list[TableOption]
    justification: str


@dataclass(frozen=True)
class GapRow:
    severity: str
    message: str
    href: str | None
    step: str


def _team_context(view: View) -> dict[str, Any]:
    team = [
        {"email": str(m.get("email", "")), "role": str(m.get("role", ""))}
        for m in rows_of(view.values.get("team"))
    ]
    return {
        "organisations": my_organisations(
            view.session, view.actor, view.values.get("organisation_id")
        ),
        "team_rows": [*team, {"email": "", "role": ""}],
    }


def _project_context(view: View) -> dict[str, Any]:
    regimes = view.config.regimes
    chosen = view.values.get("regime")
    purposes = (
        [
            (p.code, p.label.get(view.lang), p.article, p.public_bodies_only)
            for p in regimes.get(chosen).purposes
        ]
        if isinstance(chosen, str) and chosen in regimes
        else []
    )
    return {
        "regimes": [(r.code, r.title.get(view.lang), r.reference) for r in regimes],
        "purposes": purposes,
        "legal_groups": LEGAL_BASES,
        "abstract_words": len(str(view.values.get("abstract") or "").split()),
        "abstract_max": ABSTRACT_MAX_WORDS,
    }


def _data_context(view: View) -> dict[str, Any]:
    choices = protected_datasets(view.session, view.lang)
    requested = rows_of(view.values.get("datasets"))
    chosen: list[DatasetRow] = []
    for index, request in enumerate(requested):
        dataset_id = str(request.get("dataset_id", ""))
        asked = {
            str(v.get("name", "")): str(v.get("justification", ""))
            for v in rows_of(request.get("variables"))
        }
        choice = choices.get(dataset_id)
        dictionary = list(choice.variables) if choice else []
        listed = {v.name for v in dictionary}
        # A requested variable the dictionary lacks is shown too, so it can be unticked.
        dictionary += [VariableInfo(n, "", "") for n in asked if n not in listed]
        rows = []
        for variable in dictionary:
            key = variable_key(index, variable.name)
            rows.append(
                VariableRow(
                    key=key,
                    name=variable.name,
                    label=variable.label,
                    sensitivity=SENSITIVITY.get(variable.sensitivity, ""),
                    checked=variable.name in asked,
                    justification=asked.get(
                        variable.name, view.loose.get(f"{key}-why", "")
                    ),
                )
            )
        chosen.append(
            DatasetRow(
                index=index,
                id=dataset_id,
                title=choice.title
                if choice
                else dataset_title(view.session, dataset_id, view.lang),
                requestable=choice is not None,
                variables=rows,
            )
        )
    ids = [d.id for d in chosen]
    linkages = [
        {
            "left": str(pair[0]) if len(pair) > 0 else "",
            "right": str(pair[1]) if len(pair) > 1 else "",
            "why": str(link.get("justification", "")),
        }
        for link in rows_of(view.values.get("linkages"))
        for pair in [strings_of(link.get("datasets"))]
    ]
    named = [*ids, *(x for link in linkages for x in (link["left"], link["right"]))]
    titles = {d.id: d.title for d in chosen}
    offered = [f for f in DataForm if f in view.config.offered_forms]
    tables = _table_rows(view, choices, requested, titles)
    return {
        "show_tables": view.values.get("data_form") == DataForm.aggregated.value
        or bool(tables),
        "aggregated_chosen": view.values.get("data_form") == DataForm.aggregated.value,
        "aggregated_offered": DataForm.aggregated in view.config.offered_forms,
        "table_rows": tables,
        "new_table_name": view.loose.get("new_table_name", ""),
        "table_datasets": [(d.id, d.title) for d in chosen if d.requestable],
        "max_groups": MAX_GROUPS,
        "choices": [c for c in choices.values() if c.id not in ids],
        "chosen": chosen,
        "forms": [(f.value, *DATA_FORMS[f]) for f in offered],
        "anonymised_offered": DataForm.anonymised in view.config.offered_forms,
        "show_linkages": len(chosen) >= 2 or bool(linkages),
        "linkage_rows": [*linkages, {"left": "", "right": "", "why": ""}],
        "linkage_options": [(x, titles.get(x, x)) for x in dict.fromkeys(named) if x],
    }


_NUMERIC = ("integer", "decimal")


def _table_rows(
    view: View,
    choices: dict[str, DatasetChoice],
    requested: list[dict[str, Any]],
    titles: dict[str, str],
) -> list[TableRow]:
    """The aggregate tables with, for each, the requested variables of its dataset it
    may count by (not the direct identifiers) and the numbers it may sum. A variable
    the table names but may not use is listed too, ticked, so that it can be unticked."""
    asked = {
        str(r.get("dataset_id", "")): [
            str(v.get("name", "")) for v in rows_of(r.get("variables"))
        ]
        for r in requested
    }
    rows = []
    for index, table in enumerate(rows_of(view.values.get("aggregate_tables"))):
        dataset_id = str(table.get("dataset_id", ""))
        choice = choices.get(dataset_id)
        dictionary = {v.name: v for v in choice.variables} if choice else {}
        usable = [
            dictionary[n]
            for n in asked.get(dataset_id, [])
            if n in dictionary and dictionary[n].sensitivity != "direct_identifier"
        ]
        key = f"aggregate_tables-{index}"
        rows.append(
            TableRow(
                index=index,
                name=str(table.get("name", "")),
                dataset_id=dataset_id,
                dataset_title=titles.get(dataset_id)
                or dataset_title(view.session, dataset_id, view.lang),
                groups=_options(
                    f"{key}-group_by",
                    usable,
                    strings_of(table.get("group_by")),
                ),
                measures=_options(
                    f"{key}-measures",
                    [v for v in usable if v.type in _NUMERIC],
                    strings_of(table.get("measures")),
                ),
                justification=str(table.get("justification", "")),
            )
        )
    return rows


def _options(
    key: str, usable: list[VariableInfo], ticked: list[str]
) -> list[TableOption]:
    names = [v.name for v in usable]
    labels = {v.name: v.label for v in usable}
    return [
        TableOption(f"field-{key}-{safe(n)}", n, labels.get(n, ""), n in ticked)
        for n in [*names, *(n for n in ticked if n not in names)]
    ]


def _safeguards_context(view: View) -> dict[str, Any]:
    ethics = view.values.get("ethics")
    wanted = ethics.get("attachment_id") if isinstance(ethics, dict) else None
    attachment = next(
        (
            a
            for a in applications.attachments_of(view.session, view.application)
            if a.id == wanted
        ),
        None,
    )
    return {
        "ethics_statuses": ETHICS_STATUS,
        "attachment": attachment,
        "attachment_size": size_in_words(attachment.size) if attachment else "",
        "max_size": size_in_words(view.config.attachment_max_bytes),
        "prohibited": list(PROHIBITED_USE_TEXT.items()),
    }


def gap_rows(
    application: Application, gaps: Sequence[Gap], values: Any
) -> list[GapRow]:
    rows = []
    for gap in gaps:
        key = key_of(gap.field, values)
        step = step_of(key) if key else LAST_STEP
        href = (
            f"/applications/{application.id}/edit?step={step}#group-{key}"
            if key
            else None
        )
        rows.append(GapRow(gap.severity, gap.message, href, STEPS[step - 1]))
    return rows


def _check_context(view: View) -> dict[str, Any]:
    gaps = gap_rows(
        view.application,
        applications.gaps_of(view.session, view.config, view.application),
        view.values,
    )
    regime = view.values.get("regime")
    regimes = view.config.regimes
    return {
        "missing": [g for g in gaps if g.severity == "missing"],
        "advice": [g for g in gaps if g.severity != "missing"],
        "regime_title": regimes.get(regime).title.get(view.lang)
        if isinstance(regime, str) and regime in regimes
        else "",
        "dataset_titles": [
            dataset_title(view.session, str(d.get("dataset_id", "")), view.lang)
            for d in rows_of(view.values.get("datasets"))
        ],
        "assistant_email": view.assistant_email,
    }


@dataclass(frozen=True)
class View:
    """What a wizard page shows: the answers (as saved, or as typed) and the problems."""

    request: Request
    session: Session
    actor: Actor
    config: PermitsConfig
    application: Application
    step: int
    values: dict[str, Any]
    lang: str
    problem: InvalidInput | Conflict | None = None
    loose: dict[str, str] = field(default_factory=dict)
    assistant_email: str = ""


STEP_CONTEXT: dict[int, Callable[[View], dict[str, Any]]] = {
    1: _team_context,
    2: _project_context,
    3: _data_context,
    4: _safeguards_context,
    5: _check_context,
}


def _wizard_page(view: View, *, notice: str = "", saved: bool = False) -> Any:
    field_errors: dict[str, list[str]] = {}
    summary: list[tuple[str, str | None]] = []
    for error in view.problem.errors if view.problem else []:
        message = readable(error.message)
        key = key_of(error.field, view.values)
        href = None
        if key is not None:
            if message not in field_errors.setdefault(key, []):
                field_errors[key].append(message)
            href = (
                f"#group-{key}"
                if step_of(key) == view.step
                else f"/applications/{view.application.id}/edit?step={step_of(key)}"
                f"#group-{key}"
            )
        summary.append((message, href))
    context = {
        "application": view.application,
        "step": view.step,
        "steps": STEPS,
        "form": view.values,
        "problem": view.problem,
        "summary": summary,
        "field_errors": {k: " ".join(v) for k, v in field_errors.items()},
        "saved": saved,
        "notice": notice,
        **STEP_CONTEXT[view.step](view),
    }
    status = view.problem.status if view.problem else 200
    return render(view.request, "application_wizard.html", context, status_code=status)


def _clamp(step: int) -> int:
    return min(max(step, 1), LAST_STEP)


def _editable(
    session: Session, actor: Actor, application_id: int
) -> Application | None:
    """The draft if the actor may still change it (its applicant, while a draft)."""
    application = applications.get_application(session, actor, application_id)
    allowed = procedure.allowed_for(session, actor, application)
    return application if Command.save_draft in allowed else None


def _saved_values(application: Application) -> dict[str, Any]:
    return ApplicationForm.model_validate(application.form).model_dump(mode="json")


def _run(
    session: Session,
    actor: Actor,
    config: PermitsConfig,
    application: Application,
    command: CommandIn,
    form: ApplicationForm | None = None,
) -> InvalidInput | Conflict | None:
    """Run a command in a savepoint: refused, it leaves nothing behind (the files
    attached by the same request stay)."""
    try:
        with session.begin_nested():
            procedure.execute(
                session,
                actor,
                config,
                application_id=application.id,
                command=command,
                form=form,
            )
    except (InvalidInput, Conflict) as problem:
        return problem
    return None


def _to_application(application_id: int) -> RedirectResponse:
    return RedirectResponse(f"/applications/{application_id}", status_code=303)


def _step_url(application_id: int, step: int, flag: str = "saved") -> str:
    return f"/applications/{application_id}/edit?step={step}&{flag}=1"


NOTICES = {
    "regime_changed": N_(
        "The purposes of the legal framework you chose are listed now: tick those of"
        " your project."
    ),
    "invited": N_(
        "The assistant is invited: they can read your draft and comment on it."
    ),
}


@router.get("/applications/{application_id}/edit")
def wizard(
    application_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Participant,
    step: int = 1,
    saved: bool = False,
    regime_changed: bool = False,
    invited: bool = False,
) -> Any:
    """One step of the application's wizard; a submitted application is read-only."""
    application = _editable(session, actor, application_id)
    if application is None:
        return _to_application(application_id)
    view = View(
        request,
        session,
        actor,
        config,
        application,
        _clamp(step),
        _saved_values(application),
        current_language.get(),
    )
    notice = (
        NOTICES["regime_changed"]
        if regime_changed
        else NOTICES["invited"]
        if invited
        else ""
    )
    return _wizard_page(view, notice=notice, saved=saved or regime_changed)


@router.post("/applications/{application_id}/edit")
def save_step(
    application_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Participant,
    posted: PostedDep,
    step: int = 1,
) -> Any:
    """Save one step (``save_draft``), or on the last step submit or invite an
    assistant. Refused answers come back on the page with their messages (422)."""
    application = _editable(session, actor, application_id)
    if application is None:
        return _to_application(application_id)
    step = _clamp(step)
    lang = current_language.get()
    saved = _saved_values(application)
    if step == LAST_STEP:
        return _last_step(request, session, actor, config, application, posted, saved)
    parsed = PARSERS[step](
        Step(session, actor, config, application, posted, saved, lang)
    )
    values = {**saved, **parsed.changes}
    problem: InvalidInput | Conflict | None = None
    if parsed.errors:
        problem = InvalidInput("Some answers need correcting.", errors=parsed.errors)
    else:
        try:
            form = ApplicationForm.model_validate(values)
        except ValidationError as exc:
            problem = invalid_input(exc)
        else:
            problem = _run(
                session,
                actor,
                config,
                application,
                CommandIn(command=Command.save_draft),
                form,
            )
    if problem is not None:
        view = View(
            request,
            session,
            actor,
            config,
            application,
            step,
            values,
            lang,
            problem=problem,
            loose=parsed.loose,
        )
        return _wizard_page(view)
    if parsed.regime_changed and values.get("regime"):
        url = _step_url(application_id, step, "regime_changed")
    else:
        moves = {"next": step + 1, "back": step - 1}
        url = _step_url(application_id, _clamp(moves.get(posted.action, step)))
    return RedirectResponse(url, status_code=303)


def _last_step(
    request: Request,
    session: Session,
    actor: Actor,
    config: PermitsConfig,
    application: Application,
    posted: Posted,
    saved: dict[str, Any],
) -> Any:
    email = ""
    if posted.action == "invite":
        email = posted.text("assistant_email")
        try:
            command = CommandIn(command=Command.invite_assistant, assistant_email=email)
        except ValidationError as exc:
            problem: InvalidInput | Conflict | None = InvalidInput(
                "Give the address of an assistant.",
                errors=[
                    FieldError("assistant_email", friendly_message(e))
                    for e in exc.errors()
                ],
            )
        else:
            problem = _run(session, actor, config, application, command)
        if problem is None:
            return RedirectResponse(
                _step_url(application.id, LAST_STEP, "invited"), status_code=303
            )
    elif posted.action == "submit":
        problem = _run(
            session, actor, config, application, CommandIn(command=Command.submit)
        )
        if problem is None:
            return _to_application(application.id)
    else:
        problem = InvalidInput("Choose what to do: submit, or invite an assistant.")
    view = View(
        request,
        session,
        actor,
        config,
        application,
        LAST_STEP,
        saved,
        current_language.get(),
        problem=problem,
        assistant_email=email,
    )
    return _wizard_page(view)


# --- starting an application ------------------------------------------------------------


@router.get("/applications/new")
def new_application(
    request: Request,
    session: SessionDep,
    actor: Applicant,
    dataset: str = "",
) -> Any:
    """Start a draft, for a protected dataset when it comes from the dataset's page."""
    choices = protected_datasets(session, current_language.get())
    context = {
        "start": True,
        "dataset": choices.get(dataset),
        "unknown_dataset": bool(dataset) and dataset not in choices,
        "organisations": my_organisations(session, actor, None),
    }
    return render(request, "application_wizard.html", context)


@router.post("/applications/new")
def create_application(
    session: SessionDep,
    config: ConfigDep,
    actor: Applicant,
    dataset: Annotated[str, Form(max_length=100)] = "",
) -> Any:
    person = session.get(Person, person_id_of(actor))
    requested = (
        [DatasetRequest(dataset_id=dataset)]
        if dataset in protected_datasets(session, current_language.get())
        else []
    )
    form = ApplicationForm(
        principal_investigator=person.email if person else "", datasets=requested
    )
    application = applications.create_application(
        session, actor, config, body=ApplicationCreate(form=form)
    )
    return RedirectResponse(
        f"/applications/{application.id}/edit?step=1", status_code=303
    )


# --- the dashboard ----------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationRow:
    id: int
    reference: str
    title: str
    label: str
    words: str
    deadline: date | None
    action: str
    href: str


def status_label(application: Application) -> str:
    if application.state == State.DECISION_ISSUED.value and application.decision:
        return f"{application.decision}_DECISION_ISSUED"
    return application.state


def _next_step(
    session: Session, actor: Actor, application: Application
) -> tuple[str, str]:
    allowed = procedure.allowed_for(session, actor, application)
    page = f"/applications/{application.id}"
    if Command.save_draft in allowed:
        return NEXT_STEPS["draft"], f"{page}/edit"
    if Command.provide_information in allowed:
        return NEXT_STEPS["answer"], page
    if Command.comment in allowed:
        return NEXT_STEPS["comment"], page
    return NEXT_STEPS["view"], page


@router.get("/applications")
def dashboard(request: Request, session: SessionDep, actor: Participant) -> Any:
    """My applications, my permits and my unread messages."""
    listing = applications.list_mine(session, actor, page_size=200)
    rows = []
    for application in listing.items:
        action, href = _next_step(session, actor, application)
        label = status_label(application)
        rows.append(
            ApplicationRow(
                id=application.id,
                reference=application.reference,
                title=application.title,
                label=label,
                words=APPLICATION_STATUS.get(label, label),
                deadline=application.deadline,
                action=action,
                href=href,
            )
        )
    context = {
        "rows": rows,
        "total": listing.total,
        "permits": issuing.permits_of(session, actor),
        "permit_status": PERMIT_STATUS,
        "unread": notifications.unread_count(session, person_id_of(actor)),
        "may_create": policy.allowed(actor, "permits.application.create"),
    }
    return render(request, "applications.html", context)
