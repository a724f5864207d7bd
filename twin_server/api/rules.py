"""/rules: declarative rules on twin state and predictions, with their figures (firings,
suppressed, commands, refused, alerts) and the engine's MTTA and automation rate."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from twin_server.api.json_body import read_json, read_named
from twin_server.api.models.errors import error_response
from twin_server.errors import AlreadyExists, NotFound
from twin_server.rules.engine import RuleEngine

router = APIRouter(prefix="/rules", tags=["rules"])


def _engine(request: Request) -> RuleEngine:
    engine: RuleEngine = request.app.state.rules
    return engine


@router.get("", summary="Every rule, with its figures")
async def list_rules(request: Request) -> Response:
    engine = _engine(request)
    rules = []
    for rule_id, rule in sorted(engine.rules.items()):
        stats = engine.stats[rule_id]
        figures = {
            "fired": stats.fired,
            "suppressed": stats.suppressed,
            "commands": stats.commands,
            "refused": stats.refused,
            "alerts": stats.alerts,
            "heldBackUnhealthy": stats.unhealthy,
            "failSafes": stats.fail_safes,
        }
        rules.append({**rule.document(), "stats": figures})
    return JSONResponse({"rules": rules, **engine.figures()})


@router.post("", status_code=201, summary="Create a rule")
async def create_rule(request: Request) -> Response:
    engine = _engine(request)
    try:
        data = await read_json(request, "a rule")
        if isinstance(data, dict) and data.get("id") in engine.rules:
            raise AlreadyExists(f"rule {data['id']} exists; PUT /rules/{{id}}")
        rule, _ = await engine.put_rule(data)
    except Exception as exc:
        return error_response(exc, "Rule")
    return JSONResponse(rule.document(), status_code=201)


@router.put("/{rule_id}", summary="Create or replace a rule")
async def put_rule(rule_id: str, request: Request) -> Response:
    engine = _engine(request)
    try:
        data = await read_named(request, rule_id, "a rule")
        rule, created = await engine.put_rule(data)
    except Exception as exc:
        return error_response(exc, "Rule")
    return JSONResponse(rule.document(), status_code=201 if created else 200)


@router.delete("/{rule_id}", status_code=204, summary="Delete a rule")
async def delete_rule(rule_id: str, request: Request) -> Response:
    try:
        await _engine(request).delete_rule(rule_id)
    except NotFound as exc:
        return error_response(exc, "Rule")
    return Response(status_code=204)
