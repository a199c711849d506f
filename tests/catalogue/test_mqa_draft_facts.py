"""Scoring from the metadata gives what scoring its graph gives.

Publishing scores a dataset from its metadata (``mqa.draft_facts``) instead of building
the graph ``rdf.add_dataset`` makes and reading it back (``mqa.read_facts``); both must
earn the same points, details and unchecked links for any metadata.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.catalogue import mqa, rdf
from datafactory.catalogue.schemas import DatasetDraft

BASE = "https://data.example.lu"
EU = "http://publications.europa.eu/resource/authority"
_FORMATS = [f"{EU}/file-type/{c}" for c in ("CSV", "JSON", "PDF", "XLSX")] + [
    "https://example.org/format/odd"
]
_MEDIA = [
    "http://www.iana.org/assignments/media-types/text/csv",
    "https://example.org/media/odd",
]
_LICENCES = [f"{EU}/licence/CC_BY_4_0", "https://example.org/licence"]
_URLS = [f"https://files.example.lu/{n}" for n in range(4)]


def _texts() -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(["fr", "en", "de", "lb"]), st.just("Text"))


_distribution = st.fixed_dictionaries(
    {"access_url": st.sampled_from(_URLS)},
    optional={
        "download_url": st.none() | st.sampled_from(_URLS),
        "format": st.none() | st.sampled_from(_FORMATS),
        "media_type": st.none() | st.sampled_from(_MEDIA),
        "licence": st.none() | st.sampled_from(_LICENCES),
        "rights": _texts(),
        "byte_size": st.none() | st.integers(0, 10**9),
        "title": _texts(),
    },
)
_drafts = st.fixed_dictionaries(
    {"title": st.just({"fr": "Titre", "en": "Title"})},
    optional={
        "keywords": st.dictionaries(
            st.sampled_from(["fr", "en"]),
            st.lists(st.sampled_from(["eau", "water", "santé"]), max_size=3),
        ),
        "themes": st.lists(
            st.sampled_from([f"{EU}/data-theme/ENVI", f"{EU}/data-theme/HEAL"])
        ),
        "spatial": st.lists(st.just(f"{EU}/country/LUX"), max_size=2),
        "access_rights": st.none()
        | st.sampled_from([f"{EU}/access-right/PUBLIC", "https://example.org/ar"]),
        "temporal_start": st.none() | st.just(date(2020, 1, 1)),
        "temporal_end": st.none() | st.just(date(2021, 12, 31)),
        "contact_name": st.none() | st.just("Service"),
        "contact_email": st.none() | st.just("info@example.lu"),
        "distributions": st.lists(_distribution, max_size=12),
    },
)


@settings(max_examples=150, deadline=None)
@given(
    _drafts,
    st.dictionaries(st.sampled_from(_URLS), st.sampled_from([True, False, None])),
    st.sampled_from([True, False, None]),
)
def test_the_draft_scores_like_its_graph(fields, links, shacl):
    meta = DatasetDraft.model_validate(fields)
    moment = datetime(2026, 11, 26, 12, tzinfo=UTC)
    facts = rdf.DatasetFacts(
        id="abcdefghijkm",
        base_url=BASE,
        publisher=rdf.Publisher("bench", "Bench"),
        created_at=moment,
        modified_at=moment,
        version=1,
    )
    graph = rdf.new_graph()
    subject = str(rdf.add_dataset(graph, facts, meta))

    from_graph = mqa.score_dataset(
        graph, subject, link_status=links, shacl_conforms=shacl
    )
    from_draft = mqa.score_facts(
        mqa.draft_facts(meta, subject),
        subject,
        link_status=links,
        shacl_conforms=shacl,
    )

    assert from_draft == from_graph
    graph_facts = mqa.read_facts(graph, subject)
    draft_facts = mqa.draft_facts(meta, subject)
    # Same values wherever the graph holds IRIs or literals (blank nodes only count).
    assert [d.node for d in draft_facts.distributions] == [
        d.node for d in graph_facts.distributions
    ]
    for ours, theirs in zip(
        draft_facts.distributions, graph_facts.distributions, strict=True
    ):
        assert (ours.access_urls, ours.download_urls, ours.formats) == (
            theirs.access_urls,
            theirs.download_urls,
            theirs.formats,
        )
        assert (ours.media_types, ours.licences, ours.byte_sizes) == (
            theirs.media_types,
            theirs.licences,
            theirs.byte_sizes,
        )
        assert bool(ours.rights) == bool(theirs.rights)
    assert (draft_facts.themes, draft_facts.spatial, draft_facts.access_rights) == (
        graph_facts.themes,
        graph_facts.spatial,
        graph_facts.access_rights,
    )
    assert draft_facts.keywords == graph_facts.keywords
    assert bool(draft_facts.temporal) == bool(graph_facts.temporal)
    assert bool(draft_facts.contact_points) == bool(graph_facts.contact_points)
