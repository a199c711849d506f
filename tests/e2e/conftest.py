"""End-to-end fixtures: the real app in a uvicorn thread, a job worker, Debian's Chromium.

One server with the demo data and one browser serve the whole e2e run; every test gets a
fresh browser context (no cookies), so journeys do not leak sign-ins into one another.
The database is SQLite unless DATAFACTORY_TEST_DATABASE_URL points at PostgreSQL, in which
case the server gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text

from datafactory import demo, migrations
from datafactory.core.config import Settings
from datafactory.core.db import unit_of_work
from datafactory.core.jobs import InProcessWorker
from datafactory.demo.applications import load_applications
from datafactory.runtime import Runtime
from datafactory.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PG_URL = os.environ.get("DATAFACTORY_TEST_DATABASE_URL")
SECRET = "e2e-session-key-that-is-long-enough-0123456789"
# WCAG 2.1 A and AA; serious and critical violations fail a test.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
BLOCKING = {"serious", "critical"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if PG_URL is None:
        yield f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'datafactory.sqlite3'}"
        return
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@dataclass(frozen=True)
class LiveServer:
    url: str
    runtime: Runtime


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, database_url: str
) -> Iterator[LiveServer]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("e2e-data"),
        database_url=database_url,
        secret_key=SECRET,
        queue="sqlite",
        base_url=url,
        log_level="WARNING",
    )
    runtime = Runtime(settings)
    migrations.upgrade(runtime.engine)
    with unit_of_work(runtime.sessions) as session:
        demo.load(session)
    with unit_of_work(runtime.sessions) as session:
        load_applications(session, runtime.permits)
    app = create_app(runtime=runtime)
    worker = InProcessWorker(runtime.queue.huey)
    worker.start()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            loop="asyncio",
        )
    )
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    try:
        _wait_until_healthy(url, thread)
        yield LiveServer(url, runtime)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        worker.stop()
        runtime.dispose()


def _wait_until_healthy(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the e2e server stopped before it answered /healthz")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the e2e server did not answer /healthz within 15 s")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh context (no cookies) on the live server, English by default."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    yield new_page
    context.close()


@pytest.fixture(scope="session")
def axe() -> Any:
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def check_a11y(axe: Any):  # type: ignore[no-untyped-def]
    """``check_a11y(page)``: fail on any serious or critical WCAG 2.1 AA violation."""

    def check(page: Any) -> None:
        results = axe.run(page, options=AXE_OPTIONS)
        blocking = [
            v for v in results.response["violations"] if v.get("impact") in BLOCKING
        ]
        report = "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(node["target"]) for node in v["nodes"][:5])
            for v in blocking
        )
        assert not blocking, f"axe on {page.url}:\n{report}"

    return check
