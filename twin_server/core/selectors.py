"""Selectors on entity types and scopes: the ``type`` and ``scopeQ`` expressions of queries.

Both share one boolean grammar: ``,`` or ``|`` is OR, ``;`` is AND (binding tighter), and
parentheses group. Type names are expanded with the request's @context; scope patterns use ``+``
for exactly one level and a trailing ``#`` for the scope itself and everything below it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from twin_server.core.qlang import MAX_NESTING
from twin_server.errors import BadRequestData

_TOKEN = re.compile(r"\s*([(),;|]|[^(),;|\s]+)")


@dataclass(frozen=True, slots=True)
class Selector:
    """A boolean expression over names: ("or"|"and", parts) or a leaf name."""

    op: str
    parts: tuple[Selector, ...] = ()
    name: str = ""

    def matches(self, test: Callable[[str], bool]) -> bool:
        if self.op == "leaf":
            return test(self.name)
        if self.op == "and":
            return all(p.matches(test) for p in self.parts)
        return any(p.matches(test) for p in self.parts)

    def is_disjunction(self) -> bool:
        """True for a name or an OR of names: any one of them present is a match."""
        return self.op == "leaf" or (self.op == "or" and all(p.op == "leaf" for p in self.parts))

    def widened(self, more: Callable[[str], list[str]]) -> Selector:
        """Each name ``n`` replaced by ``n`` OR any of ``more(n)`` (its subtypes, say)."""
        if self.op == "leaf":
            extra = more(self.name)
            if not extra:
                return self
            leaves = (self, *(Selector("leaf", name=n) for n in extra))
            return Selector("or", leaves)
        return Selector(self.op, tuple(p.widened(more) for p in self.parts))

    def names(self) -> set[str]:
        if self.op == "leaf":
            return {self.name}
        return set().union(*(p.names() for p in self.parts))


def parse_selector(text: str, what: str, leaf: Callable[[str], str]) -> Selector:
    tokens = _TOKEN.findall(text)
    if not text.strip() or "".join(tokens).replace(" ", "") != re.sub(r"\s", "", text):
        raise BadRequestData(f"{what} {text!r} is not a valid expression")
    pos = 0
    depth = 0

    def fail(why: str) -> BadRequestData:
        return BadRequestData(f"{what} {text!r}: {why}")

    def disjunction() -> Selector:
        nonlocal pos
        parts = [conjunction()]
        while pos < len(tokens) and tokens[pos] in (",", "|"):
            pos += 1
            parts.append(conjunction())
        return parts[0] if len(parts) == 1 else Selector("or", tuple(parts))

    def conjunction() -> Selector:
        nonlocal pos
        parts = [atom()]
        while pos < len(tokens) and tokens[pos] == ";":
            pos += 1
            parts.append(atom())
        return parts[0] if len(parts) == 1 else Selector("and", tuple(parts))

    def atom() -> Selector:
        nonlocal pos
        if pos >= len(tokens):
            raise fail("ends too early")
        token = tokens[pos]
        pos += 1
        if token == "(":
            nonlocal depth
            depth += 1
            if depth > MAX_NESTING:
                raise fail(f"parentheses nest deeper than {MAX_NESTING}")
            inner = disjunction()
            depth -= 1
            if pos >= len(tokens) or tokens[pos] != ")":
                raise fail("missing )")
            pos += 1
            return inner
        if token in "),;|":
            raise fail(f"unexpected {token!r}")
        return Selector("leaf", name=leaf(token))

    result = disjunction()
    if pos != len(tokens):
        raise fail(f"unexpected {tokens[pos]!r}")
    return result


_SCOPE_PATTERN = re.compile(r"^/([^/#+\s]+|\+)(/([^/#+\s]+|\+))*(/#)?$|^/#$")


def scope_leaf(pattern: str) -> str:
    if not _SCOPE_PATTERN.match(pattern):
        raise BadRequestData(f"scopeQ: {pattern!r} is not a scope pattern (such as /Madrid/#)")
    return pattern


def scope_matches(pattern: str, scope: str) -> bool:
    """Does one scope (``/a/b``) match one pattern (``/a/+``, ``/a/#``, ``/#``)?"""
    want = pattern.strip("/").split("/")
    have = scope.strip("/").split("/")
    if want and want[-1] == "#":
        want = want[:-1]
        if len(have) < len(want):
            return False
        have = have[: len(want)]
    if len(want) != len(have):
        return False
    return all(w in ("+", h) for w, h in zip(want, have, strict=True))
