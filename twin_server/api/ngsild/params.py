"""Query parameters shared by NGSI-LD endpoints: options/format, projections, paging, queries."""

from __future__ import annotations

from typing import Any

from twin_server.api.ngsild.render import View
from twin_server.config import Settings
from twin_server.core import ingest
from twin_server.core.geoquery import parse_geoquery
from twin_server.core.patterns import compile_pattern
from twin_server.core.qlang import parse_q
from twin_server.core.query import EntityQuery
from twin_server.core.selectors import parse_selector, scope_leaf
from twin_server.errors import BadRequestData, TooManyResults
from twin_server.jsonld.termmap import TermMap

VIEW_PARAMS = ("attrs", "pick", "omit", "options", "format", "lang", "geometryProperty", "local")
SELECTION_PARAMS = (
    "id",
    "idPattern",
    "type",
    "q",
    "georel",
    "geometry",
    "coordinates",
    "geoproperty",
    "scopeQ",
)
"""Parameters that select entities (queries and purge)."""
QUERY_PARAMS = (*SELECTION_PARAMS, "limit", "offset", "count")
_FORMATS = {"normalized", "keyValues", "simplified", "concise"}


def options(params: Any, allowed: set[str]) -> set[str]:
    raw = params.get("options")
    found = {o.strip() for o in raw.split(",")} if raw else set()
    unknown = found - allowed
    if unknown:
        raise BadRequestData(
            f"options {sorted(unknown)} are not valid here; valid: " + ", ".join(sorted(allowed))
        )
    return found


def view(params: Any, terms: TermMap) -> View:
    """The View a request asks for (the default one, shared, when it asks for nothing)."""
    if not params:
        return View(terms)
    opts = options(params, {"keyValues", "simplified", "sysAttrs", "concise", "normalized"})
    formats = {o for o in opts if o in _FORMATS}
    explicit = params.get("format")
    if explicit is not None:
        if explicit not in _FORMATS:
            raise BadRequestData(f"format {explicit!r} is not one of {sorted(_FORMATS)}")
        formats = {explicit}
    if len(formats) > 1:
        raise BadRequestData(f"conflicting formats requested: {sorted(formats)}")
    fmt = formats.pop() if formats else "normalized"
    fmt = "keyValues" if fmt == "simplified" else fmt
    pick = names(params.get("pick"), terms, system=True)
    attrs = names(params.get("attrs"), terms)
    if pick is not None and attrs is not None:
        raise BadRequestData("pick and attrs cannot be used together")
    omit = names(params.get("omit"), terms, system=True) or frozenset()
    if pick is not None and omit:
        raise BadRequestData("pick and omit cannot be used together")
    if attrs is not None:
        pick = attrs | {"id", "type", "scope"}
    datasets = None
    if params.get("datasetId") is not None:
        datasets = frozenset(
            d if d == "@none" else ingest.entity_id(d) for d in params["datasetId"].split(",")
        )
    return View(terms, fmt, "sysAttrs" in opts, pick, omit, params.get("lang"), datasets)


def names(raw: str | None, terms: TermMap, *, system: bool = False) -> frozenset[str] | None:
    """A comma-separated list of attribute names, expanded (id/type/scope kept as is)."""
    if raw is None:
        return None
    items = [n.strip() for n in raw.split(",")]
    if not all(items):
        raise BadRequestData(f"the attribute list {raw!r} has an empty name")
    out = set()
    for item in items:
        if system and item in ("id", "type", "scope"):
            out.add(item)
        else:
            out.add(ingest.attribute_name(item, terms))
    return frozenset(out)


def entity_query(params: Any, terms: TermMap) -> EntityQuery:
    ids = None
    if params.get("id") is not None:
        ids = frozenset(ingest.entity_id(i.strip()) for i in params["id"].split(","))
    pattern = None
    if params.get("idPattern") is not None:
        pattern = compile_pattern(params["idPattern"], "idPattern")
    types = None
    if params.get("type") is not None:
        types = parse_selector(params["type"], "type", lambda n: ingest.entity_types(n, terms)[0])
    scope = None
    if params.get("scopeQ") is not None:
        scope = parse_selector(params["scopeQ"], "scopeQ", scope_leaf)
    q = parse_q(params["q"], terms.expand) if params.get("q") is not None else None
    geo = None
    if any(params.get(k) is not None for k in ("georel", "geometry", "coordinates")):
        geoproperty = terms.expand(params.get("geoproperty") or "location")
        geo = parse_geoquery(
            georel=params.get("georel"),
            geometry=params.get("geometry"),
            coordinates=params.get("coordinates"),
            geoproperty=geoproperty,
        )
    attrs = names(params.get("attrs"), terms)
    return EntityQuery(ids, pattern, types, attrs, q, geo, scope)


def paging(params: Any, settings: Settings) -> tuple[int, int, bool]:
    limit = _integer(params, "limit", settings.default_limit)
    offset = _integer(params, "offset", 0)
    count = _boolean(params, "count")
    if limit > settings.max_limit:
        raise TooManyResults(f"limit {limit} is above the maximum of {settings.max_limit}")
    if limit == 0 and not count:
        raise BadRequestData("limit=0 is only allowed together with count=true")
    return limit, offset, count


def _integer(params: Any, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise BadRequestData(f"{name} must be a non-negative integer, not {raw!r}")
    return int(raw)


def _boolean(params: Any, name: str) -> bool:
    raw = params.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise BadRequestData(f"{name} must be true or false, not {raw!r}")
    return bool(raw == "true")


flag = _boolean
