"""The parser on models written for these tests: what a modeler sees when a model is right,
and the error (id, element, file, line) when it is not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from twin_server.modeling.errors import ModelError
from twin_server.modeling.parser import Options, parse_texts

PUMP: dict[str, Any] = {
    "@context": "dtmi:dtdl:context;3",
    "@id": "dtmi:com:example:Pump;1",
    "@type": "Interface",
    "displayName": "Pump",
    "extends": "dtmi:com:example:Asset;1",
    "contents": [
        {"@type": "Telemetry", "name": "flow", "schema": "double"},
        {"@type": "Property", "name": "speed", "schema": "double", "writable": True},
        {"@type": "Relationship", "name": "feeds", "target": "dtmi:com:example:Tank;1"},
        {"@type": "Component", "name": "motor", "schema": "dtmi:com:example:Motor;1"},
        {
            "@type": "Command",
            "name": "setSpeed",
            "request": {"name": "rpm", "schema": "double"},
            "response": {"name": "accepted", "schema": "boolean"},
        },
        {
            "@type": "Property",
            "name": "mode",
            "schema": {
                "@type": "Enum",
                "valueSchema": "string",
                "enumValues": [
                    {"name": "auto", "enumValue": "auto"},
                    {"name": "manual", "enumValue": "manual"},
                ],
            },
        },
    ],
}
ASSET = {
    "@context": "dtmi:dtdl:context;3",
    "@id": "dtmi:com:example:Asset;1",
    "@type": "Interface",
    "contents": [{"@type": "Property", "name": "serial", "schema": "string"}],
}
MOTOR = {
    "@context": "dtmi:dtdl:context;3",
    "@id": "dtmi:com:example:Motor;1",
    "@type": "Interface",
    "contents": [{"@type": "Telemetry", "name": "temperature", "schema": "double"}],
}


def text(doc: Any) -> str:
    return json.dumps(doc, indent=2)


def test_a_valid_model_set_gives_its_interfaces_and_their_contents() -> None:
    models = parse_texts(
        [("pump.json", text(PUMP)), ("asset.json", text(ASSET)), ("motor.json", text(MOTOR))]
    )
    assert sorted(i.id for i in models.interfaces()) == [
        "dtmi:com:example:Asset;1",
        "dtmi:com:example:Motor;1",
        "dtmi:com:example:Pump;1",
    ]
    pump = models["dtmi:com:example:Pump;1"]
    contents = {models[c].name: models[c] for c in pump.objects["contents"]}
    assert contents["flow"].cls == "Telemetry"
    assert contents["speed"].literals["writable"] is True
    assert contents["feeds"].literals["target"] == "dtmi:com:example:Tank;1"
    assert contents["motor"].one("schema") == "dtmi:com:example:Motor;1"
    assert models[contents["setSpeed"].one("request") or ""].cls == "CommandRequest"
    assert pump.objects["extends"] == ["dtmi:com:example:Asset;1"]
    assert contents["flow"].id == "dtmi:com:example:Pump:_contents:__flow;1"


def test_an_error_names_the_validation_id_the_element_the_file_and_the_line() -> None:
    bad = dict(MOTOR, contents=[{"@type": "Telemetry", "name": "temperature", "schema": "doubel"}])
    with pytest.raises(ModelError) as caught:
        parse_texts([("motor.json", text(bad))])
    [error] = caught.value.errors
    assert error.validation_id == "dtmi:dtdl:parsingError:badDtmiOrTerm"
    assert error.primary_id == "dtmi:com:example:Motor:_contents:__temperature;1"
    assert error.prop == "schema"
    assert error.value == "doubel"
    assert (error.source, error.line) == ("motor.json", 9)
    assert str(error).startswith("motor.json:9: dtmi:dtdl:parsingError:badDtmiOrTerm: ")
    assert "Give 'schema' a valid DTMI or a DTDL term." in error.message


def test_every_error_of_a_phase_is_reported_not_only_the_first() -> None:
    bad = dict(
        MOTOR,
        contents=[
            {"@type": "Telemetry", "name": "2hot", "schema": "double"},
            {"@type": "Telemetry", "name": "cold", "schema": 13},
        ],
    )
    with pytest.raises(ModelError) as caught:
        parse_texts([("motor.json", text(bad))])
    codes = sorted(e.code for e in caught.value.errors)
    assert codes == ["objectCountBelowMin", "refNotStringOrObject", "stringInvalid"]


def test_a_reference_defined_nowhere_is_reported_as_unresolved_with_its_place() -> None:
    with pytest.raises(ModelError) as caught:
        parse_texts([("pump.json", text(PUMP)), ("asset.json", text(ASSET))])
    assert caught.value.unresolved == {"dtmi:com:example:Motor;1": ["pump.json:27"]}
    assert not caught.value.errors


def test_the_resolver_supplies_referenced_models_and_what_they_reference() -> None:
    asked: list[list[str]] = []
    library = {"dtmi:com:example:Asset;1": text(ASSET), "dtmi:com:example:Motor;1": text(MOTOR)}

    def resolver(ids: Any) -> dict[str, str]:
        asked.append(sorted(ids))
        return {f"repo:{i}": library[i] for i in ids if i in library}

    models = parse_texts([("pump.json", text(PUMP))], resolver=resolver)
    assert asked == [["dtmi:com:example:Asset;1", "dtmi:com:example:Motor;1"]]
    assert "dtmi:com:example:Motor;1" in models.elements


def test_malformed_json_is_reported_with_its_line() -> None:
    with pytest.raises(ModelError) as caught:
        parse_texts([("broken.json", '{\n  "@context": "dtmi:dtdl:context;3",\n  "@id": \n}')])
    [error] = caught.value.errors
    assert error.code == "invalidJson"
    assert (error.source, error.line) == ("broken.json", 4)


def test_a_file_may_hold_an_array_of_interfaces() -> None:
    models = parse_texts([("all.json", text([PUMP, ASSET, MOTOR]))])
    assert len(models.interfaces()) == 3


def test_duplicate_content_names_across_extends_are_refused() -> None:
    child = dict(
        ASSET,
        **{"@id": "dtmi:com:example:Child;1", "extends": "dtmi:com:example:Asset;1"},
    )
    with pytest.raises(ModelError) as caught:
        parse_texts([("a.json", text(ASSET)), ("c.json", text(child))])
    assert [e.code for e in caught.value.errors] == ["nonUniqueImportedPropertyValue"]


def test_an_extends_cycle_is_refused() -> None:
    a = dict(ASSET, extends="dtmi:com:example:B;1")
    b = {**MOTOR, "@id": "dtmi:com:example:B;1", "extends": "dtmi:com:example:Asset;1"}
    with pytest.raises(ModelError) as caught:
        parse_texts([("a.json", text(a)), ("b.json", text(b))])
    assert {e.code for e in caught.value.errors} == {"recursiveStructureNarrow"}


def test_dtdl_v2_limits_apply_to_v2_models_only() -> None:
    many = [{"@type": "Property", "name": f"p{i}", "schema": "double"} for i in range(301)]
    v3 = {**ASSET, "contents": many}
    assert parse_texts([("v3.json", text(v3))]).interfaces()
    v2 = {**v3, "@context": "dtmi:dtdl:context;2"}
    with pytest.raises(ModelError) as caught:
        parse_texts([("v2.json", text(v2))])
    assert [e.code for e in caught.value.errors] == ["objectCountAboveMax"]


def test_semantic_types_need_a_unit_of_their_kind() -> None:
    context = ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"]
    good = {
        "@type": ["Telemetry", "Temperature"],
        "name": "t",
        "schema": "double",
        "unit": "degreeCelsius",
    }
    assert parse_texts([("ok.json", text({**MOTOR, "@context": context, "contents": [good]}))])
    wrong = {**good, "unit": "metre"}
    with pytest.raises(ModelError) as caught:
        parse_texts([("bad.json", text({**MOTOR, "@context": context, "contents": [wrong]}))])
    assert [e.code for e in caught.value.errors] == ["wrongParent"]


def test_undefined_extensions_follow_the_version_default_unless_told() -> None:
    doc = {**MOTOR, "@context": ["dtmi:dtdl:context;3", "dtmi:com:example:ext;1"]}
    with pytest.raises(ModelError) as caught:
        parse_texts([("m.json", text(doc))])
    assert [e.code for e in caught.value.errors] == ["unresolvableContextSpecifier"]
    allowed = Options(allow_undefined_extensions=True)
    assert parse_texts([("m.json", text(doc))], options=allowed).interfaces()


def test_hostile_nesting_is_an_error_not_a_crash() -> None:
    schema: Any = "double"
    for _ in range(400):
        schema = {"@type": "Array", "elementSchema": schema}
    deep = {**MOTOR, "contents": [{"@type": "Telemetry", "name": "t", "schema": schema}]}
    with pytest.raises(ModelError) as caught:
        parse_texts([("deep.json", text(deep))])
    assert [e.validation_id for e in caught.value.errors] == [
        "dtmi:twinserver:parsingError:tooDeep"
    ]
    chain = [
        {
            "@id": f"dtmi:com:example:s{i};1",
            "@type": "Array",
            "elementSchema": f"dtmi:com:example:s{i + 1};1",
        }
        for i in range(2000)
    ]
    chain.append({"@id": "dtmi:com:example:s2000;1", "@type": "Array", "elementSchema": "double"})
    flat = {**MOTOR, "schemas": chain}
    with pytest.raises(ModelError) as caught:
        parse_texts([("chain.json", text(flat))])
    assert {e.code for e in caught.value.errors} <= {"tooDeep", "excessiveDepthWide"}
