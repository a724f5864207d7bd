"""When to retrain a model: after N operator feedbacks, or when a version drifts.

A model's policy (``PUT /inference/models/{id}/retraining``)::

    {"afterFeedback": 50, "onDrift": true, "webhook": "https://ci.example/retrain"}

Firing creates a ``RetrainingRequest`` entity (model, trigger, the feedback count or the
drifting inputs), which NGSI-LD subscriptions and GraphQL see like any change, and POSTs the
same JSON to the webhook when one is set (5 s timeout; the outcome is kept with the policy).
The feedback count starts again after each firing. Policies are stored documents.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from twin_server.core import operations
from twin_server.core.service import TwinGraph
from twin_server.core.timeutil import now_iso
from twin_server.core.types import prop
from twin_server.documents import parse_document
from twin_server.inference.predictions import VOCABULARY
from twin_server.store.base import Store

log = logging.getLogger(__name__)
KIND = "retraining-policy"
REQUEST = VOCABULARY + "RetrainingRequest"


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    after_feedback: int | None = Field(None, alias="afterFeedback", ge=1, le=1_000_000)
    on_drift: bool = Field(False, alias="onDrift")
    webhook: HttpUrl | None = None

    def document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class Retraining:
    def __init__(self, store: Store, graph: TwinGraph) -> None:
        self.store = store
        self.graph = graph
        self.policies: dict[str, Policy] = {}
        self.state: dict[str, dict[str, Any]] = {}  # model → feedbackSince, lastFired, lastWebhook

    async def load(self) -> None:
        for model_id, document in await self.store.list_documents(KIND):
            try:
                self.policies[model_id] = parse_document(Policy, document["policy"], "policy")
                self.state[model_id] = dict(document.get("state", {}))
            except (KeyError, TypeError, ValueError) as exc:
                log.error("retraining policy of %s unreadable, left out: %s", model_id, exc)

    async def put(self, model_id: str, data: Any) -> Policy:
        policy = parse_document(Policy, data, "retraining policy")
        self.policies[model_id] = policy
        self._state(model_id)
        await self._save(model_id)
        return policy

    def describe(self, model_id: str) -> dict[str, Any] | None:
        policy = self.policies.get(model_id)
        if policy is None:
            return None
        return {**policy.document(), **self.state.get(model_id, {})}

    async def feedback(self, model_id: str) -> None:
        """One more feedback on the model's predictions."""
        state = self._state(model_id)
        state["feedbackSince"] = int(state.get("feedbackSince", 0)) + 1
        policy = self.policies.get(model_id)
        due = policy.after_feedback if policy is not None else None
        if due is not None and state["feedbackSince"] >= due:
            count, state["feedbackSince"] = state["feedbackSince"], 0
            await self.fire(model_id, "feedback", {"feedbackCount": count})
            return
        if policy is not None:
            await self._save(model_id)

    async def drift(self, model_id: str, version: str, inputs: list[str]) -> None:
        policy = self.policies.get(model_id)
        if policy is not None and policy.on_drift:
            await self.fire(model_id, "drift", {"modelVersion": version, "driftingInputs": inputs})

    async def fire(self, model_id: str, reason: str, details: dict[str, Any]) -> str:
        request_id = f"urn:ngsi-ld:RetrainingRequest:{uuid.uuid4()}"
        at = now_iso()
        body = {"id": request_id, "model": model_id, "reason": reason, "at": at, **details}
        attrs = {
            VOCABULARY + "model": prop(model_id),
            VOCABULARY + "trigger": prop(reason),
            VOCABULARY + "dateIssued": prop(at),
            **{VOCABULARY + k: prop(v) for k, v in details.items()},
        }
        entity = {"id": request_id, "type": [REQUEST], "attrs": attrs}
        await self.graph.write("", request_id, operations.create(entity), origin="inference")
        log.info("retraining of %s requested (%s): %s", model_id, reason, request_id)
        state = self._state(model_id)
        state["lastFired"] = {"at": at, "reason": reason, "request": request_id}
        policy = self.policies.get(model_id)
        if policy is not None and policy.webhook is not None:
            state["lastWebhook"] = await _post(str(policy.webhook), body)
        await self._save(model_id)
        return request_id

    def _state(self, model_id: str) -> dict[str, Any]:
        return self.state.setdefault(model_id, {"feedbackSince": 0})

    async def _save(self, model_id: str) -> None:
        policy = self.policies.get(model_id)
        if policy is None:
            return
        record = {"policy": policy.document(), "state": self.state.get(model_id, {})}
        await self.store.put_document(KIND, model_id, record)


async def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.post(url, json=body)
        return {"status": response.status_code, "at": now_iso()}
    except httpx.HTTPError as exc:
        log.warning("retraining webhook %s failed: %s", url, exc)
        return {"error": str(exc) or type(exc).__name__, "at": now_iso()}
