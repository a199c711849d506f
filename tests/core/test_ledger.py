"""The audit ledger: chained, append-only, verifiable, and written with the change."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from datafactory.core import ledger
from datafactory.core.db import unit_of_work
from datafactory.core.keys import load_or_create_signing_key
from datafactory.core.ledger import LedgerEntry


def append_entries(runtime, count: int) -> None:
    with unit_of_work(runtime.sessions) as session:
        for i in range(count):
            ledger.append(
                session,
                actor=f"person:{i % 3}",
                action="test.happened",
                subject=f"thing:{i}",
                details={"n": i, "note": "été"},
            )


def tamper(runtime, sql: str, **params) -> None:
    """Change the ledger behind the platform's back, as an attacker with SQL access would.

    The append-only triggers refuse this, so the attacker first switches them off."""
    with runtime.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(sql), params)
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS ledger_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS ledger_no_delete"))
            connection.execute(text(sql), params)


def test_entries_chain_each_hash_to_the_one_before(runtime, db):
    append_entries(runtime, 5)
    entries = db.query(LedgerEntry).order_by(LedgerEntry.seq).all()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == ledger.GENESIS_HASH
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.hash
    result = ledger.verify(db)
    assert result.ok and result.entries == 5 and result.head_hash == entries[-1].hash


def test_details_are_canonical_json(runtime, db):
    append_entries(runtime, 1)
    entry = db.get(LedgerEntry, 1)
    assert entry.details == '{"n":0,"note":"été"}'
    assert json.loads(entry.details) == {"n": 0, "note": "été"}


@pytest.mark.parametrize(
    ("sql", "broken", "reason"),
    [
        pytest.param(
            "UPDATE ledger_entries SET details = :forged WHERE seq = 3",
            3,
            "changed after it was written",
            id="edited-details",
        ),
        pytest.param(
            "UPDATE ledger_entries SET actor = 'person:999' WHERE seq = 2",
            2,
            "changed after it was written",
            id="edited-actor",
        ),
        pytest.param(
            "DELETE FROM ledger_entries WHERE seq = 3",
            4,
            "entry 3 is missing",
            id="deleted",
        ),
    ],
)
def test_verify_names_the_first_entry_that_was_tampered_with(
    runtime, db, sql, broken, reason
):
    append_entries(runtime, 6)
    tamper(runtime, sql, **({"forged": '{"n":99}'} if ":forged" in sql else {}))
    result = ledger.verify(db)
    assert not result.ok
    assert result.first_broken == broken
    assert reason in result.reason


def test_verify_detects_two_entries_swapped(runtime, db):
    append_entries(runtime, 4)
    tamper(runtime, "UPDATE ledger_entries SET seq = seq + 100 WHERE seq IN (2, 3)")
    tamper(runtime, "UPDATE ledger_entries SET seq = 3 WHERE seq = 102")
    tamper(runtime, "UPDATE ledger_entries SET seq = 2 WHERE seq = 103")
    result = ledger.verify(db)
    assert not result.ok and result.first_broken == 2


def test_verify_detects_an_entry_rewritten_with_a_fresh_hash(runtime, db):
    """Recomputing the edited entry's own hash still breaks the link to the next one."""
    append_entries(runtime, 3)
    entry = db.get(LedgerEntry, 2)
    forged_details = '{"n":42,"note":"été"}'
    forged_hash = ledger.entry_hash(
        seq=2,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        details=forged_details,
        prev_hash=entry.prev_hash,
    )
    db.rollback()
    tamper(
        runtime,
        "UPDATE ledger_entries SET details = :d, hash = :h WHERE seq = 2",
        d=forged_details,
        h=forged_hash,
    )
    result = ledger.verify(db)
    assert not result.ok and result.first_broken == 3


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_entries SET actor = 'x' WHERE seq = 1",
        "DELETE FROM ledger_entries WHERE seq = 1",
    ],
    ids=["update", "delete"],
)
def test_the_database_itself_refuses_to_rewrite_the_ledger(runtime, sql):
    append_entries(runtime, 1)
    with pytest.raises((IntegrityError, DBAPIError)) as caught:
        with runtime.engine.begin() as connection:
            connection.execute(text(sql))
    assert "append-only" in str(caught.value)


