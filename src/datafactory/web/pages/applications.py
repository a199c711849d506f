"""The applicant's pages: my applications and permits, the application wizard, the inbox.

The wizard saves one step at a time with the ``save_draft`` command: the step's fields are
merged into the saved form, so a draft may stay incomplete until "Check and submit", where
the completeness check lists what is left and the ``submit`` command sends it. Whatever
was typed stays on the page when something is wrong, with the message beside its field
and a summary at the top, as in the dataset editor. Everything works without JavaScript:
adding a team member, a dataset or a linkage is a submit button that saves the step.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from datafactory.catalogue import service as catalogue
from datafactory.catalogue.models import Dataset, DatasetVersion
from datafactory.catalogue.schemas import DatasetDraft, DatasetStatus, pick
from datafactory.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    PayloadTooLarge,
    Unauthenticated,
)
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation, Person
from datafactory.permits import applications, issuing, notifications, procedure
from datafactory.permits.applications import PROTECTED_ACCESS
from datafactory.permits.completeness import ABSTRACT_MAX_WORDS, PROHIBITED_USE_TEXT
from datafactory.permits.config import PermitsConfig
from datafactory.permits.models import Application
from datafactory.permits.schemas import (
    ApplicationCreate,
    ApplicationForm,
    CommandIn,
    DataForm,
    DatasetRequest,
    Gap,
    LegalBasis,
)
from datafactory.permits.workflow import Command, State
from datafactory.web.api.permits import ConfigDep
from datafactory.web.deps import SessionDep, allow
from datafactory.web.i18n import current_language
from datafactory.web.messages import N_
from datafactory.web.pages import page_router
from datafactory.web.pages.editor_form import readable
from datafactory.web.templating import render

router = page_router("permits")
Participant = Annotated[Actor, Depends(allow("permits.application.use"))]
Applicant = Annotated[Actor, Depends(allow("permits.application.create"))]

# --- words ------------------------------------------------------------------------------
# The templates translate these with _(); N_() marks them for extraction.

STEPS = (
    N_("Applicant and team"),
    N_("Project"),
    N_("Data"),
    N_("Duration and safeguards"),
    N_("Check and submit"),
)
LAST_STEP = len(STEPS)
MAX_ROWS = 60
"""Rows read back from a posted list (team, datasets, linkages); the schema allows fewer,
so a longer list is reported, never cut silently."""

# D6.4 statuses, as the applicant reads them.
APPLICATION_STATUS = {
    "DRAFT": N_("Draft, not yet submitted"),
    "SUBMITTED": N_("Submitted, waiting for screening"),
    "PRE_SCREENING": N_("Being screened by the authority"),
    "AWAITING_ADDITIONAL_INFORMATION": N_("The authority waits for more information"),
    "PROCESSING": N_("Being assessed"),
    "POSITIVE_DECISION_ISSUED": N_("Granted"),
    "NEGATIVE_DECISION_ISSUED": N_("Refused"),
    "WITHDRAWN": N_("Withdrawn or closed"),
}
PERMIT_STATUS = {
    "GRANTED": N_("In force"),
    "AMENDED": N_("In force, amended"),
    "RENEWED": N_("In force, renewed"),
    "REVOKED": N_("Revoked"),
    "EXPIRED": N_("Expired"),
}
PERMIT_DONE = {
    "revoked": N_(
        "The permit was revoked. Its users were told, and the register shows it."
    ),
}
NEXT_STEPS = {
    "draft": N_("Continue the draft"),
    "answer": N_("Answer the authority's request"),
    "comment": N_("Comment on the draft"),
    "view": N_("View the application"),
}
DATA_FORMS = {
    DataForm.anonymised: (
        N_("Anonymised"),
        N_("Nobody can be identified in the data, by any means likely to be used."),
    ),
    DataForm.pseudonymised: (
        N_("Pseudonymised"),
        N_(
            "Records about people, with direct identifiers replaced by a pseudonym."
            " Given only if anonymised data would not do."
        ),
    ),
    DataForm.aggregated: (
        N_("Aggregated"),
        N_("Statistical tables only: no record about any one person."),
    ),
}
LEGAL_BASES = (
    (
        N_("GDPR Art. 6(1): why you may process personal data"),
        (
            (LegalBasis.art6_1_a, N_("Art. 6(1)(a): the people concerned consented")),
            (LegalBasis.art6_1_c, N_("Art. 6(1)(c): a legal obligation")),
            (
                LegalBasis.art6_1_e,
                N_(
                    "Art. 6(1)(e): a task in the public interest or in the exercise"
                    " of official authority"
                ),
            ),
            (LegalBasis.art6_1_f, N_("Art. 6(1)(f): legitimate interests")),
        ),
    ),
    (
        N_("GDPR Art. 9(2): special categories such as health data"),
        (
            (LegalBasis.art9_2_a, N_("Art. 9(2)(a): explicit consent")),
            (
                LegalBasis.art9_2_g,
                N_("Art. 9(2)(g): substantial public interest, on the basis of law"),
            ),
            (
                LegalBasis.art9_2_h,
                N_(
                    "Art. 9(2)(h): preventive or occupational medicine, health or"
                    " social care"
                ),
            ),
            (
                LegalBasis.art9_2_i,
                N_("Art. 9(2)(i): public interest in public health"),
            ),
            (
                LegalBasis.art9_2_j,
                N_(
                    "Art. 9(2)(j): scientific or historical research, statistics or"
                    " archiving in the public interest"
                ),
            ),
        ),
    ),
)
ETHICS_STATUS = (
    ("approved", N_("Yes, an ethics committee approved the project")),
    ("pending", N_("The ethics committee's opinion is pending")),
    ("not_required", N_("No, no ethics approval is required for this project")),
)
SENSITIVITY = {
    "direct_identifier": N_("directly identifies people"),
    "quasi_identifier": N_("may identify people when combined with other variables"),
    "sensitive": N_("special category of personal data"),
    "other": N_("other"),
}

# --- where each answer lives on the pages -----------------------------------------------

# The key of each field on the pages (its input's name, and the ids group-KEY, field-KEY
# and error-KEY), and the step that shows it. Rows add "-INDEX-..." to their list's key.
STEP_OF = {
    "organisation_id": 1,
    "principal_investigator": 1,
    "team": 1,
    "regime": 2,
    "title": 2,
    "abstract": 2,
    "purposes": 2,
    "purpose_detail": 2,
    "legal_bases": 2,
    "datasets": 3,
    "data_form": 3,
    "pseudonymisation_justification": 3,
    "linkages": 3,
    "start_date": 4,
    "duration_months": 4,
    "ethics_status": 4,
    "ethics_committee": 4,
    "ethics_reference": 4,
    "ethics_file": 4,
    "prohibited_uses": 4,
    "funding": 4,
    "publication_plan": 4,
    "assistant_email": LAST_STEP,
}
_ETHICS_KEY = {
    "status": "ethics_status",
    "committee": "ethics_committee",
    "reference": "ethics_reference",
    "attachment_id": "ethics_file",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def safe(name: str) -> str:
    """A variable name as a piece of an HTML id."""
    return _UNSAFE.sub("_", name)


def variable_key(index: int, name: str) -> str:
    return f"datasets-{index}-{safe(name)}"


def key_of(error_field: str, values: Mapping[str, Any]) -> str | None:
    """The page key of an error's field: ``datasets.0.variables.2.justification`` becomes
    ``datasets-0-birth_year-why`` (the name of the third variable requested in ``values``).
    Keys pass through unchanged; a field the pages do not show gives None."""
    if error_field in STEP_OF or "-" in error_field:
        return error_field
    parts = error_field.split(".")
    head = parts[0]
    index = parts[1] if len(parts) > 1 and parts[1].isdigit() else None
    sub = parts[2] if len(parts) > 2 else ""
    match head:
        case "purposes" | "legal_bases":
            return head
        case "prohibited_uses_declared":
            return "prohibited_uses"
        case "file":
            return "ethics_file"
        case "ethics":
            return _ETHICS_KEY.get(parts[1] if len(parts) > 1 else "", "ethics_status")
        case "team":
            if index is None:
                return "team"
            return f"team-{index}-{'role' if sub == 'role' else 'email'}"
        case "linkages":
            if index is None:
                return "linkages"
            return (
                f"linkages-{index}-why"
                if sub == "justification"
                else f"linkages-{index}"
            )
        case "datasets":
            if index is None:
                return "datasets"
            if sub == "variables" and len(parts) > 3 and parts[3].isdigit():
                name = _requested_name(values, int(index), int(parts[3]))
                if name is not None:
                    key = variable_key(int(index), name)
                    return f"{key}-why" if parts[4:5] == ["justification"] else key
            return f"datasets-{index}"
    return None


def step_of(key: str) -> int:
    return STEP_OF.get(key.split("-")[0], LAST_STEP)


def _requested_name(values: Mapping[str, Any], index: int, position: int) -> str | None:
    datasets = _rows(values.get("datasets"))
    if index >= len(datasets):
        return None
    variables = _rows(datasets[index].get("variables"))
    if position >= len(variables):
        return None
    name = variables[position].get("name")
    return name if isinstance(name, str) else None


def _rows(value: Any) -> list[dict[str, Any]]:
    return (
        [row for row in value if isinstance(row, dict)]
        if isinstance(value, list)
        else []
    )


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


# --- the catalogue's protected datasets -------------------------------------------------


@dataclass(frozen=True)
class VariableInfo:
    name: str
    label: str
    sensitivity: str


@dataclass(frozen=True)
class DatasetChoice:
    id: str
    title: str
    variables: tuple[VariableInfo, ...]


def protected_datasets(session: Session, lang: str) -> dict[str, DatasetChoice]:
    """The published datasets that need a permit, by title, with their dictionaries."""
    rows = session.execute(
        select(Dataset.id, DatasetVersion.document)
        .join(
            DatasetVersion,
            (DatasetVersion.dataset_id == Dataset.id)
            & (DatasetVersion.number == Dataset.version),
        )
        .where(Dataset.status == DatasetStatus.published.value)
    )
    found: list[DatasetChoice] = []
    for dataset_id, document in rows:
        if document.get("access_rights") not in PROTECTED_ACCESS:
            continue
        meta = DatasetDraft.model_validate(document)
        found.append(
            DatasetChoice(
                id=dataset_id,
                title=pick(meta.title, lang) or dataset_id,
                variables=tuple(
                    VariableInfo(v.name, pick(v.label, lang), v.sensitivity.value)
                    for v in meta.variables
                ),
            )
        )
    found.sort(key=lambda choice: (choice.title.casefold(), choice.id))
    return {choice.id: choice for choice in found}


def dataset_title(session: Session, dataset_id: str, lang: str) -> str:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or dataset.status != DatasetStatus.published.value:
        return dataset_id
    return pick(catalogue.metadata_of(session, dataset).title, lang) or dataset_id


# --- reading what was posted ------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    filename: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class Posted:
    """A wizard step's form as posted, with the approval file's first bytes, if any."""

    form: FormData
    upload: Upload | None = None

    def text(self, name: str) -> str:
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def texts(self, name: str) -> list[str]:
        return [
            v.strip()
            for v in self.form.getlist(name)
            if isinstance(v, str) and v.strip()
        ]

    def has(self, name: str) -> bool:
        return name in self.form

    @property
    def action(self) -> str:
        return self.text("action") or "save"


async def _posted(request: Request, config: ConfigDep) -> Posted:
    form = await request.form()
    file = form.get("ethics_file")
    upload = None
    if isinstance(file, UploadFile) and file.filename:
        # One byte over the limit is enough to know the file is too large.
        data = await file.read(config.attachment_max_bytes + 1)
        upload = Upload(file.filename, file.content_type or "", data)
    # Nothing reads the files after this, and nobody else closes their spool.
    await form.close()
    return Posted(form, upload)


PostedDep = Annotated[Posted, Depends(_posted)]


@dataclass
class Parsed:
    """One step's answers, merged over the saved form, and what is wrong with them."""

    changes: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)
    loose: dict[str, str] = field(default_factory=dict)
    """Explanations typed for variables that are not ticked (page key → text)."""
    regime_changed: bool = False

    def error(self, key: str, message: str) -> None:
        self.errors.append(FieldError(key, message))


