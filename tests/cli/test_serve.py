"""`datafactory serve` runs the platform for real: migrations, then several web workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    url: str, seconds: float, process: subprocess.Popen[bytes]
) -> httpx.Response:
    """Poll until the server answers; a generous deadline because CI machines get busy."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"serve exited with {process.returncode}: {output[-2000:]}")
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("workers", [2])
def test_serve_starts_several_workers_that_share_one_database(
    tmp_path, database_url, workers
):
    port = free_port()
    env = {
        **os.environ,
        "DATAFACTORY_DATABASE_URL": database_url,
        "DATAFACTORY_DATA_DIR": str(tmp_path / "data"),
        "DATAFACTORY_SECRET_KEY": "serve-test-secret-key-long-enough-0000",
        "DATAFACTORY_PORT": str(port),
    }
    datafactory = Path(sys.executable).parent / "datafactory"
    process = subprocess.Popen(
        [str(datafactory), "serve", "--workers", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        health = wait_for(f"http://127.0.0.1:{port}/healthz", 180, process)
        assert health.status_code == 200 and health.json()["database"] == "ok"
        pids = {
            int(line.split()[0])
            for line in subprocess.run(
                ["ps", "-o", "pid=,ppid=", "--ppid", str(process.pid)],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.splitlines()
            if line.strip()
        }
        assert len(pids) >= workers, (
            "uvicorn should have started one process per worker"
        )
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and "datafactory" in page.text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert b"Traceback" not in output


def test_serve_refuses_to_start_without_a_session_key(tmp_path, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAFACTORY_")}
    env.update(
        DATAFACTORY_DATABASE_URL=database_url, DATAFACTORY_DATA_DIR=str(tmp_path)
    )
    datafactory = Path(sys.executable).parent / "datafactory"
    result = subprocess.run(
        [str(datafactory), "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "SECRET_KEY" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
