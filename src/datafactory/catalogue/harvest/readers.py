"""Readers: fetch a source whole, then map each remote record to a draft.

Every reader returns the complete list of records before anything is written, so a source
that fails to parse on any page writes nothing. A record that cannot be mapped comes back
with ``error`` set and is counted as failed by the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from datafactory.catalogue.harvest import normalise as n
from datafactory.catalogue.harvest.errors import HarvestError
from datafactory.catalogue.harvest.fetch import Fetcher
from datafactory.catalogue.schemas import DatasetDraft

MAX_PAGES = 1000
PAGE_SIZE = 100


@dataclass
class Remote:
    """One record as read from the source, mapped to our model (or why it could not be)."""

    remote_id: str
    remote_iri: str | None
    draft: DatasetDraft | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


Progress = Callable[[str], None]


def mapped(
    remote_id: str, remote_iri: str | None, make: Callable[[n.Notes], dict[str, Any]]
) -> Remote:
    """Run one record's mapping; any problem becomes the record's error, never the job's."""
    notes = n.Notes()
    try:
        draft = n.build(make(notes), notes)
    except n.RecordError as exc:
        return Remote(remote_id[:500], remote_iri, error=str(exc), notes=notes)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return Remote(
            remote_id[:500],
            remote_iri,
            error=f"cannot be read ({type(exc).__name__}: {exc})",
            notes=notes,
        )
    return Remote(remote_id[:500], remote_iri, draft=draft, notes=notes)


def read_json(content: bytes, url: str) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HarvestError(f"{url} is not valid JSON: {exc}") from exc


# --- CKAN ------------------------------------------------------------------------------


def read_ckan(
    fetcher: Fetcher, url: str, *, language: str, progress: Progress
) -> list[Remote]:
    """Page through ``/api/3/action/package_search`` with rows/start."""
    endpoint = url.rstrip("/")
    if not endpoint.endswith("package_search"):
        endpoint += "/api/3/action/package_search"
    site = endpoint.split("/api/3/")[0]
    records: list[Remote] = []
    start = 0
    for page in range(MAX_PAGES):
        document = fetcher.get(endpoint, {"rows": PAGE_SIZE, "start": start})
        body = read_json(document.content, document.url)
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, dict) or not isinstance(result.get("results"), list):
            raise HarvestError(f"{document.url} is not a CKAN package_search answer")
        packages = result["results"]
        for package in packages:
            records.append(ckan_record(package, site=site, language=language))
        progress(f"read page {page + 1} ({len(records)} records)")
        start += len(packages)
        if not packages or start >= int(result.get("count", 0)):
            return records
    raise HarvestError(f"{endpoint} has more than {MAX_PAGES} pages")


def _ml(value: Any, default: str, notes: n.Notes, what: str) -> dict[str, str]:
    """A CKAN/udata text: a plain string, or a dict by language (ckanext-fluent, piveau)."""
    if isinstance(value, dict):
        return n.text(
            ((str(v), str(k)) for k, v in value.items() if v), default, notes, what
        )
    if isinstance(value, str):
        return n.text([(value, None)], default, notes, what)
    return {}


def _extras(package: dict[str, Any]) -> dict[str, Any]:
    extras = package.get("extras") or []
    if isinstance(extras, dict):
        return extras
    return {
        e["key"]: e.get("value") for e in extras if isinstance(e, dict) and "key" in e
    }


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str) and value.startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return value if isinstance(value, list) else [value]


def ckan_record(package: dict[str, Any], *, site: str, language: str) -> Remote:
    remote_id = str(package.get("id") or package.get("name") or "")
    extras = _extras(package)
    iri = extras.get("uri") or package.get("uri")
    if not iri and package.get("name"):
        iri = f"{site}/dataset/{package['name']}"

    def make(notes: n.Notes) -> dict[str, Any]:
        if not remote_id:
            raise n.RecordError("the package has no id")

        def get(key: str) -> Any:
            return package.get(key) or extras.get(key)

        licence = n.vocabulary(
            "licence",
            package.get("license_url") or package.get("license_id"),
            notes,
            "licence",
        )
        if licence is None and package.get("license_title"):
            licence = n.vocabulary(
                "licence", package["license_title"], notes, "licence"
            )
        title = _ml(
            package.get("title_translated") or package.get("title"),
            language,
            notes,
            "title",
        )
        description = _ml(
            package.get("notes_translated")
            or package.get("notes")
            or package.get("description"),
            language,
            notes,
            "description",
        )
        keywords: dict[str, list[str]] = {}
        for tag in _as_list(package.get("tags")) + _as_list(package.get("keywords")):
            word = (
                tag.get("name") or tag.get("display_name")
                if isinstance(tag, dict)
                else tag
            )
            if isinstance(word, str) and word.strip():
                keywords.setdefault(language, []).append(word)
        contacts = [c for c in _as_list(get("contact")) if isinstance(c, dict)]
        contact = contacts[0] if contacts else {}
        temporal = [
            t for t in _as_list(get("temporal_coverage")) if isinstance(t, dict)
        ]
        span = temporal[0] if temporal else {}
        fields: dict[str, Any] = {
            "title": title,
            "description": description,
            "keywords": keywords,
            "themes": n.vocabularies(
                "data-theme", map(str, _as_list(get("theme"))), notes, "theme"
            ),
            "access_rights": n.vocabulary(
                "access-right", get("access_rights"), notes, "access rights"
            ),
            "frequency": n.vocabulary(
                "frequency", get("frequency"), notes, "frequency"
            ),
            "languages": n.vocabularies(
                "language", map(str, _as_list(get("language"))), notes, "language"
            ),
            "temporal_start": n.to_date(
                span.get("start") or get("temporal_start"), notes, "temporal start"
            ),
            "temporal_end": n.to_date(
                span.get("end") or get("temporal_end"), notes, "temporal end", end=True
            ),
            "contact_name": contact.get("name")
            or get("contact_name")
            or get("maintainer")
            or get("author"),
            "contact_email": n.email(
                contact.get("email")
                or get("contact_email")
                or get("maintainer_email")
                or get("author_email")
            ),
            "landing_page": n.repair_iri(
                str(get("landing_page") or get("url") or ""), notes, "landing page"
            )
            if get("landing_page") or get("url")
            else None,
            "version_info": (str(get("version"))[:50] if get("version") else None),
            "version_notes": _ml(
                get("version_notes"), language, notes, "version notes"
            ),
            "distributions": [],
        }
        resources = _as_list(package.get("resources") or package.get("distributions"))
        for number, resource in enumerate(resources, start=1):
            if not isinstance(resource, dict) or not resource:
                continue
            distribution = _ckan_distribution(
                resource, licence, language, notes, number
            )
            if distribution is not None:
                fields["distributions"].append(distribution)
        return fields

    return mapped(remote_id, iri, make)


