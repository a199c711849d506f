"""Legal clocks: concrete dates checked by hand against a 2025-2027 calendar, then properties.

Luxembourg public holidays used below (from ``holidays``; weekday in brackets):
2025-05-09 Europe Day (Fri); 2026-04-06 Easter Monday; 2026-05-09 Europe Day (Sat);
2026-05-14 Ascension (Thu); 2026-06-23 National Day (Tue); 2026-12-25 Christmas (Fri);
2026-12-26 St Stephen (Sat); 2027-01-01 New Year (Fri).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.permits.clocks import (
    LUXEMBOURG,
    Clock,
    ClockMark,
    ClockMarkKind,
    ClockState,
    add_months,
    add_period,
    add_working_days,
    compute_clock,
    decision_due,
    is_overdue,
    is_working_day,
    local_date,
    next_working_day,
    publication_due,
    remaining_working_days,
    reminders_due,
    working_days_between,
)
from datafactory.permits.regimes import ClockRules, Period, load_regimes

EHDS = load_regimes().get("ehds").clocks
DGA = load_regimes().get("dga").clocks

K = ClockMarkKind


def at(day: str, hour: int = 10) -> datetime:
    """10:00 Luxembourg time on ``day``: safely inside the day in any season."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=LUXEMBOURG)


def mark(kind: ClockMarkKind, day: str) -> ClockMark:
    return ClockMark(kind, at(day))


# --- local dates -----------------------------------------------------------------


def test_local_date_reads_the_luxembourg_calendar_day() -> None:
    # 23:30 UTC is already the next day in Luxembourg, summer (+2) and winter (+1).
    assert local_date(datetime(2026, 5, 31, 23, 30, tzinfo=UTC)) == date(2026, 6, 1)
    assert local_date(datetime(2026, 1, 31, 23, 30, tzinfo=UTC)) == date(2026, 2, 1)
    assert local_date(datetime(2026, 1, 31, 22, 59, tzinfo=UTC)) == date(2026, 1, 31)


def test_local_date_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 1, 1, 12))
    with pytest.raises(ValueError, match="naive"):
        ClockMark(K.started, datetime(2026, 1, 1, 12))


# --- working days ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 6, 22), True),  # Monday
        (date(2026, 6, 23), False),  # National Day, a Tuesday
        (date(2026, 6, 27), False),  # Saturday
        (date(2026, 4, 6), False),  # Easter Monday
        (date(2026, 4, 3), True),  # Good Friday is only a bank holiday
        (date(2025, 5, 9), False),  # Europe Day, a Friday
        (date(2026, 5, 14), False),  # Ascension Day
        (date(2026, 12, 24), True),  # Christmas Eve is only a bank holiday
        (date(2026, 12, 25), False),
        (date(2026, 12, 31), True),
        (date(2027, 1, 1), False),
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_next_working_day_skips_christmas_and_the_weekend() -> None:
    # Fri 25 (Christmas), Sat 26 (St Stephen), Sun 27 -> Mon 28 December 2026.
    assert next_working_day(date(2026, 12, 25)) == date(2026, 12, 28)
    assert next_working_day(date(2026, 12, 28)) == date(2026, 12, 28)
    assert next_working_day(date(2026, 6, 23)) == date(2026, 6, 24)


def test_add_working_days_around_holidays() -> None:
    assert add_working_days(date(2026, 6, 22), 1) == date(2026, 6, 24)  # over 23 June
    assert add_working_days(date(2026, 4, 2), 2) == date(2026, 4, 7)  # Fri 3, Tue 7
    assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 28)
    assert add_working_days(date(2026, 6, 27), 0) == date(2026, 6, 27)
    assert add_working_days(date(2026, 6, 24), -1) == date(2026, 6, 22)
    assert add_working_days(date(2026, 12, 28), -1) == date(2026, 12, 24)


