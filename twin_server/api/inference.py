"""/inference: the models loaded (with their figures) and the hooks that bind them to twins.

Errors have the models API's shape; a refused hook changes nothing.
"""

from __future__ import annotations

import statistics

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from twin_server.api.json_body import read_json, read_named
from twin_server.api.models.errors import error_response
from twin_server.errors import AlreadyExists, NotFound
from twin_server.inference.runtime import InferenceRuntime

router = APIRouter(prefix="/inference", tags=["inference"])


def _runtime(request: Request) -> InferenceRuntime:
    runtime: InferenceRuntime = request.app.state.inference
    return runtime


@router.get("/models", summary="The models loaded, with their manifests")
async def list_models(request: Request) -> Response:
    runtime = _runtime(request)
    found = []
    for model_id, session in sorted(runtime.models.items()):
        manifest = session.manifest
        found.append(
            {
                "id": model_id,
                "version": manifest.version,
                "sha256": manifest.sha256,
                "description": manifest.description,
                "inputs": manifest.features(),
                "outputs": [o.property for o in manifest.outputs],
                "evaluation": manifest.evaluation,
            }
        )
    return JSONResponse(found)


@router.get("/hooks", summary="Every hook, with its figures")
async def list_hooks(request: Request) -> Response:
    runtime = _runtime(request)
    found = []
    for hook_id, hook in sorted(runtime.hooks.items()):
        stats = runtime.stats[hook_id]
        ordered = sorted(stats.latencies)
        figures = {
            "scored": stats.scored,
            "batches": stats.batches,
            "meanBatch": round(stats.scored / stats.batches, 1) if stats.batches else 0,
            "errors": stats.errors,
            "incomplete": stats.incomplete,
            "dropped": runtime.dropped[hook_id],
            "latencyP50Ms": round(statistics.median(ordered), 2) if ordered else None,
            "latencyP99Ms": round(ordered[int(len(ordered) * 0.99) - 1], 2) if ordered else None,
        }
        found.append({**hook.document(), "stats": figures})
    return JSONResponse(found)


@router.post("/hooks", status_code=201, summary="Create a hook")
async def create_hook(request: Request) -> Response:
    runtime = _runtime(request)
    try:
        data = await read_json(request, "a hook")
        if isinstance(data, dict) and data.get("id") in runtime.hooks:
            raise AlreadyExists(f"hook {data['id']} exists; PUT /inference/hooks/{{id}}")
        hook, _ = await runtime.put_hook(data)
    except Exception as exc:
        return error_response(exc, "Hook")
    return JSONResponse(hook.document(), status_code=201)


@router.put("/hooks/{hook_id}", summary="Create or replace a hook")
async def put_hook(hook_id: str, request: Request) -> Response:
    runtime = _runtime(request)
    try:
        data = await read_named(request, hook_id, "a hook")
        hook, created = await runtime.put_hook(data)
    except Exception as exc:
        return error_response(exc, "Hook")
    return JSONResponse(hook.document(), status_code=201 if created else 200)


@router.delete("/hooks/{hook_id}", status_code=204, summary="Delete a hook")
async def delete_hook(hook_id: str, request: Request) -> Response:
    try:
        await _runtime(request).delete_hook(hook_id)
    except NotFound as exc:
        return error_response(exc, "Hook")
    return Response(status_code=204)
