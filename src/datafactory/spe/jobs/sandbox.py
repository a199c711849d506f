"""The sandbox a member's script runs in: one seam, one runner on bubblewrap.

A job is described by a :class:`JobSpec` (a script, a folder of workspace data, an empty
output folder, the limits) and run by a :class:`SandboxRunner`, whose one method ``run``
returns a :class:`JobResult`: exit code, captured and cut logs, whether a limit stopped it,
and the output files that may go to the airlock. The service never looks behind the seam,
so the runner can be swapped, the way HTTPX swaps transports.

What :class:`BubblewrapRunner` enforces, and how
------------------------------------------------
- **No network**: a new network namespace holds only a loopback of its own, so the
  platform's database on 127.0.0.1, any outside address and DNS are unreachable (there is
  no ``/etc/resolv.conf`` either).
- **Only the workspace data, read-only**, at ``/workspace/data``; one writable folder,
  ``/workspace/output``; the script read-only at ``/workspace/script.py``; a private
  ``/tmp`` (a size-limited tmpfs). Everything else in the sandbox's root is read-only.
  The rest of the file system is the operating system's ``/usr`` (public software) and the
  Python installation with the virtualenv of the analysis stack (pandas, DuckDB,
  statsmodels, pyarrow, matplotlib), bound read-only. Nothing of the platform is mounted:
  no data folder, no keys, no database file, no ``/etc``, no ``/root``, no ``/home``.
- **No secrets from the environment**: bubblewrap itself starts with an empty environment
  (so even its own ``/proc/1/environ`` holds nothing), and the script gets a fixed,
  minimal one (``--clearenv`` then a few ``--setenv``).
- **Separate namespaces** for processes (the host's processes, and their ``/proc/<pid>``,
  are invisible), IPC, host name and cgroups; ``--new-session`` (no terminal injection),
  ``--die-with-parent``, no new privileges (bubblewrap always sets ``PR_SET_NO_NEW_PRIVS``,
  so set-uid files and file capabilities give nothing).
- **An unprivileged user**. RLIMIT_NPROC is not enforced for uid 0, so a root worker would
  get no process limit. When the worker runs as root, bubblewrap runs privileged without a
  user namespace and keeps only CAP_SETUID and CAP_SETGID; a small launcher inside the
  sandbox sets the limits, drops the supplementary groups and switches to a fresh uid drawn
  from ``uids`` (by default above 3,000,000, an id no account on the host has) before the
  script's first line. That uid owns the job's folders and nothing else, and switching
  clears every capability. When the worker is not root, bubblewrap makes a user namespace
  (and forbids nested ones) and the launcher only sets the limits.
- **Limits** (:class:`~datafactory.spe.config.SandboxLimits`), set by the launcher with
  ``setrlimit`` so the script inherits them and cannot raise them: CPU seconds
  (RLIMIT_CPU: SIGXCPU, then SIGKILL a second later), address space (RLIMIT_AS: a
  ``MemoryError`` in Python), the size of any file written (RLIMIT_FSIZE, the output size
  limit), processes and threads of the sandbox's uid (RLIMIT_NPROC: ``fork`` fails with
  EAGAIN, so a fork bomb stalls), open files, no core dumps. A wall-clock timeout kills
  bubblewrap's whole process group; its pid namespace dies with it, taking every process
  the script started.
- **Logs**: stdout and stderr are read as they come, the first ``max_log_bytes`` of each
  kept, the rest counted and dropped, so a script printing gigabytes costs no memory.
- **Outputs**: only regular files with an allowed suffix (csv, png, svg, txt, json, md) and
  a plain name, within the count and size limits, are collected; symbolic links are never
  followed (a link to ``/etc/passwd`` is refused by name), nor are devices, pipes or
  sockets. Each refusal carries its reason. Files are read with ``O_NOFOLLOW``.

What it does not do
-------------------
- No seccomp filter: the script can make any system call the kernel allows an
  unprivileged process, including creating user namespaces when the worker is root.
  Kernel bugs are out of scope here; the container runtime's default seccomp profile
  covers them in production.
- No CPU share or memory cgroup: RLIMIT_AS bounds memory per process (up to ``processes``
  of them), and ``/tmp`` counts against the host's memory up to its size.
- The output folder lives on the worker's disk: each file is bounded by RLIMIT_FSIZE, but
  the number of files only by the time limits (the collector reads at most a bounded
  number of entries). Production puts the output volume on a size-limited mount.
- Processes of different jobs that draw the same uid share one process limit.

The same JobSpec in a container (production)
--------------------------------------------
Production runs the same specification as an OCI container, and a container runner
implements :class:`SandboxRunner` the same way:

- image: a read-only root file system holding Python and the analysis stack, pinned by
  digest (the virtualenv bound here);
- ``spec.data_dir`` → a read-only volume at ``/workspace/data``;
- ``spec.output_dir`` → a read-write volume at ``/workspace/output`` with a size limit;
- ``spec.script`` → a read-only file at ``/workspace/script.py``;
- ``/tmp`` → a tmpfs with a size limit;
- network ``none``; no environment except the fixed one in :data:`SANDBOX_ENV`; a non-root
  user; all capabilities dropped, ``no-new-privileges``, the runtime's default seccomp
  profile;
- ``limits.cpu_seconds`` → a CPU quota and the same RLIMIT_CPU, ``limits.memory_bytes`` →
  the memory limit, ``limits.processes`` → the pids limit, ``limits.wall_seconds`` → the
  orchestrator's deadline, ``max_log_bytes`` → the log driver's size limit;
- the command ``python -I /workspace/script.py``; after exit, the runner collects the
  output folder with :func:`collect_outputs`, which is the same for every runner.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from datafactory.core.errors import ConfigurationError
from datafactory.spe.config import SandboxLimits

BWRAP = "/usr/bin/bwrap"

WORKSPACE = "/workspace"
DATA_DIR = "/workspace/data"
OUTPUT_DIR = "/workspace/output"
SCRIPT_PATH = "/workspace/script.py"

OUTPUT_TYPES: dict[str, str] = {
    ".csv": "text/csv",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
    ".json": "application/json",
    ".md": "text/markdown",
}
"""The only files a job may hand to the airlock, by suffix."""

SANDBOX_ENV: dict[str, str] = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/.matplotlib",
    # One thread per numeric library: threads count against the process limit, and a
    # BLAS pool sized for the host's cores would use it up before the script starts.
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
"""The whole environment a script sees: nothing of the platform's."""

