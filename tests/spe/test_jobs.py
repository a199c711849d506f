"""Sandboxed jobs end to end on the real database: a member's script runs on the decrypted
workspace data in a private folder that is removed afterwards, its files become sealed
outputs, its logs are sealed too, and only members see any of it."""

from __future__ import annotations

import functools
import hashlib
import shutil
import stat
from pathlib import Path

import pytest
from huey import MemoryHuey
from sqlalchemy import select

from datafactory.core.errors import Forbidden, InvalidInput, NotFound
from datafactory.core.jobs import Job, JobQueue
from datafactory.core.ledger import LedgerEntry
from datafactory.spe import workspaces
from datafactory.spe.jobs.models import JobStatus, OutputKind, SpeJob
from datafactory.spe.jobs.sandbox import (
    BubblewrapRunner,
    JobResult,
    JobSpec,
    collect_outputs,
)
from datafactory.spe.jobs.service import (
    TASK,
    get_job,
    job_logs,
    job_task,
    list_jobs,
    run_job,
    submit_job,
)
from datafactory.spe.models import WorkspaceStatus
from datafactory.spe.outputs import list_outputs, read_output
from tests.spe.jobs_world import build, spe_config
from tests.support.schema import differences
from tests.ttp.world import Clock

ANALYSIS = """\
import glob
import matplotlib.pyplot as plt
import pandas as pd
import statsmodels.formula.api as smf

print(sorted(glob.glob("/workspace/data/*.parquet")))
person = pd.read_parquet("/workspace/data/person.parquet")
table = person.groupby("sex").size().rename("n").reset_index()
table.to_csv("/workspace/output/by_sex.csv", index=False)
fit = smf.ols("amount ~ birth_year", data=person).fit()
open("/workspace/output/model.txt", "w").write(str(fit.summary()))
figure, axis = plt.subplots()
axis.bar(table["sex"], table["n"])
figure.savefig("/workspace/output/by_sex.png")
print("rows", len(person))
"""


class FakeRunner:
    """Stands in for bubblewrap: looks at what the service prepared, leaves files."""

    def __init__(self, files: dict[str, bytes] | None = None, exit_code: int = 0):
        self.files = files if files is not None else {"t.csv": b"a,b\n1,2\n"}
        self.exit_code = exit_code
        self.seen: dict[str, object] = {}

    def run(self, spec: JobSpec) -> JobResult:
        folder = spec.script.parent
        self.seen = {
            "folder": folder,
            "mode": stat.S_IMODE(folder.stat().st_mode),
            "data": sorted(p.name for p in spec.data_dir.iterdir()),
            "script": spec.script.read_text(),
            "limits": spec.limits,
        }
        for name, data in self.files.items():
            (spec.output_dir / name).write_bytes(data)
        outputs, refused = collect_outputs(spec.output_dir, spec.limits)
        return JobResult(
            exit_code=self.exit_code,
            stdout="hello from the sandbox\n",
            stderr="" if self.exit_code == 0 else "Traceback\nValueError: bad column\n",
            outputs=tuple(outputs),
            refused=tuple(refused),
        )


class BrokenRunner:
    def run(self, spec: JobSpec) -> JobResult:
        self.folder = spec.script.parent
        raise RuntimeError("the sandbox fell over")


@pytest.fixture
def spe(runtime, tmp_path):
    return spe_config(runtime.store, tmp_path, Clock())


@pytest.fixture
def world(committed, spe):
    return committed(lambda s: build(s, spe))


def queue_for(runtime, spe, runner) -> JobQueue:
    if isinstance(runner, BubblewrapRunner) and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    task = functools.partial(job_task, config=spe, runner=runner)
    return JobQueue(
        MemoryHuey("spe-jobs-test", immediate=True, results=False),
        runtime.sessions,
        {TASK: task},
    )


def submit(committed, world, spe, queue, script="print('hi')", name="analysis") -> int:
    def step(session):
        workspace = workspaces.get_workspace(session, world.workspace_name)
        return submit_job(
            session, world.member_actor, spe, queue, workspace, name=name, script=script
        ).id

    return committed(step)


def actions(db) -> list[str]:
    return list(
        db.scalars(
            select(LedgerEntry.action)
            .where(
                LedgerEntry.action.startswith("spe.job")
                | (LedgerEntry.action == "spe.output.saved")
            )
            .order_by(LedgerEntry.seq)
        )
    )


