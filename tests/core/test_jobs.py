"""Background jobs: huey carries the job id, our ``jobs`` table tells people how far it got.

The immediate queue runs a job in the committing caller; the sqlite and redis queues are
consumed by real huey worker threads (``InProcessWorker``), as in the demo.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from sqlalchemy import func, select

from datafactory.core import ledger
from datafactory.core.config import QueueBackend, Settings
from datafactory.core.db import unit_of_work
from datafactory.core.errors import InvalidInput, NotFound
from datafactory.core.jobs import (
    FAILED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    InProcessWorker,
    Job,
    JobContext,
    JobQueue,
    Task,
    get_job,
    make_huey,
)
from datafactory.identity.models import Role
from datafactory.runtime import Runtime
from tests.factories import person_with_token

REDIS_URL = "redis://127.0.0.1:6379/0"


def append_entries(runtime: Runtime, count: int) -> None:
    with unit_of_work(runtime.sessions) as session:
        for i in range(count):
            ledger.append(
                session,
                actor="person:1",
                action="test.happened",
                subject=f"thing:{i}",
                details={"n": i},
            )


def load(runtime: Runtime, job_id: str) -> Job:
    with runtime.sessions() as session:
        return get_job(session, job_id)


def count_jobs(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Job)) or 0


def wait_until(check: Callable[[], bool], *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout}s waiting for {check}")
        time.sleep(0.02)


# --- the immediate queue (the test default) ----------------------------------------


def test_a_submitted_verification_runs_after_commit_and_succeeds(runtime):
    append_entries(runtime, 7)
    with unit_of_work(runtime.sessions) as session:
        job = runtime.queue.submit(
            session, kind="audit.verify", requested_by="person:1", params={}
        )
        # Nothing runs before the transaction that made the row commits.
        assert job.status == QUEUED
        job_id = job.id

    done = load(runtime, job_id)
    assert done.status == SUCCEEDED
    assert done.error is None
    assert done.result is not None
    assert done.result["ok"] is True
    assert done.result["entries"] == 7
    assert done.result["head_seq"] == 7
    assert done.result["first_broken"] is None
    assert done.total == 7 and done.done == done.total
    assert done.percent == 100
    assert done.started_at is not None and done.finished_at is not None
    assert done.created_at <= done.started_at <= done.finished_at


def test_a_job_submitted_in_a_rolled_back_transaction_never_runs(runtime):
    ran: list[str] = []

    def task(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        ran.append(context.job_id)
        return {}

    queue = JobQueue(make_huey_for(runtime), runtime.sessions, {"test.task": task})

    class Boom(Exception):
        pass

    with pytest.raises(Boom), unit_of_work(runtime.sessions) as session:
        queue.submit(session, kind="test.task", requested_by="person:1", params={})
        raise Boom

    assert ran == []
    assert count_jobs(runtime) == 0


def test_a_rolled_back_session_reused_afterwards_runs_only_the_new_job(runtime):
    ran: list[str] = []

    def task(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        ran.append(context.job_id)
        return {}

    queue = JobQueue(make_huey_for(runtime), runtime.sessions, {"test.task": task})
    with runtime.sessions() as session:
        queue.submit(session, kind="test.task", requested_by="person:1", params={})
        session.rollback()
        kept = queue.submit(
            session, kind="test.task", requested_by="person:1", params={}
        )
        session.commit()
        session.commit()  # a second commit has nothing left to enqueue

    assert ran == [kept.id]
    assert count_jobs(runtime) == 1


def test_a_job_made_inside_a_rolled_back_savepoint_is_dropped_the_rest_run(runtime):
    ran: list[str] = []

    def task(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        ran.append(context.job_id)
        return {}

    queue = JobQueue(make_huey_for(runtime), runtime.sessions, {"test.task": task})
    with unit_of_work(runtime.sessions) as session:
        outer = queue.submit(session, kind="test.task", requested_by="p", params={})
        savepoint = session.begin_nested()
        queue.submit(session, kind="test.task", requested_by="p", params={})
        savepoint.rollback()
        with session.begin_nested():
            kept = queue.submit(session, kind="test.task", requested_by="p", params={})

    assert sorted(ran) == sorted([outer.id, kept.id])
    assert count_jobs(runtime) == 2


def test_a_session_closed_without_commit_starts_nothing(runtime):
    ran: list[str] = []

    def task(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        ran.append(context.job_id)
        return {}

    queue = JobQueue(make_huey_for(runtime), runtime.sessions, {"test.task": task})
    session = runtime.sessions()
    queue.submit(session, kind="test.task", requested_by="p", params={})
    session.close()
    session.commit()  # the same session object, used again: nothing is left waiting

    assert ran == []
    assert count_jobs(runtime) == 0


def test_an_unknown_kind_of_job_is_refused(runtime, db):
    with pytest.raises(InvalidInput, match="no kind of job"):
        runtime.queue.submit(db, kind="no.such", requested_by="p", params={})


def test_a_task_raising_a_platform_error_fails_with_its_message(runtime):
    def task(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        raise InvalidInput("The harvest source answered nonsense.")

    job_id = run_one(runtime, task)

    job = load(runtime, job_id)
    assert job.status == FAILED
    assert job.error == "The harvest source answered nonsense."
    assert job.result is None
    assert job.finished_at is not None


def test_a_task_with_a_bug_fails_with_a_line_not_a_stack_trace(runtime, caplog):
    def task(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        raise ZeroDivisionError("secret detail /srv/data/file.csv")

    job_id = run_one(runtime, task)

    job = load(runtime, job_id)
    assert job.status == FAILED
    assert job.error == "internal error (ZeroDivisionError)"
    assert "Traceback" not in job.error and "secret" not in job.error
    # The operator still gets the traceback, through huey's log.
    assert any(
        r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records
    )


def test_a_result_that_cannot_be_stored_fails_the_job_instead_of_leaving_it_running(
    runtime,
):
    def task(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"not json": {1, 2}}

    job_id = run_one(runtime, task)

    job = load(runtime, job_id)
    assert job.status == FAILED
    assert job.error is not None and job.error.startswith("internal error (result")


def test_a_job_already_claimed_is_not_run_twice(runtime):
    calls: list[str] = []

    def task(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        calls.append(context.job_id)
        return {"n": len(calls)}

    job_id = run_one(runtime, {"test.task": task})
    runtime_queue_run_again = JobQueue(
        make_huey_for(runtime), runtime.sessions, {"test.task": task}
    )
    runtime_queue_run_again.run(job_id)  # a second delivery of the same id
    runtime_queue_run_again.run("0" * 32)  # and an id with no row

    assert calls == [job_id]
    assert load(runtime, job_id).result == {"n": 1}


def test_a_job_whose_kind_the_worker_does_not_know_fails_clearly(runtime, committed):
    # A newer web process queued a kind that this (older) worker does not have.
    job_id = uuid.uuid4().hex
    committed(
        lambda s: s.add(Job(id=job_id, kind="new.kind", requested_by="p", params={}))
    )
    worker = JobQueue(make_huey_for(runtime), runtime.sessions, {})
    worker.run(job_id)

    job = load(runtime, job_id)
    assert job.status == FAILED
    assert job.error == "There is no kind of job called 'new.kind'."


def test_when_the_queue_cannot_be_reached_the_job_says_so(runtime):
    # A real Redis client pointed at a port where nothing listens.
    huey = make_huey(
        "redis",
        data_dir=runtime.settings.data_dir,
        redis_url="redis://127.0.0.1:1/0",
        name=f"unreachable-{uuid.uuid4().hex}",
    )
    queue = JobQueue(huey, runtime.sessions, {"test.task": noop})
    try:
        # The commit succeeds: the row is real, and it must not stay "queued" forever.
        with unit_of_work(runtime.sessions) as session:
            job_id = queue.submit(
                session, kind="test.task", requested_by="p", params={}
            ).id
    finally:
        huey.storage.close()

    job = load(runtime, job_id)
    assert job.status == FAILED
    assert job.error == "could not be queued (ConnectionError)"


def test_progress_reports_are_kept_and_a_finished_job_shows_all_done(runtime):
    def task(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        for done in range(params["steps"] + 1):
            context.progress(done, params["steps"], f"step {done}")
        return {"steps": params["steps"]}

    job_id = run_one(runtime, task, params={"steps": 4})

    job = load(runtime, job_id)
    assert (job.status, job.done, job.total, job.message) == (
        SUCCEEDED,
        4,
        4,
        "step 4",
    )
    assert job.result == {"steps": 4}


def test_get_job_of_an_unknown_id_is_not_found(db):
    with pytest.raises(NotFound):
        get_job(db, "f" * 32)


# --- real consumers: huey worker threads on SQLite and on Redis ---------------------


@dataclass
class Gate:
    """Lets the test see a job in the middle of its work before letting it finish."""

    reached: threading.Event
    release: threading.Event

    def task(self, context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
        context.progress(1, 3, "first third")
        self.reached.set()
        if not self.release.wait(timeout=10):
            raise TimeoutError("the test never released the job")
        context.progress(2, 3, "second third")
        context.progress(3, 3, "last third")
        return {"answer": params["question"] * 2}


def failing(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    raise InvalidInput("Refused by the task.")


def crashing(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    raise KeyError("oops")


def noop(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    return {}


def make_huey_for(runtime: Runtime):  # type: ignore[no-untyped-def]
    """A fresh immediate huey: each JobQueue registers its task on its own huey."""
    return make_huey(
        "immediate", data_dir=runtime.settings.data_dir, redis_url=REDIS_URL
    )


def run_one(
    runtime: Runtime,
    tasks: Task | dict[str, Task],
    params: dict[str, Any] | None = None,
) -> str:
    table = tasks if isinstance(tasks, dict) else {"test.task": tasks}
    queue = JobQueue(make_huey_for(runtime), runtime.sessions, table)
    with unit_of_work(runtime.sessions) as session:
        job = queue.submit(
            session, kind=next(iter(table)), requested_by="p", params=params or {}
        )
    return job.id


def redis_or_skip() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    finally:
        client.close()


@dataclass
class Consumed:
    queue: JobQueue
    runtime: Runtime
    gate: Gate


@pytest.fixture(params=["sqlite", "redis"])
def consumed(request, settings: Settings) -> Iterator[Consumed]:
    gate = Gate(threading.Event(), threading.Event())
    tasks: dict[str, Task] = {
        "test.gated": gate.task,
        "test.failing": failing,
        "test.crashing": crashing,
    }
    if request.param == "sqlite":
        # The platform's own wiring: queue="sqlite" puts huey's queue in the data folder.
        class GatedRuntime(Runtime):
            def tasks(self) -> dict[str, Task]:
                return {**super().tasks(), **tasks}

        runtime: Runtime = GatedRuntime(
            settings.model_copy(update={"queue": QueueBackend.sqlite})
        )
        queue = runtime.queue
        assert (settings.data_dir / "jobs.sqlite3").exists()
    else:
        redis_or_skip()
        runtime = Runtime(settings)
        # A huey name of its own, so tests running side by side share no Redis keys.
        huey = make_huey(
            "redis",
            data_dir=settings.data_dir,
            redis_url=REDIS_URL,
            name=f"test-{uuid.uuid4().hex}",
        )
        # Idle workers block on Redis for read_timeout seconds; shorter lets them stop
        # sooner at teardown (BRPOP takes fractions of a second).
        huey.storage.read_timeout = 0.1
        queue = JobQueue(huey, runtime.sessions, {**runtime.tasks(), **tasks})
    worker = InProcessWorker(queue.huey, workers=2, initial_delay=0.01, max_delay=0.05)
    worker.start()
    try:
        yield Consumed(queue, runtime, gate)
    finally:
        gate.release.set()
        worker.stop()
        queue.huey.flush()
        queue.huey.storage.close()
        runtime.dispose()


def submit(consumed: Consumed, kind: str, params: dict[str, Any] | None = None) -> str:
    with unit_of_work(consumed.runtime.sessions) as session:
        job = consumed.queue.submit(
            session, kind=kind, requested_by="person:1", params=params or {}
        )
        return job.id


def test_a_worker_runs_a_job_and_its_progress_shows_while_it_runs(consumed):
    job_id = submit(consumed, "test.gated", {"question": 21})

    assert consumed.gate.reached.wait(timeout=10), "the worker never started the job"
    during = load(consumed.runtime, job_id)
    assert (during.status, during.done, during.total, during.message) == (
        RUNNING,
        1,
        3,
        "first third",
    )
    assert during.percent == 33 and during.started_at is not None

    consumed.gate.release.set()
    wait_until(lambda: load(consumed.runtime, job_id).finished)

    after = load(consumed.runtime, job_id)
    assert after.status == SUCCEEDED
    assert after.result == {"answer": 42}
    assert (after.done, after.total, after.message) == (3, 3, "last third")
    assert after.error is None


def test_a_worker_records_failures_and_keeps_working(consumed):
    refused = submit(consumed, "test.failing")
    crashed = submit(consumed, "test.crashing")
    consumed.gate.release.set()
    fine = submit(consumed, "test.gated", {"question": 1})

    for job_id in (refused, crashed, fine):
        wait_until(lambda job_id=job_id: load(consumed.runtime, job_id).finished)

    assert load(consumed.runtime, refused).error == "Refused by the task."
    assert load(consumed.runtime, crashed).error == "internal error (KeyError)"
    assert load(consumed.runtime, fine).status == SUCCEEDED
    # The job rows hold the outcome; huey keeps no results of its own to pile up.
    assert consumed.queue.huey.result_count() == 0
    assert consumed.queue.huey.pending_count() == 0


def test_the_platform_verification_runs_on_a_real_worker(consumed):
    append_entries(consumed.runtime, 3)
    job_id = submit(consumed, "audit.verify")

    wait_until(lambda: load(consumed.runtime, job_id).finished)
    job = load(consumed.runtime, job_id)
    assert job.status == SUCCEEDED
    assert job.result is not None and job.result["entries"] == 3
    assert job.done == job.total == 3


# --- through the API --------------------------------------------------------------


def test_an_auditor_starts_a_verification_and_follows_it_through_the_api(
    runtime, client, committed
):
    auditor = committed(
        lambda s: person_with_token(
            s, "auditor@example.lu", roles=((Role.auditor, None),)
        )
    )
    stranger = committed(lambda s: person_with_token(s, "someone@example.lu"))

    started = client.post(
        "/api/audit/verifications",
        headers={"Authorization": f"Bearer {auditor.token}"},
    )
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    body = started.json()
    assert location == f"/api/jobs/{body['id']}"
    assert body["kind"] == "audit.verify"

    shown = client.get(location, headers={"Authorization": f"Bearer {auditor.token}"})
    assert shown.status_code == 200
    assert shown.json()["status"] == SUCCEEDED
    assert shown.json()["result"]["ok"] is True
    assert shown.json()["percent"] == 100

    other = client.get(location, headers={"Authorization": f"Bearer {stranger.token}"})
    assert other.status_code == 403
    assert other.headers["content-type"].startswith("application/problem+json")

    anonymous = client.get(location)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert anonymous.json()["status"] == 401