def test_truncation_is_refused_on_postgresql(runtime):
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    append_entries(runtime, 1)
    with pytest.raises(DBAPIError, match="append-only"):
        with runtime.engine.begin() as connection:
            connection.execute(text("TRUNCATE ledger_entries"))


def test_a_saved_signed_head_reveals_truncation_of_the_tail(runtime, db, tmp_path):
    key = load_or_create_signing_key(tmp_path / "key.pem")
    append_entries(runtime, 5)
    saved = ledger.sign_head(db, key)
    assert saved.seq == 5
    assert ledger.check_head(db, saved, key.public_key()) is None
    db.rollback()
    tamper(runtime, "DELETE FROM ledger_entries WHERE seq >= 4")
    assert ledger.verify(db).ok, "a truncated chain is still a valid chain"
    assert "truncated" in ledger.check_head(db, saved, key.public_key())


def test_a_head_signed_by_another_key_is_refused(runtime, db, tmp_path):
    ours = load_or_create_signing_key(tmp_path / "ours.pem")
    theirs = load_or_create_signing_key(tmp_path / "theirs.pem")
    append_entries(runtime, 2)
    forged = ledger.sign_head(db, theirs)
    assert "signature" in ledger.check_head(db, forged, ours.public_key())


def test_signing_key_file_is_created_private_and_reused(tmp_path):
    path = tmp_path / "keys" / "ledger.pem"
    first = load_or_create_signing_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = load_or_create_signing_key(path)
    assert (
        first.public_key().public_bytes_raw() == again.public_key().public_bytes_raw()
    )


def test_an_entry_rolls_back_with_the_change_it_records(runtime, db):
    """A failure after the ledger entry, in the same transaction, leaves nothing behind."""
    from datafactory.identity import people
    from datafactory.identity.models import Organisation, OrganisationKind
    from tests.factories import SYSTEM

    with pytest.raises(RuntimeError, match="disk on fire"):
        with unit_of_work(runtime.sessions) as session:
            people.create_organisation(
                session,
                SYSTEM,
                slug="cns",
                name="CNS",
                kind=OrganisationKind.data_holder,
                is_public_sector=True,
            )
            assert session.query(LedgerEntry).count() == 1
            raise RuntimeError("disk on fire")
    assert db.query(Organisation).count() == 0
    assert db.query(LedgerEntry).count() == 0


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    count=st.integers(min_value=1, max_value=8),
    data=st.data(),
)
def test_any_single_edit_of_any_field_is_detected(runtime, count, data):
    """Property: whatever entry and field an attacker changes, verification fails there."""
    with runtime.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER IF EXISTS ledger_no_update"))
            connection.execute(text("DROP TRIGGER IF EXISTS ledger_no_delete"))
            connection.execute(text("DELETE FROM ledger_entries"))
        else:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text("DELETE FROM ledger_entries"))
    append_entries(runtime, count)
    seq = data.draw(st.integers(min_value=1, max_value=count), label="seq")
    column, value = data.draw(
        st.sampled_from(
            [
                ("actor", "person:666"),
                ("action", "test.forged"),
                ("subject", "thing:forged"),
                ("details", '{"forged":true}'),
                ("prev_hash", "f" * 64),
                ("hash", "e" * 64),
            ]
        ),
        label="field",
    )
    tamper(
        runtime,
        f"UPDATE ledger_entries SET {column} = :v WHERE seq = :s",
        v=value,
        s=seq,
    )
    with unit_of_work(runtime.sessions) as session:
        result = ledger.verify(session)
    assert not result.ok
    assert result.first_broken == seq
