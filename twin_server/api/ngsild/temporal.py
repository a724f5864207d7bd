"""/temporal/entities: the NGSI-LD temporal API (GS CIM 009 V1.9.1, clauses 5.6.11-5.6.16 and
5.7.3-5.7.4): query and retrieve entity history, and create, add, modify and delete instances.

Temporal query parameters: ``timerel`` (before: t < timeAt; after: t > timeAt; between:
timeAt <= t < endTimeAt), ``timeproperty`` (observedAt, the default, createdAt, modifiedAt,
deletedAt), ``lastN`` (the last N instances of each attribute, oldest first), the
``temporalValues`` and ``aggregatedValues`` formats (``options=`` or ``format=``),
``aggrMethods`` and ``aggrPeriodDuration`` (PT0S or absent: the whole range). More than
``TWIN_TEMPORAL_MAX_INSTANCES`` instances of one attribute: the first ones (the last ones
with lastN) are returned with 206 Partial Content and a Content-Range header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from twin_server.api.ngsild import params as p
from twin_server.api.ngsild.batch import query_params
from twin_server.api.ngsild.context import services
from twin_server.api.ngsild.entities import read_request, write_request
from twin_server.api.ngsild.request import JSON, JSONLD, NgsiRequest, negotiate
from twin_server.api.ngsild.responses import body_response, no_content
from twin_server.api.ngsild.temporal_render import (
    TemporalView,
    aggregated_attribute,
    head,
    temporal_entity,
)
from twin_server.core import ingest
from twin_server.core.timeutil import now_iso
from twin_server.errors import BadRequestData
from twin_server.jsonld.termmap import TermMap
from twin_server.temporal.duration import duration_us
from twin_server.temporal.model import (
    AGGREGATIONS,
    TIME_PROPERTIES,
    AggregateQuery,
    HistoryRow,
    Series,
    SeriesQuery,
    TimeFilter,
    TimeProperty,
    history_row,
    micros,
    parse_instance_id,
)
from twin_server.temporal.service import TemporalEntity, TemporalService

TEMPORAL = "/ngsi-ld/v1/temporal/entities/"
TIME_PARAMS = (
    "timerel",
    "timeAt",
    "endTimeAt",
    "timeproperty",
    "lastN",
    "aggrMethods",
    "aggrPeriodDuration",
)
VIEW = ("attrs", "options", "format", "lang", "local")
_FORMATS = ("normalized", "temporalValues", "aggregatedValues")
_SELECTORS = ("id", "idPattern", "type", "attrs", "q", "georel")


def temporal(request: Request) -> TemporalService:
    return services(request).temporal


# -- reading -----------------------------------------------------------------------------------


async def query_temporal(request: Request) -> Response:
    """Query the temporal evolution of entities (id, idPattern, type, attrs, q, geo, scopeQ;
    timerel/timeAt/endTimeAt, lastN, temporalValues or aggregatedValues; limit/offset/count)."""
    media = negotiate(request, (JSON, JSONLD))
    nreq = await read_request(request, (*VIEW, *TIME_PARAMS, *p.QUERY_PARAMS))
    return await _query(request, nreq, nreq.params, media)


async def query_temporal_post(request: Request) -> Response:
    """Query the temporal evolution of entities with a Query object (its temporalQ included)."""
    media = negotiate(request, (JSON, JSONLD))
    nreq = await write_request(request, ("limit", "offset", "count", *VIEW, "lastN"))
    body = nreq.body
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise BadRequestData('the body must be a Query object ({"type": "Query", ...})')
    params: dict[str, str] = {**query_params(body), **nreq.params}
    temporal_q = body.get("temporalQ") or {}
    if not isinstance(temporal_q, dict):
        raise BadRequestData("temporalQ is an object (timerel, timeAt, endTimeAt, timeproperty)")
    for key in ("timerel", "timeAt", "endTimeAt", "timeproperty", "lastN"):
        if temporal_q.get(key) is not None:
            params[key] = str(temporal_q[key])
    return await _query(request, nreq, params, media)


async def _query(request: Request, nreq: NgsiRequest, params: Any, media: str) -> Response:
    if not any(params.get(k) is not None for k in _SELECTORS):
        raise BadRequestData(
            "a temporal query needs at least one of id, idPattern, type, attrs, q or georel"
        )
    query = p.entity_query(params, nreq.terms)
    settings = services(request).settings
    limit, offset, count = p.paging(params, settings)
    plan = _plan(params, nreq.terms, settings.temporal_max_instances)
    service = temporal(request)
    page: list[dict[str, Any]] = []
    matched, truncated = 0, False
    for entity in await service.entities(nreq.tenant, query):
        if not count and matched >= offset + limit:
            break
        in_page = offset <= matched < offset + limit
        if not in_page and not plan.attrs_given:
            matched += 1  # every entity is shown: no need to read what is not
            continue
        series = await service.series(nreq.tenant, entity.id, plan.series)
        if not series and plan.attrs_given:
            continue  # its history has none of the attributes asked for
        matched += 1
        if in_page:
            page.append(await _entity(request, nreq, entity, plan, series))
            truncated = truncated or any(s.truncated for s in series)
    headers = {"NGSILD-Results-Count": str(matched)} if count else {}
    status = 206 if truncated and plan.aggregate is None else 200
    return body_response(nreq, page, media=media, headers=headers, status=status)


async def retrieve_temporal(request: Request) -> Response:
    """Retrieve the temporal evolution of one entity (404 when it has none)."""
    media = negotiate(request, (JSON, JSONLD))
    nreq = await read_request(request, (*VIEW, *TIME_PARAMS))
    settings = services(request).settings
    plan = _plan(nreq.params, nreq.terms, settings.temporal_max_instances)
    service = temporal(request)
    entity = await service.get(nreq.tenant, ingest.entity_id(request.path_params["id"]))
    series = await service.series(nreq.tenant, entity.id, plan.series)
    shown = await _entity(request, nreq, entity, plan, series)
    truncated = plan.aggregate is None and any(s.truncated for s in series)
    headers = _content_range(shown, plan.view.time) if truncated else {}
    return body_response(
        nreq, shown, media=media, status=206 if truncated else 200, headers=headers
    )


class Plan:
    """What a temporal read asks for, parsed once."""

    def __init__(
        self,
        view: TemporalView,
        series: SeriesQuery,
        aggregate: AggregateQuery | None,
        attrs_given: bool,
    ) -> None:
        self.view = view
        self.series = series
        self.aggregate = aggregate
        self.attrs_given = attrs_given


def _plan(params: Any, terms: TermMap, max_instances: int) -> Plan:
    opts = p.options(params, {"temporalValues", "aggregatedValues", "sysAttrs", "normalized"})
    formats = {o for o in opts if o in _FORMATS}
    if params.get("format") is not None:
        if params["format"] not in _FORMATS:
            raise BadRequestData(f"format {params['format']!r} is not one of {list(_FORMATS)}")
        formats = {params["format"]}
    if len(formats) > 1:
        raise BadRequestData(f"conflicting formats requested: {sorted(formats)}")
    fmt = formats.pop() if formats else "normalized"
    time = _time_filter(params)
    view = TemporalView(terms, fmt, "sysAttrs" in opts, params.get("lang"), time.prop)
    last_n = _last_n(params.get("lastN"))
    attrs = p.names(params.get("attrs"), terms)
    series = SeriesQuery(attrs, time, last_n, max_instances)
    aggregate = None
    if fmt == "aggregatedValues":
        aggregate = _aggregate(params, time)
    elif params.get("aggrMethods") is not None or params.get("aggrPeriodDuration") is not None:
        raise BadRequestData("aggrMethods and aggrPeriodDuration need format=aggregatedValues")
    return Plan(view, series, aggregate, attrs is not None)


def _time_filter(params: Any) -> TimeFilter:
    prop = params.get("timeproperty") or "observedAt"
    if prop not in TIME_PROPERTIES:
        raise BadRequestData(f"timeproperty {prop!r} is not one of {list(TIME_PROPERTIES)}")
    chosen: TimeProperty = prop
    timerel = params.get("timerel")
    time_at, end_at = params.get("timeAt"), params.get("endTimeAt")
    if timerel is None:
        if time_at is not None or end_at is not None:
            raise BadRequestData("timeAt and endTimeAt need timerel (before, after or between)")
        return TimeFilter(chosen)
    if timerel not in ("before", "after", "between"):
        raise BadRequestData(f"timerel {timerel!r} is not before, after or between")
    if time_at is None:
        raise BadRequestData(f"timerel={timerel} needs timeAt")
    start = _moment(time_at, "timeAt")
    if timerel == "before":
        return TimeFilter(chosen, end=start)
    if timerel == "after":
        return TimeFilter(chosen, start=start + 1)
    if end_at is None:
        raise BadRequestData("timerel=between needs endTimeAt")
    end = _moment(end_at, "endTimeAt")
    if end <= start:
        raise BadRequestData("endTimeAt must be later than timeAt")
    return TimeFilter(chosen, start=start, end=end)


def _moment(text: str, what: str) -> int:
    try:
        return micros(text)
    except (ValueError, TypeError, OverflowError) as exc:
        raise BadRequestData(f"{what} {text!r} is not an ISO 8601 date-time") from exc


def _last_n(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) == 0 or len(raw) > 9:
        raise BadRequestData(f"lastN must be a positive integer, not {raw!r}")
    return int(raw)


def _aggregate(params: Any, time: TimeFilter) -> AggregateQuery:
    raw = params.get("aggrMethods")
    if not raw:
        raise BadRequestData("format=aggregatedValues needs aggrMethods, e.g. aggrMethods=avg,max")
    methods = tuple(dict.fromkeys(m.strip() for m in raw.split(",")))
    unknown = [m for m in methods if m not in AGGREGATIONS]
    if unknown:
        raise BadRequestData(f"aggrMethods {unknown} are not among {list(AGGREGATIONS)}")
    period = None
    if params.get("aggrPeriodDuration") is not None:
        period = duration_us(params["aggrPeriodDuration"], "aggrPeriodDuration") or None
    return AggregateQuery(methods, time, start=time.start, period=period)


async def _entity(
    request: Request, nreq: NgsiRequest, entity: TemporalEntity, plan: Plan, series: list[Series]
) -> dict[str, Any]:
    """The entity's temporal representation from the series read for it."""
    if plan.aggregate is None:
        return temporal_entity(entity, series, plan.view)
    out = head(entity, nreq.terms)
    for one in series:
        buckets = await temporal(request).aggregate(
            nreq.tenant, entity.id, one.attr, plan.aggregate
        )
        kind = one.instances[-1]["type"]
        out[nreq.terms.compact(one.attr)] = aggregated_attribute(
            kind, buckets, plan.aggregate.methods
        )
    return out


