"""File storage: one small interface over a local folder or S3-compatible object storage.

Both go through fsspec. Writes are atomic: a local file is written beside its final name and
renamed into place, and an object store's single PUT is atomic by itself, so a reader never
sees half a file.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

import fsspec

from datafactory.core.errors import FieldError, InvalidInput, NotFound

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class FileStore(Protocol):
    def write(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def list(self, prefix: str = "") -> list[str]: ...


def check_key(key: str) -> str:
    """Keys are relative paths of plain segments: no ``..``, no leading slash."""
    if len(key) > 512 or not _KEY.match(key) or ".." in key.split("/"):
        raise InvalidInput(
            f"{key!r} is not a valid file key.",
            errors=[FieldError("key", "Use letters, digits, '.', '_', '-' and '/'.")],
        )
    return key


class FsspecStore:
    """A FileStore on any fsspec filesystem rooted at ``url``."""

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        fs, root = fsspec.core.url_to_fs(url, **(options or {}))
        self.fs = fs
        self.root = root.rstrip("/")
        self.local = "file" in (
            fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        )
        if self.local:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> str:
        return f"{self.root}/{check_key(key)}"

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if self.local:
            _write_local_atomically(Path(path), data)
        else:
            self.fs.pipe_file(path, data)

    def read(self, key: str) -> bytes:
        try:
            data: bytes = self.fs.cat_file(self._path(key))
        except FileNotFoundError as exc:
            raise NotFound(f"There is no file {key!r}.") from exc
        return data

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def delete(self, key: str) -> None:
        try:
            self.fs.rm_file(self._path(key))
        except FileNotFoundError as exc:
            raise NotFound(f"There is no file {key!r}.") from exc

    def list(self, prefix: str = "") -> list[str]:
        base = self.root + "/"
        if not self.fs.exists(self.root):
            return []
        found = self.fs.find(self.root)
        keys = (str(p)[len(base) :] for p in found if str(p).startswith(base))
        return sorted(
            k for k in keys if k.startswith(prefix) and ".tmp-" not in k.split("/")[-1]
        )


def _write_local_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def open_store(url: str, options: dict[str, Any] | None = None) -> FileStore:
    return FsspecStore(url, options)
