"""Migrated PostgreSQL schemas for tests, made ahead of need on the server's spare core.

Each test on PostgreSQL gets a schema of its own, built by the real migrations. Running
alembic for every test cost about 0.8 s (0.45 s of it the server creating ~170 tables,
indexes and triggers), plus 0.15 s to drop the schema after: over a thousand tests, half
of the PostgreSQL run. So the migrations run once, through alembic, while every statement
they send is recorded; each test's schema then gets the same statements in the same order
(an empty schema answers alembic's questions the same way each time, so the replay is
what alembic would have done). A background thread keeps a few such schemas ready and
drops used ones, so the server does that work while the tests run.
"""

from __future__ import annotations

import queue
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

from datafactory import migrations

READY = 2  # schemas made ahead; the tests' process and the server share two cores


@dataclass(frozen=True)
class _Statement:
    sql: str
    parameters: Any


def schema_url(base_url: str, schema: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"


def _new_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


class SchemaSupply:
    """Hands out freshly migrated schemas and drops them once a test is done."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._admin = create_engine(base_url)
        self._script = self._record_migrations()
        self._ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=READY)
        self._used: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._worker = threading.Thread(
            target=self._work, name="pg-schemas", daemon=True
        )
        self._worker.start()

    def take(self) -> str:
        """A schema at the migrations' head that no other test has seen."""
        made = self._ready.get()
        if isinstance(made, BaseException):
            raise RuntimeError("preparing a test schema failed") from made
        return made

    def give_back(self, schema: str) -> None:
        self._used.put(schema)

    def close(self) -> None:
        self._stop.set()
        while not self._ready.empty():  # unblock a worker waiting to hand one over
            leftover = self._ready.get_nowait()
            if isinstance(leftover, str):
                self._used.put(leftover)
        self._worker.join()
        while not self._ready.empty():
            leftover = self._ready.get_nowait()
            if isinstance(leftover, str):
                self._used.put(leftover)
        while not self._used.empty():
            self._drop(self._used.get_nowait())
        self._admin.dispose()

    def _record_migrations(self) -> list[_Statement]:
        schema = _new_name()
        self._create(schema)
        engine = create_engine(schema_url(self.base_url, schema))
        script: list[_Statement] = []

        def keep(
            _conn: object,
            _cursor: object,
            statement: str,
            parameters: Any,
            _context: object,
            executemany: bool,
        ) -> None:
            assert not executemany, "a migration sent an executemany: replay it as one"
            script.append(_Statement(statement, parameters or None))

        event.listen(engine, "before_cursor_execute", keep)
        try:
            migrations.upgrade(engine)
        finally:
            event.remove(engine, "before_cursor_execute", keep)
            engine.dispose()
            self._drop(schema)
        return script

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                schema = self._made()
            except BaseException as exc:  # handed to the test that waits for a schema
                self._offer(exc)
                return
            self._offer(schema)
            while not self._used.empty() and self._ready.full():
                self._drop(self._used.get_nowait())

    def _offer(self, made: str | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._ready.put(made, timeout=0.05)
                return
            except queue.Full:
                if not self._used.empty():
                    self._drop(self._used.get_nowait())
        if isinstance(made, str):
            self._used.put(made)

    def _made(self) -> str:
        schema = _new_name()
        self._create(schema)
        engine: Engine = create_engine(schema_url(self.base_url, schema))
        try:
            with engine.begin() as connection:
                for statement in self._script:
                    connection.exec_driver_sql(statement.sql, statement.parameters)
        finally:
            engine.dispose()
        return schema

    def _create(self, schema: str) -> None:
        with self._admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def _drop(self, schema: str) -> None:
        with self._admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
