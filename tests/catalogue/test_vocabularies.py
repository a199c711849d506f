"""The shipped controlled vocabularies: data quality, lookups, labels and normalisation."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib.term import URIRef

from datafactory.catalogue.vocabularies import (
    LANGUAGES,
    VOCABULARIES,
    Concept,
    load,
    normalise,
)

EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
ALL = [(name, concept) for name in VOCABULARIES for concept in load(name)]


def eu(table: str, code: str) -> str:
    return f"{EU}{table}/{code}"


def names_of(concept: Concept) -> list[str]:
    """Every literal that must normalise back to ``concept``."""
    return [concept.iri, concept.code, *concept.labels.values(), *concept.aliases]


# --- the data files -----------------------------------------------------------------


@pytest.mark.parametrize("name", VOCABULARIES)
def test_every_vocabulary_loads_and_is_not_empty(name: str) -> None:
    vocabulary = load(name)
    assert vocabulary.name == name
    assert len(vocabulary) > 0
    assert load(name) is vocabulary  # cached


def test_an_unknown_vocabulary_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown vocabulary"):
        load("colours")


@pytest.mark.parametrize("name", VOCABULARIES)
def test_iris_are_unique_and_well_formed(name: str) -> None:
    iris = [concept.iri for concept in load(name)]
    assert len(iris) == len(set(iris))
    for iri in iris:
        parts = urlsplit(iri)
        assert parts.scheme in {"http", "https"}, iri
        assert parts.netloc, iri
        assert iri == iri.strip() and " " not in iri
        assert str(URIRef(iri)) == iri


@pytest.mark.parametrize("name", VOCABULARIES)
def test_codes_are_unique(name: str) -> None:
    codes = [concept.code.casefold() for concept in load(name)]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("name", VOCABULARIES)
def test_every_concept_has_a_label_in_each_of_our_four_languages(name: str) -> None:
    for concept in load(name):
        for lang in LANGUAGES:
            assert concept.labels.get(lang, "").strip(), (concept.iri, lang)


@pytest.mark.parametrize("name", VOCABULARIES)
def test_no_literal_names_two_concepts(name: str) -> None:
    assert load(name).ambiguous_terms == ()


@pytest.mark.parametrize("name", VOCABULARIES)
def test_every_code_label_alias_and_iri_normalises_to_its_own_concept(
    name: str,
) -> None:
    vocabulary = load(name)
    wrong = [
        (term, concept.iri, vocabulary.normalise(term))
        for concept in vocabulary
        for term in names_of(concept)
        if vocabulary.normalise(term) != concept.iri
    ]
    assert wrong == []


def test_eu_authority_iris_use_their_own_table() -> None:
    tables = {
        "data-theme": "data-theme",
        "file-type": "file-type",
        "frequency": "frequency",
        "language": "language",
        "licence": "licence",
        "access-right": "access-right",
        "country": "country",
    }
    for name, table in tables.items():
        for concept in load(name):
            assert concept.iri == eu(table, concept.code)


def test_the_13_data_themes_are_present() -> None:
    codes = {c.code for c in load("data-theme")}
    assert codes == set(
        "AGRI ECON EDUC ENER ENVI GOVE HEAL INTR JUST REGI SOCI TECH TRAN".split()
    )


def test_the_6_hvd_categories_are_present() -> None:
    iris = {c.iri for c in load("hvd-category")}
    assert iris == {
        f"http://data.europa.eu/bna/{code}"
        for code in (
            "c_ac64a52d",
            "c_dd313021",
            "c_164e0bf5",
            "c_e1da4e07",
            "c_a9135398",
            "c_b79e35eb",
        )
    }


def test_luxembourg_has_12_cantons_and_100_communes_each_in_a_canton() -> None:
    cantons = {c.code for c in load("canton")}
    communes = list(load("commune"))
    assert len(cantons) == 12
    assert len(communes) == 100
    assert {c.extra["canton"] for c in communes} == cantons


def test_countries_cover_the_eu_the_eea_switzerland_and_the_uk() -> None:
    countries = load("country")
    assert sum(c.extra["eu_member"] == "true" for c in countries) == 27
    codes = {c.code for c in countries}
    assert {"ISL", "LIE", "NOR", "CHE", "GBR", "LUX"} <= codes


def test_languages_are_the_24_official_eu_languages_and_luxembourgish() -> None:
    codes = {c.code for c in load("language")}
    assert len(codes) == 25
    assert {"LTZ", "FRA", "DEU", "ENG", "POR"} <= codes


def test_file_types_carry_media_types_and_mqa_flags() -> None:
    file_types = load("file-type")
    assert len(file_types) >= 60
    for concept in file_types:
        assert concept.extra["machine_readable"] in {"true", "false"}
        assert concept.extra["non_proprietary"] in {"true", "false"}
    csv = file_types.get(eu("file-type", "CSV"))
    assert csv is not None
    assert csv.extra["media_type"] == "text/csv"
    assert csv.extra["machine_readable"] == "true"
    pdf = file_types.get(eu("file-type", "PDF"))
    assert pdf is not None and pdf.extra["machine_readable"] == "false"


def test_every_media_type_row_points_back_to_a_file_type_with_that_type() -> None:
    file_types = load("file-type")
    for concept in load("media-type"):
        assert concept.iri == IANA + concept.code
        file_type = file_types.get(eu("file-type", concept.extra["file_type"]))
        assert file_type is not None
        assert file_type.extra["media_type"] == concept.code


def test_data_protection_has_the_six_dcat_ap_lu_types() -> None:
    allowed = {
        c.code for c in load("data-protection") if c.extra["dcat_ap_lu"] == "true"
    }
    assert allowed == {
        "PersonalData",
        "SpecialCategoryPersonalData",
        "CommerciallyConfidentialData",
        "StatisticallyConfidentialData",
        "IntellectualPropertyData",
        "ProfessionalConfidentialData",
    }
    for concept in load("data-protection"):
        assert concept.iri == f"https://w3id.org/dpv#{concept.code}"


def test_sensitivity_classes() -> None:
    assert [c.code for c in load("sensitivity")] == [
        "direct_identifier",
        "quasi_identifier",
        "sensitive",
        "other",
    ]


# --- get and label ------------------------------------------------------------------


def test_get_finds_only_the_exact_iri() -> None:
    themes = load("data-theme")
    concept = themes.get(eu("data-theme", "ECON"))
    assert concept is not None and concept.code == "ECON"
    assert themes.get(eu("data-theme", "econ")) is None
    assert eu("data-theme", "ECON") in themes


def test_label_in_each_language() -> None:
    countries = load("country")
    lux = eu("country", "LUX")
    assert countries.label(lux, "en") == "Luxembourg"
    assert countries.label(lux, "fr") == "Luxembourg"
    assert countries.label(lux, "de") == "Luxemburg"
    assert countries.label(lux, "lb") == "Lëtzebuerg"
    assert countries.label(lux, "de-LU") == "Luxemburg"


def test_label_falls_back_to_english_then_french_german_luxembourgish() -> None:
    themes = load("data-theme")
    agri = eu("data-theme", "AGRI")
    assert themes.label(agri, "pt") == "Agriculture, fisheries, forestry and food"
    assert themes.label(agri, "pt", fallback=("lb", "fr")) == (
        "Landwirtschaft, Fëscherei, Bëschwirtschaft an Iessen"
    )


def test_label_of_an_unknown_iri_raises() -> None:
    with pytest.raises(KeyError):
        load("data-theme").label(eu("data-theme", "NOPE"), "en")


def test_lookup_returns_the_concept() -> None:
    concept = load("commune").lookup("Esch-Uelzecht")
    assert concept is not None
    assert concept.code == "esch-sur-alzette"
    assert concept.extra["canton"] == "esch-sur-alzette"


# --- normalisation examples ---------------------------------------------------------

CASES = [
    # file types
    ("file-type", "CSV", eu("file-type", "CSV")),
    ("file-type", "csv", eu("file-type", "CSV")),
    ("file-type", ".csv", eu("file-type", "CSV")),
    ("file-type", "text/csv", eu("file-type", "CSV")),
    ("file-type", "text/csv; charset=utf-8", eu("file-type", "CSV")),
    ("file-type", " Text/CSV ", eu("file-type", "CSV")),
    (
        "file-type",
        "https://publications.europa.eu/resource/authority/file-type/CSV/",
        eu("file-type", "CSV"),
    ),
    (
        "file-type",
        "http://publications.europa.eu/mdr/authority/file-type/CSV",
        eu("file-type", "CSV"),
    ),
    ("file-type", f"<{EU}file-type/CSV>", eu("file-type", "CSV")),
    (
        "file-type",
        "http://www.iana.org/assignments/media-types/text/csv",
        eu("file-type", "CSV"),
    ),
    (
        "file-type",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        eu("file-type", "XLSX"),
    ),
    ("file-type", "xlsx", eu("file-type", "XLSX")),
    ("file-type", "Excel", eu("file-type", "XLS")),
    ("file-type", "application/geo+json", eu("file-type", "GEOJSON")),
    ("file-type", "application/vnd.geo+json", eu("file-type", "GEOJSON")),
    ("file-type", "ESRI Shapefile", eu("file-type", "SHP")),
    ("file-type", "shp", eu("file-type", "SHP")),
    ("file-type", "N-Triples", eu("file-type", "RDF_N_TRIPLES")),
    ("file-type", "N_TRIPLES", eu("file-type", "RDF_N_TRIPLES")),
    ("file-type", "RDF/XML", eu("file-type", "RDF_XML")),
    ("file-type", "application/rdf+xml", eu("file-type", "RDF_XML")),
    ("file-type", ".ttl", eu("file-type", "RDF_TURTLE")),
    ("file-type", "JSON-LD", eu("file-type", "JSON_LD")),
    ("file-type", "jpg", eu("file-type", "JPEG")),
    ("file-type", "tar.gz", eu("file-type", "TAR_GZ")),
    ("file-type", "image/tiff", eu("file-type", "TIFF")),
    ("file-type", "WMS", eu("file-type", "WMS_SRVC")),
    ("file-type", "application/x-zip-compressed", eu("file-type", "ZIP")),
    # media types
    ("media-type", "text/csv", IANA + "text/csv"),
    ("media-type", "CSV", IANA + "text/csv"),
    ("media-type", eu("file-type", "JSON"), IANA + "application/json"),
    (
        "media-type",
        "http://www.iana.org/assignments/media-types/application/json/",
        IANA + "application/json",
    ),
    # languages
    ("language", "fr", eu("language", "FRA")),
    ("language", "FR", eu("language", "FRA")),
    ("language", "French", eu("language", "FRA")),
    ("language", "Français", eu("language", "FRA")),
    ("language", "francais", eu("language", "FRA")),
    ("language", "fre", eu("language", "FRA")),
    ("language", "fr-LU", eu("language", "FRA")),
    ("language", "lb", eu("language", "LTZ")),
    ("language", "ltz", eu("language", "LTZ")),
    ("language", "Lëtzebuergesch", eu("language", "LTZ")),
    ("language", "Luxembourgish", eu("language", "LTZ")),
    ("language", "Deutsch", eu("language", "DEU")),
    ("language", "ger", eu("language", "DEU")),
    ("language", "en", eu("language", "ENG")),
    # frequencies
    ("frequency", "annual", eu("frequency", "ANNUAL")),
    ("frequency", "yearly", eu("frequency", "ANNUAL")),
    ("frequency", "Annuel", eu("frequency", "ANNUAL")),
    ("frequency", "jährlich", eu("frequency", "ANNUAL")),
    ("frequency", "All Joer", eu("frequency", "ANNUAL")),
    ("frequency", "daily", eu("frequency", "DAILY")),
    ("frequency", "Quotidien", eu("frequency", "DAILY")),
    ("frequency", "irreg", eu("frequency", "IRREG")),
    ("frequency", "update_cont", eu("frequency", "UPDATE_CONT")),
    ("frequency", "real-time", eu("frequency", "UPDATE_CONT")),
    ("frequency", "semi-annual", eu("frequency", "ANNUAL_2")),
    # licences
    (
        "licence",
        "https://creativecommons.org/licenses/by/4.0/",
        eu("licence", "CC_BY_4_0"),
    ),
    (
        "licence",
        "http://creativecommons.org/licenses/by/4.0",
        eu("licence", "CC_BY_4_0"),
    ),
    (
        "licence",
        "https://creativecommons.org/licenses/by/4.0/legalcode",
        eu("licence", "CC_BY_4_0"),
    ),
    ("licence", "cc-by", eu("licence", "CC_BY_4_0")),
    ("licence", "CC-BY-4.0", eu("licence", "CC_BY_4_0")),
    ("licence", "CC BY 4.0", eu("licence", "CC_BY_4_0")),
    ("licence", "cc_by_4_0", eu("licence", "CC_BY_4_0")),
    ("licence", "cc-zero", eu("licence", "CC0")),
    ("licence", "CC0-1.0", eu("licence", "CC0")),
    (
        "licence",
        "https://creativecommons.org/publicdomain/zero/1.0/",
        eu("licence", "CC0"),
    ),
    ("licence", "odc-odbl", eu("licence", "ODC_ODBL")),
    ("licence", "ODbL-1.0", eu("licence", "ODC_ODBL")),
    (
        "licence",
        "https://opendatacommons.org/licenses/odbl/",
        eu("licence", "ODC_ODBL"),
    ),
    ("licence", "CC-BY-SA-4.0", eu("licence", "CC_BYSA_4_0")),
    ("licence", "EUPL-1.2", eu("licence", "EUPL_1_2")),
    # access rights
    ("access-right", "public", eu("access-right", "PUBLIC")),
    ("access-right", "Öffentlich", eu("access-right", "PUBLIC")),
    ("access-right", "non-public", eu("access-right", "NON_PUBLIC")),
    ("access-right", "NON_PUBLIC", eu("access-right", "NON_PUBLIC")),
    ("access-right", "restricted", eu("access-right", "RESTRICTED")),
    (
        "access-right",
        "https://op.europa.eu/en/web/eu-vocabularies/concept/-/resource?uri=http://publications.europa.eu/resource/authority/access-right/PUBLIC",
        eu("access-right", "PUBLIC"),
    ),
    # themes
    ("data-theme", "ECON", eu("data-theme", "ECON")),
    ("data-theme", "econ", eu("data-theme", "ECON")),
    ("data-theme", "Économie et finances", eu("data-theme", "ECON")),
    ("data-theme", "Umwelt", eu("data-theme", "ENVI")),
    (
        "data-theme",
        "https://publications.europa.eu/resource/authority/data-theme/TRAN",
        eu("data-theme", "TRAN"),
    ),
    # HVD categories
    ("hvd-category", "geospatial", "http://data.europa.eu/bna/c_ac64a52d"),
    ("hvd-category", "Statistics", "http://data.europa.eu/bna/c_e1da4e07"),
    (
        "hvd-category",
        "https://data.europa.eu/bna/c_b79e35eb",
        "http://data.europa.eu/bna/c_b79e35eb",
    ),
    ("hvd-category", "C_A9135398", "http://data.europa.eu/bna/c_a9135398"),
    # places
    ("country", "LU", eu("country", "LUX")),
    ("country", "lux", eu("country", "LUX")),
    ("country", "Lëtzebuerg", eu("country", "LUX")),
    ("country", "Letzebuerg", eu("country", "LUX")),
    ("country", "Luxemburg", eu("country", "LUX")),
    ("country", "EL", eu("country", "GRC")),
    ("country", "UK", eu("country", "GBR")),
    ("canton", "Kanton Wolz", "https://data.public.lu/id/canton/wiltz"),
    ("canton", "wiltz", "https://data.public.lu/id/canton/wiltz"),
    ("commune", "Luxembourg", "https://data.public.lu/id/commune/luxembourg"),
    ("commune", "Stad Lëtzebuerg", "https://data.public.lu/id/commune/luxembourg"),
    ("commune", "Ettelbrück", "https://data.public.lu/id/commune/ettelbruck"),
    ("commune", "Pétange", "https://data.public.lu/id/commune/petange"),
    ("commune", "PETANGE", "https://data.public.lu/id/commune/petange"),
    ("commune", "Ärenzdall", "https://data.public.lu/id/commune/vallee-de-l-ernz"),
    # data protection and sensitivity
    ("data-protection", "PersonalData", "https://w3id.org/dpv#PersonalData"),
    ("data-protection", "personal data", "https://w3id.org/dpv#PersonalData"),
    (
        "data-protection",
        "Données à caractère personnel",
        "https://w3id.org/dpv#PersonalData",
    ),
    (
        "data-protection",
        "http://w3id.org/dpv#StatisticallyConfidentialData",
        "https://w3id.org/dpv#StatisticallyConfidentialData",
    ),
    (
        "sensitivity",
        "quasi-identifier",
        "https://data.public.lu/id/sensitivity/quasi_identifier",
    ),
    (
        "sensitivity",
        "Direct identifier",
        "https://data.public.lu/id/sensitivity/direct_identifier",
    ),
]


@pytest.mark.parametrize(
    ("name", "value", "expected"), CASES, ids=[f"{n}:{v[:40]}" for n, v, _ in CASES]
)
def test_normalise_maps_harvested_literals_to_the_vocabulary_iri(
    name: str, value: str, expected: str
) -> None:
    assert normalise(name, value) == expected


UNKNOWN = [
    ("file-type", "banana"),
    ("file-type", ""),
    ("file-type", "   "),
    ("file-type", "https://example.org/formats/CSV"),
    ("file-type", "http://publications.europa.eu/resource/authority/language/FRA"),
    ("country", "http://publications.europa.eu/resource/authority/language/FRA"),
    ("language", "Klingon"),
    ("licence", "https://example.org/my-licence"),
    ("licence", "all rights reserved"),
    ("frequency", "fortnightly-ish"),
    ("access-right", "secret squirrel"),
    ("commune", "Paris"),
    ("hvd-category", "http://data.europa.eu/bna/c_00000000"),
]


@pytest.mark.parametrize(("name", "value"), UNKNOWN)
def test_normalise_returns_none_for_unknown_values(name: str, value: str) -> None:
    assert normalise(name, value) is None


# --- the property -------------------------------------------------------------------


def _variants(text: str) -> st.SearchStrategy[str]:
    spaced = st.tuples(
        st.sampled_from(["", " ", "\t"]), st.sampled_from(["", " ", "\n"])
    )
    cased = st.sampled_from([text, text.upper(), text.lower(), text.casefold()])
    return st.builds(lambda case, pad: pad[0] + case + pad[1], cased, spaced)


@st.composite
def concept_and_name(draw: st.DrawFn) -> tuple[str, Concept, str]:
    name, concept = draw(st.sampled_from(ALL))
    term = draw(st.sampled_from(names_of(concept)))
    return name, concept, draw(_variants(term))


@settings(max_examples=400, deadline=None, derandomize=True)
@given(concept_and_name())
def test_normalising_any_name_of_a_concept_returns_that_concept(
    case: tuple[str, Concept, str],
) -> None:
    name, concept, value = case
    assert normalise(name, value) == concept.iri
