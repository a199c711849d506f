"""The airlock on the real database: a member groups real workspace outputs into a release
request, the automatic checks run on submission, two blinded output checkers review it,
and only members download only approved files. Every step is ledgered and the ledger
verifies."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.catalogue.models import Dataset
from datafactory.core import ledger
from datafactory.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from datafactory.core.ledger import LedgerEntry
from datafactory.identity import people
from datafactory.identity.actor import Actor
from datafactory.identity.models import OrganisationKind, Person, Role
from datafactory.permits.models import Permit
from datafactory.spe import outputs, workspaces
from datafactory.spe.airlock import requests, reviews
from datafactory.spe.airlock.models import (
    CheckStatus,
    Decision,
    FileRole,
    ReleaseRequest,
    RequestStatus,
)
from datafactory.spe.config import SpeConfig
from datafactory.spe.jobs.models import WorkspaceOutput
from datafactory.spe.models import Workspace, WorkspaceStatus
from tests.factories import SYSTEM, person
from tests.ttp.world import Clock, make_permit, ttp_config

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
SCRIPT = "import pandas as pd\nprint('a table')\n"
SQL = "SELECT sex, COUNT(*) AS n FROM person GROUP BY sex"


def csv_bytes(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


SAFE_TABLE = csv_bytes([["sex", "n"], ["F", 120], ["M", 115]])
SMALL_TABLE = csv_bytes([["commune", "n"], ["Esch", 120], ["Vianden", 3]])


def regression(df_resid: int) -> bytes:
    return (
        "                            OLS Regression Results\n"
        "==============================================================\n"
        "Dep. Variable:                      y   R-squared:         0.5\n"
        f"No. Observations:   {df_resid + 2}   AIC:    10.0\n"
        f"Df Residuals:                      {df_resid}   BIC:    12.0\n"
        "Df Model:                           1\n"
    ).encode()


@dataclass
class World:
    config: SpeConfig
    clock: Clock
    permit: Permit
    workspace: Workspace
    dataset_id: str
    author: Person
    colleague: Person
    member_checker: Person
    """A member of the workspace who is also an output checker."""
    checker1: Person
    checker2: Person
    outsider: Person

    def actor(self, who: Person) -> Actor:
        return Actor.for_person(who)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


def spe_config(runtime, tmp_path, clock: Clock) -> SpeConfig:
    return SpeConfig(
        store=runtime.store,
        work_dir=tmp_path / "spe-work",
        ttp=ttp_config(tmp_path, clock=clock),
        base_url="https://data.example.lu",
        now=clock,
    )


@pytest.fixture
def config(runtime, tmp_path, clock) -> SpeConfig:
    return spe_config(runtime, tmp_path, clock)


def build(session: Session, config: SpeConfig, clock: Clock) -> World:
    org = people.create_organisation(
        session,
        SYSTEM,
        slug="uni",
        name="University of Luxembourg",
        kind=OrganisationKind.research,
        is_public_sector=True,
    )
    checkers = people.create_organisation(
        session,
        SYSTEM,
        slug="lnds",
        name="LNDS",
        kind=OrganisationKind.data_holder,
        is_public_sector=True,
    )
    author = person(session, "ana@uni.lu", roles=((Role.reuser, org.id),))
    colleague = person(session, "ben@uni.lu", roles=((Role.reuser, org.id),))
    member_checker = person(
        session,
        "cleo@uni.lu",
        roles=((Role.reuser, org.id), (Role.output_checker, None)),
    )
    checker1 = person(
        session, "check1@lnds.lu", roles=((Role.output_checker, checkers.id),)
    )
    checker2 = person(
        session, "check2@lnds.lu", roles=((Role.output_checker, checkers.id),)
    )
    outsider = person(session, "olga@uni.lu", roles=((Role.reuser, org.id),))
    dataset = Dataset(
        id="ds-health",
        publisher_id=checkers.id,
        status="published",
        draft={},
        version=1,
    )
    session.add(dataset)
    permit = make_permit(session, author, "PRM-2026-00042")
    permit.organisation_id = org.id
    permit.scope = {
        "datasets": [{"id": dataset.id, "variables": ["sex"]}],
        "users": [author.id, colleague.id, member_checker.id],
    }
    session.flush()
    workspace = workspaces.create_workspace(
        session, Actor.system("test"), config, permit=permit
    )
    workspace.status = WorkspaceStatus.ready.value
    session.flush()
    return World(
        config=config,
        clock=clock,
        permit=permit,
        workspace=workspace,
        dataset_id=dataset.id,
        author=author,
        colleague=colleague,
        member_checker=member_checker,
        checker1=checker1,
        checker2=checker2,
        outsider=outsider,
    )


@pytest.fixture
def world(db, config, clock) -> World:
    return build(db, config, clock)


def save(
    session: Session,
    world: World,
    name: str,
    kind: str,
    data: bytes,
    *,
    origin: str = "job:1",
    code: str = SCRIPT,
    media_type: str | None = None,
    workspace: Workspace | None = None,
) -> WorkspaceOutput:
    media = (
        media_type
        or {
            "table": "text/csv",
            "figure": "image/png",
            "text": "text/plain",
            "regression": "text/plain",
            "evidence": "application/json",
        }[kind]
    )
    return outputs.save_output(
        session,
        world.actor(world.author),
        world.config,
        workspace or world.workspace,
        name=name,
        kind=kind,
        media_type=media,
        data=data,
        origin=origin,
        code=code,
    )


def draft(
    session: Session,
    world: World,
    *files: WorkspaceOutput,
    author: Person | None = None,
) -> ReleaseRequest:
    who = world.actor(author or world.author)
    made = requests.create_request(
        session,
        who,
        world.config,
        workspace=world.workspace.name,
        title="Cases by sex",
        description="Counts for the paper's table 1.",
    )
    for output in files:
        requests.add_file(
            session, who, world.config, request_id=made.id, output_id=output.id
        )
    return made


def submitted(session: Session, world: World, author: Person | None = None) -> int:
    table = save(session, world, "cases.csv", "table", SAFE_TABLE)
    made = draft(session, world, table, author=author)
    requests.submit(
        session, world.actor(author or world.author), world.config, request_id=made.id
    )
    return made.id


def decide(
    session: Session,
    world: World,
    who: Person,
    request_id: int,
    decision: Decision,
    comment: str = "",
) -> None:
    reviews.review(
        session,
        world.actor(who),
        world.config,
        request_id=request_id,
        decision=decision,
        comment=comment,
    )


def actions(session: Session, prefix: str = "spe.") -> list[str]:
    return list(
        session.scalars(
            select(LedgerEntry.action)
            .where(LedgerEntry.action.startswith(prefix))
            .order_by(LedgerEntry.seq)
        )
    )


# --- the whole flow ----------------------------------------------------------------------


def test_a_request_of_real_outputs_is_checked_reviewed_released_and_ledgered(db, world):
    table = save(
        db, world, "cases.csv", "table", SAFE_TABLE, origin="query:7", code=SQL
    )
    figure = save(db, world, "cases.png", "figure", PNG)
    model = save(db, world, "model.txt", "regression", regression(50))
    note = save(db, world, "notes.txt", "text", b"Methods, in words.")
    author = world.actor(world.author)
    made = draft(db, world, table, model, note)
    requests.add_file(
        db,
        author,
        world.config,
        request_id=made.id,
        output_id=figure.id,
        justification="Bars of table 1; each bar is at least 100 people.",
        underlying_output_id=table.id,
    )
    requests.submit(db, author, world.config, request_id=made.id)

    view = requests.get_request(db, author, request_id=made.id)
    statuses = {f.name: f.check_status for f in view.files}
    assert statuses == {
        "cases.csv": CheckStatus.passed,
        "cases.png": CheckStatus.passed,
        "model.txt": CheckStatus.passed,
        "notes.txt": CheckStatus.review,
    }
    assert view.request.status == RequestStatus.submitted
    assert view.request.round == 1
    assert all(f.check_report and f.check_report["reasons"] for f in view.files)

    for checker in (world.checker1, world.checker2):
        queue = reviews.checker_queue(db, world.actor(checker))
        assert [r.id for r in queue] == [made.id]
        seen = reviews.inspect_file(
            db,
            world.actor(checker),
            world.config,
            request_id=made.id,
            file_id=view.files[0].id,
        )
        assert seen.data == SAFE_TABLE
        decide(db, world, checker, made.id, Decision.approve, "Fine.")
    assert reviews.checker_queue(db, world.actor(world.checker1)) == []

    db.refresh(made)
    assert made.status == RequestStatus.approved
    for member in (world.author, world.colleague):
        got = requests.download_file(
            db,
            world.actor(member),
            world.config,
            request_id=made.id,
            file_id=view.files[0].id,
        )
        assert (got.name, got.data, got.media_type) == (
            "cases.csv",
            SAFE_TABLE,
            "text/csv",
        )

    assert actions(db, "spe.release.") == [
        "spe.release.created",
        *["spe.release.file_added"] * 4,
        "spe.release.submitted",
        "spe.release.file_inspected",
        "spe.release.reviewed",
        "spe.release.file_inspected",
        "spe.release.reviewed",
        "spe.release.concluded",
        "spe.release.downloaded",
        "spe.release.downloaded",
    ]
    assert "spe.archive.code_archived" in actions(db, "spe.archive.")
    assert ledger.verify(db).ok


# --- blinding and independence ---------------------------------------------------------


def test_checkers_are_blinded_until_both_have_decided(db, world):
    request_id = submitted(db, world)
    decide(db, world, world.checker1, request_id, Decision.approve, "Looks safe.")

    first = requests.get_request(db, world.actor(world.checker1), request_id=request_id)
    assert [(r.checker_id, r.comment) for r in first.reviews] == [
        (world.checker1.id, "Looks safe.")
    ]
    second = requests.get_request(
        db, world.actor(world.checker2), request_id=request_id
    )
    assert second.reviews == []
    assert second.reviews_this_round == 1
    for member in (world.author, world.colleague):
        seen = requests.get_request(db, world.actor(member), request_id=request_id)
        assert seen.reviews == []

    decide(
        db,
        world,
        world.checker2,
        request_id,
        Decision.changes_requested,
        "Round the counts to 5.",
    )
    for who in (world.checker1, world.checker2, world.author):
        seen = requests.get_request(db, world.actor(who), request_id=request_id)
        assert {r.comment for r in seen.reviews} == {
            "Looks safe.",
            "Round the counts to 5.",
        }


def test_the_author_never_reviews_even_as_an_output_checker(db, world):
    request_id = submitted(db, world, author=world.member_checker)
    checker = world.actor(world.member_checker)
    with pytest.raises(Forbidden, match="author"):
        decide(db, world, world.member_checker, request_id, Decision.approve)
    assert reviews.checker_queue(db, checker) == []
    assert [r.id for r in reviews.checker_queue(db, world.actor(world.checker1))] == [
        request_id
    ]


def test_people_without_the_checker_role_cannot_review(db, world):
    request_id = submitted(db, world)
    with pytest.raises(Forbidden):
        decide(db, world, world.colleague, request_id, Decision.approve)
    with pytest.raises(Forbidden):
        reviews.checker_queue(db, world.actor(world.colleague))


def test_a_checker_reviews_a_round_once_and_explains_a_refusal(db, world):
    request_id = submitted(db, world)
    with pytest.raises(InvalidInput, match="comment"):
        decide(db, world, world.checker1, request_id, Decision.reject)
    decide(db, world, world.checker1, request_id, Decision.approve)
    with pytest.raises(Conflict, match="already"):
        decide(db, world, world.checker1, request_id, Decision.approve)


# --- outcomes ----------------------------------------------------------------------------


def test_changes_requested_return_the_request_and_resubmission_resets_reviews(
    db, world
):
    request_id = submitted(db, world)
    decide(db, world, world.checker1, request_id, Decision.approve, "Fine.")
    decide(
        db, world, world.checker2, request_id, Decision.changes_requested, "Context?"
    )
    request = db.get(ReleaseRequest, request_id)
    assert request is not None
    assert request.status == RequestStatus.returned
    author = world.actor(world.author)
    view = requests.get_request(db, author, request_id=request_id)
    assert [r.comment for r in view.reviews if r.comment] == ["Fine.", "Context?"]

    requests.update_file(
        db,
        author,
        world.config,
        request_id=request_id,
        file_id=view.files[0].id,
        justification="All people aged 18+, 2020-2024.",
    )
    requests.submit(db, author, world.config, request_id=request_id)
    db.refresh(request)
    assert (request.status, request.round) == (RequestStatus.submitted, 2)
    again = requests.get_request(db, world.actor(world.checker1), request_id=request_id)
    assert again.reviews_this_round == 0
    assert [r.id for r in reviews.checker_queue(db, world.actor(world.checker1))] == [
        request_id
    ]
    decide(db, world, world.checker1, request_id, Decision.approve)
    decide(db, world, world.checker2, request_id, Decision.approve)
    db.refresh(request)
    assert request.status == RequestStatus.approved
    assert actions(db, "spe.release.concluded") == ["spe.release.concluded"] * 2


def test_any_rejection_rejects_and_nothing_downloads(db, world):
    request_id = submitted(db, world)
    file_id = (
        requests.get_request(db, world.actor(world.author), request_id=request_id)
        .files[0]
        .id
    )
    decide(db, world, world.checker1, request_id, Decision.approve)
    decide(db, world, world.checker2, request_id, Decision.reject, "Too detailed.")
    request = db.get(ReleaseRequest, request_id)
    assert request is not None and request.status == RequestStatus.rejected
    with pytest.raises(Forbidden, match="approved"):
        requests.download_file(
            db,
            world.actor(world.author),
            world.config,
            request_id=request_id,
            file_id=file_id,
        )
    with pytest.raises(Conflict):
        requests.submit(
            db, world.actor(world.author), world.config, request_id=request_id
        )


# --- downloads ---------------------------------------------------------------------------


def test_only_members_download_and_only_approved_output_files(db, world):
    table = save(db, world, "cases.csv", "table", SAFE_TABLE)
    context = save(db, world, "context.txt", "text", b"How the cohort was drawn.")
    author = world.actor(world.author)
    made = draft(db, world, table)
    requests.add_file(
        db,
        author,
        world.config,
        request_id=made.id,
        output_id=context.id,
        role=FileRole.supporting,
    )
    files = {
        f.name: f.id for f in requests.get_request(db, author, request_id=made.id).files
    }

    def download(who: Person, name: str) -> bytes:
        return requests.download_file(
            db, world.actor(who), world.config, request_id=made.id, file_id=files[name]
        ).data

    with pytest.raises(Forbidden, match="approved"):
        download(world.author, "cases.csv")
    requests.submit(db, author, world.config, request_id=made.id)
    with pytest.raises(Forbidden, match="approved"):
        download(world.author, "cases.csv")
    decide(db, world, world.checker1, made.id, Decision.approve)
    decide(db, world, world.checker2, made.id, Decision.approve)

    assert download(world.author, "cases.csv") == SAFE_TABLE
    with pytest.raises(Forbidden, match="Supporting"):
        download(world.author, "context.txt")
    for stranger in (world.outsider, world.checker1):
        with pytest.raises(NotFound):
            download(stranger, "cases.csv")
    assert actions(db, "spe.release.downloaded") == ["spe.release.downloaded"]


def test_strangers_neither_see_nor_touch_a_request(db, world):
    table = save(db, world, "cases.csv", "table", SAFE_TABLE)
    made = draft(db, world, table)
    outsider = world.actor(world.outsider)
    with pytest.raises(Forbidden):
        draft(db, world, author=world.outsider)
    with pytest.raises(NotFound):
        requests.get_request(db, outsider, request_id=made.id)
    with pytest.raises(NotFound):
        # A checker sees a request once it is submitted, never a draft.
        requests.get_request(db, world.actor(world.checker1), request_id=made.id)
    with pytest.raises(NotFound):
        requests.submit(db, outsider, world.config, request_id=made.id)
    with pytest.raises(Forbidden, match="author"):
        requests.submit(
            db, world.actor(world.colleague), world.config, request_id=made.id
        )
    with pytest.raises(NotFound):
        requests.get_request(db, world.actor(world.author), request_id=made.id + 99)


def test_only_outputs_of_the_workspace_and_never_evidence_join_a_request(db, world):
    made = draft(db, world)
    author = world.actor(world.author)
    evidence = save(db, world, "cases.sdc.json", "evidence", b"{}")
    with pytest.raises(InvalidInput, match="evidence"):
        requests.add_file(
            db, author, world.config, request_id=made.id, output_id=evidence.id
        )
    with pytest.raises(NotFound):
        requests.add_file(
            db, author, world.config, request_id=made.id, output_id=evidence.id + 99
        )
    table = save(db, world, "cases.csv", "table", SAFE_TABLE)
    requests.add_file(db, author, world.config, request_id=made.id, output_id=table.id)
    with pytest.raises(Conflict):
        requests.add_file(
            db, author, world.config, request_id=made.id, output_id=table.id
        )
    with pytest.raises(InvalidInput, match="at least one output"):
        requests.submit(db, author, world.config, request_id=draft(db, world).id)


def test_an_output_of_another_workspace_is_not_found(db, world):
    other_permit = make_permit(db, world.author, "PRM-2026-00043")
    other_permit.scope = {"users": [world.author.id]}
    db.flush()
    other = workspaces.create_workspace(
        db, Actor.system("test"), world.config, permit=other_permit
    )
    other.status = WorkspaceStatus.ready.value
    db.flush()
    foreign = save(db, world, "x.csv", "table", SAFE_TABLE, workspace=other)
    made = draft(db, world)
    with pytest.raises(NotFound):
        requests.add_file(
            db,
            world.actor(world.author),
            world.config,
            request_id=made.id,
            output_id=foreign.id,
        )


# --- automatic checks on submission ------------------------------------------------------


def test_a_failing_table_blocks_submission_unless_an_exception_is_asked(db, world):
    table = save(db, world, "communes.csv", "table", SMALL_TABLE)
    made = draft(db, world, table)
    author = world.actor(world.author)
    with pytest.raises(InvalidInput) as refused:
        requests.submit(db, author, world.config, request_id=made.id)
    assert "fewer than 10 people" in refused.value.errors[0].message
    file_id = requests.get_request(db, author, request_id=made.id).files[0].id
    requests.update_file(
        db,
        author,
        world.config,
        request_id=made.id,
        file_id=file_id,
        exception="Vianden is a public count from STATEC's yearbook.",
    )
    requests.submit(db, author, world.config, request_id=made.id)
    view = requests.get_request(db, author, request_id=made.id)
    assert view.files[0].check_status == CheckStatus.failed
    assert view.request.status == RequestStatus.submitted


def test_a_figure_needs_a_justification_and_its_table(db, world):
    figure = save(db, world, "bars.png", "figure", PNG)
    made = draft(db, world, figure)
    author = world.actor(world.author)
    with pytest.raises(InvalidInput) as refused:
        requests.submit(db, author, world.config, request_id=made.id)
    message = refused.value.errors[0].message
    assert "justification" in message and "underlying table" in message


def test_a_regression_with_five_residual_degrees_of_freedom_blocks(db, world):
    model = save(db, world, "model.txt", "regression", regression(5))
    made = draft(db, world, model)
    with pytest.raises(InvalidInput) as refused:
        requests.submit(db, world.actor(world.author), world.config, request_id=made.id)
    assert "5 residual degrees of freedom" in refused.value.errors[0].message


def test_a_withdrawn_request_changes_no_more(db, world):
    made = draft(db, world, save(db, world, "cases.csv", "table", SAFE_TABLE))
    author = world.actor(world.author)
    requests.withdraw(db, author, world.config, request_id=made.id)
    with pytest.raises(Conflict):
        requests.submit(db, author, world.config, request_id=made.id)
    assert actions(db, "spe.release.withdrawn") == ["spe.release.withdrawn"]
    assert ledger.verify(db).ok


def test_a_gate_table_is_re_verified_from_its_evidence_of_the_same_query(db, world):
    released = csv_bytes(
        [["commune", "n"], ["Esch", 120], ["Wiltz", ""], ["Vianden", ""]]
    )
    cells = [
        {"group": ["Esch"], "n": 120},
        {"group": ["Wiltz"], "n": 40},
        {"group": ["Vianden"], "n": 4},
    ]
    sidecar = json.dumps(
        {
            "version": 1,
            "groups": ["commune"],
            "aggregates": [{"column": "n", "statistic": "count", "cells": cells}],
        }
    ).encode()
    table = save(
        db, world, "communes.csv", "table", released, origin="query:5", code=SQL
    )
    save(db, world, "communes.csv.sdc.json", "evidence", sidecar, origin="query:5")
    # Evidence of another query never vouches for this table.
    save(db, world, "communes.sdc.json", "evidence", b"[]", origin="query:6")
    made = draft(db, world, table)
    author = world.actor(world.author)
    requests.submit(db, author, world.config, request_id=made.id)
    report = requests.get_request(db, author, request_id=made.id).files[0].check_report
    assert report is not None
    assert report["status"] == "pass"
    facts = report["facts"]
    assert isinstance(facts, dict) and facts["evidence_cells"] == 3


def test_notes_on_files_stay_with_their_review_and_a_third_checker_is_too_late(
    db, world
):
    request_id = submitted(db, world)
    file_id = (
        requests.get_request(db, world.actor(world.author), request_id=request_id)
        .files[0]
        .id
    )
    with pytest.raises(InvalidInput):
        reviews.review(
            db,
            world.actor(world.checker1),
            world.config,
            request_id=request_id,
            decision=Decision.approve,
            file_notes={file_id + 99: "?"},
        )
    reviews.review(
        db,
        world.actor(world.checker1),
        world.config,
        request_id=request_id,
        decision=Decision.changes_requested,
        comment="See the note.",
        file_notes={file_id: "Say which years."},
    )
    decide(db, world, world.checker2, request_id, Decision.approve)
    seen = requests.get_request(db, world.actor(world.author), request_id=request_id)
    assert [r.file_notes for r in seen.reviews] == [
        {str(file_id): "Say which years."},
        {},
    ]
    third = person(db, "check3@lnds.lu", roles=((Role.output_checker, None),))
    with pytest.raises(Conflict, match="returned"):
        decide(db, world, third, request_id, Decision.approve)
