"""The link checker against a real HTTP server on 127.0.0.1, and its background job."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from datafactory.catalogue.quality.links import LinkChecker
from datafactory.catalogue.quality.models import LinkCheck
from datafactory.cli.main import main
from tests.catalogue.quality_world import bearer, complete, publish, world

__all__ = ["world"]

SLOW_SECONDS = 1.5


class Handler(BaseHTTPRequestHandler):
    """200, 404, redirect chains, a slow answer, a server that refuses HEAD."""

    seen: list[tuple[str, str]] = []

    def log_message(self, *_args: object) -> None:
        pass

    def _answer(self, status: int, location: str | None = None) -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(b"ok")

    def _route(self) -> None:
        self.seen.append((self.command, self.path))
        path = self.path.split("?", 1)[0]
        if path == "/ok":
            self._answer(200)
        elif path == "/missing":
            self._answer(404)
        elif path.startswith("/hop/"):
            left = int(path.rsplit("/", 1)[1])
            self._answer(302, "/ok" if left == 0 else f"/hop/{left - 1}")
        elif path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._answer(200)
        elif path == "/get-only":
            self._answer(405 if self.command == "HEAD" else 200)
        else:
            self._answer(404)

    def do_HEAD(self) -> None:
        self._route()

    def do_GET(self) -> None:
        self._route()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a timed-out client closes the slow socket; nothing to report


@pytest.fixture
def server() -> Iterator[str]:
    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"link_check_allow_private": True})


def checker(**options) -> LinkChecker:
    defaults = {"allow_private": True, "timeout": 0.5, "retries": 1, "backoff": 0.01}
    return LinkChecker(**{**defaults, **options})


def test_a_200_is_reachable_and_a_404_is_not(server):
    ok, missing = checker().check_all([f"{server}/ok", f"{server}/missing"])
    assert (ok.status_code, ok.reachable, ok.error) == (200, True, None)
    assert (missing.status_code, missing.reachable) == (404, False)
    assert missing.error == "HTTP 404"


def test_redirects_are_followed_up_to_five(server):
    five = checker().check(f"{server}/hop/4")  # 5 redirects, then 200
    assert five.reachable and five.status_code == 200
    six = checker().check(f"{server}/hop/5")
    assert not six.reachable and six.error == "more than 5 redirects"


def test_a_server_refusing_head_is_asked_with_get(server):
    result = checker().check(f"{server}/get-only")
    assert result.reachable and result.status_code == 200
    assert Handler.seen == [("HEAD", "/get-only"), ("GET", "/get-only")]


def test_a_slow_endpoint_times_out_after_its_retries(server):
    sleeps: list[float] = []
    started = time.monotonic()
    result = checker(retries=2, backoff=0.05, sleep=sleeps.append).check(
        f"{server}/slow"
    )
    assert not result.reachable and result.error == "timeout"
    assert result.status_code is None
    assert sleeps == [0.05, 0.1]  # exponential backoff between the three tries
    assert [p for _, p in Handler.seen] == ["/slow"] * 3
    assert time.monotonic() - started < 3 * 0.5 + 1


def test_private_and_loopback_targets_are_refused_unless_allowed(server):
    refused = checker(allow_private=False).check(f"{server}/ok")
    assert not refused.reachable and "private or loopback" in (refused.error or "")
    assert Handler.seen == []  # no request was sent
    other = checker(allow_private=False).check("ftp://example.org/file")
    assert other.error == "only http and https links are checked"


def test_one_host_gets_at_most_per_host_requests_at_once(server):
    active, peak, lock = 0, 0, threading.Lock()
    original = Handler._route

    def counting(self):  # type: ignore[no-untyped-def]
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        original(self)

    Handler._route = counting  # type: ignore[method-assign]
    try:
        urls = [f"{server}/ok?n={n}" for n in range(8)]
        results = checker(per_host=2, workers=8).check_all(urls)
    finally:
        Handler._route = original  # type: ignore[method-assign]
    assert all(r.reachable for r in results) and peak <= 2


def test_the_job_checks_every_published_link_and_rescores(client, world, db, server):
    dataset_id = publish(
        client,
        world,
        complete(access_url=f"{server}/ok", download_url=f"{server}/get-only"),
    )
    publish(client, world, complete(access_url=f"{server}/missing", download_url=None))
    before = client.get(f"/api/v1/datasets/{dataset_id}/quality").json()
    assert before["dimensions"]["Accessibility"] == 20

    refused = client.post(
        "/api/v1/quality/link-checks", headers=bearer(world["steward"].token), json={}
    )
    assert refused.status_code == 403
    started = client.post(
        "/api/v1/quality/link-checks",
        headers=bearer(world["catalogue_admin"].token),
        json={},
    )
    assert started.status_code == 202
    location = started.headers["location"]
    job = client.get(location, headers=bearer(world["catalogue_admin"].token)).json()
    assert job["kind"] == "catalogue.check_links" and job["status"] == "succeeded"
    assert job["result"] == {
        "checked": 3,
        "reachable": 2,
        "unreachable": 1,
        "datasets_rescored": 2,
    }
    assert job["done"] == job["total"] == 3
    rows = {r.url: r for r in db.scalars(select(LinkCheck))}
    assert rows[f"{server}/missing"].status_code == 404
    assert rows[f"{server}/get-only"].reachable
    after = client.get(f"/api/v1/datasets/{dataset_id}/quality").json()
    assert after["dimensions"]["Accessibility"] == 100
    assert after["total"] == before["total"] + 80


def test_the_job_may_check_one_dataset(client, world, server):
    dataset_id = publish(client, world, complete(access_url=f"{server}/ok"))
    publish(client, world, complete(access_url=f"{server}/missing"))
    started = client.post(
        "/api/v1/quality/link-checks",
        headers=bearer(world["catalogue_admin"].token),
        json={"dataset_id": dataset_id},
    )
    job = client.get(
        started.headers["location"], headers=bearer(world["catalogue_admin"].token)
    ).json()
    assert job["result"]["checked"] == 2  # its access URL and its download URL
    assert ("HEAD", "/missing") not in Handler.seen


def test_the_cron_command_checks_every_link_with_a_progress_bar(
    client, world, db, server, settings, monkeypatch, capsys
):
    publish(client, world, complete(access_url=f"{server}/ok", download_url=None))
    publish(client, world, complete(access_url=f"{server}/missing", download_url=None))
    monkeypatch.setenv("DATAFACTORY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DATAFACTORY_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("DATAFACTORY_SECRET_KEY", "cli-test-secret-key-long-enough-000")
    monkeypatch.setenv("DATAFACTORY_LINK_CHECK_ALLOW_PRIVATE", "1")
    monkeypatch.setattr(sys, "argv", ["datafactory", "catalogue", "check-links"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code in (0, None)
    out = capsys.readouterr().out
    assert "2 link(s) checked: 1 reachable, 1 unreachable; 2 dataset(s) rescored" in out
    rows = {r.url: r for r in db.scalars(select(LinkCheck))}
    assert rows[f"{server}/missing"].status_code == 404
