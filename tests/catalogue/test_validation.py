"""Validation of DCAT metadata against the shipped SHACL shapes.

The official examples live in the shared standards folder next to the checkout
(/work/shared); a plain clone has none, so those tests skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS

from datafactory.catalogue.validation import (
    Profile,
    Severity,
    ValidationReport,
    load_shapes,
    validate,
    validate_against,
)
from tests.support.shared import SHARED  # noqa: E402

LU_EXAMPLES = SHARED / "standards" / "dcat-ap-lu" / "examples"
LU_UPSTREAM_SHAPES = (
    SHARED / "standards" / "dcat-ap-lu" / "shacl" / "dcat_ap_lu_CM_shapes.ttl"
)
SEMIC_301 = SHARED / "fixtures" / "dcat" / "dcat-ap-3.0.1-examples"
SEMIC_HVD = SHARED / "fixtures" / "dcat" / "dcat-ap-hvd-3.0.0-examples"

needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"shared standards/fixtures folder {SHARED} is absent (only in the project workspace)",
)

DCATAP = Namespace("http://data.europa.eu/r5r/")
HVD_ELI = URIRef("http://data.europa.eu/eli/reg_impl/2023/138/oj")
EX = Namespace("https://data.example.lu/")
DCAT3 = Namespace("http://www.w3.org/ns/dcat#")  # rdflib's DCAT lacks DCAT 3 terms


@pytest.fixture(scope="module", autouse=True)
def shapes_parsed_once() -> None:
    """Parse every profile's shapes once for the module (they are cached per process)."""
    for profile in Profile:
        assert len(load_shapes(profile)) > 0


def _parse(path: Path) -> Graph:
    return Graph().parse(path)


def _conforming(folder: Path, profile: Profile) -> tuple[set[str], int]:
    names: set[str] = set()
    parsed = 0
    for path in sorted(folder.glob("*.ttl")):
        try:
            graph = _parse(path)
        except Exception:  # noqa: BLE001 - a fixture that does not parse is not counted
            continue
        parsed += 1
        if validate(graph, [profile]).conforms:
            names.add(path.name)
    return names, parsed


def _minimal_dataset(*, identifier: bool = True) -> Graph:
    g = Graph()
    ds = EX["dataset/1"]
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.title, Literal("Air quality 2024", lang="en")))
    g.add((ds, DCTERMS.description, Literal("Hourly NO2 readings.", lang="en")))
    if identifier:
        g.add((ds, DCTERMS.identifier, Literal("https://data.example.lu/dataset/1")))
    return g


def _hvd_dataset(*, legislation: bool) -> Graph:
    g = _minimal_dataset()
    ds, dist = EX["dataset/1"], EX["dataset/1/csv"]
    g.add((ds, DCATAP.hvdCategory, URIRef("http://data.europa.eu/bna/c_dd313021")))
    g.add((ds, DCAT.distribution, dist))
    g.add((dist, RDF.type, DCAT.Distribution))
    g.add((dist, DCAT.accessURL, URIRef("https://data.example.lu/files/air.csv")))
    g.add((dist, DCATAP.applicableLegislation, HVD_ELI))
    if legislation:
        g.add((ds, DCATAP.applicableLegislation, HVD_ELI))
    return g


def _only(report: ValidationReport, path: str) -> list[str]:
    return [v.message for v in report.violations if v.path == path]


# ------------------------------------------------------------------ DCAT-AP-LU


@needs_shared
def test_lu_valid_example_conforms_with_our_patched_shapes() -> None:
    report = validate(
        _parse(LU_EXAMPLES / "dcat-ap-lu_dummy_valid.ttl"), [Profile.dcat_ap_lu]
    )
    assert report.conforms, [v.message for v in report.violations]
    assert report.violations == []


