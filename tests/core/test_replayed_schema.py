"""The PostgreSQL schemas the tests get replay the migrations: they must be what alembic
makes, object for object, or every PostgreSQL test would test something else."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from datafactory import migrations
from tests.conftest import PG_URL
from tests.support.pg_schemas import schema_url

pytestmark = pytest.mark.skipif(PG_URL is None, reason="PostgreSQL only")

# What a schema holds, each row named without the schema, so two schemas compare.
CATALOG = {
    "columns": """SELECT table_name, column_name, data_type, is_nullable,
                         coalesce(regexp_replace(column_default, 't_[0-9a-f]{12}\\.', ''), '')
                  FROM information_schema.columns WHERE table_schema = :s""",
    "indexes": """SELECT tablename, indexname,
                         regexp_replace(indexdef, ' ON [^ ]+\\.', ' ON ')
                  FROM pg_indexes WHERE schemaname = :s""",
    "constraints": """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(c.oid)
                      FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                      WHERE n.nspname = :s""",
    "triggers": """SELECT event_object_table, trigger_name, event_manipulation, action_statement
                   FROM information_schema.triggers WHERE trigger_schema = :s""",
    "functions": """SELECT p.proname, pg_get_function_arguments(p.oid)
                    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname = :s""",
}


def _catalog(schema: str) -> dict[str, set[tuple[object, ...]]]:
    assert PG_URL is not None
    engine = create_engine(PG_URL)
    try:
        with engine.connect() as connection:
            return {
                name: {
                    tuple(str(v).replace(f"{schema}.", "") for v in row)
                    for row in connection.execute(text(sql), {"s": schema})
                }
                for name, sql in CATALOG.items()
            }
    finally:
        engine.dispose()


def test_a_replayed_schema_is_what_alembic_makes(database_url):
    assert PG_URL is not None
    replayed = database_url.rsplit("%3D", 1)[1]
    migrated = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{migrated}"'))
    try:
        engine = create_engine(schema_url(PG_URL, migrated))
        migrations.upgrade(engine)
        engine.dispose()
        ours, alembics = _catalog(replayed), _catalog(migrated)
        assert all(alembics.values())  # the queries see the schema at all
        assert ours == alembics
        replayed_engine = create_engine(database_url)
        revision = migrations.current_revision(replayed_engine)
        replayed_engine.dispose()
        assert revision == migrations.head_revision()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{migrated}" CASCADE'))
        admin.dispose()
