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
one pass (a catalogue page is one batch), which costs little more than one dataset.

DCAT-AP-LU's generated shapes carry a SPARQL constraint per object property that only
looks for a two-node cycle (``?this P ?that . ?that P ?this``). pyshacl re-parses each
query for every focus node, which made a single LU record take ~0.8 s instead of ~0.05 s.
``_prepare`` takes those constraints out of the graph and :func:`validate` evaluates the
same pattern directly on the data graph, reporting it against the same property shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from enum import StrEnum
from functools import cache
from importlib.resources import files

import pyshacl
from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import SH
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


def _compile(graph: Graph) -> _Compiled:
    prepare_shapes(graph)
    return _Compiled(graph, _extract_cycle_checks(graph))


@cache
def _compiled(profile: Profile) -> _Compiled:
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


def _pyshacl_results(
    data: Graph, compiled: _Compiled, profile: Profile
) -> Iterator[Violation]:
    _conforms, report, _text = pyshacl.validate(
        data,
        shacl_graph=compiled.graph,
        inference="none",
        allow_warnings=True,
        allow_infos=True,
        advanced=False,
    )
    assert isinstance(report, Graph)
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus_node = report.value(result, SH.focusNode)
        shape = report.value(result, SH.sourceShape)
        if focus_node is None or shape is None or isinstance(focus_node, Literal):
            continue  # a literal focus is the inner result of a sh:node; the outer one says it
        path_node = report.value(result, SH.resultPath)
        if isinstance(path_node, BNode):  # a complex path, e.g. sh:inversePath
            path_node = (
                shape_path
                if isinstance(
                    shape_path := compiled.graph.value(shape, SH.path), URIRef
                )
                else path_node
            )
        component_iri = report.value(result, SH.sourceConstraintComponent)
        component = (
            _local_name(component_iri).removesuffix("ConstraintComponent")
            if isinstance(component_iri, URIRef)
            else ""
        )
        yield _make(
            data,
            compiled.graph,
            profile,
            focus_node=focus_node,
            path_node=path_node,
            shape=shape,
            component=component,
            severity=_severity(report.value(result, SH.resultSeverity)),
            value=report.value(result, SH.value),
        )


def _cycle_results(
    data: Graph, compiled: _Compiled, profile: Profile
) -> Iterator[Violation]:
    for check in compiled.cycle_checks:
        for cls in check.target_classes:
            for focus_node in data.subjects(RDF.type, cls):
                for other in data.objects(focus_node, check.path):
                    if (other, check.path, focus_node) in data:
                        yield _make(
                            data,
                            compiled.graph,
                            profile,
                            focus_node=focus_node,
                            path_node=check.path,
                            shape=check.shape,
                            component="Sparql",
                            severity=Severity.violation,
                            value=other,
                        )


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
    return _report(
        [
            *_pyshacl_results(data, compiled, profile),
            *_cycle_results(data, compiled, profile),
        ]
    )


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


def validate(data: Graph, profiles: Iterable[Profile]) -> ValidationReport:
    """Validate ``data`` (a record or a whole catalogue page) against each profile.

    Findings that two profiles share (same focus, property, rule and severity) are
    reported once, under the first profile given.
    """
    results: list[Violation] = []
    for profile in dict.fromkeys(profiles):
        compiled = _compiled(profile)
        results.extend(_pyshacl_results(data, compiled, profile))
        results.extend(_cycle_results(data, compiled, profile))
    return _report(results)