DEFAULT_TMP_BYTES = 256 * 1024 * 1024
DEFAULT_UIDS = range(3_000_000, 3_900_000)
_OPEN_FILES = 1024
_MAX_SCANNED = 10_000
"""Entries of the output folder looked at, at most: a folder of a million empty files
must not keep the worker busy."""
_MAX_DEPTH = 4
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$")

# Runs inside the sandbox before the script: lowers the limits (which the script then
# inherits and cannot raise), leaves root for a uid of its own when started as root, and
# replaces itself with the script. It reads nothing but its arguments.
_LAUNCHER = """\
import os, resource, sys
cpu, memory, fsize, nproc, nofile, uid = (int(a) for a in sys.argv[1:7])
for kind, value in (
    (resource.RLIMIT_CORE, (0, 0)),
    (resource.RLIMIT_NOFILE, (nofile, nofile)),
    (resource.RLIMIT_FSIZE, (fsize, fsize)),
    (resource.RLIMIT_AS, (memory, memory)),
    (resource.RLIMIT_CPU, (cpu, cpu + 1)),
    (resource.RLIMIT_NPROC, (nproc, nproc)),
):
    resource.setrlimit(kind, value)
if uid >= 0:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
if 0 in os.getresuid() or 0 in os.getresgid():
    sys.exit("sandbox: refusing to run the script as root")
os.execv(sys.executable, [sys.executable, "-I", sys.argv[7]])
"""


class SandboxUnavailable(ConfigurationError):
    """bubblewrap is missing or cannot start a sandbox on this machine."""


@dataclass(frozen=True)
class JobSpec:
    """One run: what a runner needs, whatever it runs on."""

    script: Path
    """The script on the worker, mounted read-only at ``/workspace/script.py``."""
    data_dir: Path
    """Decrypted workspace tables (Parquet), mounted read-only at ``/workspace/data``."""
    output_dir: Path
    """An empty folder, mounted read-write at ``/workspace/output``."""
    limits: SandboxLimits = field(default_factory=SandboxLimits)


@dataclass(frozen=True)
class OutputFile:
    """A file the script left in the output folder that may go to the airlock."""

    name: str
    """Its path relative to the output folder, with ``/`` between folders."""
    path: Path
    media_type: str
    size: int

    def read(self) -> bytes:
        """The file's bytes, read without following a link and no more than ``size``."""
        fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size != self.size:
                raise OSError(f"{self.name} changed after it was collected")
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return handle.read(self.size + 1)[: self.size]
        finally:
            os.close(fd)


