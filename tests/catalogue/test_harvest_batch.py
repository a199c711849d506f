"""Harvest in chunks: one SHACL run per chunk and profile, failures one record at a time.

A record that fails validation writes nothing (no draft, no ledger entry, no harvest
record) and is listed with its reason, in the source's order; the others of its chunk are
published. ``service.publish_batch`` gives the same verdict and messages as
``create_dataset`` + ``publish_dataset`` one by one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from datafactory.catalogue import service
from datafactory.catalogue.harvest import normalise, run, sources
from datafactory.catalogue.harvest.models import HarvestRecord
from datafactory.catalogue.harvest.normalise import DESCRIPTION_FROM_TITLE
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import DatasetDraft
from datafactory.core.errors import InvalidInput
from datafactory.core.ledger import LedgerEntry
from datafactory.identity.actor import Actor
from tests.factories import organisation

OPERATOR = Actor(ref="system:cli", name="cli", roles=frozenset({("admin", None)}))
BASE = "https://data.example.lu"
EU = "http://publications.europa.eu/resource/authority"
# Record 3 has no description (the title stands for it); records 2 and 5 are made to
# fail validation; record 6 has its title in Catalan only, outside the EU language
# vocabulary, and cannot be read.
TITLES = {1: "Jeu un", 2: "bad deux", 3: "Jeu trois", 4: "Jeu quatre", 5: "bad cinq"}


def catalogue(path: Path, *, changed: str = "") -> str:
    parts = [
        "@prefix dcat: <http://www.w3.org/ns/dcat#> .",
        "@prefix dct: <http://purl.org/dc/terms/> .",
    ]
    for number in range(1, 8):
        title = TITLES.get(number, f"Jeu {number}")
        if number == 6:
            lines = ['dct:title "Conjunt"@ca']
        else:
            lines = [f'dct:title "{title}{changed if number == 4 else ""}"@fr']
            if number != 3:
                lines.append('dct:description "Des chiffres."@fr')
        lines.append(f"dcat:theme <{EU}/data-theme/ECON>")
        lines.append(
            f'dcat:distribution [ dcat:accessURL <https://example.lu/{number}.csv> ; dct:format "CSV" ]'
        )
        parts.append(
            f"<https://src.example.lu/d/{number}> a dcat:Dataset ;\n    "
            + " ;\n    ".join(lines)
            + " ."
        )
    path.write_text("\n".join(parts), encoding="utf-8")
    return str(path)


@pytest.fixture
def broken_descriptions(monkeypatch):
    """Drafts whose title says "bad" lose their description after normalisation."""
    build = normalise.build

    def lossy(fields, notes=None):  # noqa: ANN001, ANN202
        draft = build(fields, notes)
        if any("bad" in t for t in draft.title.values()):
            return draft.model_copy(update={"description": {}})
        return draft

    monkeypatch.setattr(normalise, "build", lossy)


def actions(db) -> list[str]:
    db.expire_all()
    return [e.action for e in db.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))]


def test_a_chunk_publishes_its_good_records_and_lists_the_others(
    committed, runtime, db, tmp_path, monkeypatch, broken_descriptions
):
    monkeypatch.setattr(run, "CHUNK", 3)  # three chunks of 3, 3 and 1 records
    committed(lambda s: organisation(s, "statec"))
    path = catalogue(tmp_path / "catalogue.ttl")
    committed(
        lambda s: sources.add_source(
            s,
            OPERATOR,
            name="mixed",
            type=sources.SourceType.dcat,
            url=path,
            publisher="statec",
            allow_private_network=True,
        )
    )
    before = len(actions(db))
    report = run.harvest(runtime.sessions, OPERATOR, source="mixed", base_url=BASE)
    assert (report["created"], report["failed"]) == (4, 3)
    failures = report["failures"]
    assert [f["remote_id"] for f in failures] == [
        "https://src.example.lu/d/2",
        "https://src.example.lu/d/5",
        "https://src.example.lu/d/6",
    ]
    for failure in failures[:2]:
        assert failure["reason"].startswith("The dataset does not meet DCAT-AP-LU yet.")
        assert "description (dct:description)" in failure["reason"]
    assert failures[2]["reason"] == normalise.NO_TITLE
    notes = [n for n in report["notes"] if n["note"] == DESCRIPTION_FROM_TITLE]
    assert [n["remote_id"] for n in notes] == ["https://src.example.lu/d/3"]

    # Nothing of the failed records was written: no draft, no harvest record, no entry.
    db.expire_all()
    datasets = list(db.scalars(select(Dataset)))
    assert len(datasets) == 4 and {d.status for d in datasets} == {"published"}
    assert db.scalar(select(func.count()).select_from(HarvestRecord)) == 4
    new = actions(db)[before:]
    assert new.count("catalogue.dataset.created") == 4
    assert new.count("catalogue.dataset.published") == 4
    third = next(
        d for d in datasets if service.metadata_of(db, d).title == {"fr": "Jeu trois"}
    )
    assert service.metadata_of(db, third).description == {"fr": "Jeu trois"}

    # Unchanged records are skipped; the failed ones fail again, with nothing written.
    again = run.harvest(runtime.sessions, OPERATOR, source="mixed", base_url=BASE)
    assert (again["created"], again["unchanged"], again["failed"]) == (0, 4, 3)

    # A changed record is edited and published as version 2, in a chunk with failures.
    catalogue(tmp_path / "catalogue.ttl", changed=" (revu)")
    before = len(actions(db))
    third_run = run.harvest(runtime.sessions, OPERATOR, source="mixed", base_url=BASE)
    assert (third_run["updated"], third_run["unchanged"], third_run["failed"]) == (
        1,
        3,
        3,
    )
    assert actions(db)[before:-1] == [
        "catalogue.dataset.edited",
        "catalogue.dataset.published",
    ]
    db.expire_all()
    edited = next(
        d
        for d in db.scalars(select(Dataset))
        if service.metadata_of(db, d).title == {"fr": "Jeu quatre (revu)"}
    )
    assert edited.version == 2


def _errors(exc: InvalidInput) -> list[tuple[str, str]]:
    def plain(text: str) -> str:
        return re.sub(r"/id/dataset/[a-z0-9]+", "/id/dataset/ID", text)

    return [(e.field, plain(e.message)) for e in exc.errors]


def test_publish_batch_fails_as_publish_dataset_does(committed, db):
    publisher_id = committed(lambda s: organisation(s, "statec").id)
    drafts = [
        DatasetDraft(title={"fr": "Bon"}, description={"fr": "Oui."}),
        DatasetDraft(title={"fr": "Sans description"}),
        DatasetDraft(
            title={"en": "HVD"},
            hvd_categories=["http://data.europa.eu/bna/c_164e0bf5"],
            distributions=[{"access_url": "https://example.lu/a.csv"}],
        ),
    ]
    one_by_one: list[object] = []
    for draft in drafts:
        try:
            with db.begin_nested():
                dataset = service.create_dataset(
                    db, OPERATOR, publisher_id=publisher_id, metadata=draft
                )
                one_by_one.append(
                    service.publish_dataset(
                        db, OPERATOR, dataset_id=dataset.id, base_url=BASE
                    ).number
                )
        except InvalidInput as exc:
            one_by_one.append(_errors(exc))
    before = db.scalar(select(func.count()).select_from(Dataset))
    outcomes = service.publish_batch(
        db,
        OPERATOR,
        publisher_id=publisher_id,
        items=[service.Upsert(d) for d in drafts],
        base_url=BASE,
    )
    batch = [
        o.number if not isinstance(o, InvalidInput) else _errors(o) for o in outcomes
    ]
    assert batch == one_by_one
    assert (
        batch[0] == 1 and batch[1] and batch[2]
    )  # the HVD one lacks a description too
    # Only the good one was written.
    assert db.scalar(select(func.count()).select_from(Dataset)) == before + 1


def test_publish_batch_reports_an_unknown_publisher_or_dataset(db):
    draft = DatasetDraft(title={"fr": "t"}, description={"fr": "d"})
    (missing,) = service.publish_batch(
        db, OPERATOR, publisher_id=999, items=[service.Upsert(draft)], base_url=BASE
    )
    assert isinstance(missing, InvalidInput)
    assert missing.errors[0].field == "publisher_id"