def test_working_days_between() -> None:
    # Tue 23 is National Day: Wed 24, Thu 25, Fri 26.
    assert working_days_between(date(2026, 6, 22), date(2026, 6, 26)) == 3
    # Mon 11 May to Fri 15 May 2026: Tue, Wed, (Thu Ascension), Fri.
    assert working_days_between(date(2026, 5, 11), date(2026, 5, 15)) == 3
    assert working_days_between(date(2026, 6, 26), date(2026, 6, 22)) == 0
    assert working_days_between(date(2026, 6, 22), date(2026, 6, 22)) == 0
    # A whole year: 2026 has 261 weekdays (52 weeks and a Thursday), less the 7
    # holidays on a weekday (Europe Day, Assumption, All Saints, St Stephen are weekends).
    assert working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == 254


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 8, 31), 1) == date(2026, 9, 30)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_period(date(2025, 12, 31), months=2) == date(2026, 2, 28)
    assert add_period(date(2025, 12, 31), months=2, days=30) == date(2026, 3, 30)
    assert add_period(date(2026, 2, 2), days=28) == date(2026, 3, 2)


# --- decision deadlines ------------------------------------------------------------


def test_ehds_deadline_on_national_day_moves_to_the_next_day() -> None:
    # Mon 23 March 2026 + 3 months = Tue 23 June, National Day -> Wed 24 June.
    clock = compute_clock(EHDS, [mark(K.started, "2026-03-23")])
    assert clock.state is ClockState.running
    assert clock.due == date(2026, 6, 24)
    assert clock.started_at == at("2026-03-23")
    assert clock.period_start == date(2026, 3, 23)


def test_dga_deadline_on_christmas_moves_past_the_weekend() -> None:
    # Sun 25 October 2026 + 2 months = Fri 25 December -> Mon 28 December.
    assert decision_due(date(2026, 10, 25), DGA) == date(2026, 12, 28)


def test_deadline_on_europe_day_and_easter_monday() -> None:
    # Sun 9 Feb 2025 + 3 months = Fri 9 May 2025 (Europe Day) -> Mon 12 May.
    assert decision_due(date(2025, 2, 9), EHDS) == date(2025, 5, 12)
    # Fri 6 Feb 2026 + 2 months (expedited) = Mon 6 April, Easter Monday -> Tue 7 April.
    fast = EHDS.for_applicant(public_sector=True, purposes=["ehds-53-1-a"])
    assert decision_due(date(2026, 2, 6), fast) == date(2026, 4, 7)


def test_dga_month_end_clamp_then_thirty_days_extension() -> None:
    # 31 Dec 2025 + 2 months = Sat 28 Feb 2026 -> Mon 2 March.
    assert decision_due(date(2025, 12, 31), DGA) == date(2026, 3, 2)
    # Extended: 28 Feb + 30 days = Mon 30 March (from the raw end, not from 2 March).
    assert decision_due(date(2025, 12, 31), DGA, extended=True) == date(2026, 3, 30)
    clock = compute_clock(
        DGA, [mark(K.started, "2025-12-31"), mark(K.extended, "2026-02-20")]
    )
    assert clock.extended and clock.due == date(2026, 3, 30)


def test_ehds_extension_adds_three_months_once() -> None:
    started = mark(K.started, "2026-01-15")
    assert compute_clock(EHDS, [started]).due == date(2026, 4, 15)
    once = compute_clock(EHDS, [started, mark(K.extended, "2026-03-01")])
    assert once.extended and once.due == date(2026, 7, 15)
    twice = compute_clock(
        EHDS,
        [started, mark(K.extended, "2026-03-01"), mark(K.extended, "2026-06-01")],
    )
    assert twice == once


def test_expedited_public_sector_rules() -> None:
    fast = EHDS.for_applicant(
        public_sector=True, purposes=["ehds-53-1-a", "ehds-53-1-b"]
    )
    assert fast.is_expedited
    # Thu 15 Jan 2026 + 2 months = Sun 15 March -> Mon 16 March.
    clock = compute_clock(fast, [mark(K.started, "2026-01-15")])
    assert clock.due == date(2026, 3, 16)
    # Extension + 1 month runs from the raw 15 March: Wed 15 April.
    clock = compute_clock(
        fast, [mark(K.started, "2026-01-15"), mark(K.extended, "2026-02-01")]
    )
    assert clock.due == date(2026, 4, 15)


