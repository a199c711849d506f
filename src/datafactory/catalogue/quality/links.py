"""The link checker: does each access and download URL of the catalogue answer?

One URL is checked like this:

1. The target must be ``http`` or ``https``, and unless ``allow_private`` is on, every
   address its host resolves to must be public: loopback, private, link-local, reserved
   and multicast addresses are refused without a request (also after each redirect), so
   the checker cannot be aimed at the platform's own network.
2. ``HEAD``; when that answers 400 or more (many servers refuse ``HEAD`` with 405 or 501,
   some with 403 or 404), ``GET`` without reading the body.
3. Redirects are followed, at most five; a sixth is a failure.
4. Timeouts, connection errors, 429 and 5xx answers are retried with exponential backoff
   (``backoff × 2ⁿ`` seconds); the last answer or error is what is stored.
5. An answer of 200–399 is *reachable*.

Politeness: at most ``per_host`` requests run at once against one host, among
``workers`` threads in all. The resolved-address check cannot stop DNS rebinding
between the check and the connection; the setting's default keeps that risk out.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

USER_AGENT = "datafactory-link-checker/0.1 (+https://datafactory.lu)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class LinkResult:
    """What one URL answered: the final status, whether it counts, or why not."""

    url: str
    status_code: int | None
    reachable: bool
    error: str | None = None


class _Refused(Exception):
    """The target may not be fetched (scheme, private address, unknown host)."""


class _Transient(Exception):
    """Worth another try: a timeout, a broken connection, 429 or 5xx."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


@dataclass
class LinkChecker:
    allow_private: bool = False
    timeout: float = 10.0
    retries: int = 2
    backoff: float = 0.5
    per_host: int = 2
    workers: int = 8
    max_redirects: int = 5
    sleep: Callable[[float], None] = time.sleep
    _slots: dict[str, threading.BoundedSemaphore] = field(
        default_factory=dict, init=False, repr=False
    )
    _slots_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False
    )

    def check_all(
        self,
        urls: Iterable[str],
        progress: Callable[[int, int], None] | None = None,
    ) -> list[LinkResult]:
        """Check every URL (each once), in parallel; results in the order given."""
        wanted = list(dict.fromkeys(urls))
        results: dict[str, LinkResult] = {}
        with self._client() as client, ThreadPoolExecutor(self.workers) as pool:
            futures = {pool.submit(self._check, client, url): url for url in wanted}
            for done, future in enumerate(as_completed(futures), start=1):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress(done, len(wanted))
        return [results[url] for url in wanted]

    def check(self, url: str) -> LinkResult:
        with self._client() as client:
            return self._check(client, url)

    def _client(self) -> httpx.Client:
        return httpx.Client(
            follow_redirects=False,
            timeout=httpx.Timeout(self.timeout),
            headers={"User-Agent": USER_AGENT},
        )

    @contextmanager
    def _host_slot(self, url: str) -> Iterator[None]:
        host = (urlsplit(url).hostname or "").lower()
        with self._slots_lock:
            slot = self._slots.setdefault(
                host, threading.BoundedSemaphore(self.per_host)
            )
        with slot:
            yield

    def _check(self, client: httpx.Client, url: str) -> LinkResult:
        last = _Transient("not tried")
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return self._follow(client, url)
            except _Refused as exc:
                return LinkResult(url, None, False, str(exc))
            except _Transient as exc:
                last = exc
        return LinkResult(url, last.status_code, False, str(last))

    def _follow(self, client: httpx.Client, url: str) -> LinkResult:
        current = url
        for _hop in range(self.max_redirects + 1):
            self._guard(current)
            with self._host_slot(current):
                status, location = self._request(client, current)
            if status in REDIRECTS and location:
                current = urljoin(current, location)
                continue
            if status == 429 or status >= 500:
                raise _Transient(f"HTTP {status}", status)
            reachable = 200 <= status < 400
            return LinkResult(
                url, status, reachable, None if reachable else f"HTTP {status}"
            )
        return LinkResult(url, None, False, f"more than {self.max_redirects} redirects")

    def _request(self, client: httpx.Client, url: str) -> tuple[int, str | None]:
        try:
            response = client.head(url)
            if response.status_code >= 400:
                with client.stream("GET", url) as streamed:  # the body is not read
                    response = streamed
        except httpx.TimeoutException as exc:
            raise _Transient("timeout") from exc
        except httpx.HTTPError as exc:
            raise _Transient(f"connection failed ({type(exc).__name__})") from exc
        return response.status_code, response.headers.get("location")

    def _guard(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Refused("only http and https links are checked")
        if self.allow_private:
            return
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        except (OSError, ValueError) as exc:
            raise _Refused(f"host not found ({parts.hostname})") from exc
        if not all(_public(str(info[4][0])) for info in infos):
            raise _Refused("refused: the host has a private or loopback address")