@dataclass(frozen=True)
class Step:
    """What a step's parser may look at."""

    session: Session
    actor: Actor
    config: PermitsConfig
    application: Application
    posted: Posted
    saved: dict[str, Any]
    lang: str


def _email_problem(email: str) -> str | None:
    if email and ("@" not in email or " " in email):
        return "Give an e-mail address, like name@example.lu."
    return None


def _parse_team(step: Step) -> Parsed:
    posted, parsed = step.posted, Parsed()
    organisation = posted.text("organisation_id")
    allowed = {o.id for o in my_organisations(step.session, step.actor, None)}
    if not organisation:
        parsed.changes["organisation_id"] = None
    elif organisation.isdigit() and (
        int(organisation) in allowed
        or int(organisation) == step.saved.get("organisation_id")
    ):
        parsed.changes["organisation_id"] = int(organisation)
    else:
        parsed.changes["organisation_id"] = organisation
        parsed.error("organisation_id", "Choose one of your organisations.")
    pi = posted.text("principal_investigator")
    parsed.changes["principal_investigator"] = pi
    if problem := _email_problem(pi):
        parsed.error("principal_investigator", problem)
    team: list[dict[str, str]] = []
    for i in range(MAX_ROWS):
        if not posted.has(f"team-{i}-email") and not posted.has(f"team-{i}-role"):
            break
        email, role = posted.text(f"team-{i}-email"), posted.text(f"team-{i}-role")
        if not email and not role:
            continue  # an empty row adds nobody
        at = len(team)
        team.append({"email": email, "role": role})
        if not email:
            parsed.error(
                f"team-{at}-email",
                "Give the e-mail address of this team member, or clear the row.",
            )
        elif problem := _email_problem(email):
            parsed.error(f"team-{at}-email", problem)
    parsed.changes["team"] = team
    return parsed


