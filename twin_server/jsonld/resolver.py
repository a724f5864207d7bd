"""Resolve a request's @context (Link header URL or inline value) into a cached TermMap.

Core-context URLs resolve to the bundled copy; URLs of contexts hosted by this server resolve
locally; any other URL is fetched once (short timeout, size limit) and cached. JSON-LD context
processing itself is pyld's, run once per distinct @context; requests then use the TermMap.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from pyld import jsonld
from pyld.context_resolver import ContextResolver as PyldContextResolver
from pyld.jsonld import JsonLdError

from twin_server.errors import BadRequestData, LdContextNotAvailable
from twin_server.jsonld.core_context import (
    CORE_CONTEXT_URL,
    core_context_document,
    is_core_context,
)
from twin_server.jsonld.fetch import fetch_context
from twin_server.jsonld.termmap import TermMap

HostedLookup = Callable[[str], Awaitable[Any | None]]
"""Returns the document of a context this server hosts at that URL, or None."""

_MAX_NESTING = 8


@dataclass(slots=True)
class CachedContext:
    """A remote context document fetched on behalf of a request."""

    url: str
    document: Any
    created_at: float
    last_used_at: float
    uses: int = 0


class ContextResolver:
    """Turns @context values into TermMaps; caches processed contexts and fetched documents."""

    def __init__(
        self,
        *,
        fetch_timeout: float,
        max_bytes: int,
        cache_size: int,
        hosted: HostedLookup | None = None,
    ) -> None:
        self._fetch_timeout = fetch_timeout
        self._max_bytes = max_bytes
        self._cache_size = cache_size
        self._hosted = hosted
        self._maps: OrderedDict[bytes, TermMap] = OrderedDict()
        self.remote: dict[str, CachedContext] = {}
        self._client: httpx.AsyncClient | None = None
        self.core = self._process([])

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def term_map(self, context: Any) -> TermMap:
        """The TermMap of a user @context (None: the core context alone)."""
        if context is None or context == [] or context == CORE_CONTEXT_URL:
            return self.core
        key = orjson.dumps(context, option=orjson.OPT_SORT_KEYS)
        found = self._maps.get(key)
        if found is not None:
            self._maps.move_to_end(key)
            return found
        local = context if isinstance(context, list) else [context]
        documents: dict[str, Any] = {}
        await self._gather(local, documents, depth=0)
        result = self._process(local, documents)
        self._maps[key] = result
        if len(self._maps) > self._cache_size:
            self._maps.popitem(last=False)
        return result

    def forget(self, url: str) -> None:
        """Drop a remote document and every processed context (used on delete / reload)."""
        self.remote.pop(url, None)
        self._maps.clear()

    async def _gather(self, local: list[Any], documents: dict[str, Any], *, depth: int) -> None:
        if depth > _MAX_NESTING:
            raise BadRequestData("@context nests remote contexts more than 8 deep")
        for item in local:
            if isinstance(item, dict):
                imported = item.get("@import")
                nested = [imported] if isinstance(imported, str) else []
                await self._gather(nested, documents, depth=depth + 1)
                continue
            if not isinstance(item, str):
                if item is not None:
                    raise BadRequestData(
                        f"@context entries must be URLs or objects, not {type(item).__name__}"
                    )
                continue
            if is_core_context(item) or item in documents:
                continue
            document = await self._document(item)
            documents[item] = document
            inner = document.get("@context") if isinstance(document, dict) else None
            if inner is None:
                raise LdContextNotAvailable(f"{item} is not a JSON-LD context: no @context member")
            await self._gather(
                inner if isinstance(inner, list) else [inner], documents, depth=depth + 1
            )

    async def _document(self, url: str) -> Any:
        if self._hosted is not None:
            hosted = await self._hosted(url)
            if hosted is not None:
                return hosted
        now = time.time()
        cached = self.remote.get(url)
        if cached is None:
            if self._client is None:
                self._client = httpx.AsyncClient(follow_redirects=True, max_redirects=3)
            document = await fetch_context(
                self._client, url, timeout=self._fetch_timeout, max_bytes=self._max_bytes
            )
            cached = self.remote[url] = CachedContext(url, document, now, now)
        cached.uses += 1
        cached.last_used_at = now
        return cached.document

    def _process(self, local: list[Any], documents: dict[str, Any] | None = None) -> TermMap:
        known = documents or {}

        def load(url: str, options: Any = None) -> dict[str, Any]:
            if is_core_context(url):
                document = core_context_document()
            elif url in known:
                document = known[url]
            else:
                raise LdContextNotAvailable(f"@context {url} could not be loaded")
            return {
                "contextUrl": None,
                "documentUrl": url,
                "document": document,
                "contentType": "application/ld+json",
            }

        options = {
            "documentLoader": load,
            "contextResolver": PyldContextResolver(_FreshCache(), load),
        }
        processor = jsonld.JsonLdProcessor()
        try:
            active = processor.process_context(
                processor._get_initial_context(options), [*local, CORE_CONTEXT_URL], options
            )
        except JsonLdError as exc:
            cause = _innermost(exc)
            if isinstance(cause, LdContextNotAvailable):
                raise cause from exc
            raise BadRequestData(f"invalid @context: {_describe(exc)}") from exc
        return TermMap.from_active_context(active)


class _FreshCache(dict[str, Any]):
    """A per-call cache for pyld's resolver, so pyld keeps no state between our calls."""

    def set(self, key: str, value: Any) -> None:
        self[key] = value


def _innermost(exc: BaseException) -> BaseException:
    seen = exc
    while True:
        nxt = getattr(seen, "cause", None) or seen.__cause__ or seen.__context__
        if nxt is None or nxt is seen:
            return seen
        seen = nxt


def _describe(exc: JsonLdError) -> str:
    code = getattr(exc, "code", None)
    message = str(exc).split("\n", 1)[0]
    return f"{message} ({code})" if code else message
