"""The pure state machine: whatever commands anyone sends, in any order, an application only
moves along the D6.4 transitions, and a refused command changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.permits.workflow import (
    EVENT_OF,
    TRANSITIONS,
    WHITELIST,
    ApplicationView,
    Command,
    CommandRefused,
    Decision,
    Event,
    Party,
    State,
    apply,
    check,
    project,
)

START = datetime(2026, 1, 5, 9, tzinfo=UTC)
REVIEWER = 7


def payload_for(command: Command) -> dict[str, object]:
    """What the service would put in the event; only a few events read their payload."""
    return {
        Command.invite_assistant: {"person_id": 3},
        Command.request_review: {"reviewer_ids": [REVIEWER]},
        Command.review: {"person_id": REVIEWER},
        Command.recommend: {"recommendation": "POSITIVE"},
    }.get(command, {})


def send(view: ApplicationView, party: Party, command: Command) -> ApplicationView:
    check(view, {party}, command)
    event = Event(
        seq=view.version + 1,
        type=EVENT_OF[command],
        actor=f"person:{party.value}",
        at=START + timedelta(days=view.version),
        payload=payload_for(command),
    )
    return apply(view, event)


attempts = st.lists(
    st.tuples(st.sampled_from(list(Party)), st.sampled_from(list(Command))),
    max_size=60,
)


@settings(max_examples=400)
@given(attempts)
def test_no_sequence_of_commands_leaves_the_d64_model(steps):
    view = ApplicationView()
    for party, command in steps:
        before = view
        try:
            view = send(view, party, command)
        except CommandRefused as refused:
            assert refused.state is before.state
            assert command not in refused.allowed
            continue
        if view.state is not before.state:
            assert view.state in TRANSITIONS[before.state], (
                f"{before.state} -> {view.state} by {party}:{command}"
            )
        assert view.version == before.version + 1
        if view.state is State.DECISION_ISSUED:
            assert view.decision in (Decision.POSITIVE, Decision.NEGATIVE)
        else:
            assert view.decision is None


@given(attempts)
def test_folding_the_events_again_gives_the_same_state(steps):
    view = ApplicationView()
    events = []
    for party, command in steps:
        try:
            check(view, {party}, command)
        except CommandRefused:
            continue
        event = Event(
            seq=view.version + 1,
            type=EVENT_OF[command],
            actor="person:1",
            at=START,
            payload=payload_for(command),
        )
        events.append(event)
        view = apply(view, event)
    assert project(events) == view


def test_final_states_accept_no_command_from_anyone():
    for state in (State.DECISION_ISSUED, State.WITHDRAWN):
        assert WHITELIST[state] == {}
        assert TRANSITIONS[state] == frozenset()


def test_only_the_decider_grants_or_refuses_in_any_state():
    for state, table in WHITELIST.items():
        for party, commands in table.items():
            if party is not Party.decider:
                assert not commands & {Command.grant, Command.refuse}, (state, party)


def test_a_refusal_names_the_state_and_the_allowed_commands():
    view = ApplicationView(state=State.SUBMITTED)
    with pytest.raises(CommandRefused) as refused:
        check(view, {Party.handler}, Command.grant)
    assert "SUBMITTED" in str(refused.value)
    assert refused.value.allowed == [Command.remark, Command.start_screening]


def test_information_returns_the_application_to_the_phase_it_came_from():
    view = ApplicationView()
    for party, command in [
        (Party.applicant, Command.submit),
        (Party.handler, Command.start_screening),
        (Party.handler, Command.start_processing),
        (Party.handler, Command.request_information),
        (Party.applicant, Command.provide_information),
    ]:
        view = send(view, party, command)
    assert view.state is State.PROCESSING


def test_the_deadline_is_extended_once_only():
    view = ApplicationView()
    for party, command in [
        (Party.applicant, Command.submit),
        (Party.handler, Command.start_screening),
        (Party.handler, Command.extend_deadline),
    ]:
        view = send(view, party, command)
    with pytest.raises(CommandRefused):
        send(view, Party.handler, Command.extend_deadline)
