"""The DTDL parser: JSON documents → elements, each checked against the metamodel.

Parsing runs in two phases, as the official parser does: this module reads every document
into elements (syntax, @context, @id, @type, properties, literal values); ``rules`` then
checks the model set as a whole (references, inheritance, limits). A phase with errors stops
the parse, so the errors reported are the ones a modeler must fix first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from twin_server.modeling import elements, rules
from twin_server.modeling.errors import JsonPath, Location, ModelError, ParsingError
from twin_server.modeling.model import ModelSet
from twin_server.modeling.resolver import Resolver
from twin_server.modeling.source import SourceMap
from twin_server.modeling.state import Options, Reader


@dataclass
class Document:
    """One source: its name, text and parsed JSON."""

    name: str
    text: str
    value: Any = None
    _map: SourceMap | None = None

    def source_map(self) -> SourceMap:
        if self._map is None:
            self._map = SourceMap(self.text)
        return self._map


def parse_texts(
    sources: Sequence[tuple[str, str]],
    *,
    options: Options | None = None,
    resolver: Resolver | None = None,
) -> ModelSet:
    """Parse the named JSON texts as one model set; raise ``ModelError`` with every error."""
    documents = [Document(name, text) for name, text in sources]
    state = Reader(documents, options or Options())
    for index, doc in enumerate(documents):
        try:
            doc.value = json.loads(doc.text)
        except (json.JSONDecodeError, RecursionError) as exc:
            line = getattr(exc, "lineno", None)
            state.errors.append(
                ParsingError(
                    "invalidJson",
                    f"{doc.name} is not valid JSON: {getattr(exc, 'msg', exc)}.",
                    "Correct the JSON syntax.",
                    location=Location(index),
                    source=doc.name,
                    line=line,
                )
            )
    _raise_if_any(state)
    for index, doc in enumerate(documents):
        try:
            _document(state, index, doc.value)
        except RecursionError:
            state.error(
                "tooDeep",
                f"{doc.name} nests elements too deeply to be read.",
                "Flatten the model: DTDL itself allows complex schemas 5 levels deep.",
                location=Location(index),
            )
    _raise_if_any(state)
    if resolver is not None:
        _resolve(state, resolver)
    missing = rules.unresolved(state.models, state.references)
    if missing:
        raise _unresolved(state, missing)
    try:
        rules.check(state.models, state.references, state.error)
    except RecursionError:
        state.error(
            "tooDeep",
            "The model set chains schemas too deeply to be checked.",
            "Flatten the schemas: DTDL allows complex schemas 5 levels deep.",
            location=None,
        )
    _raise_if_any(state)
    return state.models


def _unresolved(state: Reader, missing: Sequence[rules.ReferenceLike]) -> ModelError:
    places: dict[str, list[str]] = {}
    for ref in missing:
        doc = state.documents[ref.location.doc]
        span = doc.source_map().spans.get(ref.location.path)
        places.setdefault(ref.target, []).append(f"{doc.name}:{span.key_line if span else '?'}")
    return ModelError([], places)


def _resolve(state: Reader, resolver: Resolver) -> None:
    """Ask the resolver for referenced DTMIs no document defines, until none is missing."""
    asked: set[str] = set()
    while True:
        missing = sorted(
            {r.target for r in state.references if r.target not in state.models.elements} - asked
        )
        if not missing:
            return
        asked.update(missing)
        found = resolver(missing)
        for name, text in found.items():
            doc = Document(name, text)
            state.documents.append(doc)
            try:
                doc.value = json.loads(text)
            except json.JSONDecodeError as exc:
                state.error(
                    "invalidJson",
                    f"{name} is not valid JSON: {exc.msg}.",
                    "Correct the JSON syntax.",
                    location=Location(len(state.documents) - 1),
                )
                continue
            _document(state, len(state.documents) - 1, doc.value)
        _raise_if_any(state)


def _raise_if_any(state: Reader) -> None:
    if not state.errors:
        return
    located = []
    for error in state.errors:
        if error.location is None or error.source is not None:
            located.append(error)
            continue
        doc = state.documents[error.location.doc]
        span = doc.source_map().spans.get(error.location.path)
        located.append(error.located(doc.name, span.key_line if span else None))
    raise ModelError(located)


def _document(state: Reader, index: int, value: Any) -> None:
    if isinstance(value, list):
        for position, item in enumerate(value):
            _top_level(state, Location(index, (position,)), item)
    else:
        _top_level(state, Location(index, ()), value)


def _top_level(state: Reader, loc: Location, node: Any) -> None:
    if not isinstance(node, dict):
        state.error(
            "notJsonObject",
            "A DTDL document holds a JSON object (or an array of them); this one holds something "
            "else.",
            "Make the document a JSON object with @context, @id and @type.",
            location=loc,
        )
        return
    if "@context" not in node:
        state.error(
            "missingContext",
            "The top-level element has no @context.",
            'Add "@context": "dtmi:dtdl:context;3" (or ;2) to the element.',
            location=loc,
            primary_id=_id_of(node),
        )
        return
    if "@graph" in node:
        state.error(
            "topLevelGraphDisallowed",
            "A top-level element has @graph, which DTDL does not allow.",
            "Remove @graph; give the Interface directly.",
            location=loc,
        )
        return
    ctx = elements.read_context(state, node["@context"], loc, None)
    if ctx is None:
        return
    elements.read_element(state, node, loc=loc, ctx=ctx, expected=None, parent=None, prop=None)


def _id_of(node: dict[str, Any]) -> str | None:
    value = node.get("@id")
    return value if isinstance(value, str) else None


__all__ = ["Document", "JsonPath", "Options", "Resolver", "parse_texts"]
