"""The bubblewrap sandbox on its own, without a database: a real analysis runs, its files
come back, and every limit stops what it should. The attacks live in the security corpus
(tests/security/spe/sandbox)."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datafactory.spe.config import SandboxLimits
from datafactory.spe.jobs.sandbox import (
    SANDBOX_ENV,
    BubblewrapRunner,
    JobSpec,
    SandboxUnavailable,
    collect_outputs,
)

FAST = SandboxLimits(cpu_seconds=60, wall_seconds=120, memory_bytes=2 * 1024**3)

ANALYSIS = """
import glob
import matplotlib.pyplot as plt
import pandas as pd
import statsmodels.formula.api as smf

frames = {p.split("/")[-1]: pd.read_parquet(p) for p in glob.glob("/workspace/data/*.parquet")}
person = frames["person.parquet"]
counts = person.groupby("sex").size().rename("n").reset_index()
counts.to_csv("/workspace/output/by_sex.csv", index=False)
model = smf.ols("amount ~ birth_year", data=person).fit()
with open("/workspace/output/model.txt", "w") as handle:
    handle.write(str(model.summary()))
figure, axis = plt.subplots()
axis.bar(counts["sex"], counts["n"])
figure.savefig("/workspace/output/by_sex.png")
print("rows", len(person))
"""


def job(tmp_path: Path, script: str, limits: SandboxLimits = FAST) -> JobSpec:
    folder = tmp_path / "job"
    (folder / "data").mkdir(parents=True)
    (folder / "output").mkdir()
    folder.chmod(0o700)
    (folder / "script.py").write_text(textwrap.dedent(script))
    pq.write_table(
        pa.table(
            {
                "pseudonym": [f"p{i}" for i in range(200)],
                "sex": ["F" if i % 3 else "M" for i in range(200)],
                "birth_year": [1950 + i % 50 for i in range(200)],
                "amount": [float(i % 17) * 3.5 for i in range(200)],
            }
        ),
        folder / "data" / "person.parquet",
    )
    return JobSpec(folder / "script.py", folder / "data", folder / "output", limits)


def run(tmp_path: Path, script: str, limits: SandboxLimits = FAST, **kw):  # type: ignore[no-untyped-def]
    if "bwrap" not in kw and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    return BubblewrapRunner(**kw).run(job(tmp_path, script, limits))


def test_a_pandas_and_statsmodels_analysis_runs_and_its_files_come_back(tmp_path):
    result = run(tmp_path, ANALYSIS)
    assert result.succeeded, result.stderr
    assert result.stdout.strip() == "rows 200"
    found = {o.name: o for o in result.outputs}
    assert {n: o.media_type for n, o in found.items()} == {
        "by_sex.csv": "text/csv",
        "by_sex.png": "image/png",
        "model.txt": "text/plain",
    }
    assert found["by_sex.csv"].read().decode().splitlines() == [
        "sex,n",
        "F,133",
        "M,67",
    ]
    assert found["by_sex.png"].read().startswith(b"\x89PNG")
    assert "Df Residuals" in found["model.txt"].read().decode()
    assert result.refused == ()


def test_the_script_sees_only_the_fixed_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DATAFACTORY_SESSION_SECRET", "do-not-leak-0123456789")
    result = run(tmp_path, "import os, json; print(json.dumps(dict(os.environ)))")
    assert result.succeeded, result.stderr
    seen = __import__("json").loads(result.stdout)
    assert {k: v for k, v in seen.items() if k != "PWD"} == SANDBOX_ENV
    assert "do-not-leak" not in result.stdout


def test_the_script_runs_without_root_and_without_capabilities(tmp_path):
    result = run(
        tmp_path,
        """
        import os
        status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
        print(os.getuid(), os.geteuid(), status["CapEff"].strip(), status["NoNewPrivs"].strip())
        """,
    )
    uid, euid, caps, no_new_privs = result.stdout.split()
    assert uid != "0" and euid != "0"
    assert int(caps, 16) == 0
    assert no_new_privs == "1"


def test_stdout_and_stderr_are_cut_to_the_log_limit(tmp_path):
    limits = SandboxLimits(max_log_bytes=1000, wall_seconds=60)
    result = run(
        tmp_path,
        """
        import sys
        for _ in range(20000):
            print("x" * 100)
            print("e" * 100, file=sys.stderr)
        """,
        limits,
    )
    assert result.succeeded
    assert len(result.stdout) == 1000 and result.stdout_truncated
    assert len(result.stderr) == 1000 and result.stderr_truncated


def test_the_cpu_time_limit_stops_a_spinning_script(tmp_path):
    result = run(tmp_path, "while True: pass", SandboxLimits(cpu_seconds=1))
    assert not result.succeeded
    assert result.killed is not None and "CPU time limit of 1 s" in result.killed


def test_the_memory_limit_stops_a_script_that_asks_for_too_much(tmp_path):
    limits = SandboxLimits(memory_bytes=512 * 1024**2, wall_seconds=60)
    result = run(tmp_path, "x = bytearray(2 * 1024 ** 3)", limits)
    assert not result.succeeded
    assert result.killed is not None and "memory limit" in result.killed


def test_the_process_limit_holds_for_the_sandbox_even_under_root(tmp_path):
    result = run(
        tmp_path,
        """
        import os, time
        made = 0
        try:
            for _ in range(200):
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                made += 1
        except OSError as error:
            print("refused", made, error.errno)
        """,
        SandboxLimits(processes=16, wall_seconds=60),
    )
    assert result.succeeded, result.stderr
    word, made, errno = result.stdout.split()
    assert word == "refused" and int(made) < 16 and errno == "11"  # EAGAIN


def test_the_wall_clock_limit_kills_every_process_of_the_job(tmp_path):
    uid = 3_950_001
    result = run(
        tmp_path,
        """
        import os, time
        if os.fork() == 0:
            os.setsid()
            time.sleep(600)
        time.sleep(600)
        """,
        SandboxLimits(wall_seconds=2),
        uids=range(uid, uid + 1),
    )
    assert result.timed_out and result.exit_code is None
    assert result.killed is not None and "wall-clock limit of 2 s" in result.killed
    if os.geteuid() == 0:
        assert processes_of(uid) == []


def test_only_plain_files_of_allowed_types_within_the_limits_are_collected(tmp_path):
    limits = SandboxLimits(max_output_files=2, max_output_bytes=1000, wall_seconds=60)
    result = run(
        tmp_path,
        """
        import os
        out = "/workspace/output/"
        for name in ("a.csv", "b.txt", "c.json"):
            open(out + name, "w").write("1")
        open(out + "tool.py", "w").write("print()")
        try:
            with open(out + "big.csv", "w") as handle:
                handle.write("x" * 5000)
        except OSError as error:
            print("big", error.errno)
        os.symlink("/etc/passwd", out + "passwd.csv")
        os.mkfifo(out + "pipe.txt")
        os.mkdir(out + "figures")
        open(out + "figures/f.svg", "w").write("<svg/>")
        open(out + "-rf.txt", "w").write("")
        """,
        limits,
    )
    assert result.succeeded, result.stderr
    assert "big 27" in result.stdout  # EFBIG: the file size limit
    assert [o.name for o in result.outputs] == ["a.csv", "b.txt"]
    reasons = {r.name: r.reason for r in result.refused}
    assert reasons["passwd.csv"] == "a symbolic link, not a file"
    assert reasons["pipe.txt"] == "not a regular file"
    assert "not allowed" in reasons["tool.py"]
    assert "not allowed" in reasons["-rf.txt"]
    assert "limit of 2 files" in reasons["c.json"]
    assert "limit of 2 files" in reasons["figures/f.svg"]
    assert "limit of 2 files" in reasons["big.csv"]


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    (tmp_path / "big.csv").write_bytes(b"x" * 1001)
    (tmp_path / "fits.csv").write_bytes(b"x" * 1000)
    outputs, refused = collect_outputs(tmp_path, SandboxLimits(max_output_bytes=1000))
    assert [o.name for o in outputs] == ["fits.csv"]
    assert [(r.name, r.reason) for r in refused] == [
        ("big.csv", "larger than the limit of 1000 bytes")
    ]


def test_collecting_never_follows_a_link_to_a_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "key.txt").write_text("secret")
    (tmp_path / "out" / "dir").symlink_to(tmp_path / "secret")
    outputs, refused = collect_outputs(tmp_path / "out", SandboxLimits())
    assert outputs == []
    assert [(r.name, r.reason) for r in refused] == [
        ("dir", "a symbolic link, not a file")
    ]


def test_a_missing_bubblewrap_is_a_clear_error(tmp_path):
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        run(tmp_path, "print(1)", bwrap=str(tmp_path / "no-bwrap"))


def test_the_command_mounts_nothing_of_the_platform(tmp_path):
    spec = job(tmp_path, "print(1)")
    command = BubblewrapRunner().command(spec, uid=3_000_000, privileged=True)
    mounted = [
        command[i + 1]
        for i, arg in enumerate(command)
        if arg in ("--bind", "--ro-bind", "--dev-bind")
    ]
    assert str(spec.output_dir) in mounted
    assert all(
        not m.startswith(str(Path.cwd() / "src")) and "data_dir" not in m
        for m in mounted
    )
    assert "--unshare-net" in command and "--clearenv" in command
    assert "--share-net" not in command


def processes_of(uid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        line = next(x for x in status.splitlines() if x.startswith("Uid:"))
        if int(line.split()[1]) == uid:
            found.append(int(entry))
    return found
