"""Validate DCAT metadata against the official SHACL shapes, with readable messages.

What is checked, per :class:`Profile` (files under ``shapes/``, origin and licence in
``shapes/NOTICE.md``):

- ``dcat_ap_3``: DCAT-AP 3.0.1 ``shapes.ttl`` (mandatory, sh:Violation) and
  ``shapes_recommended.ttl`` (recommended, sh:Warning) -- the split the EU ITB validator
  runs as "base + recommendations". The generated ``dcat-ap-SHACL.ttl`` is not used: it
  has no severities (so no warnings), inlines the class ranges, and pyshacl 0.40 stops on
  it with "not a well-formed SHACL PropertyShape" for some inputs.
- ``dcat_ap_2``: the same split for DCAT-AP 2.1.1 (for the ``?profile=dcat-ap-2.1.1``
  export that data.europa.eu harvests).
- ``hvd``: DCAT-AP HVD 3.0.0 ``hvd-SHACL.ttl``. Every shape targets its class, so run it
  on HVD datasets only (a plain dataset fails for lack of ``dcatap:applicableLegislation``).
- ``dcat_ap_lu``: DCAT-AP-LU v0.0.1-rc.1, with our fix of its ``sh:datatype rdfs:Resource``
  and ``sh:datatype rdfs:Literal`` bug (``shapes/dcat-ap-lu/rc1-datatype-fix.patch``).

What is left out, on purpose:

- Class ranges (``sh:class`` on a property shape, and the ``range.ttl`` files): they hold
  only when each value is typed in the data or the EU vocabularies and the FOAF/vCard
  ontologies are loaded with RDFS inference. Harvested records rarely type their values,
  so a range check mostly reports noise ("publisher is not a foaf:Agent" for a
  foaf:Organization). ``_prepare`` removes ``sh:class`` from property shapes; the
  ``sh:class`` inside node-level ``sh:or`` (DcatResource_Shape) stays.
- Controlled vocabularies (``mdr-vocabularies.shape.ttl``, HVD usage notes): they need
  the EU NAL files loaded as data graphs; the vocabulary and MQA modules check those.

How it runs: pyshacl with ``inference="none"`` (no RDFS closure: it is slow and the
shapes do not need it once ranges are gone) and ``allow_warnings=True``; our
``conforms`` is "no result of severity sh:Violation", so recommended properties come
back as ``warnings`` without failing the record. Each profile's shapes graph is parsed
once per process (:func:`load_shapes` is cached). A call validates the whole data graph in
one pass (a catalogue page is one batch). Property shapes left without any constraint
(most of DCAT-AP-LU's, once class ranges and cycles are out) are dropped: they give no
result but pyshacl visited them for every focus node.

Speed: ``warnings=False`` runs a copy of the shapes without the warning and info property
shapes that no other shape refers to (publishing needs only the verdict and the
violations, which stay the same). :func:`validate_many` validates many records, each its
own graph and profiles, with one pyshacl run per profile over up to ``batch_size``
records, and gives each result back to the records that describe its focus node: the same
reports as :func:`validate` on each record alone (records whose graphs overlap in a way
that could change a result are validated alone). pyshacl tests each shape predicate
against a list of ~40 constraint parameters for every focus node; the list is given a
set's membership test (:func:`_speed_up_pyshacl`), same items, same order.

The screen (publishing a batch: :func:`validate_many` with ``warnings=False``): most
harvested records conform, and pyrudof, a SHACL engine in Rust, finds that out at a
fraction of pyshacl's cost. Each batch goes to pyrudof first, as N-Triples, against the
same violation shapes; the records it finds no violation in get none, and pyshacl, which
writes every message, runs only on the others. Cheap bounds first, the exact check only
where needed: this is sound as long as pyrudof finds every focus node pyshacl finds, and
``tests/catalogue/test_validation_screen.py`` checks that it finds exactly those, on the
shared DCAT fixtures and on generated records, for DCAT-AP 3, DCAT-AP-LU and HVD (the
profiles screened; DCAT-AP 2 is not). One construct splits them: a literal whose form
does not fit its datatype (``"2020"^^xsd:date``), which pyshacl rejects and pyrudof 0.3.35
accepts; a record holding one, as rdflib reads it (ill-typed, or a value not of the
datatype's Python class: pyshacl's own test), goes to pyshacl whatever pyrudof says.
pyshacl takes the whole batch when pyrudof's answer cannot be trusted: rdflib cannot
write the batch, pyrudof raises, holds another number of triples than it was given, or
names a focus node no record of the batch holds; and when a record says
``rdfs:subClassOf``. The cycle check runs on every record as before (it is in neither
engine's shapes). Measured on 1,000 generated conforming records (``bench/harvest.py``,
a shared 2-core machine), per record: pyshacl takes ~3-3.5 ms for DCAT-AP 3 and
~2-2.9 ms for DCAT-AP-LU; pyrudof ~0.3 ms to read the batch, ~0.1 ms to count its
triples, then ~1.1-1.5 ms and ~0.6-0.9 ms to validate. :func:`validate_many` on the lot
drops from 6.2-8.8 s of CPU to 3.6-4.6 s, and with a quarter of the records failing from
7.5 s to 5.2 s. A batch in which nearly every record fails costs more screened (~3 ms
per record spent for nothing).

DCAT-AP-LU's generated shapes carry a SPARQL constraint per object property that only
looks for a two-node cycle (``?this P ?that . ?that P ?this``). pyshacl re-parses each
query for every focus node, which made a single LU record take ~0.8 s instead of ~0.05 s.
``_prepare`` takes those constraints out of the graph and :func:`validate` evaluates the
same pattern directly on the data graph, reporting it against the same property shape.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib.resources import files

import pyrudof
import pyshacl
from rdflib import RDF, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDFS, SH
from rdflib.term import Node

__all__ = [
    "Profile",
    "Severity",
    "ValidationReport",
    "Violation",
    "load_shapes",
    "prepare_shapes",
    "validate",
    "validate_against",
    "validate_many",
]


class Profile(StrEnum):
    """An application profile we can validate against; the value is its public name."""

    dcat_ap_3 = "dcat-ap-3.0.1"
    dcat_ap_lu = "dcat-ap-lu"
    hvd = "dcat-ap-hvd-3.0.0"
    dcat_ap_2 = "dcat-ap-2.1.1"


class Severity(StrEnum):
    violation = "violation"
    warning = "warning"
    info = "info"


@dataclass(frozen=True, slots=True)
class Violation:
    """One validation result, phrased for a data steward."""

    focus: str  # the IRI, or "_:label" for a blank node
    path: str | None  # the property as a CURIE, e.g. "dct:title"
    severity: Severity
    message: str
    shape: str  # the shape that produced the result
    field: str | None  # the form field, e.g. "title", "accessURL"
    profile: Profile
    component: str = ""  # the SHACL constraint component, e.g. "MinCount"


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """``conforms`` is False only when there is a result of severity violation."""

    conforms: bool
    violations: list[Violation] = dc_field(default_factory=list)
    warnings: list[Violation] = dc_field(default_factory=list)  # warnings and infos


_SHAPE_FILES: dict[Profile, tuple[str, ...]] = {
    Profile.dcat_ap_3: (
        "dcat-ap-3.0.1/shapes.ttl",
        "dcat-ap-3.0.1/shapes_recommended.ttl",
    ),
    Profile.dcat_ap_2: (
        "dcat-ap-2.1.1/dcat-ap_2.1.1_shacl_shapes.ttl",
        "dcat-ap-2.1.1/dcat-ap_2.1.1_shacl_shapes_recommended.ttl",
    ),
    Profile.hvd: ("dcat-ap-hvd-3.0.0/hvd-SHACL.ttl",),
    Profile.dcat_ap_lu: ("dcat-ap-lu/dcat_ap_lu_CM_shapes.ttl",),
}

# Prefixes for CURIEs in messages; fixed, so they do not depend on the data's prefixes.
_PREFIXES: dict[str, str] = {
    "dct": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "dcatap": "http://data.europa.eu/r5r/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "adms": "http://www.w3.org/ns/adms#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "odrl": "http://www.w3.org/ns/odrl/2/",
    "locn": "http://www.w3.org/ns/locn#",
    "spdx": "http://spdx.org/rdf/terms#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "time": "http://www.w3.org/2006/time#",
    "dpv": "http://www.w3.org/ns/dpv#",
    "eli": "http://data.europa.eu/eli/ontology#",
    "schema": "http://schema.org/",
    "cv": "http://data.europa.eu/m8g/",
    "dc": "http://purl.org/dc/elements/1.1/",
}

_DCAT = Namespace(_PREFIXES["dcat"])
_DCT = Namespace(_PREFIXES["dct"])
_FOAF = Namespace(_PREFIXES["foaf"])
_VCARD = Namespace(_PREFIXES["vcard"])

# The noun for a focus node, by its rdf:type; first match wins (series before dataset).
_CLASS_NOUNS: tuple[tuple[URIRef, str], ...] = (
    (_DCAT.DatasetSeries, "Dataset series"),
    (_DCAT.Dataset, "Dataset"),
    (_DCAT.Distribution, "Distribution"),
    (_DCAT.DataService, "Data service"),
    (_DCAT.Catalog, "Catalogue"),
    (_DCAT.CatalogRecord, "Catalogue record"),
    (_DCAT.Relationship, "Relationship"),
    (_FOAF.Agent, "Agent"),
    (_FOAF.Organization, "Agent"),
    (_FOAF.Person, "Agent"),
    (_VCARD.Kind, "Contact point"),
    (_VCARD.Organization, "Contact point"),
    (_VCARD.Individual, "Contact point"),
    (_DCT.PeriodOfTime, "Period of time"),
    (_DCT.LicenseDocument, "Licence"),
    (_DCT.Location, "Location"),
    (_DCT.Standard, "Standard"),
    (URIRef(_PREFIXES["adms"] + "Identifier"), "Identifier"),
    (URIRef(_PREFIXES["spdx"] + "Checksum"), "Checksum"),
    (URIRef(_PREFIXES["skos"] + "Concept"), "Concept"),
    (URIRef(_PREFIXES["skos"] + "ConceptScheme"), "Concept scheme"),
    (_FOAF.Document, "Document"),
)

# Words the camelCase splitter would get wrong.
_WORD_FIXES = {"hvd": "HVD", "url": "URL", "uri": "URI", "iri": "IRI", "id": "ID"}
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")

_NODE_KINDS: dict[Node, str] = {
    SH.IRI: "an IRI",
    SH.Literal: "a literal (text, number or date)",
    SH.BlankNode: "a blank node",
    SH.BlankNodeOrIRI: "an IRI or a resource, not text",
    SH.BlankNodeOrLiteral: "a blank node or a literal",
    SH.IRIOrLiteral: "an IRI or a literal",
}

_TWO_CYCLE = re.compile(
    r"^\s*SELECT \?this \?that WHERE \{ \?this <([^>]+)> \?that \. "
    r"\?that <\1> \?this \.\s*\}\s*$"
)


@dataclass(frozen=True, slots=True)
class _CycleCheck:
    """A DCAT-AP-LU SPARQL constraint ``?this P ?that . ?that P ?this``, run natively."""

    target_classes: tuple[URIRef, ...]
    shape: URIRef | BNode
    path: URIRef


@dataclass(frozen=True, slots=True)
class _Compiled:
    graph: Graph
    cycle_checks: tuple[_CycleCheck, ...]
    # The same shapes less the warning and info property shapes that no other shape
    # refers to: what runs when only violations are wanted (publishing).
    violations_graph: Graph
    # Classes whose shapes read a node's incoming edges (sh:inversePath); None when any
    # node may be read that way or targeted by what points at it (sh:targetObjectsOf...).
    incoming_classes: frozenset[URIRef] | None


# Constraint parameters: a property shape with none of them can give no result.
_CONSTRAINTS = frozenset(
    SH[name]
    for name in (
        "class datatype nodeKind minCount maxCount minExclusive minInclusive "
        "maxExclusive maxInclusive minLength maxLength pattern languageIn uniqueLang "
        "equals disjoint lessThan lessThanOrEquals not and or xone node property "
        "qualifiedValueShape qualifiedMinCount qualifiedMaxCount closed hasValue in "
        "sparql expression js"
    ).split()
)
# Parameters whose value is another shape (or a list of shapes) to check value nodes on.
_SHAPE_REFERENCES = (SH.node, SH["not"], SH.qualifiedValueShape)
_SHAPE_LISTS = (SH["or"], SH["and"], SH.xone)


# ---------------------------------------------------------------------------- shapes


def prepare_shapes(graph: Graph) -> Graph:
    """Drop class ranges from a raw shapes graph, in place, and return it.

    Removes ``sh:class`` from property shapes (see the module docstring).
    """
    for prop_shape in list(graph.subjects(SH.path, None)):
        graph.remove((prop_shape, SH["class"], None))
    return graph


def _extract_cycle_checks(graph: Graph) -> tuple[_CycleCheck, ...]:
    checks: list[_CycleCheck] = []
    for prop_shape, constraint in list(graph.subject_objects(SH.sparql)):
        match = _TWO_CYCLE.match(str(graph.value(constraint, SH.select) or ""))
        path = graph.value(prop_shape, SH.path)
        if match is None or not isinstance(path, URIRef) or str(path) != match[1]:
            continue  # any other SPARQL constraint stays with pyshacl
        if not isinstance(prop_shape, URIRef | BNode):
            continue
        targets = tuple(
            target
            for node_shape in graph.subjects(SH.property, prop_shape)
            for target in graph.objects(node_shape, SH.targetClass)
            if isinstance(target, URIRef)
        )
        checks.append(_CycleCheck(targets, prop_shape, path))
        graph.remove((prop_shape, SH.sparql, constraint))
        graph.remove((constraint, None, None))
    return tuple(checks)


def _drop_shape(graph: Graph, prop_shape: Node) -> None:
    for owner in list(graph.subjects(SH.property, prop_shape)):
        graph.remove((owner, SH.property, prop_shape))
    graph.remove((prop_shape, None, None))


def _drop_empty_property_shapes(graph: Graph) -> None:
    """Property shapes left with no constraint (LU's, once class ranges and cycles are
    out) give no result; pyshacl would still visit them for every focus node."""
    direct = {o for p in _SHAPE_REFERENCES for o in graph.objects(None, p)}
    for p in _SHAPE_LISTS:
        for head in graph.objects(None, p):
            direct.update(graph.items(head))
    for prop_shape in list(graph.subjects(SH.path, None)):
        if prop_shape in direct:
            continue
        if not any(p in _CONSTRAINTS for p in graph.predicates(prop_shape, None)):
            _drop_shape(graph, prop_shape)


def _referenced_shapes(graph: Graph) -> set[Node]:
    """Shapes that other shapes check value nodes against (sh:node, sh:or...), with the
    property shapes inside them: their results decide whether a value conforms, whatever
    their severity, so they are never dropped."""
    todo: list[Node] = [o for p in _SHAPE_REFERENCES for o in graph.objects(None, p)]
    for p in _SHAPE_LISTS:
        for head in graph.objects(None, p):
            todo.extend(graph.items(head))
    seen: set[Node] = set()
    while todo:
        shape = todo.pop()
        if shape in seen:
            continue
        seen.add(shape)
        todo.extend(graph.objects(shape, SH.property))
        todo.extend(o for p in _SHAPE_REFERENCES for o in graph.objects(shape, p))
        for p in _SHAPE_LISTS:
            for head in graph.objects(shape, p):
                todo.extend(graph.items(head))
    return seen


def _violations_only(graph: Graph) -> Graph:
    """A copy of ``graph`` less the property shapes that can only give warnings or infos."""
    copy = Graph()
    copy += graph
    keep = _referenced_shapes(copy)
    nested = (SH.property, *_SHAPE_REFERENCES, *_SHAPE_LISTS)
    for prop_shape in list(copy.subjects(SH.path, None)):
        if prop_shape in keep or copy.value(prop_shape, SH.severity) not in (
            SH.Warning,
            SH.Info,
        ):
            continue
        if any((prop_shape, p, None) in copy for p in nested):
            continue  # its inner shapes report with their own severity
        _drop_shape(copy, prop_shape)
    return copy


def _incoming_classes(graph: Graph) -> frozenset[URIRef] | None:
    if any(
        (None, p, None) in graph
        for p in (SH.targetObjectsOf, SH.targetNode, SH.targetSubjectsOf)
    ):
        return None
    referenced = _referenced_shapes(graph)
    classes: set[URIRef] = set()
    for path in graph.subjects(SH.inversePath, None):
        for prop_shape in graph.subjects(SH.path, path):
            if prop_shape in referenced:
                return None  # reached from another shape: any node may be read so
            for node_shape in graph.subjects(SH.property, prop_shape):
                for target in graph.objects(node_shape, SH.targetClass):
                    if not isinstance(target, URIRef):
                        return None
                    classes.add(target)
    return frozenset(classes)


def _compile(graph: Graph) -> _Compiled:
    prepare_shapes(graph)
    cycle_checks = _extract_cycle_checks(graph)
    _drop_empty_property_shapes(graph)
    return _Compiled(
        graph, cycle_checks, _violations_only(graph), _incoming_classes(graph)
    )


class _ParameterList(list[Node]):
    """pyshacl's list of constraint parameters with a set's membership test.

    For every focus node, pyshacl tests each predicate of each shape with ``p in`` this
    list (about 40 URIs, compared one by one): that linear search was a quarter of the
    time of a batch. The items and their order are pyshacl's own.
    """

    def __init__(self, items: Iterable[Node]) -> None:
        super().__init__(items)
        self._members = frozenset(self)

    def __contains__(self, item: object) -> bool:
        return item in self._members


def _speed_up_pyshacl() -> None:
    """Give pyshacl the list above, in the slot where it caches its own (pyshacl 0.40's
    ``pyshacl.shape.CONSTRAINT_PARAMS``); does nothing when that slot is not there."""
    import pyshacl.constraints as constraints
    import pyshacl.shape as shape_module

    parameters = getattr(constraints, "ALL_CONSTRAINT_PARAMETERS", None)
    mapping = getattr(constraints, "CONSTRAINT_PARAMETERS_MAP", None)
    cached = getattr(shape_module, "CONSTRAINT_PARAMS", (parameters, mapping))
    if (
        isinstance(parameters, list)
        and isinstance(mapping, dict)
        and cached == (parameters, mapping)
        and not isinstance(cached[0], _ParameterList)
    ):
        fast = (_ParameterList(parameters), mapping)
        setattr(shape_module, "CONSTRAINT_PARAMS", fast)  # noqa: B010


@cache
def _compiled(profile: Profile) -> _Compiled:
    _speed_up_pyshacl()
    root = files("datafactory.catalogue").joinpath("shapes")
    graph = Graph()
    for name in _SHAPE_FILES[profile]:
        graph.parse(
            data=root.joinpath(name).read_text(encoding="utf-8"), format="turtle"
        )
    return _compile(graph)


def load_shapes(profile: Profile) -> Graph:
    """The shapes graph pyshacl runs for ``profile``; parsed once per process.

    Treat it as read-only: it is shared by every validation in the process.
    """
    return _compiled(profile).graph


# -------------------------------------------------------------------------- messages


def _curie(term: Node) -> str:
    text = str(term)
    for prefix, ns in _PREFIXES.items():
        if text.startswith(ns) and re.fullmatch(r"[\w.-]+", text[len(ns) :]):
            return f"{prefix}:{text[len(ns) :]}"
    return f"<{text}>"


def _node_label(node: Node) -> str:
    if isinstance(node, BNode):
        return f"_:{node}"
    if isinstance(node, Literal):
        text = str(node)
        return repr(text if len(text) <= 60 else text[:57] + "...")
    return str(node)


def _local_name(iri: URIRef) -> str:
    return re.split(r"[#/]", str(iri).rstrip("#/"))[-1]


def _words(name: str) -> str:
    parts = _CAMEL.findall(name) or [name]
    return " ".join(
        _WORD_FIXES.get(p.lower(), p if p.isupper() and len(p) > 1 else p.lower())
        for p in parts
    )


def _focus_phrase(data: Graph, focus: Node, shapes: Graph, shape: Node) -> str:
    types = set(data.objects(focus, RDF.type))
    noun = next((n for cls, n in _CLASS_NOUNS if cls in types), None)
    if noun is None:  # fall back on what the shape targets
        for node_shape in [shape, *shapes.subjects(SH.property, shape)]:
            target = shapes.value(node_shape, SH.targetClass)
            if isinstance(target, URIRef):
                noun = dict(_CLASS_NOUNS).get(target, _words(_local_name(target)))
                break
    label = _node_label(focus)
    label = label if isinstance(focus, BNode) else f"<{label}>"
    return f"{noun or 'Resource'} {label}"


def _article(word: str) -> str:
    first = word.split(" ", 1)[0]
    acronym_vowel_sound = first.isupper() and first[0] in "AEFHILMNORSX"
    return "an" if first[:1].lower() in "aeiou" or acronym_vowel_sound else "a"


def _count(n: int, what: str) -> str:
    return f"{_article(what)} {what}" if n == 1 else f"at least {n} values for {what}"


def _message(
    *,
    component: str,
    severity: Severity,
    focus: str,
    path: str | None,
    field_name: str | None,
    value: Node | None,
    shapes: Graph,
    shape: Node,
    shape_message: str | None,
) -> str:
    must = "must" if severity is Severity.violation else "should"
    what = _words(field_name) if field_name else "value"
    prop = f"{what} ({path})" if path else what
    got = f"; got {_node_label(value)}" if value is not None else ""

    def param(name: str) -> Node | None:
        return shapes.value(shape, SH[name])

    if shape_message:
        text = shape_message.rstrip(".")
        text = text[0].lower() + text[1:] if text[:2] != text[:2].upper() else text
        where = f"The {prop} of {focus}" if path else focus
        return f"{where} is not valid: {text}{got}."
    if component == "MinCount":
        n = int(str(param("minCount") or 1))
        return f"{focus} {must} have {_count(n, prop)}."
    if component == "MaxCount":
        n = int(str(param("maxCount") or 1))
        limit = "one" if n == 1 else str(n)
        return f"{focus} {must} have at most {limit} {prop}."
    if component == "NodeKind":
        kind = _NODE_KINDS.get(param("nodeKind") or SH.IRI, "of another kind")
        return f"The {prop} of {focus} {must} be {kind}{got}."
    if component == "Datatype":
        datatype = param("datatype")
        typed = f"a {_curie(datatype)} literal" if datatype else "a typed literal"
        return f"The {prop} of {focus} {must} be {typed}{got}."
    if component == "Class":
        cls = param("class")
        return f"The {prop} of {focus} {must} be a {_curie(cls) if cls else 'typed node'}{got}."
    if component == "HasValue":
        expected = param("hasValue")
        return f"The {prop} of {focus} {must} include {_node_label(expected) if expected else 'the required value'}."
    if component == "In":
        return f"The {prop} of {focus} {must} be one of the allowed values{got}."
    if component in {"MinLength", "MaxLength", "Pattern", "LanguageIn", "UniqueLang"}:
        rule = {
            "MinLength": "is too short",
            "MaxLength": "is too long",
            "Pattern": "does not have the expected format",
            "LanguageIn": "is not in an allowed language",
            "UniqueLang": "has more than one value in the same language",
        }[component]
        return f"The {prop} of {focus} {rule}{got}."
    if component == "Sparql" and path:
        return f"The {prop} of {focus} {must} not point back to it (a cycle){got}."
    if path:
        return f"The {prop} of {focus} does not meet the {_words(component)} rule{got}."
    return f"{focus} does not meet the {_words(component)} rule of {_curie(shape) if isinstance(shape, URIRef) else 'its shape'}."


def _shape_message(shapes: Graph, shape: Node, component: str) -> str | None:
    """sh:message of the source shape, or of the node shape a sh:node points to."""
    candidates = [shape]
    if component == "Node":
        candidates += list(shapes.objects(shape, SH.node))
    for candidate in candidates:
        messages = list(shapes.objects(candidate, SH.message))
        english = [
            m for m in messages if isinstance(m, Literal) and m.language in (None, "en")
        ]
        if english or messages:
            return str((english or messages)[0])
    return None


# ------------------------------------------------------------------------ validation


def _severity(term: Node | None) -> Severity:
    if term == SH.Warning:
        return Severity.warning
    if term == SH.Info:
        return Severity.info
    return Severity.violation


def _make(
    data: Graph,
    shapes: Graph,
    profile: Profile,
    *,
    focus_node: Node,
    path_node: Node | None,
    shape: Node,
    component: str,
    severity: Severity,
    value: Node | None,
) -> Violation:
    path = _curie(path_node) if isinstance(path_node, URIRef) else None
    field_name = _local_name(path_node) if isinstance(path_node, URIRef) else None
    if path_node is not None and path is None:
        path = "a property path"
    focus = _focus_phrase(data, focus_node, shapes, shape)
    message = _message(
        component=component,
        severity=severity,
        focus=focus,
        path=path,
        field_name=field_name,
        value=value if component not in {"MinCount", "MaxCount"} else None,
        shapes=shapes,
        shape=shape,
        shape_message=_shape_message(shapes, shape, component),
    )
    return Violation(
        focus=_node_label(focus_node)
        if not isinstance(focus_node, BNode)
        else f"_:{focus_node}",
        path=path,
        severity=severity,
        message=message,
        shape=_node_label(shape),
        field=field_name,
        profile=profile,
        component=component,
    )


_Found = tuple[Node, Violation]  # a result and the focus node it is about


def _pyshacl_results(
    data: Graph, compiled: _Compiled, profile: Profile, *, warnings: bool = True
) -> Iterator[_Found]:
    shapes = compiled.graph if warnings else compiled.violations_graph
    if not data.store.context_aware:
        # pyshacl wraps the data graph in a Dataset, which needs a store that keeps
        # named graphs; a harvest's records are plain (rdf.plain_graph).
        copy = Graph()
        copy += data
        data = copy
    _conforms, report, _text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="none",
        allow_warnings=True,
        allow_infos=True,
        advanced=False,
        js=False,
    )
    assert isinstance(report, Graph)
    inner = set(report.objects(None, SH.detail))
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus_node = report.value(result, SH.focusNode)
        shape = report.value(result, SH.sourceShape)
        if focus_node is None or shape is None or isinstance(focus_node, Literal):
            continue  # a literal focus is the inner result of a sh:node; the outer one says it
        if result in inner:
            # The inner result of a sh:node on an IRI or blank value (e.g. dct:issued
            # given an IRI): the outer result, on the record's own node and field, says it.
            continue
        severity = _severity(report.value(result, SH.resultSeverity))
        if not warnings and severity is not Severity.violation:
            continue
        path_node = report.value(result, SH.resultPath)
        if isinstance(path_node, BNode):  # a complex path, e.g. sh:inversePath
            path_node = (
                shape_path
                if isinstance(shape_path := shapes.value(shape, SH.path), URIRef)
                else path_node
            )
        component_iri = report.value(result, SH.sourceConstraintComponent)
        component = (
            _local_name(component_iri).removesuffix("ConstraintComponent")
            if isinstance(component_iri, URIRef)
            else ""
        )
        yield (
            focus_node,
            _make(
                data,
                shapes,
                profile,
                focus_node=focus_node,
                path_node=path_node,
                shape=shape,
                component=component,
                severity=severity,
                value=report.value(result, SH.value),
            ),
        )


def _cycle_results(
    data: Graph, compiled: _Compiled, profile: Profile
) -> Iterator[_Found]:
    for check in compiled.cycle_checks:
        for focus_node, other in data.subject_objects(check.path):
            if (other, check.path, focus_node) not in data:
                continue
            if not any(
                (focus_node, RDF.type, cls) in data for cls in check.target_classes
            ):
                continue
            yield (
                focus_node,
                _make(
                    data,
                    compiled.graph,
                    profile,
                    focus_node=focus_node,
                    path_node=check.path,
                    shape=check.shape,
                    component="Sparql",
                    severity=Severity.violation,
                    value=other,
                ),
            )


def _results(
    data: Graph, compiled: _Compiled, profile: Profile, *, warnings: bool = True
) -> list[_Found]:
    """Every result of one profile on ``data``, in a fixed order."""
    found = [
        *_pyshacl_results(data, compiled, profile, warnings=warnings),
        *_cycle_results(data, compiled, profile),
    ]
    # pyshacl's report lists results in no fixed order; sorting makes the choice of
    # which duplicate ``_report`` keeps the same for one record and for a batch.
    found.sort(key=lambda item: _sort_key(item[1]))
    return found


def _sort_key(v: Violation) -> tuple[str, str, str, str, str, str]:
    return (v.focus, v.path or "", v.component, v.severity, v.message, v.shape)


def validate_against(
    data: Graph, shapes: Graph, *, profile: Profile
) -> ValidationReport:
    """Validate ``data`` against another shapes graph, e.g. an upstream file.

    The same policy as for the shipped shapes is applied to a copy of ``shapes``
    (class ranges dropped, cycle constraints run natively); results are tagged with
    ``profile``. Nothing is cached: meant for tests and for trying a new release.
    """
    copy = Graph()
    for triple in shapes:
        copy.add(triple)
    compiled = _compile(copy)
    return _report(v for _, v in _results(data, compiled, profile))


def _report(results: Iterable[Violation]) -> ValidationReport:
    seen: set[tuple[str, str | None, str, Severity]] = set()
    violations: list[Violation] = []
    warnings: list[Violation] = []
    for item in results:
        key = (item.focus, item.path, item.component, item.severity)
        if key in seen:  # the same finding from two profiles: keep the first
            continue
        seen.add(key)
        (violations if item.severity is Severity.violation else warnings).append(item)

    def order(v: Violation) -> tuple[str, str, str]:
        return (v.focus, v.path or "", v.message)

    return ValidationReport(
        conforms=not violations,
        violations=sorted(violations, key=order),
        warnings=sorted(warnings, key=order),
    )


def validate(
    data: Graph, profiles: Iterable[Profile], *, warnings: bool = True
) -> ValidationReport:
    """Validate ``data`` (a record or a whole catalogue page) against each profile.

    Findings that two profiles share (same focus, property, rule and severity) are
    reported once, under the first profile given. With ``warnings=False`` only
    violations are looked for (the shapes that can only warn are not run): the verdict
    and the violations are the same, ``warnings`` comes back empty, and it is faster.
    """
    results: list[Violation] = []
    for profile in dict.fromkeys(profiles):
        found = _results(data, _compiled(profile), profile, warnings=warnings)
        results.extend(v for _, v in found)
    return _report(results)


# --------------------------------------------------------------------- batches


@dataclass(frozen=True)
class _Layout:
    """How the records of a batch relate: which record describes which node, and which
    records cannot share a pyshacl run because what one says about a node would change
    what another is checked against."""

    owners: dict[Node, list[int]]  # node -> the records that describe it (as a subject)
    shared: dict[Node, list[int]]  # the nodes described by more than one record
    entangled: frozenset[int]  # validated each on its own
    whole_graph_facts: bool  # rdfs:subClassOf somewhere: every record on its own


def _layout(graphs: Sequence[Graph]) -> _Layout:
    descriptions: dict[Node, dict[int, frozenset[tuple[Node, Node]]]] = {}
    whole_graph_facts = False
    for number, graph in enumerate(graphs):
        by_subject: dict[Node, set[tuple[Node, Node]]] = {}
        for s, p, o in graph:
            by_subject.setdefault(s, set()).add((p, o))
            if p == RDFS.subClassOf:
                whole_graph_facts = True
        for subject, pairs in by_subject.items():
            descriptions.setdefault(subject, {})[number] = frozenset(pairs)
    entangled: set[int] = set()
    for held in descriptions.values():
        # A node described differently by two records (e.g. two contact points merged).
        if len(held) > 1 and len(set(held.values())) > 1:
            entangled.update(held)
    for number, graph in enumerate(graphs):
        for node in set(graph.objects()):
            describers = descriptions.get(node)
            if describers is not None and number not in describers:
                # The record points at a node that another record describes.
                entangled.add(number)
                entangled.update(describers)
    owners = {node: list(held) for node, held in descriptions.items()}
    return _Layout(
        owners=owners,
        shared={node: held for node, held in owners.items() if len(held) > 1},
        entangled=frozenset(entangled),
        whole_graph_facts=whole_graph_facts,
    )


def _on_their_own(
    layout: _Layout, graphs: Sequence[Graph], compiled: _Compiled
) -> set[int]:
    """The records that must be validated alone against ``compiled``."""
    alone = set(layout.entangled)
    classes = compiled.incoming_classes
    for node, held in layout.shared.items():
        # Each record sees only its own edges into a node they share; a shape that reads
        # incoming edges would see all of them in a batch.
        if classes is None or any(
            (node, RDF.type, cls) in graphs[held[0]] for cls in classes
        ):
            alone.update(held)
    return alone


def validate_many(
    graphs: Sequence[Graph],
    profiles: Sequence[Iterable[Profile]],
    *,
    warnings: bool = True,
    batch_size: int = 1000,
    screen: bool = True,
) -> list[ValidationReport]:
    """Validate many records, each its own graph against its own profiles, in batches.

    Gives for each record the report :func:`validate` gives for it alone (same verdict,
    same messages), at a fraction of the cost: pyshacl runs once per profile over a
    graph holding up to ``batch_size`` records, and each result goes back to the records
    that describe its focus node. Records that point at or describe differently a node
    that another record describes are validated alone, as are all records when one of
    them says ``rdfs:subClassOf`` (it would change what the others are checked against).

    With ``warnings=False``, pyrudof screens each batch first and pyshacl runs only on
    the records it finds a violation in (the module docstring says why the reports are
    the same); ``screen=False`` runs pyshacl on every record.
    """
    if len(graphs) != len(profiles):
        raise ValueError("one list of profiles per graph")
    wanted = [list(dict.fromkeys(p)) for p in profiles]
    found: list[dict[Profile, list[Violation]]] = [{} for _ in graphs]
    layout = _layout(graphs)
    unions: dict[tuple[int, ...], Graph] = {}  # profiles with the same batch share it
    screener = _Screener(graphs, layout)
    for profile in dict.fromkeys(p for ps in wanted for p in ps):
        compiled = _compiled(profile)
        members = [n for n, ps in enumerate(wanted) if profile in ps]
        alone = (
            set(members)
            if layout.whole_graph_facts
            else _on_their_own(layout, graphs, compiled)
        )
        together = [n for n in members if n not in alone]
        batches = [
            together[start : start + batch_size]
            for start in range(0, len(together), batch_size)
        ]
        batches += [[n] for n in members if n in alone]
        screened = (
            screen
            and not warnings
            and not layout.whole_graph_facts
            and profile in _SCREENED_PROFILES
        )
        for batch in batches:
            for n in batch:
                found[n][profile] = []
            suspects = screener.suspects(profile, batch) if screened else None
            if suspects is not None and len(suspects) < len(batch):
                _validate_suspects(
                    found, profile, compiled, batch, suspects, layout, graphs, unions
                )
                continue
            data = (
                graphs[batch[0]] if len(batch) == 1 else _union(graphs, batch, unions)
            )
            members_of_batch = set(batch)
            for focus_node, violation in _results(
                data, compiled, profile, warnings=warnings
            ):
                for n in _holders(focus_node, batch, members_of_batch, layout, graphs):
                    found[n][profile].append(violation)
    return [
        _report(v for profile in ps for v in found[n].get(profile, []))
        for n, ps in enumerate(wanted)
    ]


def _validate_suspects(
    found: list[dict[Profile, list[Violation]]],
    profile: Profile,
    compiled: _Compiled,
    batch: list[int],
    suspects: set[int],
    layout: _Layout,
    graphs: Sequence[Graph],
    unions: dict[tuple[int, ...], Graph],
) -> None:
    """Violations only, on a screened batch: pyshacl on the suspects alone, the cycle
    check (not in the shapes pyrudof ran) on every record."""
    for n in batch:
        # On its own graph: a record that points at a node another record describes is
        # validated alone (:func:`_layout`), so each cycle lies in the graph of every
        # record that describes its focus node, and only there.
        found[n][profile].extend(
            v for _, v in _cycle_results(graphs[n], compiled, profile)
        )
    checked = [n for n in batch if n in suspects]
    if checked:
        data = (
            graphs[checked[0]] if len(checked) == 1 else _union(graphs, checked, unions)
        )
        members = set(checked)
        for focus_node, violation in _pyshacl_results(
            data, compiled, profile, warnings=False
        ):
            for n in _holders(focus_node, checked, members, layout, graphs):
                found[n][profile].append(violation)
    for n in batch:  # the order :func:`_results` gives, which ``_report`` relies on
        found[n][profile].sort(key=_sort_key)


def _union(
    graphs: Sequence[Graph], batch: list[int], unions: dict[tuple[int, ...], Graph]
) -> Graph:
    key = tuple(batch)
    if key not in unions:
        union = unions[key] = Graph()
        for n in batch:
            union += graphs[n]
    return unions[key]


def _holders(
    focus_node: Node,
    batch: list[int],
    members: set[int],
    layout: _Layout,
    graphs: Sequence[Graph],
) -> list[int]:
    """The records of the batch a result on ``focus_node`` belongs to."""
    if len(batch) == 1:
        return batch
    held = [n for n in layout.owners.get(focus_node, ()) if n in members]
    if held:
        return held
    # A focus node no record describes: the records that mention it.
    return [n for n in batch if (None, None, focus_node) in graphs[n]]


# ---------------------------------------------------------------------- the screen

# The profiles whose violation shapes pyrudof is proven on against pyshacl
# (tests/catalogue/test_validation_screen.py); any other runs pyshacl on every record.
_SCREENED_PROFILES = frozenset({Profile.dcat_ap_3, Profile.dcat_ap_lu, Profile.hvd})
# pyrudof's names of the severities that ``_severity`` does not count as violations.
_NOT_VIOLATIONS = frozenset({"Warning", "Info"})
_COUNT_TRIPLES = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
# The Python value rdflib gives a well-formed literal of each datatype pyshacl checks.
_PYTHON_VALUES: dict[Node, type | tuple[type, ...]] = {
    XSD.string: (str, bytes),
    RDF.langString: (str, bytes),
    XSD.integer: int,
    XSD.float: float,
    XSD.decimal: Decimal,
    XSD.boolean: bool,
    XSD.date: date,
    XSD.time: time,
    XSD.dateTime: datetime,
}
# pyrudof sessions, one per profile and thread: a session holds one data graph at a time.
_sessions = threading.local()


class _Screener:
    """pyrudof's verdicts on the batches of one :func:`validate_many` call.

    A batch goes to pyrudof as the N-Triples of its records, each triple once (records
    share the nodes they describe alike, e.g. the publisher): no rdflib union is built
    unless pyshacl has to run on the whole batch.
    """

    def __init__(self, graphs: Sequence[Graph], layout: _Layout) -> None:
        self._graphs = graphs
        self._layout = layout
        self._lines: dict[int, list[str] | None] = {}
        self._texts: dict[tuple[int, ...], tuple[str, int] | None] = {}
        self._doubtful: dict[int, bool] = {}

    def suspects(self, profile: Profile, batch: list[int]) -> set[int] | None:
        """The records of the batch pyshacl must validate against ``profile``: those
        pyrudof finds a violation in, and those with a literal it may judge otherwise.
        None when pyrudof's answer cannot be used (rdflib cannot write the graph,
        pyrudof fails, a focus node no record holds): pyshacl validates the whole batch.
        """
        written = self._text(batch)
        if written is None:
            return None
        foci = _screen(profile, *written)
        if foci is None:
            return None
        suspects = {n for n in batch if self.doubtful(n)}
        members = set(batch)
        for focus in foci:
            node = _node_of(focus)
            held = (
                _holders(node, batch, members, self._layout, self._graphs)
                if node is not None
                else []
            )
            if not held:
                return None
            suspects.update(held)
        return suspects

    def doubtful(self, number: int) -> bool:
        """Whether the record holds a literal pyshacl and pyrudof may judge apart."""
        found = self._doubtful.get(number)
        if found is None:
            found = self._doubtful[number] = any(
                isinstance(o, Literal) and _doubtful(o)
                for o in self._graphs[number].objects()
            )
        return found

    def _text(self, batch: list[int]) -> tuple[str, int] | None:
        key = tuple(batch)
        if key not in self._texts:
            lines: set[str] = set()
            for n in batch:
                own = self._record_lines(n)
                if own is None:
                    self._texts[key] = None
                    break
                lines.update(own)
            else:
                self._texts[key] = ("\n".join(lines) + "\n", len(lines))
        return self._texts[key]

    def _record_lines(self, number: int) -> list[str] | None:
        """The record's triples, one N-Triples line each (a literal's line breaks are
        escaped); None when rdflib cannot write them (it refuses some IRIs it reads)."""
        if number not in self._lines:
            try:
                text = self._graphs[number].serialize(format="nt")
            except Exception:  # noqa: BLE001 - any failure leaves the batch to pyshacl
                self._lines[number] = None
            else:
                self._lines[number] = [line for line in text.split("\n") if line]
        return self._lines[number]


def _screen(profile: Profile, text: str, triples: int) -> set[str] | None:
    """The focus nodes, as pyrudof writes them, of the violations pyrudof finds in the
    N-Triples ``text`` against ``profile``'s violation shapes; None when it fails or does
    not read the ``triples`` triples written (it would then validate another graph)."""
    held = _rudof_sessions()
    try:
        session = held.get(profile)
        if session is None:
            session = held[profile] = _new_session(profile)
        # reset first: read_data merges into the graph already loaded, whatever its
        # ``merge`` argument says (pyrudof 0.3.35).
        session.reset_data()
        session.read_data(
            text,
            pyrudof.RDFFormat.NTriples,
            reader_mode=pyrudof.ReaderMode.Strict,
            merge=False,
        )
        if _triple_count(session) != triples:
            session.reset_data()
            return None
        report = session.validate_shacl()
        session.reset_data()  # the batch's graph is not kept between calls
        return {e.focus_node for e in report if e.severity not in _NOT_VIOLATIONS}
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - a Rust panic in pyrudof is a BaseException
        held.pop(profile, None)  # a session that failed is not trusted again
        return None


def _rudof_sessions() -> dict[Profile, pyrudof.Rudof]:
    held: dict[Profile, pyrudof.Rudof] | None = getattr(_sessions, "by_profile", None)
    if held is None:
        held = {}
        _sessions.by_profile = held
    return held


def _new_session(profile: Profile) -> pyrudof.Rudof:
    session = pyrudof.Rudof(pyrudof.RudofConfig())
    session.read_shacl(_screen_shapes(profile), reader_mode=pyrudof.ReaderMode.Strict)
    session.read_query(_COUNT_TRIPLES)
    return session


@cache
def _screen_shapes(profile: Profile) -> str:
    return _compiled(profile).violations_graph.serialize(format="turtle")


def load_violation_shapes_text(profile: Profile) -> str:
    """The violation shapes of ``profile`` as Turtle, as the screen gives them to
    pyrudof (for the harvest benchmark's validation floor)."""
    return _screen_shapes(profile)


def _triple_count(session: pyrudof.Rudof) -> int:
    rows = session.run_query().rows
    match = re.fullmatch(r'"(\d+)"(\^\^.*)?', (rows[0][0] or "") if rows else "")
    if match is None:
        raise ValueError(f"not a count: {rows!r}")
    return int(match[1])


def _node_of(written: str) -> Node | None:
    """The node pyrudof writes as ``written`` (an IRI bare, a blank node as ``_:label``
    from the N-Triples); None for anything else, e.g. a literal."""
    if written.startswith("_:"):
        return BNode(written[2:])
    if not written or written.startswith(('"', "<")):
        return None
    return URIRef(written)


def _doubtful(literal: Literal) -> bool:
    """True when pyshacl would not take ``literal`` as a value of its own datatype.

    pyshacl's sh:datatype asks rdflib: the literal must not be ill-typed and its Python
    value must be of the datatype's class. pyrudof checks some lexical forms but not all
    (it takes ``"2020"^^xsd:date`` as a date), so a record with such a literal is left
    to pyshacl whatever pyrudof says.
    """
    if literal.datatype is None:
        return False
    if literal.ill_typed is True:
        return True
    expected = _PYTHON_VALUES.get(literal.datatype)
    return expected is not None and not isinstance(literal.value, expected)
