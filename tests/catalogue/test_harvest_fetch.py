"""DNS rebinding: the harvester connects to the address it checked, not to the name again.

A resolver test double answers the first lookup with an address the test counts as public
(127.0.0.2, where a real local server listens) and every later lookup with another one
(127.0.0.3, where nothing listens), as a rebinding DNS server would. Only loopback
addresses are ever connected to.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address

import httpx
import pytest

from datafactory.catalogue.harvest.errors import HarvestError
from datafactory.catalogue.harvest.fetch import Address, Fetcher

VETTED, REBOUND = "127.0.0.2", "127.0.0.3"
NAME = "catalogue.rebind.test"


class Rebinding:
    """Answers ``first`` to the first lookup of a name and ``then`` to every later one."""

    def __init__(self, first: str, then: str) -> None:
        self.first, self.then = first, then
        self.lookups: list[str] = []

    def __call__(self, host: str) -> list[str]:
        try:
            return [str(ip_address(host))]  # an address stands for itself, as in DNS
        except ValueError:
            pass
        self.lookups.append(host)
        return [self.first if len(self.lookups) == 1 else self.then]

    def getaddrinfo(self, host, port, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        """The same answers in the shape of ``socket.getaddrinfo``."""
        (address,) = self(str(host))
        return [
            (
                socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, port),
            )
        ]


def counts_as_public(address: Address) -> bool:
    return str(address) == VETTED


@pytest.fixture
def server() -> Iterator[tuple[int, list[str]]]:
    """A real server on 127.0.0.2; yields its port and the Host headers it was sent."""
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers["Host"])
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", f"http://internal.rebind.test:{port}/")
                self.end_headers()
                return
            body = b"<https://x.test/d> a <http://www.w3.org/ns/dcat#Dataset> ."
            self.send_response(200)
            self.send_header("Content-Type", "text/turtle")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer((VETTED, 0), Handler)
    port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield port, hosts
    httpd.shutdown()
    httpd.server_close()


def test_the_connection_goes_to_the_checked_address(server, monkeypatch):
    port, hosts = server
    dns = Rebinding(VETTED, REBOUND)
    # Any lookup by name in the HTTP stack would now get the rebound address.
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    fetcher = Fetcher(resolver=dns, public=counts_as_public)
    document = fetcher.get(f"http://{NAME}:{port}/catalog.ttl")
    assert b"dcat#Dataset" in document.content
    assert document.url == f"http://{NAME}:{port}/catalog.ttl"
    assert hosts == [f"{NAME}:{port}"]  # the name travels in the Host header
    assert dns.lookups == [NAME]  # looked up once, by the check, never again


def test_connecting_by_name_would_have_been_rebound(server, monkeypatch):
    """The control: the double really answers differently the second time."""
    port, hosts = server
    dns = Rebinding(VETTED, REBOUND)
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    assert dns(NAME) == [VETTED]  # the check's lookup
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://{NAME}:{port}/catalog.ttl", timeout=5)
    assert hosts == []


def test_a_redirect_hop_is_checked_and_pinned_too(server):
    port, hosts = server
    answers = {NAME: VETTED, "internal.rebind.test": "10.1.2.3"}
    fetcher = Fetcher(resolver=lambda host: [answers[host]], public=counts_as_public)
    with pytest.raises(HarvestError, match="non-public address 10.1.2.3"):
        fetcher.get(f"http://{NAME}:{port}/moved")
    assert hosts == [f"{NAME}:{port}"]  # refused before any connection to the hop


def test_https_keeps_the_name_for_sni_and_the_certificate():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, content=b"ok", headers={"Content-Type": "text/turtle"}
        )

    fetcher = Fetcher(
        resolver=lambda host: ["93.184.216.34", "2001:db8::1"],
        public=lambda address: True,
        transport=httpx.MockTransport(answer),
    )
    document = fetcher.get("https://data.example.lu/catalog.ttl", {"page": 2})
    (request,) = seen
    assert request.url.host == "93.184.216.34"  # the first checked address
    assert request.url.params["page"] == "2"
    assert request.headers["Host"] == "data.example.lu"
    assert request.extensions["sni_hostname"] == "data.example.lu"
    assert document.url == "https://data.example.lu/catalog.ttl?page=2"


def test_every_address_of_a_name_is_checked():
    fetcher = Fetcher(resolver=lambda host: ["93.184.216.34", "192.168.1.10"])
    with pytest.raises(HarvestError, match="non-public address 192.168.1.10"):
        fetcher.get("http://mixed.example.lu/catalog.ttl")
    assert ip_address("93.184.216.34").is_global  # the default rule is is_global


def test_private_sources_connect_by_name_without_a_lookup(server):
    port, hosts = server
    lookups: list[str] = []
    fetcher = Fetcher(
        allow_private_network=True, resolver=lambda host: lookups.append(host) or []
    )
    fetcher.get(f"http://{VETTED}:{port}/catalog.ttl")
    assert lookups == [] and hosts == [f"{VETTED}:{port}"]
