"""Stored MQA scores: computed on publication and after link checks, cheap to aggregate."""

from __future__ import annotations

import re

import pytest

from datafactory.catalogue.models import Dataset
from datafactory.catalogue.quality import checks, scoring
from datafactory.catalogue.quality.links import LinkResult
from datafactory.catalogue.quality.vocabularies import CsvVocabularies
from tests.catalogue.quality_world import PROTECTED, complete, publish, world

__all__ = ["world"]

EU = "http://publications.europa.eu/resource/authority"
IANA = "https://www.iana.org/assignments/media-types"


@pytest.mark.parametrize(
    ("method", "iri", "expected"),
    [
        ("is_file_type", f"{EU}/file-type/CSV", True),
        ("is_file_type", "CSV", False),
        ("is_media_type", f"{IANA}/text/csv", True),
        ("is_media_type", "http://www.iana.org/assignments/media-types/text/csv", True),
        ("is_machine_readable", f"{EU}/file-type/XLSX", True),
        ("is_non_proprietary", f"{EU}/file-type/XLSX", False),
        ("is_non_proprietary", f"{EU}/file-type/CSV", True),
        ("is_machine_readable", f"{EU}/file-type/PDF", False),
        ("is_licence", f"{EU}/licence/CC_BY_4_0", True),
        ("is_licence", "http://publications.europa.eu/mdr/authority/licence/CC0", True),
        ("is_licence", "https://creativecommons.org/licenses/by/4.0/", False),
        ("is_access_right", f"{EU}/access-right/NON_PUBLIC", True),
        ("is_access_right", f"{EU}/access-right/SOMETIMES", False),
    ],
)
def test_the_vocabularies_answer_from_the_csv_lists(method, iri, expected):
    assert getattr(CsvVocabularies(), method)(iri) is expected


def test_a_complete_dataset_scores_no_link_points_until_its_links_are_checked(
    client, world, committed, settings
):
    dataset_id = publish(client, world)
    first = client.get(f"/api/v1/datasets/{dataset_id}/quality").json()
    assert first["version"] == 1 and first["dcat_ap_conforms"] is True
    # Download URL present (20), but neither link checked yet.
    assert first["dimensions"]["Accessibility"] == 20
    access = next(i for i in first["indicators"] if i["key"] == "access_url_status")
    assert access["points"] == 0
    assert access["not_checked"] == ["https://statistiques.public.lu/population.csv"]
    assert first["dimensions"]["Findability"] == 80  # no temporal coverage

    def checked(session):
        checks.store_results(
            session,
            [LinkResult("https://statistiques.public.lu/population.csv", 200, True)],
        )
        return scoring.rescore(session, [dataset_id], base_url=settings.base_url)

    assert committed(checked) == 1
    after = client.get(f"/api/v1/datasets/{dataset_id}/quality").json()
    assert after["dimensions"]["Accessibility"] == 100
    assert after["total"] == first["total"] + 80
    assert after["band"] in ("Good", "Excellent")


def test_publishing_stores_the_score_in_the_quality_table(client, world, db):
    dataset_id = publish(client, world)
    row = db.get(scoring.DatasetQuality, dataset_id)
    assert row is not None and row.version == 1
    assert len(row.indicators) == 23
    assert row.total == pytest.approx(sum(i["points"] for i in row.indicators))


def test_the_catalogue_average_is_the_mean_of_the_published_scores(client, world):
    empty = client.get("/api/v1/quality").json()
    assert empty["datasets"] == 0 and empty["average"] == 0 and empty["band"] == "Bad"
    rich = publish(client, world)
    poor = publish(client, world, complete(format=None, media_type=None, licence=None))
    totals = [
        client.get(f"/api/v1/datasets/{d}/quality").json()["total"]
        for d in (rich, poor)
    ]
    assert totals[0] > totals[1]
    figures = client.get("/api/v1/quality").json()
    assert figures["datasets"] == 2
    assert figures["average"] == pytest.approx(sum(totals) / 2, abs=0.01)
    assert sum(figures["bands"].values()) == 2
    assert set(figures["dimensions"]) == {
        "Findability",
        "Accessibility",
        "Interoperability",
        "Reusability",
        "Contextuality",
    }
    assert figures["dimension_max"]["Interoperability"] == 110


def test_a_withdrawn_dataset_leaves_the_catalogue_figures(client, world, committed):
    dataset_id = publish(client, world)
    assert client.get("/api/v1/quality").json()["datasets"] == 1

    def withdraw(session):
        session.get(Dataset, dataset_id).status = "deleted"

    committed(withdraw)
    assert client.get("/api/v1/quality").json()["datasets"] == 0


def test_a_draft_has_no_score(client, world):
    created = client.post(
        "/api/v1/datasets",
        headers={"Authorization": f"Bearer {world['steward'].token}"},
        json={"publisher_id": world["statec"], "metadata": complete()},
    )
    assert created.status_code == 201
    answer = client.get(f"/api/v1/datasets/{created.json()['id']}/quality")
    assert answer.status_code == 404


def test_the_quality_page_draws_accessible_charts_with_a_table_fallback(client, world):
    publish(client, world)
    page = client.get("/quality")
    assert page.status_code == 200
    assert "<svg" in page.text and 'role="img"' in page.text
    assert re.search(r"<title id=\"dimensions-title\">", page.text)
    assert re.search(r"<desc id=\"bands-desc\">", page.text)
    assert "<table>" in page.text and "Findability" in page.text
    assert "style=" not in page.text  # the CSP forbids inline styles
    assert 'href="/quality"' in client.get("/").text  # in the navigation


def test_the_dataset_page_shows_the_score_the_dimensions_and_the_cite_box(
    client, world
):
    dataset_id = publish(client, world)
    page = client.get(f"/datasets/{dataset_id}").text
    score = client.get(f"/api/v1/datasets/{dataset_id}/quality").json()
    assert f'<strong id="quality-score">{score["total"]:g}</strong>' in page
    for dimension in score["dimensions"]:
        assert dimension in page
    assert 'id="citation-bibtex"' in page and 'id="citation-apa"' in page
    assert f"/id/dataset/{dataset_id}" in page
    assert "Request access" not in page  # public data


def test_protected_data_offers_a_request_for_access(client, world):
    dataset_id = publish(client, world, PROTECTED)
    page = client.get(f"/datasets/{dataset_id}").text
    assert f'href="/applications/new?dataset={dataset_id}"' in page
    assert "Request access" in page


def test_the_docs_hold_the_indicator_table_of_the_scorer():
    from pathlib import Path

    from datafactory.catalogue.quality.indicators_doc import indicators_table

    page = Path(__file__).resolve().parents[2] / "docs" / "quality.md"
    assert indicators_table() in page.read_text(encoding="utf-8")
