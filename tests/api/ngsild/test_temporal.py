"""The NGSI-LD temporal API: history recorded by every write, queried and retrieved with time
filters, lastN, the simplified and aggregated representations; direct instance writes."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest

from twin_server.app import TwinApp
from twin_server.config import Settings

pytestmark = pytest.mark.anyio
NGSI = "/ngsi-ld/v1"
TEMPORAL = f"{NGSI}/temporal/entities"
P1 = "urn:ngsi-ld:Pump:1"


def at(hour: int, minute: int = 0) -> str:
    return f"2026-03-01T{hour:02d}:{minute:02d}:00Z"


async def create(client: httpx.AsyncClient, entity_id: str = P1, **attrs: Any) -> None:
    body = {"id": entity_id, "type": "Pump", **attrs}
    response = await client.post(f"{NGSI}/entities", json=body)
    assert response.status_code == 201, response.text


async def measure(client: httpx.AsyncClient, value: float, when: str, entity_id: str = P1) -> None:
    body = {"speed": {"type": "Property", "value": value, "observedAt": when}}
    response = await client.patch(f"{NGSI}/entities/{entity_id}/attrs", json=body)
    assert response.status_code == 204, response.text


@pytest.fixture
async def pump(client: httpx.AsyncClient) -> None:
    """P1 with five speed measurements at 00:00 .. 04:00 (values 10 .. 50) and a mode."""
    await create(
        client,
        speed={"type": "Property", "value": 10, "observedAt": at(0)},
        mode={"type": "Property", "value": "auto"},
    )
    for hour in range(1, 5):
        await measure(client, 10 * (hour + 1), at(hour))


async def test_every_change_is_history_with_instance_ids(
    client: httpx.AsyncClient, pump: None
) -> None:
    response = await client.get(f"{TEMPORAL}/{P1}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["type"]) == (P1, "Pump")
    speeds = body["speed"]
    assert [i["value"] for i in speeds] == [10, 20, 30, 40, 50]
    assert [i["observedAt"] for i in speeds] == [at(h) for h in range(5)]
    assert all(i["instanceId"].startswith("urn:ngsi-ld:Instance:") for i in speeds)
    assert len({i["instanceId"] for i in speeds}) == 5
    assert body["mode"] == [
        {"type": "Property", "value": "auto", "instanceId": body["mode"][0]["instanceId"]}
    ]


async def test_timerel_and_last_n_choose_instances(client: httpx.AsyncClient, pump: None) -> None:
    async def get(params: dict[str, str]) -> list[Any]:
        response = await client.get(f"{TEMPORAL}/{P1}", params={"attrs": "speed", **params})
        assert response.status_code == 200, response.text
        return [i["value"] for i in response.json().get("speed", [])]

    assert await get({"timerel": "before", "timeAt": at(2)}) == [10, 20]
    assert await get({"timerel": "after", "timeAt": at(2)}) == [40, 50]
    between = {"timerel": "between", "timeAt": at(1), "endTimeAt": at(3)}
    assert await get(between) == [20, 30]
    assert await get({"lastN": "2"}) == [40, 50]
    assert await get({"lastN": "2", "timerel": "before", "timeAt": at(3)}) == [20, 30]


async def test_temporal_values_pair_each_value_with_its_time(
    client: httpx.AsyncClient, pump: None
) -> None:
    response = await client.get(
        f"{TEMPORAL}/{P1}", params={"format": "temporalValues", "attrs": "speed", "lastN": "2"}
    )
    assert response.json()["speed"] == {"type": "Property", "values": [[40, at(3)], [50, at(4)]]}
    legacy = await client.get(f"{TEMPORAL}/{P1}", params={"options": "temporalValues"})
    assert legacy.json()["mode"]["values"][0][0] == "auto"


async def test_aggregated_values_per_period(client: httpx.AsyncClient, pump: None) -> None:
    params = {
        "format": "aggregatedValues",
        "aggrMethods": "avg,max,totalCount",
        "aggrPeriodDuration": "PT2H",
        "attrs": "speed",
        "timerel": "between",
        "timeAt": at(0),
        "endTimeAt": at(6),
    }
    response = await client.get(f"{TEMPORAL}/{P1}", params=params)
    assert response.status_code == 200, response.text
    speed = response.json()["speed"]
    assert speed["type"] == "Property"
    assert [v[0] for v in speed["avg"]] == [15, 35, 50]
    assert speed["max"][0] == [20, "2026-03-01T00:00:00.000000Z", "2026-03-01T02:00:00.000000Z"]
    assert [v[0] for v in speed["totalCount"]] == [2, 2, 1]
    whole = await client.get(
        f"{TEMPORAL}/{P1}",
        params={"format": "aggregatedValues", "aggrMethods": "sum", "attrs": "speed"},
    )
    assert [v[0] for v in whole.json()["speed"]["sum"]] == [150]


async def test_queries_select_entities_by_type_and_attrs(client: httpx.AsyncClient) -> None:
    await create(client, P1, speed={"type": "Property", "value": 1})
    await create(client, "urn:ngsi-ld:Pump:2", level={"type": "Property", "value": 2})
    await client.post(
        f"{NGSI}/entities",
        json={
            "id": "urn:ngsi-ld:Tank:1",
            "type": "Tank",
            "speed": {"type": "Property", "value": 3},
        },
    )
    by_type = await client.get(TEMPORAL, params={"type": "Pump", "count": "true"})
    assert by_type.status_code == 200, by_type.text
    assert [e["id"] for e in by_type.json()] == [P1, "urn:ngsi-ld:Pump:2"]
    assert by_type.headers["NGSILD-Results-Count"] == "2"
    paged = await client.get(
        TEMPORAL, params={"type": "Pump", "limit": "1", "offset": "1", "count": "true"}
    )
    assert [e["id"] for e in paged.json()] == ["urn:ngsi-ld:Pump:2"]
    assert paged.headers["NGSILD-Results-Count"] == "2"
    by_attr = await client.get(TEMPORAL, params={"type": "Pump", "attrs": "speed"})
    assert [e["id"] for e in by_attr.json()] == [P1]
    by_q = await client.get(TEMPORAL, params={"type": "Pump,Tank", "q": "speed>2"})
    assert [e["id"] for e in by_q.json()] == ["urn:ngsi-ld:Tank:1"]
    posted = await client.post(
        f"{NGSI}/temporal/entityOperations/query",
        json={"type": "Query", "entities": [{"type": "Tank"}], "temporalQ": {"lastN": 1}},
    )
    assert [e["id"] for e in posted.json()] == ["urn:ngsi-ld:Tank:1"]


async def test_history_outlives_the_entity_until_deleted_itself(
    client: httpx.AsyncClient, pump: None
) -> None:
    assert (await client.delete(f"{NGSI}/entities/{P1}")).status_code == 204
    assert (await client.get(f"{TEMPORAL}/{P1}")).status_code == 200
    assert (await client.delete(f"{TEMPORAL}/{P1}")).status_code == 204
    gone = await client.get(f"{TEMPORAL}/{P1}")
    assert gone.status_code == 404
    assert gone.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"


async def test_instances_are_created_added_modified_and_deleted(
    client: httpx.AsyncClient,
) -> None:
    entity = {
        "id": "urn:ngsi-ld:Sensor:9",
        "type": "Sensor",
        "temperature": [
            {"type": "Property", "value": 20.5, "observedAt": at(1)},
            {"type": "Property", "value": 21.5, "observedAt": at(2)},
        ],
    }
    created = await client.post(TEMPORAL, json=entity)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"{TEMPORAL}/urn:ngsi-ld:Sensor:9"
    assert (await client.post(TEMPORAL, json=entity)).status_code == 204  # more instances
    url = f"{TEMPORAL}/urn:ngsi-ld:Sensor:9"
    added = await client.post(
        f"{url}/attrs",
        json={"humidity": {"type": "Property", "value": 40, "observedAt": at(3)}},
    )
    assert added.status_code == 204, added.text
    body = (await client.get(url)).json()
    assert [i["value"] for i in body["temperature"]] == [20.5, 20.5, 21.5, 21.5]
    first = body["temperature"][0]["instanceId"]
    patched = await client.patch(
        f"{url}/attrs/temperature/{first}",
        json={"temperature": {"type": "Property", "value": 19.0, "observedAt": at(1)}},
    )
    assert patched.status_code == 204, patched.text
    assert (await client.delete(f"{url}/attrs/temperature/{first}")).status_code == 204
    assert (await client.delete(f"{url}/attrs/temperature/{first}")).status_code == 404
    assert (await client.delete(f"{url}/attrs/humidity")).status_code == 204
    body = (await client.get(url)).json()
    assert [i["value"] for i in body["temperature"]] == [20.5, 21.5, 21.5]
    assert "humidity" not in body
    assert (await client.get(f"{NGSI}/entities/urn:ngsi-ld:Sensor:9")).status_code == 404


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"timerel": "during", "timeAt": at(1)}, "timerel 'during'"),
        ({"timerel": "before"}, "needs timeAt"),
        ({"timerel": "between", "timeAt": at(1)}, "needs endTimeAt"),
        ({"timerel": "between", "timeAt": at(2), "endTimeAt": at(1)}, "later than timeAt"),
        ({"timerel": "after", "timeAt": "yesterday"}, "not an ISO 8601 date-time"),
        ({"lastN": "-3"}, "lastN must be a positive integer"),
        ({"timeproperty": "seenAt"}, "timeproperty 'seenAt'"),
        ({"format": "aggregatedValues"}, "needs aggrMethods"),
        ({"format": "aggregatedValues", "aggrMethods": "median"}, "['median']"),
        (
            {"format": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "1h"},
            "not an ISO 8601 duration",
        ),
        ({"aggrMethods": "avg"}, "need format=aggregatedValues"),
        ({"frequency": "1"}, "unknown query parameter 'frequency'"),
    ],
)
async def test_a_bad_temporal_query_is_refused_with_the_reason(
    client: httpx.AsyncClient, pump: None, params: dict[str, str], detail: str
) -> None:
    response = await client.get(f"{TEMPORAL}/{P1}", params=params)
    assert response.status_code == 400, response.text
    assert detail in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"type": "Sensor", "t": {"type": "Property", "value": 1}}, "no id"),
        ({"id": "not a uri", "type": "Sensor"}, "is not a URI"),
        ({"id": "urn:x:1", "type": "Sensor", "t": {"type": "Magic", "value": 1}}, "Magic"),
        ({"id": "urn:x:1", "type": "Sensor", "t": []}, "has no instances"),
    ],
)
async def test_a_bad_temporal_entity_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, body: dict[str, Any], detail: str
) -> None:
    response = await client.post(TEMPORAL, json=body)
    assert response.status_code == 400, response.text
    assert detail in response.json()["detail"]
    assert (await client.get(TEMPORAL, params={"type": "Sensor"})).json() == []


async def test_too_many_instances_are_cut_with_206_and_content_range(
    tmp_path: Any, client: httpx.AsyncClient, app: TwinApp
) -> None:
    limited = Settings(data_dir=tmp_path / "x", temporal_max_instances=3)
    app.state.services = dataclasses.replace(app.state.services, settings=limited)
    await create(client, speed={"type": "Property", "value": 0, "observedAt": at(0)})
    for hour in range(1, 5):
        await measure(client, hour, at(hour))
    response = await client.get(f"{TEMPORAL}/{P1}")
    assert response.status_code == 206
    assert [i["value"] for i in response.json()["speed"]] == [0, 1, 2]
    assert response.headers["Content-Range"].startswith(f"date-time {at(0)}-")


async def test_tenants_keep_separate_histories(client: httpx.AsyncClient) -> None:
    east = {"NGSILD-Tenant": "east"}
    body = {"id": P1, "type": "Pump", "speed": {"type": "Property", "value": 1}}
    assert (await client.post(f"{NGSI}/entities", json=body, headers=east)).status_code == 201
    assert (await client.get(f"{TEMPORAL}/{P1}")).status_code == 404
    assert (await client.get(f"{TEMPORAL}/{P1}", headers=east)).status_code == 200
    unknown = await client.get(f"{TEMPORAL}/{P1}", headers={"NGSILD-Tenant": "west"})
    assert unknown.status_code == 404
    assert unknown.json()["type"].endswith("NonexistentTenant")