def test_a_pandas_and_statsmodels_job_runs_in_the_sandbox_and_its_files_become_outputs(
    runtime, db, committed, world, spe
):
    queue = queue_for(runtime, spe, BubblewrapRunner())
    job_id = submit(committed, world, spe, queue, ANALYSIS)

    db.expire_all()
    job = db.get(SpeJob, job_id)
    assert job.status == JobStatus.succeeded, job.reason
    assert job.exit_code == 0 and job.reason is None
    assert job.script_sha256 == hashlib.sha256(ANALYSIS.encode()).hexdigest()
    assert db.get(Job, job.background_job_id).status == "succeeded"

    workspace = workspaces.get_workspace(db, world.workspace_name)
    outputs = {o.name: o for o in list_outputs(db, workspace, origin=f"job:{job_id}")}
    assert {n: o.kind for n, o in outputs.items()} == {
        "by_sex.csv": OutputKind.table,
        "by_sex.png": OutputKind.figure,
        "model.txt": OutputKind.regression,
    }
    table = outputs["by_sex.csv"]
    assert table.code == ANALYSIS and table.created_by == world.member.id
    assert read_output(db, spe, table).decode().splitlines() == [
        "sex,n",
        "F,200",
        "M,100",
    ]
    assert b"sex,n" not in spe.store.read(table.storage_key)
    assert read_output(db, spe, outputs["by_sex.png"]).startswith(b"\x89PNG")

    logs = job_logs(db, world.member_actor, spe, workspace, job)
    assert "['/workspace/data/person.parquet']" in logs.stdout
    assert "rows 300" in logs.stdout
    assert b"rows 300" not in job.stdout  # sealed with the workspace key
    assert list(spe.work_dir.iterdir()) == []  # the decrypted data is gone
    assert actions(db) == [
        "spe.job.submitted",
        "spe.job.started",
        "spe.output.saved",
        "spe.output.saved",
        "spe.output.saved",
        "spe.job.finished",
    ]


def test_the_data_is_decrypted_into_a_private_folder_removed_afterwards(
    runtime, db, committed, world, spe
):
    runner = FakeRunner()
    job_id = submit(committed, world, spe, queue_for(runtime, spe, runner))
    assert runner.seen["mode"] == 0o700
    assert runner.seen["data"] == ["person.parquet"]
    assert runner.seen["script"] == "print('hi')"
    assert runner.seen["limits"] == spe.sandbox
    assert Path(runner.seen["folder"]).parent == spe.work_dir
    assert not Path(runner.seen["folder"]).exists()
    db.expire_all()
    assert db.get(SpeJob, job_id).status == JobStatus.succeeded
    started = db.scalars(
        select(LedgerEntry).where(LedgerEntry.action == "spe.job.started")
    ).one()
    assert '"person"' in started.details  # the read of protected data is ledgered


def test_the_folder_is_removed_even_when_the_sandbox_fails(
    runtime, db, committed, world, spe
):
    runner = BrokenRunner()
    submit(committed, world, spe, queue_for(runtime, spe, runner))
    assert not runner.folder.exists()
    db.expire_all()
    job = db.scalars(select(SpeJob)).one()
    background = db.get(Job, job.background_job_id)
    assert background.status == "failed"
    assert background.error == "internal error (RuntimeError)"
    assert job.status == JobStatus.failed
    assert "the sandbox could not run the job (RuntimeError)" in job.reason
    assert actions(db)[-1] == "spe.job.finished"


def test_a_failing_script_keeps_no_files_and_says_why(
    runtime, db, committed, world, spe
):
    runner = FakeRunner(exit_code=1)
    job_id = submit(committed, world, spe, queue_for(runtime, spe, runner))
    db.expire_all()
    job = db.get(SpeJob, job_id)
    assert job.status == JobStatus.failed
    assert job.reason == "the script exited with status 1: ValueError: bad column"
    assert job.refused == [
        {"name": "t.csv", "reason": "the job failed: its files are not kept"}
    ]
    workspace = workspaces.get_workspace(db, world.workspace_name)
    assert list_outputs(db, workspace) == []


