"""Sandboxed jobs: a member submits a Python script, a worker runs it on the workspace data.

The run, step by step (:func:`run_job`, the body of the background job ``spe.job``):

1. In one transaction: claim the job, check that the workspace is still ready and the
   author still a member, decrypt each workspace table as Parquet into a private folder
   (mode 0700) under ``SpeConfig.work_dir``, and ledger the read (``spe.job.started``).
2. Outside any transaction: run the script in the sandbox (:mod:`.sandbox`).
3. In one transaction: seal each output file with the workspace key as a workspace output
   (origin ``job:<id>``, code the script), seal the cut logs, record the result and ledger
   ``spe.job.finished``.

The private folder is removed at the end whatever happened. Outputs go to the airlock,
never to the member. Only members see a job, its logs and its outputs.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from datafactory.core import ledger
from datafactory.core.db import unit_of_work
from datafactory.core.errors import DatafactoryError, FieldError, InvalidInput, NotFound
from datafactory.core.jobs import JobContext, JobQueue
from datafactory.identity.actor import Actor
from datafactory.spe import crypto
from datafactory.spe import policy as _rules  # noqa: F401  (registers the rules)
from datafactory.spe.config import SpeConfig
from datafactory.spe.jobs.events import JobFinished, JobStarted, JobSubmitted
from datafactory.spe.jobs.models import JobStatus, SpeJob
from datafactory.spe.jobs.sandbox import (
    JobResult,
    JobSpec,
    SandboxRunner,
    limits_dict,
    remove_tree,
)
from datafactory.spe.models import Workspace
from datafactory.spe.outputs import guess_kind, save_output
from datafactory.spe.workspaces import (
    decrypt_object,
    encrypt_object,
    ensure_member,
    load_object,
    prefix_of,
    table_rows,
)

TASK = "spe.job"
"""The background job kind that runs a sandboxed job."""
SYSTEM = Actor.system("spe-jobs")
"""Who acts when a worker runs a job."""
MAX_SCRIPT_BYTES = 256 * 1024


# --- submitting and reading -------------------------------------------------------------


def submit_job(
    session: Session,
    actor: Actor,
    config: SpeConfig,
    queue: JobQueue,
    workspace: Workspace,
    *,
    name: str,
    script: str,
) -> SpeJob:
    """Queue ``script`` to run in ``workspace``'s sandbox; members only."""
    ensure_member(session, actor, workspace)
    assert actor.person_id is not None  # ensure_member admits people only
    name = name.strip()
    errors: list[FieldError] = []
    if not 1 <= len(name) <= 200:
        errors.append(
            FieldError("name", "Give the job a name (200 characters at most).")
        )
    encoded = script.encode("utf-8", errors="replace")
    if not script.strip():
        errors.append(FieldError("script", "The script is empty."))
    elif len(encoded) > MAX_SCRIPT_BYTES:
        errors.append(
            FieldError("script", f"A script has at most {MAX_SCRIPT_BYTES} bytes.")
        )
    elif "\x00" in script:
        errors.append(FieldError("script", "A script holds no NUL characters."))
    if errors:
        raise InvalidInput("The job cannot be submitted.", errors=errors)
    limits = limits_dict(config.sandbox)
    job = SpeJob(
        workspace_id=workspace.id,
        author_id=actor.person_id,
        name=name,
        script=script,
        script_sha256=hashlib.sha256(encoded).hexdigest(),
        status=JobStatus.queued.value,
        refused=[],
        limits=limits,
        created_at=config.now(),
    )
    session.add(job)
    session.flush()
    background = queue.submit(
        session, kind=TASK, requested_by=actor.ref, params={"job_id": job.id}
    )
    job.background_job_id = background.id
    ledger.record(
        session,
        actor.ref,
        JobSubmitted(
            job_id=job.id,
            workspace_id=workspace.id,
            workspace=workspace.name,
            name=name,
            script_sha256=job.script_sha256,
            script_bytes=len(encoded),
            limits=limits,
            background_job_id=background.id,
        ),
    )
    return job


def get_job(
    session: Session, actor: Actor, workspace: Workspace, job_id: int
) -> SpeJob:
    """Job ``job_id`` of ``workspace``; members only, NotFound for another workspace's."""
    ensure_member(session, actor, workspace)
    job = session.get(SpeJob, job_id)
    if job is None or job.workspace_id != workspace.id:
        raise NotFound(f"Workspace {workspace.name} has no job {job_id}.")
    return job


