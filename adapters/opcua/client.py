"""The OPC UA adapter: one asyncua client per distinct connection of its bindings.

- Security policies None and Basic256Sha256 (Sign, SignAndEncrypt) with a client certificate,
  and username / password.
- One subscription per connection; a monitored item per attribute, with its sampling interval
  and an absolute deadband when the binding gives one.
- A data value of bad or uncertain quality flags the attribute on the twin (``quality``), it
  never writes the value; good values carry the source timestamp as ``observedAt``.
- A lost connection is retried with backoff (1 s doubling to 30 s); the subscription and its
  items are created again on each connection.
- Commands: a node write (``{write: node}``, the payload as the value, in the node's data
  type) or a method call (``{method: node, object: node}``); the outcome is the status.
- ``browse`` walks a server's address space and proposes a binding.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any, cast

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.ua.uaerrors import UaStatusCodeError

from twin_server.adapters.bindings import Binding
from twin_server.adapters.contract import Delivery, DeliveryError, Host
from twin_server.adapters.convert import Rejected, attribute
from twin_server.core.timeutil import now_iso

from .mapping import (
    ConnectionConfig,
    Item,
    Source,
    arguments,
    check_commands,
    connection_config,
    iso,
    reading_value,
    source_of,
)

log = logging.getLogger(__name__)
MAX_BACKOFF = 30.0
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


class _Handler:
    """asyncua's subscription callbacks (on the event loop)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        self.connection.changed(node, val, data)

    def status_change_notification(self, status: Any) -> None:
        self.connection.lost.set()


