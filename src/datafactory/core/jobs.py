"""Background work: huey runs the tasks, our ``jobs`` table tells people how far they got.

huey carries a job id from the web process to a worker (SQLite storage embedded, Redis across
machines). The job row is the part people see: status, progress, the result or the reason it
failed. A job is enqueued only after the transaction that created its row commits, so a
worker never looks for a row that is not there, and a rolled-back request starts nothing.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from sqlalchemy import JSON, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from datafactory.core.db import Base, UTCDateTime, unit_of_work, utcnow
from datafactory.core.errors import DatafactoryError, InvalidInput, NotFound

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    requested_by: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def finished(self) -> bool:
        return self.status in (SUCCEEDED, FAILED)

    @property
    def percent(self) -> int | None:
        if not self.total:
            return 100 if self.status == SUCCEEDED else None
        return min(100, round(100 * self.done / self.total))


@dataclass
class JobContext:
    """What a task gets: a way to open transactions and to report progress."""

    job_id: str
    sessions: sessionmaker[Session]

    def progress(
        self, done: int, total: int | None, message: str | None = None
    ) -> None:
        with unit_of_work(self.sessions) as session:
            job = session.get(Job, self.job_id)
            if job is not None:
                job.done, job.total = done, total
                if message is not None:
                    job.message = message


Task = Callable[[JobContext, dict[str, Any]], dict[str, Any]]


def make_huey(
    backend: str, *, data_dir: Path, redis_url: str, name: str = "datafactory"
) -> Huey:
    if backend == "immediate":
        return MemoryHuey(name, immediate=True)
    if backend == "redis":
        return RedisHuey(name, url=redis_url)
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(data_dir / "jobs.sqlite3"))


class JobQueue:
    """Our tasks on one huey instance, and the job rows that follow them."""

    def __init__(
        self, huey: Huey, sessions: sessionmaker[Session], tasks: Mapping[str, Task]
    ) -> None:
        self.huey = huey
        self.sessions = sessions
        self.tasks = dict(tasks)
        self._run_job = huey.task(name="datafactory.run_job")(self.run)

    def submit(
        self, session: Session, *, kind: str, requested_by: str, params: dict[str, Any]
    ) -> Job:
        """Add a queued job on ``session``; it is enqueued when that session commits."""
        if kind not in self.tasks:
            raise InvalidInput(f"There is no kind of job called {kind!r}.")
        job = Job(
            id=uuid.uuid4().hex, kind=kind, requested_by=requested_by, params=params
        )
        session.add(job)
        session.flush()
        pending: list[str] = session.info.setdefault("datafactory.jobs", [])
        if not pending:
            _enqueue_after_commit(session, self)
        pending.append(job.id)
        return job

    def run(self, job_id: str) -> None:
        """Run one job in this process: the huey task body, also usable directly."""
        with unit_of_work(self.sessions) as session:
            job = session.get(Job, job_id)
            if job is None or job.status != QUEUED:
                return
            job.status, job.started_at = RUNNING, utcnow()
            kind, params = job.kind, dict(job.params)
        try:
            result = self.tasks[kind](JobContext(job_id, self.sessions), params)
        except DatafactoryError as exc:
            self._finish(job_id, FAILED, error=exc.detail)
        except Exception as exc:  # a worker must survive any task bug and say so
            self._finish(job_id, FAILED, error=f"internal error ({type(exc).__name__})")
            raise
        else:
            self._finish(job_id, SUCCEEDED, result=result)

    def _finish(
        self,
        job_id: str,
        status: str,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with unit_of_work(self.sessions) as session:
            job = session.get(Job, job_id)
            assert job is not None
            job.status, job.finished_at = status, utcnow()
            job.result, job.error = result, error
            if status == SUCCEEDED and job.total:
                job.done = job.total


def _enqueue_after_commit(session: Session, queue: JobQueue) -> None:
    def enqueue(committed: Session) -> None:
        for job_id in committed.info.pop("datafactory.jobs", []):
            queue._run_job(job_id)

    def forget(rolled_back: Session) -> None:
        rolled_back.info.pop("datafactory.jobs", None)

    event.listen(session, "after_commit", enqueue, once=True)
    event.listen(session, "after_soft_rollback", forget, once=True)


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"There is no job {job_id}.")
    return job


def recent_jobs(
    session: Session, *, requested_by: str | None, limit: int = 20
) -> list[Job]:
    query = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if requested_by is not None:
        query = query.where(Job.requested_by == requested_by)
    return list(session.scalars(query))


class _QuietConsumer(Consumer):  # type: ignore[misc]
    """huey's consumer without its signal handlers, so it can run beside a web server in
    one process (the demo); ``datafactory worker`` uses the ordinary consumer."""

    def _set_signal_handlers(self) -> None:
        pass


class InProcessWorker:
    """Worker threads inside the current process, for the demo."""

    def __init__(self, huey: Huey, workers: int = 1) -> None:
        self._consumer = _QuietConsumer(
            huey, workers=workers, worker_type="thread", periodic=False
        )
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            self._consumer.start()

    def stop(self) -> None:
        with self._lock:
            self._consumer.stop(graceful=True)