@dataclass(frozen=True)
class RefusedFile:
    """A file the script left that does not go to the airlock, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class JobResult:
    exit_code: int | None
    """The script's exit status; 128 + n when signal n killed it; None when it never
    finished (timed out)."""
    stdout: str
    stderr: str
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    timed_out: bool = False
    killed: str | None = None
    """Why the sandbox stopped the script (a limit, a signal), in words; None otherwise."""
    outputs: tuple[OutputFile, ...] = ()
    refused: tuple[RefusedFile, ...] = ()
    wall_seconds: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.killed is None

    @property
    def reason(self) -> str | None:
        """Why the job failed, in one line; None when it succeeded."""
        if self.killed is not None:
            return self.killed
        if self.exit_code not in (0, None):
            last = self.stderr.strip().splitlines()[-1:] or [""]
            return f"the script exited with status {self.exit_code}" + (
                f": {last[0][:300]}" if last[0] else ""
            )
        return None


class SandboxRunner(Protocol):
    """Runs one job in isolation; the one method the service calls."""

    def run(self, spec: JobSpec) -> JobResult: ...


class BubblewrapRunner:
    """Runs a job under bubblewrap on the worker itself (see the module docstring)."""

    def __init__(
        self,
        *,
        bwrap: str = BWRAP,
        python: Path | None = None,
        tmp_bytes: int = DEFAULT_TMP_BYTES,
        uids: range = DEFAULT_UIDS,
    ) -> None:
        self.bwrap = bwrap
        self.python = python or Path(sys.executable)
        self.tmp_bytes = tmp_bytes
        self.uids = uids

    def check(self) -> None:
        """Raise :class:`SandboxUnavailable` unless bubblewrap can be run."""
        if not (os.path.isfile(self.bwrap) and os.access(self.bwrap, os.X_OK)):
            raise SandboxUnavailable(
                f"bubblewrap is not installed at {self.bwrap}: jobs cannot run. Install "
                "the Debian package 'bubblewrap' (apt-get install bubblewrap)."
            )

    def run(self, spec: JobSpec) -> JobResult:
        self.check()
        limits = spec.limits
        privileged = os.geteuid() == 0
        uid = self.uids[secrets.randbelow(len(self.uids))] if privileged else -1
        if privileged:
            _hand_over(spec, uid)
        info_read, info_write = os.pipe()
        command = self.command(spec, uid=uid, privileged=privileged, info_fd=info_write)
        # The options go through a file descriptor, not argv: bubblewrap's command line
        # is readable in the sandbox's /proc/1/cmdline, and the options name the host's
        # paths. Only the command itself stays on argv, as bubblewrap wants.
        arguments = os.memfd_create("bwrap-args")
        split = command.index("--")
        options, program = command[1:split], command[split:]
        os.write(arguments, b"".join(a.encode() + b"\0" for a in options))
        os.lseek(arguments, 0, os.SEEK_SET)
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                [command[0], "--args", str(arguments), *program],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                # bubblewrap needs nothing from the environment, and whatever it had
                # would show in /proc/1/environ inside the sandbox.
                env={},
                close_fds=True,
                pass_fds=(info_write, arguments),
                process_group=0,
            )
        finally:
            os.close(info_write)
            os.close(arguments)
        assert process.stdout is not None and process.stderr is not None
        info = _Capture(os.fdopen(info_read, "rb"), 4096)
        out = _Capture(process.stdout, limits.max_log_bytes)
        err = _Capture(process.stderr, limits.max_log_bytes)
        timed_out = False
        try:
            process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            info.join(timeout=5)
            _kill_namespace(info.text())
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        finally:
            # Whatever happened, nothing of the sandbox outlives this call.
            _kill_group(process.pid)
            process.wait()
        info.join(timeout=5)
        out.join()
        err.join()
        wall = time.monotonic() - started
        code = process.returncode
        exit_code: int | None = (
            None if timed_out else (128 - code if code < 0 else code)
        )
        stderr = err.text()
        killed = _killed_reason(exit_code, timed_out, limits, stderr)
        outputs, refused = collect_outputs(spec.output_dir, limits)
        return JobResult(
            exit_code=exit_code,
            stdout=out.text(),
            stderr=stderr,
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            timed_out=timed_out,
            killed=killed,
            outputs=tuple(outputs),
            refused=tuple(refused),
            wall_seconds=wall,
        )

    def command(
        self,
        spec: JobSpec,
        *,
        uid: int,
        privileged: bool,
        info_fd: int | None = None,
    ) -> list[str]:
        """The bubblewrap command line for ``spec`` (public for tests and the docs)."""
        limits = spec.limits
        args = [self.bwrap]
        if info_fd is not None:
            args += ["--info-fd", str(info_fd)]
        args += [
            "--die-with-parent",
            "--new-session",
            "--unshare-ipc",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "sandbox",
        ]
        if privileged:
            # Only what the launcher needs to leave root; it is gone once it has.
            args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID"]
            args += ["--cap-add", "CAP_SETGID"]
        else:
            args += ["--unshare-user", "--disable-userns"]
        args += ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64"):
            top = Path("/") / name
            if top.is_symlink():
                args += ["--symlink", os.readlink(top), str(top)]
            elif top.is_dir():
                args += ["--ro-bind", str(top), str(top)]
        # The private /tmp comes before the Python installation: a checkout (and its
        # virtualenv) under /tmp, as in CI, is then bound on top of it, not hidden by it.
        args += ["--perms", "1777", "--size", str(self.tmp_bytes), "--tmpfs", "/tmp"]
        roots = _python_roots(self.python)
        # bubblewrap makes missing parents of a mount point mode 0700, owned by root:
        # the script's uid could not pass through them.
        parents = {p for r in [*roots, Path(SCRIPT_PATH)] for p in r.parents}
        for parent in sorted(
            parents - {Path("/"), Path("/tmp")}, key=lambda p: len(p.parts)
        ):
            args += ["--perms", "0755", "--dir", str(parent)]
        for root in roots:
            args += ["--ro-bind", str(root), str(root)]
        args += ["--proc", "/proc", "--dev", "/dev"]
        args += ["--ro-bind", str(spec.data_dir), DATA_DIR]
        args += ["--bind", str(spec.output_dir), OUTPUT_DIR]
        args += ["--ro-bind", str(spec.script), SCRIPT_PATH]
        args += ["--remount-ro", "/", "--chdir", WORKSPACE, "--clearenv"]
        for key, value in SANDBOX_ENV.items():
            args += ["--setenv", key, value]
        args += [
            "--",
            str(self.python),
            "-I",
            "-c",
            _LAUNCHER,
            str(limits.cpu_seconds),
            str(limits.memory_bytes),
            str(limits.max_output_bytes),
            str(limits.processes),
            str(_OPEN_FILES),
            str(uid),
            SCRIPT_PATH,
        ]
        return args


def limits_dict(limits: SandboxLimits) -> dict[str, Any]:
    """The limits as JSON, for the job's row and the ledger."""
    return asdict(limits)