def _content_range(shown: dict[str, Any], prop: TimeProperty) -> dict[str, str]:
    """Content-Range of a cut-short answer: the time span of the instances it holds."""
    times: list[str] = []
    for value in shown.values():
        for inst in value if isinstance(value, list) else ():
            moment = inst.get(prop) or inst.get("createdAt") if isinstance(inst, dict) else None
            if isinstance(moment, str):
                times.append(moment)
    if not times:
        return {}
    return {"Content-Range": f"date-time {min(times)}-{max(times)}/*"}


# -- writing -----------------------------------------------------------------------------------


async def create_temporal(request: Request) -> Response:
    """Create or update the temporal representation of an entity: its instances are added
    (201 with Location when the entity had no history, else 204)."""
    nreq = await write_request(request)
    payload = nreq.body
    if not isinstance(payload, dict):
        raise BadRequestData("a temporal entity must be a JSON object")
    entity_id = ingest.entity_id(payload.get("id"))
    types = ingest.entity_types(payload.get("type"), nreq.terms)
    rows = _rows(entity_id, _attributes(payload), nreq.terms)
    created = await temporal(request).add(nreq.tenant, entity_id, types, rows)
    if created:
        location = TEMPORAL + quote(entity_id, safe=":")
        return Response(status_code=201, headers={"Location": location})
    return no_content(nreq)


