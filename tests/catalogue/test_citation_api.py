"""Citations of published datasets in five formats, each carrying the persistent URI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import bibtexparser
import pytest

from tests.catalogue.quality_world import bearer, publish, world

__all__ = ["world"]

BASE = "http://127.0.0.1:8000"
DATACITE = "{http://datacite.org/schema/kernel-4}"


@pytest.fixture
def dataset_id(client, world):
    return publish(client, world)


def cite(client, dataset_id, format, **params):
    return client.get(
        f"/api/v1/datasets/{dataset_id}/citation", params={"format": format, **params}
    )


@pytest.mark.parametrize(
    ("format", "media_type"),
    [
        ("apa", "text/plain"),
        ("bibtex", "application/x-bibtex"),
        ("ris", "application/x-research-info-systems"),
        ("csl-json", "application/vnd.citationstyles.csl+json"),
        ("datacite", "application/vnd.datacite.datacite+xml"),
    ],
)
def test_each_format_has_its_media_type_and_the_persistent_uri(
    client, dataset_id, format, media_type
):
    answer = cite(client, dataset_id, format)
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] == media_type
    assert f"{BASE}/id/dataset/{dataset_id}" in answer.text


def test_bibtex_parses_and_names_the_publisher(client, dataset_id):
    library = bibtexparser.parse_string(cite(client, dataset_id, "bibtex").text)
    assert not library.failed_blocks
    (entry,) = library.entries
    fields = {f.key: f.value for f in entry.fields}
    assert "STATEC" in fields["author"] and "Population" in fields["title"]
    assert fields["url"] == f"{BASE}/id/dataset/{dataset_id}"


def test_csl_json_parses_with_the_year_and_version(client, dataset_id):
    (item,) = json.loads(cite(client, dataset_id, "csl-json").text)
    assert item["type"] == "dataset"
    assert item["URL"] == f"{BASE}/id/dataset/{dataset_id}"
    assert item["author"] == [{"literal": "STATEC"}]
    assert item["version"] == "2026"  # the steward's version_info
    assert isinstance(item["issued"]["date-parts"][0][0], int)


def test_datacite_xml_parses_with_the_uri_as_an_alternate_identifier(
    client, dataset_id
):
    root = ET.fromstring(cite(client, dataset_id, "datacite").content)
    assert root.tag == f"{DATACITE}resource"
    identifiers = [e.text for e in root.iter(f"{DATACITE}alternateIdentifier")]
    assert identifiers == [f"{BASE}/id/dataset/{dataset_id}"]
    name = root.find(f"{DATACITE}creators/{DATACITE}creator/{DATACITE}creatorName")
    assert name is not None and name.text == "STATEC"


def test_ris_and_apa_read_as_citations(client, dataset_id):
    ris = cite(client, dataset_id, "ris").text
    assert ris.startswith("TY  - DATA") and "ER  -" in ris
    apa = cite(client, dataset_id, "apa").text
    assert apa.startswith("STATEC.") and "[Dataset]" in apa


def test_a_version_is_cited_by_its_versioned_uri_which_resolves(
    client, world, dataset_id
):
    client.patch(
        f"/api/v1/datasets/{dataset_id}",
        headers=bearer(world["steward"].token),
        json={"version_info": None},
    )
    client.post(
        f"/api/v1/datasets/{dataset_id}/publish", headers=bearer(world["steward"].token)
    )
    (first,) = json.loads(cite(client, dataset_id, "csl-json", version=1).text)
    assert first["URL"] == f"{BASE}/id/dataset/{dataset_id}/version/1"
    assert first["version"] == "2026"
    (second,) = json.loads(cite(client, dataset_id, "csl-json", version=2).text)
    assert second["version"] == "2"  # no version_info: the version number
    resolved = client.get(f"/id/dataset/{dataset_id}/version/1", follow_redirects=False)
    assert resolved.status_code == 303
    assert resolved.headers["location"] == f"/api/v1/datasets/{dataset_id}/versions/1"
    assert cite(client, dataset_id, "apa", version=9).status_code == 404


def test_an_unknown_format_or_an_unpublished_dataset_is_refused(client, world):
    created = client.post(
        "/api/v1/datasets",
        headers=bearer(world["steward"].token),
        json={"publisher_id": world["statec"], "metadata": {"title": {"en": "Draft"}}},
    )
    assert cite(client, created.json()["id"], "apa").status_code == 404
    assert cite(client, "nope", "apa").status_code == 404
    published = publish(client, world)
    assert cite(client, published, "mla").status_code == 422
