"""Rebuilding the search index: every published dataset's entry made again from its
published metadata, by the API of the search room and by `datafactory catalogue reindex`."""

from __future__ import annotations

import sys

import pytest

from datafactory.catalogue import search
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import DatasetDraft
from datafactory.cli.main import main
from tests.catalogue.test_datasets import COMPLETE
from tests.catalogue.test_search import (
    catalogue,  # noqa: F401  (the fixture below)
    ids,
    with_,
)

# The four datasets of the search tests, published and indexed.
pytestmark = pytest.mark.usefixtures("catalogue")


def _stale_entry(db, dataset_id: str) -> None:
    """Give a dataset the entry an older release might have made: other words."""
    dataset = db.get(Dataset, dataset_id)
    search.index_dataset(
        db,
        dataset,
        DatasetDraft.model_validate(
            with_(COMPLETE, title={"en": "Obsolete wording"}, description={})
        ),
    )
    db.commit()


def test_reindex_makes_every_entry_from_the_published_metadata(db, runtime):  # noqa: F811
    before = {q: set(ids(db, text=q)) for q in ("population", "einwohner", "kwh")}
    _stale_entry(db, "energy")
    assert "energy" not in ids(db, text="kwh")
    assert set(ids(db, text="obsolete")) == {"energy"}

    done: list[tuple[int, int]] = []
    count = search.reindex(
        runtime.sessions, chunk=3, progress=lambda d, t: done.append((d, t))
    )

    db.expire_all()
    assert count == 4
    assert done == [(3, 4), (4, 4)]
    assert not ids(db, text="obsolete")
    assert {q: set(ids(db, text=q)) for q in before} == before
    assert search.indexed_count(db) == 4  # replaced, not added
    search.reindex(runtime.sessions)
    db.expire_all()
    assert search.indexed_count(db) == 4


def test_a_withdrawn_dataset_is_not_indexed_again(db, runtime):  # noqa: F811
    dataset = db.get(Dataset, "claims")
    dataset.status = "deleted"
    search.remove(db, "claims")
    db.commit()
    assert search.reindex(runtime.sessions) == 3
    db.expire_all()
    assert "claims" not in ids(db)
    assert search.indexed_count(db) == 3


def test_the_command_rebuilds_with_a_progress_bar(
    db,
    settings,
    monkeypatch,
    capsys,  # noqa: F811
):
    _stale_entry(db, "energy")
    monkeypatch.setenv("DATAFACTORY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DATAFACTORY_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("DATAFACTORY_SECRET_KEY", "cli-test-secret-key-long-enough-000")
    monkeypatch.setattr(sys, "argv", ["datafactory", "catalogue", "reindex"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code in (0, None)
    assert "4 published dataset(s) indexed." in capsys.readouterr().out
    db.expire_all()
    assert set(ids(db, text="kwh")) == {"energy"}
    assert not ids(db, text="obsolete")