def _parse_project(step: Step) -> Parsed:
    posted, parsed, regimes = step.posted, Parsed(), step.config.regimes
    regime = posted.text("regime")
    parsed.changes["regime"] = regime
    if regime and regime not in regimes:
        parsed.error("regime", "Choose one of the listed legal frameworks.")
    parsed.regime_changed = regime != step.saved.get("regime", "")
    parsed.changes["title"] = posted.text("title")
    abstract = posted.text("abstract")
    parsed.changes["abstract"] = abstract
    words = len(abstract.split())
    if words > ABSTRACT_MAX_WORDS:
        parsed.error(
            "abstract",
            f"The public summary has {words} words: the register publishes at most"
            f" {ABSTRACT_MAX_WORDS}, so shorten it.",
        )
    purposes = posted.texts("purposes")
    if regime in regimes:
        known = {p.code for p in regimes.get(regime).purposes}
        if parsed.regime_changed:
            # The boxes ticked were those of the framework shown before.
            purposes = [p for p in purposes if p in known]
        elif any(p not in known for p in purposes):
            parsed.error("purposes", "Choose purposes from the list.")
    parsed.changes["purposes"] = purposes
    parsed.changes["purpose_detail"] = posted.text("purpose_detail")
    parsed.changes["legal_bases"] = posted.texts("legal_bases")
    return parsed


