"""/inference: models (versions, deployment, rollback, retraining policy), the hooks that bind
them to twins (with their figures and health), and operator feedback on predictions.

Errors have the models API's shape; a refused request changes nothing.
"""

from __future__ import annotations

import statistics
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from twin_server.api.json_body import read_json, read_named
from twin_server.api.models.errors import error_response
from twin_server.errors import AlreadyExists, BadRequestData, NotFound
from twin_server.inference.feedback import FeedbackBook, as_csv
from twin_server.inference.registry import MAX_FILE, Model
from twin_server.inference.retraining import Retraining
from twin_server.inference.runtime import InferenceRuntime

router = APIRouter(prefix="/inference", tags=["inference"])
TENANT = "ngsild-tenant"


def _runtime(request: Request) -> InferenceRuntime:
    runtime: InferenceRuntime = request.app.state.inference
    return runtime


def _describe(request: Request, model: Model) -> dict[str, Any]:
    runtime = _runtime(request)
    retraining: Retraining = request.app.state.retraining
    found = model.describe()
    for version in found["versions"]:
        session = model.versions[version["version"]]
        version["health"] = runtime.watch.version(session).describe()
    found["retraining"] = retraining.describe(model.id)
    return found


@router.get("/models", summary="Every model: its versions, their health, its deployment")
async def list_models(request: Request) -> Response:
    registry = _runtime(request).registry
    return JSONResponse([_describe(request, m) for _, m in sorted(registry.models.items())])


@router.get("/models/{model_id}", summary="One model")
async def get_model(model_id: str, request: Request) -> Response:
    try:
        return JSONResponse(_describe(request, _runtime(request).registry.get(model_id)))
    except NotFound as exc:
        return error_response(exc, "Model")


@router.post("/models/{model_id}/versions", status_code=201, summary="Register a version")
async def register_version(model_id: str, request: Request) -> Response:
    """Body: ``{"manifest": {…}, "onnx": "<the .onnx file, base64>"}``. Refused when the file
    does not match the manifest's SHA-256 or is not a model onnxruntime loads."""
    runtime = _runtime(request)
    try:
        data = await read_json(request, "a model version", max_bytes=MAX_FILE * 4 // 3 + 65_536)
        await runtime.registry.register(model_id, data)
        await runtime.recompile(model_id)
    except Exception as exc:
        return error_response(exc, "Model")
    return JSONResponse(_describe(request, runtime.registry.get(model_id)), status_code=201)


@router.put("/models/{model_id}/deployment", summary="Which versions act, shadow, split")
async def deploy(model_id: str, request: Request) -> Response:
    runtime = _runtime(request)
    try:
        data = await read_json(request, "a deployment")
        model = await runtime.registry.deploy(model_id, data)
    except Exception as exc:
        return error_response(exc, "Model")
    return JSONResponse(_describe(request, model))


@router.post("/models/{model_id}/rollback", summary="Restore the deployment before the last")
async def rollback(model_id: str, request: Request) -> Response:
    runtime = _runtime(request)
    try:
        model = await runtime.registry.rollback(model_id)
    except Exception as exc:
        return error_response(exc, "Model")
    return JSONResponse(_describe(request, model))


@router.put("/models/{model_id}/retraining", summary="When to ask for a retraining")
async def put_retraining(model_id: str, request: Request) -> Response:
    runtime = _runtime(request)
    retraining: Retraining = request.app.state.retraining
    try:
        runtime.registry.get(model_id)
        data = await read_json(request, "a retraining policy")
        await retraining.put(model_id, data)
    except Exception as exc:
        return error_response(exc, "Model")
    return JSONResponse(retraining.describe(model_id))


@router.post("/feedback", status_code=201, summary="Mark a prediction true or false")
async def mark(request: Request) -> Response:
    book: FeedbackBook = request.app.state.feedback
    try:
        data = await read_json(request, "feedback")
        record = await book.mark(request.headers.get(TENANT, ""), data)
    except Exception as exc:
        return error_response(exc, "Twin")
    return JSONResponse(record, status_code=201)


@router.get("/feedback", summary="The labelled data set: JSON, or CSV with format=csv")
async def export(request: Request) -> Response:
    book: FeedbackBook = request.app.state.feedback
    unknown = set(request.query_params) - {"model", "format"}
    fmt = request.query_params.get("format", "json")
    if unknown or fmt not in {"json", "csv"}:
        problem = f"unknown parameters {sorted(unknown)}" if unknown else f"format {fmt!r}"
        return error_response(BadRequestData(f"{problem}: model and format=json|csv"), "Model")
    records = await book.records(request.query_params.get("model"))
    if fmt == "csv":
        return Response(as_csv(records), media_type="text/csv; charset=utf-8")
    return JSONResponse(records)


@router.get("/hooks", summary="Every hook, with its figures and health")
async def list_hooks(request: Request) -> Response:
    runtime = _runtime(request)
    found = []
    for hook_id, hook in sorted(runtime.hooks.items()):
        stats = runtime.stats[hook_id]
        ordered = sorted(stats.latencies)
        figures = {
            "scored": stats.scored,
            "shadowScored": stats.shadow,
            "batches": stats.batches,
            "meanBatch": round(stats.scored / stats.batches, 1) if stats.batches else 0,
            "errors": stats.errors,
            "incomplete": stats.incomplete,
            "dropped": runtime.dropped[hook_id],
            "latencyP50Ms": round(statistics.median(ordered), 2) if ordered else None,
            "latencyP99Ms": round(ordered[int(len(ordered) * 0.99) - 1], 2) if ordered else None,
        }
        health = {
            "state": runtime.hook_state(hook_id),
            "staleTwins": runtime.watch.stale_twins(hook_id),
        }
        found.append({**hook.document(), "stats": figures, "health": health})
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