def test_files_that_are_not_what_they_claim_are_refused_with_a_reason(
    runtime, db, committed, world, spe
):
    runner = FakeRunner({"ok.csv": b"a\n1\n", "fake.png": b"not a png", "x.exe": b""})
    job_id = submit(committed, world, spe, queue_for(runtime, spe, runner))
    db.expire_all()
    job = db.get(SpeJob, job_id)
    assert job.status == JobStatus.succeeded
    reasons = {r["name"]: r["reason"] for r in job.refused}
    assert "not a PNG" in reasons["fake.png"]
    assert "not allowed" in reasons["x.exe"]
    workspace = workspaces.get_workspace(db, world.workspace_name)
    assert [o.name for o in list_outputs(db, workspace)] == ["ok.csv"]


def test_only_members_submit_and_see_jobs_and_logs(runtime, db, committed, world, spe):
    queue = queue_for(runtime, spe, FakeRunner())
    job_id = submit(committed, world, spe, queue)
    workspace = workspaces.get_workspace(db, world.workspace_name)
    outsider = world.outsider_actor
    with pytest.raises(Forbidden):
        submit_job(db, outsider, spe, queue, workspace, name="x", script="print(1)")
    with pytest.raises(Forbidden):
        list_jobs(db, outsider, workspace)
    with pytest.raises(Forbidden):
        get_job(db, outsider, workspace, job_id)
    job = get_job(db, world.member_actor, workspace, job_id)
    with pytest.raises(Forbidden):
        job_logs(db, outsider, spe, workspace, job)
    assert [j.id for j in list_jobs(db, world.member_actor, workspace)] == [job_id]
    assert job_logs(db, world.member_actor, spe, workspace, job).stdout == (
        "hello from the sandbox\n"
    )


def test_a_job_of_another_workspace_is_not_found(runtime, db, committed, world, spe):
    other = committed(lambda s: build(s, spe, name="other"))
    job_id = submit(committed, world, spe, queue_for(runtime, spe, FakeRunner()))
    theirs = workspaces.get_workspace(db, other.workspace_name)
    with pytest.raises(NotFound):
        get_job(db, other.member_actor, theirs, job_id)


@pytest.mark.parametrize(
    ("name", "script", "field"),
    [
        ("", "print(1)", "name"),
        ("x" * 201, "print(1)", "name"),
        ("job", "   \n", "script"),
        ("job", "x = 1\n" * 50_000, "script"),
        ("job", "print(1)\x00", "script"),
    ],
)
def test_a_job_needs_a_name_and_a_reasonable_script(
    runtime, db, world, spe, name, script, field
):
    workspace = workspaces.get_workspace(db, world.workspace_name)
    queue = queue_for(runtime, spe, FakeRunner())
    with pytest.raises(InvalidInput) as refused:
        submit_job(
            db, world.member_actor, spe, queue, workspace, name=name, script=script
        )
    assert field in {e.field for e in refused.value.errors}


def test_a_job_whose_workspace_closed_before_it_ran_does_not_run(
    runtime, db, committed, world, spe
):
    runner = FakeRunner()
    lazy = JobQueue(MemoryHuey("lazy", immediate=False), runtime.sessions, {TASK: None})
    job_id = submit(committed, world, spe, lazy)

    def close(session):
        workspace = workspaces.get_workspace(session, world.workspace_name)
        workspace.status = WorkspaceStatus.closed.value

    committed(close)
    job = run_job(runtime.sessions, spe, job_id, runner)
    assert job is not None and job.status == JobStatus.failed
    assert "is closed: the job did not run" in job.reason
    assert runner.seen == {}
    assert list(spe.work_dir.iterdir()) == []
    # Delivered again, it does not run again.
    assert run_job(runtime.sessions, spe, job_id, runner) is None


def test_a_job_runs_once_even_when_delivered_twice(runtime, db, committed, world, spe):
    runner = FakeRunner()
    job_id = submit(committed, world, spe, queue_for(runtime, spe, runner))
    assert run_job(runtime.sessions, spe, job_id, runner) is None
    db.expire_all()
    assert actions(db).count("spe.job.finished") == 1


def test_the_tables_match_the_migration(runtime):
    assert differences(runtime.engine, {"spe_jobs", "spe_workspace_outputs"}) == []