def _parse_data(step: Step) -> Parsed:
    posted, parsed = step.posted, Parsed()
    choices = protected_datasets(step.session, step.lang)
    datasets: list[dict[str, Any]] = []
    for i in range(MAX_ROWS):
        dataset_id = posted.text(f"datasets-{i}-id")
        if not posted.has(f"datasets-{i}-id"):
            break
        if not dataset_id or posted.text(f"datasets-{i}-remove"):
            continue
        at = len(datasets)
        prefix = f"datasets-{i}-why-"
        why = {
            name.removeprefix(prefix): posted.text(name)
            for name in posted.form
            if name.startswith(prefix)
        }
        ticked = list(dict.fromkeys(posted.texts(f"datasets-{i}-variables")))
        datasets.append(
            {
                "dataset_id": dataset_id,
                "variables": [
                    {"name": name, "justification": why.get(name, "")}
                    for name in ticked
                ],
            }
        )
        for name, text in why.items():
            if text and name not in ticked:
                key = variable_key(at, name)
                parsed.loose[f"{key}-why"] = text
                parsed.error(
                    key,
                    f"You explained why you need '{name}' but did not tick it: tick"
                    " it, or clear the explanation.",
                )
    added = posted.text("add_dataset_id")
    if added:
        if added not in choices:
            parsed.error("datasets", "Choose a dataset from the list.")
        elif added not in (d["dataset_id"] for d in datasets):
            datasets.append({"dataset_id": added, "variables": []})
    elif posted.action == "add_dataset":
        parsed.error("datasets", "Choose the dataset to add from the list.")
    parsed.changes["datasets"] = datasets
    chosen = posted.text("data_form")
    offered = {f.value for f in step.config.offered_forms}
    if chosen and chosen not in offered:
        parsed.error("data_form", "Choose one of the forms offered.")
    parsed.changes["data_form"] = chosen or None
    parsed.changes["pseudonymisation_justification"] = posted.text(
        "pseudonymisation_justification"
    )
    linkages: list[dict[str, Any]] = []
    for i in range(MAX_ROWS):
        if not posted.has(f"linkages-{i}-left"):
            break
        left, right = (
            posted.text(f"linkages-{i}-left"),
            posted.text(f"linkages-{i}-right"),
        )
        reason = posted.text(f"linkages-{i}-why")
        if not (left or right or reason):
            continue
        if not left or not right:
            parsed.error(
                f"linkages-{len(linkages)}", "Choose the two datasets to link."
            )
        linkages.append({"datasets": [left, right], "justification": reason})
    parsed.changes["linkages"] = linkages
    return parsed


