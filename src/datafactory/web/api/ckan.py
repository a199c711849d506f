"""A CKAN-compatible subset of the Action API under ``/api/3/action/``, read-only.

CKAN also answers the same actions under ``/api/action/``, which is where ``ckanapi`` goes.

``package_search``, ``package_show``, ``organization_list``, ``tag_list`` and
``license_list`` answer CKAN's envelope, so CKAN clients (``ckanapi``, harvesters, portals)
can read the catalogue. Parameters come in the query string (GET) or a JSON body (POST, as
``ckanapi`` sends them). docs/search.md lists what is and is not supported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from datafactory.catalogue import search, service, vocabularies
from datafactory.catalogue.models import Dataset
from datafactory.catalogue.schemas import DatasetDraft, DatasetStatus, pick
from datafactory.catalogue.search import SearchQuery, Sort
from datafactory.catalogue.search.entries import code_of
from datafactory.identity.actor import Actor
from datafactory.identity.models import Organisation
from datafactory.web.deps import SessionDep, allow
from datafactory.web.i18n import current_language

router = APIRouter(tags=["ckan"])
Anyone = Annotated[Actor, Depends(allow("catalogue.view"))]
ROWS_MAX = 1000
#: CKAN's facet field names -> ours; ours are accepted as they are too.
FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "organization": "publisher",
        "owner_org": "publisher",
        "groups": "theme",
        "tags": "keyword",
        "res_format": "format",
        "license_id": "licence",
        **{f: f for f in search.FACETS},
    }
)
DEFAULT_FACETS = ("organization", "groups", "tags", "res_format", "license_id")
SORTS: Mapping[str, Sort] = MappingProxyType(
    {
        "score desc": Sort.RELEVANCE,
        "metadata_modified desc": Sort.MODIFIED,
        "title_string asc": Sort.TITLE,
    }
)
_FIELD_TERM = re.compile(r'(?:^|\s)[+]?(\w+):("(?:[^"\\]|\\.)*"|\S+)')


class CkanError(Exception):
    def __init__(self, status: int, kind: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.extra = status, kind, message, extra


async def ckan_params(request: Request) -> dict[str, Any] | CkanError:
    """The action's parameters: the query string, then a JSON body (as ckanapi posts)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST" and await request.body():
        try:
            body = await request.json()
        except ValueError:
            return CkanError(400, "Bad request", "The body is not JSON.")
        if not isinstance(body, dict):
            return CkanError(400, "Bad request", "The body must be a JSON object.")
        params.update(body)
    return params


def ckan_action(
    action: str,
    request: Request,
    session: SessionDep,
    actor: Anyone,
    params: Annotated[dict[str, Any] | CkanError, Depends(ckan_params)],
) -> JSONResponse:
    help_url = (
        f"{str(request.base_url).rstrip('/')}/api/3/action/help_show?name={action}"
    )
    try:
        handler = ACTIONS.get(action)
        if handler is None:
            raise CkanError(400, "Bad request", f"Action name not known: {action}")
        if isinstance(params, CkanError):
            raise params
        result = handler(session, actor, params)
    except CkanError as error:
        body = {"__type": error.kind, "message": error.message, **error.extra}
        return JSONResponse(
            {"help": help_url, "success": False, "error": body},
            status_code=error.status,
        )
    return JSONResponse({"help": help_url, "success": True, "result": result})


# CKAN answers under /api/3/action/ and /api/action/ (where ckanapi goes), GET and POST:
# one route each, so that every OpenAPI operation has an id of its own.
for _path, _suffix in (("/api/3/action/{action}", ""), ("/api/action/{action}", "_v")):
    for _method in ("GET", "POST"):
        router.add_api_route(
            _path,
            ckan_action,
            methods=[_method],
            name=f"ckan_action_{_method.lower()}{_suffix}",
            summary="CKAN Action API (read-only subset)",
        )


def package_search(
    session: Session, _actor: Actor, params: Mapping[str, Any]
) -> dict[str, Any]:
    filters: dict[str, list[str]] = {}
    words = _take_fields(str(params.get("q") or ""), filters)
    _take_fields(str(params.get("fq") or ""), filters)
    for fq in params.get("fq_list") or []:
        _take_fields(str(fq), filters)
    sort = str(params.get("sort") or "score desc").split(",")[0].strip().lower()
    if sort not in SORTS:
        raise CkanError(
            409, "Validation Error", "Unsupported sort.", sort=[f"Use {list(SORTS)}."]
        )
    rows = min(_natural(params, "rows", 10), ROWS_MAX)
    query = SearchQuery(
        text=words,
        filters=MappingProxyType({k: tuple(v) for k, v in filters.items()}),
        sort=SORTS[sort],
        page_size=max(rows, 1),
        start=_natural(params, "start", 0),
        lang=current_language.get(),
    )
    result = search.search(session, query)
    datasets = search.datasets(session, result.items) if rows else []
    by_name = {f.name: f for f in result.facets}
    search_facets: dict[str, dict[str, Any]] = {}
    for field in _facet_fields(params):
        items = [
            {"name": v.value, "display_name": v.label, "count": v.count}
            for v in by_name[FIELDS[field]].values
            if v.count
        ]
        search_facets[field] = {"title": field, "items": items}
    return {
        "count": result.total,
        # Not in CKAN: says that "count" (and the facet counts) are estimates, which our
        # search gives for very large result sets instead of counting every match.
        "count_is_estimate": result.total_approximate,
        "facets_are_estimates": result.facets_approximate,
        "sort": sort,
        "results": [package(session, d) for d in datasets],
        "facets": {
            f: {i["name"]: i["count"] for i in v["items"]}
            for f, v in search_facets.items()
        },
        "search_facets": search_facets,
    }


