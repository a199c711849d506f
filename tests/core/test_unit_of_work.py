"""The unit of work is one transaction, nested savepoints included, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from datafactory.core.db import unit_of_work
from datafactory.identity.models import Organisation


def test_a_released_savepoint_commits_nothing_until_the_unit_of_work_does(runtime):
    """On SQLite a savepoint sent before any write used to open a transaction of its own,
    and releasing it committed: nested work leaked out of a failed unit of work."""
    with pytest.raises(RuntimeError):
        with unit_of_work(runtime.sessions) as session:
            with session.begin_nested():
                session.add(Organisation(slug="leak", name="Leak", kind="public_body"))
            raise RuntimeError("the request fails after its nested step")
    with unit_of_work(runtime.sessions) as session:
        assert session.scalar(select(func.count(Organisation.id))) == 0


def test_a_rolled_back_savepoint_keeps_the_rest_of_the_unit_of_work(runtime):
    with unit_of_work(runtime.sessions) as session:
        session.add(Organisation(slug="kept", name="Kept", kind="public_body"))
        try:
            with session.begin_nested():
                session.add(Organisation(slug="dropped", name="D", kind="public_body"))
                raise ValueError("this step is refused")
        except ValueError:
            pass
    with unit_of_work(runtime.sessions) as session:
        slugs = session.scalars(select(Organisation.slug)).all()
    assert slugs == ["kept"]
