"""The composition root: everything the platform needs, built once from the settings.

The web app, the CLI and the worker each build one ``Runtime`` and hand its parts down;
nothing is built at import time. It sits at the top of the house beside ``web`` and ``cli``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from datafactory import migrations
from datafactory.core import ledger
from datafactory.core.config import Settings
from datafactory.core.db import make_engine, make_sessionmaker, unit_of_work
from datafactory.core.files import FileStore, open_store
from datafactory.core.jobs import JobContext, JobQueue, Task, make_huey
from datafactory.core.keys import load_or_create_signing_key
from datafactory.identity.sign_in import SignInLimits


@dataclass
class Runtime:
    settings: Settings
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(self.settings.resolved_database_url)
        self.sessions = make_sessionmaker(self.engine)

    def migrate(self) -> None:
        migrations.upgrade(self.engine)

    @cached_property
    def store(self) -> FileStore:
        return open_store(
            self.settings.resolved_storage_url, self.settings.storage_options
        )

    @cached_property
    def queue(self) -> JobQueue:
        huey = make_huey(
            self.settings.queue.value,
            data_dir=self.settings.data_dir,
            redis_url=self.settings.redis_url,
        )
        return JobQueue(huey, self.sessions, self.tasks())

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        return load_or_create_signing_key(self.settings.resolved_signing_key_file)

    @cached_property
    def sign_in_limits(self) -> SignInLimits:
        return SignInLimits(
            max_failures=self.settings.sign_in_max_failures,
            window=timedelta(seconds=self.settings.sign_in_window_seconds),
            key=self.settings.session_secret().encode(),
        )

    def tasks(self) -> dict[str, Task]:
        """Every kind of background job, by name."""
        from datafactory.catalogue.harvest.run import harvest_task
        from datafactory.catalogue.quality.checks import KIND, check_links_task

        return {
            "audit.verify": verify_ledger_task,
            KIND: functools.partial(check_links_task, settings=self.settings),
            "catalogue.harvest": harvest_task(
                self.settings.base_url, self.settings.harvest_max_bytes
            ),
        }

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.dispose()


def verify_ledger_task(context: JobContext, _params: dict[str, Any]) -> dict[str, Any]:
    """Recompute the audit ledger's chain in the background, reporting progress."""
    with unit_of_work(context.sessions) as session:
        result = ledger.verify(
            session, progress=lambda done, total: context.progress(done, total)
        )
    return {
        "ok": result.ok,
        "entries": result.entries,
        "head_seq": result.head_seq,
        "head_hash": result.head_hash,
        "first_broken": result.first_broken,
        "reason": result.reason,
    }