# --- pause and resume -----------------------------------------------------------


def test_pause_gives_the_applicant_four_weeks_and_voids_the_deadline() -> None:
    clock = compute_clock(
        EHDS, [mark(K.started, "2026-01-15"), mark(K.paused, "2026-02-02")]
    )
    assert clock.state is ClockState.paused
    assert clock.paused_since == at("2026-02-02")
    assert clock.answer_due == date(2026, 3, 2)  # Mon 2 Feb + 28 days = Mon 2 March
    assert clock.due is None
    assert remaining_working_days(clock, date(2026, 2, 10)) is None
    assert not is_overdue(clock, date(2030, 1, 1))


def test_answer_window_ending_on_a_holiday_moves_forward() -> None:
    # Tue 26 May 2026 + 28 days = Tue 23 June (National Day) -> Wed 24 June.
    clock = compute_clock(
        EHDS, [mark(K.started, "2026-05-01"), mark(K.paused, "2026-05-26")]
    )
    assert clock.answer_due == date(2026, 6, 24)


def test_resume_restarts_the_full_period_from_the_answer() -> None:
    clock = compute_clock(
        EHDS,
        [
            mark(K.started, "2026-01-15"),
            mark(K.paused, "2026-02-02"),
            mark(K.resumed, "2026-02-20"),
        ],
    )
    assert clock.state is ClockState.running
    assert clock.due == date(2026, 5, 20)  # Fri 20 Feb + 3 months = Wed 20 May
    assert clock.period_start == date(2026, 2, 20)
    assert clock.paused_since is None and clock.answer_due is None
    assert clock.started_at == at("2026-01-15")


def test_resume_keeps_an_extension_already_granted() -> None:
    clock = compute_clock(
        EHDS,
        [
            mark(K.started, "2026-01-15"),
            mark(K.extended, "2026-03-01"),
            mark(K.paused, "2026-03-10"),
            mark(K.resumed, "2026-03-20"),
        ],
    )
    # Fri 20 March + 3 + 3 months = Sun 20 September -> Mon 21 September 2026.
    assert clock.extended and clock.due == date(2026, 9, 21)


def test_marks_that_make_no_sense_are_ignored() -> None:
    started = mark(K.started, "2026-01-15")
    base = compute_clock(EHDS, [started])
    # Resumed without a pause, started again, extended before the start.
    assert compute_clock(EHDS, [started, mark(K.resumed, "2026-02-01")]) == base
    assert compute_clock(EHDS, [started, mark(K.started, "2026-02-01")]) == base
    assert compute_clock(EHDS, [mark(K.extended, "2026-01-01"), started]) == base
    assert compute_clock(EHDS, [mark(K.paused, "2026-01-01")]) == Clock()
    # A second pause keeps the first answer window; extending while paused is ignored.
    paused = compute_clock(EHDS, [started, mark(K.paused, "2026-02-02")])
    assert (
        compute_clock(
            EHDS,
            [
                started,
                mark(K.paused, "2026-02-02"),
                mark(K.paused, "2026-02-10"),
                mark(K.extended, "2026-02-11"),
            ],
        )
        == paused
    )


def test_stop_ends_the_clock_and_nothing_after_counts() -> None:
    marks = [
        mark(K.started, "2026-01-15"),
        mark(K.stopped, "2026-03-02"),
        mark(K.paused, "2026-03-03"),
        mark(K.resumed, "2026-03-04"),
        mark(K.extended, "2026-03-05"),
    ]
    clock = compute_clock(EHDS, marks)
    assert clock.state is ClockState.stopped
    assert clock.stopped_at == at("2026-03-02")
    assert clock.due == date(2026, 4, 15)  # kept: "decided on time" stays answerable
    assert remaining_working_days(clock, date(2026, 3, 2)) is None
    assert not is_overdue(clock, date(2026, 5, 1))


