"""The demo applications: replayed through the real services on the demo data, they cover
every D6.4 state, give the researcher the permit the secure processing environment needs,
keep the ledger whole, and load only once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from datafactory import demo
from datafactory.catalogue.models import Dataset
from datafactory.core import ledger
from datafactory.core.errors import InvalidInput, NotFound
from datafactory.core.ledger import LedgerEntry
from datafactory.demo.applications import (
    RESEARCHER_PERMIT_TITLE,
    RESULTS_PERMIT_TITLE,
    TITLES,
    load_applications,
)
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation, Person
from datafactory.permits import applications, clocks, procedure
from datafactory.permits.models import Application, ApplicationEvent, Permit
from datafactory.permits.results import check_results_url, set_results_url
from datafactory.permits.schemas import ApplicationForm
from datafactory.permits.workflow import State

RESEARCHER = "researcher@demo.datafactory.lu"
ANALYST = "analyst@demo.datafactory.lu"


def _counts(session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Application, ApplicationEvent, Permit, LedgerEntry)
    )


def _dataset_id(session, title_en: str) -> str:
    for dataset in session.scalars(select(Dataset).order_by(Dataset.id)):
        if dataset.draft.get("title", {}).get("en") == title_en:
            return dataset.id
    raise LookupError(title_en)


def _person(session, email: str) -> Person:
    return session.scalars(select(Person).where(Person.email == email)).one()


def test_the_demo_applications_cover_every_state_and_load_once(runtime, committed):
    config = runtime.permits
    committed(demo.load)
    assert committed(lambda s: load_applications(s, config)) == len(TITLES) >= 12

    def check(session):
        now = config.now()
        today = clocks.local_date(now)
        apps = {
            a.title: a
            for a in session.scalars(select(Application).order_by(Application.id))
        }
        assert sorted(apps) == sorted(TITLES)

        labels = {applications.view_of(session, a).label for a in apps.values()}
        assert labels >= {
            "DRAFT",
            "SUBMITTED",
            "PRE_SCREENING",
            "AWAITING_ADDITIONAL_INFORMATION",
            "PROCESSING",
            "POSITIVE_DECISION_ISSUED",
            "NEGATIVE_DECISION_ISSUED",
            "WITHDRAWN",
        }

        # Time was bent backwards only, and each procedure's steps follow one another.
        for application in apps.values():
            moments = [e.at for e in applications.events_of(session, application)]
            assert moments == sorted(moments)
            assert moments[-1] < now
        open_submissions = [
            a.submitted_at
            for a in apps.values()
            if a.submitted_at is not None and procedure.is_open(a)
        ]
        assert min(open_submissions) >= now - timedelta(days=135)
        assert max(open_submissions) <= now - timedelta(days=1)

        # The researcher's permit, which the secure processing environment prepares.
        granted = apps[RESEARCHER_PERMIT_TITLE]
        assert granted.state == State.DECISION_ISSUED and granted.decision == "POSITIVE"
        permit = session.scalars(
            select(Permit).where(Permit.application_id == granted.id)
        ).one()
        researcher = _person(session, RESEARCHER)
        assert permit.holder_id == researcher.id
        assert permit.status == "GRANTED"
        assert permit.starts_on <= today <= permit.ends_on
        organisation = session.get(Organisation, permit.organisation_id)
        assert organisation is not None and organisation.slug == "uni-lu"
        register = _dataset_id(session, "Population register extract")
        claims = _dataset_id(session, "Health-insurance claims")
        scope = permit.scope
        assert scope["form"] == "pseudonymised"
        assert [d["id"] for d in scope["datasets"]] == [register, claims]
        assert all("matricule" in d["variables"] for d in scope["datasets"])
        assert scope["linkages"] == [[register, claims]]
        assert researcher.id in scope["users"]
        form = ApplicationForm.model_validate(granted.form)
        for request in form.datasets:
            matricule = next(v for v in request.variables if v.name == "matricule")
            assert "trusted third party" in matricule.justification
        # The showcase application has no gaps, not even weak ones.
        assert applications.gaps_of(session, config, granted) == []

        # An older permit is a successful data-sharing case.
        older = session.scalars(
            select(Permit).where(Permit.application_id == apps[RESULTS_PERMIT_TITLE].id)
        ).one()
        assert older.results_url is not None
        assert older.results_url.startswith("https://")
        assert older.granted_at < permit.granted_at

        # The other situations the demo is there to show.
        clocks_now = {
            title: procedure.clock_of(session, config, a) for title, a in apps.items()
        }
        overdue = [
            title
            for title, a in apps.items()
            if a.state == State.PROCESSING
            and clocks.is_overdue(clocks_now[title], today)
        ]
        assert len(overdue) == 1
        assert any(
            procedure.rules_for(session, config, a).is_expedited  # type: ignore[union-attr]
            for a in apps.values()
            if a.regime == "ehds"
        )
        analyst = _person(session, ANALYST)
        employment = _dataset_id(session, "Employment histories")
        assert any(
            a.regime == "dga"
            and a.applicant_id == analyst.id
            and employment in ApplicationForm.model_validate(a.form).dataset_ids()
            for a in apps.values()
        )
        views = {t: applications.view_of(session, a) for t, a in apps.items()}
        assert any(True in v.reviewers.values() for v in views.values())
        assert any(v.state == State.DRAFT and v.assistants for v in views.values())
        draft = next(a for a in apps.values() if a.state == State.DRAFT)
        assert any(
            g.severity == "missing"
            for g in applications.gaps_of(session, config, draft)
        )
        refused = next(a for a in apps.values() if a.decision == "NEGATIVE")
        assert refused.decision_reason and "Art. 54" in refused.decision_reason

        assert ledger.verify(session).ok
        return _counts(session), permit.id

    before, permit_id = committed(check)

    assert committed(lambda s: load_applications(s, config)) == 0
    assert committed(_counts) == before

    # Only the holder records results, and only at an https address.
    def only_the_holder(session):
        analyst = Actor.for_person(_person(session, ANALYST))
        holder = Actor.for_person(_person(session, RESEARCHER))
        with pytest.raises(NotFound):
            set_results_url(
                session,
                analyst,
                config,
                permit_id=permit_id,
                url="https://example.org/results",
            )
        with pytest.raises(InvalidInput):
            set_results_url(
                session,
                holder,
                config,
                permit_id=permit_id,
                url="http://example.org/results",
            )
        assert session.get(Permit, permit_id).results_url is None

    committed(only_the_holder)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://orbilu.uni.lu/handle/1",
        "ftp://example.org/paper.pdf",
        "https://",
        "https://user:secret@example.org/paper",
        "https://example.org/a paper",
        "orbilu.uni.lu/handle/1",
        "https://[::1",
        "https://example.org/" + "a" * 2000,
    ],
)
def test_a_results_address_must_be_a_plain_https_link(url):
    with pytest.raises(InvalidInput) as refused:
        check_results_url(url)
    assert refused.value.errors[0].field == "url"


def test_a_results_address_is_kept_trimmed():
    assert (
        check_results_url("  https://doi.org/10.1234/abcd  ")
        == "https://doi.org/10.1234/abcd"
    )
