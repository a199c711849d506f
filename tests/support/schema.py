"""Compare a room's models with what the migrations made, table by table.

Each room checks its own tables: the search index's virtual tables and engine-specific
indexes are made by hand in the migrations and have no model, so the whole schema never
compares clean.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

from datafactory import migrations


def differences(
    engine: Engine, tables: Iterable[str], metadata: MetaData | None = None
) -> list[Any]:
    """Alembic's differences between the database and the models, for ``tables`` only."""
    ours = set(tables)
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection), metadata or migrations.metadata()
        )
    return [change for change in diff if _table_of(change) in ours]


def _table_of(change: Any) -> str | None:
    op = change[0] if isinstance(change, list) else change
    if op[0] in ("add_table", "remove_table"):
        return str(op[1].name)
    if op[0] in ("add_column", "remove_column") or op[0].startswith("modify_"):
        return str(op[2])
    table = getattr(op[1], "table", None)
    return None if table is None else str(table.name)
