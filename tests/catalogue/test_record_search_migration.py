"""Migration 0015 gives every record published before it the search words that
publishing gives now, and none to drafts."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from datafactory import migrations
from datafactory.catalogue import records
from datafactory.catalogue.schemas import DataServiceDraft

PUBLISHED = {
    "title": {"en": "Population API", "fr": "API « Population »"},
    "description": {"de": "Einwohner je Gemeinde, Jahr für Jahr."},
    "keywords": {"lb": ["Awunner"], "el": ["Πληθυσμός"]},
    "endpoint_urls": ["https://api.example.lu/"],
}


def test_records_published_before_get_the_words_publishing_gives(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrations.upgrade(engine, "0014_catalogue_kinds")
    now = "2026-01-01 00:00:00.000000"
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO organisations (id, slug, name, kind, is_public_sector,"
                " created_at) VALUES (1, 'statec', 'STATEC', 'public_body', 1, :now)"
            ),
            {"now": now},
        )
        for record_id, status, version in (
            ("pub1", "published", 1),
            ("draft1", "draft", 0),
        ):
            c.execute(
                text(
                    "INSERT INTO catalogue_records (id, kind, publisher_id, status, draft,"
                    " version, created_at, modified_at) VALUES (:id, 'service', 1,"
                    " :status, :draft, :version, :now, :now)"
                ),
                {
                    "id": record_id,
                    "status": status,
                    "draft": json.dumps(PUBLISHED),
                    "version": version,
                    "now": now,
                },
            )
        c.execute(
            text(
                "INSERT INTO catalogue_record_versions (record_id, number, document,"
                " published_at, published_by) VALUES ('pub1', 1, :doc, :now, 'steward')"
            ),
            {"doc": json.dumps(PUBLISHED), "now": now},
        )
    migrations.upgrade(engine)
    with engine.connect() as c:
        words = dict(
            c.execute(text("SELECT id, search_words FROM catalogue_records")).all()
        )
    assert words["draft1"] is None
    assert words["pub1"] == records.search_words(
        DataServiceDraft.model_validate(PUBLISHED)
    )
    # casefold turns the final sigma into σ, in the query as in the words
    assert " πληθυσμοσ" in words["pub1"] and " fur" in words["pub1"]
    engine.dispose()