def _parse_safeguards(step: Step) -> Parsed:
    posted, parsed = step.posted, Parsed()
    start = posted.text("start_date")
    parsed.changes["start_date"] = start or None
    if start:
        try:
            date.fromisoformat(start)
        except ValueError:
            parsed.error(
                "start_date", "Give the date as year-month-day, for example 2027-01-31."
            )
    months = posted.text("duration_months")
    parsed.changes["duration_months"] = months or None
    if months:
        if not months.isdigit():
            parsed.error(
                "duration_months", "Give the duration as a whole number of months."
            )
        elif not 1 <= int(months) <= 240:
            parsed.error("duration_months", "Give a number of months from 1 to 240.")
        else:
            parsed.changes["duration_months"] = int(months)
    attached = {
        a.id for a in applications.attachments_of(step.session, step.application)
    }
    kept = posted.text("ethics_attachment_id")
    attachment_id = int(kept) if kept.isdigit() and int(kept) in attached else None
    if posted.upload is not None:
        uploaded = _attach(step, posted.upload, parsed)
        attachment_id = uploaded if uploaded is not None else attachment_id
    status = posted.text("ethics_status")
    if status not in ("", *(value for value, _ in ETHICS_STATUS)):
        parsed.error("ethics_status", "Choose one of the listed answers.")
    parsed.changes["ethics"] = {
        "status": status,
        "committee": posted.text("ethics_committee"),
        "reference": posted.text("ethics_reference"),
        "attachment_id": attachment_id,
    }
    parsed.changes["prohibited_uses_declared"] = posted.texts("prohibited_uses")
    parsed.changes["funding"] = posted.text("funding")
    parsed.changes["publication_plan"] = posted.text("publication_plan")
    return parsed


def _attach(step: Step, upload: Upload, parsed: Parsed) -> int | None:
    config = step.config
    try:
        attachment = applications.attach(
            step.session,
            step.actor,
            config,
            application_id=step.application.id,
            filename=upload.filename,
            media_type=upload.media_type,
            data=upload.data,
        )
    except PayloadTooLarge:
        parsed.error(
            "ethics_file",
            f"The file is too large: attach a file of at most"
            f" {size_in_words(config.attachment_max_bytes)}.",
        )
        return None
    except InvalidInput as problem:
        for error in problem.errors or [FieldError("file", problem.detail)]:
            parsed.error("ethics_file", error.message)
        return None
    return attachment.id


