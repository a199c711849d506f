"""The pyrudof screen in ``validate_many`` never lets a violation through.

With ``warnings=False`` a batch is first validated by pyrudof; pyshacl runs only on the
records pyrudof finds a violation in, so the screen is sound only if pyrudof finds every
focus node pyshacl finds. These tests compare the two engines focus node by focus node,
on the real DCAT fixtures and on generated records (our model's graphs with properties
dropped, values of the wrong kind and literals of the wrong datatype), for each profile
the screen runs; then they compare ``validate_many`` with and without the screen.

One construct splits them: a literal whose lexical form does not fit its datatype
(``"2020"^^xsd:date``). pyshacl rejects it under sh:datatype, pyrudof 0.3.35 takes it;
the screen leaves any record holding such a literal to pyshacl.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, SH, XSD
from rdflib.term import Node

from datafactory.catalogue import rdf, validation
from datafactory.catalogue.harvest.dcat import dataset_record
from datafactory.catalogue.schemas import DatasetDraft
from datafactory.catalogue.validation import Profile, validate_many
from tests.catalogue.test_validation_batch import (
    EU,
    HVD_METEO,
    PLAIN,
    PUBLISHER,
    WHEN,
    findings,
    record,
)
from tests.support.shared import FIXTURES, needs_shared

SCREENED = [Profile.dcat_ap_3, Profile.dcat_ap_lu, Profile.hvd]
DCATAP = "http://data.europa.eu/r5r/"


def pyshacl_foci(graph: Graph, profile: Profile) -> set[Node]:
    compiled = validation._compiled(profile)
    return {
        focus
        for focus, _ in validation._pyshacl_results(
            graph, compiled, profile, warnings=False
        )
    }


def pyrudof_foci(graph: Graph, profile: Profile) -> set[Node | None]:
    written = validation._screen(profile, graph.serialize(format="nt"), len(graph))
    assert written is not None, "pyrudof failed on a graph it should read"
    return {validation._node_of(focus) for focus in written}


def holds_doubtful_literal(graph: Graph) -> bool:
    return validation._Screener([graph], validation._layout([graph])).doubtful(0)


def screened_alone(graph: Graph, profile: Profile) -> set[int] | None:
    """The screen's suspects for a one-record batch; None when it steps aside."""
    screener = validation._Screener([graph], validation._layout([graph]))
    return screener.suspects(profile, [0])


# --- the real fixtures ----------------------------------------------------------------------


def fixture_files() -> list[Path]:
    folder = FIXTURES / "dcat"
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix in (".ttl", ".rdf", ".xml", ".jsonld")
        and "invalid-syntax" not in path.parts
    )


def parsed(path: Path) -> Graph | None:
    graph = Graph()
    try:
        graph.parse(path)
    except Exception:  # noqa: BLE001 - a file that does not parse as RDF is no record
        return None
    return graph


@needs_shared
@pytest.mark.parametrize("profile", SCREENED)
def test_pyrudof_finds_the_focus_nodes_pyshacl_finds_in_each_fixture(profile):
    compared = 0
    for path in fixture_files():
        graph = parsed(path)
        if graph is None or not len(graph):
            continue
        try:
            graph.serialize(format="nt")
        except Exception:  # noqa: BLE001 - rdflib cannot write it; the screen steps aside
            assert screened_alone(graph, profile) is None
            continue
        # Exactly, even on the one fixture with an ill-typed literal (datara's): it
        # lies on no property whose datatype the shapes check.
        assert pyrudof_foci(graph, profile) == pyshacl_foci(graph, profile), path
        compared += 1
    assert compared >= 40


# --- generated records ----------------------------------------------------------------------


def nodes_reaching_doubtful_literals(graph: Graph) -> set[Node]:
    """The nodes a doubtful literal can make fail: its subject and whatever leads to it."""
    reached: set[Node] = {
        s
        for s, o in graph.subject_objects()
        if isinstance(o, Literal) and validation._doubtful(o)
    }
    todo = list(reached)
    while todo:
        node = todo.pop()
        for subject in graph.subjects(None, node):
            if subject not in reached:
                reached.add(subject)
                todo.append(subject)
    return reached


def shape_paths() -> list[URIRef]:
    """Every property the screened violation shapes constrain, inverse paths' included."""
    paths: set[URIRef] = set()
    for profile in SCREENED:
        shapes = validation._compiled(profile).violations_graph
        for path in shapes.objects(None, SH.path):
            if isinstance(path, URIRef):
                paths.add(path)
        for path in shapes.objects(None, SH.inversePath):
            if isinstance(path, URIRef):
                paths.add(path)
    return sorted(paths)


