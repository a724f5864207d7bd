"""What an OPC UA binding means: its connection (endpoint, security, user), the nodes its
attributes watch (node ids or browse paths, sampling interval, deadband), how a data value
becomes a reading (status codes, timestamps), and what its commands do (write or call).

A node is named by its NodeId string (``ns=2;s=Pump1.Speed``, ``i=2258``) or by a browse
path from the Objects folder (``/2:Pump1/2:Speed``). An OPC UA binding's twin id template
uses the names of ``source.names`` (``{"deviceId": "P1"}``): one binding, one device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from twin_server.adapters.bindings import AttributeMapping, Binding, CommandMapping
from twin_server.adapters.convert import Rejected
from twin_server.core.timeutil import iso_utc

Policy = Literal["None", "Basic256Sha256"]
Mode = Literal["Sign", "SignAndEncrypt"]


@dataclass(frozen=True)
class ConnectionConfig:
    url: str
    policy: Policy
    mode: Mode
    certificate: str | None
    private_key: str | None
    server_certificate: str | None
    username: str | None
    password: str | None
    publishing_interval: float  # ms
    timeout: float  # s

    @property
    def name(self) -> str:
        return self.url if self.policy == "None" else f"{self.url} ({self.policy}, {self.mode})"


def connection_config(connection: dict[str, Any]) -> ConnectionConfig:
    """A connection from its settings (``ValueError`` says what is wrong)."""
    conn = dict(connection)
    known = {
        "url",
        "securityPolicy",
        "securityMode",
        "certificate",
        "privateKey",
        "serverCertificate",
        "username",
        "password",
        "publishingInterval",
        "timeout",
    }
    unknown = set(conn) - known
    if unknown:
        raise ValueError(f"connection: unknown settings {sorted(unknown)} (known: {sorted(known)})")
    url = conn.get("url")
    if not isinstance(url, str) or not url.startswith("opc.tcp://"):
        raise ValueError(f"connection.url {url!r} is not opc.tcp://host:port[/path]")
    policy = conn.get("securityPolicy", "None")
    if policy not in ("None", "Basic256Sha256"):
        raise ValueError(f"connection.securityPolicy {policy!r} is not None or Basic256Sha256")
    mode = conn.get("securityMode", "SignAndEncrypt")
    if mode not in ("Sign", "SignAndEncrypt"):
        raise ValueError(f"connection.securityMode {mode!r} is not Sign or SignAndEncrypt")
    if policy != "None" and not (conn.get("certificate") and conn.get("privateKey")):
        raise ValueError(f"connection: {policy} needs a client certificate and privateKey")
    interval = _number(conn.get("publishingInterval", 100), "connection.publishingInterval")
    timeout = _number(conn.get("timeout", 4), "connection.timeout")
    return ConnectionConfig(
        url=url,
        policy=policy,
        mode=mode,
        certificate=conn.get("certificate"),
        private_key=conn.get("privateKey"),
        server_certificate=conn.get("serverCertificate"),
        username=conn.get("username"),
        password=conn.get("password"),
        publishing_interval=interval,
        timeout=timeout,
    )


@dataclass(frozen=True)
class Item:
    """One watched node and the attribute it updates."""

    mapping: AttributeMapping
    node: str
    sampling_interval: float  # ms
    deadband: float | None  # absolute; None: every change


@dataclass(frozen=True)
class Source:
    names: dict[str, str]
    items: tuple[Item, ...]


def source_of(binding: Binding) -> Source:
    src = dict(binding.source)
    unknown = set(src) - {"names", "samplingInterval", "deadband", "items"}
    if unknown:
        raise ValueError(f"source: unknown settings {sorted(unknown)}")
    names = src.get("names", {})
    if not isinstance(names, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in names.items()
    ):
        raise ValueError('source.names is an object of names to values ({"deviceId": "P1"})')
    sampling = _number(src.get("samplingInterval", 100), "source.samplingInterval")
    deadband = src.get("deadband")
    if deadband is not None:
        deadband = _number(deadband, "source.deadband")
    overrides = src.get("items", {})
    if not isinstance(overrides, dict):
        raise ValueError("source.items is an object of attribute names to their settings")
    items = []
    for mapping in binding.attributes:
        node = mapping.source
        if not node:
            raise ValueError(f"attribute {mapping.name}: source is the node id or browse path")
        check_node(node, f"attribute {mapping.name}")
        own = overrides.get(mapping.name, {})
        if not isinstance(own, dict) or set(own) - {"samplingInterval", "deadband"}:
            raise ValueError(f"source.items.{mapping.name} has samplingInterval and deadband only")
        item_sampling = _number(own.get("samplingInterval", sampling), "samplingInterval")
        item_deadband = own.get("deadband", deadband)
        if item_deadband is not None:
            item_deadband = _number(item_deadband, "deadband")
        items.append(Item(mapping, node, item_sampling, item_deadband))
    unknown_items = set(overrides) - {m.name for m in binding.attributes}
    if unknown_items:
        raise ValueError(f"source.items names attributes not mapped: {sorted(unknown_items)}")
    return Source(dict(names), tuple(items))


def check_node(node: str, what: str) -> None:
    """A node id string or a browse path (``ValueError`` says what is wrong)."""
    if node.startswith("/"):
        for part in node[1:].split("/"):
            index, colon, name = part.partition(":")
            if not colon or not index.isdigit() or not name:
                raise ValueError(f"{what}: browse path step {part!r} is not <namespace>:<name>")
        return
    from asyncua import ua  # imported here: parsing only

    try:
        ua.NodeId.from_string(node)
    except Exception:
        raise ValueError(
            f"{what}: {node!r} is neither a node id nor a /ns:name browse path"
        ) from None


def check_commands(binding: Binding) -> list[str]:
    problems = []
    for command in binding.commands:
        target = command.target
        kinds = [k for k in ("write", "method") if k in target]
        if len(kinds) != 1 or set(target) - {"write", "method", "object"}:
            problems.append(
                f"command {command.command}: target is {{write: node}} or "
                "{method: node, object: node}"
            )
            continue
        try:
            for key in ("write", "method", "object"):
                if key in target:
                    check_node(str(target[key]), f"command {command.command}: {key}")
        except ValueError as exc:
            problems.append(str(exc))
        if "method" in target and "object" not in target:
            problems.append(f"command {command.command}: a method call names its object")
    return problems


def arguments(command: CommandMapping, payload: Any) -> list[Any]:
    """A method's input arguments from a command payload: a list is the arguments, an object
    its values in order, anything else the one argument, none no argument."""
    if payload is None:
        return []
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        return list(payload.values())
    return [payload]


def reading_value(value: Any, name: str) -> Any:
    """A data value's Python value as JSON (a date-time becomes ISO 8601)."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Rejected(f"{name}: {value!r} is not a finite number")
        return value
    if isinstance(value, list | tuple):
        return [reading_value(v, name) for v in value]
    raise Rejected(f"{name}: an OPC UA value of type {type(value).__name__} cannot be stored")


def iso(moment: datetime | None) -> str | None:
    return iso_utc(moment) if moment is not None else None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{what} is a number, at least 0")
    return float(value)
