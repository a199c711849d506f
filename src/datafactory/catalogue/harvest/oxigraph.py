"""Turtle and N-Triples read by pyoxigraph's parser, into the rdflib graph the harvest reads.

The issue asks for the faster of the two parsers. pyoxigraph's (Rust) parses 24-54 times
faster than rdflib's, but the harvest reads rdflib terms, so each term is converted once
(a cache per document): the whole is 1.4-2.2 times rdflib's parse (``bench/harvest.py``).
rdflib stays the parser of record: a document pyoxigraph refuses is handed back to it, so
what rdflib accepts leniently (an IRI with a space, which the harvest repairs) and the
wording of a parse error stay as they were.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pyoxigraph
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

_FORMATS = {"turtle": pyoxigraph.RdfFormat.TURTLE, "nt": pyoxigraph.RdfFormat.N_TRIPLES}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def parses(name: str) -> bool:
    """Whether ``name`` (an rdflib format name) is read by pyoxigraph."""
    return name in _FORMATS


def parse_into(graph: Graph, data: bytes, name: str, base_iri: str) -> bool:
    """Add the triples of ``data`` to ``graph``; False, with ``graph`` unchanged, when
    pyoxigraph cannot read it."""
    # A local file is known by its path, no IRI: with no base, a relative IRI in it fails
    # here and rdflib resolves it against the path, as before.
    base = base_iri if urlsplit(base_iri).scheme else None
    try:
        quads = list(pyoxigraph.parse(data, format=_FORMATS[name], base_iri=base))
    except (SyntaxError, ValueError):
        return False
    blanks: dict[str, BNode] = {}
    terms: dict[object, Node] = {}

    def term(value: object) -> Node:
        found = terms.get(value)
        if found is None:
            found = terms[value] = _converted(value, blanks)
        return found

    graph.addN(
        (term(q.subject), term(q.predicate), term(q.object), graph) for q in quads
    )
    return True


def _converted(value: object, blanks: dict[str, BNode]) -> Node:
    if isinstance(value, pyoxigraph.NamedNode):
        return URIRef(value.value)
    if isinstance(value, pyoxigraph.BlankNode):
        return blanks.setdefault(value.value, BNode())
    if not isinstance(value, pyoxigraph.Literal):
        raise ValueError(f"not a term of a graph: {value!r}")
    if value.language:
        return Literal(value.value, lang=value.language)
    datatype = value.datatype.value
    return Literal(
        value.value, datatype=None if datatype == _XSD_STRING else URIRef(datatype)
    )
