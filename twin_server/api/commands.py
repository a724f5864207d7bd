"""Commands over REST: send one to a twin, read an execution, hold a twin in manual mode.

``POST /commands`` takes ``{"twinId", "command", "payload"}``, checks it against the twin's
DTDL Command and answers 201 with the execution (``pending``; its later status is twin
state, also readable at ``GET /commands/{id}``). ``PUT /twins/{id}/manualMode`` with
``{"manual": true, "by": "alice"}`` puts the twin in manual mode (automated commands to it are
then refused and recorded). The tenant is the ``NGSILD-Tenant`` header.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from twin_server.api.json_body import read_json
from twin_server.api.models.errors import error_response
from twin_server.commands import model as m
from twin_server.commands.service import CommandService
from twin_server.core import ingest
from twin_server.core.types import Entity
from twin_server.errors import BadRequestData, NotFound

router = APIRouter(tags=["commands"])
TENANT = "ngsild-tenant"


def _service(request: Request) -> CommandService:
    service: CommandService = request.app.state.services.commands
    return service


def execution_view(entity: Entity) -> dict[str, Any]:
    return {
        "id": entity["id"],
        "twinId": m.value(entity, m.TWIN),
        "command": m.value(entity, m.COMMAND),
        "payload": m.value(entity, m.PAYLOAD),
        "status": m.value(entity, m.STATUS),
        "response": m.value(entity, m.RESPONSE),
        "issuedBy": m.value(entity, m.ISSUED_BY),
        "createdAt": entity.get("createdAt"),
        "modifiedAt": entity.get("modifiedAt"),
    }


@router.post("/commands", status_code=201, summary="Send a DTDL Command to a twin")
async def send_command(request: Request) -> Response:
    tenant = request.headers.get(TENANT, "")
    try:
        body = await read_json(request, "a command")
        if not isinstance(body, dict) or not isinstance(body.get("command"), str):
            raise BadRequestData('a command is {"twinId": …, "command": …, "payload": …}')
        twin_id = ingest.entity_id(body.get("twinId"))
        execution = await _service(request).send(
            tenant, twin_id, body["command"], body.get("payload")
        )
    except Exception as exc:
        return error_response(exc, "Twin")
    headers = {"Location": f"/commands/{execution['id']}"}
    return JSONResponse(execution_view(execution), status_code=201, headers=headers)


@router.get("/commands/{execution_id}", summary="One command execution")
async def get_command(execution_id: str, request: Request) -> Response:
    tenant = request.headers.get(TENANT, "")
    service = _service(request)
    try:
        entity = await service.graph.retrieve(tenant, execution_id)
        if m.EXECUTION_TYPE not in entity["type"]:
            raise NotFound(f"{execution_id} is not a command execution")
    except Exception as exc:
        return error_response(exc, "Command")
    return JSONResponse(execution_view(entity))


@router.put("/twins/{twin_id}/manualMode", summary="Hold a twin in manual mode (or release it)")
async def put_manual_mode(twin_id: str, request: Request) -> Response:
    tenant = request.headers.get(TENANT, "")
    try:
        body = await read_json(request, "manual mode")
        manual = body.get("manual") if isinstance(body, dict) else None
        by = body.get("by", "operator") if isinstance(body, dict) else None
        if not isinstance(manual, bool) or not isinstance(by, str):
            raise BadRequestData('manual mode is {"manual": true | false, "by": "<operator>"}')
        twin = await _service(request).set_manual(tenant, ingest.entity_id(twin_id), manual, by)
    except Exception as exc:
        return error_response(exc, "Twin")
    return JSONResponse({"twinId": twin["id"], "manual": m.value(twin, m.MANUAL) is True})