class Connection:
    def __init__(
        self, config: ConnectionConfig, adapter: OpcUaAdapter, *, report: bool = True
    ) -> None:
        self.config = config
        self.adapter = adapter
        self.report = report  # a browsing probe reports nothing
        self.bindings: list[tuple[Binding, Source]] = []
        self.routes: dict[str, list[tuple[Binding, Item, str]]] = {}
        self.client: Client | None = None
        self.subscription: Any = None
        self.connected = False
        self.error: str | None = None
        self.lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"opcua {self.config.url}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close()

    async def set_bindings(self, bindings: list[tuple[Binding, Source]]) -> None:
        self.bindings = bindings
        if self.connected:
            async with self._lock:
                await self._subscribe()

    async def node(self, reference: str) -> Node:
        """A node by id, or by browse path from the Objects folder."""
        assert self.client is not None
        if reference.startswith("/"):
            path = reference[1:].split("/")
            return await self.client.nodes.objects.get_child(path)
        return self.client.get_node(reference)

    # the supervisor ----------------------------------------------------------------------------

    async def _supervise(self) -> None:
        delay = 1.0
        while True:
            try:
                await self._connect()
                delay = 1.0
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._report(
                    False, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                )
            await self._close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    async def _connect(self) -> None:
        config = self.config
        client = Client(config.url, timeout=config.timeout)
        if config.policy == "Basic256Sha256":
            mode = (
                ua.MessageSecurityMode.Sign
                if config.mode == "Sign"
                else ua.MessageSecurityMode.SignAndEncrypt
            )
            await client.set_security(
                SecurityPolicyBasic256Sha256,
                certificate=cast(str, config.certificate),
                private_key=cast(str, config.private_key),
                server_certificate=config.server_certificate,
                mode=mode,
            )
        if config.username is not None:
            client.set_user(config.username)
            client.set_password(config.password or "")
        await client.connect()
        self.client = client
        self.lost.clear()
        async with self._lock:
            await self._subscribe()
        self._report(True, None)

    async def _watch(self) -> None:
        """Until the connection is lost: the server's state is read every second."""
        assert self.client is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.lost.wait(), 1.0)
            if self.lost.is_set():
                raise ConnectionError("the subscription reported a lost connection")
            await self.client.nodes.server_state.read_value()

    async def _close(self) -> None:
        client, self.client, self.subscription = self.client, None, None
        self.routes = {}
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()
        if self.connected:
            self._report(False, self.error or "disconnected")

    async def _subscribe(self) -> None:
        """(Re)create the subscription and a monitored item per attribute."""
        assert self.client is not None
        if self.subscription is not None:
            with contextlib.suppress(Exception):
                await self.subscription.delete()
        handler = _Handler(self)
        subscription = await self.client.create_subscription(
            self.config.publishing_interval, handler
        )
        # routes are in place before each item is created: its first value comes at once
        routes: dict[str, list[tuple[Binding, Item, str]]] = {}
        self.subscription, self.routes = subscription, routes
        host = self.adapter.host
        for binding, source in self.bindings:
            twin_id = binding.twin_template.fill(source.names)
            for item in source.items:
                route = (binding, item, twin_id)
                key = ""
                try:
                    node = await self.node(item.node)
                    key = node.nodeid.to_string()
                    routes.setdefault(key, []).append(route)
                    mfilter = None
                    if item.deadband is not None:
                        mfilter = ua.DataChangeFilter()
                        mfilter.Trigger = ua.DataChangeTrigger.StatusValue
                        mfilter.DeadbandType = 1  # absolute
                        mfilter.DeadbandValue = item.deadband
                    # the library's one entry point taking both a sampling interval and a filter
                    await subscription._subscribe(
                        node,
                        mfilter=mfilter,
                        sampling_interval=ua.Double(item.sampling_interval),
                    )
                except Exception as exc:
                    if route in routes.get(key, ()):
                        routes[key].remove(route)
                    host.rejected(binding, item.node, f"cannot monitor {item.node}: {exc}")

    def _report(self, connected: bool, error: str | None) -> None:
        self.connected, self.error = connected, error
        if self.report:
            self.adapter.host.connection("opcua", self.config.name, connected, error)

    # data ---------------------------------------------------------------------------------------

    def changed(self, node: Node, value: Any, data: Any) -> None:
        host = self.adapter.host
        self.adapter.values += 1
        data_value = data.monitored_item.Value
        status = data_value.StatusCode
        for binding, item, twin_id in self.routes.get(node.nodeid.to_string(), ()):
            name = item.mapping.name
            if not status.is_good():
                flag = f"{'uncertain' if status.is_uncertain() else 'bad'} quality: {status.name}"
                host.reading(binding, twin_id, {}, flagged={name: flag})
                continue
            observed = iso(data_value.SourceTimestamp) or iso(data_value.ServerTimestamp)
            try:
                instance = attribute(
                    item.mapping, reading_value(value, name), observed or now_iso()
                )
            except Rejected as exc:
                host.rejected(binding, item.node, str(exc))
                continue
            host.reading(binding, twin_id, {name: instance})