def test_stop_while_paused_clears_the_answer_window() -> None:
    clock = compute_clock(
        EHDS,
        [
            mark(K.started, "2026-01-15"),
            mark(K.paused, "2026-02-02"),
            mark(K.stopped, "2026-03-03"),
        ],
    )
    assert clock.state is ClockState.stopped
    assert clock.answer_due is None and clock.paused_since is None


def test_marks_are_applied_in_time_order_and_kinds_may_be_strings() -> None:
    marks = [
        ClockMark("resumed", at("2026-02-20")),  # type: ignore[arg-type]
        ClockMark("started", at("2026-01-15")),  # type: ignore[arg-type]
        ClockMark("paused", at("2026-02-02")),  # type: ignore[arg-type]
    ]
    assert marks[0].kind is K.resumed
    assert compute_clock(EHDS, marks).due == date(2026, 5, 20)
    with pytest.raises(ValueError):
        ClockMark("decided", at("2026-01-01"))  # type: ignore[arg-type]


def test_not_started_clock() -> None:
    clock = compute_clock(EHDS, [])
    assert clock == Clock()
    assert clock.state == "not_started"
    assert remaining_working_days(clock, date(2026, 1, 1)) is None
    assert reminders_due(clock, date(2026, 1, 5), [10, 5, 1]) == []


# --- remaining, overdue, reminders, publication -----------------------------------------


def test_remaining_working_days_and_overdue_around_national_day() -> None:
    clock = compute_clock(EHDS, [mark(K.started, "2026-03-23")])  # due Wed 24 June
    assert remaining_working_days(clock, date(2026, 6, 24)) == 0
    assert remaining_working_days(clock, date(2026, 6, 22)) == 1  # 23rd is a holiday
    assert remaining_working_days(clock, date(2026, 6, 19)) == 2
    assert remaining_working_days(clock, date(2026, 6, 29)) == -3  # Thu, Fri, Mon
    assert not is_overdue(clock, date(2026, 6, 24))
    assert is_overdue(clock, date(2026, 6, 25))


def test_reminders_fall_on_one_working_day_each() -> None:
    clock = compute_clock(EHDS, [mark(K.started, "2026-03-23")])  # due Wed 24 June
    leads = EHDS.reminder_lead_working_days
    assert leads == (10, 5, 1)
    assert reminders_due(clock, date(2026, 6, 9), leads) == [10]  # Tue 9 June
    assert reminders_due(clock, date(2026, 6, 16), leads) == [5]  # Tue 16 June
    assert reminders_due(clock, date(2026, 6, 22), leads) == [1]  # Mon 22 June
    assert reminders_due(clock, date(2026, 6, 23), leads) == []  # holiday, still 1 left
    assert reminders_due(clock, date(2026, 6, 20), leads) == []  # Saturday, still 2
    assert reminders_due(clock, date(2026, 6, 17), leads) == []


def test_publication_due_thirty_working_days_over_christmas() -> None:
    # From Thu 10 Dec 2026: 11 Dec (1), 14-18 (6), 21-24 (10), 28-31 (14),
    # 4-8 Jan (19), 11-15 (24), 18-22 (29), Mon 25 Jan 2027 (30).
    decided = datetime(2026, 12, 10, 15, tzinfo=UTC)
    assert publication_due(decided, EHDS) == date(2027, 1, 25)
    assert publication_due(decided, DGA) == date(2027, 1, 25)


# --- properties -----------------------------------------------------------------

DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2090, 12, 31),
    timezones=st.just(UTC),
)
PERIODS = st.builds(Period, months=st.integers(0, 24), days=st.integers(0, 90)).filter(
    lambda p: not p.is_zero
)
RULES = st.builds(
    replace,
    st.just(EHDS),
    decision=PERIODS,
    extension=st.builds(Period, months=st.integers(0, 12), days=st.integers(0, 60)),
    completion_window=PERIODS,
)
MARKS = st.lists(
    st.builds(ClockMark, kind=st.sampled_from(ClockMarkKind), at=INSTANTS), max_size=8
)


