"""Checks of literal property values (strings, language strings, booleans, integers).

Each check returns the value to keep, or raises ``LiteralProblem`` naming the official
validation id. JSON-LD value objects (``{"@value": …}``) are accepted where DTDL allows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from twin_server.modeling.metamodel import NAME_PATTERN

# BCP 47: a 2-3 letter primary language, then subtags.
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
STRICT_KEYWORDS = ("@id", "@context", "@graph")
PATTERN_RULES = {
    NAME_PATTERN: "it must contain only letters, digits and underscores, start with a letter "
    "and not end with an underscore",
}
XSD = "http://www.w3.org/2001/XMLSchema#"


@dataclass
class LiteralProblem(Exception):
    code: str
    cause: str
    action: str
    value: str | None = None


def _value_object(node: dict[str, Any], prop: str, family: str, version: int) -> Any:
    """The ``@value`` of a JSON-LD value object, after checking its keys."""
    for key in node:
        if key in ("@value", "@type") or (
            version == 2 and key.startswith("@") and key not in STRICT_KEYWORDS
        ):
            continue
        if key == "@language":
            raise LiteralProblem(
                "valueObjectLanguage",
                f"Property '{prop}' has a value object with @language, but is not a language "
                "string.",
                "Remove @language from the value.",
            )
        code = {
            "@id": "valueObjectId",
            "@context": "valueObjectContext",
            "@graph": "valueObjectGraph",
        }.get(key)
        if code is None:
            code = "valueObjectKeyword" if key.startswith("@") else "valueObjectInvalidProp"
        raise LiteralProblem(
            code,
            f"Property '{prop}' has a value object with '{key}', which a value object may not "
            "have.",
            f"Remove '{key}'; a value object holds only @value (and @type).",
        )
    if "@value" not in node:
        raise LiteralProblem(
            f"{family}ObjectNoValue",
            f"Property '{prop}' has a JSON object value with no @value.",
            f"Give '{prop}' a plain {family} value.",
        )
    return node["@value"]


def _single(raw: Any, prop: str, family: str) -> Any:
    if isinstance(raw, list):
        if len(raw) != 1:
            raise LiteralProblem(
                f"{family}MultipleValues",
                f"Property '{prop}' has {len(raw)} values but allows only one.",
                f"Give '{prop}' a single {family} value.",
            )
        raw = raw[0]
    return raw


def _check_type(raw: Any, prop: str, family: str, accepted: tuple[str, ...]) -> None:
    """A typed value object's @type must be single and name the property's datatype."""
    if not isinstance(raw, dict) or "@type" not in raw:
        return
    declared = raw["@type"]
    if isinstance(declared, list):
        raise LiteralProblem(
            "literalTypeNotSingular",
            f"Property '{prop}' has a value object with more than one @type.",
            "Give the value one @type, or none.",
        )
    if declared not in accepted:
        raise LiteralProblem(
            f"{family}TypeNotString"
            if family == "string"
            else f"{family}TypeNot{family.capitalize()}",
            f"Property '{prop}' has a value object whose @type '{declared}' is not {family}.",
            f"Remove @type, or make it xsd:{family}.",
        )


def string(
    raw: Any, prop: str, *, version: int, max_length: int | None, pattern: str | None
) -> str:
    raw = _single(raw, prop, "string")
    from_object = isinstance(raw, dict)
    _check_type(raw, prop, "string", ("xsd:string", XSD + "string"))
    value = _value_object(raw, prop, "string", version) if from_object else raw
    if not isinstance(value, str):
        code = "stringValueNotString" if from_object else "stringNotString"
        raise LiteralProblem(
            code,
            f"Property '{prop}' has value {value!r}, which is not a string.",
            f"Give '{prop}' a string value.",
        )
    if max_length is not None and len(value) > max_length:
        raise LiteralProblem(
            "stringTooLong",
            f"Property '{prop}' has a value of {len(value)} characters; at most {max_length} are "
            "allowed.",
            f"Shorten the value of '{prop}' to {max_length} characters or fewer.",
            value,
        )
    if pattern is not None and not re.match(pattern, value):
        rule = PATTERN_RULES.get(pattern, f"it must match {pattern}")
        raise LiteralProblem(
            "stringInvalid",
            f"Property '{prop}' has value '{value}', which is not a valid {prop}: {rule}.",
            f"Change the value of '{prop}'.",
            value,
        )
    return value


def boolean(raw: Any, prop: str, *, version: int) -> bool:
    raw = _single(raw, prop, "boolean")
    from_object = isinstance(raw, dict)
    _check_type(raw, prop, "boolean", ("xsd:boolean", XSD + "boolean"))
    value = _value_object(raw, prop, "boolean", version) if from_object else raw
    if not isinstance(value, bool):
        code = "booleanValueNotBoolean" if from_object else "booleanNotBoolean"
        raise LiteralProblem(
            code,
            f"Property '{prop}' has value {value!r}, which is not a boolean.",
            f"Give '{prop}' the value true or false.",
        )
    return value


def integer(raw: Any, prop: str, *, version: int, minimum: int | None, maximum: int | None) -> int:
    raw = _single(raw, prop, "integer")
    from_object = isinstance(raw, dict)
    _check_type(raw, prop, "integer", ("xsd:integer", XSD + "integer", "xsd:int", XSD + "int"))
    value = _value_object(raw, prop, "integer", version) if from_object else raw
    if isinstance(value, bool) or not isinstance(value, int):
        code = "integerValueNotInteger" if from_object else "integerNotInteger"
        raise LiteralProblem(
            code,
            f"Property '{prop}' has value {value!r}, which is not an integer.",
            f"Give '{prop}' an integer value.",
        )
    if minimum is not None and value < minimum:
        code = "valueNotExact" if maximum == minimum else "valueBelowMin"
        raise LiteralProblem(
            code,
            f"Property '{prop}' has value {value}, below the minimum {minimum}.",
            f"Give '{prop}' a value of at least {minimum}.",
            str(value),
        )
    if maximum is not None and value > maximum:
        code = (
            "valueNotExact"
            if maximum == minimum
            else ("valueAboveRange" if minimum is not None else "valueAboveMax")
        )
        raise LiteralProblem(
            code,
            f"Property '{prop}' has value {value}, above the maximum {maximum}.",
            f"Give '{prop}' a value of at most {maximum}.",
            str(value),
        )
    return value


def lang_string(
    raw: Any, prop: str, *, version: int, max_length: int | None, default_language: str = "en"
) -> dict[str, str]:
    """A language string in any of its JSON-LD forms, as a map from language code to text."""
    if isinstance(raw, str):
        texts = {default_language: raw}
    elif isinstance(raw, dict):
        texts = _language_map(raw, prop, version)
    elif isinstance(raw, list):
        texts = _language_list(raw, prop, default_language, version)
    else:
        raise LiteralProblem(
            "langStringNotLangString",
            f"Property '{prop}' has value {raw!r}, which is not a string or a language map.",
            f"Give '{prop}' a string, or an object mapping language codes to strings.",
        )
    if max_length is not None:
        for code, text in texts.items():
            if len(text) > max_length:
                raise LiteralProblem(
                    "langStringValueTooLong",
                    f"Property '{prop}' has a '{code}' value of {len(text)} characters; at most "
                    f"{max_length} are allowed.",
                    f"Shorten the value of '{prop}' to {max_length} characters or fewer.",
                    text,
                )
    return texts


def _language_map(raw: dict[str, Any], prop: str, version: int) -> dict[str, str]:
    if set(raw) == {"@value", "@language"}:
        raise LiteralProblem(
            "langTagValueInLangMap",
            f"Property '{prop}' has a language-tagged value object where a language map is "
            "expected.",
            'Write a language map ({"en": "text"}), or put the value object in an array.',
        )
    texts: dict[str, str] = {}
    for code, text in raw.items():
        if code.startswith("@"):
            raise LiteralProblem(
                "langMapObjKeyword",
                f"Property '{prop}' has a language map with keyword '{code}'.",
                "Use only language codes as keys of a language map.",
            )
        if not LANGUAGE_CODE.match(code):
            raise LiteralProblem(
                "langStringInvalidCode",
                f"Property '{prop}' has a language map with key '{code}', which is not a language "
                "code.",
                "Use language codes such as 'en' or 'en-US' as keys.",
                code,
            )
        if isinstance(text, dict):
            raise LiteralProblem(
                "langTagValueInLangMap",
                f"Property '{prop}' has an object as the '{code}' value of a language map.",
                "Give each language a plain string.",
            )
        if not isinstance(text, str):
            raise LiteralProblem(
                "langStringValueNotString",
                f"Property '{prop}' has a non-string '{code}' value.",
                "Give each language a string.",
            )
        texts[code] = text
    return texts


_ELEMENT_KEYWORDS = {
    "@id": "langStringElementId",
    "@context": "langStringElementContext",
    "@graph": "langStringElementGraph",
    "@type": "langStringElementType",
}


def _language_list(
    items: list[Any], prop: str, default_language: str, version: int
) -> dict[str, str]:
    texts: dict[str, str] = {}
    for item in items:
        if isinstance(item, str):
            code, text = default_language, item
        elif isinstance(item, dict):
            code, text = _language_element(item, prop, default_language, version)
        else:
            raise LiteralProblem(
                "langStringElementNotStringOrObject",
                f"Property '{prop}' has an element {item!r} that is neither a string nor an "
                "object.",
                'Give each element as a string or a {"@value", "@language"} object.',
            )
        if code in texts:
            raise LiteralProblem(
                "langStringElementCodeNotUnique",
                f"Property '{prop}' has more than one value for language '{code}'.",
                "Give one value per language.",
                code,
            )
        texts[code] = text
    return texts


def _language_element(
    item: dict[str, Any], prop: str, default_language: str, version: int
) -> tuple[str, str]:
    for key in item:
        if key in ("@value", "@language") or (
            (version == 2 and key in ("@type",))
            or (version == 2 and key.startswith("@") and key not in _ELEMENT_KEYWORDS)
        ):
            continue
        code = _ELEMENT_KEYWORDS.get(key) or (
            "langStringElementKeyword" if key.startswith("@") else "langStringElementInvalidProp"
        )
        raise LiteralProblem(
            code,
            f"Property '{prop}' has an element with '{key}', which a language string element may "
            "not have.",
            f"Remove '{key}'.",
        )
    if "@value" not in item:
        raise LiteralProblem(
            "langStringElementNoValue",
            f"Property '{prop}' has an element with no @value.",
            "Give each element a @value.",
        )
    text = item["@value"]
    if not isinstance(text, str):
        raise LiteralProblem(
            "langStringElementValueNotString",
            f"Property '{prop}' has an element whose @value is not a string.",
            "Make @value a string.",
        )
    code = item.get("@language", default_language)
    if not isinstance(code, str):
        raise LiteralProblem(
            "langStringElementCodeNotString",
            f"Property '{prop}' has an element whose @language is not a string.",
            "Make @language a language code such as 'en'.",
        )
    if not LANGUAGE_CODE.match(code):
        raise LiteralProblem(
            "langStringElementInvalidCode",
            f"Property '{prop}' has an element with @language '{code}', which is not a language "
            "code.",
            "Use a language code such as 'en' or 'en-US'.",
            code,
        )
    return code, text


_ENUM_TYPES = {
    "xsd:boolean": "boolean",
    XSD + "boolean": "boolean",
    "xsd:string": "string",
    XSD + "string": "string",
    "xsd:integer": "integer",
    XSD + "integer": "integer",
    "xsd:int": "integer",
    XSD + "int": "integer",
}


def enum_value(raw: Any, prop: str, *, version: int) -> int | str:
    """An enumValue: an integer or a string, bare or as a (typed) value object."""
    raw = _single(raw, prop, "literal")
    if isinstance(raw, dict):
        declared = raw.get("@type")
        value = _value_object(raw, prop, "literal", version)
        family = _ENUM_TYPES.get(declared) if isinstance(declared, str) else None
        if family == "boolean" and not isinstance(value, bool):
            raise LiteralProblem(
                "booleanValueNotBoolean",
                f"Property '{prop}' has value {value!r} typed boolean.",
                "Make the value match its @type.",
            )
        if family == "string" and not isinstance(value, str):
            raise LiteralProblem(
                "stringValueNotString",
                f"Property '{prop}' has value {value!r} typed string.",
                "Make the value match its @type.",
            )
        if family == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            raise LiteralProblem(
                "integerValueNotInteger",
                f"Property '{prop}' has value {value!r} typed integer.",
                "Make the value match its @type.",
            )
    else:
        value = raw
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise LiteralProblem(
            "literalNotValid",
            f"Property '{prop}' has value {value!r}, which is neither an integer nor a string.",
            "Give enumValue an integer or a string, as the Enum's valueSchema says.",
        )
    return value