@needs_shared
def test_lu_valid_example_fails_with_the_upstream_rc1_shapes() -> None:
    """The same file under the unpatched upstream shapes (same policy otherwise)."""
    upstream = _parse(LU_UPSTREAM_SHAPES)
    data = _parse(LU_EXAMPLES / "dcat-ap-lu_dummy_valid.ttl")

    report = validate_against(data, upstream, profile=Profile.dcat_ap_lu)

    assert not report.conforms
    assert {v.component for v in report.violations} == {"Datatype"}
    assert {v.path for v in report.violations} == {"dcat:accessURL", "dcat:downloadURL"}
    assert len(report.violations) == 5
    assert all("rdfs:Resource" in v.message for v in report.violations)


@needs_shared
def test_lu_invalid_example_reports_the_missing_title() -> None:
    report = validate(
        _parse(LU_EXAMPLES / "dcat-ap-lu_dummy_invalid.ttl"), [Profile.dcat_ap_lu]
    )

    assert not report.conforms
    [violation] = report.violations
    assert violation.field == "title"
    assert violation.path == "dct:title"
    assert violation.severity is Severity.violation
    assert violation.focus == "https://metadata.demo.lnds.tech/api/v1/datasets/1"
    assert violation.message == (
        "Dataset <https://metadata.demo.lnds.tech/api/v1/datasets/1> "
        "must have a title (dct:title)."
    )


@needs_shared
def test_lu_examples_also_meet_dcat_ap_3_core() -> None:
    assert validate(
        _parse(LU_EXAMPLES / "dcat-ap-lu_dummy_valid.ttl"), [Profile.dcat_ap_3]
    ).conforms
    assert validate(
        _parse(LU_EXAMPLES / "dcat-ap-lu_dummy.ttl"), [Profile.dcat_ap_lu]
    ).conforms


def test_identifier_is_mandatory_in_lu_but_not_in_dcat_ap_3() -> None:
    data = _minimal_dataset(identifier=False)

    assert validate(data, [Profile.dcat_ap_3]).conforms
    lu = validate(data, [Profile.dcat_ap_lu])
    assert not lu.conforms
    [violation] = lu.violations
    assert violation.field == "identifier"
    assert violation.message == (
        "Dataset <https://data.example.lu/dataset/1> "
        "must have an identifier (dct:identifier)."
    )
    assert validate(_minimal_dataset(identifier=True), [Profile.dcat_ap_lu]).conforms


def test_lu_two_node_cycles_are_still_caught() -> None:
    """The LU SPARQL cycle constraints are evaluated natively, not dropped."""
    data = _minimal_dataset()
    a, b = EX["dataset/1"], EX["dataset/2"]
    data.add((b, RDF.type, DCAT.Dataset))
    data.add((b, DCTERMS.title, Literal("Other", lang="en")))
    data.add((b, DCTERMS.description, Literal("Other.", lang="en")))
    data.add((b, DCTERMS.identifier, Literal("2")))
    data.add((a, DCAT3.hasVersion, b))
    data.add((b, DCAT3.hasVersion, a))

    report = validate(data, [Profile.dcat_ap_lu])

    assert not report.conforms
    assert {v.field for v in report.violations} == {"hasVersion"}
    assert all("cycle" in v.message for v in report.violations)


# ------------------------------------------------------------------ DCAT-AP 3 / HVD


def test_missing_title_message_names_property_and_focus() -> None:
    data = _minimal_dataset()
    data.remove((None, DCTERMS.title, None))

    report = validate(data, [Profile.dcat_ap_3])

    [violation] = report.violations
    assert violation.field == "title"
    assert "<https://data.example.lu/dataset/1>" in violation.message
    assert "dct:title" in violation.message
    for raw in (
        "Constraint Violation",
        "MinCountConstraintComponent",
        "sh:",
        "Focus Node",
    ):
        assert raw not in violation.message


def test_recommended_properties_are_warnings_not_failures() -> None:
    report = validate(_minimal_dataset(), [Profile.dcat_ap_3])

    assert report.conforms
    assert report.warnings
    assert {w.severity for w in report.warnings} == {Severity.warning}
    keyword = next(w for w in report.warnings if w.field == "keyword")
    assert keyword.message == (
        "Dataset <https://data.example.lu/dataset/1> should have a keyword (dcat:keyword)."
    )


