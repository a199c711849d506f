"""pyoxigraph reads Turtle and N-Triples for the harvest: it must give the graph rdflib
gives, and leave to rdflib (graph untouched) whatever it cannot read."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from datafactory.catalogue.harvest import oxigraph
from tests.support.shared import FIXTURES, needs_shared

pytestmark = needs_shared

SUFFIXES = {".ttl": "turtle", ".nt": "nt"}


def _documents(folder: str) -> list[Path]:
    root = FIXTURES / "dcat" / folder if folder else FIXTURES / "dcat"
    return sorted(
        p
        for p in root.rglob("*")
        if p.suffix in SUFFIXES and ("invalid-syntax" in p.parts) == (folder != "")
    )


@pytest.mark.parametrize("path", _documents(""), ids=lambda p: p.name)
def test_every_fixture_reads_into_the_graph_rdflib_reads(path: Path):
    name = SUFFIXES[path.suffix]
    base = path.absolute().as_uri()
    ours, rdflibs = Graph(), Graph()
    rdflibs.parse(data=path.read_bytes(), format=name, publicID=base)
    if not oxigraph.parse_into(ours, path.read_bytes(), name, base):
        assert len(ours) == 0  # left to rdflib, untouched
        return
    assert len(ours) == len(rdflibs)
    assert isomorphic(ours, rdflibs)


def test_most_fixtures_are_read_by_pyoxigraph():
    read = [
        p
        for p in _documents("")
        if oxigraph.parse_into(
            Graph(), p.read_bytes(), SUFFIXES[p.suffix], p.absolute().as_uri()
        )
    ]
    assert len(read) >= len(_documents("")) - 2, "the fast path would rarely run"


@pytest.mark.parametrize("path", _documents("invalid-syntax"), ids=lambda p: p.name)
def test_a_document_that_does_not_parse_leaves_the_graph_untouched(path: Path):
    graph = Graph()
    assert not oxigraph.parse_into(
        graph, path.read_bytes(), SUFFIXES[path.suffix], path.absolute().as_uri()
    )
    assert len(graph) == 0


def test_what_rdflib_reads_leniently_goes_to_rdflib():
    with_space = (
        b"<http://example.org/a b> <http://example.org/p> <http://example.org/o> ."
    )
    relative = b"<a> <http://example.org/p> <http://example.org/o> ."
    graph = Graph()
    assert not oxigraph.parse_into(graph, with_space, "turtle", "http://example.org/")
    # A local file's path is no base IRI: its relative IRIs are resolved by rdflib.
    assert not oxigraph.parse_into(graph, relative, "turtle", "/tmp/catalogue.ttl")
    assert len(graph) == 0
    assert oxigraph.parse_into(graph, relative, "turtle", "https://portal.lu/c.ttl")
    assert {str(s) for s in graph.subjects()} == {"https://portal.lu/a"}
