"""Legal clock arithmetic in Luxembourg working days: pure values in, values out.

An applicant has a right to a decision within a period (EHDS Art. 68(4), DGA Art. 9), the
authority must publish its decision within 30 working days (EHDS Art. 57(1)(j)), and the
applicant has a window to answer a request for information. This module turns those
periods into dates, and an application's clock marks into its current ``Clock``.

Periods follow Reg. (EEC, Euratom) No 1182/71 on periods, dates and time limits: the day
of the event is not counted; a period in months ends on the same date in the last month,
or that month's last day when there is no such date (31 January + 1 month = 28 or 29
February); and a period ending on a Saturday, Sunday or public holiday ends on the next
working day instead. Public holidays are Luxembourg's (the authority's seat), from the
``holidays`` package; every date is read in Luxembourg time, so a submission at 23:30
UTC on 31 May counts from 1 June.

There is no I/O here: the caller reads the marks and the rules and stores the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from holidays import country_holidays

from datafactory.permits.regimes import ClockRules, Period

__all__ = [
    "LUXEMBOURG",
    "Clock",
    "ClockMark",
    "ClockMarkKind",
    "ClockState",
    "add_months",
    "add_period",
    "add_working_days",
    "compute_clock",
    "decision_due",
    "is_overdue",
    "is_working_day",
    "local_date",
    "next_working_day",
    "publication_due",
    "reminders_due",
    "remaining_working_days",
    "working_days_between",
]

#: The authority's time zone: every legal date is the date in Luxembourg.
LUXEMBOURG = ZoneInfo("Europe/Luxembourg")

_DAY = timedelta(days=1)


def local_date(at: datetime) -> date:
    """The Luxembourg calendar date of an aware instant.

    A naive datetime is refused rather than guessed: UTC and local time differ by one or
    two hours, which moves a late-evening submission to another day and a deadline with it.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: give a time zone")
    return at.astimezone(LUXEMBOURG).date()


# --- working days -----------------------------------------------------------------


@lru_cache(maxsize=256)
def _public_holidays(year: int) -> frozenset[date]:
    # Building a holidays object computes Easter and friends; once per year is enough.
    # country_holidays("LU") is holidays.Luxembourg with the public category only (not
    # the bank holidays), and, unlike calling the class, it is typed.
    return frozenset(country_holidays("LU", years=year))


def is_working_day(d: date) -> bool:
    """Monday to Friday and not a Luxembourg public holiday."""
    return d.weekday() < 5 and d not in _public_holidays(d.year)


def next_working_day(d: date) -> date:
    """``d`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(d):
        d += _DAY
    return d


def add_working_days(d: date, n: int) -> date:
    """The ``n``-th working day after ``d`` (before it when ``n`` is negative).

    ``d`` itself is not counted, whether or not it is a working day, so for ``n >= 1``
    ``working_days_between(d, add_working_days(d, n)) == n``. ``n == 0`` returns ``d``.
    """
    step = _DAY if n > 0 else -_DAY
    remaining = abs(n)
    while remaining:
        d += step
        if is_working_day(d):
            remaining -= 1
    return d


def _weekdays_through(d: date) -> int:
    # Mondays to Fridays from 0001-01-01 (a Monday, ordinal 1) through d inclusive.
    ordinal = d.toordinal()
    return ordinal // 7 * 5 + min(ordinal % 7, 5)


def working_days_between(start: date, end: date) -> int:
    """How many working days fall after ``start``, up to and including ``end``.

    0 when ``end <= start``. Counted arithmetically (weekdays, less the holidays that fall
    on one), so a ten-year permit costs no more than a week.
    """
    if end <= start:
        return 0
    count = _weekdays_through(end) - _weekdays_through(start)
    for year in range(start.year, end.year + 1):
        count -= sum(
            1 for h in _public_holidays(year) if start < h <= end and h.weekday() < 5
        )
    return count


# --- calendar periods ---------------------------------------------------------------


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    result: date = d + relativedelta(months=months)
    return result


def add_period(d: date, months: int = 0, days: int = 0) -> date:
    """``months`` calendar months after ``d`` (clamped), then ``days`` calendar days.

    Months first, so that "2 months and 30 days" from 31 December is 28 February + 30
    days, as a reader of the period would count it.
    """
    return add_months(d, months) + timedelta(days=days)


def _after(d: date, period: Period) -> date:
    return add_period(d, months=period.months, days=period.days)


def decision_due(start: date, rules: ClockRules, extended: bool = False) -> date:
    """The decision deadline for a period counted from ``start``.

    The extension runs on from the raw end of the decision period, not from the working
    day it was moved to: only the final end moves off a weekend or holiday (1182/71
    Art. 3(4)).
    """
    end = _after(start, rules.decision)
    if extended:
        end = _after(end, rules.extension)
    return next_working_day(end)


# --- the clock of one application ---------------------------------------------------


class ClockMarkKind(StrEnum):
    """What happened to an application's clock."""

    started = "started"
    """The application was submitted (or found complete): the decision period starts."""
    paused = "paused"
    """The authority asked the applicant for information: the clock stops."""
    resumed = "resumed"
    """The answer arrived. TEHDAS2 D6.4 §8: the deadline is voided and recomputed from the
    info-received timestamp, so the full decision period restarts from this moment."""
    extended = "extended"
    """The authority extended the decision period, once, with reasons."""
    stopped = "stopped"
    """A decision was issued or the application withdrawn: the clock is over."""


