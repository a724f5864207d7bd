"""/adapters: the protocol adapters with their health, and their bindings managed at run time.

Errors have the models API's shape (``{"error": {"code", "message"}}``); a refused binding
changes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from twin_server.adapters.runtime import AdapterRuntime
from twin_server.api.json_body import read_json, read_named
from twin_server.api.models.errors import error_response
from twin_server.errors import AlreadyExists, BadRequestData, NotFound

router = APIRouter(prefix="/adapters", tags=["adapters"])


def _runtime(request: Request) -> AdapterRuntime:
    runtime: AdapterRuntime = request.app.state.adapters
    return runtime


@router.get("", summary="The adapters, with their connections and counters")
async def list_adapters(request: Request) -> Response:
    runtime = _runtime(request)
    found = []
    for name, adapter in sorted(runtime.adapters.items()):
        mine = [b.id for b in runtime.bindings.values() if b.adapter == name]
        found.append(
            {
                "name": name,
                "description": runtime.descriptions.get(name, ""),
                "bindings": sorted(mine),
                "received": sum(runtime.received[b] for b in mine),
                "committed": sum(runtime.committed[b] for b in mine),
                "rejected": sum(runtime.refused[b] for b in mine),
                **adapter.health(),
            }
        )
    return JSONResponse(found)


@router.post("/{adapter}/browse", summary="Browse a device server and propose a binding")
async def browse(adapter: str, request: Request) -> Response:
    """For adapters that can (OPC UA): ``{"connection": {…}, "root": node, "depth": 3}``."""
    runtime = _runtime(request)
    found = runtime.adapters.get(adapter)
    try:
        if found is None:
            raise NotFound(f"there is no adapter {adapter!r}")
        walk = getattr(found, "browse", None)
        if walk is None:
            raise BadRequestData(f"adapter {adapter} cannot browse its devices")
        body = await read_json(request, "a browse request")
        if not isinstance(body, dict) or not isinstance(body.get("connection"), dict):
            raise BadRequestData('a browse request is {"connection": {…}, "root": …, "depth": …}')
        depth = body.get("depth", 3)
        if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= 10:
            raise BadRequestData("depth is a whole number from 0 to 10")
        try:
            result = await walk(body["connection"], body.get("root"), depth)
        except ValueError as exc:
            raise BadRequestData(str(exc)) from None
        except Exception as exc:  # the server refused, timed out, spoke badly: the client's to see
            raise BadRequestData(f"browsing failed: {type(exc).__name__}: {exc}") from None
    except Exception as exc:
        return error_response(exc, "Adapter")
    return JSONResponse(result)


@router.get("/bindings", summary="Every binding")
async def list_bindings(request: Request) -> Response:
    runtime = _runtime(request)
    return JSONResponse([b.document() for _, b in sorted(runtime.bindings.items())])


@router.post("/bindings", status_code=201, summary="Create a binding")
async def create_binding(request: Request) -> Response:
    runtime = _runtime(request)
    try:
        data = await read_json(request, "a binding")
        if isinstance(data, dict) and data.get("id") in runtime.bindings:
            raise AlreadyExists(f"binding {data['id']} exists; PUT /adapters/bindings/{{id}}")
        binding, _ = await runtime.put_binding(data)
    except Exception as exc:
        return error_response(exc, "Binding")
    headers = {"Location": f"/adapters/bindings/{binding.id}"}
    return JSONResponse(binding.document(), status_code=201, headers=headers)


@router.put("/bindings/{binding_id}", summary="Create or replace a binding")
async def put_binding(binding_id: str, request: Request) -> Response:
    runtime = _runtime(request)
    try:
        data = await read_named(request, binding_id, "a binding")
        binding, created = await runtime.put_binding(data)
    except Exception as exc:
        return error_response(exc, "Binding")
    return JSONResponse(binding.document(), status_code=201 if created else 200)


@router.get("/bindings/{binding_id}", summary="One binding")
async def get_binding(binding_id: str, request: Request) -> Response:
    binding = _runtime(request).bindings.get(binding_id)
    if binding is None:
        return error_response(NotFound(f"binding {binding_id} does not exist"), "Binding")
    return JSONResponse(binding.document())


@router.delete("/bindings/{binding_id}", status_code=204, summary="Delete a binding")
async def delete_binding(binding_id: str, request: Request) -> Response:
    try:
        await _runtime(request).delete_binding(binding_id)
    except Exception as exc:
        return error_response(exc, "Binding")
    return Response(status_code=204)