PARSERS: dict[int, Callable[[Step], Parsed]] = {
    1: _parse_team,
    2: _parse_project,
    3: _parse_data,
    4: _parse_safeguards,
}


def _friendly(error: Mapping[str, Any]) -> str:
    kind, context = error.get("type"), error.get("ctx") or {}
    if kind == "string_too_long":
        return f"Shorten this to at most {context.get('max_length')} characters."
    if kind == "too_long":
        return f"Give at most {context.get('max_length')} entries."
    if kind in ("enum", "literal_error", "string_pattern_mismatch"):
        return "Choose one of the listed values."
    if kind == "string_too_short":
        return "Give a value."
    return readable(str(error.get("msg", "This value is not valid.")))


def _invalid(exc: ValidationError) -> InvalidInput:
    return InvalidInput(
        "Some answers need correcting.",
        errors=[
            FieldError(".".join(str(p) for p in e["loc"]) or "form", _friendly(e))
            for e in exc.errors()
        ],
    )


def size_in_words(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    if size >= 1024:
        return f"{size // 1024} KB"
    return f"{size} bytes"


# --- people and organisations -----------------------------------------------------------


def _person_id(actor: Actor) -> int:
    if actor.person_id is None:
        raise Unauthenticated("Sign in to see your applications.")
    return actor.person_id


def my_organisations(
    session: Session, actor: Actor, current: Any
) -> list[Organisation]:
    """The organisations the actor holds a role for, and the one the form names now."""
    ids = {org for _, org in actor.roles if org is not None}
    if isinstance(current, int):
        ids.add(current)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.id.in_(ids))
            .order_by(Organisation.name)
        )
    )


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
class GapRow:
    severity: str
    message: str
    href: str | None
    step: str


def _team_context(view: View) -> dict[str, Any]:
    team = [
        {"email": str(m.get("email", "")), "role": str(m.get("role", ""))}
        for m in _rows(view.values.get("team"))
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
    requested = _rows(view.values.get("datasets"))
    chosen: list[DatasetRow] = []
    for index, request in enumerate(requested):
        dataset_id = str(request.get("dataset_id", ""))
        asked = {
            str(v.get("name", "")): str(v.get("justification", ""))
            for v in _rows(request.get("variables"))
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
        for link in _rows(view.values.get("linkages"))
        for pair in [_strings(link.get("datasets"))]
    ]
    named = [*ids, *(x for link in linkages for x in (link["left"], link["right"]))]
    titles = {d.id: d.title for d in chosen}
    offered = [f for f in DataForm if f in view.config.offered_forms]
    return {
        "choices": [c for c in choices.values() if c.id not in ids],
        "chosen": chosen,
        "forms": [(f.value, *DATA_FORMS[f]) for f in offered],
        "anonymised_offered": DataForm.anonymised in view.config.offered_forms,
        "show_linkages": len(chosen) >= 2 or bool(linkages),
        "linkage_rows": [*linkages, {"left": "", "right": "", "why": ""}],
        "linkage_options": [(x, titles.get(x, x)) for x in dict.fromkeys(named) if x],
    }


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
            for d in _rows(view.values.get("datasets"))
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
            problem = _invalid(exc)
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
                    FieldError("assistant_email", _friendly(e)) for e in exc.errors()
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
    person = session.get(Person, _person_id(actor))
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
        "unread": notifications.unread_count(session, _person_id(actor)),
        "may_create": policy.allowed(actor, "permits.application.create"),
    }
    return render(request, "applications.html", context)


# --- the inbox --------------------------------------------------------------------------


@router.get("/inbox")
def inbox(request: Request, session: SessionDep, actor: Participant) -> Any:
    """My notifications, newest first."""
    person_id = _person_id(actor)
    context = {
        "messages": notifications.inbox(
            session, person_id, limit=notifications.INBOX_MAX
        ),
        "unread": notifications.unread_count(session, person_id),
    }
    return render(request, "inbox.html", context)


