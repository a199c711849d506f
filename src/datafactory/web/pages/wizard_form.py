"""The application wizard's form: the words it shows, where each answer lives on which
step, the protected datasets a step offers, and the parsing of each posted step into the
application's answers (with every typed value kept when something is wrong)."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from datafactory.catalogue import service as catalogue
from datafactory.catalogue.models import Dataset, DatasetVersion
from datafactory.catalogue.schemas import DatasetDraft, DatasetStatus, pick
from datafactory.core.errors import (
    FieldError,
    InvalidInput,
    PayloadTooLarge,
    Unauthenticated,
)
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation
from datafactory.permits import applications
from datafactory.permits.applications import PROTECTED_ACCESS
from datafactory.permits.completeness import ABSTRACT_MAX_WORDS
from datafactory.permits.config import PermitsConfig
from datafactory.permits.models import Application
from datafactory.permits.schemas import (
    MAX_GROUPS,
    TABLE_NAME,
    DataForm,
    LegalBasis,
)
from datafactory.web.api.permits import ConfigDep
from datafactory.web.messages import N_
from datafactory.web.pages.editor_form import readable

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
    "aggregate_tables": 3,
    "new_table_dataset": 3,
    "new_table_name": 3,
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
_TABLE_FIELD = {
    "name": "-name",
    "group_by": "-group_by",
    "measures": "-measures",
    "justification": "-why",
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
        case "aggregate_tables":
            if index is None:
                return "aggregate_tables"
            return f"aggregate_tables-{index}{_TABLE_FIELD.get(sub, '')}"
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
    datasets = rows_of(values.get("datasets"))
    if index >= len(datasets):
        return None
    variables = rows_of(datasets[index].get("variables"))
    if position >= len(variables):
        return None
    name = variables[position].get("name")
    return name if isinstance(name, str) else None


def rows_of(value: Any) -> list[dict[str, Any]]:
    return (
        [row for row in value if isinstance(row, dict)]
        if isinstance(value, list)
        else []
    )


def strings_of(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


# --- the catalogue's protected datasets -------------------------------------------------


@dataclass(frozen=True)
class VariableInfo:
    name: str
    label: str
    sensitivity: str
    type: str = ""


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
                    VariableInfo(
                        v.name, pick(v.label, lang), v.sensitivity.value, v.type.value
                    )
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
    """Text typed that the form cannot hold, shown again (page key → text):
    explanations for variables that are not ticked, the name of a table to add whose
    dataset is not chosen."""
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
    parsed.changes["aggregate_tables"] = _parse_tables(posted, parsed)
    return parsed


TABLE_NAME_HINT = (
    "Name the table with lower-case letters, digits and _ (no spaces), starting with"
    " a letter, for example counts_by_age."
)


def _parse_tables(posted: Posted, parsed: Parsed) -> list[dict[str, Any]]:
    """The aggregate tables as posted: the saved rows, then the one to add
    (``new_table_*``). Whether their datasets and variables are requested is left to
    the completeness check, so that the draft saves while the datasets change."""
    rows: list[dict[str, Any]] = []
    for i in range(MAX_ROWS):
        key = f"aggregate_tables-{i}"
        if not posted.has(f"{key}-dataset"):
            break
        if posted.text(f"{key}-remove"):
            continue
        rows.append(
            {
                "name": posted.text(f"{key}-name"),
                "dataset_id": posted.text(f"{key}-dataset"),
                "group_by": list(dict.fromkeys(posted.texts(f"{key}-group_by"))),
                "measures": list(dict.fromkeys(posted.texts(f"{key}-measures"))),
                "justification": posted.text(f"{key}-why"),
            }
        )
    added = posted.text("new_table_dataset"), posted.text("new_table_name")
    if added[1] and not added[0]:
        # A row without its dataset could not offer the variables to count by.
        parsed.loose["new_table_name"] = added[1]
        parsed.error("new_table_dataset", "Choose the dataset the table counts.")
    elif added[0]:
        rows.append(
            {
                "name": added[1],
                "dataset_id": added[0],
                "group_by": [],
                "measures": [],
                "justification": "",
            }
        )
    elif posted.action == "add_aggregate_table":
        parsed.error("new_table_dataset", "Choose the dataset of the table to add.")
    tables: list[dict[str, Any]] = []
    names: set[str] = set()
    for row in rows:
        if not any(row.values()):
            continue
        at = f"aggregate_tables-{len(tables)}"
        tables.append(row)
        name = row["name"]
        if not row["dataset_id"]:
            parsed.error(at, "Choose the dataset the table counts.")
        if not name:
            parsed.error(f"{at}-name", "Name the table, for example counts_by_age.")
        elif not re.fullmatch(TABLE_NAME, name):
            parsed.error(f"{at}-name", TABLE_NAME_HINT)
        elif name in names:
            parsed.error(
                f"{at}-name",
                f"Another table is named {name}: give each table its own name.",
            )
        names.add(name)
        if len(row["group_by"]) > MAX_GROUPS:
            parsed.error(
                f"{at}-group_by",
                f"Count by at most {MAX_GROUPS} variables: with more, most cells are"
                " too small to be released.",
            )
        if len(row["measures"]) > MAX_GROUPS:
            parsed.error(
                f"{at}-measures", f"Choose at most {MAX_GROUPS} variables to sum."
            )
    return tables


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


def friendly_message(error: Mapping[str, Any]) -> str:
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


def invalid_input(exc: ValidationError) -> InvalidInput:
    return InvalidInput(
        "Some answers need correcting.",
        errors=[
            FieldError(
                ".".join(str(p) for p in e["loc"]) or "form", friendly_message(e)
            )
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


def person_id_of(actor: Actor) -> int:
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
