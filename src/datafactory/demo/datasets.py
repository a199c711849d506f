"""Demo datasets: what Luxembourg's data holders could publish, open and protected.

Written for the demo (not copied from any portal). Protected datasets carry a data
dictionary, so the permits and SPE rooms have variables to work with.
"""

from __future__ import annotations

from typing import Any

EU = "http://publications.europa.eu/resource/authority"
IANA = "https://www.iana.org/assignments/media-types"
LUX = f"{EU}/country/LUX"
CC_BY = f"{EU}/licence/CC_BY_4_0"
PUBLIC = f"{EU}/access-right/PUBLIC"
NON_PUBLIC = f"{EU}/access-right/NON_PUBLIC"
RESTRICTED = f"{EU}/access-right/RESTRICTED"
PERSONAL = "https://w3id.org/dpv#PersonalData"
STATISTICS = "http://data.europa.eu/bna/c_e1da4e07"
FRA, DEU, ENG, LTZ = (f"{EU}/language/{c}" for c in ("FRA", "DEU", "ENG", "LTZ"))


def _csv(url: str, title: dict[str, str], size: int) -> dict[str, Any]:
    return {
        "title": title,
        "access_url": url,
        "download_url": url,
        "format": f"{EU}/file-type/CSV",
        "media_type": f"{IANA}/text/csv",
        "licence": CC_BY,
        "byte_size": size,
    }


def _open(
    slug: str,
    title: dict[str, str],
    description: dict[str, str],
    *,
    theme: str,
    keywords: dict[str, list[str]],
    frequency: str = "ANNUAL",
    hvd: bool = False,
    start: str | None = None,
) -> dict[str, Any]:
    url = f"https://download.data.public.lu/demo/{slug}.csv"
    return {
        "title": title,
        "description": description,
        "keywords": keywords,
        "themes": [f"{EU}/data-theme/{theme}"],
        "access_rights": PUBLIC,
        "frequency": f"{EU}/frequency/{frequency}",
        "languages": [FRA, DEU, ENG],
        "spatial": [LUX],
        "temporal_start": start,
        "hvd_categories": [STATISTICS] if hvd else [],
        "distributions": [_csv(url, {"en": "CSV file", "fr": "Fichier CSV"}, 48_000)],
    }


def _variable(
    name: str, label: str, kind: str, sensitivity: str, unit: str | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "label": {"en": label},
        "type": kind,
        "sensitivity": sensitivity,
        "unit": unit,
    }


