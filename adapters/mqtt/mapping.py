"""What an MQTT binding means: its connection, the topics it listens to, how a message becomes
readings, and where its commands go.

Two source formats:
- ``json``: ``topic`` is a template with named levels (``plant/{site}/{deviceId}/state``);
  the payload is a JSON document and each mapping's pointer picks its value.
- ``iota-json``: the FIWARE IoT Agent JSON convention, so existing devices work as they are.
  Measures arrive on ``/<apikey>/<deviceId>/attrs`` (a JSON object of values) or
  ``/<apikey>/<deviceId>/attrs/<name>`` (one value); commands go to
  ``/<apikey>/<deviceId>/cmd`` as ``{"<command>": <payload>}`` and the device answers on
  ``/<apikey>/<deviceId>/cmdexe`` with ``{"<command>": <result>}``. The ``/json/`` prefixed
  topics of newer agents are understood too.
"""

from __future__ import annotations

import hashlib
import socket
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import orjson

from twin_server.adapters.bindings import Binding, CommandMapping
from twin_server.adapters.convert import Rejected
from twin_server.adapters.templates import PLACEHOLDER, Template, TemplateError, template

Format = Literal["json", "iota-json"]
MAX_PAYLOAD = 256 * 1024


@dataclass(frozen=True)
class ConnectionConfig:
    """One broker connection; bindings with equal configs share it."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    client_id: str
    version: Literal["3.1.1", "5"]
    clean_start: bool
    session_expiry: int
    shared_group: str | None
    ca_file: str | None
    cert_file: str | None
    key_file: str | None
    keepalive: int

    @property
    def name(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{self.host}:{self.port}/{self.client_id}"


def connection_config(binding: Binding) -> ConnectionConfig:
    """The binding's connection (``ValueError`` says what is wrong)."""
    conn = dict(binding.connection)
    known = {
        "url",
        "username",
        "password",
        "clientId",
        "version",
        "cleanStart",
        "sessionExpiry",
        "sharedGroup",
        "caFile",
        "certFile",
        "keyFile",
        "keepalive",
    }
    unknown = set(conn) - known
    if unknown:
        raise ValueError(f"connection: unknown settings {sorted(unknown)} (known: {sorted(known)})")
    url = urlsplit(str(conn.get("url", "mqtt://127.0.0.1:1883")))
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
        raise ValueError(f"connection.url {conn.get('url')!r} is not mqtt[s]://host[:port]")
    try:
        port = url.port or (8883 if url.scheme == "mqtts" else 1883)
    except ValueError:
        raise ValueError(f"connection.url {conn.get('url')!r} has a bad port") from None
    version = str(conn.get("version", "5"))
    if version not in ("3.1.1", "5"):
        raise ValueError(f"connection.version {version!r} is not 3.1.1 or 5")
    username = conn.get("username", unquote(url.username) if url.username else None)
    password = conn.get("password", unquote(url.password) if url.password else None)
    group = conn.get("sharedGroup")
    if group is not None and (not isinstance(group, str) or not group or "/" in group):
        raise ValueError("connection.sharedGroup is a name without '/'")
    default_id = (
        "twin-server-"
        + hashlib.sha1(
            f"{socket.gethostname()}|{url.hostname}|{port}|{username}|{group}".encode()
        ).hexdigest()[:12]
    )
    client_id = str(conn.get("clientId", default_id))
    session_expiry = conn.get("sessionExpiry", 86_400)
    keepalive = conn.get("keepalive", 30)
    for key, value in (("sessionExpiry", session_expiry), ("keepalive", keepalive)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"connection.{key} is a number of seconds")
    clean = conn.get("cleanStart", False)
    if not isinstance(clean, bool):
        raise ValueError("connection.cleanStart is true or false")
    return ConnectionConfig(
        host=url.hostname,
        port=port,
        tls=url.scheme == "mqtts",
        username=username,
        password=password,
        client_id=client_id,
        version=version,  # type: ignore[arg-type]
        clean_start=clean,
        session_expiry=session_expiry,
        shared_group=group,
        ca_file=conn.get("caFile"),
        cert_file=conn.get("certFile"),
        key_file=conn.get("keyFile"),
        keepalive=keepalive,
    )


@dataclass(frozen=True)
class Match:
    names: dict[str, str]
    kind: Literal["attrs", "attr", "response"]
    attribute: str | None = None  # the one attribute of an iota-json /attrs/<name> topic


