"""Uploads on their way to the TTP: a private work folder, a size limit, no leftovers.

Uploads go to ``TtpConfig.work_dir`` (mode 0700), never the system's temporary folder,
and are removed once answered; what a crash leaves behind is swept at the next upload.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import timedelta
from pathlib import Path

from datafactory.core.errors import PayloadTooLarge
from datafactory.ttp.config import TtpConfig
from datafactory.ttp.files import FileFormat


class UploadSink:
    """An uploaded file on its way to the work folder, refused past the size limit."""

    def __init__(self, config: TtpConfig, file_format: FileFormat) -> None:
        self.limit = config.max_upload_bytes
        self.path = work_path(config, file_format)
        self.size = 0
        self._handle = self.path.open("xb")

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            self.discard()
            raise PayloadTooLarge(
                f"The file is larger than {self.limit} bytes, the TTP's upload limit."
            )
        self._handle.write(chunk)

    def close(self) -> Path:
        self._handle.close()
        return self.path

    def discard(self) -> None:
        self._handle.close()
        self.path.unlink(missing_ok=True)


def work_path(config: TtpConfig, file_format: FileFormat) -> Path:
    """A fresh, unused name in the private work folder."""
    config.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    sweep(config.work_dir)
    return config.work_dir / f"{uuid.uuid4().hex}.{file_format.value}"


def sweep(folder: Path, older_than: timedelta = timedelta(hours=6)) -> None:
    """Remove work files a crashed request left behind."""
    limit = time.time() - older_than.total_seconds()
    for leftover in folder.iterdir():
        with contextlib.suppress(OSError):
            if leftover.is_file() and leftover.stat().st_mtime < limit:
                leftover.unlink()
