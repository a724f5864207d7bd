"""``/models``: the HTTP side of the model repository."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import JSONResponse, Response

from twin_server.api.models.errors import error_response
from twin_server.api.models.upload import read_upload
from twin_server.errors import InvalidRequest
from twin_server.modeling.repository import ModelRepository
from twin_server.store.base import ModelRecord

router = APIRouter(prefix="/models", tags=["models"])
MAX_PAGE = 1000


def _repository(request: Request) -> ModelRepository:
    repository: ModelRepository = request.app.state.services.models
    return repository


def model_data(record: ModelRecord, *, definition: bool) -> dict[str, Any]:
    """A model in Azure Digital Twins' DigitalTwinsModelData shape."""
    document = record.document
    data: dict[str, Any] = {
        "id": record.id,
        "displayName": _language_map(document.get("displayName")),
        "description": _language_map(document.get("description")),
        "uploadTime": record.upload_time,
        "decommissioned": record.decommissioned,
    }
    if definition:
        data["model"] = document
    return data


def _language_map(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": value}
    return value if isinstance(value, dict) else {}


@router.post("", status_code=201, summary="Upload models (all or nothing)")
async def add_models(request: Request) -> Response:
    repository = _repository(request)
    settings = request.app.state.services.settings
    try:
        sources = await read_upload(request, max_bytes=settings.max_model_upload_bytes)
        records = await repository.add(sources)
    except Exception as exc:
        return error_response(exc)
    return JSONResponse([model_data(r, definition=True) for r in records], status_code=201)


@router.get("", summary="List models")
async def list_models(
    request: Request,
    dependencies_for: Annotated[list[str] | None, Query(alias="dependenciesFor")] = None,
    include_definition: Annotated[bool, Query(alias="includeModelDefinition")] = False,
    continuation: Annotated[int, Query(alias="continuationToken", ge=0)] = 0,
    api_version: Annotated[str | None, Query(alias="api-version")] = None,
    max_items: Annotated[int | None, Header(alias="max-items-per-page")] = None,
) -> Response:
    repository = _repository(request)
    try:
        records = (
            repository.with_dependencies(dependencies_for)
            if dependencies_for
            else repository.listing()
        )
        size = min(max_items or MAX_PAGE, MAX_PAGE)
        if size < 1:
            raise InvalidRequest("max-items-per-page must be at least 1")
    except Exception as exc:
        return error_response(exc)
    page = records[continuation : continuation + size]
    body: dict[str, Any] = {
        "value": [model_data(r, definition=include_definition) for r in page],
        "nextLink": None,
    }
    if continuation + size < len(records):
        params = dict(request.query_params)
        params["continuationToken"] = str(continuation + size)
        query = "&".join(f"{k}={v}" for k, v in params.items())
        body["nextLink"] = f"{request.url.path}?{query}"
    del api_version
    return JSONResponse(body)


@router.get("/{model_id}", summary="Get a model")
async def get_model(
    request: Request,
    model_id: str,
    include_definition: Annotated[bool, Query(alias="includeModelDefinition")] = False,
) -> Response:
    try:
        record = _repository(request).get(model_id)
    except Exception as exc:
        return error_response(exc)
    return JSONResponse(model_data(record, definition=include_definition))


@router.patch("/{model_id}", status_code=204, summary="Decommission a model (JSON Patch)")
async def update_model(request: Request, model_id: str) -> Response:
    try:
        patch = await request.json()
    except ValueError:
        return error_response(InvalidRequest("the body is not JSON; send a JSON Patch array"))
    expected = [{"op": "replace", "path": "/decommissioned", "value": True}]
    if patch != expected:
        return error_response(
            InvalidRequest(
                "the only change a model accepts is decommissioning: "
                '[{"op": "replace", "path": "/decommissioned", "value": true}]'
            )
        )
    try:
        await _repository(request).decommission(model_id)
    except Exception as exc:
        return error_response(exc)
    return Response(status_code=204)


@router.delete("/{model_id}", status_code=204, summary="Delete a model")
async def delete_model(request: Request, model_id: str) -> Response:
    try:
        await _repository(request).delete(model_id)
    except Exception as exc:
        return error_response(exc)
    return Response(status_code=204)