@given(DAYS, st.integers(1, 400))
def test_add_working_days_lands_on_a_working_day_n_days_on(d: date, n: int) -> None:
    result = add_working_days(d, n)
    assert is_working_day(result)
    assert working_days_between(d, result) == n
    assert working_days_between(d, result - timedelta(days=1)) == n - 1


@given(DAYS, st.integers(1, 400))
def test_add_working_days_backwards_from_a_working_day(d: date, n: int) -> None:
    d = next_working_day(d)
    result = add_working_days(d, -n)
    assert is_working_day(result)
    assert working_days_between(result, d) == n


@given(DAYS, st.integers(0, 800))
def test_working_days_between_counts_day_by_day(start: date, span: int) -> None:
    end = start + timedelta(days=span)
    expected = sum(
        is_working_day(start + timedelta(days=i)) for i in range(1, span + 1)
    )
    assert working_days_between(start, end) == expected


@given(DAYS)
def test_next_working_day_is_the_first_working_day(d: date) -> None:
    result = next_working_day(d)
    assert is_working_day(result) and result >= d
    assert all(
        not is_working_day(d + timedelta(days=i)) for i in range((result - d).days)
    )


@given(RULES, MARKS)
@settings(deadline=None)
def test_due_is_always_a_working_day(rules: ClockRules, marks: list[ClockMark]) -> None:
    clock = compute_clock(rules, marks)
    if clock.due is not None:
        assert is_working_day(clock.due)
    if clock.answer_due is not None:
        assert is_working_day(clock.answer_due)
    if clock.state is ClockState.running:
        assert clock.due is not None and clock.period_start is not None
    if clock.state in (ClockState.not_started, ClockState.paused):
        assert clock.due is None
    assert (clock.answer_due is not None) == (clock.state is ClockState.paused)


@given(RULES, MARKS)
@settings(deadline=None)
def test_order_given_does_not_matter(rules: ClockRules, marks: list[ClockMark]) -> None:
    distinct = list({m.at: m for m in marks}.values())
    assert compute_clock(rules, distinct) == compute_clock(rules, distinct[::-1])


@given(
    RULES,
    st.booleans(),
    DAYS,
    st.integers(0, 400),
    st.integers(0, 60),
)
@settings(deadline=None)
def test_pause_then_resume_never_brings_the_deadline_forward(
    rules: ClockRules, extend: bool, start: date, pause_after: int, answer_after: int
) -> None:
    def noon(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, 12, tzinfo=LUXEMBOURG)

    paused = start + timedelta(days=pause_after)
    marks = [ClockMark(K.started, noon(start))]
    if extend:
        marks.append(ClockMark(K.extended, noon(start)))
    before = compute_clock(rules, marks)
    after = compute_clock(
        rules,
        [
            *marks,
            ClockMark(K.paused, noon(paused)),
            ClockMark(K.resumed, noon(paused + timedelta(days=answer_after))),
        ],
    )
    assert before.due is not None and after.due is not None
    assert after.due >= before.due
    assert after.extended == before.extended


@given(RULES, DAYS)
@settings(deadline=None)
def test_extension_never_brings_the_deadline_forward(
    rules: ClockRules, d: date
) -> None:
    assert decision_due(d, rules, extended=True) >= decision_due(d, rules) > d


@given(RULES, DAYS)
@settings(deadline=None)
def test_each_lead_time_is_reminded_on_exactly_one_working_day(
    rules: ClockRules, start: date
) -> None:
    clock = compute_clock(
        rules,
        [
            ClockMark(
                K.started, datetime.combine(start, datetime.min.time(), LUXEMBOURG)
            )
        ],
    )
    assert clock.due is not None
    first = next_working_day(start + timedelta(days=1))
    leads = [n for n in (10, 5, 1) if n <= working_days_between(first, clock.due)]
    seen: dict[int, int] = {}
    day = start
    while day <= clock.due:
        for lead in reminders_due(clock, day, leads):
            seen[lead] = seen.get(lead, 0) + 1
        day += timedelta(days=1)
    assert seen == dict.fromkeys(leads, 1)
