"""The index terms of an entity, and the quick check that an update leaves them as they were."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from twin_server.store.indexing import index_terms, same_index_terms

KINDS = st.sampled_from(["Property", "Relationship", "GeoProperty", "JsonProperty"])
NAMES = st.sampled_from(["https://x/a", "https://x/b", "https://x/c"])
INSTANCES = st.lists(st.builds(lambda kind: {"type": kind}, KINDS), min_size=1, max_size=3)
ATTRS = st.dictionaries(NAMES, INSTANCES, max_size=3)
TYPES = st.lists(st.sampled_from(["https://x/Pump", "https://x/Valve"]), min_size=1, max_size=2)


def entity(types: list[str], attrs: dict[str, Any]) -> dict[str, Any]:
    return {"id": "urn:ngsi-ld:Pump:1", "type": types, "attrs": attrs}


@given(TYPES, ATTRS, TYPES, ATTRS, st.sets(NAMES))
def test_the_quick_check_never_says_same_when_the_terms_differ(
    old_types: list[str],
    old_attrs: dict[str, Any],
    new_types: list[str],
    new_attrs: dict[str, Any],
    kept: set[str],
) -> None:
    # as operations do: the attributes an update does not touch keep their instance lists
    merged = {**new_attrs, **{n: old_attrs[n] for n in kept if n in old_attrs}}
    before, after = entity(old_types, old_attrs), entity(new_types, merged)
    if same_index_terms(before, after):
        assert index_terms(before) == index_terms(after)
    elif old_types == new_types and old_attrs.keys() == merged.keys():
        assert index_terms(before) != index_terms(after)  # only a kind can have changed


def test_a_new_value_of_the_same_kind_keeps_the_terms_and_a_new_kind_does_not() -> None:
    before = entity(["https://x/Pump"], {"https://x/a": [{"type": "Property", "value": 1}]})
    same = entity(["https://x/Pump"], {"https://x/a": [{"type": "Property", "value": 2}]})
    other = entity(["https://x/Pump"], {"https://x/a": [{"type": "Relationship", "object": "u"}]})
    assert same_index_terms(before, same)
    assert not same_index_terms(before, other)
