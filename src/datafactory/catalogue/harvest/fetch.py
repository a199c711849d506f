"""Reading a harvest URL safely: size limit, no private addresses unless allowed.

A source may name an http(s) URL, a ``file://`` URL or a path. Local files and addresses in
private, loopback, link-local or otherwise non-public ranges are read only for a source an
administrator marked ``allow_private_network``. Redirects are followed by hand (at most
five) so that each hop is checked too.

DNS rebinding: the host is resolved once, every address it resolves to is checked, and the
connection goes to the first of those checked addresses -- not to the name, which a second
lookup could answer with another address. The request keeps the name in its ``Host``
header and, for https, in the TLS server name (SNI), against which the certificate is
verified as usual.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import httpx

from datafactory.catalogue.harvest.errors import HarvestError

MAX_REDIRECTS = 5

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def resolve(host: str) -> list[str]:
    """The addresses of ``host`` from the system resolver (an IP literal is itself)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def is_public(address: Address) -> bool:
    return address.is_global


@dataclass(frozen=True)
class Document:
    url: str
    content: bytes
    content_type: str | None


@dataclass(frozen=True)
class Fetcher:
    """How one harvest reads: its limits, and whether private addresses are allowed."""

    allow_private_network: bool = False
    max_bytes: int = 50 * 1024 * 1024
    timeout: float = 30.0
    # Seams for tests: how a host is resolved, which addresses count as public, and
    # the httpx transport (None: httpx's own).
    resolver: Callable[[str], list[str]] = resolve
    public: Callable[[Address], bool] = is_public
    transport: httpx.BaseTransport | None = None

    def get(self, url: str, params: dict[str, str | int] | None = None) -> Document:
        parts = urlsplit(url)
        if parts.scheme in ("", "file") or (
            len(parts.scheme) == 1 and url[1:3] == ":\\"
        ):
            return self._file(url)
        if parts.scheme not in ("http", "https"):
            raise HarvestError(
                f"cannot read {parts.scheme}: URLs, only http(s) and files"
            )
        return self._http(url, params)

    def _file(self, url: str) -> Document:
        if not self.allow_private_network:
            raise HarvestError(
                "local files are read only for a source an administrator allowed "
                "to reach the private network"
            )
        parts = urlsplit(url)
        path = Path(url2pathname(parts.path) if parts.scheme == "file" else url)
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                raise HarvestError(self._too_large(url))
            return Document(str(path), path.read_bytes(), None)
        except OSError as exc:
            raise HarvestError(f"cannot read {path}: {exc.strerror}") from exc

    def _http(self, url: str, params: dict[str, str | int] | None) -> Document:
        with httpx.Client(
            timeout=self.timeout, follow_redirects=False, transport=self.transport
        ) as client:
            target = client.build_request("GET", url, params=params).url
            for _ in range(MAX_REDIRECTS + 1):
                request = _pinned(client, target, self.check_address(str(target)))
                try:
                    response = client.send(request, stream=True)
                except httpx.HTTPError as exc:
                    raise HarvestError(
                        f"cannot reach {target} ({type(exc).__name__})"
                    ) from exc
                try:
                    if response.is_redirect:
                        target = httpx.URL(
                            urljoin(str(target), response.headers["location"])
                        )
                        continue
                    if response.status_code != 200:
                        raise HarvestError(
                            f"{target} answered HTTP {response.status_code}"
                        )
                    content = self._read_limited(response, str(target))
                    return Document(
                        str(target), content, response.headers.get("content-type")
                    )
                finally:
                    response.close()
        raise HarvestError(f"{url} redirects more than {MAX_REDIRECTS} times")

    def _read_limited(self, response: httpx.Response, url: str) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise HarvestError(self._too_large(url))
        chunks, size = [], 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise HarvestError(self._too_large(url))
                chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise HarvestError(f"reading {url} failed ({type(exc).__name__})") from exc
        return b"".join(chunks)

    def _too_large(self, url: str) -> str:
        return f"{url} is larger than the limit of {self.max_bytes} bytes"

    def check_address(self, url: str) -> str | None:
        """Refuse a host that resolves to a non-public address, unless allowed.

        Returns the checked address to connect to (None when private addresses are
        allowed: then the name is used as it is).
        """
        if self.allow_private_network:
            return None
        host = urlsplit(url).hostname
        if not host:
            raise HarvestError(f"{url} names no host")
        try:
            found = self.resolver(host)
        except (OSError, UnicodeError) as exc:
            raise HarvestError(f"cannot resolve {host}") from exc
        if not found:
            raise HarvestError(f"cannot resolve {host}")
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in found]
        for address in addresses:
            if not self.public(address):
                raise HarvestError(
                    f"{host} resolves to the non-public address {address}; an "
                    "administrator must allow this source to reach the private network"
                )
        return str(addresses[0])


def _pinned(client: httpx.Client, url: httpx.URL, address: str | None) -> httpx.Request:
    """A GET of ``url`` sent to ``address``, with the name kept for Host and SNI."""
    if address is None:
        return client.build_request("GET", url)
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return client.build_request(
        "GET",
        url.copy_with(host=address),
        headers={"Host": url.netloc.decode("ascii")},
        extensions=extensions,
    )
