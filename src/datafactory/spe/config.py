"""What the secure processing environment's services need from the platform, as one value.

The runtime builds it from the settings; tests build their own. ``now`` is the one seam for
time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from datafactory.core.db import utcnow
from datafactory.core.files import FileStore
from datafactory.privacy.sdc import DisclosureRules
from datafactory.ttp.config import TtpConfig

MAX_RETENTION_DAYS = 183
"""EHDS: data is kept at most six months after the permit ends."""


@dataclass(frozen=True)
class EngineLimits:
    """Limits of one query on the read-only engine."""

    memory: str = "2GB"
    threads: int = 2
    timeout_seconds: float = 30.0
    max_cells: int = 10_000
    """A result with more groups than this is refused: it would be a table of people."""


@dataclass(frozen=True)
class SandboxLimits:
    """Limits of one job in the sandbox."""

    cpu_seconds: int = 600
    memory_bytes: int = 4 * 1024**3
    processes: int = 64
    wall_seconds: int = 900
    max_log_bytes: int = 64 * 1024
    """stdout and stderr are each cut to this length."""
    max_output_bytes: int = 16 * 1024 * 1024
    max_output_files: int = 50


@dataclass(frozen=True)
class SpeConfig:
    store: FileStore
    """Where encrypted workspace files and outputs live (a local folder or S3)."""
    work_dir: Path
    """A private scratch folder (mode 0700) for decrypted data a job reads, removed after."""
    ttp: TtpConfig
    """The TTP's key custody: workspace keys are wrapped with a key derived from it."""
    base_url: str = "http://localhost:8000"
    rules: DisclosureRules = field(default_factory=DisclosureRules)
    engine: EngineLimits = field(default_factory=EngineLimits)
    sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    retention_days: int = 30
    """Days a workspace outlives its permit before it is destroyed (at most 183)."""
    now: Callable[[], datetime] = field(default=utcnow)

    def __post_init__(self) -> None:
        if not 0 <= self.retention_days <= MAX_RETENTION_DAYS:
            raise ValueError(
                f"retention_days must be between 0 and {MAX_RETENTION_DAYS} (EHDS: at "
                "most six months after the permit ends)"
            )
