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
HVD = "http://data.europa.eu/bna"
STATISTICS, GEOSPATIAL, ENVIRONMENT, MOBILITY = (
    f"{HVD}/{c}" for c in ("c_e1da4e07", "c_ac64a52d", "c_dd313021", "c_b79e35eb")
)
SPECIAL = "https://w3id.org/dpv#SpecialCategoryPersonalData"
STAT_SECRET = "https://w3id.org/dpv#StatisticallyConfidentialData"
BUSINESS_SECRET = "https://w3id.org/dpv#CommerciallyConfidentialData"
FRA, DEU, ENG, LTZ = (f"{EU}/language/{c}" for c in ("FRA", "DEU", "ENG", "LTZ"))


MEDIA_TYPES = {
    "CSV": "text/csv",
    "JSON": "application/json",
    "GEOJSON": "application/geo+json",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ODS": "application/vnd.oasis.opendocument.spreadsheet",
    "XML": "application/xml",
}


def _file(
    url: str, title: dict[str, str], size: int, fmt: str = "CSV"
) -> dict[str, Any]:
    return {
        "title": title,
        "access_url": url,
        "download_url": url,
        "format": f"{EU}/file-type/{fmt}",
        "media_type": f"{IANA}/{MEDIA_TYPES[fmt]}",
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
    hvd: str | None = None,
    start: str | None = None,
    fmt: str = "CSV",
) -> dict[str, Any]:
    """An open dataset: public, CC BY 4.0, one file on the download server."""
    url = f"https://download.data.public.lu/demo/{slug}.{fmt.lower()}"
    name = {"en": f"{fmt} file", "fr": f"Fichier {fmt}"}
    return {
        "title": title,
        "description": description,
        "keywords": keywords,
        "themes": [f"{EU}/data-theme/{theme}"],
        "access_rights": PUBLIC,
        "frequency": f"{EU}/frequency/{frequency}",
        "languages": [FRA, DEU, ENG, *([LTZ] if "lb" in title else [])],
        "spatial": [LUX],
        "temporal_start": start,
        "hvd_categories": [hvd] if hvd else [],
        "distributions": [_file(url, name, 48_000, fmt)],
    }


def _variable(
    name: str,
    label: str,
    kind: str,
    sensitivity: str,
    unit: str | None = None,
    codes: tuple[str, ...] = (),
) -> dict[str, Any]:
    variable: dict[str, Any] = {
        "name": name,
        "label": {"en": label},
        "type": kind,
        "sensitivity": sensitivity,
        "unit": unit,
    }
    if codes:
        variable["code_list"] = [{"code": code} for code in codes]
    return variable


