"""Citations: APA, BibTeX, RIS, CSL-JSON and DataCite XML, with and without DOI."""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from datetime import date

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors

from datafactory.catalogue.citation import (
    CitationError,
    CitationRecord,
    bare_doi,
    bibtex_escape,
    citation_key,
    csl_item,
    datacite_metadata,
    is_valid_datacite,
    to_apa,
    to_bibtex,
    to_csl_json,
    to_datacite_xml,
    to_ris,
)

DATACITE = "{http://datacite.org/schema/kernel-4}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

WITH_DOI = CitationRecord(
    identifier="https://data.public.lu/id/dataset/population-communes",
    doi="https://doi.org/10.5281/zenodo.1234567",
    title="Évolution de la population résidente par commune",
    creators=["STATEC", "Müller, Anaïs"],
    publisher="Institut national de la statistique et des études économiques",
    year=2024,
    version="1.2",
    issued=date(2024, 3, 1),
    url="https://data.public.lu/fr/datasets/population-communes/",
    language="fr",
    description="Population résidente au 1er janvier, par commune.",
)
WITHOUT_DOI = dataclasses.replace(WITH_DOI, doi=None, version=None, issued=None)
RECORDS = pytest.mark.parametrize(
    "record", [WITH_DOI, WITHOUT_DOI], ids=["with-doi", "without-doi"]
)

MULTILINGUAL = [
    ("fr", "Évolution de la population résidente"),
    ("de", "Bevölkerungsentwicklung nach Gemeinde, Größe & Alter"),
    ("lb", "Bevëlkerungsentwécklung no Gemeng"),
]
SPECIAL_TITLE = "Income & wealth: top 10% {gross} by canton"


def parse_bibtex(text: str, *, decode: bool = True):
    decoding = [LatexDecodingMiddleware()] if decode else []
    library = bibtexparser.parse_string(
        text, append_middleware=[*decoding, SeparateCoAuthors()]
    )
    assert library.failed_blocks == []
    assert len(library.entries) == 1
    return library.entries[0]


# --- DOI -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    ["10.5281/zenodo.1", "doi:10.5281/zenodo.1", "https://doi.org/10.5281/zenodo.1"],
)
def test_a_doi_is_accepted_bare_prefixed_or_as_a_resolver_url(given):
    assert bare_doi(given) == "10.5281/zenodo.1"


def test_a_malformed_doi_is_refused():
    with pytest.raises(CitationError, match="not a DOI"):
        to_ris(dataclasses.replace(WITH_DOI, doi="zenodo.1"))


# --- APA -------------------------------------------------------------------------


def test_apa_with_doi_ends_with_the_doi_url():
    assert to_apa(WITH_DOI) == (
        "STATEC, & Müller, A. (2024). Évolution de la population résidente par "
        "commune (Version 1.2) [Dataset]. Institut national de la statistique et "
        "des études économiques. https://doi.org/10.5281/zenodo.1234567"
    )


def test_apa_without_doi_ends_with_the_landing_page():
    assert to_apa(WITHOUT_DOI) == (
        "STATEC, & Müller, A. (2024). Évolution de la population résidente par "
        "commune [Dataset]. Institut national de la statistique et des études "
        "économiques. https://data.public.lu/fr/datasets/population-communes/"
    )


@pytest.mark.parametrize(("language", "title"), MULTILINGUAL, ids=lambda v: v[:12])
def test_apa_keeps_accented_titles(language, title):
    record = dataclasses.replace(WITH_DOI, title=title, language=language)
    assert f"(2024). {title} (Version 1.2)" in to_apa(record)


# --- BibTeX ----------------------------------------------------------------------


@RECORDS
def test_bibtex_parses_back_to_the_same_fields(record):
    text = to_bibtex(record)
    entry = parse_bibtex(text)
    raw = parse_bibtex(text, decode=False)
    assert entry.entry_type == "misc"
    assert entry.key == citation_key(record)
    assert entry["author"] == list(record.creators)
    assert entry["title"] == record.title
    assert entry["publisher"] == record.publisher
    assert entry["year"] == str(record.year)
    assert entry["language"] == record.language
    assert raw["url"] == record.url
    if record.doi:
        assert raw["doi"] == "10.5281/zenodo.1234567"
        assert entry["version"] == "1.2"
        assert entry["date"] == "2024-03-01"
    else:
        assert "doi" not in raw.fields_dict
        assert "version" not in entry.fields_dict


def test_bibtex_escapes_special_characters_and_parses_back():
    record = dataclasses.replace(WITH_DOI, title=SPECIAL_TITLE)
    text = to_bibtex(record)
    assert r"title        = {Income \& wealth: top 10\% \{gross\} by canton}" in text
    assert parse_bibtex(text)["title"] == SPECIAL_TITLE


def test_bibtex_escape_covers_every_tex_special_character():
    assert bibtex_escape(r"a\b_c#d$e~f^g") == (
        r"a\textbackslash{}b\_c\#d\$e\textasciitilde{}f\textasciicircum{}g"
    )


@pytest.mark.parametrize(("language", "title"), MULTILINGUAL, ids=lambda v: v[:12])
def test_bibtex_keeps_accents_as_utf8(language, title):
    record = dataclasses.replace(WITH_DOI, title=title, language=language)
    assert parse_bibtex(to_bibtex(record))["title"] == title


def test_bibtex_protects_organisations_from_name_splitting():
    text = to_bibtex(WITH_DOI)
    assert "author       = {{STATEC} and Müller, Anaïs}" in text