def target_classes() -> list[URIRef]:
    classes: set[URIRef] = set()
    for profile in SCREENED:
        shapes = validation._compiled(profile).violations_graph
        classes.update(
            c for c in shapes.objects(None, SH.targetClass) if isinstance(c, URIRef)
        )
    return sorted(classes)


PATHS = shape_paths()
CLASSES = target_classes()

LITERALS = st.sampled_from(
    [
        Literal("Un titre", lang="fr"),
        Literal("A title", lang="en"),
        Literal("plain"),
        Literal("typed", datatype=XSD.string),
        Literal("2020-01-31", datatype=XSD.date),
        Literal("2020-01-31T10:00:00", datatype=XSD.dateTime),
        Literal("2020-01-31T10:00:00+01:00", datatype=XSD.dateTime),
        Literal("2020", datatype=XSD.gYear),
        Literal("3", datatype=XSD.integer),
        Literal("2.5", datatype=XSD.decimal),
        Literal("true", datatype=XSD.boolean),
        Literal("https://example.lu/page", datatype=XSD.anyURI),
        Literal("P1D", datatype=XSD.duration),
        Literal("12", datatype=XSD.nonNegativeInteger),
        Literal("x", datatype=URIRef("http://www.w3.org/2000/01/rdf-schema#Literal")),
        Literal("<p>x</p>", datatype=RDF.HTML),
        # Lexical forms that do not fit their datatype: the construct the screen avoids.
        Literal("2020", datatype=XSD.date),
        Literal("31/01/2020", datatype=XSD.date),
        Literal("2020-01-31", datatype=XSD.dateTime),
        Literal("yesterday", datatype=XSD.dateTime),
        Literal("three", datatype=XSD.integer),
        Literal("-1", datatype=XSD.nonNegativeInteger),
        Literal("twelve", datatype=XSD.nonNegativeInteger),
        Literal("zz", datatype=XSD.hexBinary),
        Literal("one day", datatype=XSD.duration),
        Literal("abc", datatype=XSD.decimal),
        Literal("2020-13-45T99:00:00", datatype=XSD.dateTime),
    ]
)
IRIS = st.sampled_from(
    [
        URIRef("https://example.lu/thing"),
        URIRef(f"{DCATAP}applicableLegislation/x"),
        URIRef(HVD_METEO),
        URIRef("http://publications.europa.eu/resource/authority/file-type/CSV"),
        URIRef("mailto:help@example.lu"),
    ]
)


@st.composite
def drafts(draw: st.DrawFn) -> Graph:
    """A record of our model, from a few optional fields."""
    number = draw(st.integers(0, 9999))
    fields: dict[str, object] = {}
    if draw(st.booleans()):
        fields.update(contact_name="Helpdesk", contact_email="help@example.lu")
    if draw(st.booleans()):
        fields.update(temporal_start="2020-01-01", temporal_end="2021-12-31")
    if draw(st.booleans()):
        fields.update(hvd_categories=[HVD_METEO])
    if draw(st.booleans()):
        fields.update(
            keywords={"fr": ["emploi", "prix"]}, languages=[f"{EU}/language/FRA"]
        )
    if draw(st.booleans()):
        fields.update(frequency=f"{EU}/frequency/ANNUAL", version_info="1.0")
    distributions = draw(st.integers(0, 2))
    fields["distributions"] = [
        {
            "access_url": f"https://example.lu/{number}-{i}.csv",
            "format": f"{EU}/file-type/CSV",
            "licence": f"{EU}/licence/CC_BY_4_0",
            "byte_size": 1200,
        }
        for i in range(distributions)
    ]
    return record(number, **fields)


@st.composite
def mutated(draw: st.DrawFn) -> Graph:
    """A record of our model with triples dropped, values swapped for ones of another
    kind or datatype, and triples added on the shapes' properties."""
    graph = draw(drafts())
    subjects = sorted(set(graph.subjects()), key=str)
    for _ in range(draw(st.integers(0, 6))):
        triples = sorted(graph, key=lambda t: (str(t[0]), str(t[1]), str(t[2])))
        if not triples:
            break
        s, p, o = triples[draw(st.integers(0, len(triples) - 1))]
        action = draw(st.sampled_from(["drop", "swap", "add", "link"]))
        if action == "drop":
            graph.remove((s, p, o))
        elif action == "swap":
            graph.remove((s, p, o))
            graph.add((s, p, draw(st.one_of(LITERALS, IRIS, st.just(BNode())))))
        elif action == "add":
            subject = draw(st.sampled_from(subjects))
            graph.add(
                (
                    subject,
                    draw(st.sampled_from(PATHS)),
                    draw(st.one_of(LITERALS, IRIS, st.sampled_from(subjects))),
                )
            )
        else:  # give a node another class, or none
            subject = draw(st.sampled_from(subjects))
            graph.remove((subject, RDF.type, None))
            if draw(st.booleans()):
                graph.add((subject, RDF.type, draw(st.sampled_from(CLASSES))))
    return graph


