"""Whatever JSON an attribute is made of, parsing it either succeeds or refuses it with the
server's own error: never another exception, which the API would answer with a 500."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin_server.core import ingest
from twin_server.errors import TwinError
from twin_server.jsonld.resolver import ContextResolver

TERMS = asyncio.run(ContextResolver(fetch_timeout=1, max_bytes=10_000, cache_size=8).term_map(None))
WORDS = ["Property", "Relationship", "GeoProperty", "LanguageProperty", "VocabProperty",
         "JsonProperty", "ListProperty", "ListRelationship", "Point", "urn:ngsi-ld:X:1",
         "2026-12-03T10:00:00Z", "@none", "urn:ngsi-ld:null"]  # fmt: skip
MEMBERS = ["type", "value", "object", "observedAt", "unitCode", "datasetId", "objectType",
           "languageMap", "vocab", "json", "valueList", "objectList", "coordinates", "sub",
           "createdAt", "instanceId", "previousValue"]  # fmt: skip
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.sampled_from(WORDS)
)
JSON = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(MEMBERS), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(["a", "b", "location"]), JSON, max_size=3))
def test_any_attribute_json_is_parsed_or_refused_with_a_twin_error(attrs: dict[str, Any]) -> None:
    for parse in (
        lambda: ingest.entity_from_payload({"id": "urn:ngsi-ld:X:1", "type": "X", **attrs}, TERMS),
        lambda: ingest.attrs_from_payload(attrs, TERMS, allow_null=True),
    ):
        with contextlib.suppress(TwinError):
            parse()


@pytest.mark.parametrize("declared", [["Property"], {"a": 1}, 1])
def test_an_attribute_type_that_is_no_string_is_refused(declared: Any) -> None:
    with pytest.raises(TwinError, match="not an NGSI-LD attribute type"):
        ingest.instance("speed", {"type": declared, "value": 1}, TERMS)
