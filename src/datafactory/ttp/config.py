"""What the TTP services need from the platform, handed in as one value.

The runtime builds it from the settings; tests build their own. ``now`` is the one seam for
time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from datafactory.core.db import utcnow
from datafactory.ttp.keys import KeyCustody


@dataclass(frozen=True)
class TtpConfig:
    custody: KeyCustody
    work_dir: Path
    """Where uploaded files and their pseudonymised results wait while a request runs."""
    max_upload_bytes: int = 100 * 1024 * 1024
    batch_rows: int = 65_536
    """Rows per Arrow batch when a file is streamed."""
    now: Callable[[], datetime] = field(default=utcnow)
