"""The procedure's KPIs: the statistics exactly, the computation on hand-made rows, and the
whole thing over real procedures run with a controlled clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from datafactory.permits import kpis
from datafactory.permits.kpis import DurationStats, Submitted, nearest_rank, summarise
from datafactory.permits.regimes import load_regimes
from tests.permits.test_register import START, Clock, Desk, desk_for, named_world
from tests.permits.world import World

# --- the statistics -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "percentile", "expected"),
    [
        # The textbook example of the nearest-rank method.
        ([15, 20, 35, 40, 50], 5, 15),
        ([15, 20, 35, 40, 50], 30, 20),
        ([15, 20, 35, 40, 50], 40, 20),
        ([15, 20, 35, 40, 50], 50, 35),
        ([15, 20, 35, 40, 50], 100, 50),
        # Order does not matter; the answer is always one of the values.
        ([50, 15, 40, 20, 35], 90, 50),
        (list(range(1, 11)), 90, 9),
        (list(range(1, 11)), 91, 10),
        ([7], 90, 7),
        ([3, 3, 3, 4], 90, 4),
        # 0.9 * 70 is 63.00000000000001 in floating point: the rank must still be 63.
        (list(range(1, 71)), 90, 63),
        (list(range(1, 101)), 90, 90),
    ],
)
def test_nearest_rank(values, percentile, expected):
    assert nearest_rank(values, percentile) == expected


@pytest.mark.parametrize("percentile", [0, -10, 101])
def test_nearest_rank_refuses_a_percentile_outside_0_to_100(percentile):
    with pytest.raises(ValueError):
        nearest_rank([1, 2, 3], percentile)


def test_nearest_rank_refuses_no_values():
    with pytest.raises(ValueError):
        nearest_rank([], 90)


def test_summarise():
    assert summarise([]) == DurationStats(count=0, median_days=None, p90_days=None)
    assert summarise([12]) == DurationStats(count=1, median_days=12.0, p90_days=12.0)
    # Even count: the median is the mean of the two middle values.
    assert summarise([3, 1, 2, 10]) == DurationStats(
        count=4, median_days=2.5, p90_days=10.0
    )
    assert summarise([14, 7]) == DurationStats(count=2, median_days=10.5, p90_days=14.0)
    assert summarise(list(range(1, 21))) == DurationStats(
        count=20, median_days=10.5, p90_days=18.0
    )


# --- the computation on rows -------------------------------------------------------------


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def row(**changes) -> Submitted:
    base = {
        "regime": "ehds",
        "purposes": ("ehds-53-1-e",),
        "state": "SUBMITTED",
        "decision": None,
        "submitted_at": at(date(2026, 11, 2)),
        "decided_at": None,
        "complete_at": None,
        "clock": "running",
        "deadline": date(2027, 2, 2),
        "organisation_kind": "research",
        "public_sector": True,
    }
    base.update(changes)
    return Submitted(**base)


def decided(decision: str, days: int, complete_days: int | None = None, **changes):
    submitted = at(date(2026, 11, 2))
    return row(
        state="DECISION_ISSUED",
        decision=decision,
        decided_at=at(date(2026, 11, 2 + days)),
        complete_at=None
        if complete_days is None
        else at(date(2026, 11, 2 + days - complete_days)),
        submitted_at=submitted,
        clock="stopped",
        **changes,
    )


def counts(items) -> dict[str, int]:
    return {c.code: c.count for c in items if c.count}


def test_compute_over_hand_made_rows():
    regimes = load_regimes()
    rows = [
        decided("POSITIVE", 14, 10),
        decided("POSITIVE", 20, 12, purposes=("ehds-53-1-e", "ehds-53-1-d")),
        decided(
            "NEGATIVE",
            4,
            regime="dga",
            purposes=("dga-research",),
            organisation_kind="company",
            public_sector=False,
        ),
        row(),  # open, deadline ahead
        row(state="PROCESSING", deadline=date(2027, 1, 4)),  # overdue on 2027-01-05
        row(state="AWAITING_ADDITIONAL_INFORMATION", clock="paused", deadline=None),
        row(
            state="WITHDRAWN",
            clock="stopped",
            organisation_kind=None,
            public_sector=None,
        ),
    ]
    figures = kpis.compute(rows, regimes, today=date(2027, 1, 5))

    assert figures.received == 7
    assert figures.authorisation_rate.model_dump() == {
        "decided": 3,
        "positive": 2,
        "negative": 1,
        "rate": pytest.approx(2 / 3),
    }
    overall = figures.authorisation_time
    assert overall.submission_to_decision == DurationStats(
        count=3, median_days=14.0, p90_days=20.0
    )
    assert overall.complete_to_decision == DurationStats(
        count=2, median_days=11.0, p90_days=12.0
    )
    by_regime = {g.code: g for g in figures.authorisation_time_by_regime}
    assert list(by_regime) == ["ehds", "dga"]
    assert by_regime["ehds"].label == regimes.get("ehds").title.en
    assert by_regime["ehds"].submission_to_decision == DurationStats(
        count=2, median_days=17.0, p90_days=20.0
    )
    assert by_regime["dga"].submission_to_decision.median_days == 4.0
    assert by_regime["dga"].complete_to_decision.count == 0
    by_purpose = {g.code: g for g in figures.authorisation_time_by_purpose}
    assert by_purpose["ehds-53-1-e"].submission_to_decision.count == 2
    assert by_purpose["ehds-53-1-d"].submission_to_decision.median_days == 20.0
    assert by_purpose["dga-research"].submission_to_decision.count == 1
    assert by_purpose["ehds-53-1-a"].submission_to_decision.count == 0

    assert counts(figures.volume_by_sector) == {
        "research": 5,
        "company": 1,
        "individual": 1,
    }
    assert counts(figures.volume_by_public_private) == {"public": 5, "private": 2}
    assert figures.overdue == 1
    assert counts(figures.by_status) == {
        "SUBMITTED": 1,
        "PROCESSING": 1,
        "AWAITING_ADDITIONAL_INFORMATION": 1,
        "POSITIVE_DECISION_ISSUED": 2,
        "NEGATIVE_DECISION_ISSUED": 1,
        "WITHDRAWN": 1,
    }
    assert [c.code for c in figures.by_status] == list(kpis.STATUSES)


def test_a_decision_counts_only_once_it_is_in_the_register():
    regimes = load_regimes()
    rows = [decided("POSITIVE", 0, 0)]  # Monday 2 November 2026
    before = kpis.compute(rows, regimes, today=date(2026, 11, 4), delay_working_days=3)
    assert before.authorisation_rate.decided == 0
    assert before.authorisation_rate.rate is None
    assert before.authorisation_time.submission_to_decision.count == 0
    assert counts(before.by_status) == {"DECISION_ISSUED": 1}

    after = kpis.compute(rows, regimes, today=date(2026, 11, 5), delay_working_days=3)
    assert after.authorisation_rate.rate == 1.0
    assert counts(after.by_status) == {"POSITIVE_DECISION_ISSUED": 1}


def test_nothing_yet():
    figures = kpis.compute([], load_regimes(), today=date(2026, 11, 2))
    assert figures.received == 0
    assert figures.authorisation_rate.rate is None
    assert figures.authorisation_time.submission_to_decision.median_days is None
    assert figures.overdue == 0
    assert counts(figures.by_status) == {}


# --- over real procedures --------------------------------------------------------------


@pytest.fixture
def world(committed) -> World:
    return committed(named_world)


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


def test_kpis_over_real_procedures(committed, runtime, world, clock):
    desk: Desk = desk_for(committed, runtime, world, clock)
    granted = desk.submitted(title="Granted")
    refused = desk.submitted(title="Refused at screening")
    desk.submitted(
        title="Waiting",
        organisation_id=world.company,
        purposes=["ehds-53-1-d"],
    )
    withdrawn = desk.submitted(title="Withdrawn")
    desk.draft(title="Draft")  # never counts

    clock.set(datetime(2026, 11, 3, 9, tzinfo=UTC))
    desk.run(world.researcher, withdrawn, "withdraw")
    clock.set(datetime(2026, 11, 4, 9, tzinfo=UTC))
    desk.start_processing(granted)
    clock.set(datetime(2026, 11, 9, 9, tzinfo=UTC))
    desk.run(world.handler, refused, "start_screening")
    desk.refuse(refused, "The application is not admissible.")
    clock.set(datetime(2026, 11, 16, 9, tzinfo=UTC))
    desk.grant(granted)

    # The EHDS deadline of the waiting application is 2 February 2027.
    figures = committed(
        lambda session: kpis.kpis(session, desk.config, today=date(2027, 2, 3))
    )
    assert figures.as_of == date(2027, 2, 3)
    assert figures.received == 4
    assert figures.authorisation_rate.model_dump() == {
        "decided": 2,
        "positive": 1,
        "negative": 1,
        "rate": 0.5,
    }
    assert figures.authorisation_time.submission_to_decision == DurationStats(
        count=2, median_days=10.5, p90_days=14.0
    )
    # Only the granted application was ever complete (processing started on 4 November).
    assert figures.authorisation_time.complete_to_decision == DurationStats(
        count=1, median_days=12.0, p90_days=12.0
    )
    ehds = figures.authorisation_time_by_regime[0]
    assert (ehds.code, ehds.submission_to_decision.count) == ("ehds", 2)
    by_purpose = {g.code: g for g in figures.authorisation_time_by_purpose}
    assert by_purpose["ehds-53-1-e"].submission_to_decision.count == 2
    assert by_purpose["ehds-53-1-d"].submission_to_decision.count == 0
    assert counts(figures.volume_by_sector) == {"research": 3, "company": 1}
    assert counts(figures.volume_by_public_private) == {"public": 3, "private": 1}
    assert figures.overdue == 1
    assert counts(figures.by_status) == {
        "SUBMITTED": 1,
        "POSITIVE_DECISION_ISSUED": 1,
        "NEGATIVE_DECISION_ISSUED": 1,
        "WITHDRAWN": 1,
    }

    # The day before the deadline nothing is overdue.
    on_time = committed(
        lambda session: kpis.kpis(session, desk.config, today=date(2027, 2, 2))
    )
    assert on_time.overdue == 0
