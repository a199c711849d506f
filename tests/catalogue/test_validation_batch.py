"""Batch validation gives each record what validating it alone gives.

``validate_many`` runs pyshacl once per profile over many records and hands each result
back to the record that describes its focus node; these tests compare it, record by record,
with ``validate`` on the record alone: same verdict, same violations and warnings, same
messages. Records are generated from our model (good and bad, HVD or not) and, where the
shared folder is there, taken from the real DCAT fixtures.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyshacl.shape
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, RDFS

from datafactory.catalogue import rdf, validation
from datafactory.catalogue.harvest.dcat import dataset_record
from datafactory.catalogue.schemas import DatasetDraft
from datafactory.catalogue.validation import (
    Profile,
    ValidationReport,
    validate,
    validate_many,
)
from tests.support.shared import FIXTURES, needs_shared

EU = "http://publications.europa.eu/resource/authority"
HVD_METEO = "http://data.europa.eu/bna/c_164e0bf5"
WHEN = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
PUBLISHER = rdf.Publisher("statec", "STATEC")
PLAIN = [Profile.dcat_ap_3, Profile.dcat_ap_lu]


def record(number: int, **metadata: object) -> Graph:
    fields: dict[str, object] = {
        "title": {"fr": f"Jeu {number}", "en": f"Set {number}"},
        "description": {"fr": "Des chiffres."},
        "themes": [f"{EU}/data-theme/ECON"],
        "distributions": [{"access_url": f"https://example.lu/{number}.csv"}],
    }
    fields.update(metadata)
    graph = Graph()
    facts = rdf.DatasetFacts(
        f"d{number:04}", "https://data.example.lu", PUBLISHER, WHEN, WHEN, 0
    )
    rdf.add_dataset(graph, facts, DatasetDraft.model_validate(fields))
    return graph


def generated() -> tuple[list[Graph], list[list[Profile]]]:
    """Good and bad records of our own model; they share the publisher node."""
    graphs, profiles = [], []
    for number in range(12):
        variant = number % 4
        if variant == 0:  # good
            graphs.append(record(number))
        elif variant == 1:  # no description: a violation in DCAT-AP 3 and in LU
            graphs.append(record(number, description={}))
        elif variant == 2:  # a contact point (a blank node) and dates
            graphs.append(
                record(
                    number,
                    contact_name="Helpdesk",
                    contact_email="help@example.lu",
                    temporal_start="2020-01-01",
                    description={},
                )
            )
        else:  # HVD
            graphs.append(record(number, hvd_categories=[HVD_METEO]))
        profiles.append([*PLAIN, Profile.hvd] if variant == 3 else list(PLAIN))
    return graphs, profiles


def findings(
    report: ValidationReport,
) -> tuple[bool, list[tuple[str, ...]], list[tuple[str, ...]]]:
    def rows(items: list[validation.Violation]) -> list[tuple[str, ...]]:
        return [
            (
                v.focus,
                v.path or "",
                v.severity,
                v.message,
                v.shape,
                v.profile,
                v.component,
            )
            for v in items
        ]

    return report.conforms, rows(report.violations), rows(report.warnings)


def assert_same_as_alone(
    graphs: list[Graph],
    profiles: list[list[Profile]],
    *,
    warnings: bool,
    batch_size: int,
) -> list[ValidationReport]:
    batch = validate_many(graphs, profiles, warnings=warnings, batch_size=batch_size)
    assert len(batch) == len(graphs)
    for number, (graph, wanted, found) in enumerate(
        zip(graphs, profiles, batch, strict=True)
    ):
        alone = validate(graph, wanted, warnings=warnings)
        assert findings(found) == findings(alone), number
    return batch


@pytest.mark.parametrize("warnings", [True, False])
@pytest.mark.parametrize("batch_size", [1000, 5])
def test_generated_records_get_the_same_report_in_a_batch(warnings, batch_size):
    graphs, profiles = generated()
    # Nothing forces a record to be validated alone: the shared publisher is described
    # the same way by each record.
    assert validation._layout(graphs).entangled == frozenset()
    batch = assert_same_as_alone(
        graphs, profiles, warnings=warnings, batch_size=batch_size
    )
    verdicts = [report.conforms for report in batch]
    assert verdicts == [number % 4 in (0, 3) for number in range(12)]
    missing = batch[1].violations
    assert {v.profile for v in missing} == {
        Profile.dcat_ap_3
    }  # the LU copy is deduplicated
    assert any("description (dct:description)" in v.message for v in missing)
    assert all("/id/dataset/d0001" in v.focus for v in missing)
    if not warnings:
        assert all(report.warnings == [] for report in batch)


@pytest.mark.parametrize("batch_size", [1000, 1])
def test_plain_graphs_get_the_same_reports(batch_size):
    """The harvest builds its records on rdflib's SimpleMemory store (rdf.plain_graph),
    which pyshacl cannot wrap: their reports are those of the same records on the
    default store, with and without the pyrudof screen, batched or alone."""
    graphs, profiles = generated()
    plain = []
    for graph in graphs:
        copy = rdf.plain_graph()
        copy += graph
        assert not copy.store.context_aware
        plain.append(copy)
    for warnings, screen in ((True, False), (False, False), (False, True)):
        on_plain = validate_many(
            plain, profiles, warnings=warnings, batch_size=batch_size, screen=screen
        )
        on_default = validate_many(
            graphs, profiles, warnings=warnings, batch_size=batch_size, screen=screen
        )
        assert [findings(r) for r in on_plain] == [findings(r) for r in on_default]
        assert [r.conforms for r in on_plain] == [n % 4 in (0, 3) for n in range(12)]


def test_only_violations_gives_the_same_verdict_and_violations():
    graphs, profiles = generated()
    full = validate_many(graphs, profiles)
    lean = validate_many(graphs, profiles, warnings=False)
    assert any(report.warnings for report in full)
    for with_warnings, without in zip(full, lean, strict=True):
        assert with_warnings.conforms == without.conforms
        assert findings(with_warnings)[1] == findings(without)[1]


def test_records_that_point_into_each_other_are_validated_alone():
    one, other = record(1), record(2, description={})
    first = URIRef("https://data.example.lu/id/dataset/d0001")
    # The second record points at the first dataset and says something else about it.
    other.add(
        (URIRef("https://data.example.lu/id/dataset/d0002"), DCTERMS.relation, first)
    )
    other.add((first, DCTERMS.title, Literal("Autre titre", lang="fr")))
    # Two records describing one contact point differently.
    contact = BNode()
    for graph, name in ((one, "A"), (other, "B")):
        graph.add((contact, RDF.type, URIRef("http://www.w3.org/2006/vcard/ns#Kind")))
        graph.add((contact, RDFS.label, Literal(name)))
    third = record(3)
    graphs = [one, other, third]
    layout = validation._layout(graphs)
    assert layout.entangled == frozenset({0, 1})
    assert_same_as_alone(graphs, [PLAIN] * 3, warnings=True, batch_size=1000)


def test_a_subclass_statement_sends_every_record_alone():
    graphs, profiles = generated()
    graphs[0].add((URIRef("https://example.lu/Kind"), RDFS.subClassOf, DCAT.Dataset))
    graphs[2].add(
        (
            URIRef("https://data.example.lu/id/dataset/d0002"),
            RDF.type,
            URIRef("https://example.lu/Kind"),
        )
    )
    assert validation._layout(graphs).whole_graph_facts
    assert_same_as_alone(graphs, profiles, warnings=False, batch_size=1000)


def test_the_faster_parameter_list_changes_no_result(monkeypatch):
    graphs, profiles = generated()
    validation._compiled(Profile.dcat_ap_3)  # installs it
    installed = pyshacl.shape.CONSTRAINT_PARAMS  # type: ignore[attr-defined]
    assert isinstance(installed[0], validation._ParameterList)
    fast = [validate(g, p) for g, p in zip(graphs, profiles, strict=True)]
    monkeypatch.setattr(
        pyshacl.shape, "CONSTRAINT_PARAMS", (list(installed[0]), installed[1])
    )
    slow = [validate(g, p) for g, p in zip(graphs, profiles, strict=True)]
    assert [findings(r) for r in fast] == [findings(r) for r in slow]


def test_the_lists_must_match():
    with pytest.raises(ValueError, match="one list of profiles per graph"):
        validate_many([Graph()], [])


# --- the real fixtures ----------------------------------------------------------------------


def fixture_graphs() -> tuple[list[str], list[Graph], list[list[Profile]]]:
    folder = FIXTURES / "dcat"
    names, graphs, profiles = [], [], []
    for path in sorted(folder.rglob("*")):
        if (
            path.suffix not in (".ttl", ".rdf", ".xml", ".jsonld")
            or "invalid-syntax" in path.parts
        ):
            continue
        graph = Graph()
        try:
            graph.parse(path)
        except Exception:  # noqa: BLE001 - a file that does not parse as RDF is not a record
            continue
        if not any(graph.subjects(RDF.type, DCAT.Dataset)):
            continue
        names.append(str(path.relative_to(folder)))
        graphs.append(graph)
        hvd = "hvd" in path.name or any(
            graph.subjects(URIRef("http://data.europa.eu/r5r/hvdCategory"), None)
        )
        profiles.append([*PLAIN, Profile.hvd] if hvd else list(PLAIN))
    return names, graphs, profiles


@needs_shared
def test_real_fixtures_get_the_same_report_in_a_batch():
    names, graphs, profiles = fixture_graphs()
    assert len(graphs) >= 30
    # Each file is one record; some describe the same nodes (SEMIC's examples share
    # agents and IRIs), which the batch must notice.
    graphs.extend(generated()[0])
    profiles.extend(generated()[1])
    batch = assert_same_as_alone(graphs, profiles, warnings=True, batch_size=1000)
    failing = [
        name for name, report in zip(names, batch, strict=False) if not report.conforms
    ]
    assert failing, "some fixtures fail DCAT-AP as published"


@needs_shared
def test_harvested_fixture_records_get_the_same_report_in_a_batch():
    """What a harvest validates: each fixture dataset, normalised into our model, as the
    graph it would be published as; every other one loses its description (the title
    stands for it after a harvest) to have violations in the mix."""
    _names, sources, _profiles = fixture_graphs()
    graphs, profiles = [], []
    for source in sources:
        for subject in sorted(set(source.subjects(RDF.type, DCAT.Dataset)), key=str):
            remote = dataset_record(source, subject, language="fr")
            if remote.draft is None:
                continue
            draft = remote.draft
            if len(graphs) % 2:
                draft = draft.model_copy(update={"description": {}})
            graph = Graph()
            facts = rdf.DatasetFacts(
                f"h{len(graphs):04}",
                "https://data.example.lu",
                PUBLISHER,
                WHEN,
                WHEN,
                0,
            )
            rdf.add_dataset(graph, facts, draft)
            graphs.append(graph)
            profiles.append([*PLAIN, Profile.hvd] if draft.is_hvd else list(PLAIN))
    assert len(graphs) >= 60
    assert validation._layout(graphs).entangled == frozenset()
    batch = assert_same_as_alone(graphs, profiles, warnings=False, batch_size=25)
    verdicts = [report.conforms for report in batch]
    assert verdicts == [number % 2 == 0 for number in range(len(graphs))]