@dataclass(frozen=True)
class Source:
    format: Format
    qos: int
    topic: Template | None = None  # json
    apikey: str | None = None  # iota-json
    responses: tuple[Template, ...] = ()  # json: the command response topics

    def filters(self) -> list[str]:
        """The topic filters to subscribe to."""
        if self.format == "iota-json":
            key = self.apikey
            found = []
            for prefix in ("", "/json"):
                found += [f"{prefix}/{key}/+/attrs", f"{prefix}/{key}/+/attrs/+"]
                found.append(f"{prefix}/{key}/+/cmdexe")
            return found
        assert self.topic is not None
        return [topic_filter(t) for t in (self.topic, *self.responses)]

    def match(self, topic: str) -> Match | None:
        if self.format == "iota-json":
            levels = topic.split("/")
            if levels[:2] == ["", "json"]:
                levels = ["", *levels[2:]]
            if len(levels) < 4 or levels[0] != "" or levels[1] != self.apikey or not levels[2]:
                return None
            names = {"apikey": levels[1], "deviceId": levels[2]}
            rest = levels[3:]
            if rest == ["attrs"]:
                return Match(names, "attrs")
            if len(rest) == 2 and rest[0] == "attrs" and rest[1]:
                return Match(names, "attr", rest[1])
            if rest == ["cmdexe"]:
                return Match(names, "response")
            return None
        assert self.topic is not None
        found = self.topic.match(topic)
        if found is not None:
            return Match(found, "attrs")
        for response in self.responses:
            found = response.match(topic)
            if found is not None:
                return Match(found, "response")
        return None

    def names(self) -> set[str]:
        if self.format == "iota-json":
            return {"apikey", "deviceId"}
        assert self.topic is not None
        return set(self.topic.names)


def source_of(binding: Binding) -> Source:
    """The binding's source (``ValueError`` says what is wrong)."""
    src = dict(binding.source)
    unknown = set(src) - {"format", "topic", "apikey", "qos"}
    if unknown:
        raise ValueError(f"source: unknown settings {sorted(unknown)}")
    fmt = src.get("format", "json")
    qos = src.get("qos", 1)
    if qos not in (0, 1) or isinstance(qos, bool):
        raise ValueError("source.qos is 0 or 1")
    if fmt == "iota-json":
        apikey = src.get("apikey")
        if not isinstance(apikey, str) or not apikey or any(c in apikey for c in "/+#"):
            raise ValueError("source.apikey (iota-json) is a key without '/', '+' or '#'")
        return Source("iota-json", qos, apikey=apikey)
    if fmt != "json":
        raise ValueError(f"source.format {fmt!r} is not json or iota-json")
    text = src.get("topic")
    if not isinstance(text, str) or not text:
        raise ValueError("source.topic (json) is a topic template such as plant/{deviceId}/state")
    topic = _topic(text, "source.topic")
    responses = []
    for command in binding.commands:
        response = command.target.get("responseTopic")
        if response is not None:
            responses.append(_topic(str(response), f"command {command.command}: responseTopic"))
    return Source("json", qos, topic=topic, responses=tuple(responses))


def command_topic(binding: Binding, source: Source, command: CommandMapping) -> Template:
    if source.format == "iota-json":
        return template(f"/{source.apikey}/{{deviceId}}/cmd")
    text = command.target.get("topic")
    if not isinstance(text, str) or not text:
        raise ValueError(f"command {command.command}: target.topic is a topic template")
    return _topic(text, f"command {command.command}: target.topic")


def check_commands(binding: Binding, source: Source) -> list[str]:
    problems = []
    for command in binding.commands:
        try:
            topic = command_topic(binding, source, command)
        except (ValueError, TemplateError) as exc:
            problems.append(str(exc))
            continue
        unknown = set(command.target) - {"topic", "responseTopic", "qos"}
        if unknown:
            problems.append(f"command {command.command}: unknown target settings {sorted(unknown)}")
        missing = set(topic.names) - set(binding.twin_template.names)
        if missing:
            problems.append(
                f"command {command.command}: its topic uses {sorted(missing)}, which the twin "
                "id does not name"
            )
    return problems


def decode(payload: bytes, match: Match) -> Any:
    """The message as JSON (an iota-json single value may be plain text)."""
    if len(payload) > MAX_PAYLOAD:
        raise Rejected(f"payload of {len(payload)} bytes is over the limit of {MAX_PAYLOAD}")
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        if match.kind == "attr":
            try:
                return {match.attribute: payload.decode()}
            except UnicodeDecodeError:
                raise Rejected("the payload is neither JSON nor text") from None
        raise Rejected(f"the payload is not JSON ({exc})") from None
    if match.kind == "attr":
        return {match.attribute: document}
    if not isinstance(document, dict):
        raise Rejected(f"the payload is a JSON {type(document).__name__}, not an object")
    return document


def topic_filter(source: Template) -> str:
    """The subscription filter of a topic template: each placeholder a ``+`` level."""
    return "/".join(
        "+" if PLACEHOLDER.fullmatch(level) else level for level in source.text.split("/")
    )


def _topic(text: str, what: str) -> Template:
    for level in text.split("/"):
        if "+" in level or "#" in level:
            raise ValueError(f"{what} {text!r}: use {{name}} placeholders, not MQTT wildcards")
        if PLACEHOLDER.search(level) and not PLACEHOLDER.fullmatch(level):
            raise ValueError(f"{what} {text!r}: a placeholder fills a whole level ({level!r})")
    if text.startswith("$"):
        raise ValueError(f"{what} {text!r}: topics starting with $ belong to the broker")
    return template(text)
