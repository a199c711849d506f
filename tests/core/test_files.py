"""File storage: the same behaviour on a local folder and on a real S3-compatible server.

The S3 side is moto's server mode, a real HTTP endpoint that s3fs talks to as it would to
AWS or MinIO; nothing in our code or in s3fs is replaced.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.server import ThreadedMotoServer

from datafactory.core.errors import Conflict, InvalidInput, NotFound
from datafactory.core.files import FileStore, FsspecStore, check_key, open_store

BUCKET = "datafactory-test"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[dict[str, Any]]:
    """A moto S3 server on a free port, with one bucket; its options for open_store."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    client.close()
    options = {
        "endpoint_url": endpoint,
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"region_name": "us-east-1"},
    }
    yield options
    server.stop()


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path: Path) -> FileStore:
    if request.param == "local":
        return open_store(str(tmp_path / "files"))
    options = request.getfixturevalue("s3_server")
    # A prefix of its own per test: tests share the bucket, never the keys.
    return open_store(f"s3://{BUCKET}/{uuid.uuid4().hex}", options)


def test_write_read_exists_list_delete_round_trip(store):
    assert store.list() == []
    assert not store.exists("reports/2024/q1.csv")

    store.write("reports/2024/q1.csv", b"a,b\n1,2\n")
    store.write("reports/2024/q2.csv", b"")
    store.write("readme.txt", "été".encode())

    assert store.exists("reports/2024/q1.csv")
    assert store.read("reports/2024/q1.csv") == b"a,b\n1,2\n"
    assert store.read("reports/2024/q2.csv") == b""
    assert store.read("readme.txt") == "été".encode()
    assert store.list() == ["readme.txt", "reports/2024/q1.csv", "reports/2024/q2.csv"]
    assert store.list("reports/") == ["reports/2024/q1.csv", "reports/2024/q2.csv"]
    assert store.list("reports/2024/q1") == ["reports/2024/q1.csv"]
    assert store.list("read") == ["readme.txt"]
    assert store.list("nothing/here/") == []

    store.delete("reports/2024/q1.csv")
    assert not store.exists("reports/2024/q1.csv")
    assert store.list() == ["readme.txt", "reports/2024/q2.csv"]
    with pytest.raises(NotFound):
        store.read("reports/2024/q1.csv")


def test_writing_again_replaces_the_whole_content(store):
    store.write("data.bin", b"x" * 10_000)
    store.write("data.bin", b"short")
    assert store.read("data.bin") == b"short"
    assert store.list() == ["data.bin"]


def test_missing_keys_are_not_found(store):
    with pytest.raises(NotFound, match="no file 'missing.txt'"):
        store.read("missing.txt")
    with pytest.raises(NotFound):
        store.delete("missing.txt")
    assert not store.exists("missing.txt")


def test_a_folder_is_not_a_file(store):
    store.write("folder/inside.txt", b"1")
    assert not store.exists("folder")
    with pytest.raises(NotFound):
        store.read("folder")
    with pytest.raises(NotFound):
        store.delete("folder")
    assert store.read("folder/inside.txt") == b"1"


