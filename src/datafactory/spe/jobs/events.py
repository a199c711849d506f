"""Ledger events of sandboxed jobs and workspace outputs.

A job's submission names the script by its SHA-256; its start names the tables it was
given (the read of protected data); its end names what it produced. Outputs are ledgered
by the hash of their plaintext, so the airlock, the archive and the ledger all point at the
same bytes. No event holds a value of the data, a line of the logs or the script's text.
"""

from __future__ import annotations

from dataclasses import dataclass

from datafactory.core.ledger import LedgerEvent


@dataclass(frozen=True)
class JobSubmitted(LedgerEvent):
    """A member submitted job ``job_id`` (``name``) in workspace ``workspace``: a script
    of ``script_bytes`` bytes with SHA-256 ``script_sha256``, to run under ``limits``; the
    background job ``background_job_id`` runs it."""

    action = "spe.job.submitted"
    job_id: int
    workspace_id: int
    workspace: str
    name: str
    script_sha256: str
    script_bytes: int
    limits: dict[str, int]
    background_job_id: str

    def subject(self) -> str:
        return f"spe-job:{self.job_id}"


@dataclass(frozen=True)
class JobStarted(LedgerEvent):
    """Job ``job_id`` of workspace ``workspace`` started in the sandbox with the tables
    ``tables`` decrypted for it (name and SHA-256 of each Parquet): the read of protected
    data."""

    action = "spe.job.started"
    job_id: int
    workspace_id: int
    workspace: str
    tables: tuple[tuple[str, str], ...]

    def subject(self) -> str:
        return f"spe-job:{self.job_id}"


@dataclass(frozen=True)
class JobFinished(LedgerEvent):
    """Job ``job_id`` ended with ``status`` (``succeeded`` or ``failed``), exit code
    ``exit_code`` and ``reason`` when it failed; ``timed_out`` when the wall-clock limit
    stopped it. ``outputs`` are the ids of the outputs stored; ``refused`` the files left
    behind, each with why."""

    action = "spe.job.finished"
    job_id: int
    workspace_id: int
    workspace: str
    status: str
    exit_code: int | None
    reason: str | None
    timed_out: bool
    outputs: tuple[int, ...]
    refused: tuple[tuple[str, str], ...]
    wall_seconds: float

    def subject(self) -> str:
        return f"spe-job:{self.job_id}"


@dataclass(frozen=True)
class OutputSaved(LedgerEvent):
    """Output ``output_id`` (``name``, a ``kind`` of ``media_type``) was stored encrypted
    in workspace ``workspace``: ``bytes`` bytes of plaintext with SHA-256 ``sha256``, made
    by ``origin`` (``job:<id>`` or ``query:<id>``) from code with SHA-256
    ``code_sha256``."""

    action = "spe.output.saved"
    output_id: int
    workspace_id: int
    workspace: str
    name: str
    kind: str
    media_type: str
    origin: str
    bytes: int
    sha256: str
    code_sha256: str

    def subject(self) -> str:
        return f"spe-output:{self.output_id}"
