"""What every NGSI-LD request shares: tenant, @context, media types, body and query parameters.

The rules (clause 6.3): ``application/json`` bodies take their @context from the Link header and
must not carry one; ``application/ld+json`` bodies carry their own @context and must not have a
Link header; GET requests use the Link header. Unknown query parameters are an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from twin_server.api.ngsild.problem import NotAcceptable, PayloadTooLarge, UnsupportedMediaType
from twin_server.errors import BadRequestData, InvalidRequest
from twin_server.jsonld.core_context import CORE_CONTEXT_URL
from twin_server.jsonld.resolver import ContextResolver
from twin_server.jsonld.termmap import TermMap
from twin_server.store.base import DEFAULT_TENANT

JSON = "application/json"
JSONLD = "application/ld+json"
GEOJSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"

_CORE_LINK = f'<{CORE_CONTEXT_URL}>; rel="{CONTEXT_REL}"; type="{JSONLD}"'
_TENANT = re.compile(r"^[A-Za-z0-9_\-.:/]{1,256}$")
_LINK = re.compile(r"^\s*<([^>]*)>\s*(.*)$")


@dataclass(slots=True)
class NgsiRequest:
    request: Request
    tenant: str
    terms: TermMap
    context: Any
    """The user @context as given (URL, list or object), or None for the core context alone."""
    body: Any = None

    params: dict[str, str] = field(default_factory=dict)
    """The query parameters (each at most once: check_params refuses repeats)."""

    def context_link(self) -> str:
        """The Link header value naming the @context of this request's response."""
        if not isinstance(self.context, str):
            return _CORE_LINK
        return f'<{self.context}>; rel="{CONTEXT_REL}"; type="{JSONLD}"'

    def response_context(self) -> Any:
        """The @context to put in an application/ld+json response body."""
        if self.context is None:
            return CORE_CONTEXT_URL
        return self.context


async def ngsi_request(
    request: Request,
    *,
    resolver: ContextResolver,
    allowed: Iterable[str],
    body: bool = False,
    max_body: int,
    content_types: tuple[str, ...] = (JSON, JSONLD),
) -> NgsiRequest:
    """Check parameters, read and check the body, resolve the @context."""
    params = check_params(request, allowed)
    tenant = _tenant(request)
    link = _link_context(request)
    payload: Any = None
    context: Any = link
    if body:
        media = _media_type(header(request, "content-type"))
        if media not in content_types:
            raise UnsupportedMediaType(
                f"Content-Type {media or '(none)'} is not accepted here; use "
                + " or ".join(content_types)
            )
        payload = await read_json(request, max_body)
        context = _body_context(payload, media, link)
    terms = await resolver.term_map(context)
    return NgsiRequest(request, tenant, terms, context, payload, params)


def header(request: Request, name: str) -> str | None:
    """One request header (lower-case name; the last one wins), from a dict built once per
    request straight from the ASGI scope (cheaper than Starlette's Headers on the hot path)."""
    scope = request.scope
    headers: dict[str, str] | None = scope.get("twin.headers")
    if headers is None:
        headers = scope["twin.headers"] = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
        }
    return headers.get(name)


def check_params(request: Request, allowed: Iterable[str]) -> dict[str, str]:
    """The query parameters as a plain dict (cheaper to read than Starlette's QueryParams);
    unknown and repeated ones are errors (FastAPI would ignore them)."""
    raw: bytes = request.scope.get("query_string", b"")
    if not raw:
        return {}
    seen: dict[str, str] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name not in allowed:
            raise InvalidRequest(
                f"unknown query parameter {name!r}; this endpoint takes "
                + ", ".join(sorted(allowed))
            )
        if name in seen:
            raise InvalidRequest(f"query parameter {name!r} is given more than once")
        seen[name] = value
    return seen


def negotiate(request: Request, offered: tuple[str, ...]) -> str:
    """The best of ``offered`` for the Accept header (406 when none is acceptable).

    Each offer takes the quality of the most specific Accept entry matching it; ties go to the
    earlier offer.
    """
    accept = header(request, "accept")
    if not accept:
        return offered[0]
    key = (accept, offered)
    found = _NEGOTIATED.get(key)
    if found is None:
        found = _negotiate(accept, offered)
        if len(_NEGOTIATED) < 1024:
            _NEGOTIATED[key] = found
    return found


_NEGOTIATED: dict[tuple[str, tuple[str, ...]], str] = {}


def _negotiate(header: str, offered: tuple[str, ...]) -> str:
    entries = [_accept_entry(part) for part in header.split(",") if part.strip()]
    scores: list[tuple[float, int, str]] = []
    for index, candidate in enumerate(offered):
        specificity, quality = -1, 0.0
        for media, q in entries:
            level = {candidate: 2, "application/*": 1, "*/*": 0}.get(media, -1)
            if level > specificity:
                specificity, quality = level, q
        if specificity >= 0 and quality > 0:
            scores.append((quality, -index, candidate))
    if not scores:
        raise NotAcceptable(f"Accept {header!r} matches none of {', '.join(offered)}")
    return max(scores)[2]


def _accept_entry(part: str) -> tuple[str, float]:
    media, *params = (p.strip() for p in part.split(";"))
    quality = 1.0
    for param in params:
        key, _, value = param.partition("=")
        if key.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
    return media.lower(), quality


def _tenant(request: Request) -> str:
    tenant = header(request, "ngsild-tenant")
    if tenant is None or tenant == "":
        return DEFAULT_TENANT
    if not _TENANT.match(tenant):
        raise BadRequestData(f"NGSILD-Tenant {tenant!r} is not a valid tenant name")
    return tenant


def _media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def _link_context(request: Request) -> str | None:
    headers = [v.decode("latin-1") for k, v in request.scope["headers"] if k == b"link"]
    found: list[str] = []
    for header in headers:
        for part in _split_links(header):
            match = _LINK.match(part)
            if not match:
                raise BadRequestData(f"Link header {part!r} is malformed")
            url, params = match.groups()
            if CONTEXT_REL in params:
                found.append(url)
    if len(found) > 1:
        raise BadRequestData("more than one JSON-LD @context Link header")
    if found and not re.match(r"^https?://", found[0]):
        raise BadRequestData(f"Link header @context {found[0]!r} is not an http(s) URL")
    return found[0] if found else None


def _split_links(header: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, c in enumerate(header):
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(header[start:i])
            start = i + 1
    parts.append(header[start:])
    return [p for p in parts if p.strip()]


def _body_context(payload: Any, media: str, link: str | None) -> Any:
    items = payload if isinstance(payload, list) else [payload]
    contexts = [i.get("@context") for i in items if isinstance(i, dict) and "@context" in i]
    if media == JSONLD:
        if link is not None:
            raise BadRequestData(
                "application/ld+json requests carry @context in the body, not in a Link header"
            )
        if len(contexts) != len(items) or not items:
            raise BadRequestData("an application/ld+json body must contain an @context")
        first = contexts[0]
        if any(c != first for c in contexts[1:]):
            raise BadRequestData("every entity of one request must have the same @context")
        return first
    if contexts:
        raise BadRequestData(
            "an application/json body must not contain @context; "
            "send it in a Link header or use application/ld+json"
        )
    return link


async def read_json(request: Request, limit: int) -> Any:
    declared = header(request, "content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit}")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise PayloadTooLarge(f"the body is larger than the limit of {limit} bytes")
    if not data:
        raise InvalidRequest("the request has no body")
    try:
        return orjson.loads(bytes(data))
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from exc
