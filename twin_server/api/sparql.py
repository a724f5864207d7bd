"""``/sparql`` (the SPARQL 1.1 protocol, read-only, with a timeout) and ``/graph`` (the whole
semantic graph as Turtle or JSON-LD)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from twin_server.semantic.graph import SemanticGraph
from twin_server.semantic.timeout import Timeout, run_with_timeout

router = APIRouter(tags=["semantic"])
RESULT_FORMATS = {  # SELECT / ASK
    "application/sparql-results+json": "json",
    "application/json": "json",
    "text/csv": "csv",
    "application/sparql-results+xml": "xml",
}
GRAPH_FORMATS = {  # CONSTRUCT / DESCRIBE and /graph
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
}
TENANT_HEADER = "ngsild-tenant"


async def _current(request: Request) -> None:
    """Bring the graph up to every committed change before reading it."""
    mirror = getattr(request.app.state, "mirror", None)
    if mirror is not None:
        await mirror.flush()


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": {"code": "SparqlError", "message": message}}, status_code=status)


def _choose(accept: str, formats: dict[str, str]) -> str | None:
    """The first media type of ``formats`` the Accept header allows (the first by default)."""
    wanted = [part.split(";", 1)[0].strip() for part in accept.split(",") if part.strip()]
    if not wanted or "*/*" in wanted:
        return next(iter(formats))
    return next((m for m in wanted if m in formats), None)


async def _query_text(request: Request) -> tuple[str | None, str | None]:
    """(query, problem): the query per the protocol's three ways of sending one."""
    if request.method == "GET":
        if "update" in request.query_params:
            return None, "this endpoint is read-only: SPARQL Update is not accepted"
        return request.query_params.get("query"), None
    media = request.headers.get("content-type", "").split(";", 1)[0].strip()
    if media == "application/sparql-query":
        return (await request.body()).decode("utf-8", "replace"), None
    if media == "application/x-www-form-urlencoded":
        form = await request.form()
        if "update" in form:
            return None, "this endpoint is read-only: SPARQL Update is not accepted"
        query = form.get("query")
        return (query if isinstance(query, str) else None), None
    if media == "application/sparql-update":
        return None, "this endpoint is read-only: SPARQL Update is not accepted"
    return None, (
        f"send the query as ?query=, as application/x-www-form-urlencoded, or as "
        f"application/sparql-query (not {media or 'no content type'})"
    )


@router.get("/sparql", summary="SPARQL 1.1 query (read-only), query in ?query=")
async def sparql_get(request: Request) -> Response:
    return await _sparql(request)


@router.post("/sparql", summary="SPARQL 1.1 query (read-only), query in the body")
async def sparql_post(request: Request) -> Response:
    return await _sparql(request)


async def _sparql(request: Request) -> Response:
    query, problem = await _query_text(request)
    if problem:
        return _error(400, problem)
    if not query:
        return _error(400, "no query: give one as the 'query' parameter")
    services: Any = request.app.state.services
    graph: SemanticGraph = services.semantic
    tenant = request.headers.get(TENANT_HEADER, "")
    timeout = services.settings.sparql_timeout
    await _current(request)
    try:
        result = await run_with_timeout(lambda: graph.query(query, tenant), timeout)
    except Timeout:
        return _error(503, f"the query ran longer than {timeout:g} s and was stopped")
    except Exception as exc:  # a malformed query: rdflib's parser names the problem
        if type(exc).__name__ in ("ParseException", "ParseSyntaxException"):
            return _error(400, f"malformed query: {exc}")
        if "Update" in type(exc).__name__ or "update" in str(exc).lower():
            return _error(400, "this endpoint is read-only: SPARQL Update is not accepted")
        return _error(400, f"the query could not be evaluated: {exc}")
    accept = request.headers.get("accept", "")
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        media = _choose(accept, GRAPH_FORMATS)
        if media is None or result.graph is None:
            return _error(406, f"a graph result is sent as one of {sorted(GRAPH_FORMATS)}")
        body = result.graph.serialize(format=GRAPH_FORMATS[media])
        return Response(body, media_type=media)
    media = _choose(accept, RESULT_FORMATS)
    if media is None:
        return _error(406, f"results are sent as one of {sorted(RESULT_FORMATS)}")
    if result.type == "ASK" and RESULT_FORMATS[media] == "csv":
        media = "application/sparql-results+json"
    payload = result.serialize(format=RESULT_FORMATS[media])
    return Response(payload or b"", media_type=media)


@router.get("/graph", summary="The semantic graph (ontologies, models, twins)")
async def export(request: Request) -> Response:
    media = _choose(request.headers.get("accept", ""), GRAPH_FORMATS)
    if media is None:
        return _error(406, f"the graph is sent as one of {sorted(GRAPH_FORMATS)}")
    await _current(request)
    graph: SemanticGraph = request.app.state.services.semantic
    tenant = request.headers.get(TENANT_HEADER, "")
    body = await asyncio.to_thread(graph.export, tenant, GRAPH_FORMATS[media])
    return Response(body, media_type=media)
