"""The access procedure through its services, on the real database: a whole walk from draft
to permit, and every way a command can be refused without changing anything."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from datafactory.core.db import unit_of_work
from datafactory.core.errors import Conflict, InvalidInput, NotFound
from datafactory.core.ledger import LedgerEntry
from datafactory.permits import applications, credentials, issuing, procedure
from datafactory.permits.config import PermitsConfig
from datafactory.permits.models import Application, ApplicationEvent, Permit
from datafactory.permits.schemas import (
    ApplicationCreate,
    ApplicationForm,
    CommandIn,
)
from datafactory.permits.workflow import Command, Decision, State
from tests.permits.world import World, build_world, complete_form


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def config(runtime, clock) -> PermitsConfig:
    return dataclasses.replace(runtime.permits, now=clock, base_url="http://testserver")


@pytest.fixture
def world(committed) -> World:
    return committed(build_world)


def command(name: str, **fields: object) -> CommandIn:
    return CommandIn.model_validate({"command": name, **fields})


def run(committed, config, world, who, application_id, name, form=None, **fields):
    def step(session):
        return procedure.execute(
            session,
            world.actor(who),
            config,
            application_id=application_id,
            command=command(name, **fields),
            form=ApplicationForm.model_validate(form) if form else None,
        ).id

    return committed(step)


def draft(committed, config, world, form=None) -> int:
    def create(session):
        body = ApplicationCreate(form=ApplicationForm.model_validate(form or {}))
        return applications.create_application(
            session, world.actor(world.researcher), config, body=body
        ).id

    return committed(create)


def load(runtime, application_id: int) -> Application:
    with unit_of_work(runtime.sessions) as session:
        application = session.get(Application, application_id)
        assert application is not None
        session.expunge(application)
        return application


def ledger_size(runtime) -> int:
    with unit_of_work(runtime.sessions) as session:
        return session.scalar(select(func.count(LedgerEntry.seq))) or 0


def test_an_application_walks_from_draft_to_a_signed_permit(
    runtime, committed, config, world, clock
):
    app_id = draft(committed, config, world)
    run(
        committed,
        config,
        world,
        world.researcher,
        app_id,
        "save_draft",
        form=complete_form(world),
    )
    run(committed, config, world, world.researcher, app_id, "submit")
    submitted = load(runtime, app_id)
    assert submitted.state == State.SUBMITTED
    assert submitted.clock == "running"
    # EHDS: 3 months from 2 November 2026 is 2 February 2027, a Tuesday.
    assert submitted.deadline == date(2027, 2, 2)

    clock.advance(days=2)
    run(committed, config, world, world.handler, app_id, "start_screening")
    run(
        committed,
        config,
        world,
        world.handler,
        app_id,
        "request_information",
        comment="Please confirm the ethics position.",
    )
    paused = load(runtime, app_id)
    assert paused.state == State.AWAITING_ADDITIONAL_INFORMATION
    assert paused.clock == "paused"
    assert paused.deadline is None

    clock.advance(days=7)
    run(
        committed,
        config,
        world,
        world.researcher,
        app_id,
        "provide_information",
        comment="No ethics review is required for registry research in Luxembourg.",
    )
    resumed = load(runtime, app_id)
    assert resumed.state == State.PRE_SCREENING  # back to the phase it came from
    # D6.4 §8: the deadline restarts from the answer (11 November 2026).
    assert resumed.deadline == date(2027, 2, 11)

    run(committed, config, world, world.handler, app_id, "start_processing")
    run(
        committed,
        config,
        world,
        world.handler,
        app_id,
        "request_review",
        reviewer_emails=[world.reviewer.email],
    )
    run(
        committed,
        config,
        world,
        world.reviewer,
        app_id,
        "review",
        comment="The variables requested are proportionate.",
    )
    run(
        committed,
        config,
        world,
        world.handler,
        app_id,
        "recommend",
        recommendation="POSITIVE",
        comment="All criteria are met.",
    )
    run(
        committed,
        config,
        world,
        world.decider,
        app_id,
        "grant",
        comment="The purpose is EHDS Art. 53(1)(e); the data are minimised.",
        conditions="Results are published within 18 months.",
    )

    decided = load(runtime, app_id)
    assert decided.state == State.DECISION_ISSUED
    assert decided.decision == Decision.POSITIVE
    assert decided.clock == "stopped"

    with unit_of_work(runtime.sessions) as session:
        permit = session.scalars(select(Permit)).one()
        assert permit.status == "GRANTED"
        assert permit.holder_id == world.researcher.id
        assert sorted(permit.scope["users"]) == sorted(
            [world.researcher.id, world.colleague.id]
        )
        assert permit.starts_on == date(2027, 1, 1)
        assert permit.ends_on == date(2029, 1, 1)
        keys = credentials.jwks([config.permit_key])
        claims = credentials.verify(
            permit.token, keys, leeway=10**9, issuer="http://testserver"
        )
        assert claims["permit"]["datasets"][0]["variables"] == [
            "matricule",
            "birth_year",
            "sex",
        ]
        actions = [
            e.action
            for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))
        ]
        assert actions.count("permits.application.event") == 11
        assert "permits.permit.granted" in actions


def test_a_command_outside_the_whitelist_is_a_409_naming_the_state_and_changes_nothing(
    runtime, committed, config, world
):
    app_id = draft(committed, config, world, complete_form(world))
    run(committed, config, world, world.researcher, app_id, "submit")
    run(committed, config, world, world.handler, app_id, "start_screening")
    before = ledger_size(runtime)

    with pytest.raises(Conflict) as refused:
        run(
            committed,
            config,
            world,
            world.decider,
            app_id,
            "grant",
            comment="Looks fine.",
        )
    assert refused.value.extra["state"] == "PRE_SCREENING"
    assert refused.value.extra["allowed_commands"] == ["refuse", "remark"]
    assert load(runtime, app_id).state == State.PRE_SCREENING
    assert ledger_size(runtime) == before


def test_only_a_decider_decides_and_nobody_decides_their_own_application(
    committed, config, world
):
    app_id = draft(committed, config, world, complete_form(world))
    run(committed, config, world, world.researcher, app_id, "submit")
    run(committed, config, world, world.handler, app_id, "start_screening")
    run(committed, config, world, world.handler, app_id, "start_processing")
    with pytest.raises(Conflict):
        run(committed, config, world, world.handler, app_id, "grant", comment="ok")
    with pytest.raises(Conflict):
        run(committed, config, world, world.researcher, app_id, "grant", comment="ok")


def test_an_incomplete_application_cannot_be_submitted_and_says_what_is_missing(
    runtime, committed, config, world
):
    form = complete_form(world, purposes=[], title="")
    app_id = draft(committed, config, world, form)
    with pytest.raises(InvalidInput) as missing:
        run(committed, config, world, world.researcher, app_id, "submit")
    fields = {e.field for e in missing.value.errors}
    assert {"purposes", "title"} <= fields
    assert load(runtime, app_id).state == State.DRAFT


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"datasets": [{"dataset_id": "nosuchdata", "variables": []}]}, "datasets.0"),
        ("open", "datasets.0"),
        ("unknown variable", "datasets.0.variables.0"),
        ({"team": [{"email": "nobody@nowhere.lu", "role": ""}]}, "team.0"),
    ],
)
def test_bad_datasets_variables_and_team_members_are_refused_by_name(
    committed, config, world, change, field
):
    if change == "open":
        change = {
            "datasets": [
                {
                    "dataset_id": world.open_dataset,
                    "variables": [{"name": "commune", "justification": "x" * 40}],
                }
            ]
        }
    elif change == "unknown variable":
        change = {
            "datasets": [
                {
                    "dataset_id": world.register,
                    "variables": [{"name": "salary", "justification": "x" * 40}],
                }
            ]
        }
    app_id = draft(committed, config, world, complete_form(world, **change))
    with pytest.raises(InvalidInput) as refused:
        run(committed, config, world, world.researcher, app_id, "submit")
    assert any(e.field.startswith(field) for e in refused.value.errors), (
        refused.value.errors
    )


def test_a_stale_version_is_a_conflict(committed, config, world):
    app_id = draft(committed, config, world, complete_form(world))
    with pytest.raises(Conflict):
        run(
            committed,
            config,
            world,
            world.researcher,
            app_id,
            "submit",
            expected_version=0,
        )


def test_two_people_acting_at_once_one_wins_and_the_other_gets_409(
    runtime, committed, config, world
):
    app_id = draft(committed, config, world, complete_form(world))
    run(committed, config, world, world.researcher, app_id, "submit")
    run(committed, config, world, world.handler, app_id, "start_screening")

    # Both load the application at version 3; the first to write moves it to 4.
    slow = runtime.sessions()
    stale = slow.get(Application, app_id)
    assert stale is not None and stale.version == 3
    run(committed, config, world, world.handler, app_id, "start_processing")
    with pytest.raises(Conflict):
        applications.append_event(
            slow,
            world.actor(world.researcher),
            stale,
            "withdrawn",
            {},
            now=config.now(),
        )
    slow.rollback()
    slow.close()
    assert load(runtime, app_id).state == State.PROCESSING


def test_strangers_do_not_see_an_application(committed, config, world):
    app_id = draft(committed, config, world, complete_form(world))

    def peek(session):
        applications.get_application(session, world.actor(world.outsider), app_id)

    with pytest.raises(NotFound):
        committed(peek)


def test_close_unanswered_waits_for_the_completion_window(
    runtime, committed, config, world, clock
):
    app_id = draft(committed, config, world, complete_form(world))
    run(committed, config, world, world.researcher, app_id, "submit")
    run(committed, config, world, world.handler, app_id, "start_screening")
    run(
        committed,
        config,
        world,
        world.handler,
        app_id,
        "request_information",
        comment="Which cohort definition?",
    )
    with pytest.raises(Conflict, match="has until"):
        run(committed, config, world, world.handler, app_id, "close_unanswered")
    clock.advance(days=40)
    run(committed, config, world, world.handler, app_id, "close_unanswered")
    assert load(runtime, app_id).state == State.WITHDRAWN


def test_an_extension_moves_the_deadline_once(runtime, committed, config, world):
    app_id = draft(committed, config, world, complete_form(world))
    run(committed, config, world, world.researcher, app_id, "submit")
    run(committed, config, world, world.handler, app_id, "start_screening")
    run(
        committed,
        config,
        world,
        world.handler,
        app_id,
        "extend_deadline",
        comment="Four data holders must be consulted.",
    )
    assert load(runtime, app_id).deadline == date(2027, 5, 3)
    with pytest.raises(Conflict):
        run(
            committed,
            config,
            world,
            world.handler,
            app_id,
            "extend_deadline",
            comment="Again.",
        )


def test_reminders_go_to_handlers_once_per_lead_time(
    runtime, committed, config, world, clock
):
    app_id = draft(committed, config, world, complete_form(world))
    run(committed, config, world, world.researcher, app_id, "submit")
    deadline = load(runtime, app_id).deadline
    assert deadline is not None
    from datafactory.permits import clocks

    lead = config.regimes.get("ehds").clocks.reminder_lead_working_days[0]
    day = deadline
    for _ in range(lead):
        day = day - timedelta(days=1)
        while not clocks.is_working_day(day):
            day = day - timedelta(days=1)
    assert committed(lambda s: procedure.send_reminders(s, config, day)) == 1
    assert committed(lambda s: procedure.send_reminders(s, config, day)) == 0


def test_a_decider_revokes_a_permit_with_a_reason_and_the_job_expires_others(
    runtime, committed, config, world
):
    app_id = draft(committed, config, world, complete_form(world))
    for who, name, extra in [
        (world.researcher, "submit", {}),
        (world.handler, "start_screening", {}),
        (world.handler, "start_processing", {}),
        (world.decider, "grant", {"comment": "Criteria met."}),
    ]:
        run(committed, config, world, who, app_id, name, **extra)
    permit_id = committed(lambda s: s.scalars(select(Permit.id)).one())
    committed(
        lambda s: issuing.revoke_permit(
            s,
            world.actor(world.decider),
            config,
            permit_id=permit_id,
            reason="Data were shared with a third party in breach of Art. 54.",
        )
    )
    with pytest.raises(Conflict):
        committed(
            lambda s: issuing.revoke_permit(
                s,
                world.actor(world.decider),
                config,
                permit_id=permit_id,
                reason="Twice is once too many.",
            )
        )
    assert committed(lambda s: s.get(Permit, permit_id).status) == "REVOKED"


def test_expiry_marks_ended_permits(runtime, committed, config, world):
    app_id = draft(committed, config, world, complete_form(world, duration_months=1))
    for who, name, extra in [
        (world.researcher, "submit", {}),
        (world.handler, "start_screening", {}),
        (world.handler, "start_processing", {}),
        (world.decider, "grant", {"comment": "Criteria met."}),
    ]:
        run(committed, config, world, who, app_id, name, **extra)
    seen: list[str] = []
    watched = dataclasses.replace(
        config, listeners=(lambda _s, permit, what: seen.append(what),)
    )
    assert (
        committed(lambda s: issuing.expire_permits(s, watched, date(2027, 1, 31))) == 0
    )
    assert (
        committed(lambda s: issuing.expire_permits(s, watched, date(2027, 2, 2))) == 1
    )
    assert seen == ["EXPIRED"]


def test_every_event_of_the_stream_is_stored_in_order(
    runtime, committed, config, world
):
    app_id = draft(committed, config, world, complete_form(world))
    run(committed, config, world, world.researcher, app_id, "submit")
    run(committed, config, world, world.researcher, app_id, "withdraw")
    with unit_of_work(runtime.sessions) as session:
        types = session.scalars(
            select(ApplicationEvent.type)
            .where(ApplicationEvent.application_id == app_id)
            .order_by(ApplicationEvent.seq)
        ).all()
    assert types == ["created", "submitted", "withdrawn"]
    assert Command.withdraw.value == "withdraw"


def grant(committed, config, world, app_id) -> None:
    for who, name, extra in [
        (world.researcher, "submit", {}),
        (world.handler, "start_screening", {}),
        (world.handler, "start_processing", {}),
        (world.decider, "grant", {"comment": "Criteria met."}),
    ]:
        run(committed, config, world, who, app_id, name, **extra)


def change(committed, config, world, permit_id, kind, **form_changes) -> int:
    def create(session):
        body = ApplicationCreate(
            kind=kind,
            permit_id=permit_id,
            form=ApplicationForm.model_validate(form_changes),
        )
        return applications.create_application(
            session, world.actor(world.researcher), config, body=body
        ).id

    return committed(create)


def test_a_renewal_goes_through_the_procedure_and_extends_the_permit(
    runtime, committed, config, world
):
    app_id = draft(committed, config, world, complete_form(world))
    grant(committed, config, world, app_id)
    permit_id = committed(lambda s: s.scalars(select(Permit.id)).one())
    renewal = change(committed, config, world, permit_id, "renewal", duration_months=12)
    renewed_form = committed(lambda s: s.get(Application, renewal).form)
    assert (
        renewed_form["title"] == complete_form(world)["title"]
    )  # starts from the permit
    assert renewed_form["duration_months"] == 12
    grant(committed, config, world, renewal)
    permit = committed(
        lambda s: (lambda p: (p.status, p.ends_on))(s.get(Permit, permit_id))
    )
    assert permit == ("RENEWED", date(2030, 1, 1))
    assert committed(lambda s: s.scalar(select(func.count(Permit.id)))) == 1


def test_an_amendment_replaces_the_scope_and_re_signs_the_permit(
    runtime, committed, config, world
):
    app_id = draft(committed, config, world, complete_form(world))
    grant(committed, config, world, app_id)
    permit_id = committed(lambda s: s.scalars(select(Permit.id)).one())
    old_token = committed(lambda s: s.get(Permit, permit_id).token)
    form = complete_form(world)
    form["datasets"][0]["variables"].append(
        {"name": "commune", "justification": "Care pathways differ by commune."}
    )
    amendment = change(
        committed, config, world, permit_id, "amendment", datasets=form["datasets"]
    )
    grant(committed, config, world, amendment)
    permit = committed(lambda s: s.get(Permit, permit_id))
    assert permit.status == "AMENDED"
    assert "commune" in permit.scope["datasets"][0]["variables"]
    assert permit.token != old_token


def test_only_the_holder_changes_a_permit_and_never_a_revoked_one(
    committed, config, world
):
    app_id = draft(committed, config, world, complete_form(world))
    grant(committed, config, world, app_id)
    permit_id = committed(lambda s: s.scalars(select(Permit.id)).one())

    def by_colleague(session):
        body = ApplicationCreate(kind="amendment", permit_id=permit_id)
        applications.create_application(
            session, world.actor(world.colleague), config, body=body
        )

    with pytest.raises(NotFound):
        committed(by_colleague)
    committed(
        lambda s: issuing.revoke_permit(
            s,
            world.actor(world.decider),
            config,
            permit_id=permit_id,
            reason="Conditions of the permit were breached.",
        )
    )
    with pytest.raises(InvalidInput):
        change(committed, config, world, permit_id, "renewal")