def collect_outputs(
    folder: Path, limits: SandboxLimits
) -> tuple[list[OutputFile], list[RefusedFile]]:
    """The files in ``folder`` that may go to the airlock, and the ones refused with why."""
    outputs: list[OutputFile] = []
    refused: list[RefusedFile] = []
    for name, entry in _walk(folder, refused):
        info = entry.stat(follow_symlinks=False)
        media_type = OUTPUT_TYPES.get(Path(name).suffix.lower())
        if stat.S_ISLNK(info.st_mode):
            refused.append(RefusedFile(name, "a symbolic link, not a file"))
        elif not stat.S_ISREG(info.st_mode):
            refused.append(RefusedFile(name, "not a regular file"))
        elif media_type is None:
            allowed = ", ".join(s.lstrip(".") for s in OUTPUT_TYPES)
            refused.append(
                RefusedFile(name, f"this type of file is not allowed (only {allowed})")
            )
        elif info.st_size > limits.max_output_bytes:
            refused.append(
                RefusedFile(
                    name, f"larger than the limit of {limits.max_output_bytes} bytes"
                )
            )
        elif len(outputs) >= limits.max_output_files:
            refused.append(
                RefusedFile(
                    name, f"more than the limit of {limits.max_output_files} files"
                )
            )
        else:
            outputs.append(OutputFile(name, Path(entry.path), media_type, info.st_size))
    return outputs, refused


