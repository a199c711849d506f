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

from datafactory.core.errors import Conflict, FieldError, InvalidInput, NotFound

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class FileStore(Protocol):
    def write(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def list(self, prefix: str = "") -> list[str]: ...


def check_key(key: str) -> str:
    """Keys are relative paths of plain segments: no ``..``, no leading slash."""
    # fullmatch, not match: with match, "$" also accepts a key ending in a newline.
    if not isinstance(key, str) or len(key) > 512 or not _KEY.fullmatch(key):
        raise InvalidInput(
            f"{key!r} is not a valid file key.",
            errors=[FieldError("key", "Use letters, digits, '.', '_', '-' and '/'.")],
        )
    return key


class FsspecStore:
    """A FileStore on any fsspec filesystem rooted at ``url``.

    A key names a file, never a folder: ``exists("a")`` is false when only ``a/b`` is
    there, on a local folder and on an object store alike.
    """

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

    def _fresh(self, path: str) -> str:
        """Forget what fsspec remembers of listings: another process may have written."""
        if not self.local:
            self.fs.invalidate_cache(path)
        return path

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if self.local:
            try:
                _write_local_atomically(Path(path), data)
            except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
                raise Conflict(
                    f"{key!r} collides with a file or folder already stored."
                ) from exc
        else:
            self.fs.pipe_file(path, data)

    def read(self, key: str) -> bytes:
        try:
            data: bytes = self.fs.cat_file(self._path(key))
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise NotFound(f"There is no file {key!r}.") from exc
        return data

    def exists(self, key: str) -> bool:
        return bool(self.fs.isfile(self._fresh(self._path(key))))

    def delete(self, key: str) -> None:
        path = self._path(key)
        # An object store deletes a missing key without complaint; say NotFound as a
        # local folder does.
        if not self.local and not self.fs.isfile(self._fresh(path)):
            raise NotFound(f"There is no file {key!r}.")
        try:
            self.fs.rm_file(path)
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise NotFound(f"There is no file {key!r}.") from exc
        finally:
            self._fresh(path)

    def list(self, prefix: str = "") -> list[str]:
        """Every key that starts with ``prefix`` (a plain string prefix, as in S3)."""
        base = self.root + "/"
        # Look only in the deepest folder the prefix names.
        folder = prefix.rpartition("/")[0]
        if folder and (".." in folder.split("/") or not _KEY.fullmatch(folder)):
            return []
        start = self._fresh(base + folder if folder else self.root)
        try:
            found = self.fs.find(start)
        except FileNotFoundError:
            return []
        keys = (str(p)[len(base) :] for p in found if str(p).startswith(base))
        # Temporary files of unfinished writes start with "." and are never valid keys.
        return sorted(k for k in keys if k.startswith(prefix) and _KEY.fullmatch(k))


def _write_local_atomically(path: Path, data: bytes) -> None:
    """Write beside the final name, flush to disk, rename into place, flush the folder."""
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
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def open_store(url: str, options: dict[str, Any] | None = None) -> FileStore:
    return FsspecStore(url, options)