# (publisher slug, contact, metadata)
_CURATED: tuple[tuple[str, str, dict[str, Any]], ...] = (
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
            hvd=STATISTICS,
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
            hvd=STATISTICS,
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
            hvd=STATISTICS,
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
                _variable("sex", "Sex", "code", "quasi_identifier", codes=("F", "M")),
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
            "data_protection": [PERSONAL, SPECIAL],
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
                _variable("year", "Year of the act", "integer", "quasi_identifier"),
                _variable(
                    "act_code",
                    "Nomenclature code",
                    "code",
                    "sensitive",
                    codes=(
                        "C1",
                        "C3",
                        "ENDO",
                        "HBA1C",
                        "HOS",
                        "LAB",
                        "OPH",
                        "PHY",
                        "POD",
                    ),
                ),
                _variable(
                    "care_type",
                    "Type of care",
                    "code",
                    "sensitive",
                    codes=(
                        "general_practice",
                        "hospital",
                        "laboratory",
                        "paramedical",
                        "specialist",
                    ),
                ),
                _variable(
                    "diagnosis_group",
                    "Diagnosis group",
                    "code",
                    "sensitive",
                    codes=(
                        "cardiovascular",
                        "diabetes",
                        "infectious",
                        "mental_health",
                        "musculoskeletal",
                        "other",
                        "respiratory",
                    ),
                ),
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

CONTACTS = {
    "statec": "info@statec.etat.lu",
    "cns": "donnees@cns.etat.lu",
    "adem": "donnees@adem.etat.lu",
    "igss": "info@igss.etat.lu",
    "mindigital": "opendata@digital.etat.lu",
    "cgpd": "info@cgpd.etat.lu",
    "ctie": "opendata@ctie.etat.lu",
    "lnds": "data@lnds.lu",
    "uni-lu": "research-data@uni.lu",
}

# Open datasets: (publisher, file, theme, frequency, HVD category, format, start,
# title, description, keywords).
_OPEN_TABLE: tuple[
    tuple[
        str,
        str,
        str,
        str,
        str | None,
        str,
        str | None,
        dict[str, str],
        dict[str, str],
        dict[str, list[str]],
    ],
    ...,
] = (
    (
        "statec",
        "housing-prices-communes",
        "REGI",
        "QUARTERLY",
        STATISTICS,
        "XLSX",
        "2010-01-01",
        {
            "fr": "Prix de vente des appartements par commune",
            "de": "Verkaufspreise von Wohnungen nach Gemeinde",
            "en": "Apartment sale prices by commune",
            "lb": "Wunnengspräisser no Gemeng",
        },
        {
            "fr": "Prix moyen au mètre carré des appartements vendus, existants et en construction, par commune.",
            "en": "Average price per square metre of apartments sold, existing and off-plan, by commune.",
        },
        {
            "fr": ["logement", "prix", "immobilier"],
            "en": ["housing", "property prices"],
            "lb": ["Wunnen"],
        },
    ),
    (
        "statec",
        "commuting-flows",
        "TRAN",
        "ANNUAL",
        STATISTICS,
        "CSV",
        "2015-01-01",
        {
            "fr": "Flux de navetteurs frontaliers par commune de travail",
            "de": "Pendlerströme der Grenzgänger nach Arbeitsgemeinde",
            "en": "Cross-border commuting flows by commune of work",
        },
        {
            "fr": "Nombre de frontaliers par pays et région de résidence et commune du lieu de travail au Luxembourg.",
            "de": "Zahl der Grenzgänger nach Wohnland, Wohnregion und Arbeitsgemeinde in Luxemburg.",
            "en": "Number of cross-border commuters by country and region of residence and commune of work in Luxembourg.",
        },
        {
            "fr": ["frontaliers", "mobilité"],
            "de": ["Pendler", "Grenzgänger"],
            "en": ["commuting"],
        },
    ),
    (
        "statec",
        "business-demography",
        "ECON",
        "ANNUAL",
        STATISTICS,
        "CSV",
        "2008-01-01",
        {
            "fr": "Démographie des entreprises : créations, faillites et survie",
            "en": "Business demography: births, bankruptcies and survival",
        },
        {
            "fr": "Créations, cessations et faillites d'entreprises, taux de survie à trois et cinq ans, par secteur NACE.",
            "en": "Enterprise births, deaths and bankruptcies, three- and five-year survival rates, by NACE sector.",
        },
        {"fr": ["entreprises", "faillites"], "en": ["enterprises", "start-ups"]},
    ),
    (
        "statec",
        "tourism-overnight-stays",
        "ECON",
        "MONTHLY",
        STATISTICS,
        "CSV",
        "2000-01-01",
        {
            "fr": "Nuitées dans l'hébergement touristique par région",
            "de": "Übernachtungen in Beherbergungsbetrieben nach Region",
            "en": "Nights spent in tourist accommodation by region",
        },
        {
            "fr": "Arrivées et nuitées dans les hôtels, campings et auberges de jeunesse, par région touristique et pays de résidence des clients.",
            "de": "Ankünfte und Übernachtungen in Hotels, auf Campingplätzen und in Jugendherbergen nach Tourismusregion und Herkunftsland.",
        },
        {"fr": ["tourisme", "hôtellerie"], "de": ["Tourismus"], "en": ["tourism"]},
    ),
    (
        "statec",
        "final-energy-consumption",
        "ENER",
        "ANNUAL",
        None,
        "ODS",
        "1990-01-01",
        {
            "fr": "Consommation finale d'énergie par produit et par secteur",
            "en": "Final energy consumption by product and sector",
        },
        {
            "fr": "Consommation finale de produits pétroliers, gaz naturel, électricité et renouvelables, en térajoules, par secteur.",
            "en": "Final consumption of oil products, natural gas, electricity and renewables in terajoules, by sector.",
        },
        {"fr": ["énergie", "électricité"], "en": ["energy", "fuel"]},
    ),
    (
        "statec",
        "hourly-wages-sector",
        "ECON",
        "ANNUAL",
        STATISTICS,
        "CSV",
        "2010-01-01",
        {
            "fr": "Salaires horaires bruts moyens par secteur",
            "de": "Durchschnittliche Bruttostundenlöhne nach Wirtschaftszweig",
            "en": "Average gross hourly wages by sector",
        },
        {
            "fr": "Salaire horaire brut moyen et médian des salariés à temps plein, par secteur NACE et par sexe.",
            "de": "Durchschnittlicher und mittlerer Bruttostundenlohn der Vollzeitbeschäftigten nach Wirtschaftszweig und Geschlecht.",
            "en": "Mean and median gross hourly wage of full-time employees by NACE sector and sex.",
        },
        {
            "fr": ["salaires", "écart salarial"],
            "de": ["Löhne"],
            "en": ["wages", "gender pay gap"],
        },
    ),
    (
        "statec",
        "births-deaths-marriages",
        "SOCI",
        "ANNUAL",
        STATISTICS,
        "CSV",
        "1967-01-01",
        {
            "fr": "Naissances, décès et mariages par commune",
            "de": "Geburten, Sterbefälle und Eheschließungen nach Gemeinde",
            "en": "Births, deaths and marriages by commune",
            "lb": "Gebuerten, Stierffäll an Hochzäiten no Gemeng",
        },
        {
            "fr": "Mouvement naturel de la population : naissances vivantes, décès, mariages et partenariats, par commune de résidence.",
            "lb": "Natierlech Beweegung vun der Bevëlkerung: Gebuerten, Stierffäll, Hochzäiten a Partenariater no Wunngemeng.",
            "en": "Vital events: live births, deaths, marriages and civil partnerships, by commune of residence.",
        },
        {
            "fr": ["naissances", "décès", "état civil"],
            "lb": ["Gebuerten"],
            "en": ["vital statistics"],
        },
    ),
    (
        "statec",
        "languages-census",
        "SOCI",
        "DECENNIAL",
        STATISTICS,
        "XLSX",
        "2021-01-01",
        {
            "fr": "Langues parlées au travail, à l'école et à la maison",
            "de": "Gesprochene Sprachen bei der Arbeit, in der Schule und zu Hause",
            "en": "Languages spoken at work, at school and at home",
            "lb": "Sproochen op der Aarbecht, an der Schoul an doheem",
        },
        {
            "fr": "Résultats du recensement 2021 sur les langues principales et les langues parlées, par âge et nationalité.",
            "lb": "Resultater vum Vollekszielung 2021 iwwer d'Haaptsprooch an déi geschwate Sproochen, no Alter an Nationalitéit.",
            "en": "Results of the 2021 census on main and spoken languages, by age and nationality.",
        },
        {
            "fr": ["langues", "recensement"],
            "lb": ["Lëtzebuergesch", "Sproochen"],
            "en": ["languages", "census"],
        },
    ),
    (
        "statec",
        "road-accidents",
        "TRAN",
        "ANNUAL",
        STATISTICS,
        "CSV",
        "2000-01-01",
        {
            "fr": "Accidents de la circulation avec dommages corporels",
            "de": "Verkehrsunfälle mit Personenschaden",
            "en": "Road traffic accidents with casualties",
        },
        {
            "fr": "Accidents corporels, tués et blessés graves sur les routes luxembourgeoises, par type de route, mois et catégorie d'usager.",
            "de": "Unfälle mit Personenschaden, Getötete und Schwerverletzte auf Luxemburgs Straßen nach Straßenart, Monat und Verkehrsbeteiligung.",
            "en": "Injury accidents, deaths and serious injuries on Luxembourg's roads by road type, month and road user category.",
        },
        {
            "fr": ["sécurité routière", "accidents"],
            "de": ["Verkehrssicherheit"],
            "en": ["road safety"],
        },
    ),
    (
        "igss",
        "pension-recipients",
        "SOCI",
        "ANNUAL",
        None,
        "CSV",
        "2000-01-01",
        {
            "fr": "Bénéficiaires de pensions par régime et type de pension",
            "de": "Rentenempfänger nach System und Rentenart",
            "en": "Pension recipients by scheme and type of pension",
        },
        {
            "fr": "Pensions de vieillesse, d'invalidité et de survie versées par la CNAP et les régimes spéciaux, par sexe et pays de résidence.",
            "en": "Old-age, invalidity and survivors' pensions paid by the CNAP and special schemes, by sex and country of residence.",
        },
        {"fr": ["pensions", "retraite"], "de": ["Rente"], "en": ["pensions"]},
    ),
    (
        "igss",
        "long-term-care-beneficiaries",
        "HEAL",
        "ANNUAL",
        None,
        "CSV",
        "2000-01-01",
        {
            "fr": "Bénéficiaires de l'assurance dépendance",
            "de": "Leistungsempfänger der Pflegeversicherung",
            "en": "Long-term care insurance beneficiaries",
            "lb": "Beneficiairen vun der Fleegeversécherung",
        },
        {
            "fr": "Personnes bénéficiant de prestations de l'assurance dépendance, par âge, sexe, degré de dépendance et lieu de prise en charge (domicile ou établissement).",
            "de": "Empfänger von Leistungen der Pflegeversicherung nach Alter, Geschlecht, Pflegestufe und Ort der Pflege (zu Hause oder stationär).",
        },
        {"fr": ["dépendance", "soins"], "de": ["Pflege"], "en": ["long-term care"]},
    ),
    (
        "igss",
        "family-benefits",
        "SOCI",
        "MONTHLY",
        None,
        "CSV",
        "2016-08-01",
        {
            "fr": "Allocations familiales versées",
            "en": "Family allowances paid",
            "lb": "Kannergeld",
        },
        {
            "fr": "Nombre d'enfants bénéficiaires et montants de l'allocation familiale versés par la Caisse pour l'avenir des enfants, résidents et non-résidents.",
            "lb": "Zuel vun de Kanner an d'Betreeg vum Kannergeld, dat d'Zukunftskeess un Awunner an Net-Awunner bezilt.",
        },
        {
            "fr": ["allocations familiales"],
            "lb": ["Kannergeld", "Zukunftskeess"],
            "en": ["child benefit"],
        },
    ),
    (
        "igss",
        "social-security-accounts",
        "ECON",
        "ANNUAL",
        None,
        "ODS",
        "2005-01-01",
        {
            "fr": "Recettes et dépenses de la sécurité sociale",
            "en": "Social security revenue and expenditure",
        },
        {
            "fr": "Comptes consolidés des branches maladie, pension, accident, dépendance et famille, en millions d'euros.",
            "en": "Consolidated accounts of the sickness, pension, accident, long-term care and family branches, in millions of euros.",
        },
        {
            "fr": ["comptes", "sécurité sociale"],
            "en": ["social protection expenditure"],
        },
    ),
    (
        "cns",
        "hospital-stays-diagnosis",
        "HEAL",
        "ANNUAL",
        None,
        "CSV",
        "2012-01-01",
        {
            "fr": "Séjours hospitaliers par groupe de diagnostic",
            "de": "Krankenhausaufenthalte nach Diagnosegruppe",
            "en": "Hospital stays by diagnosis group",
        },
        {
            "fr": "Nombre de séjours, journées et durée moyenne de séjour dans les hôpitaux du pays, par chapitre de la CIM-10, âge et sexe.",
            "en": "Number of stays, bed-days and average length of stay in the country's hospitals by ICD-10 chapter, age and sex.",
        },
        {"fr": ["hôpitaux", "CIM-10"], "en": ["hospital", "ICD-10"]},
    ),
    (
        "cns",
        "sickness-absence",
        "HEAL",
        "QUARTERLY",
        None,
        "CSV",
        "2010-01-01",
        {
            "fr": "Taux d'absentéisme pour cause de maladie",
            "de": "Krankheitsbedingte Abwesenheitsquote",
            "en": "Sickness absence rate",
        },
        {
            "fr": "Part des heures de travail perdues pour maladie, par secteur et classe d'âge des salariés.",
            "de": "Anteil der krankheitsbedingt ausgefallenen Arbeitsstunden nach Wirtschaftszweig und Altersgruppe.",
        },
        {
            "fr": ["absentéisme", "incapacité de travail"],
            "de": ["Krankmeldung"],
            "en": ["sick leave"],
        },
    ),
    (
        "cns",
        "medicines-consumption",
        "HEAL",
        "ANNUAL",
        None,
        "JSON",
        "2015-01-01",
        {
            "fr": "Consommation de médicaments remboursés par classe ATC",
            "en": "Reimbursed medicines by ATC class",
        },
        {
            "fr": "Nombre de conditionnements délivrés et montants remboursés par la CNS, par classe thérapeutique ATC de niveau 3.",
            "en": "Packages dispensed and amounts reimbursed by the CNS, by ATC therapeutic class at level 3.",
        },
        {"fr": ["médicaments", "pharmacie"], "en": ["medicines", "ATC"]},
    ),
    (
        "adem",
        "job-vacancies",
        "ECON",
        "MONTHLY",
        None,
        "JSON",
        "2014-01-01",
        {
            "fr": "Postes vacants déclarés par profession",
            "de": "Gemeldete offene Stellen nach Beruf",
            "en": "Declared job vacancies by occupation",
        },
        {
            "fr": "Postes vacants déclarés à l'ADEM par les employeurs, par code ROME et niveau de qualification demandé.",
            "de": "Der ADEM von Arbeitgebern gemeldete offene Stellen nach ROME-Code und verlangtem Qualifikationsniveau.",
            "en": "Job vacancies declared to ADEM by employers, by ROME code and required qualification.",
        },
        {
            "fr": ["postes vacants", "recrutement"],
            "de": ["offene Stellen"],
            "en": ["vacancies"],
        },
    ),
    (
        "adem",
        "apprenticeships",
        "EDUC",
        "ANNUAL",
        None,
        "CSV",
        "2012-01-01",
        {
            "fr": "Contrats d'apprentissage par métier",
            "de": "Lehrverträge nach Beruf",
            "en": "Apprenticeship contracts by trade",
            "lb": "Léierkontrakter no Beruff",
        },
        {
            "fr": "Contrats d'apprentissage conclus pour le DAP, le CCP et le DT, par métier, sexe et chambre professionnelle.",
            "de": "Abgeschlossene Lehrverträge (DAP, CCP, DT) nach Beruf, Geschlecht und Berufskammer.",
        },
        {
            "fr": ["apprentissage", "formation professionnelle"],
            "de": ["Lehre"],
            "lb": ["Léier"],
            "en": ["apprenticeship"],
        },
    ),
    (
        "adem",
        "employment-measures",
        "ECON",
        "MONTHLY",
        None,
        "CSV",
        "2012-01-01",
        {
            "fr": "Bénéficiaires des mesures pour l'emploi",
            "en": "Participants in employment measures",
        },
        {
            "fr": "Demandeurs d'emploi en stage, contrat d'initiation, formation ou occupation temporaire indemnisée, par type de mesure.",
            "en": "Job seekers in work placements, initiation contracts, training or subsidised temporary work, by type of measure.",
        },
        {
            "fr": ["mesures pour l'emploi", "formation"],
            "en": ["active labour market policy"],
        },
    ),
    (
        "mindigital",
        "myguichet-procedures",
        "GOVE",
        "MONTHLY",
        None,
        "JSON",
        "2018-01-01",
        {
            "fr": "Démarches en ligne effectuées sur MyGuichet.lu",
            "de": "Online-Behördengänge über MyGuichet.lu",
            "en": "Online procedures completed on MyGuichet.lu",
        },
        {
            "fr": "Nombre de démarches transmises par mois, par démarche et par administration destinataire.",
            "de": "Anzahl der übermittelten Vorgänge pro Monat nach Vorgang und Empfängerverwaltung.",
            "en": "Number of procedures submitted each month, by procedure and receiving administration.",
        },
        {
            "fr": ["e-gouvernement", "démarches"],
            "de": ["E-Government"],
            "en": ["e-government"],
        },
    ),
    (
        "mindigital",
        "digital-inclusion-courses",
        "EDUC",
        "ANNUAL",
        None,
        "CSV",
        "2021-01-01",
        {
            "fr": "Cours d'inclusion numérique par commune",
            "lb": "Coursen fir digital Inklusioun no Gemeng",
            "en": "Digital inclusion courses by commune",
        },
        {
            "fr": "Cours gratuits d'initiation au numérique organisés dans le cadre du plan d'action national d'inclusion numérique, participants par commune et âge.",
            "lb": "Gratis Coursen fir d'Aféierung an den Digital am Kader vum nationalen Aktiounsplang, Participanten no Gemeng an Alter.",
        },
        {
            "fr": ["inclusion numérique"],
            "lb": ["Digitaliséierung"],
            "en": ["digital skills"],
        },
    ),
    (
        "mindigital",
        "public-procurement-notices",
        "GOVE",
        "DAILY",
        None,
        "XML",
        "2019-01-01",
        {
            "fr": "Avis de marchés publics publiés",
            "de": "Veröffentlichte Bekanntmachungen öffentlicher Aufträge",
            "en": "Published public procurement notices",
        },
        {
            "fr": "Avis de marchés, avis d'attribution et rectificatifs publiés par les pouvoirs adjudicateurs luxembourgeois, au format eForms.",
            "en": "Contract notices, award notices and corrigenda published by Luxembourg's contracting authorities, in eForms format.",
        },
        {
            "fr": ["marchés publics", "appels d'offres"],
            "de": ["Ausschreibungen"],
            "en": ["procurement", "tenders"],
        },
    ),
    (
        "mindigital",
        "public-wifi-hotspots",
        "TECH",
        "IRREG",
        GEOSPATIAL,
        "GEOJSON",
        None,
        {
            "fr": "Points d'accès Wi-Fi publics",
            "de": "Öffentliche WLAN-Zugangspunkte",
            "en": "Public Wi-Fi hotspots",
        },
        {
            "fr": "Localisation des bornes Wi-Fi gratuites dans les bâtiments publics, gares et places communales.",
            "de": "Standorte der kostenlosen WLAN-Zugangspunkte in öffentlichen Gebäuden, Bahnhöfen und auf Gemeindeplätzen.",
            "en": "Locations of free Wi-Fi access points in public buildings, stations and town squares.",
        },
        {"fr": ["wifi", "connectivité"], "en": ["hotspots", "connectivity"]},
    ),
    (
        "ctie",
        "it-budget-execution",
        "GOVE",
        "QUARTERLY",
        None,
        "XLSX",
        "2020-01-01",
        {
            "fr": "Exécution budgétaire des dépenses informatiques de l'État",
            "en": "Budget execution of the State's IT expenditure",
        },
        {
            "fr": "Crédits votés, engagés et liquidés pour les projets informatiques gérés par le CTIE, par article budgétaire.",
            "en": "Appropriations voted, committed and paid for the IT projects run by the CTIE, by budget article.",
        },
        {"fr": ["budget", "dépenses publiques"], "en": ["budget execution"]},
    ),
    (
        "ctie",
        "online-services-availability",
        "TECH",
        "MONTHLY",
        None,
        "JSON",
        "2022-01-01",
        {
            "fr": "Disponibilité des services en ligne de l'État",
            "de": "Verfügbarkeit der Online-Dienste des Staates",
            "en": "Availability of the State's online services",
        },
        {
            "fr": "Taux de disponibilité mensuel et interruptions planifiées de guichet.lu, MyGuichet.lu, LuxTrust et des portails de l'État.",
            "en": "Monthly availability and planned outages of guichet.lu, MyGuichet.lu, LuxTrust and the State's portals.",
        },
        {"fr": ["disponibilité", "services en ligne"], "en": ["uptime"]},
    ),
    (
        "cgpd",
        "impact-assessments",
        "GOVE",
        "ANNUAL",
        None,
        "CSV",
        "2019-01-01",
        {
            "fr": "Analyses d'impact relatives à la protection des données reçues",
            "en": "Data protection impact assessments received",
        },
        {
            "fr": "Nombre d'analyses d'impact soumises par les administrations de l'État, par ministère et par type de traitement.",
            "en": "Number of impact assessments submitted by State administrations, by ministry and type of processing.",
        },
        {"fr": ["protection des données", "RGPD"], "en": ["GDPR", "DPIA"]},
    ),
    (
        "lnds",
        "data-access-requests",
        "GOVE",
        "QUARTERLY",
        None,
        "CSV",
        "2025-01-01",
        {
            "fr": "Demandes d'accès aux données protégées",
            "de": "Anträge auf Zugang zu geschützten Daten",
            "en": "Requests for access to protected data",
        },
        {
            "fr": "Demandes reçues, accordées et refusées au titre du règlement sur la gouvernance des données, délai moyen de traitement.",
            "en": "Requests received, granted and refused under the Data Governance Act, and average handling time.",
        },
        {
            "fr": ["accès aux données", "DGA"],
            "en": ["data access", "Data Governance Act"],
        },
    ),
    (
        "uni-lu",
        "student-enrolments",
        "EDUC",
        "ANNUAL",
        None,
        "CSV",
        "2005-01-01",
        {
            "fr": "Étudiants inscrits par programme et nationalité",
            "de": "Eingeschriebene Studierende nach Studiengang und Staatsangehörigkeit",
            "en": "Enrolled students by programme and nationality",
        },
        {
            "fr": "Étudiants inscrits au semestre d'hiver en bachelor, master et doctorat, par faculté et nationalité.",
            "en": "Students enrolled in the winter semester in bachelor, master and doctoral programmes, by faculty and nationality.",
        },
        {
            "fr": ["université", "étudiants"],
            "de": ["Studierende"],
            "en": ["higher education"],
        },
    ),
    (
        "uni-lu",
        "standardised-tests",
        "EDUC",
        "ANNUAL",
        STATISTICS,
        "CSV",
        "2011-01-01",
        {
            "fr": "Résultats des épreuves standardisées par cycle",
            "de": "Ergebnisse der Standardisierten Schulleistungstests nach Zyklus",
            "en": "Standardised school test results by cycle",
        },
        {
            "fr": "Part d'élèves atteignant le socle de compétences en mathématiques, allemand et français (ÉpStan), par cycle et langue parlée à la maison.",
            "de": "Anteil der Schülerinnen und Schüler, die die Bildungsstandards in Mathematik, Deutsch und Französisch erreichen (ÉpStan), nach Zyklus und Familiensprache.",
        },
        {
            "fr": ["école", "compétences"],
            "de": ["Schulleistung"],
            "en": ["school results"],
        },
    ),
    (
        "uni-lu",
        "air-quality-belval",
        "ENVI",
        "HOURLY",
        ENVIRONMENT,
        "JSON",
        "2023-01-01",
        {
            "fr": "Mesures horaires des capteurs de qualité de l'air à Belval",
            "en": "Hourly air quality sensor readings in Belval",
        },
        {
            "fr": "Concentrations de PM2,5, PM10 et NO2 mesurées par les stations du campus Belval, avec température et humidité.",
            "en": "PM2.5, PM10 and NO2 concentrations measured by the Belval campus stations, with temperature and humidity.",
        },
        {
            "fr": ["qualité de l'air", "particules fines"],
            "en": ["air quality", "PM2.5"],
        },
    ),
)

_Variables = tuple[tuple[str, str, str, str, str | None], ...]

# Protected datasets: (publisher, access right, data-protection types, theme, languages,
# SPE room, title, description, access conditions, variables (name, label, type,
# sensitivity, unit)).
_PROTECTED_TABLE: tuple[
    tuple[
        str,
        str,
        tuple[str, ...],
        str,
        tuple[str, ...],
        str,
        dict[str, str],
        dict[str, str],
        dict[str, str],
        _Variables,
    ],
    ...,
] = (
    (
        "cns",
        NON_PUBLIC,
        (PERSONAL, SPECIAL),
        "HEAL",
        (FRA,),
        "cns-hospital-stays",
        {
            "fr": "Séjours hospitaliers (données individuelles)",
            "en": "Hospital stays (individual records)",
        },
        {
            "fr": "Un enregistrement par séjour : dates d'entrée et de sortie, établissement, groupe de diagnostic et actes principaux.",
            "en": "One record per stay: admission and discharge dates, hospital, diagnosis group and main procedures.",
        },
        {
            "en": "Secondary use under EHDS Art. 53, pseudonymised, in the secure processing environment only."
        },
        (
            (
                "patient_pseudonym",
                "Pseudonym of the patient",
                "string",
                "direct_identifier",
                None,
            ),
            ("age_band", "Age band", "code", "quasi_identifier", None),
            ("admission_date", "Date of admission", "date", "quasi_identifier", None),
            ("discharge_date", "Date of discharge", "date", "quasi_identifier", None),
            ("hospital", "Hospital", "code", "other", None),
            ("diagnosis_group", "Diagnosis-related group", "code", "sensitive", None),
        ),
    ),
    (
        "cns",
        NON_PUBLIC,
        (PERSONAL, SPECIAL),
        "HEAL",
        (FRA, DEU),
        "cns-dispensing",
        {
            "fr": "Délivrances de médicaments en pharmacie",
            "de": "Arzneimittelabgaben in Apotheken",
            "en": "Medicines dispensed in pharmacies",
        },
        {
            "fr": "Chaque délivrance remboursée : date, code du médicament, classe ATC, prescripteur et assuré pseudonymisés.",
            "de": "Jede erstattete Abgabe: Datum, Arzneimittelcode, ATC-Klasse, pseudonymisierter Verordner und Versicherter.",
        },
        {
            "en": "Research under a permit; the prescriber's code is replaced by a pseudonym before delivery."
        },
        (
            (
                "insured_pseudonym",
                "Pseudonym of the insured person",
                "string",
                "direct_identifier",
                None,
            ),
            ("birth_year", "Year of birth", "integer", "quasi_identifier", None),
            ("dispensed_on", "Date dispensed", "date", "quasi_identifier", None),
            ("atc_code", "ATC code", "code", "sensitive", None),
            (
                "prescriber_pseudonym",
                "Pseudonym of the prescriber",
                "string",
                "quasi_identifier",
                None,
            ),
            ("amount", "Amount reimbursed", "decimal", "other", "EUR"),
        ),
    ),
    (
        "igss",
        NON_PUBLIC,
        (PERSONAL, SPECIAL),
        "HEAL",
        (FRA, DEU),
        "igss-care-assessments",
        {
            "fr": "Évaluations de l'assurance dépendance",
            "de": "Begutachtungen der Pflegeversicherung",
            "en": "Long-term care assessments",
        },
        {
            "fr": "Résultats des évaluations de l'Administration d'évaluation et de contrôle : besoins d'aide par domaine et niveau de prestations.",
            "de": "Ergebnisse der Begutachtungen der Verwaltung für Begutachtung und Kontrolle: Hilfebedarf nach Bereich und Leistungsstufe.",
        },
        {
            "en": "Health data: permit from the health data access body; results leave the SPE only after output checking."
        },
        (
            (
                "matricule",
                "National identification number",
                "string",
                "direct_identifier",
                None,
            ),
            ("assessment_date", "Date of assessment", "date", "quasi_identifier", None),
            ("commune", "Commune of residence", "code", "quasi_identifier", None),
            ("care_level", "Level of care", "integer", "sensitive", None),
            ("main_condition", "Main condition", "code", "sensitive", None),
            ("weekly_minutes", "Care time per week", "integer", "other", "min"),
        ),
    ),
    (
        "igss",
        RESTRICTED,
        (PERSONAL,),
        "SOCI",
        (FRA,),
        "igss-pension-careers",
        {"fr": "Carrières d'assurance pension", "en": "Pension insurance careers"},
        {
            "fr": "Périodes d'assurance obligatoire, continuée et complémentaire par assuré, avec revenus cotisables annuels.",
            "en": "Compulsory, continued and voluntary insurance periods per insured person, with annual contributory income.",
        },
        {
            "en": "Research on pension adequacy under a permit; linkage with other sources through the trusted third party only."
        },
        (
            (
                "matricule",
                "National identification number",
                "string",
                "direct_identifier",
                None,
            ),
            ("sex", "Sex", "code", "quasi_identifier", None),
            ("period_start", "Start of the period", "date", "quasi_identifier", None),
            ("period_end", "End of the period", "date", "quasi_identifier", None),
            ("scheme", "Pension scheme", "code", "other", None),
            ("income", "Contributory income", "decimal", "sensitive", "EUR"),
        ),
    ),
    (
        "igss",
        NON_PUBLIC,
        (PERSONAL, BUSINESS_SECRET),
        "ECON",
        (FRA, DEU),
        "igss-affiliations",
        {
            "fr": "Affiliations des salariés",
            "de": "Anmeldungen der Beschäftigten",
            "en": "Employee affiliations",
        },
        {
            "fr": "Déclarations d'entrée et de sortie des salariés auprès du Centre commun de la sécurité sociale, avec employeur et secteur.",
            "en": "Start and end declarations of employees at the Joint Social Security Centre, with employer and sector.",
        },
        {
            "en": "Employer identifiers are commercially confidential: results may not single out an employer."
        },
        (
            (
                "matricule",
                "National identification number",
                "string",
                "direct_identifier",
                None,
            ),
            ("employer_id", "Employer number", "string", "quasi_identifier", None),
            ("nace_sector", "Economic sector (NACE)", "code", "other", None),
            (
                "start_date",
                "Start of the affiliation",
                "date",
                "quasi_identifier",
                None,
            ),
            ("end_date", "End of the affiliation", "date", "quasi_identifier", None),
            ("monthly_wage", "Gross monthly wage", "decimal", "sensitive", "EUR"),
        ),
    ),
    (
        "statec",
        NON_PUBLIC,
        (STAT_SECRET, BUSINESS_SECRET),
        "ECON",
        (FRA, ENG),
        "statec-sbs",
        {
            "fr": "Enquête structurelle sur les entreprises (microdonnées)",
            "en": "Structural business survey (microdata)",
        },
        {
            "fr": "Réponses individuelles des entreprises : emploi, chiffre d'affaires, achats, investissements, par unité légale.",
            "en": "Individual enterprise answers: employment, turnover, purchases and investment, per legal unit.",
        },
        {
            "en": "Covered by statistical confidentiality (law of 10 July 2011); access for scientific purposes only, under a contract with STATEC."
        },
        (
            ("enterprise_id", "Enterprise number", "string", "direct_identifier", None),
            ("nace_sector", "Economic sector (NACE)", "code", "quasi_identifier", None),
            ("employees", "Persons employed", "integer", "quasi_identifier", None),
            ("turnover", "Turnover", "decimal", "sensitive", "EUR"),
            (
                "investment",
                "Gross investment in tangible goods",
                "decimal",
                "other",
                "EUR",
            ),
        ),
    ),
    (
        "statec",
        RESTRICTED,
        (PERSONAL, STAT_SECRET),
        "SOCI",
        (FRA, DEU, ENG),
        "statec-lfs",
        {
            "fr": "Enquête sur les forces de travail (microdonnées)",
            "de": "Arbeitskräfteerhebung (Mikrodaten)",
            "en": "Labour force survey (microdata)",
        },
        {
            "fr": "Réponses trimestrielles des ménages sur l'activité, le temps de travail, le niveau d'éducation et le lieu de travail.",
            "de": "Vierteljährliche Haushaltsangaben zu Erwerbstätigkeit, Arbeitszeit, Bildungsniveau und Arbeitsort.",
        },
        {
            "en": "Scientific-use files for researchers of recognised research bodies, under a confidentiality agreement."
        },
        (
            ("household_id", "Household number", "string", "direct_identifier", None),
            ("age", "Age", "integer", "quasi_identifier", "years"),
            ("nationality", "Nationality", "code", "quasi_identifier", None),
            ("education", "Highest level of education (ISCED)", "code", "other", None),
            ("status", "Labour status (ILO)", "code", "other", None),
            ("hours", "Usual hours worked per week", "decimal", "other", "h"),
        ),
    ),
    (
        "adem",
        NON_PUBLIC,
        (PERSONAL, SPECIAL),
        "ECON",
        (FRA, DEU),
        "adem-job-seekers",
        {
            "fr": "Dossiers des demandeurs d'emploi",
            "de": "Akten der Arbeitsuchenden",
            "en": "Job seeker records",
        },
        {
            "fr": "Inscriptions, qualifications, statut de salarié handicapé ou à capacité de travail réduite et mesures suivies.",
            "de": "Anmeldungen, Qualifikationen, Status als behinderter Arbeitnehmer oder mit eingeschränkter Arbeitsfähigkeit und Maßnahmen.",
        },
        {
            "en": "The disability status is special-category data: only in aggregated outputs of at least ten persons."
        },
        (
            (
                "matricule",
                "National identification number",
                "string",
                "direct_identifier",
                None,
            ),
            (
                "registration_date",
                "Date of registration",
                "date",
                "quasi_identifier",
                None,
            ),
            ("qualification", "Highest qualification", "code", "other", None),
            (
                "disabled_worker",
                "Recognised disabled worker",
                "boolean",
                "sensitive",
                None,
            ),
            ("measure", "Employment measure", "code", "other", None),
        ),
    ),
    (
        "uni-lu",
        RESTRICTED,
        (PERSONAL, SPECIAL),
        "HEAL",
        (ENG, LTZ),
        "uni-lu-ageing-cohort",
        {
            "en": "Healthy ageing cohort (health and lifestyle data)",
            "lb": "Kohort iwwer gesond Alen (Gesondheets- a Liewensstildonnéeën)",
        },
        {
            "en": "Repeated measurements of a research cohort of residents aged 50 and over: blood pressure, mobility tests, diet and sleep.",
            "lb": "Widderholl Miessunge vun enger Fuerschungskohort vun Awunner vu 50 Joer un: Blutdrock, Mobilitéitstester, Ernierung a Schlof.",
        },
        {
            "en": "For research projects approved by the ethics review panel, under the participants' consent."
        },
        (
            (
                "participant_code",
                "Participant code",
                "string",
                "direct_identifier",
                None,
            ),
            ("visit_date", "Date of the visit", "date", "quasi_identifier", None),
            ("age", "Age at visit", "integer", "quasi_identifier", "years"),
            ("systolic_bp", "Systolic blood pressure", "integer", "sensitive", "mmHg"),
            ("gait_speed", "Gait speed", "decimal", "sensitive", "m/s"),
            ("sleep_hours", "Hours of sleep per night", "decimal", "other", "h"),
        ),
    ),
    (
        "lnds",
        NON_PUBLIC,
        (PERSONAL,),
        "EDUC",
        (FRA, DEU, ENG),
        "lnds-school-to-work",
        {
            "fr": "Parcours scolaires et insertion professionnelle (données appariées)",
            "en": "School careers and labour market entry (linked data)",
            "de": "Schullaufbahnen und Berufseinstieg (verknüpfte Daten)",
        },
        {
            "fr": "Appariement des parcours scolaires avec les affiliations et les inscriptions à l'ADEM, cinq ans après la sortie du système éducatif.",
            "en": "Linkage of school careers with social security affiliations and ADEM registrations, five years after leaving education.",
        },
        {
            "en": "Linked by the trusted third party; available only in the secure processing environment."
        },
        (
            ("pseudonym", "Linkage pseudonym", "string", "direct_identifier", None),
            ("birth_year", "Year of birth", "integer", "quasi_identifier", None),
            ("last_diploma", "Last diploma obtained", "code", "other", None),
            (
                "leaving_year",
                "Year of leaving education",
                "integer",
                "quasi_identifier",
                None,
            ),
            (
                "employed_after_5y",
                "Employed five years later",
                "boolean",
                "other",
                None,
            ),
        ),
    ),
)


def _protected(
    access: str,
    protection: tuple[str, ...],
    theme: str,
    languages: tuple[str, ...],
    room: str,
    title: dict[str, str],
    description: dict[str, str],
    conditions: dict[str, str],
    variables: _Variables,
) -> dict[str, Any]:
    """A protected dataset: reached in the secure processing environment, with its dictionary."""
    return {
        "title": title,
        "description": description,
        "themes": [f"{EU}/data-theme/{theme}"],
        "access_rights": access,
        "data_protection": list(protection),
        "access_conditions": conditions,
        "languages": list(languages),
        "spatial": [LUX],
        "distributions": [
            {
                "title": {"en": "Secure processing environment"},
                "access_url": f"https://data.public.lu/spe/{room}",
            }
        ],
        "variables": [_variable(*v) for v in variables],
    }


# (publisher slug, contact, metadata)
DATASETS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    *_CURATED,
    *(
        (
            org,
            CONTACTS[org],
            _open(
                slug,
                title,
                text,
                theme=theme,
                keywords=words,
                frequency=every,
                hvd=hvd,
                start=start,
                fmt=fmt,
            ),
        )
        for org, slug, theme, every, hvd, fmt, start, title, text, words in _OPEN_TABLE
    ),
    *((row[0], CONTACTS[row[0]], _protected(*row[1:])) for row in _PROTECTED_TABLE),
)
