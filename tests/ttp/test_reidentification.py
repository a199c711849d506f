"""Re-identification by four eyes, on the real database: a legal reason, a second and
different TTP operator, the requester alone sees the identifier, once; all ledgered, the
identifier never."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from datafactory.core.errors import DatafactoryError, Forbidden, InvalidInput, NotFound
from datafactory.privacy.pseudonyms import Pseudonymiser
from datafactory.ttp import domains, files, reidentification
from datafactory.ttp.errors import RequestNotOpen, SameOperator, UnknownDomain
from datafactory.ttp.models import ReidentificationRequest
from tests.factories import SYSTEM
from tests.ttp.world import (
    CLI_OPERATOR,
    build_team,
    ledger_entries,
    ledger_text,
    matricules,
    read_csv,
    spaced,
    ttp_config,
    write_csv,
)

REASON = "Order of the investigating judge, Luxembourg, ref. 2026/1234, art. 66 CPP"


@pytest.fixture
def config(tmp_path):
    return ttp_config(tmp_path)


@pytest.fixture
def team(committed):
    return committed(build_team)


@pytest.fixture
def people():
    return matricules(3, seed=11)


@pytest.fixture
def pseudonyms(committed, config, people, tmp_path):
    """sector:health holds the three people; their pseudonyms in file order."""
    committed(
        lambda s: domains.create_domain(s, CLI_OPERATOR, config, name="sector:health")
    )
    source = write_csv(
        tmp_path / "a.csv",
        [{"id": spaced(people[0])}, {"id": people[1]}, {"id": people[2]}],
    )
    committed(
        lambda s: files.pseudonymise_file(
            s,
            CLI_OPERATOR,
            config,
            domain="sector:health",
            column="id",
            source=source,
            target=tmp_path / "a-p.csv",
        )
    )
    return [r["id"] for r in read_csv(tmp_path / "a-p.csv")]


def ask(committed, team, who, pseudonym, reason=REASON, domain="sector:health"):
    return committed(
        lambda s: (
            reidentification.request_reidentification(
                s,
                team.actor(who),
                domain=domain,
                pseudonym=pseudonym,
                legal_reason=reason,
            ).id
        )
    )


def approve(committed, team, who, request_id):
    committed(
        lambda s: reidentification.approve(s, team.actor(who), request_id=request_id)
    )


def reveal(committed, config, team, who, request_id):
    return committed(
        lambda s: reidentification.reveal(
            s, team.actor(who), config, request_id=request_id
        )
    )


def test_a_request_approved_by_a_second_operator_reveals_the_identifier_once(
    committed, db, config, team, people, pseudonyms
):
    request_id = ask(committed, team, team.alice, pseudonyms[0])
    approve(committed, team, team.bob, request_id)
    assert reveal(committed, config, team, team.alice, request_id) == people[0]
    with pytest.raises(RequestNotOpen, match="revealed already; make a new request"):
        reveal(committed, config, team, team.alice, request_id)
    request = db.get(ReidentificationRequest, request_id)
    assert (request.status, request.decided_by) == ("revealed", team.bob.id)
    assert request.revealed_at == config.now()
    steps = [e.action for e in ledger_entries(db, "ttp.reidentification")]
    assert steps == [
        "ttp.reidentification.requested",
        "ttp.reidentification.approved",
        "ttp.reidentification.revealed",
    ]
    text = ledger_text(db)
    assert REASON in text and pseudonyms[0] in text
    for number in people:
        assert number not in text


def test_the_requester_can_never_approve_their_own_request(committed, team, pseudonyms):
    request_id = ask(committed, team, team.alice, pseudonyms[1])
    with pytest.raises(SameOperator) as refused:
        approve(committed, team, team.alice, request_id)
    assert refused.value.status == 403
    assert "second, different TTP operator" in refused.value.detail


def test_only_the_requester_sees_the_result_and_only_after_approval(
    committed, config, team, pseudonyms
):
    request_id = ask(committed, team, team.alice, pseudonyms[1])
    with pytest.raises(RequestNotOpen, match="waits for a second operator"):
        reveal(committed, config, team, team.alice, request_id)
    approve(committed, team, team.bob, request_id)
    for other in (team.bob, team.carol):
        with pytest.raises(Forbidden, match="Only the operator who made the request"):
            reveal(committed, config, team, other, request_id)


def test_a_refused_request_reveals_nothing(committed, db, config, team, pseudonyms):
    request_id = ask(committed, team, team.alice, pseudonyms[2])
    committed(
        lambda s: reidentification.refuse(
            s, team.actor(team.carol), request_id=request_id, reason="no order attached"
        )
    )
    with pytest.raises(RequestNotOpen, match="was refused"):
        approve(committed, team, team.bob, request_id)
    with pytest.raises(RequestNotOpen, match="was refused"):
        reveal(committed, config, team, team.alice, request_id)
    assert (
        db.get(ReidentificationRequest, request_id).refusal_reason
        == "no order attached"
    )


def test_a_request_states_a_legal_reason_and_a_real_pseudonym(
    committed, team, pseudonyms
):
    with pytest.raises(InvalidInput) as refused:
        ask(committed, team, team.alice, "NOT-A-PSEUDONYM", reason="because")
    assert {e.field for e in refused.value.errors} == {"pseudonym", "legal_reason"}
    unknown = Pseudonymiser(bytes(32)).one("1893120105732")
    with pytest.raises(NotFound, match="never handed out"):
        ask(committed, team, team.alice, unknown)
    with pytest.raises(UnknownDomain):
        ask(committed, team, team.alice, pseudonyms[0], domain="sector:nowhere")


def test_a_pseudonym_of_another_domain_is_not_found(
    committed, config, team, pseudonyms
):
    committed(
        lambda s: domains.create_domain(s, CLI_OPERATOR, config, name="sector:jobs")
    )
    with pytest.raises(NotFound, match="sector:jobs never handed out"):
        ask(committed, team, team.alice, pseudonyms[0], domain="sector:jobs")


def test_nobody_but_a_ttp_operator_person_takes_part(committed, team, pseudonyms):
    for actor in (
        team.actor(team.outsider),
        team.actor(team.citizen),
        CLI_OPERATOR,
        SYSTEM,
    ):
        with pytest.raises(Forbidden):
            committed(
                lambda s, actor=actor: reidentification.request_reidentification(
                    s,
                    actor,
                    domain="sector:health",
                    pseudonym=pseudonyms[0],
                    legal_reason=REASON,
                )
            )
    request_id = ask(committed, team, team.alice, pseudonyms[0])
    with pytest.raises(Forbidden):
        approve(committed, team, team.outsider, request_id)


def test_a_retired_domain_stays_re_identifiable(
    committed, config, team, people, pseudonyms
):
    committed(
        lambda s: domains.retire_domain(
            s, CLI_OPERATOR, config, name="sector:health", reason="closed"
        )
    )
    request_id = ask(committed, team, team.alice, pseudonyms[2])
    approve(committed, team, team.carol, request_id)
    assert reveal(committed, config, team, team.alice, request_id) == people[2]


def test_a_pseudonym_made_before_a_rotation_is_re_identified_with_its_own_key(
    committed, config, team, people, pseudonyms
):
    committed(lambda s: domains.rotate_master_key(s, CLI_OPERATOR, config))
    committed(
        lambda s: domains.rotate_domain(s, CLI_OPERATOR, config, name="sector:health")
    )
    request_id = ask(committed, team, team.bob, pseudonyms[1])
    approve(committed, team, team.alice, request_id)
    assert reveal(committed, config, team, team.bob, request_id) == people[1]


def test_pending_requests_are_listed_with_their_domain(committed, team, pseudonyms):
    first = ask(committed, team, team.alice, pseudonyms[0])
    second = ask(committed, team, team.bob, pseudonyms[1])
    approve(committed, team, team.carol, first)
    listed = committed(
        lambda s: [
            (r.id, name)
            for r, name in reidentification.list_requests(
                s, team.actor(team.carol), status=None
            )
        ]
    )
    assert listed == [(second, "sector:health"), (first, "sector:health")]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    requester=st.sampled_from(["alice", "bob", "carol", "outsider"]),
    approver=st.sampled_from(["alice", "bob", "carol", "outsider"]),
    revealer=st.sampled_from(["alice", "bob", "carol", "outsider"]),
)
def test_reveal_succeeds_only_for_a_requester_whose_request_another_operator_approved(
    committed, config, team, people, pseudonyms, requester, approver, revealer
):
    operators = {"alice", "bob", "carol"}
    expected = (
        requester in operators
        and approver in operators
        and requester != approver
        and revealer == requester
    )
    who = {name: getattr(team, name) for name in ("alice", "bob", "carol", "outsider")}
    revealed = None
    try:
        request_id = ask(committed, team, who[requester], pseudonyms[0])
        try:
            approve(committed, team, who[approver], request_id)
        except DatafactoryError:
            pass
        revealed = reveal(committed, config, team, who[revealer], request_id)
    except DatafactoryError:
        pass
    assert (revealed == people[0]) is expected
    assert revealed in (None, people[0])


def test_the_request_rows_hold_no_identifier(committed, db, team, people, pseudonyms):
    ask(committed, team, team.alice, pseudonyms[0])
    for row in db.scalars(select(ReidentificationRequest)):
        assert people[0] not in f"{row.pseudonym} {row.legal_reason}"