class OpcUaAdapter:
    name = "opcua"

    def __init__(self) -> None:
        self.host: Host = cast(Host, None)
        self.connections: dict[ConnectionConfig, Connection] = {}
        self.values = 0

    def check(self, binding: Binding) -> list[str]:
        problems = []
        try:
            connection_config(binding.connection)
        except ValueError as exc:
            problems.append(str(exc))
        try:
            source_of(binding)
        except ValueError as exc:
            problems.append(str(exc))
        return problems + check_commands(binding)

    def names(self, binding: Binding) -> set[str]:
        return set(source_of(binding).names)

    async def start(self, host: Host) -> None:
        self.host = host

    async def stop(self) -> None:
        for connection in self.connections.values():
            await connection.stop()
        self.connections.clear()

    async def apply(self, bindings: list[Binding]) -> None:
        grouped: dict[ConnectionConfig, list[tuple[Binding, Source]]] = {}
        for binding in bindings:
            config = connection_config(binding.connection)
            grouped.setdefault(config, []).append((binding, source_of(binding)))
        for config in [c for c in self.connections if c not in grouped]:
            await self.connections.pop(config).stop()
        for config, members in grouped.items():
            connection = self.connections.get(config)
            if connection is None:
                connection = self.connections[config] = Connection(config, self)
                connection.bindings = members
                connection.start()
            else:
                await connection.set_bindings(members)

    async def deliver(self, delivery: Delivery) -> None:
        binding = delivery.binding
        command = binding.command(delivery.command)
        connection = self.connections.get(connection_config(binding.connection))
        if command is None or connection is None or not connection.connected:
            raise DeliveryError(f"not connected to {binding.connection.get('url')}")
        target = command.target
        try:
            if "write" in target:
                node = await connection.node(str(target["write"]))
                variant = await node.read_data_type_as_variant_type()
                await node.write_value(ua.DataValue(ua.Variant(delivery.payload, variant)))
                result: Any = None
            else:
                parent = await connection.node(str(target["object"]))
                method = await connection.node(str(target["method"]))
                result = await parent.call_method(
                    method.nodeid, *arguments(command, delivery.payload)
                )
        except UaStatusCodeError as exc:
            self.host.command_result(delivery.execution_id, "failed", {"error": str(exc)})
            return
        except (ConnectionError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"{binding.connection.get('url')}: {exc}") from exc
        try:
            response = reading_value(result, delivery.command)
        except Rejected:
            response = str(result)
        self.host.command_result(delivery.execution_id, "succeeded", response)

    def health(self) -> dict[str, Any]:
        return {
            "connections": [
                {
                    "name": c.config.name,
                    "connected": c.connected,
                    "error": c.error,
                    "bindings": len(c.bindings),
                    "monitoredItems": sum(len(r) for r in c.routes.values()),
                }
                for c in self.connections.values()
            ],
            "values": self.values,
        }

    async def browse(self, connection: dict[str, Any], root: str | None, depth: int) -> Any:
        """The variables and methods under ``root`` (the Objects folder by default), ``depth``
        levels down, and a binding that would watch every variable and offer every method."""
        config = connection_config(connection)
        probe = Connection(config, self, report=False)  # no bindings: nothing is monitored
        await probe._connect()
        try:
            assert probe.client is not None
            start = await probe.node(root) if root else probe.client.nodes.objects
            variables: list[dict[str, Any]] = []
            methods: list[dict[str, Any]] = []
            await _walk(start, "", depth, variables, methods, None)
        finally:
            await probe._close()
        attributes = [{"name": _name(v["displayName"]), "source": v["nodeId"]} for v in variables]
        commands = [
            {
                "command": _name(m["displayName"]),
                "target": {"method": m["nodeId"], "object": m["object"]},
            }
            for m in methods
        ]
        proposal = {
            "adapter": "opcua",
            "connection": {k: v for k, v in connection.items() if k != "password"},
            "source": {"names": {}},
            "twin": "urn:ngsi-ld:Device:CHANGE-ME",
            "attributes": attributes,
            "commands": commands,
        }
        return {"variables": variables, "methods": methods, "binding": proposal}


async def _walk(
    node: Node,
    path: str,
    depth: int,
    variables: list[dict[str, Any]],
    methods: list[dict[str, Any]],
    parent: str | None,
) -> None:
    if depth < 0 or len(variables) + len(methods) > 10_000:
        return
    for child in await node.get_children():
        name = await child.read_browse_name()
        step = f"{path}/{name.NamespaceIndex}:{name.Name}"
        kind = await child.read_node_class()
        display = (await child.read_display_name()).Text or name.Name
        if kind == ua.NodeClass.Variable:
            variant = await child.read_data_type_as_variant_type()
            writable = ua.AccessLevel.CurrentWrite in await child.get_access_level()
            variables.append(
                {
                    "nodeId": child.nodeid.to_string(),
                    "browsePath": step,
                    "displayName": display,
                    "dataType": variant.name,
                    "writable": writable,
                }
            )
        elif kind == ua.NodeClass.Method and parent is not None:
            methods.append(
                {
                    "nodeId": child.nodeid.to_string(),
                    "browsePath": step,
                    "displayName": display,
                    "object": parent,
                }
            )
        if kind == ua.NodeClass.Object:
            await _walk(child, step, depth - 1, variables, methods, child.nodeid.to_string())


def _name(text: str) -> str:
    name = _NOT_NAME.sub("_", text) or "value"
    return name if name[0].isalpha() else "v" + name