def _ckan_distribution(
    resource: dict[str, Any],
    licence: str | None,
    language: str,
    notes: n.Notes,
    number: int,
) -> dict[str, Any] | None:
    where = f"resource {number}"
    access = resource.get("access_url") or resource.get("url")
    access_url = n.repair_iri(str(access), notes, where) if access else None
    download = resource.get("download_url") or resource.get("url")
    download_url = n.repair_iri(str(download), notes, where) if download else None
    if access_url is None:
        access_url = download_url
    if access_url is None:
        notes.append(f"{where}: dropped, it has no URL")
        return None
    raw_format = resource.get("format")
    mime = resource.get("mimetype") or resource.get("mime")
    return {
        "title": _ml(
            resource.get("name") or resource.get("title"), language, notes, where
        ),
        "description": _ml(resource.get("description"), language, notes, where),
        "access_url": access_url,
        "download_url": download_url,
        "format": n.vocabulary("file-type", raw_format, notes, f"{where} format")
        if raw_format
        else None,
        "media_type": n.vocabulary("media-type", mime, notes, f"{where} media type")
        if mime
        else None,
        "licence": n.vocabulary(
            "licence", resource.get("license"), notes, f"{where} licence"
        )
        if resource.get("license")
        else licence,
        "byte_size": n.byte_size(
            resource.get("size") or resource.get("filesize"), notes
        ),
    }


# --- udata -----------------------------------------------------------------------------


def read_udata(
    fetcher: Fetcher, url: str, *, language: str, progress: Progress
) -> list[Remote]:
    """Page through udata's ``/api/1/datasets/?page=&page_size=``."""
    endpoint = url.rstrip("/")
    if not endpoint.endswith("/datasets"):
        endpoint += "/api/1/datasets"
    endpoint += "/"
    records: list[Remote] = []
    for page in range(1, MAX_PAGES + 1):
        document = fetcher.get(endpoint, {"page": page, "page_size": PAGE_SIZE})
        body = read_json(document.content, document.url)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise HarvestError(f"{document.url} is not a udata dataset list")
        for item in body["data"]:
            records.append(udata_record(item, language=language))
        progress(f"read page {page} ({len(records)} records)")
        total = int(body.get("total") or 0)
        if not body["data"] or not body.get("next_page") and page * PAGE_SIZE >= total:
            return records
    raise HarvestError(f"{endpoint} has more than {MAX_PAGES} pages")


def udata_record(item: dict[str, Any], *, language: str) -> Remote:
    remote_id = str(item.get("id") or "")
    iri = item.get("uri") or item.get("page")

    def make(notes: n.Notes) -> dict[str, Any]:
        if not remote_id:
            raise n.RecordError("the dataset has no id")
        if item.get("deleted") or item.get("private"):
            raise n.RecordError("the dataset is deleted or private upstream")
        licence = n.vocabulary("licence", item.get("license"), notes, "licence")
        temporal = item.get("temporal_coverage") or {}
        contacts = [
            c
            for c in _as_list(item.get("contact_points") or item.get("contact_point"))
            if isinstance(c, dict)
        ]
        contact = contacts[0] if contacts else {}
        page = item.get("page")
        fields: dict[str, Any] = {
            "title": _ml(item.get("title"), language, notes, "title"),
            "description": _ml(item.get("description"), language, notes, "description"),
            "keywords": {language: [str(t) for t in item.get("tags") or []]},
            "frequency": n.vocabulary(
                "frequency", item.get("frequency"), notes, "frequency"
            ),
            "temporal_start": n.to_date(temporal.get("start"), notes, "temporal start"),
            "temporal_end": n.to_date(
                temporal.get("end"), notes, "temporal end", end=True
            ),
            "contact_name": contact.get("name"),
            "contact_email": n.email(contact.get("email")),
            "landing_page": n.repair_iri(str(page), notes, "landing page")
            if page
            else None,
            "distributions": [],
        }
        for number, resource in enumerate(item.get("resources") or [], start=1):
            distribution = _ckan_distribution(
                resource, licence, language, notes, number
            )
            if distribution is not None:
                fields["distributions"].append(distribution)
        return fields

    return mapped(remote_id, iri, make)


def pages(first: str, next_of: Callable[[str], str | None]) -> Iterator[str]:
    """Follow next links from ``first``, refusing loops and endless paging."""
    seen: set[str] = set()
    url: str | None = first
    while url is not None:
        if url in seen:
            return
        if len(seen) >= MAX_PAGES:
            raise HarvestError(f"{first} has more than {MAX_PAGES} pages")
        seen.add(url)
        yield url
        url = next_of(url)
