"""Bindings: which device source updates which twin and attribute, how values convert, and
where a twin's Commands go. Declarative (JSON or YAML), managed at run time through the API.

The parts every adapter shares are checked here; ``connection``, ``source`` and each
command's ``target`` are the adapter's own, and the adapter checks them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin_server.adapters.templates import Template, TemplateError, template
from twin_server.documents import parse_document
from twin_server.errors import BadRequestData

NAME = r"^[A-Za-z_][A-Za-z0-9_.:/#-]{0,255}$"
Expect = Literal["number", "integer", "string", "boolean", "object", "array", "any"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class AttributeMapping(_Strict):
    """One attribute of the twin, from one value of the device's message."""

    name: str = Field(pattern=NAME, description="The attribute (a short name or an IRI).")
    source: str | None = Field(
        None,
        description="Where the value is: a JSON pointer into the payload (default: /<name>), "
        "or the adapter's own address (an OPC UA node id).",
    )
    scale: float = 1.0
    offset: float = 0.0
    unit_code: str | None = Field(None, alias="unitCode", max_length=64)
    expect: Expect = Field("any", description="The JSON type the value must have.")
    minimum: float | None = None
    maximum: float | None = None
    observed_at: str | None = Field(
        None,
        alias="observedAt",
        description="A JSON pointer to the message's timestamp (ISO 8601 or epoch seconds); "
        "none: the source's own timestamp, else the time it arrived.",
    )


class CommandMapping(_Strict):
    """Where one DTDL Command of the twin goes (the target is the adapter's own)."""

    command: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
    target: dict[str, Any] = Field(default_factory=dict)
    timeout: float = Field(30.0, gt=0, le=86_400, description="Seconds to wait for the answer.")
    ttl: float = Field(
        3600.0, gt=0, le=30 * 86_400, description="Seconds it may wait for the device."
    )


class Binding(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,128}$")
    adapter: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    tenant: str = ""
    connection: dict[str, Any] = Field(default_factory=dict)
    source: dict[str, Any] = Field(default_factory=dict)
    twin: str = Field(min_length=1, max_length=512, description="Twin id template.")
    type: str | None = Field(None, description="Create the twin with this type if missing.")
    device: str | None = Field(None, description="Device twin id template (health).")
    context: list[str] | None = Field(
        None, description="@context URLs for attribute names (default: the models' context)."
    )
    attributes: list[AttributeMapping] = Field(default_factory=list, max_length=1000)
    commands: list[CommandMapping] = Field(default_factory=list, max_length=100)
    expected_interval: float | None = Field(
        None, alias="expectedInterval", gt=0, description="Seconds; silent longer: stale."
    )

    @model_validator(mode="after")
    def _templates(self) -> Binding:
        twin = template(self.twin)
        if not self.twin.startswith(("urn:", "http://", "https://")) or " " in self.twin:
            raise ValueError(f"twin {self.twin!r} is not a URI template (urn:…{{name}}…)")
        if self.device is not None:
            device = template(self.device)
            if not set(device.names) <= set(twin.names):
                raise ValueError("device may only use the placeholders of twin")
        names = [a.name for a in self.attributes]
        if len(set(names)) != len(names):
            raise ValueError("an attribute is mapped twice")
        commands = [c.command for c in self.commands]
        if len(set(commands)) != len(commands):
            raise ValueError("a command is mapped twice")
        return self

    @property
    def twin_template(self) -> Template:
        return template(self.twin)

    def serves(self, twin_id: str) -> dict[str, str] | None:
        """The template names of ``twin_id`` when it is one of this binding's twins. A binding
        for one device (fixed ``source.names``, as OPC UA bindings have) serves that device's
        twin only."""
        names = self.twin_template.match(twin_id)
        fixed = self.source.get("names")
        if names is None or not isinstance(fixed, dict):
            return names
        return names if all(names.get(k, v) == v for k, v in fixed.items()) else None

    def device_id(self, twin_id: str) -> str:
        """The id of the device twin that reports the health of ``twin_id``'s device."""
        if self.device is not None:
            names = self.twin_template.match(twin_id) or {}
            return template(self.device).fill(names)
        return "urn:ngsi-ld:Device:" + twin_id.removeprefix("urn:ngsi-ld:")

    def command(self, name: str) -> CommandMapping | None:
        return next((c for c in self.commands if c.command == name), None)

    def document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


def parse_binding(data: Any) -> Binding:
    """A binding from its JSON form; ``BadRequestData`` says every problem, with its place."""
    try:
        return parse_document(Binding, data, "binding")
    except TemplateError as exc:
        raise BadRequestData(f"invalid binding: {exc}") from None


def read_binding_files(path: Path) -> list[Binding]:
    """The bindings in a YAML or JSON file, or in every such file of a folder (a file holds
    one binding or a list). An error names the file."""
    files = (
        sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
        if path.is_dir()
        else [path]
    )
    found: list[Binding] = []
    for file in files:
        try:
            text = file.read_bytes()
            data = orjson.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except (OSError, orjson.JSONDecodeError, yaml.YAMLError) as exc:
            raise BadRequestData(f"{file}: cannot read bindings: {exc}") from None
        for item in data if isinstance(data, list) else [data]:
            try:
                found.append(parse_binding(item))
            except BadRequestData as exc:
                raise BadRequestData(f"{file}: {exc}") from None
    return found