class ClockState(StrEnum):
    not_started = "not_started"
    running = "running"
    paused = "paused"
    stopped = "stopped"


@dataclass(frozen=True)
class ClockMark:
    """One mark on the clock. ``kind`` may be given as its string value."""

    kind: ClockMarkKind
    at: datetime

    def __post_init__(self) -> None:
        # Stored events carry the kind as a string; accept it and refuse unknown ones.
        object.__setattr__(self, "kind", ClockMarkKind(self.kind))
        local_date(self.at)  # refuses a naive datetime now, not in compute_clock


@dataclass(frozen=True)
class Clock:
    """An application's clock after its marks.

    ``due``: the decision deadline, always a working day; ``None`` before the start and
    while paused (the old deadline is void then, D6.4 §8). After ``stopped`` it keeps the
    deadline that was running, so "decided on time" is ``local_date(stopped_at) <= due``.
    ``period_start``: the date the running period counts from (the start, or the last
    resume). ``answer_due``: while paused, the last day for the applicant's answer.
    """

    state: ClockState = ClockState.not_started
    started_at: datetime | None = None
    due: date | None = None
    extended: bool = False
    paused_since: datetime | None = None
    answer_due: date | None = None
    stopped_at: datetime | None = None
    period_start: date | None = None


def compute_clock(rules: ClockRules, marks: Sequence[ClockMark]) -> Clock:
    """Fold ``marks`` into a ``Clock`` under ``rules``.

    Give ``rules`` after ``ClockRules.for_applicant``. Marks are applied in time order
    (a stable sort, so marks at the same instant keep the order given). A mark that makes
    no sense in the current state is ignored rather than raised, because the event log is
    history and must always replay:

    - ``started`` only starts a clock that has not started (a second one is ignored);
    - ``paused`` only pauses a running clock (a second request for information while
      paused keeps the first answer window);
    - ``resumed`` only resumes a paused clock; it restarts the full decision period from
      its own date, and keeps an extension already granted (so a resume never brings the
      deadline forward);
    - ``extended`` only extends a running clock, and only once;
    - ``stopped`` ends a running or paused clock; nothing after it counts.
    """
    clock = Clock()
    for mark in sorted(marks, key=lambda m: m.at):
        clock = _apply(rules, clock, mark)
    return clock


def _apply(rules: ClockRules, clock: Clock, mark: ClockMark) -> Clock:
    kind, state = mark.kind, clock.state
    if kind is ClockMarkKind.started and state is ClockState.not_started:
        day = local_date(mark.at)
        return Clock(
            state=ClockState.running,
            started_at=mark.at,
            due=decision_due(day, rules),
            period_start=day,
        )
    if kind is ClockMarkKind.paused and state is ClockState.running:
        return replace(
            clock,
            state=ClockState.paused,
            due=None,
            paused_since=mark.at,
            answer_due=next_working_day(
                _after(local_date(mark.at), rules.completion_window)
            ),
        )
    if kind is ClockMarkKind.resumed and state is ClockState.paused:
        day = local_date(mark.at)
        return replace(
            clock,
            state=ClockState.running,
            due=decision_due(day, rules, clock.extended),
            paused_since=None,
            answer_due=None,
            period_start=day,
        )
    if (
        kind is ClockMarkKind.extended
        and state is ClockState.running
        and not clock.extended
        and clock.period_start is not None
    ):
        return replace(
            clock, extended=True, due=decision_due(clock.period_start, rules, True)
        )
    if kind is ClockMarkKind.stopped and state in (
        ClockState.running,
        ClockState.paused,
    ):
        return replace(
            clock,
            state=ClockState.stopped,
            paused_since=None,
            answer_due=None,
            stopped_at=mark.at,
        )
    return clock


def remaining_working_days(clock: Clock, today: date) -> int | None:
    """Working days left before the decision deadline; negative when overdue.

    0 on the due date itself. ``None`` unless the clock is running: a paused clock has no
    deadline, and a stopped one has nothing left to count.
    """
    if clock.state is not ClockState.running or clock.due is None:
        return None
    if today <= clock.due:
        return working_days_between(today, clock.due)
    return -working_days_between(clock.due, today)


def is_overdue(clock: Clock, today: date) -> bool:
    """Running, and the deadline has passed (``today`` is after the due date)."""
    return (
        clock.state is ClockState.running
        and clock.due is not None
        and today > clock.due
    )


def reminders_due(clock: Clock, today: date, lead_times: Sequence[int]) -> list[int]:
    """The lead times (working days before the deadline) that fall on ``today``.

    Only on working days: over a weekend the count stays at Friday's, so a daily job would
    otherwise repeat Friday's reminder on Saturday and Sunday. Each lead time therefore
    falls on exactly one working day of a running period (the caller still records what it
    sent, since a restart after a pause brings the same lead times round again).
    """
    if not is_working_day(today):
        return []
    remaining = remaining_working_days(clock, today)
    if remaining is None:
        return []
    return [lead for lead in lead_times if lead == remaining]


def publication_due(decided_at: datetime, rules: ClockRules) -> date:
    """The last day to publish a decision in the public register (EHDS Art. 57(1)(j))."""
    return add_working_days(local_date(decided_at), rules.publication_working_days)
