"""The sandbox attack corpus: every script in ``sandbox/`` runs in the real sandbox and must
be blocked, stopped, refused or cut, as its header says (see sandbox/README.md).

Around each case the worker's environment holds platform secrets and a host folder holds
a fake key, database and settings file; no case may show any of them, print ``ESCAPED``,
or leave a process behind."""

from __future__ import annotations

import os
import shutil
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datafactory.spe.config import SandboxLimits
from datafactory.spe.jobs.sandbox import BubblewrapRunner, JobResult, JobSpec

CORPUS = Path(__file__).parent / "sandbox"
SECRET = "s3cr3t-do-not-leak-7f9c2e"
SECRET_VARIABLES = (
    "DATAFACTORY_SESSION_SECRET",
    "DATAFACTORY_SECRET_KEY",
    "DATAFACTORY_DATABASE_URL",
    "DATAFACTORY_TTP_MASTER_KEYS",
    "PGPASSWORD",
    "AWS_SECRET_ACCESS_KEY",
)
BASE_LIMITS = SandboxLimits(cpu_seconds=60, wall_seconds=60, memory_bytes=2 * 1024**3)
OUTCOMES = {"blocked", "stopped", "refused", "truncated"}


@dataclass(frozen=True)
class Case:
    path: Path
    header: dict[str, Any]
    script: str

    @property
    def outcome(self) -> str:
        return str(self.header["outcome"])

    @property
    def limits(self) -> SandboxLimits:
        return replace(BASE_LIMITS, **self.header.get("limits", {}))


def load(path: Path) -> Case:
    text = path.read_text()
    header_lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        header_lines.append(line[2:] if line.startswith("# ") else line[1:])
    header = tomllib.loads("\n".join(header_lines))
    return Case(path, header, text)


CASES = sorted(CORPUS.glob("*.py.txt"))


def test_the_corpus_covers_the_attacks_of_the_issue():
    names = {p.name.removesuffix(".py.txt") for p in CASES}
    for needed in (
        "net_postgres",
        "net_outside",
        "net_dns",
        "read_system_secrets",
        "read_platform_data",
        "read_root_home",
        "proc_host_environ",
        "write_outside_output",
        "fork_bomb",
        "memory_bomb",
        "cpu_spin",
        "env_secrets",
        "symlink_escape",
        "huge_stdout",
    ):
        assert needed in names


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name.removesuffix(".py.txt"))
def test_every_header_says_what_is_expected_and_why(path):
    case = load(path)
    assert case.outcome in OUTCOMES
    assert case.header.get("attack") and case.header.get("reason")
    if case.outcome == "stopped":
        assert case.header.get("expect_in_reason")
    if case.outcome == "refused":
        assert case.header.get("expect_refused")


@pytest.fixture
def platform(tmp_path: Path) -> Path:
    """A host folder that looks like the platform's data folder."""
    folder = tmp_path / "platform"
    folder.mkdir(mode=0o700)
    for name in ("ttp-master.json", "signing-key.pem", "datafactory.sqlite3", ".env"):
        (folder / name).write_text(SECRET)
    return folder


def run_case(case: Case, tmp_path: Path, platform: Path, uid: int) -> JobResult:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    job = tmp_path / "work" / "job-1"
    (job / "data").mkdir(parents=True)
    (job / "output").mkdir()
    job.chmod(0o700)
    pq.write_table(
        pa.table({"pseudonym": ["p1", "p2"], "amount": [1.0, 2.0]}),
        job / "data" / "person.parquet",
    )
    script = (
        case.script.replace("{{PLATFORM_DIR}}", str(platform))
        .replace("{{JOB_DIR}}", str(job))
        .replace("{{SECRET}}", SECRET)
    )
    (job / "script.py").write_text(script)
    spec = JobSpec(job / "script.py", job / "data", job / "output", case.limits)
    return BubblewrapRunner(uids=range(uid, uid + 1)).run(spec)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name.removesuffix(".py.txt"))
def test_each_attack_is_contained(path, tmp_path, platform, monkeypatch):
    case = load(path)
    for name in SECRET_VARIABLES:
        monkeypatch.setenv(name, SECRET)
    uid = 3_960_000 + CASES.index(path)
    result = run_case(case, tmp_path, platform, uid)
    logs = result.stdout + result.stderr
    detail = f"{path.name}\nstdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"

    assert "ESCAPED" not in logs, detail
    assert SECRET not in logs, detail
    for output in result.outputs:
        assert SECRET.encode() not in output.read(), output.name
    if os.geteuid() == 0:
        assert processes_of(uid) == [], f"{path.name} left processes behind"

    if case.outcome == "blocked":
        assert result.succeeded, f"{result.reason}\n{detail}"
        assert "BLOCKED" in result.stdout, detail
    elif case.outcome == "stopped":
        assert not result.succeeded, detail
        assert result.reason is not None, detail
        assert case.header["expect_in_reason"] in result.reason, detail
    elif case.outcome == "refused":
        assert result.succeeded, detail
        refused = {r.name: r.reason for r in result.refused}
        for name in case.header["expect_refused"]:
            assert refused.get(name), f"{name} was not refused: {refused}"
        collected = {o.name for o in result.outputs}
        assert not collected & set(case.header["expect_refused"])
    else:  # truncated
        limit = case.limits.max_log_bytes
        assert result.stdout_truncated and result.stderr_truncated, detail
        assert len(result.stdout.encode()) <= limit
        assert len(result.stderr.encode()) <= limit


def processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:") and int(line.split()[1]) == uid:
                found.append(int(entry))
    return found