def list_jobs(session: Session, actor: Actor, workspace: Workspace) -> list[SpeJob]:
    """The workspace's jobs, newest first; members only."""
    ensure_member(session, actor, workspace)
    return list(
        session.scalars(
            select(SpeJob)
            .where(SpeJob.workspace_id == workspace.id)
            .order_by(SpeJob.id.desc())
        )
    )


@dataclass(frozen=True)
class JobLogs:
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool


def job_logs(
    session: Session, actor: Actor, config: SpeConfig, workspace: Workspace, job: SpeJob
) -> JobLogs:
    """The job's stdout and stderr, decrypted; members only. A script may print data,
    so the logs stay inside the workspace like its files."""
    ensure_member(session, actor, workspace)
    if job.workspace_id != workspace.id:
        raise NotFound(f"Workspace {workspace.name} has no job {job.id}.")
    return JobLogs(
        stdout=_open_log(session, config, workspace, job, "stdout", job.stdout),
        stderr=_open_log(session, config, workspace, job, "stderr", job.stderr),
        stdout_truncated=job.stdout_truncated,
        stderr_truncated=job.stderr_truncated,
    )


def _log_key(workspace: Workspace, job_id: int, stream: str) -> str:
    return f"{prefix_of(workspace)}jobs/{job_id}/{stream}"


def _seal_log(
    session: Session,
    config: SpeConfig,
    workspace: Workspace,
    job_id: int,
    stream: str,
    text: str,
) -> bytes:
    key = _log_key(workspace, job_id, stream)
    return encrypt_object(session, config, workspace, key, text.encode())


def _open_log(
    session: Session,
    config: SpeConfig,
    workspace: Workspace,
    job: SpeJob,
    stream: str,
    sealed: bytes | None,
) -> str:
    if sealed is None:
        return ""
    key = _log_key(workspace, job.id, stream)
    return decrypt_object(session, config, workspace, key, sealed).decode(
        errors="replace"
    )


# --- running ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    workspace_id: int
    author_id: int
    script: str


def run_job(
    sessions: sessionmaker[Session],
    config: SpeConfig,
    job_id: int,
    runner: SandboxRunner,
) -> SpeJob | None:
    """Run job ``job_id`` in the sandbox and store what it made; the task body.

    Returns the finished job (detached), or None when it was not queued any more (a job
    delivered twice runs once)."""
    config.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=config.work_dir))
    try:
        try:
            with unit_of_work(sessions) as session:
                prepared = _prepare(session, config, job_id, folder)
        except _NotRunnable as refusal:
            return _finish(sessions, config, job_id, None, refusal.reason)
        except Exception as exc:
            _finish(
                sessions,
                config,
                job_id,
                None,
                f"the workspace data could not be prepared ({type(exc).__name__})",
            )
            raise
        if prepared is None:
            return None
        spec = JobSpec(
            script=folder / "script.py",
            data_dir=folder / "data",
            output_dir=folder / "output",
            limits=config.sandbox,
        )
        try:
            result = runner.run(spec)
        except Exception as exc:
            detail = exc.detail if isinstance(exc, DatafactoryError) else ""
            _finish(
                sessions,
                config,
                job_id,
                None,
                f"the sandbox could not run the job ({type(exc).__name__}) {detail}",
            )
            raise
        return _finish(sessions, config, job_id, result, None)
    finally:
        remove_tree(folder)


