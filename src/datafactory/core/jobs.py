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
from sqlalchemy import JSON, Integer, String, Text, event, update
from sqlalchemy.orm import (
    Mapped,
    Session,
    SessionTransaction,
    mapped_column,
    sessionmaker,
)

from datafactory.core.db import Base, UTCDateTime, unit_of_work, utcnow
from datafactory.core.errors import DatafactoryError, InvalidInput, NotFound
from datafactory.core.logs import get_logger

log = get_logger("datafactory.jobs")

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
    # results=False: the job row holds the outcome. With huey's result store on, every
    # failed task would leave an error result in Redis or SQLite that nobody ever reads.
    if backend == "immediate":
        return MemoryHuey(name, immediate=True, results=False)
    if backend == "redis":
        return RedisHuey(name, url=redis_url, results=False)
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(data_dir / "jobs.sqlite3"), results=False)


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
        _pending_jobs(session).append(_Pending(self, _innermost(session), job.id))
        return job

    def run(self, job_id: str) -> None:
        """Run one job in this process: the huey task body, also usable directly."""
        with unit_of_work(self.sessions) as session:
            # Claim the job in one statement, so a job delivered twice runs once.
            claimed = session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == QUEUED)
                .values(status=RUNNING, started_at=utcnow())
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return
            job = session.get(Job, job_id)
            assert job is not None
            kind, params = job.kind, dict(job.params)
        task = self.tasks.get(kind)
        if task is None:
            self._finish(
                job_id, FAILED, error=f"There is no kind of job called {kind!r}."
            )
            return
        try:
            result = task(JobContext(job_id, self.sessions), params)
        except DatafactoryError as exc:
            self._finish(job_id, FAILED, error=exc.detail)
        except Exception as exc:  # a worker must survive any task bug and say so
            self._finish(job_id, FAILED, error=f"internal error ({type(exc).__name__})")
            raise  # huey logs the traceback for the operator; people see the line
        except BaseException:  # the worker is being stopped in the middle of the job
            self._finish(job_id, FAILED, error="interrupted")
            raise
        else:
            try:
                self._finish(job_id, SUCCEEDED, result=result)
            except Exception as exc:  # e.g. a result that cannot be stored as JSON
                self._finish(
                    job_id,
                    FAILED,
                    error=f"internal error (result not stored: {type(exc).__name__})",
                )
                raise

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
            if job is None:
                return
            job.status, job.finished_at = status, utcnow()
            job.result, job.error = result, error
            if status == SUCCEEDED and job.total:
                job.done = job.total

    def _enqueue(self, job_id: str) -> None:
        """Hand a committed job to huey; if that fails, say so on the job's row."""
        try:
            self._run_job(job_id)
        except Exception as exc:
            log.error("job_not_enqueued", job_id=job_id, error=type(exc).__name__)
            try:
                self._finish(
                    job_id,
                    FAILED,
                    error=f"could not be queued ({type(exc).__name__})",
                )
            except Exception:
                log.exception("job_not_marked_failed", job_id=job_id)


# --- enqueue after commit ------------------------------------------------------------
#
# A job's id waits in ``session.info`` with the (innermost) transaction that created its
# row. The outermost commit (not a released savepoint) hands every waiting id to huey; a rolled-back savepoint drops
# the jobs made inside it; the end of the outermost transaction drops whatever is left, so
# a rollback or a close without commit starts nothing.

_PENDING = "datafactory.jobs.pending"


@dataclass(frozen=True)
class _Pending:
    queue: JobQueue
    transaction: SessionTransaction | None
    job_id: str


def _innermost(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def _pending_jobs(session: Session) -> list[_Pending]:
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _enqueue_pending)
        event.listen(session, "after_soft_rollback", _drop_rolled_back)
        event.listen(session, "after_transaction_end", _drop_at_end)
    return pending


def _enqueue_pending(session: Session) -> None:
    if session.in_nested_transaction():
        # SQLAlchemy also fires after_commit when a savepoint is released; the rows are
        # not committed yet, so a worker would not find them.
        return
    pending: list[_Pending] = session.info.get(_PENDING, [])
    waiting, pending[:] = list(pending), []
    for item in waiting:
        item.queue._enqueue(item.job_id)


def _within(
    transaction: SessionTransaction | None, ancestor: SessionTransaction
) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _drop_rolled_back(session: Session, previous: SessionTransaction) -> None:
    pending: list[_Pending] = session.info.get(_PENDING, [])
    pending[:] = [p for p in pending if not _within(p.transaction, previous)]


def _drop_at_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.get(_PENDING, []).clear()


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"There is no job {job_id}.")
    return job


class _QuietConsumer(Consumer):  # type: ignore[misc]
    """huey's consumer without its signal handlers, so it can run beside a web server in
    one process (the demo); ``datafactory worker`` uses the ordinary consumer."""

    def _set_signal_handlers(self) -> None:
        pass


class InProcessWorker:
    """Worker threads inside the current process, for the demo (and tests).

    An idle huey worker polls an SQLite queue less and less often, up to ``max_delay``
    seconds; huey's default of ten seconds makes a demo job wait visibly, so ours is
    shorter. Redis queues block on the list instead and start a job at once.
    """

    def __init__(
        self,
        huey: Huey,
        workers: int = 1,
        *,
        initial_delay: float = 0.1,
        max_delay: float = 1.0,
    ) -> None:
        self.huey = huey
        self._options: dict[str, Any] = {
            "workers": workers,
            "worker_type": "thread",
            "periodic": False,
            "initial_delay": initial_delay,
            "max_delay": max_delay,
        }
        self._lock = threading.Lock()
        self._consumer: Consumer | None = None

    def start(self) -> None:
        with self._lock:
            if self._consumer is None:
                # A fresh consumer each time: huey's threads start only once.
                self._consumer = _QuietConsumer(self.huey, **self._options)
                self._consumer.start()

    def stop(self) -> None:
        """Stop taking jobs and wait for the running ones to finish."""
        with self._lock:
            if self._consumer is not None:
                self._consumer.stop(graceful=True)
                self._consumer = None
