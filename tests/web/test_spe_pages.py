"""The secure processing environment's pages through signed-in browser sessions on the real
app: a member's workspace page and its SQL editor, jobs, release requests, the output
checkers' queue and review form, and the public code archive of a permit."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.identity.actor import Actor
from datafactory.identity.models import Person, Role
from datafactory.spe import workspaces
from datafactory.spe.airlock import requests, reviews
from datafactory.spe.airlock.models import Decision, ReleaseRequest, RequestStatus
from datafactory.spe.config import SpeConfig
from datafactory.spe.jobs.models import SpeJob
from datafactory.spe.models import WorkspaceStatus
from datafactory.spe.queries import gate
from datafactory.spe.queries.models import WorkspaceQuery
from tests.factories import person
from tests.spe.gate_world import CLAIM, PERSON, claim_table, person_table
from tests.ttp.world import make_permit
from tests.web.test_handling_pages import browser, csrf  # noqa: F401

__all__ = ["browser"]

SAFE_SQL = "SELECT sex, COUNT(*) AS n FROM person GROUP BY sex"
SMALL_SQL = "SELECT commune, COUNT(*) AS n FROM person GROUP BY commune"
REFUSED_SQL = "SELECT * FROM person"


@dataclass(frozen=True)
class Study:
    """A ready workspace with one approved release (so a public archive) and one request
    waiting for the checkers."""

    workspace: str
    permit_reference: str
    approved_id: int
    pending_id: int


def build_study(
    session: Session,
    config: SpeConfig,
    member: Person,
    checkers: Sequence[Person],
    *,
    reference: str,
    name: str,
) -> Study:
    """The workspace ``name`` of a new permit ``reference`` whose one user is ``member``,
    with the gate world's tables, made through the services."""
    permit = make_permit(session, member, reference)
    permit.scope = {"users": [member.id]}
    session.flush()
    workspace = workspaces.create_workspace(
        session, workspaces.SYSTEM, config, permit=permit, name=name
    )
    for spec, data in ((PERSON, person_table()), (CLAIM, claim_table())):
        workspaces.store_table(
            session, workspaces.SYSTEM, config, workspace, spec, data
        )
    workspace.status = WorkspaceStatus.ready.value
    session.flush()
    author = Actor.for_person(member)

    def submitted(title: str, sql: str, output: str) -> int:
        answer = gate.ask(session, author, config, name, sql)
        assert not answer.refused, answer.reasons
        output_id = gate.save_answer(session, author, config, answer, name=output)
        made = requests.create_request(
            session, author, config, workspace=name, title=title
        )
        requests.add_file(
            session, author, config, request_id=made.id, output_id=output_id
        )
        requests.submit(session, author, config, request_id=made.id)
        return made.id

    approved = submitted("People by sex", SAFE_SQL, "by-sex")
    for checker in checkers[:2]:
        reviews.review(
            session,
            Actor.for_person(checker),
            config,
            request_id=approved,
            decision=Decision.approve,
        )
    pending = submitted(
        "Claims by year", "SELECT year, COUNT(*) AS n FROM claim GROUP BY year", "years"
    )
    return Study(name, reference, approved, pending)


@dataclass(frozen=True)
class World:
    member: Person
    stranger: Person
    checker1: Person
    checker2: Person
    study: Study


@pytest.fixture
def world(committed, runtime) -> World:
    workspaces.TABLE_CACHE.clear()

    def build(session: Session) -> World:
        member = person(session, "member@uni.lu", roles=((Role.reuser, None),))
        stranger = person(session, "stranger@uni.lu", roles=((Role.reuser, None),))
        checker1 = person(
            session, "check1@lnds.lu", roles=((Role.output_checker, None),)
        )
        checker2 = person(
            session, "check2@lnds.lu", roles=((Role.output_checker, None),)
        )
        study = build_study(
            session,
            runtime.spe,
            member,
            (checker1, checker2),
            reference="PRM-2026-0042",
            name="study",
        )
        return World(member, stranger, checker1, checker2, study)

    return committed(build)