# (publisher slug, contact, metadata)
DATASETS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "statec",
        "info@statec.etat.lu",
        _open(
            "population-communes",
            {
                "fr": "Population par commune",
                "de": "Bevölkerung nach Gemeinde",
                "en": "Population by commune",
                "lb": "Populatioun no Gemeng",
            },
            {
                "fr": "Population résidente au 1er janvier, par commune, sexe et nationalité.",
                "de": "Wohnbevölkerung am 1. Januar nach Gemeinde, Geschlecht und Staatsangehörigkeit.",
                "en": "Resident population on 1 January by commune, sex and nationality.",
            },
            theme="SOCI",
            hvd=True,
            start="2011-01-01",
            keywords={
                "fr": ["population", "commune", "nationalité"],
                "en": ["population", "census"],
            },
        ),
    ),
    (
        "statec",
        "info@statec.etat.lu",
        _open(
            "consumer-prices",
            {
                "fr": "Indice des prix à la consommation",
                "de": "Verbraucherpreisindex",
                "en": "Consumer price index",
            },
            {
                "fr": "Indice national des prix à la consommation (IPCN), base 2015 = 100.",
                "en": "National consumer price index (NCPI), base 2015 = 100.",
            },
            theme="ECON",
            frequency="MONTHLY",
            hvd=True,
            start="1995-01-01",
            keywords={"fr": ["inflation", "prix"], "en": ["inflation", "prices"]},
        ),
    ),
    (
        "statec",
        "info@statec.etat.lu",
        _open(
            "gdp-quarterly",
            {
                "fr": "Produit intérieur brut trimestriel",
                "en": "Quarterly gross domestic product",
            },
            {
                "fr": "PIB en volume et en valeur, données trimestrielles corrigées des variations saisonnières.",
                "en": "GDP in volume and value, seasonally adjusted quarterly data.",
            },
            theme="ECON",
            frequency="QUARTERLY",
            hvd=True,
            start="2000-01-01",
            keywords={
                "fr": ["PIB", "comptes nationaux"],
                "en": ["GDP", "national accounts"],
            },
        ),
    ),
    (
        "statec",
        "info@statec.etat.lu",
        _open(
            "cross-border-workers",
            {
                "fr": "Travailleurs frontaliers par pays de résidence",
                "de": "Grenzgänger nach Wohnsitzland",
                "en": "Cross-border workers by country of residence",
            },
            {
                "fr": "Nombre de frontaliers venant de France, Belgique et Allemagne, par secteur.",
                "en": "Number of cross-border workers from France, Belgium and Germany, by sector.",
            },
            theme="ECON",
            frequency="QUARTERLY",
            start="2005-01-01",
            keywords={
                "fr": ["frontaliers", "emploi"],
                "de": ["Grenzgänger"],
                "en": ["commuters"],
            },
        ),
    ),
    (
        "adem",
        "info@adem.etat.lu",
        _open(
            "job-seekers",
            {
                "fr": "Demandeurs d'emploi résidents disponibles",
                "en": "Resident job seekers available",
            },
            {
                "fr": "Demandeurs d'emploi inscrits à l'ADEM, par âge, sexe et durée d'inscription.",
                "en": "Job seekers registered with ADEM by age, sex and registration duration.",
            },
            theme="ECON",
            frequency="MONTHLY",
            start="2010-01-01",
            keywords={"fr": ["chômage", "emploi"], "en": ["unemployment"]},
        ),
    ),
    (
        "igss",
        "info@igss.etat.lu",
        _open(
            "insured-persons",
            {
                "fr": "Personnes protégées par l'assurance maladie",
                "en": "Persons covered by health insurance",
            },
            {
                "fr": "Assurés et co-assurés de l'assurance maladie-maternité, par régime et par âge.",
                "en": "Insured persons and dependants in health and maternity insurance, by scheme and age.",
            },
            theme="HEAL",
            start="2008-01-01",
            keywords={
                "fr": ["sécurité sociale", "assurance maladie"],
                "en": ["social security"],
            },
        ),
    ),
    (
        "cns",
        "info@cns.etat.lu",
        _open(
            "reimbursement-rates",
            {
                "fr": "Taux de remboursement des actes médicaux",
                "en": "Reimbursement rates of medical acts",
            },
            {
                "fr": "Nomenclature des actes et taux de prise en charge par la CNS.",
                "en": "Nomenclature of medical acts and the share reimbursed by the CNS.",
            },
            theme="HEAL",
            frequency="IRREG",
            keywords={"fr": ["nomenclature", "remboursement"], "en": ["reimbursement"]},
        ),
    ),
    (
        "statec",
        "info@statec.etat.lu",
        {
            "title": {
                "en": "Population register extract",
                "fr": "Extrait du registre national des personnes physiques",
            },
            "description": {
                "en": "One row per resident: year of birth, sex, commune and nationality, "
                "from the national register of natural persons (RNPP).",
                "fr": "Une ligne par résident, issue du registre national des personnes physiques (RNPP).",
            },
            "themes": [f"{EU}/data-theme/SOCI"],
            "access_rights": NON_PUBLIC,
            "data_protection": [PERSONAL],
            "access_conditions": {
                "en": "Available only in the secure processing environment, under a "
                "permit from the data authority (DGA Art. 5)."
            },
            "languages": [FRA, ENG],
            "spatial": [LUX],
            "distributions": [
                {
                    "title": {"en": "Secure processing environment"},
                    "access_url": "https://data.public.lu/spe/rnpp",
                }
            ],
            "variables": [
                _variable(
                    "matricule",
                    "National identification number",
                    "string",
                    "direct_identifier",
                ),
                _variable("birth_year", "Year of birth", "integer", "quasi_identifier"),
                _variable("sex", "Sex", "code", "quasi_identifier"),
                _variable(
                    "commune", "Commune of residence", "code", "quasi_identifier"
                ),
                _variable("nationality", "Nationality", "code", "quasi_identifier"),
            ],
        },
    ),
    (
        "cns",
        "donnees@cns.etat.lu",
        {
            "title": {
                "en": "Health-insurance claims",
                "fr": "Prestations remboursées par l'assurance maladie",
            },
            "description": {
                "en": "Every reimbursed claim: date, nomenclature code, amount, and the "
                "pseudonymised insured person.",
                "fr": "Chaque prestation remboursée : date, code de nomenclature, montant.",
            },
            "themes": [f"{EU}/data-theme/HEAL"],
            "access_rights": NON_PUBLIC,
            "data_protection": [PERSONAL, "https://w3id.org/dpv#SensitivePersonalData"],
            "access_conditions": {
                "en": "Secondary use under EHDS Art. 53; apply to the health data "
                "access body. Pseudonymised form only with a justification."
            },
            "languages": [FRA],
            "spatial": [LUX],
            "distributions": [
                {
                    "title": {"en": "Secure processing environment"},
                    "access_url": "https://data.public.lu/spe/cns-claims",
                }
            ],
            "variables": [
                _variable(
                    "matricule",
                    "National identification number",
                    "string",
                    "direct_identifier",
                ),
                _variable("claim_date", "Date of the act", "date", "quasi_identifier"),
                _variable("act_code", "Nomenclature code", "code", "sensitive"),
                _variable("diagnosis_group", "Diagnosis group", "code", "sensitive"),
                _variable("amount", "Amount reimbursed", "decimal", "other", "EUR"),
            ],
        },
    ),
    (
        "adem",
        "donnees@adem.etat.lu",
        {
            "title": {
                "en": "Employment histories",
                "fr": "Historiques d'emploi",
                "de": "Beschäftigungsverläufe",
            },
            "description": {
                "en": "Spells of employment and registered unemployment per person, with "
                "sector and working time.",
                "fr": "Périodes d'emploi et de chômage inscrit par personne.",
            },
            "themes": [f"{EU}/data-theme/ECON"],
            "access_rights": RESTRICTED,
            "data_protection": [PERSONAL],
            "access_conditions": {
                "en": "Research use under a permit; linkage with IGSS affiliations "
                "through the trusted third party only."
            },
            "languages": [FRA, DEU],
            "spatial": [LUX],
            "distributions": [
                {
                    "title": {"en": "Secure processing environment"},
                    "access_url": "https://data.public.lu/spe/adem-histories",
                }
            ],
            "variables": [
                _variable(
                    "matricule",
                    "National identification number",
                    "string",
                    "direct_identifier",
                ),
                _variable(
                    "spell_start", "Start of the spell", "date", "quasi_identifier"
                ),
                _variable("spell_end", "End of the spell", "date", "quasi_identifier"),
                _variable("status", "Employed or job seeker", "code", "other"),
                _variable("nace_sector", "Economic sector (NACE)", "code", "other"),
                _variable(
                    "hours_per_week",
                    "Contractual hours per week",
                    "decimal",
                    "other",
                    "h",
                ),
            ],
        },
    ),
)