BAD_KEYS = [
    "",
    "../x",
    "a/../../x",
    "..",
    "/abs",
    "a//b",
    "a/",
    "./a",
    ".hidden",
    "a/.tmp-b.123",
    "a b",
    "a\\b",
    "a\n",
    "a\x00b",
    "é",
    "x" * 513,
]


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
def test_bad_keys_are_refused_before_anything_is_touched(store, key):
    for act in (
        lambda: store.write(key, b"nope"),
        lambda: store.read(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(InvalidInput) as refused:
            act()
        assert refused.value.errors[0].field == "key"
    assert store.list() == []


def test_list_keeps_keys_that_merely_look_like_temporary_files(store):
    store.write("a.tmp-b", b"1")
    store.write("x/y.tmp-1", b"2")
    assert store.list() == ["a.tmp-b", "x/y.tmp-1"]


def test_list_with_a_prefix_that_climbs_out_finds_nothing(store):
    store.write("a/b", b"1")
    assert store.list("../") == []
    assert store.list("a/../a/") == []


def test_check_key_returns_a_good_key():
    assert check_key("a/B-1_2.c") == "a/B-1_2.c"
    assert check_key("x" * 512) == "x" * 512


# --- S3 only ----------------------------------------------------------------------


def test_a_store_sees_what_another_process_wrote_and_deleted(s3_server):
    prefix = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    here = open_store(prefix, s3_server)
    # A second client that shares no cache with the first, as another process would.
    there = open_store(prefix, {**s3_server, "skip_instance_cache": True})

    here.write("old.txt", b"1")
    assert here.list() == ["old.txt"]  # fsspec now remembers this listing
    assert here.exists("old.txt")

    there.write("new.txt", b"2")
    there.delete("old.txt")

    assert here.exists("new.txt")
    assert not here.exists("old.txt")
    assert here.list() == ["new.txt"]
    with pytest.raises(NotFound):
        here.delete("old.txt")


# --- local only -------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> FsspecStore:
    store = open_store(str(tmp_path / "files"))
    assert isinstance(store, FsspecStore)
    return store


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def small_file_size_limit() -> Iterator[int]:
    """A real disk-full-like failure: the kernel refuses writes past 64 KiB (EFBIG)."""
    limit = 64 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_write_that_fails_midway_leaves_the_old_content_and_no_temp_file(
    local, small_file_size_limit
):
    local.write("report.csv", b"old content")

    with pytest.raises(OSError) as failed:
        local.write("report.csv", b"n" * (4 * small_file_size_limit))

    assert failed.value.errno == errno.EFBIG
    assert local.read("report.csv") == b"old content"
    assert leftovers(Path(local.root)) == ["report.csv"]
    assert local.list() == ["report.csv"]


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_write_that_fails_before_the_rename_leaves_the_old_content(
    local, monkeypatch, step
):
    local.write("deep/report.csv", b"old content")

    def fail(*args: object) -> None:
        raise OSError(errno.EIO, f"{step} failed")

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(OSError, match=f"{step} failed"):
        local.write("deep/report.csv", b"new content")
    monkeypatch.undo()

    assert local.read("deep/report.csv") == b"old content"
    assert leftovers(Path(local.root)) == ["deep/report.csv"]


def test_a_write_of_something_that_is_not_bytes_fails_cleanly(local):
    local.write("a.txt", b"old")
    with pytest.raises(TypeError):
        local.write("a.txt", "a str, not bytes")  # type: ignore[arg-type]
    assert local.read("a.txt") == b"old"
    assert leftovers(Path(local.root)) == ["a.txt"]


def test_a_file_and_a_folder_of_the_same_name_conflict_locally(local):
    local.write("a", b"file")
    with pytest.raises(Conflict):
        local.write("a/b", b"under a file")
    local.write("c/d", b"in a folder")
    with pytest.raises(Conflict):
        local.write("c", b"over a folder")
    assert local.list() == ["a", "c/d"]


def test_the_local_folder_is_made_when_missing(tmp_path):
    store = open_store(str(tmp_path / "not" / "yet"))
    assert (tmp_path / "not" / "yet").is_dir()
    assert store.list() == []


SEGMENT = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
KEYS = st.lists(SEGMENT, min_size=1, max_size=5).map("/".join)


@settings(max_examples=25, deadline=None)
@given(key=KEYS, data=st.binary(max_size=4096))
def test_any_valid_key_round_trips_its_bytes_locally(key, data):
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(folder)
        store.write(key, data)
        assert store.exists(key)
        assert store.read(key) == data
        assert store.list() == [key]
        store.delete(key)
        assert not store.exists(key)
        assert leftovers(Path(folder)) == []