def test_an_iri_where_a_date_belongs_is_one_violation_on_its_field():
    """pyshacl also writes the inner result of the sh:node (focus: the IRI itself, no
    field); it is left out, as pyrudof leaves it out, so both engines flag the
    distribution only (found by the property test below)."""
    graph = record(0, distributions=[{"access_url": "https://example.lu/0.csv"}])
    distribution = next(graph.subjects(RDF.type, DCAT.Distribution))
    graph.add((distribution, DCTERMS.issued, URIRef("https://example.lu/thing")))
    assert pyshacl_foci(graph, Profile.dcat_ap_3) == {distribution}
    assert pyrudof_foci(graph, Profile.dcat_ap_3) == {distribution}
    report = validation.validate(graph, [Profile.dcat_ap_3], warnings=False)
    assert [(v.focus, v.field) for v in report.violations] == [
        (str(distribution), "issued")
    ]


@settings(max_examples=120)
@given(graph=mutated(), profile=st.sampled_from(SCREENED))
def test_pyrudof_finds_the_focus_nodes_pyshacl_finds_in_generated_records(
    graph, profile
):
    expected = pyshacl_foci(graph, profile)
    found = pyrudof_foci(graph, profile)
    if holds_doubtful_literal(graph):
        assert found >= expected - nodes_reaching_doubtful_literals(graph)
    else:
        assert found == expected