@router.post("/inbox/read-all")
def mark_all_read(session: SessionDep, actor: Participant) -> RedirectResponse:
    notifications.mark_all_read(session, _person_id(actor))
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/{notification_id}/read")
def mark_read(
    notification_id: int, session: SessionDep, actor: Participant
) -> RedirectResponse:
    notifications.mark_read(session, _person_id(actor), notification_id)
    return RedirectResponse(f"/inbox#message-{notification_id}", status_code=303)


# --- permits ----------------------------------------------------------------------------


@router.get("/permits")
def permits(request: Request, session: SessionDep, actor: Participant) -> Any:
    """The permits that name me."""
    context = {
        "permits": issuing.permits_of(session, actor),
        "permit_status": PERMIT_STATUS,
    }
    return render(request, "permits.html", context)


@router.get("/permits/passport.json")
def passport(
    session: SessionDep, config: ConfigDep, actor: Participant
) -> JSONResponse:
    """My GA4GH passport, as ``/api/v1/passport`` gives it, for the signed-in browser."""
    visas = issuing.visas_for(session, actor, config)
    return JSONResponse(
        {"ga4gh_passport_v1": visas},
        headers={
            "Content-Disposition": 'attachment; filename="ga4gh-passport.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/permits/{permit_id}")
def permit_page(
    permit_id: int,
    request: Request,
    session: SessionDep,
    config: ConfigDep,
    actor: Participant,
    done: str | None = None,
) -> Any:
    """A permit's scope, its signed JWS and the link to my passport."""
    return render_permit(request, session, config, actor, permit_id, done=done)


def render_permit(
    request: Request,
    session: Session,
    config: PermitsConfig,
    actor: Actor,
    permit_id: int,
    *,
    done: str | None = None,
    problem: InvalidInput | None = None,
    status_code: int = 200,
) -> Any:
    """The permit page, with what the holder or a decider may do to the permit."""
    permit = issuing.get_permit(session, actor, permit_id)
    lang = current_language.get()
    scope = permit.scope
    regimes = config.regimes
    regime_code = str(scope.get("regime", ""))
    regime = regimes.get(regime_code) if regime_code in regimes else None
    purposes = []
    for code in _strings(scope.get("purposes")):
        known = (
            next((p for p in regime.purposes if p.code == code), None)
            if regime
            else None
        )
        purposes.append((known.label.get(lang), known.article) if known else (code, ""))
    datasets = [
        {
            "id": str(d.get("id", "")),
            "title": dataset_title(session, str(d.get("id", "")), lang),
            "variables": _strings(d.get("variables")),
        }
        for d in _rows(scope.get("datasets"))
    ]
    titles = {d["id"]: d["title"] for d in datasets}
    user_ids = [int(u) for u in scope.get("users", []) if isinstance(u, int)]
    users = list(
        session.scalars(
            select(Person).where(Person.id.in_(user_ids)).order_by(Person.name)
        )
    )
    form = str(scope.get("form") or "")
    form_words = next((DATA_FORMS[f][0] for f in DataForm if f.value == form), form)
    application = session.get(Application, permit.application_id)
    context = {
        "permit": permit,
        "status_words": PERMIT_STATUS.get(permit.status, permit.status),
        "regime_title": regime.title.get(lang) if regime else regime_code,
        "purposes": purposes,
        "purpose_detail": str(scope.get("purpose_detail", "")),
        "form_words": form_words,
        "datasets": datasets,
        "linkages": [
            [titles.get(x, x) for x in pair]
            for pair in (_strings(p) for p in scope.get("linkages", []))
        ],
        "users": users,
        "conditions": str(scope.get("conditions", "")),
        "application": application,
        "in_force": permit.status in issuing.IN_FORCE,
        "may_change": permit.holder_id == actor.person_id,
        "may_revoke": policy.allowed(actor, "permits.permit.revoke"),
        "done": PERMIT_DONE.get(done or ""),
        "problem": problem,
    }
    return render(request, "permit.html", context, status_code=status_code)
