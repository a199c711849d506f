"""Demo data services and dataset series, written for the demo (not copied from a portal).

STATEC publishes the resident population on 1 January as a yearly series (one dataset a
year) and serves its main figures through a statistics API, which is a high-value data
service (HVD category "statistics"). Loading is idempotent, like the rest of the demo.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.catalogue import records
from datafactory.catalogue import service as catalogue
from datafactory.catalogue.models import CatalogueRecord, Dataset
from datafactory.catalogue.schemas import (
    DataServiceDraft,
    DatasetDraft,
    DatasetSeriesDraft,
    RecordKind,
)
from datafactory.demo.datasets import CC_BY, EU, FRA, IANA, LUX, PUBLIC, STATISTICS
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation

PUBLISHER = "statec"
CONTACT = "info@statec.etat.lu"
API = "https://api.statistiques.public.lu/v1"
YEARS = (2024, 2025, 2026)

POPULATION_SERIES: dict[str, Any] = {
    "title": {
        "fr": "Population au 1er janvier",
        "de": "Bevölkerung am 1. Januar",
        "en": "Population on 1 January",
        "lb": "Bevëlkerung den 1. Januar",
    },
    "description": {
        "fr": "Chaque année, la population résidente au 1er janvier par commune, sexe "
        "et nationalité, publiée comme un jeu de données distinct.",
        "de": "Jedes Jahr die ansässige Bevölkerung am 1. Januar nach Gemeinde, "
        "Geschlecht und Staatsangehörigkeit, als eigener Datensatz veröffentlicht.",
        "en": "Every year, the resident population on 1 January by commune, sex and "
        "nationality, published as a dataset of its own.",
    },
    "keywords": {"fr": ["population", "recensement"], "en": ["population"]},
    "themes": [f"{EU}/data-theme/SOCI"],
    "frequency": f"{EU}/frequency/ANNUAL",
    "spatial": [LUX],
    "temporal_start": "2024-01-01",
    "contact_email": CONTACT,
    "contact_name": "STATEC",
}

STATISTICS_API: dict[str, Any] = {
    "title": {
        "fr": "API des statistiques du Luxembourg",
        "de": "Statistik-API Luxemburgs",
        "en": "Luxembourg statistics API",
    },
    "description": {
        "fr": "Interroger les séries de la population, des prix et des comptes "
        "nationaux en JSON ou en CSV, sans clé d'accès.",
        "de": "Die Reihen zu Bevölkerung, Preisen und Volkswirtschaftlichen "
        "Gesamtrechnungen als JSON oder CSV abfragen, ohne Zugangsschlüssel.",
        "en": "Query the population, price and national-accounts series as JSON or "
        "CSV, with no access key.",
    },
    "keywords": {"en": ["API", "statistics"], "fr": ["API", "statistiques"]},
    "themes": [f"{EU}/data-theme/ECON", f"{EU}/data-theme/SOCI"],
    "endpoint_urls": [f"{API}/"],
    "endpoint_descriptions": [f"{API}/openapi.json"],
    "documentation": ["https://statistiques.public.lu/en/api.html"],
    "access_rights": PUBLIC,
    "licence": CC_BY,
    "conforms_to": ["https://spec.openapis.org/oas/v3.1.0"],
    "hvd_categories": [STATISTICS],
    "contact_email": CONTACT,
    "contact_name": "STATEC",
}

# Demo datasets the API serves besides the series' members, by English title.
SERVED = ("Population by commune", "Consumer price index")


def member(year: int, service_id: str, series_id: str) -> dict[str, Any]:
    url = f"https://statistiques.public.lu/population/{year}/population-{year}.csv"
    return {
        "title": {
            "fr": f"Population au 1er janvier {year}",
            "de": f"Bevölkerung am 1. Januar {year}",
            "en": f"Population on 1 January {year}",
        },
        "description": {
            "fr": f"Population résidente au 1er janvier {year} par commune, sexe et "
            "nationalité.",
            "en": f"Resident population on 1 January {year} by commune, sex and "
            "nationality.",
        },
        "keywords": {"fr": ["population", str(year)], "en": ["population"]},
        "themes": [f"{EU}/data-theme/SOCI"],
        "access_rights": PUBLIC,
        "frequency": f"{EU}/frequency/NEVER",
        "languages": [FRA],
        "spatial": [LUX],
        "temporal_start": f"{year}-01-01",
        "temporal_end": f"{year}-01-01",
        "version_info": str(year),
        "contact_email": CONTACT,
        "contact_name": "STATEC",
        "in_series": [series_id],
        "distributions": [
            {
                "title": {"en": f"CSV file {year}", "fr": f"Fichier CSV {year}"},
                "access_url": url,
                "download_url": url,
                "format": f"{EU}/file-type/CSV",
                "media_type": f"{IANA}/text/csv",
                "licence": CC_BY,
                "byte_size": 48_000 + 300 * (year - 2024),
            },
            {
                "title": {"en": f"Through the statistics API ({year})"},
                "access_url": f"{API}/population?year={year}",
                "format": f"{EU}/file-type/JSON",
                "media_type": f"{IANA}/application/json",
                "licence": CC_BY,
                "access_services": [service_id],
            },
        ],
    }


def _english_title(document: dict[str, Any]) -> str:
    return str(document.get("title", {}).get("en", ""))


def _find(session: Session, kind: RecordKind, title: str) -> CatalogueRecord | None:
    for row in session.scalars(
        select(CatalogueRecord).where(CatalogueRecord.kind == kind.value)
    ):
        if _english_title(row.draft) == title:
            return row
    return None


def load_records(
    session: Session,
    admin: Actor,
    organisations: dict[str, Organisation],
    base_url: str,
) -> dict[str, int]:
    """Create the series, its yearly members and the API if missing; return the counts."""
    added = {"series": 0, "services": 0, "series_members": 0}
    publisher = organisations[PUBLISHER]
    api = _find(session, RecordKind.service, STATISTICS_API["title"]["en"])
    if api is None:
        api = records.create_record(
            session,
            admin,
            kind=RecordKind.service,
            publisher_id=publisher.id,
            metadata=DataServiceDraft.model_validate(STATISTICS_API),
        )
        added["services"] += 1
    series = _find(session, RecordKind.series, POPULATION_SERIES["title"]["en"])
    if series is None:
        series = records.create_record(
            session,
            admin,
            kind=RecordKind.series,
            publisher_id=publisher.id,
            metadata=DatasetSeriesDraft.model_validate(POPULATION_SERIES),
        )
        records.publish_record(
            session,
            admin,
            kind=RecordKind.series,
            record_id=series.id,
            base_url=base_url,
        )
        added["series"] += 1
    datasets = {
        (d.publisher_id, _english_title(d.draft)): d
        for d in session.scalars(select(Dataset))
    }
    members = []
    for year in YEARS:
        document = member(year, api.id, series.id)
        found = datasets.get((publisher.id, document["title"]["en"]))
        if found is None:
            found = catalogue.create_dataset(
                session,
                admin,
                publisher_id=publisher.id,
                metadata=DatasetDraft.model_validate(document),
            )
            catalogue.publish_dataset(
                session, admin, dataset_id=found.id, base_url=base_url
            )
            added["series_members"] += 1
        members.append(found.id)
    if api.version == 0:
        served = [
            d.id
            for title in SERVED
            if (d := datasets.get((publisher.id, title))) is not None
        ]
        records.edit_record(
            session,
            admin,
            kind=RecordKind.service,
            record_id=api.id,
            changes={"serves_datasets": [*members, *served]},
        )
        records.publish_record(
            session,
            admin,
            kind=RecordKind.service,
            record_id=api.id,
            base_url=base_url,
        )
    return added