async def add_temporal_attributes(request: Request) -> Response:
    """Add attribute instances to an entity's temporal representation (404 when it has none)."""
    nreq = await write_request(request)
    entity_id = ingest.entity_id(request.path_params["id"])
    payload = nreq.body
    if not isinstance(payload, dict):
        raise BadRequestData("the attributes must be a JSON object")
    if payload.get("id", entity_id) != entity_id:
        raise BadRequestData("the body's id differs from the URL's")
    rows = _rows(entity_id, _attributes(payload), nreq.terms)
    if not rows:
        raise BadRequestData("no attribute instances to add")
    await temporal(request).add(nreq.tenant, entity_id, None, rows)
    return no_content(nreq)


async def delete_temporal(request: Request) -> Response:
    """Delete an entity's whole temporal representation."""
    nreq = await read_request(request, ("local",))
    entity_id = ingest.entity_id(request.path_params["id"])
    await temporal(request).delete_entity(nreq.tenant, entity_id)
    return no_content(nreq)


async def delete_temporal_attribute(request: Request) -> Response:
    """Delete an attribute's instances: the default instance's (or ``datasetId``'s), or of
    every dataset with ``deleteAll=true``."""
    nreq = await read_request(request, ("deleteAll", "datasetId", "local"))
    entity_id = ingest.entity_id(request.path_params["id"])
    attr = ingest.attribute_name(request.path_params["attrId"], nreq.terms)
    delete_all = p.flag(nreq.params, "deleteAll")
    raw_dataset = nreq.params.get("datasetId")
    if delete_all and raw_dataset is not None:
        raise BadRequestData("deleteAll and datasetId cannot be used together")
    dataset = None if delete_all else ingest.entity_id(raw_dataset) if raw_dataset else ""
    await temporal(request).delete_attribute(nreq.tenant, entity_id, attr, dataset)
    return no_content(nreq)


