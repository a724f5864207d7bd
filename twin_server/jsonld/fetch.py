"""Fetching user @contexts named by URL: short timeout, size limit, LdContextNotAvailable."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from twin_server.errors import LdContextNotAvailable


async def fetch_context(
    client: httpx.AsyncClient, url: str, *, timeout: float, max_bytes: int
) -> Any:
    """GET ``url`` and return its parsed JSON, or raise LdContextNotAvailable saying why."""
    if not url.startswith(("http://", "https://")):
        raise LdContextNotAvailable(f"@context URL {url!r} is not an http(s) URL")
    try:
        async with client.stream(
            "GET", url, timeout=timeout, headers={"Accept": "application/ld+json, application/json"}
        ) as response:
            if response.status_code != 200:
                raise LdContextNotAvailable(f"@context {url} answered HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise LdContextNotAvailable(
                        f"@context {url} is larger than the limit of {max_bytes} bytes"
                    )
    except httpx.TimeoutException as exc:
        raise LdContextNotAvailable(f"@context {url} did not answer within {timeout} s") from exc
    except httpx.HTTPError as exc:
        raise LdContextNotAvailable(f"@context {url} could not be fetched: {exc}") from exc
    try:
        return orjson.loads(bytes(body))
    except orjson.JSONDecodeError as exc:
        raise LdContextNotAvailable(f"@context {url} is not valid JSON: {exc}") from exc