def test_bibtex_can_write_a_biblatex_dataset_entry():
    entry = parse_bibtex(to_bibtex(WITH_DOI, entry_type="dataset"))
    assert entry.entry_type == "dataset"
    assert "howpublished" not in entry.fields_dict


def test_the_citation_key_is_stable_ascii_and_tied_to_the_identifier():
    key = citation_key(WITH_DOI)
    assert key == citation_key(dataclasses.replace(WITH_DOI, version="2.0"))
    assert re.fullmatch(r"statec2024evolution_[0-9a-f]{4}", key)
    other = dataclasses.replace(WITH_DOI, identifier="https://data.public.lu/id/x")
    assert citation_key(other) != key
    person_first = dataclasses.replace(WITH_DOI, creators=["Müller, Anaïs"])
    assert citation_key(person_first).startswith("muller2024")


# --- RIS -------------------------------------------------------------------------


@RECORDS
def test_ris_has_the_mandatory_tags_in_order(record):
    lines = to_ris(record).split("\r\n")
    assert lines[0] == "TY  - DATA"
    assert lines[-2:] == ["ER  - ", ""]
    assert all(re.fullmatch(r"[A-Z][A-Z0-9]  - .*", line) for line in lines[:-1])
    tags = [line[:2] for line in lines[:-1]]
    order = ["TY", "AU", "TI", "PY", "DA", "PB", "ET", "DO", "UR", "LA", "M3", "AB"]
    assert [t for t in tags if t != "ER"] == sorted(
        [t for t in tags if t != "ER"], key=order.index
    )
    assert tags.count("AU") == 2
    assert ("DO" in tags) == (record.doi is not None)
    assert f"TI  - {record.title}" in lines


def test_ris_keeps_special_characters_and_puts_each_value_on_one_line():
    record = dataclasses.replace(
        WITH_DOI, title=SPECIAL_TITLE, description="Line one.\nLine two."
    )
    lines = to_ris(record).split("\r\n")
    assert f"TI  - {SPECIAL_TITLE}" in lines
    assert "AB  - Line one. Line two." in lines
    assert "DO  - 10.5281/zenodo.1234567" in lines


# --- CSL-JSON --------------------------------------------------------------------


@RECORDS
def test_csl_json_is_a_dataset_item_with_the_expected_keys(record):
    items = json.loads(to_csl_json(record))
    assert isinstance(items, list) and len(items) == 1
    item = items[0]
    assert item["type"] == "dataset"
    expected = {"id", "type", "title", "author", "publisher", "issued", "URL"}
    assert expected <= item.keys()
    assert item["author"] == [
        {"literal": "STATEC"},
        {"family": "Müller", "given": "Anaïs"},
    ]
    if record.doi:
        assert item["DOI"] == "10.5281/zenodo.1234567"
        assert item["issued"] == {"date-parts": [[2024, 3, 1]]}
        assert item["version"] == "1.2"
    else:
        assert "DOI" not in item and "version" not in item
        assert item["issued"] == {"date-parts": [[2024]]}


def test_csl_json_keeps_accents_unescaped():
    record = dataclasses.replace(WITH_DOI, title=MULTILINGUAL[2][1])
    assert MULTILINGUAL[2][1] in to_csl_json(record)
    assert csl_item(record)["title"] == MULTILINGUAL[2][1]


# --- DataCite --------------------------------------------------------------------


@RECORDS
def test_datacite_metadata_validates_against_the_kernel_4_5_schema(record):
    assert is_valid_datacite(record)


@RECORDS
def test_datacite_xml_has_the_kernel_4_elements(record):
    root = ET.fromstring(to_datacite_xml(record).encode())
    assert root.tag == f"{DATACITE}resource"

    def text(path: str) -> str | None:
        return root.findtext(path.replace("dc:", DATACITE))

    names = root.findall(f"{DATACITE}creators/{DATACITE}creator/{DATACITE}creatorName")
    assert [(n.text, n.get("nameType")) for n in names] == [
        ("STATEC", "Organizational"),
        ("Müller, Anaïs", "Personal"),
    ]
    title = root.find(f"{DATACITE}titles/{DATACITE}title")
    assert title is not None
    assert (title.text, title.get(XML_LANG)) == (record.title, "fr")
    assert text("dc:publisher") == record.publisher
    assert text("dc:publicationYear") == "2024"
    assert text("dc:language") == "fr"
    kind = root.find(f"{DATACITE}resourceType")
    assert kind is not None and kind.get("resourceTypeGeneral") == "Dataset"
    identifier = root.find(f"{DATACITE}identifier")
    alternate = root.find(
        f"{DATACITE}alternateIdentifiers/{DATACITE}alternateIdentifier"
    )
    if record.doi:
        assert identifier is not None
        assert (identifier.text, identifier.get("identifierType")) == (
            "10.5281/zenodo.1234567",
            "DOI",
        )
        assert text("dc:version") == "1.2"
        assert alternate is None
    else:
        assert identifier is None
        assert alternate is not None
        assert (alternate.text, alternate.get("alternateIdentifierType")) == (
            record.url,
            "URL",
        )
        assert root.find(f"{DATACITE}version") is None


def test_datacite_xml_escapes_special_characters():
    record = dataclasses.replace(WITH_DOI, title=SPECIAL_TITLE)
    xml = to_datacite_xml(record)
    assert "Income &amp; wealth: top 10% {gross} by canton" in xml
    assert ET.fromstring(xml.encode()).findtext(
        f"{DATACITE}titles/{DATACITE}title"
    ) == (SPECIAL_TITLE)


def test_datacite_needs_a_creator():
    with pytest.raises(CitationError, match="creator"):
        datacite_metadata(dataclasses.replace(WITH_DOI, creators=[]))
