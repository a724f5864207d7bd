"""Reading a subscription payload (NGSI-LD 1.9.1, clause 5.2.12): every member checked, with an
error that names it. The same code reads stored subscriptions back at start."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from twin_server.core import ingest
from twin_server.core.geoquery import parse_geoquery
from twin_server.core.patterns import compile_pattern
from twin_server.core.qlang import parse_q
from twin_server.core.query import EntityQuery
from twin_server.core.selectors import parse_selector, scope_leaf
from twin_server.core.timeutil import now_iso, parse_datetime
from twin_server.errors import BadRequestData
from twin_server.jsonld.termmap import TermMap
from twin_server.subscriptions.model import (
    DEFAULT_TRIGGERS,
    FORMATS,
    TRIGGERS,
    Endpoint,
    Subscription,
)
from twin_server.subscriptions.mqtt import target_of

MEMBERS = frozenset(
    {
        "id",
        "type",
        "subscriptionName",
        "description",
        "entities",
        "watchedAttributes",
        "notificationTrigger",
        "timeInterval",
        "q",
        "geoQ",
        "csf",
        "isActive",
        "notification",
        "expiresAt",
        "throttling",
        "temporalQ",
        "scopeQ",
        "lang",
        "jsonldContext",
        "@context",
        "status",
        "createdAt",
        "modifiedAt",
    }
)
READ_ONLY = ("status", "createdAt", "modifiedAt")
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
SCHEMES = ("http", "https", "mqtt", "mqtts")
ACCEPTS = ("application/json", "application/ld+json")


def new_id() -> str:
    return f"urn:ngsi-ld:Subscription:{uuid.uuid4()}"


def parse_subscription(
    document: dict[str, Any],
    terms: TermMap,
    *,
    tenant: str,
    context: Any,
    creating: bool,
) -> Subscription:
    """The subscription ``document`` describes; raise BadRequestData naming what is wrong."""
    if not isinstance(document, dict):
        raise BadRequestData("a subscription is a JSON object")
    unknown = sorted(set(document) - MEMBERS)
    if unknown:
        raise BadRequestData(f"unknown subscription member(s) {unknown}")
    if document.get("type") != "Subscription":
        raise BadRequestData('a subscription has "type": "Subscription"')
    members = {k: v for k, v in document.items() if k not in READ_ONLY and k != "@context"}
    subscription_id = ingest.entity_id(members.setdefault("id", new_id()))
    selectors = _entities(members.get("entities"), terms)
    watched = _names(members.get("watchedAttributes"), terms, "watchedAttributes")
    if not selectors and watched is None:
        raise BadRequestData("a subscription needs entities or watchedAttributes (or both)")
    interval = _positive(members.get("timeInterval"), "timeInterval")
    throttling = _positive(members.get("throttling"), "throttling")
    if interval is not None and (watched is not None or throttling is not None):
        raise BadRequestData("timeInterval cannot go with watchedAttributes or throttling")
    expires = _expires(members.get("expiresAt"), creating=creating)
    notification = members.get("notification")
    if not isinstance(notification, dict):
        raise BadRequestData("a subscription needs a notification object with an endpoint")
    fmt = notification.get("format", "normalized")
    if fmt not in FORMATS:
        raise BadRequestData(f"notification.format {fmt!r} is not one of {list(FORMATS)}")
    now = now_iso()
    return Subscription(
        id=subscription_id,
        tenant=tenant,
        terms=terms,
        context=context,
        selectors=selectors,
        filters=_filters(members, terms),
        watched=watched,
        triggers=_triggers(members.get("notificationTrigger")),
        time_interval=interval,
        throttling=throttling,
        expires_at=expires,
        active=_boolean(members.get("isActive", True), "isActive"),
        notify_attrs=_names(notification.get("attributes"), terms, "notification.attributes"),
        format="keyValues" if fmt == "simplified" else fmt,
        sys_attrs=_boolean(notification.get("sysAttrs", False), "notification.sysAttrs"),
        show_changes=_boolean(notification.get("showChanges", False), "notification.showChanges"),
        lang=_string(members.get("lang"), "lang"),
        endpoint=_endpoint(notification.get("endpoint")),
        document=members,
        created_at=now,
        modified_at=now,
    )


def _entities(value: Any, terms: TermMap) -> tuple[EntityQuery, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise BadRequestData("entities is a non-empty array of entity selectors")
    selectors = []
    for item in value:
        if not isinstance(item, dict) or "type" not in item:
            raise BadRequestData(
                "each entities member is an object with a type (and id or idPattern)"
            )
        extra = set(item) - {"id", "idPattern", "type"}
        if extra:
            raise BadRequestData(f"unknown entity selector member(s) {sorted(extra)}")
        if "id" in item and "idPattern" in item:
            raise BadRequestData("an entity selector has id or idPattern, not both")
        if not isinstance(item["type"], str):
            raise BadRequestData("an entity selector's type is a string (a type expression)")
        types = parse_selector(item["type"], "type", lambda n: ingest.entity_types(n, terms)[0])
        ids = frozenset({ingest.entity_id(item["id"])}) if "id" in item else None
        pattern = None
        if "idPattern" in item:
            if not isinstance(item["idPattern"], str):
                raise BadRequestData("idPattern is a string (a regular expression)")
            pattern = compile_pattern(item["idPattern"], "idPattern")
        selectors.append(EntityQuery(ids=ids, id_pattern=pattern, types=types))
    return tuple(selectors)


def _filters(members: dict[str, Any], terms: TermMap) -> EntityQuery:
    q = members.get("q")
    if q is not None and not isinstance(q, str):
        raise BadRequestData("q is a string in the NGSI-LD query language")
    scope = members.get("scopeQ")
    if scope is not None and not isinstance(scope, str):
        raise BadRequestData("scopeQ is a string")
    return EntityQuery(
        q=parse_q(q, terms.expand) if q is not None else None,
        geo=_geo(members.get("geoQ"), terms),
        scope=parse_selector(scope, "scopeQ", scope_leaf) if scope is not None else None,
    )


def _geo(value: Any, terms: TermMap) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequestData("geoQ is an object with geometry, coordinates and georel")
    extra = set(value) - {"geometry", "coordinates", "georel", "geoproperty"}
    if extra:
        raise BadRequestData(f"unknown geoQ member(s) {sorted(extra)}")
    coordinates = value.get("coordinates")
    if not isinstance(coordinates, str) and coordinates is not None:
        coordinates = orjson.dumps(coordinates).decode()
    for member in ("geometry", "georel", "geoproperty"):
        if member in value and not isinstance(value[member], str):
            raise BadRequestData(f"geoQ.{member} is a string")
    return parse_geoquery(
        georel=value.get("georel"),
        geometry=value.get("geometry"),
        coordinates=coordinates,
        geoproperty=terms.expand(value.get("geoproperty") or "location"),
    )


def _names(value: Any, terms: TermMap, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise BadRequestData(f"{what} is a non-empty array of attribute names")
    return frozenset(ingest.attribute_name(n, terms) for n in value)


def _triggers(value: Any) -> frozenset[str]:
    if value is None:
        return DEFAULT_TRIGGERS
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadRequestData("notificationTrigger is a non-empty array of trigger names")
    unknown = sorted(set(value) - TRIGGERS)
    if unknown:
        raise BadRequestData(f"notificationTrigger {unknown} not among {sorted(TRIGGERS)}")
    return frozenset(value)


def _positive(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise BadRequestData(f"{what} is a number of seconds above 0")
    return float(value)


def _boolean(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequestData(f"{what} is true or false")
    return value


def _string(value: Any, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise BadRequestData(f"{what} is a string")
    return value


def _expires(value: Any, *, creating: bool) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequestData("expiresAt is a date-time string")
    try:
        moment = parse_datetime(value)
    except ValueError as exc:
        raise BadRequestData(f"expiresAt {value!r} is not a date-time: {exc}") from exc
    if creating and moment <= datetime.now(UTC):
        raise BadRequestData(f"expiresAt {value} is in the past")
    return moment


def _endpoint(value: Any) -> Endpoint:
    if not isinstance(value, dict) or "uri" not in value:
        raise BadRequestData("notification.endpoint is an object with a uri")
    uri = value["uri"]
    parts = urlsplit(uri) if isinstance(uri, str) else None
    if parts is None or parts.scheme not in SCHEMES or not parts.netloc:
        raise BadRequestData(f"notification.endpoint.uri {uri!r} is not an http(s) or mqtt(s) URL")
    accept = value.get("accept", "application/json")
    if accept not in ACCEPTS:
        raise BadRequestData(
            f"notification.endpoint.accept {accept!r} is not one of {list(ACCEPTS)}"
        )
    timeout = _positive(value.get("timeout"), "notification.endpoint.timeout")
    endpoint = Endpoint(
        uri=uri,
        accept=accept,
        receiver_info=_headers(_key_values(value.get("receiverInfo"), "receiverInfo")),
        notifier_info=_key_values(value.get("notifierInfo"), "notifierInfo"),
        timeout=timeout / 1000 if timeout is not None else None,
    )
    if parts.scheme in ("mqtt", "mqtts"):
        try:
            target_of(endpoint)
        except ValueError as exc:
            raise BadRequestData(f"notification.endpoint: {exc}") from exc
    return endpoint


def _headers(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """receiverInfo pairs become headers: each key a header name, no value with a line break."""
    for key, value in pairs:
        if not HEADER_NAME.fullmatch(key) or "\r" in value or "\n" in value:
            raise BadRequestData(
                f"receiverInfo {key!r}: a key is an HTTP header name (letters, digits, "
                "!#$%&'*+-.^_`|~) and a value holds no line break"
            )
    return pairs


def _key_values(value: Any, what: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadRequestData(f"{what} is an array of {{key, value}} objects")
    pairs = []
    for item in value:
        if (
            not isinstance(item, dict)
            or set(item) != {"key", "value"}
            or not all(isinstance(v, str) for v in item.values())
        ):
            raise BadRequestData(f'each {what} member is {{"key": string, "value": string}}')
        pairs.append((item["key"], item["value"]))
    return tuple(pairs)