async def modify_temporal_instance(request: Request) -> Response:
    """Replace one attribute instance (its id and createdAt stay)."""
    nreq = await write_request(request)
    entity_id = ingest.entity_id(request.path_params["id"])
    name = request.path_params["attrId"]
    attr = ingest.attribute_name(name, nreq.terms)
    iid = _instance_number(request.path_params["instanceId"])
    payload = nreq.body
    if not isinstance(payload, dict):
        raise BadRequestData("the instance must be a JSON object")
    fragment = payload.get(name, payload) if name in payload else payload
    instances = ingest.attribute_instances(attr, fragment, nreq.terms)
    if len(instances) != 1:
        raise BadRequestData("give exactly one instance")
    row = history_row(entity_id, attr, instances[0], now_iso())
    await temporal(request).modify_instance(nreq.tenant, entity_id, attr, iid, row)
    return no_content(nreq)


async def delete_temporal_instance(request: Request) -> Response:
    """Delete one attribute instance."""
    nreq = await read_request(request, ("local",))
    entity_id = ingest.entity_id(request.path_params["id"])
    attr = ingest.attribute_name(request.path_params["attrId"], nreq.terms)
    iid = _instance_number(request.path_params["instanceId"])
    await temporal(request).delete_instance(nreq.tenant, entity_id, attr, iid)
    return no_content(nreq)


def _instance_number(text: str) -> int:
    found = parse_instance_id(text)
    if found is None:
        raise BadRequestData(
            f"{text!r} is not an instanceId of this server (urn:ngsi-ld:Instance:N)"
        )
    return found


def _attributes(payload: dict[str, Any]) -> dict[str, Any]:
    reserved = {"id", "type", "@context", "scope", "createdAt", "modifiedAt", "deletedAt"}
    return {k: v for k, v in payload.items() if k not in reserved}


def _rows(entity_id: str, attributes: dict[str, Any], terms: TermMap) -> list[HistoryRow]:
    """Each attribute's instances (an instance or an array of them; a temporal representation
    may hold many of one datasetId), parsed like any NGSI-LD attribute."""
    at = now_iso()
    rows = []
    for name, value in attributes.items():
        attr = ingest.attribute_name(name, terms)
        items = value if isinstance(value, list) else [value]
        if not items:
            raise BadRequestData(f"attribute {name!r} has no instances")
        for item in items:
            for instance in ingest.attribute_instances(attr, item, terms):
                rows.append(history_row(entity_id, attr, instance, at))
    return rows