def table_cells(page: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", page, flags=re.S)


# --- workspaces ---------------------------------------------------------------------------


def test_a_member_sees_the_workspace_with_its_tables_and_dummy_data(world, browser):
    member = browser(world.member)
    listing = member.get("/workspaces")
    assert listing.status_code == 200
    assert 'href="/workspaces/study"' in listing.text
    page = member.get("/workspaces/study")
    assert page.status_code == 200
    assert "Columns of person" in page.text
    assert "birth_year" in page.text and "Quasi-identifier" in page.text
    assert 'for="sql"' in page.text and 'name="round"' in page.text
    assert "by-sex.csv" in page.text  # an output, made by a query
    assert "sdc.json" not in page.text  # evidence stays for the checkers
    dummy = member.get("/workspaces/study/tables/person/dummy?format=csv")
    assert dummy.status_code == 200
    assert dummy.headers["content-type"].startswith("text/csv")
    assert dummy.text.splitlines()[0].split(",")[0].strip('"') == "pseudonym"
    parquet = member.get("/workspaces/study/tables/claim/dummy?format=parquet")
    assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"
    assert member.get("/workspaces/study/tables/nope/dummy").status_code == 404


def test_a_member_asks_a_query_and_sees_the_released_table(world, browser, committed):
    member = browser(world.member)
    answer = member.post(
        "/workspaces/study/queries",
        data={"csrf_token": csrf(member), "sql": SMALL_SQL, "round": "true"},
    )
    assert answer.status_code == 200
    assert "Released table" in answer.text
    cells = table_cells(answer.text.split('id="answer"')[1].split("</table>")[0])
    # Vianden's three people are suppressed, with the reason, never the count.
    assert any("Suppressed" in c and "fewer than" in c for c in cells)
    assert "Counts and sums are rounded" in answer.text
    latest = committed(
        lambda s: s.scalars(
            select(WorkspaceQuery).order_by(WorkspaceQuery.id.desc())
        ).first()
    )
    assert latest.sql == SMALL_SQL and latest.outcome == "answered"


def test_a_member_keeps_a_result_as_an_output(world, browser):
    member = browser(world.member)
    answer = member.post(
        "/workspaces/study/queries",
        data={"csrf_token": csrf(member), "sql": SAFE_SQL, "save_as": "sex table"},
    )
    assert answer.status_code == 200
    assert "kept as an output" in answer.text
    assert "sex table.csv" in member.get("/workspaces/study").text
    bad = member.post(
        "/workspaces/study/queries",
        data={"csrf_token": csrf(member), "sql": SAFE_SQL, "save_as": "../x"},
    )
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text


def test_a_refused_query_shows_its_reasons_and_is_recorded(world, browser, committed):
    member = browser(world.member)
    refused = member.post(
        "/workspaces/study/queries",
        data={"csrf_token": csrf(member), "sql": REFUSED_SQL},
    )
    assert refused.status_code == 422
    assert "The query was refused." in refused.text
    assert 'id="refusal"' in refused.text
    assert "Traceback" not in refused.text
    assert REFUSED_SQL in refused.text  # the editor keeps the query
    outcome = committed(
        lambda s: s.scalars(
            select(WorkspaceQuery.outcome).where(WorkspaceQuery.sql == REFUSED_SQL)
        ).one()
    )
    assert outcome == "refused"
    empty = member.post(
        "/workspaces/study/queries", data={"csrf_token": csrf(member), "sql": " "}
    )
    assert empty.status_code == 422 and "Write a query." in empty.text


def test_a_member_submits_a_job_and_opens_its_page(world, browser, committed):
    member = browser(world.member)
    empty = member.post(
        "/workspaces/study/jobs",
        data={"csrf_token": csrf(member), "name": "x", "script": ""},
    )
    assert empty.status_code == 422 and "The script is empty." in empty.text
    made = member.post(
        "/workspaces/study/jobs",
        data={"csrf_token": csrf(member), "name": "hello", "script": "print('hi')"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    job_id = committed(lambda s: s.scalars(select(SpeJob.id)).one())
    assert made.headers["location"] == f"/workspaces/study/jobs/{job_id}"
    page = member.get(made.headers["location"])
    assert page.status_code == 200
    assert "Job " in page.text and "print(&#39;hi&#39;)" in page.text
    status = member.get(f"/workspaces/study/jobs/{job_id}/status")
    assert status.status_code == 200 and 'id="spe-job-status"' in status.text
    assert (
        f'href="/workspaces/study/jobs/{job_id}"'
        in member.get("/workspaces/study").text
    )


def test_someone_else_is_told_the_workspace_does_not_exist(world, browser):
    stranger = browser(world.stranger)
    assert "study" not in stranger.get("/workspaces").text
    page = stranger.get("/workspaces/study", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "There is no workspace" in page.text
    asked = stranger.post(
        "/workspaces/study/queries",
        data={"csrf_token": csrf(stranger), "sql": SAFE_SQL},
    )
    assert asked.status_code == 404
    assert stranger.get("/workspaces/study/jobs/1").status_code == 404
    assert stranger.get("/workspaces/study/releases").status_code == 403
    assert stranger.get(f"/releases/{world.study.approved_id}").status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(world, client):
    for path in ("/workspaces", "/workspaces/study", "/checking"):
        answer = client.get(
            path, headers={"accept": "text/html"}, follow_redirects=False
        )
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/sign-in")


def test_a_post_without_the_csrf_token_is_refused(world, browser):
    member = browser(world.member)
    answer = member.post("/workspaces/study/queries", data={"sql": SAFE_SQL})
    assert answer.status_code == 403


# --- release requests ----------------------------------------------------------------------


def test_a_member_opens_a_request_adds_an_output_and_submits_it(
    world, browser, committed
):
    member = browser(world.member)
    member.post(
        "/workspaces/study/queries",
        data={"csrf_token": csrf(member), "sql": SAFE_SQL, "save_as": "table one"},
    )
    no_title = member.post(
        "/workspaces/study/releases", data={"csrf_token": csrf(member), "title": ""}
    )
    assert no_title.status_code == 422 and "needs a title" in no_title.text
    opened = member.post(
        "/workspaces/study/releases",
        data={
            "csrf_token": csrf(member),
            "title": "Table one",
            "description": "For the paper.",
        },
        follow_redirects=False,
    )
    assert opened.status_code == 303
    page = member.get(opened.headers["location"])
    assert "Draft" in page.text and "The release request was opened" in page.text
    request_id = int(opened.headers["location"].split("/")[2].split("?")[0])
    output_id = re.search(r'<option value="(\d+)">table one\.csv', page.text).group(1)  # type: ignore[union-attr]
    refused = member.post(
        f"/releases/{request_id}/submission", data={"csrf_token": csrf(member)}
    )
    assert refused.status_code == 422 and "at least one output" in refused.text
    added = member.post(
        f"/releases/{request_id}/files",
        data={"csrf_token": csrf(member), "output_id": output_id, "role": "output"},
    )
    assert added.status_code == 200 and "The output was added" in added.text
    sent = member.post(
        f"/releases/{request_id}/submission", data={"csrf_token": csrf(member)}
    )
    assert sent.status_code == 200
    assert "Submitted to the output checkers" in sent.text
    assert "Passed" in sent.text
    status = committed(lambda s: s.get(ReleaseRequest, request_id).status)
    assert status == RequestStatus.submitted
    listing = member.get("/workspaces/study/releases")
    assert f'href="/releases/{request_id}"' in listing.text


def test_an_author_removes_a_file_and_withdraws_the_request(world, browser, committed):
    member = browser(world.member)

    opened = member.post(
        "/workspaces/study/releases",
        data={"csrf_token": csrf(member), "title": "To withdraw"},
        follow_redirects=False,
    )
    request_id = int(opened.headers["location"].split("/")[2].split("?")[0])
    page = member.get(f"/releases/{request_id}")
    output_id = re.search(r'<option value="(\d+)">by-sex\.csv', page.text).group(1)  # type: ignore[union-attr]
    member.post(
        f"/releases/{request_id}/files",
        data={"csrf_token": csrf(member), "output_id": output_id, "role": "output"},
    )
    file_id = re.search(
        rf"/releases/{request_id}/files/(\d+)/removal",
        member.get(f"/releases/{request_id}").text,
    ).group(1)  # type: ignore[union-attr]
    removed = member.post(
        f"/releases/{request_id}/files/{file_id}/removal",
        data={"csrf_token": csrf(member)},
    )
    assert removed.status_code == 200 and "was removed" in removed.text
    withdrawn = member.post(
        f"/releases/{request_id}/withdrawal", data={"csrf_token": csrf(member)}
    )
    assert withdrawn.status_code == 200 and "Withdrawn" in withdrawn.text
    assert committed(lambda s: s.get(ReleaseRequest, request_id).status) == "withdrawn"


def test_members_download_approved_files_only(world, browser):
    member = browser(world.member)
    page = member.get(f"/releases/{world.study.approved_id}")
    assert page.status_code == 200 and "Approved" in page.text
    link = re.search(
        rf"/releases/{world.study.approved_id}/files/(\d+)/download", page.text
    )
    assert link is not None
    got = member.get(link.group(0))
    assert got.status_code == 200
    assert got.text.splitlines()[0] == "sex,n"
    pending = member.get(f"/releases/{world.study.pending_id}")
    assert "/download" not in pending.text
    checker = browser(world.checker1)
    assert checker.get(link.group(0)).status_code == 404


# --- output checkers -------------------------------------------------------------------------


def test_the_checker_queue_is_for_checkers_and_a_checker_reviews(
    world, browser, committed
):
    member = browser(world.member)
    assert member.get("/checking").status_code == 403
    checker = browser(world.checker1)
    queue = checker.get("/checking")
    assert queue.status_code == 200
    assert f'href="/releases/{world.study.pending_id}"' in queue.text
    assert f'href="/releases/{world.study.approved_id}"' not in queue.text
    page = checker.get(f"/releases/{world.study.pending_id}")
    assert page.status_code == 200 and "Your review" in page.text
    inspect = re.search(
        rf"/releases/{world.study.pending_id}/files/(\d+)/inspection", page.text
    )
    assert inspect is not None
    assert checker.get(inspect.group(0)).text.splitlines()[0] == "year,n"
    no_comment = checker.post(
        f"/releases/{world.study.pending_id}/reviews",
        data={"csrf_token": csrf(checker), "decision": "reject"},
    )
    assert no_comment.status_code == 422 and "Say why in a comment" in no_comment.text
    done = checker.post(
        f"/releases/{world.study.pending_id}/reviews",
        data={"csrf_token": csrf(checker), "decision": "approve", "comment": "Fine."},
    )
    assert done.status_code == 200 and "Your review was recorded" in done.text
    # Blinded: the checker sees their own review; the author sees none yet.
    assert "Fine." in done.text
    assert "Fine." not in member.get(f"/releases/{world.study.pending_id}").text
    assert "Your review" not in done.text.split("Your review was recorded")[1]
    assert (
        f'href="/releases/{world.study.pending_id}"'
        not in checker.get("/checking").text
    )
    refused = member.post(
        f"/releases/{world.study.pending_id}/reviews",
        data={"csrf_token": csrf(member), "decision": "approve"},
    )
    assert refused.status_code == 403
    assert (
        committed(lambda s: s.get(ReleaseRequest, world.study.pending_id).status)
        == "submitted"
    )


# --- the public archive ----------------------------------------------------------------------


def test_the_archive_is_public(world, client):
    page = client.get(f"/permits/{world.study.permit_reference}/archive")
    assert page.status_code == 200
    assert SAFE_SQL in page.text
    assert re.search(r"<code>[0-9a-f]{64}</code>", page.text)
    assert "Archived on" in page.text
    missing = client.get("/permits/PRM-NOPE/archive")
    assert missing.status_code == 404


def test_a_job_of_no_workspace_is_an_error_page_not_a_trace(world, browser):
    member = browser(world.member)
    answer = member.get("/workspaces/study/jobs/999999")
    assert answer.status_code == 404 and "Traceback" not in answer.text
