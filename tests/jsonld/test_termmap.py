"""Term maps must agree with full JSON-LD processing (pyld), the reference, on every name."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyld import jsonld

from twin_server.jsonld.core_context import CORE_CONTEXT_URL, core_context_document
from twin_server.jsonld.resolver import ContextResolver

PREFIXES = {"ex": "http://example.org/", "schema": "https://schema.org/", "foo": "urn:foo:"}
words = st.text(alphabet="abcdefgh", min_size=1, max_size=5)


def loader(url: str, options: Any = None) -> dict[str, Any]:
    assert url == CORE_CONTEXT_URL
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": core_context_document(),
        "contentType": "application/ld+json",
    }


@st.composite
def user_contexts(draw: st.DrawFn) -> dict[str, Any]:
    context: dict[str, Any] = dict(
        draw(st.dictionaries(st.sampled_from(list(PREFIXES)), st.just(""), max_size=3))
    )
    for prefix in context:
        context[prefix] = PREFIXES[prefix]
    for term in draw(st.lists(words, max_size=6, unique=True)):
        target = draw(
            st.one_of(
                st.builds(lambda p, w: f"{p}:{w}", st.sampled_from(list(PREFIXES)), words),
                st.builds(lambda w: f"http://terms.example/{w}", words),
            )
        )
        kind = draw(st.sampled_from([None, "@id", "@vocab"]))
        context[term] = target if kind is None else {"@id": target, "@type": kind}
    if draw(st.booleans()):
        context["@vocab"] = "http://vocab.example/"
    return context


@st.composite
def names(draw: st.DrawFn, context: dict[str, Any]) -> str:
    terms = [k for k in context if not k.startswith("@")] or ["x"]
    return draw(
        st.one_of(
            st.sampled_from(terms),
            words,
            st.builds(lambda p, w: f"{p}:{w}", st.sampled_from(list(PREFIXES)), words),
            st.sampled_from(["location", "observationSpace", "name", "http://abs.example/z"]),
        )
    )


def pyld_expand_key(context: dict[str, Any], name: str) -> str | None:
    doc = {"@context": [context, CORE_CONTEXT_URL], "@id": "urn:s", name: {"@id": "urn:o"}}
    out = jsonld.expand(doc, {"documentLoader": loader})
    keys = [k for k in out[0] if not k.startswith("@")] if out else []
    return keys[0] if keys else None


def pyld_expand_type(context: dict[str, Any], name: str) -> str:
    doc = {"@context": [context, CORE_CONTEXT_URL], "@id": "urn:s", "@type": name}
    result: str = jsonld.expand(doc, {"documentLoader": loader})[0]["@type"][0]
    return result


def pyld_compact_key(context: dict[str, Any], iri: str) -> str:
    """The key pyld gives an attribute: a blank node object, as NGSI-LD attributes are."""
    attribute = {
        "@type": ["https://uri.etsi.org/ngsi-ld/Property"],
        "https://uri.etsi.org/ngsi-ld/hasValue": [{"@value": 1}],
    }
    doc = {"@id": "urn:s", iri: [attribute]}
    out = jsonld.compact(doc, {"@context": [context, CORE_CONTEXT_URL]}, {"documentLoader": loader})
    keys = [k for k in out if k not in ("@context", "id", "@id")]
    return keys[0]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_term_map_expands_and_compacts_like_pyld(data: st.DataObject) -> None:
    context = data.draw(user_contexts())
    resolver = ContextResolver(fetch_timeout=1, max_bytes=10_000, cache_size=8)
    terms = asyncio.run(resolver.term_map(context))
    name = data.draw(names(context))
    expected = pyld_expand_key(context, name)
    if expected is not None:
        assert terms.expand(name) == expected
        assert terms.compact(expected) == pyld_compact_key(context, expected)
    assert terms.expand(name) == pyld_expand_type(context, name)


@pytest.mark.anyio
async def test_core_context_alone_expands_to_default_vocab_and_core_terms(
    anyio_backend: str,
) -> None:
    resolver = ContextResolver(fetch_timeout=1, max_bytes=10_000, cache_size=8)
    core = await resolver.term_map(None)
    assert core.expand("speed") == "https://uri.etsi.org/ngsi-ld/default-context/speed"
    assert core.expand("location") == "https://uri.etsi.org/ngsi-ld/location"
    assert core.compact("https://uri.etsi.org/ngsi-ld/default-context/speed") == "speed"
    assert core.compact("https://uri.etsi.org/ngsi-ld/location") == "location"