def test_wrong_node_kind_is_explained() -> None:
    data = _minimal_dataset()
    dist = EX["dataset/1/csv"]
    data.add((EX["dataset/1"], DCAT.distribution, dist))
    data.add((dist, RDF.type, DCAT.Distribution))
    data.add((dist, DCAT.accessURL, Literal("https://data.example.lu/files/air.csv")))

    [violation] = validate(data, [Profile.dcat_ap_3]).violations

    assert violation.field == "accessURL"
    assert violation.message.startswith(
        "The access URL (dcat:accessURL) of Distribution <https://data.example.lu/dataset/1/csv> "
        "must be an IRI or a resource, not text"
    )


def test_hvd_dataset_without_applicable_legislation_fails_hvd() -> None:
    assert validate(_hvd_dataset(legislation=True), [Profile.hvd]).conforms

    report = validate(_hvd_dataset(legislation=False), [Profile.hvd])

    assert not report.conforms
    assert _only(report, "dcatap:applicableLegislation") == [
        "Dataset <https://data.example.lu/dataset/1> must have an applicable legislation "
        "(dcatap:applicableLegislation)."
    ]
    assert report.violations[0].field == "applicableLegislation"


def test_several_profiles_report_a_shared_finding_once() -> None:
    data = _minimal_dataset()
    data.remove((None, DCTERMS.title, None))

    report = validate(data, [Profile.dcat_ap_3, Profile.dcat_ap_lu, Profile.dcat_ap_2])

    titles = [v for v in report.violations if v.field == "title"]
    assert len(titles) == 1
    assert titles[0].profile is Profile.dcat_ap_3


def test_blank_node_focus_is_labelled() -> None:
    data = _minimal_dataset()
    data.remove((None, DCTERMS.title, None))
    data = Graph().parse(
        data=data.serialize(format="nt").replace(
            "<https://data.example.lu/dataset/1>", "_:ds"
        ),
        format="nt",
    )

    [violation] = validate(data, [Profile.dcat_ap_3]).violations

    assert violation.focus.startswith("_:")
    assert violation.message.startswith(f"Dataset {violation.focus} must have a title")


# ------------------------------------------------------------------ SEMIC examples


@needs_shared
def test_semic_dcat_ap_3_examples_as_published() -> None:
    """3 of the 13 DCAT-AP 3.0.1 examples conform; the others are fragments that omit
    dct:description (and sometimes dct:title) on datasets and series."""
    conforming, parsed = _conforming(SEMIC_301, Profile.dcat_ap_3)
    assert parsed == 13
    assert conforming == {
        "example-bee-population.ttl",
        "example-bee-population-2022-2023.ttl",
        "example-bee-populaton-2022-2023.ttl",
    }
    hvd, _ = _conforming(SEMIC_301, Profile.hvd)
    assert hvd == set()  # none declares HVD category / applicable legislation


@needs_shared
def test_semic_hvd_examples_as_published() -> None:
    """10 of 14 HVD examples meet DCAT-AP 3 core; 5 meet the HVD shapes (class ranges off)."""
    dcat_ap_3, parsed = _conforming(SEMIC_HVD, Profile.dcat_ap_3)
    assert parsed == 14
    assert dcat_ap_3 == {
        "example-data_service_openapi_sla.ttl",
        "example-data_service_service_desk.ttl",
        "example-map_licenses.ttl",
        "example-ms_catalogue.ttl",
        "example-ms_catalogue_hvd.ttl",
        "example-ms_catalogue_simple.ttl",
        "example-ms_dataset.ttl",
        "example-ms_dataset_2_distributions.ttl",
        "example-ms_dataset_2_identifiers.ttl",
        "example-ms_dataset_hvd_profile.ttl",
    }
    hvd, _ = _conforming(SEMIC_HVD, Profile.hvd)
    assert hvd == {
        "example-data_service_service_desk.ttl",
        "example-map_licenses.ttl",
        "example-ms_catalogue.ttl",
        "example-ms_catalogue_hvd.ttl",
        "example-ms_catalogue_simple.ttl",
    }