def _walk(
    folder: Path, refused: list[RefusedFile]
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    seen = 0
    pending: list[tuple[str, Path, int]] = [("", folder, 0)]
    while pending:
        prefix, current, depth = pending.pop(0)
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            refused.append(RefusedFile(prefix or ".", "could not be read"))
            continue
        for entry in entries:
            seen += 1
            name = f"{prefix}{entry.name}"
            if seen > _MAX_SCANNED:
                refused.append(
                    RefusedFile(
                        name, f"the output folder holds over {_MAX_SCANNED} entries"
                    )
                )
                return
            if not _NAME.fullmatch(entry.name):
                refused.append(
                    RefusedFile(
                        name[:200],
                        "the name is not allowed (letters, digits, '.', '_', '-', space)",
                    )
                )
            elif entry.is_dir(follow_symlinks=False):
                if depth + 1 >= _MAX_DEPTH:
                    refused.append(RefusedFile(name, "folders nested too deep"))
                else:
                    pending.append((f"{name}/", Path(entry.path), depth + 1))
            else:
                yield name, entry


def _python_roots(python: Path) -> list[Path]:
    """The Python installation and the virtualenv around ``python``, minus what ``/usr``
    already covers and minus folders inside one another."""
    if python == Path(sys.executable):
        roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix)}
    else:  # another interpreter: its own installation (bin/python's grandparent)
        roots = {python.parent.parent, python.resolve().parent.parent}
    usr = Path("/usr")
    keep = sorted(r for r in roots if not r.is_relative_to(usr))
    return [r for r in keep if not any(r != o and r.is_relative_to(o) for o in keep)]


def _hand_over(spec: JobSpec, uid: int) -> None:
    """Give the job's folders to the sandbox's uid: it reads the data and the script and
    writes the output, and owns nothing else on the machine."""
    for path in (spec.data_dir, spec.output_dir, spec.script):
        os.chown(path, uid, uid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(spec.data_dir):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)
    os.chmod(spec.output_dir, 0o700)


def _kill_namespace(info: str) -> None:
    """Kill the sandbox's first process, pid 1 of its pid namespace: the kernel then
    kills every process in the namespace, and bubblewrap, which waits for that process,
    exits only once all of them are gone. Killing bubblewrap first would leave the
    sandbox dying on its own while the output folder is read."""
    try:
        pid = int(json.loads(info)["child-pid"])
    except (ValueError, KeyError, TypeError):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _killed_reason(
    exit_code: int | None, timed_out: bool, limits: SandboxLimits, stderr: str
) -> str | None:
    if timed_out:
        return f"stopped: the wall-clock limit of {limits.wall_seconds} s was reached"
    if exit_code is None or exit_code <= 128:
        if "MemoryError" in stderr[-4096:]:
            return f"the memory limit of {limits.memory_bytes} bytes was reached"
        return None
    number = exit_code - 128
    if number == signal.SIGXCPU:
        return f"stopped: the CPU time limit of {limits.cpu_seconds} s was reached"
    if number == signal.SIGKILL:
        # RLIMIT_CPU's hard limit, a second after SIGXCPU, kills with SIGKILL, and so
        # does the kernel when the machine runs out of memory.
        return (
            f"stopped by SIGKILL: the CPU time limit of {limits.cpu_seconds} s, or the "
            "machine ran out of memory"
        )
    if number == signal.SIGXFSZ:
        return (
            "stopped: a file grew past the size limit of "
            f"{limits.max_output_bytes} bytes"
        )
    try:
        signame = signal.Signals(number).name
    except ValueError:
        signame = f"signal {number}"
    return f"stopped by {signame}"


class _Capture:
    """Reads one pipe to its end on a thread, keeping the first ``limit`` bytes."""

    def __init__(self, pipe: IO[bytes], limit: int) -> None:
        self.pipe = pipe
        self.limit = limit
        self.kept = bytearray()
        self.truncated = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with self.pipe:
            while chunk := self.pipe.read1(65536):  # type: ignore[attr-defined]
                room = self.limit - len(self.kept)
                if room > 0:
                    self.kept += chunk[:room]
                if len(chunk) > room:
                    self.truncated = True

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def text(self) -> str:
        return self.kept.decode("utf-8", errors="replace")


def remove_tree(path: Path) -> None:
    """Remove a job's folder whatever the script left in it (read-only folders too)."""

    def retry(function: Any, name: str, _exc: Any) -> None:
        os.chmod(os.path.dirname(name), 0o700)
        function(name)

    if path.exists():
        shutil.rmtree(path, onerror=retry)
