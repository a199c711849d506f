"""Applications as their people see them: create one, find one, read its events and its
state, attach files, and gather the facts the completeness and criteria checks need.

The commands that move an application along are in ``procedure.py``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from datafactory.catalogue import service as catalogue
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import DatasetStatus, Sensitivity, pick
from datafactory.core import ledger
from datafactory.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
)
from datafactory.identity import policy
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation, Person, Role
from datafactory.permits import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.permits.completeness import check_completeness
from datafactory.permits.config import PermitsConfig
from datafactory.permits.criteria import Criterion, check_criteria
from datafactory.permits.events import ApplicationEventRecorded, AttachmentUploaded
from datafactory.permits.facts import ApplicantFacts, ApplicationFacts, DatasetFacts
from datafactory.permits.models import (
    Application,
    ApplicationEvent,
    ApplicationParty,
    Attachment,
    Permit,
)
from datafactory.permits.policy import is_authority_staff
from datafactory.permits.schemas import (
    ApplicationCreate,
    ApplicationForm,
    ApplicationKind,
    Gap,
)
from datafactory.permits.workflow import (
    ApplicationView,
    Event,
    Party,
    State,
    project,
)

PROTECTED_ACCESS = (
    "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC",
    "http://publications.europa.eu/resource/authority/access-right/RESTRICTED",
)
# What a file must start with to be what its type says (a renamed executable is not a PDF).
_MAGIC = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


@dataclass(frozen=True)
class Listing:
    items: list[Application]
    total: int


# --- reading ----------------------------------------------------------------------------


def events_of(session: Session, application: Application) -> list[Event]:
    rows = session.scalars(
        select(ApplicationEvent)
        .where(ApplicationEvent.application_id == application.id)
        .order_by(ApplicationEvent.seq)
    )
    return [Event(r.seq, r.type, r.actor, r.at, r.payload) for r in rows]


def view_of(session: Session, application: Application) -> ApplicationView:
    return project(events_of(session, application))


# What the applicant's side never sees: the authority's internal deliberation.
INTERNAL_EVENTS = frozenset({"review_requested", "reviewed", "recommended"})
AUTHORITY_SIDE = frozenset({Party.handler, Party.reviewer, Party.decider})


def sees_internal(session: Session, actor: Actor, application: Application) -> bool:
    """Whether the actor sees the authority's side of the file: reviews, recommendations
    and remarks not shown to the applicant."""
    return is_authority_staff(actor) or bool(
        parties_of(session, actor, application) & AUTHORITY_SIDE
    )


def visible(event: Event, *, internal: bool) -> bool:
    """Whether an event is shown to a viewer with (or without) the internal view."""
    if internal:
        return True
    if event.type in INTERNAL_EVENTS:
        return False
    return event.type != "remarked" or bool(event.payload.get("public", False))


def parties_of(session: Session, actor: Actor, application: Application) -> set[Party]:
    """The actor's parts on this application. Someone who applies never also handles or
    decides their own application."""
    if actor.person_id is None:
        return set()
    parties = {
        Party(p)
        for p in session.scalars(
            select(ApplicationParty.party).where(
                ApplicationParty.application_id == application.id,
                ApplicationParty.person_id == actor.person_id,
            )
        )
    }
    if parties & {Party.applicant, Party.member}:
        return parties
    if actor.has_role(Role.handler):
        parties.add(Party.handler)
    if actor.has_role(Role.decider):
        parties.add(Party.decider)
    return parties


def get_application(session: Session, actor: Actor, application_id: int) -> Application:
    """The application if the actor takes part in it or works for the authority; 404
    otherwise, so that nobody learns which applications exist."""
    policy.ensure(actor, "permits.application.use")
    application = session.get(Application, application_id)
    if application is None or not (
        parties_of(session, actor, application) or is_authority_staff(actor)
    ):
        raise NotFound(f"There is no application {application_id}.")
    return application


def list_mine(
    session: Session, actor: Actor, *, page: int = 1, page_size: int = 50
) -> Listing:
    """The applications the actor takes part in (applicant, member, assistant, reviewer)."""
    policy.ensure(actor, "permits.application.use")
    mine = select(ApplicationParty.application_id).where(
        ApplicationParty.person_id == actor.person_id
    )
    query = select(Application).where(Application.id.in_(mine))
    return _page(session, query, page, page_size)


def list_queue(
    session: Session,
    actor: Actor,
    *,
    states: Sequence[State] = (),
    overdue_on: date | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Listing:
    """The authority's queue: submitted applications, soonest deadline first."""
    policy.ensure(actor, "permits.queue.view")
    query = select(Application).where(Application.state != State.DRAFT.value)
    if states:
        query = query.where(Application.state.in_([s.value for s in states]))
    if overdue_on is not None:
        query = query.where(
            Application.clock == "running", Application.deadline < overdue_on
        )
    return _page(session, query, page, page_size, by_deadline=True)


