"""The clerical review queue: what a reviewer sees, what accepting and rejecting do, who
may, and the page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from datafactory.core.errors import Conflict, Forbidden, NotFound, Unauthenticated
from datafactory.core.ledger import LedgerEntry
from datafactory.identity.actor import Actor
from datafactory.ttp import domains, linkage, review
from datafactory.ttp.linkage_models import (
    LinkageRun,
    LinkedPerson,
    LinkedRecord,
    ReviewPair,
)
from tests.factories import PASSWORD
from tests.ttp.test_linkage import COLUMNS, sources, write_febrl
from tests.ttp.world import CLI_OPERATOR, build_team, ttp_config

AGREEMENT = {
    "first_name": {
        "gamma": 2,
        "kind": "similar",
        "method": "jaro_winkler",
        "threshold": 0.92,
    },
    "surname": {"gamma": 3, "kind": "exact"},
    "birth_date": {
        "gamma": 1,
        "kind": "similar",
        "method": "levenshtein",
        "threshold": 2,
    },
    "postcode": {"gamma": -1, "kind": "missing"},
}
HINTS = {
    "left": {"first_name": "M", "surname": "N", "birth_year": "1915"},
    "right": {"first_name": "M", "surname": "N"},
}


@pytest.fixture
def config(tmp_path):
    return ttp_config(tmp_path)


class Queue:
    """A finished run with persons, records and review pairs, made row by row."""

    def __init__(self, session, config):
        self.session = session
        domain = domains.create_domain(
            session, CLI_OPERATOR, config, name="sector:health"
        )
        self.run = LinkageRun(
            name="cns + adem",
            domain_id=domain.id,
            status="finished",
            link_type="link",
            sources=["cns", "adem"],
            match_threshold=0.95,
            review_threshold=0.6,
            settings={},
            requested_by=CLI_OPERATOR.ref,
            started_at=datetime(2026, 11, 2, tzinfo=UTC),
        )
        session.add(self.run)
        session.flush()

    def person(self) -> int:
        person = LinkedPerson(run_id=self.run.id)
        self.session.add(person)
        self.session.flush()
        return person.id

    def record(self, source: str, key: str, person: int | None = None) -> LinkedRecord:
        record = LinkedRecord(
            run_id=self.run.id,
            source=source,
            record_key=key,
            person_id=person or self.person(),
        )
        self.session.add(record)
        self.session.flush()
        return record

    def pair(self, left: LinkedRecord, right: LinkedRecord, p: float = 0.8) -> int:
        pair = ReviewPair(
            run_id=self.run.id,
            left_record_id=left.id,
            right_record_id=right.id,
            match_probability=p,
            agreement=AGREEMENT,
            hints=HINTS,
            status="pending",
        )
        self.session.add(pair)
        self.session.flush()
        return pair.id


def persons_of(db, *keys: str) -> list[int]:
    db.expire_all()
    return [
        db.scalar(select(LinkedRecord.person_id).where(LinkedRecord.record_key == k))
        for k in keys
    ]


def decisions(db) -> list[dict]:
    import json

    return [
        json.loads(d)
        for d in db.scalars(
            select(LedgerEntry.details)
            .where(LedgerEntry.action == "ttp.linkage.pair_decided")
            .order_by(LedgerEntry.seq)
        )
    ]


# --- the service --------------------------------------------------------------------------


def test_the_queue_shows_agreements_and_masked_hints_most_likely_first(
    committed, db, config
):
    def arrange(s):
        q = Queue(s, config)
        return [
            q.pair(q.record("cns", f"c{i}"), q.record("adem", f"a{i}"), p)
            for i, p in enumerate((0.7, 0.9, 0.8))
        ]

    ids = committed(arrange)
    found = review.pending_pairs(db, CLI_OPERATOR, page_size=2)
    assert (found.total, found.pages, found.page) == (3, 2, 1)
    assert [item.id for item in found.items] == [ids[1], ids[2]]
    first = found.items[0]
    assert (first.run_name, first.domain) == ("cns + adem", "sector:health")
    assert [a.field for a in first.agreements] == [
        "first_name",
        "surname",
        "birth_date",
        "postcode",
    ]
    assert first.agreements[0] == review.Agreement(
        "first_name", "similar", "jaro_winkler", 0.92
    )
    assert first.left == {"first_name": "M", "surname": "N", "birth_year": "1915"}
    assert found.fields == ("first_name", "surname", "birth_date", "postcode")
    assert [
        i.id for i in review.pending_pairs(db, CLI_OPERATOR, page=2, page_size=2).items
    ] == [ids[0]]
    other_run = review.pending_pairs(db, CLI_OPERATOR, run_id=999)
    assert other_run.total == 0


def test_accepting_a_pair_merges_the_two_persons_and_is_ledgered(committed, db, config):
    def arrange(s):
        q = Queue(s, config)
        return q.pair(q.record("cns", "c1"), q.record("adem", "a1"), 0.83)

    pair_id = committed(arrange)
    older, younger = persons_of(db, "c1", "a1")
    committed(
        lambda s: review.decide_pair(s, CLI_OPERATOR, pair_id=pair_id, accept=True)
    )
    assert persons_of(db, "c1", "a1") == [older, older]
    merged = db.get(LinkedPerson, younger)
    assert merged.merged_into == older and merged.merged_at is not None
    pair = db.get(ReviewPair, pair_id)
    assert (pair.status, pair.decided_by) == ("accepted", CLI_OPERATOR.ref)
    assert decisions(db) == [
        {
            "pair_id": pair_id,
            "run_id": pair.run_id,
            "decision": "accepted",
            "match_probability": 0.83,
            "kept_person": older,
            "merged_person": younger,
            "also_settled": 0,
        }
    ]
    assert review.pending_pairs(db, CLI_OPERATOR).total == 0


def test_accepting_settles_the_other_pairs_between_the_same_persons(
    committed, db, config
):
    def arrange(s):
        q = Queue(s, config)
        c1 = q.record("cns", "c1")
        c2 = q.record("cns", "c2", person=c1.person_id)  # linked by the run already
        a1 = q.record("adem", "a1")
        elsewhere = q.pair(q.record("cns", "c9"), q.record("adem", "a9"))
        return q.pair(c1, a1, 0.9), q.pair(c2, a1, 0.7), elsewhere

    first, second, elsewhere = committed(arrange)
    committed(lambda s: review.decide_pair(s, CLI_OPERATOR, pair_id=first, accept=True))
    db.expire_all()
    assert db.get(ReviewPair, second).status == "accepted"
    assert db.get(ReviewPair, elsewhere).status == "pending"
    assert decisions(db)[0]["also_settled"] == 1
    assert len(set(persons_of(db, "c1", "c2", "a1"))) == 1


def test_a_chain_of_acceptances_ends_in_the_oldest_person(committed, db, config):
    def arrange(s):
        q = Queue(s, config)
        one, two, three = (q.record("src", k) for k in ("r1", "r2", "r3"))
        return q.pair(two, three), q.pair(one, two)

    later, earlier = committed(arrange)
    p1, p2, p3 = persons_of(db, "r1", "r2", "r3")
    for pair_id in (later, earlier):
        committed(
            lambda s, pair_id=pair_id: review.decide_pair(
                s, CLI_OPERATOR, pair_id=pair_id, accept=True
            )
        )
    assert persons_of(db, "r1", "r2", "r3") == [p1, p1, p1]
    assert {db.get(LinkedPerson, p).merged_into for p in (p2, p3)} == {p1}
    assert db.get(LinkedPerson, p1).merged_into is None


def test_rejecting_keeps_the_records_apart(committed, db, config):
    def arrange(s):
        q = Queue(s, config)
        return q.pair(q.record("cns", "c1"), q.record("adem", "a1"))

    pair_id = committed(arrange)
    before = persons_of(db, "c1", "a1")
    committed(
        lambda s: review.decide_pair(s, CLI_OPERATOR, pair_id=pair_id, accept=False)
    )
    assert persons_of(db, "c1", "a1") == before
    assert db.get(ReviewPair, pair_id).status == "rejected"
    assert decisions(db)[0]["decision"] == "rejected"
    assert decisions(db)[0]["kept_person"] is None


def test_a_pair_is_decided_once(committed, db, config):
    def arrange(s):
        q = Queue(s, config)
        return q.pair(q.record("cns", "c1"), q.record("adem", "a1"))

    pair_id = committed(arrange)
    committed(
        lambda s: review.decide_pair(s, CLI_OPERATOR, pair_id=pair_id, accept=False)
    )
    with pytest.raises(Conflict, match="decided already"):
        committed(
            lambda s: review.decide_pair(s, CLI_OPERATOR, pair_id=pair_id, accept=True)
        )
    with pytest.raises(NotFound):
        committed(
            lambda s: review.decide_pair(s, CLI_OPERATOR, pair_id=10**9, accept=True)
        )
    assert len(decisions(db)) == 1


def test_only_ttp_operators_see_and_decide(committed, db, config):
    def arrange(s):
        q = Queue(s, config)
        return build_team(s), q.pair(q.record("cns", "c1"), q.record("adem", "a1"))

    team, pair_id = committed(arrange)
    for actor in (
        team.actor(team.outsider),
        team.actor(team.citizen),
        Actor.system("x"),
    ):
        with pytest.raises(Forbidden):
            review.pending_pairs(db, actor)
        with pytest.raises(Forbidden):
            review.decide_pair(db, actor, pair_id=pair_id, accept=True)
    with pytest.raises(Unauthenticated):
        review.pending_pairs(db, Actor.anonymous())
    assert review.pending_pairs(db, team.actor(team.bob)).total == 1


def test_an_accepted_pair_gives_both_records_one_pseudonym(
    runtime, committed, db, config, tmp_path
):
    committed(
        lambda s: domains.create_domain(s, CLI_OPERATOR, config, name="sector:health")
    )
    left, right = write_febrl(tmp_path / "in", matched=200, others=50)
    spec = linkage.LinkageSpec.for_fields(
        linkage.parse_columns(COLUMNS), match_threshold=0.9999, review_threshold=0.3
    )
    report = linkage.link_files(
        runtime.sessions,
        CLI_OPERATOR,
        config,
        domain="sector:health",
        sources=sources(left, right),
        out_dir=None,
        spec=spec,
    )
    assert report.outputs == ()
    pair = review.pending_pairs(db, CLI_OPERATOR).items[0]
    row = db.get(ReviewPair, pair.id)
    refs = [
        (r.source, r.record_key)
        for r in (
            db.get(LinkedRecord, row.left_record_id),
            db.get(LinkedRecord, row.right_record_id),
        )
    ]
    before = linkage.record_pseudonyms(db, CLI_OPERATOR, config, run_id=report.run_id)
    assert before[refs[0]] != before[refs[1]]
    committed(
        lambda s: review.decide_pair(s, CLI_OPERATOR, pair_id=pair.id, accept=True)
    )
    after = linkage.record_pseudonyms(db, CLI_OPERATOR, config, run_id=report.run_id)
    assert after[refs[0]] == after[refs[1]]
    assert set(after.values()) <= set(before.values()), "the older person's pseudonym"


# --- the page -----------------------------------------------------------------------------


@pytest.fixture
def pages(app):
    with TestClient(app) as client:
        yield client


def csrf_of(client) -> str:
    page = client.get("/sign-in")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client, email: str) -> None:
    answer = client.post(
        "/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303


@pytest.fixture
def arranged(committed, config):
    def arrange(s):
        q = Queue(s, config)
        team = build_team(s)
        ids = [
            q.pair(q.record("cns", f"c{i}"), q.record("adem", f"a{i}"), 0.9 - i / 100)
            for i in range(30)
        ]
        return team, ids

    return committed(arrange)


def test_the_page_lists_pairs_in_an_accessible_table_page_by_page(pages, arranged):
    team, ids = arranged
    sign_in(pages, team.alice.email)
    page = pages.get("/ttp/review")
    assert page.status_code == 200
    html = page.text
    assert '<caption id="pairs-caption">' in html
    assert 'role="region" aria-labelledby="pairs-caption"' in html
    assert html.count('<th scope="row"') == 25
    assert "30 pairs wait for review" in html
    assert "Initials: M. N.; born in 1915" in html
    assert "Similar: similarity at least 0.92" in html
    assert "Similar: at most 2 edits apart" in html
    assert "Missing in one record" in html
    assert f'aria-label="Accept pair {ids[0]}: same person"' in html
    assert 'href="/ttp/review?page=2"' in html
    second = pages.get("/ttp/review?page=2").text
    assert second.count('<th scope="row"') == 5


def test_a_decision_from_the_page_comes_back_to_the_same_page(db, pages, arranged):
    team, ids = arranged
    sign_in(pages, team.bob.email)
    csrf = re.search(
        r'name="csrf_token" value="([^"]+)"', pages.get("/ttp/review").text
    )[1]
    answer = pages.post(
        f"/ttp/review/{ids[0]}/decision",
        data={"csrf_token": csrf, "decision": "accept", "page": "2"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ttp/review?page=2&done=accepted"
    assert (
        "both records now belong to one person"
        in pages.get(answer.headers["location"]).text
    )
    db.expire_all()
    pair = db.get(ReviewPair, ids[0])
    assert (pair.status, pair.decided_by) == ("accepted", f"person:{team.bob.id}")

    again = pages.post(
        f"/ttp/review/{ids[0]}/decision",
        data={"csrf_token": csrf, "decision": "reject"},
        follow_redirects=False,
    )
    assert again.status_code == 409
    assert "decided already" in again.text
    unknown = pages.post(
        f"/ttp/review/{ids[1]}/decision",
        data={"csrf_token": csrf, "decision": "maybe"},
        follow_redirects=False,
    )
    assert unknown.status_code == 422
    assert db.get(ReviewPair, ids[1]).status == "pending"
    no_csrf = pages.post(
        f"/ttp/review/{ids[1]}/decision",
        data={"decision": "accept"},
        follow_redirects=False,
    )
    assert no_csrf.status_code == 403


def test_the_page_is_for_ttp_operators_only(pages, arranged):
    team, ids = arranged
    assert pages.get("/ttp/review", follow_redirects=False).status_code == 401
    sign_in(pages, team.outsider.email)
    assert pages.get("/ttp/review", follow_redirects=False).status_code == 403
    csrf = csrf_of(pages)
    refused = pages.post(
        f"/ttp/review/{ids[0]}/decision",
        data={"csrf_token": csrf, "decision": "accept"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