def _take_fields(text: str, filters: dict[str, list[str]]) -> str:
    """Move ``field:value`` terms into ``filters``; the rest of the text is words."""
    if text.strip() == "*:*":
        return ""

    def take(match: re.Match[str]) -> str:
        field, value = match.group(1), match.group(2).strip('"')
        if field not in FIELDS:
            raise CkanError(
                409, "Search Query Error", f"Search error: unknown field {field!r}"
            )
        filters.setdefault(FIELDS[field], []).append(value.replace('\\"', '"'))
        return " "

    return _FIELD_TERM.sub(take, text)


def _facet_fields(params: Mapping[str, Any]) -> tuple[str, ...]:
    raw = params.get("facet.field")
    if raw is None:
        return DEFAULT_FACETS
    try:
        fields = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise CkanError(
            409, "Validation Error", "facet.field must be a JSON list."
        ) from exc
    if not isinstance(fields, list) or not all(f in FIELDS for f in fields):
        raise CkanError(
            409, "Validation Error", f"facet.field: choose among {sorted(FIELDS)}."
        )
    return tuple(str(f) for f in fields)


def _natural(params: Mapping[str, Any], name: str, default: int) -> int:
    value = params.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise CkanError(
            409, "Validation Error", f"{name} is not a natural number.", **{name: []}
        )
    return number


def package_show(
    session: Session, _actor: Actor, params: Mapping[str, Any]
) -> dict[str, Any]:
    dataset_id = str(params.get("id") or params.get("name_or_id") or "")
    dataset = session.get(Dataset, dataset_id) if dataset_id else None
    if dataset is None or dataset.status != DatasetStatus.published.value:
        raise CkanError(404, "Not Found Error", "Not found")
    return package(session, dataset)


def package(session: Session, dataset: Dataset) -> dict[str, Any]:
    """A dataset in CKAN's package shape, texts in the reader's language."""
    meta = service.metadata_of(session, dataset)
    lang = current_language.get()
    publisher = session.get(Organisation, dataset.publisher_id)
    licences = [code_of("licence", d.licence) for d in meta.distributions if d.licence]
    keywords = sorted({k for words in meta.keywords.values() for k in words})
    resources = _resources(dataset.id, meta, lang)
    return {
        "id": dataset.id,
        "name": dataset.id,
        "type": "dataset",
        "state": "active",
        "private": False,
        "title": pick(meta.title, lang),
        "notes": pick(meta.description, lang),
        "url": str(meta.landing_page or ""),
        "version": meta.version_info,
        "maintainer": meta.contact_name,
        "maintainer_email": meta.contact_email,
        "metadata_created": dataset.created_at.isoformat(),
        "metadata_modified": (dataset.published_at or dataset.modified_at).isoformat(),
        "owner_org": str(dataset.publisher_id),
        "organization": _organisation(publisher) if publisher else None,
        "license_id": licences[0] if licences else None,
        "tags": [{"name": k, "display_name": k} for k in keywords],
        "num_tags": len(keywords),
        "groups": [
            {"name": code_of("theme", t), "title": _label("data-theme", t, lang)}
            for t in meta.themes
        ],
        "resources": resources,
        "num_resources": len(resources),
    }


def _resources(dataset_id: str, meta: DatasetDraft, lang: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{dataset_id}-{n}",
            "package_id": dataset_id,
            "position": n,
            "name": pick(d.title, lang),
            "description": pick(d.description, lang),
            "url": str(d.download_url or d.access_url),
            "format": code_of("format", d.format) if d.format else "",
            "size": d.byte_size,
        }
        for n, d in enumerate(meta.distributions)
    ]


def _label(vocabulary: str, iri: str, lang: str) -> str:
    concept = vocabularies.load(vocabulary).get(iri)
    return vocabularies.load(vocabulary).label(iri, lang) if concept else iri


def _organisation(org: Organisation) -> dict[str, Any]:
    return {
        "id": str(org.id),
        "name": org.slug,
        "title": org.name,
        "type": "organization",
        "is_organization": True,
        "state": "active",
    }


def organization_list(
    session: Session, _actor: Actor, params: Mapping[str, Any]
) -> list[Any]:
    orgs = session.scalars(select(Organisation).order_by(Organisation.slug))
    if str(params.get("all_fields", "")).lower() in {"true", "1"}:
        return [_organisation(o) for o in orgs]
    return [o.slug for o in orgs]


def tag_list(session: Session, _actor: Actor, params: Mapping[str, Any]) -> list[str]:
    return search.values_of(session, "keyword", str(params.get("query") or ""))


def license_list(
    _session: Session, _actor: Actor, _params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    lang = current_language.get()
    licences = vocabularies.load("licence")
    return [
        {
            "id": c.code,
            "title": licences.label(c.iri, lang),
            "url": c.extra.get("licence_url", c.iri),
            "status": "active",
        }
        for c in licences
    ]


ACTIONS: Mapping[str, Callable[[Session, Actor, Mapping[str, Any]], Any]] = (
    MappingProxyType(
        {
            "package_search": package_search,
            "package_show": package_show,
            "organization_list": organization_list,
            "tag_list": tag_list,
            "license_list": license_list,
        }
    )
)