def _page(
    session: Session,
    query: Select[Any],
    page: int,
    page_size: int,
    *,
    by_deadline: bool = False,
) -> Listing:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = (
        (Application.deadline.is_(None), Application.deadline, Application.id)
        if by_deadline
        else (Application.id.desc(),)
    )
    items = session.scalars(
        query.order_by(*order).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return Listing([i for i in items if isinstance(i, Application)], total)


def people_by_email(session: Session, emails: Sequence[str]) -> dict[str, Person]:
    wanted = {e.strip().lower() for e in emails if e.strip()}
    if not wanted:
        return {}
    found = session.scalars(
        select(Person).where(func.lower(Person.email).in_(wanted), Person.active)
    )
    return {p.email.lower(): p for p in found}


# --- checks -----------------------------------------------------------------------------


def facts_for(
    session: Session, config: PermitsConfig, application: Application
) -> ApplicationFacts:
    """What the pure checks need to know about the world, read once."""
    form = ApplicationForm.model_validate(application.form)
    organisation = (
        session.get(Organisation, form.organisation_id)
        if form.organisation_id
        else None
    )
    emails = [form.principal_investigator, *(m.email for m in form.team)]
    regime = config.regimes.get(form.regime) if form.regime in config.regimes else None
    attachments = session.scalars(
        select(Attachment.id).where(Attachment.application_id == application.id)
    )
    return ApplicationFacts(
        applicant=ApplicantFacts(
            public_sector=bool(organisation and organisation.is_public_sector),
            known_emails=frozenset(people_by_email(session, emails)),
        ),
        datasets={
            d: _dataset_facts(session, d) for d in dict.fromkeys(form.dataset_ids())
        },
        regime=regime,
        offered_forms=config.offered_forms,
        attachment_ids=frozenset(attachments),
    )


def _dataset_facts(session: Session, dataset_id: str) -> DatasetFacts:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or dataset.status != DatasetStatus.published.value:
        return DatasetFacts(dataset_id, dataset_id, False, False, {})
    metadata = catalogue.metadata_of(session, dataset)
    return DatasetFacts(
        id=dataset_id,
        title=pick(metadata.title, "en"),
        exists=True,
        protected=metadata.access_rights in PROTECTED_ACCESS,
        variables={v.name: Sensitivity(v.sensitivity) for v in metadata.variables},
    )


def gaps_of(
    session: Session, config: PermitsConfig, application: Application
) -> list[Gap]:
    form = ApplicationForm.model_validate(application.form)
    return check_completeness(form, facts_for(session, config, application))


def criteria_of(
    session: Session, config: PermitsConfig, application: Application
) -> list[Criterion]:
    form = ApplicationForm.model_validate(application.form)
    return check_criteria(form, facts_for(session, config, application))


# --- creating ---------------------------------------------------------------------------


def create_application(
    session: Session, actor: Actor, config: PermitsConfig, *, body: ApplicationCreate
) -> Application:
    """A new draft, owned by the actor. An amendment or renewal starts from the permit's
    own application and may only be asked for by the permit's holder."""
    policy.ensure(actor, "permits.application.create")
    assert actor.person_id is not None
    form = body.form
    if body.kind is not ApplicationKind.new:
        form = _start_from_permit(session, actor, body)
    if form.organisation_id is None:
        form = form.model_copy(update={"organisation_id": _organisation_of(actor)})
    now = config.now()
    application = Application(
        reference=f"pending-{uuid.uuid4().hex[:24]}",
        kind=body.kind.value,
        permit_id=body.permit_id,
        applicant_id=actor.person_id,
        organisation_id=form.organisation_id,
        regime=form.regime,
        title=form.title,
        form=form.model_dump(mode="json"),
        state=State.DRAFT.value,
        version=0,
        created_at=now,
    )
    session.add(application)
    session.flush()
    application.reference = f"DA-{now.year}-{application.id:05d}"
    session.add(
        ApplicationParty(
            application_id=application.id,
            person_id=actor.person_id,
            party=Party.applicant.value,
        )
    )
    append_event(session, actor, application, "created", {}, now=now)
    return application


def _organisation_of(actor: Actor) -> int | None:
    for role, organisation in sorted(actor.roles, key=lambda r: str(r)):
        if role == Role.reuser.value and organisation is not None:
            return organisation
    return None


def _start_from_permit(
    session: Session, actor: Actor, body: ApplicationCreate
) -> ApplicationForm:
    if body.permit_id is None:
        raise InvalidInput(
            "An amendment or renewal names the permit it changes.",
            errors=[_field("permit_id", "Choose the permit to amend or renew.")],
        )
    permit = session.get(Permit, body.permit_id)
    if permit is None or permit.holder_id != actor.person_id:
        raise NotFound(f"You hold no permit {body.permit_id}.")
    if permit.status in ("REVOKED", "EXPIRED"):
        raise InvalidInput(
            f"Permit {permit.reference} is {permit.status.lower()}; apply anew instead.",
            errors=[_field("permit_id", "This permit can no longer be changed.")],
        )
    granted = session.get(Application, permit.application_id)
    assert granted is not None
    # The permit's answers, with what the holder already changed on top.
    changes = body.form.model_dump(mode="json", exclude_unset=True)
    return ApplicationForm.model_validate({**granted.form, **changes})


def _field(field: str, message: str) -> FieldError:
    return FieldError(field, message)


# --- the event stream -------------------------------------------------------------------


def append_event(
    session: Session,
    actor: Actor,
    application: Application,
    event_type: str,
    payload: dict[str, Any],
    *,
    now: datetime,
) -> ApplicationView:
    """Append one event, re-project the application and ledger the step, all on the
    caller's transaction.

    The version is compared and set in one UPDATE, so of two people acting on the same
    application at once the second finds the version moved and gets a 409; the unique
    (application, seq) pair backs this up.
    """
    expected = application.version
    seq = expected + 1
    moved = session.execute(
        update(Application)
        .where(Application.id == application.id, Application.version == expected)
        .values(version=seq)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "Someone else acted on this application just now. Reload it and try again.",
            extra={"application_id": application.id},
        )
    session.add(
        ApplicationEvent(
            application_id=application.id,
            seq=seq,
            type=event_type,
            actor=actor.ref,
            at=now,
            payload=payload,
        )
    )
    session.flush()
    session.refresh(application)
    view = view_of(session, application)
    application.state = view.state.value
    application.decision = view.decision.value if view.decision else None
    application.submitted_at = view.submitted_at
    application.decided_at = view.decided_at
    ledger.record(
        session,
        actor.ref,
        ApplicationEventRecorded(
            application_id=application.id,
            reference=application.reference,
            seq=seq,
            event_type=event_type,
            state=view.label,
        ),
    )
    return view


# --- attachments ------------------------------------------------------------------------


def attach(
    session: Session,
    actor: Actor,
    config: PermitsConfig,
    *,
    application_id: int,
    filename: str,
    media_type: str,
    data: bytes,
) -> Attachment:
    """Keep a file (an ethics approval, say) with an application the applicant may still
    change. Size and type are checked, the type against the file's first bytes."""
    application = get_application(session, actor, application_id)
    parties = parties_of(session, actor, application)
    if Party.applicant not in parties:
        raise Forbidden("Only the applicant attaches files to an application.")
    if application.state not in (
        State.DRAFT.value,
        State.AWAITING_ADDITIONAL_INFORMATION.value,
    ):
        raise InvalidInput(
            "Files can be attached to a draft, or when the authority asked for more.",
            errors=[_field("file", "The application cannot take files now.")],
        )
    if len(data) > config.attachment_max_bytes:
        raise PayloadTooLarge(
            f"The file is {len(data)} bytes; the limit is "
            f"{config.attachment_max_bytes} bytes."
        )
    if not data:
        raise InvalidInput(
            "The file is empty.", errors=[_field("file", "The file is empty.")]
        )
    if media_type not in config.attachment_types:
        allowed = ", ".join(sorted(config.attachment_types))
        raise InvalidInput(
            f"Files of type {media_type} are not accepted (accepted: {allowed}).",
            errors=[_field("file", f"Attach one of: {allowed}.")],
        )
    if not data.startswith(_MAGIC[media_type]):
        raise InvalidInput(
            f"The file's content is not {media_type}.",
            errors=[_field("file", f"This file is not really {media_type}.")],
        )
    digest = hashlib.sha256(data).hexdigest()
    key = f"applications/{application.id}/attachments/{digest}"
    config.store.write(key, data)
    attachment = Attachment(
        application_id=application.id,
        filename=_safe_name(filename),
        media_type=media_type,
        size=len(data),
        sha256=digest,
        storage_key=key,
        uploaded_by=actor.ref,
        uploaded_at=config.now(),
    )
    session.add(attachment)
    session.flush()
    ledger.record(
        session,
        actor.ref,
        AttachmentUploaded(
            application_id=application.id,
            attachment_id=attachment.id,
            media_type=media_type,
            size=len(data),
            sha256=digest,
        ),
    )
    return attachment


def attachments_of(session: Session, application: Application) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.application_id == application.id)
            .order_by(Attachment.id)
        )
    )


def read_attachment(
    session: Session,
    actor: Actor,
    config: PermitsConfig,
    *,
    application_id: int,
    attachment_id: int,
) -> tuple[Attachment, bytes]:
    application = get_application(session, actor, application_id)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.application_id != application.id:
        raise NotFound(f"There is no attachment {attachment_id}.")
    return attachment, config.store.read(attachment.storage_key)


def _safe_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "attachment"
    return "".join(c for c in name if c.isprintable())[:200]