class _NotRunnable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _prepare(
    session: Session, config: SpeConfig, job_id: int, folder: Path
) -> _Prepared | None:
    claimed = session.execute(
        update(SpeJob)
        .where(SpeJob.id == job_id, SpeJob.status == JobStatus.queued.value)
        .values(status=JobStatus.running.value, started_at=config.now())
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    job = session.get(SpeJob, job_id)
    assert job is not None
    workspace = session.get(Workspace, job.workspace_id)
    assert workspace is not None
    if not workspace.ready:
        raise _NotRunnable(
            f"workspace {workspace.name} is {workspace.status}: the job did not run"
        )
    if job.author_id not in workspace.members:
        raise _NotRunnable(
            f"the author is no longer a member of workspace {workspace.name}: the job "
            "did not run"
        )
    data = folder / "data"
    data.mkdir(mode=0o700)
    (folder / "output").mkdir(mode=0o700)
    script = folder / "script.py"
    script.write_text(job.script, encoding="utf-8")
    tables: list[tuple[str, str]] = []
    for row in table_rows(session, workspace):
        plain = load_object(session, config, workspace, row.storage_key)
        if hashlib.sha256(plain).hexdigest() != row.sha256:
            raise crypto.ObjectUnreadable(
                f"Table {row.name} of workspace {workspace.name} is not the version its "
                "record names (its SHA-256 differs)."
            )
        (data / f"{row.name}.parquet").write_bytes(plain)
        tables.append((row.name, row.sha256))
    ledger.record(
        session,
        SYSTEM.ref,
        JobStarted(
            job_id=job.id,
            workspace_id=workspace.id,
            workspace=workspace.name,
            tables=tuple(tables),
        ),
    )
    return _Prepared(job.workspace_id, job.author_id, job.script)


def _finish(
    sessions: sessionmaker[Session],
    config: SpeConfig,
    job_id: int,
    result: JobResult | None,
    failure: str | None,
) -> SpeJob:
    with unit_of_work(sessions) as session:
        job = session.get(SpeJob, job_id)
        if job is None:  # pragma: no cover - deleted while it ran
            raise NotFound(f"There is no job {job_id}.")
        workspace = session.get(Workspace, job.workspace_id)
        assert workspace is not None
        refused = [
            {"name": r.name, "reason": r.reason}
            for r in (result.refused if result else ())
        ]
        output_ids: list[int] = []
        reason = failure
        if result is not None:
            reason = result.reason
            if result.succeeded:
                output_ids = _store_outputs(
                    session, config, workspace, job, result, refused
                )
            else:
                refused += [
                    {"name": o.name, "reason": "the job failed: its files are not kept"}
                    for o in result.outputs
                ]
            if not workspace.destroyed:
                job.stdout = _seal_log(
                    session, config, workspace, job.id, "stdout", result.stdout
                )
                job.stderr = _seal_log(
                    session, config, workspace, job.id, "stderr", result.stderr
                )
            job.stdout_truncated = result.stdout_truncated
            job.stderr_truncated = result.stderr_truncated
            job.exit_code = result.exit_code
        succeeded = result is not None and result.succeeded
        job.status = (JobStatus.succeeded if succeeded else JobStatus.failed).value
        job.reason = reason[:2000] if reason else None
        job.refused = refused
        if job.started_at is None:
            job.started_at = config.now()
        job.finished_at = config.now()
        session.flush()
        ledger.record(
            session,
            SYSTEM.ref,
            JobFinished(
                job_id=job.id,
                workspace_id=workspace.id,
                workspace=workspace.name,
                status=job.status,
                exit_code=job.exit_code,
                reason=job.reason,
                timed_out=bool(result and result.timed_out),
                outputs=tuple(output_ids),
                refused=tuple((r["name"], r["reason"]) for r in refused),
                wall_seconds=round(result.wall_seconds, 3) if result else 0.0,
            ),
        )
        session.expunge(job)
        return job


def _store_outputs(
    session: Session,
    config: SpeConfig,
    workspace: Workspace,
    job: SpeJob,
    result: JobResult,
    refused: list[dict[str, str]],
) -> list[int]:
    if not workspace.ready:
        refused += [
            {
                "name": o.name,
                "reason": f"workspace {workspace.name} is {workspace.status}",
            }
            for o in result.outputs
        ]
        return []
    ids: list[int] = []
    for output in result.outputs:
        try:
            data = output.read()
            saved = save_output(
                session,
                SYSTEM,
                config,
                workspace,
                name=output.name,
                kind=guess_kind(output.media_type, data),
                media_type=output.media_type,
                data=data,
                origin=f"job:{job.id}",
                code=job.script,
                created_by=job.author_id,
            )
        except (OSError, InvalidInput) as exc:
            reason = exc.detail if isinstance(exc, InvalidInput) else str(exc)
            refused.append({"name": output.name, "reason": reason[:300]})
            continue
        ids.append(saved.id)
    return ids


def job_task(
    context: JobContext,
    params: dict[str, Any],
    *,
    config: SpeConfig,
    runner: SandboxRunner,
) -> dict[str, Any]:
    """The ``spe.job`` background task: ``params`` is ``{"job_id": <id>}``."""
    job = run_job(context.sessions, config, int(params["job_id"]), runner)
    if job is None:
        return {"job_id": params["job_id"], "status": "not queued"}
    return {
        "job_id": job.id,
        "status": job.status,
        "exit_code": job.exit_code,
        "reason": job.reason,
    }
