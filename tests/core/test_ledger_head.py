"""Appending after an append in the same transaction skips the head query; the chain must
come out exactly as if every append had read the head from the database."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from datafactory.core import ledger
from datafactory.core.db import unit_of_work
from datafactory.core.ledger import LedgerEntry


def _append(session: Session, n: int) -> LedgerEntry:
    return ledger.append(
        session,
        actor="person:1",
        action="test.happened",
        subject=f"thing:{n}",
        details={},
    )


def _chain(db: Session) -> list[LedgerEntry]:
    db.expire_all()
    return db.query(LedgerEntry).order_by(LedgerEntry.seq).all()


def _assert_whole(db: Session, count: int) -> None:
    entries = _chain(db)
    assert [e.seq for e in entries] == list(range(1, count + 1))
    result = ledger.verify(db)
    assert result.ok, result


def test_appends_across_commits_keep_one_chain(runtime, db):
    for round_ in range(3):
        with unit_of_work(runtime.sessions) as session:
            for n in range(3):
                _append(session, round_ * 3 + n)
    _assert_whole(db, 9)


def test_a_rolled_back_savepoint_takes_its_entries_with_it(runtime, db):
    with unit_of_work(runtime.sessions) as session:
        _append(session, 1)
        with pytest.raises(RuntimeError):
            with session.begin_nested():
                _append(session, 2)
                _append(session, 3)
                raise RuntimeError("the item fails")
        entry = _append(session, 4)
        assert entry.seq == 2
        with session.begin_nested():
            _append(session, 5)
        assert _append(session, 6).seq == 4
    _assert_whole(db, 4)
    assert [e.subject for e in _chain(db)] == [
        "thing:1",
        "thing:4",
        "thing:5",
        "thing:6",
    ]


def test_another_session_appending_in_between_is_seen(runtime, db):
    """A new transaction on the same session reads the head again."""
    session = runtime.sessions()
    try:
        with session.begin():
            _append(session, 1)
        with unit_of_work(runtime.sessions) as other:
            _append(other, 2)
        with session.begin():
            assert _append(session, 3).seq == 3
    finally:
        session.close()
    _assert_whole(db, 3)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=3), st.booleans()),
        min_size=1,
        max_size=6,
    )
)
def test_any_mix_of_savepoints_gives_an_unbroken_chain(runtime, plan):
    """Property: appends in savepoints that commit or roll back, in any order, leave the
    entries of the committed savepoints only, numbered without gaps, chain intact."""
    with unit_of_work(runtime.sessions) as session:
        before = session.query(LedgerEntry).count()
        kept = 0
        for count, commit in plan:
            try:
                with session.begin_nested():
                    for n in range(count):
                        _append(session, n)
                    if not commit:
                        raise LookupError
                kept += count
            except LookupError:
                pass
        session.flush()
        entries = session.query(LedgerEntry).order_by(LedgerEntry.seq).all()
        assert len(entries) == before + kept
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert ledger.verify(session).ok
