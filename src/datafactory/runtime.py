"""The composition root: everything the platform needs, built once from the settings.

The web app, the CLI and the worker each build one ``Runtime`` and hand its parts down;
nothing is built at import time. It sits at the top of the house beside ``web`` and ``cli``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from datafactory import migrations
from datafactory.core import ledger
from datafactory.core.config import Settings
from datafactory.core.db import make_engine, make_sessionmaker, unit_of_work
from datafactory.core.files import FileStore, open_store
from datafactory.core.jobs import JobContext, JobQueue, Task, make_huey
from datafactory.core.keys import load_or_create_signing_key
from datafactory.core.mail import Mailer, mailer_from
from datafactory.identity.sign_in import SignInLimits
from datafactory.permits.config import PermitsConfig
from datafactory.permits.credentials import load_or_create_permit_key
from datafactory.permits.daily import DailyReport
from datafactory.permits.regimes import load_regimes
from datafactory.privacy.sdc import DisclosureRules
from datafactory.spe.config import EngineLimits, SandboxLimits, SpeConfig
from datafactory.spe.workspaces import workspace_for_permit
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.domains import retire_with_permit
from datafactory.ttp.keys import open_custody


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
    def mailer(self) -> Mailer:
        s = self.settings
        return mailer_from(
            s.smtp_host,
            s.smtp_port,
            s.smtp_sender,
            s.smtp_starttls,
            s.smtp_username,
            s.smtp_secret(),
            timeout=s.smtp_timeout_seconds,
        )

    @cached_property
    def permit_key(self) -> RSAPrivateKey:
        return load_or_create_permit_key(self.settings.resolved_permit_key_file)

    @cached_property
    def permits(self) -> PermitsConfig:
        return PermitsConfig(
            regimes=load_regimes(self.settings.permits_regimes_file),
            base_url=self.settings.base_url,
            permit_key=self.permit_key,
            store=self.store,
            register_delay_working_days=self.settings.permits_register_delay_working_days,
            attachment_max_bytes=self.settings.permits_attachment_max_bytes,
            # A permit that ends retires its pseudonym domain at the TTP; a permit
            # granted, changed or ended opens, follows or closes its SPE workspace.
            listeners=(retire_with_permit, workspace_for_permit(self.spe)),
        )

    @cached_property
    def spe(self) -> SpeConfig:
        s = self.settings
        return SpeConfig(
            store=self.store,
            work_dir=s.data_dir / "spe" / "work",
            ttp=self.ttp,
            base_url=s.base_url,
            rules=DisclosureRules(threshold=s.spe_threshold),
            engine=EngineLimits(
                memory=s.spe_query_memory,
                threads=s.spe_query_threads,
                timeout_seconds=s.spe_query_timeout_seconds,
            ),
            sandbox=SandboxLimits(
                cpu_seconds=s.spe_job_cpu_seconds,
                memory_bytes=s.spe_job_memory_bytes,
                wall_seconds=s.spe_job_wall_seconds,
            ),
            retention_days=s.spe_retention_days,
        )

    @cached_property
    def ttp(self) -> TtpConfig:
        s = self.settings
        return TtpConfig(
            custody=open_custody(
                key_file=s.resolved_ttp_key_file,
                master_keys=(
                    s.ttp_master_keys.get_secret_value() if s.ttp_master_keys else None
                ),
                vault_url=s.ttp_vault_url,
                vault_token_file=s.ttp_vault_token_file,
                vault_path=s.ttp_vault_path,
                vault_mount=s.ttp_vault_mount,
            ),
            work_dir=s.data_dir / "ttp" / "work",
            max_upload_bytes=s.ttp_max_upload_bytes,
        )

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
            "permits.daily": self._permits_daily_task,
            "ttp.link": self._ttp_link_task,
            "spe.prepare": self._spe_prepare_task,
            "spe.job": self._spe_job_task,
            KIND: functools.partial(check_links_task, settings=self.settings),
            "catalogue.harvest": harvest_task(
                self.settings.base_url, self.settings.harvest_max_bytes
            ),
        }

    def daily_round(
        self, progress: Callable[[int, int], None] = lambda _done, _total: None
    ) -> tuple[DailyReport, list[str]]:
        """The daily round: the permits' (expiry, reminders, e-mail), then the SPE's
        destruction of workspaces whose retention after their permit has passed. It runs
        after the permits' round so that a permit expiring today closes its workspace
        first."""
        from datafactory.permits import clocks
        from datafactory.permits.daily import run_daily
        from datafactory.spe.workspaces import destroy_due

        report = run_daily(
            self.sessions,
            self.permits,
            self.mailer,
            sender=self.settings.smtp_sender,
            progress=lambda done, _total: progress(done, 4),
        )
        with unit_of_work(self.sessions) as session:
            destroyed = destroy_due(
                session, self.spe, clocks.local_date(self.spe.now())
            )
        progress(4, 4)
        return report, destroyed

    def _permits_daily_task(
        self, context: JobContext, _params: dict[str, Any]
    ) -> dict[str, Any]:
        report, destroyed = self.daily_round(
            lambda done, total: context.progress(done, total)
        )
        return {
            "day": report.day.isoformat(),
            "expired": report.expired,
            "reminders": report.reminders,
            "emailed": report.emailed,
            "workspaces_destroyed": destroyed,
        }

    def _spe_prepare_task(
        self, context: JobContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        from datafactory.spe.preparation import preparation_task

        return preparation_task(
            context,
            params,
            config=self.spe,
            sql_connections=self.settings.spe_sql_connection_urls(),
            holders_dir=self.settings.resolved_spe_holders_dir,
        )

    def _spe_job_task(
        self, context: JobContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        from datafactory.spe.jobs.sandbox import BubblewrapRunner
        from datafactory.spe.jobs.service import job_task

        return job_task(context, params, config=self.spe, runner=BubblewrapRunner())

    def _ttp_link_task(
        self, context: JobContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        from datafactory.ttp.linkage import linkage_task

        return linkage_task(context, params, config=self.ttp)

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