@settings(max_examples=25)
@given(
    graphs=st.lists(mutated(), min_size=2, max_size=5),
    hvd=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_the_screen_changes_no_report_on_generated_batches(graphs, hvd):
    """Records that share nodes (the publisher, a dataset IRI drawn twice), some left
    alone for it, some failing: the same reports with and without the screen."""
    profiles = [
        [*PLAIN, Profile.hvd] if flag else list(PLAIN)
        for flag, _ in zip(hvd, graphs, strict=False)
    ]
    screened = validate_many(graphs, profiles, warnings=False, batch_size=3)
    plain = validate_many(graphs, profiles, warnings=False, batch_size=3, screen=False)
    assert [findings(r) for r in screened] == [findings(r) for r in plain]


def test_pyrudof_takes_a_date_pyshacl_rejects_so_the_screen_leaves_it_to_pyshacl():
    graph = record(1)
    distribution = next(graph.subjects(RDF.type, DCAT.Distribution))
    graph.add((distribution, DCTERMS.issued, Literal("2020", datatype=XSD.date)))
    expected = pyshacl_foci(graph, Profile.dcat_ap_3)
    assert expected == {distribution}, "pyshacl rejects the date"
    # Should pyrudof come to check every lexical form, the guard may go.
    assert pyrudof_foci(graph, Profile.dcat_ap_3) == set()
    assert holds_doubtful_literal(graph)
    screened = validate_many([graph], [PLAIN], warnings=False)
    plain = validate_many([graph], [PLAIN], warnings=False, screen=False)
    assert [findings(r) for r in screened] == [findings(r) for r in plain]
    assert not screened[0].conforms


# --- validate_many, screened or not ---------------------------------------------------------


def mixed_batch() -> tuple[list[Graph], list[list[Profile]]]:
    graphs, profiles = [], []
    for number in range(18):
        variant = number % 9
        if variant == 0:
            graph = record(number)
        elif variant == 1:  # no description
            graph = record(number, description={})
        elif variant == 2:  # a contact point, a period, no description
            graph = record(
                number,
                contact_name="Helpdesk",
                contact_email="help@example.lu",
                temporal_start="2020-01-01",
                description={},
            )
        elif variant == 3:  # HVD, conforming
            graph = record(number, hvd_categories=[HVD_METEO])
        elif variant == 4:  # an access URL that is text
            graph = record(number)
            for dist, url in list(graph.subject_objects(DCAT.accessURL)):
                graph.set((dist, DCAT.accessURL, Literal(str(url))))
        elif variant == 5:  # an ill-typed date, nothing else wrong
            graph = record(number)
            for dist in list(graph.subjects(RDF.type, DCAT.Distribution)):
                graph.add((dist, DCTERMS.issued, Literal("2020", datatype=XSD.date)))
        elif variant == 6:  # two modification dates
            graph = record(number)
            dataset = next(graph.subjects(RDF.type, DCAT.Dataset))
            graph.add(
                (dataset, DCTERMS.modified, Literal("2021-01-01", datatype=XSD.date))
            )
        elif variant == 7:  # HVD without its category: a violation of HVD only
            graph = record(number, hvd_categories=[HVD_METEO])
            graph.remove((None, URIRef(f"{DCATAP}hvdCategory"), None))
        else:  # its own source: only DCAT-AP-LU's cycle check, not in the shapes
            graph = record(number)
            dataset = next(graph.subjects(RDF.type, DCAT.Dataset))
            graph.add((dataset, DCTERMS.source, dataset))
        graphs.append(graph)
        profiles.append([*PLAIN, Profile.hvd] if variant in (3, 7) else list(PLAIN))
    return graphs, profiles


@pytest.mark.parametrize("batch_size", [1000, 5])
def test_the_screen_changes_no_report(batch_size):
    graphs, profiles = mixed_batch()
    screened = validate_many(graphs, profiles, warnings=False, batch_size=batch_size)
    plain = validate_many(
        graphs, profiles, warnings=False, batch_size=batch_size, screen=False
    )
    assert [findings(r) for r in screened] == [findings(r) for r in plain]
    verdicts = [r.conforms for r in plain]
    assert True in verdicts and False in verdicts
    cycles = [r for number, r in enumerate(screened) if number % 9 == 8]
    assert all([v.component for v in r.violations] == ["Sparql"] for r in cycles), (
        "the cycle is found, and nothing else"
    )


def test_the_screen_sends_to_pyshacl_only_the_records_that_may_fail():
    graphs, profiles = mixed_batch()
    plain = validate_many(graphs, profiles, warnings=False, screen=False)
    screener = validation._Screener(graphs, validation._layout(graphs))
    batch = list(range(len(graphs)))
    suspects = screener.suspects(Profile.dcat_ap_3, batch)
    assert suspects is not None
    failing = {
        n
        for n, report in enumerate(plain)
        if any(v.profile is Profile.dcat_ap_3 for v in report.violations)
    }
    doubtful = {n for n in batch if screener.doubtful(n)}
    assert suspects == failing | doubtful
    assert suspects != set(batch)
    # The records whose only fault is a cycle are no suspects: the check runs on its own.
    assert not {8, 17} & (screener.suspects(Profile.dcat_ap_lu, batch) or set(batch))


def test_each_batch_replaces_the_data_of_the_one_before():
    failing = record(1, description={})
    good = record(2)
    assert validation._screen(
        Profile.dcat_ap_3, failing.serialize(format="nt"), len(failing)
    )
    # Were the first graph still loaded, the count of triples would not match.
    assert (
        validation._screen(Profile.dcat_ap_3, good.serialize(format="nt"), len(good))
        == set()
    )


def test_a_graph_rdflib_cannot_write_is_validated_by_pyshacl():
    graph = record(1)
    dataset = next(graph.subjects(RDF.type, DCAT.Dataset))
    graph.add((dataset, DCTERMS.relation, URIRef("https://example.lu/a b")))
    assert screened_alone(graph, Profile.dcat_ap_3) is None
    screened = validate_many([graph, record(2)], [PLAIN, PLAIN], warnings=False)
    plain = validate_many(
        [graph, record(2)], [PLAIN, PLAIN], warnings=False, screen=False
    )
    assert [findings(r) for r in screened] == [findings(r) for r in plain]


@needs_shared
def test_harvested_fixture_records_get_the_same_report_screened():
    """What a harvest publishes: each fixture dataset in our model, every other one
    without its description, screened and not."""
    graphs, profiles = [], []
    for path in fixture_files():
        source = parsed(path)
        if source is None:
            continue
        for subject in sorted(set(source.subjects(RDF.type, DCAT.Dataset)), key=str):
            remote = dataset_record(source, subject, language="fr")
            if remote.draft is None:
                continue
            draft: DatasetDraft = remote.draft
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
    screened = validate_many(graphs, profiles, warnings=False, batch_size=25)
    plain = validate_many(graphs, profiles, warnings=False, batch_size=25, screen=False)
    assert [findings(r) for r in screened] == [findings(r) for r in plain]
    assert [r.conforms for r in screened] == [n % 2 == 0 for n in range(len(graphs))]
