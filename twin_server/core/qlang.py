"""The NGSI-LD query language (``q``, clause 4.9): parse once, evaluate against expanded entities.

Grammar (``;`` is AND and binds tighter than ``|``, OR; parentheses group)::

    query   := and ( "|" and )*
    and     := term ( ";" term )*
    term    := "(" query ")" | path [ op value ]
    path    := name ( "." name )* ( "[" key "]" )*
    op      := "==" | "!=" | ">=" | "<=" | ">" | "<" | "~=" | "!~="
    value   := atom | atom ".." atom | atom ( "," atom )+
    atom    := "quoted string" | number | true | false | date-time | date | time | URI

A path's first name is an attribute (expanded with the request's @context); a dotted name after
it is a sub-attribute or one of observedAt, unitCode, datasetId, createdAt, modifiedAt; ``[key]``
walks into a JSON value. Multi-instance attributes match when any instance matches; array values
match when any element matches.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from twin_server.core.patterns import compile_pattern
from twin_server.core.timeutil import parse_datetime
from twin_server.core.types import Entity, Instance
from twin_server.errors import BadRequestData

Expander = Callable[[str], str]

MAX_NESTING = 32
"""Deepest parenthesis nesting accepted in q (and in type and scope expressions)."""
_OPS = ("!~=", "==", "!=", ">=", "<=", "~=", ">", "<")
_STOP = set(";|()")
_NAME = re.compile(r"[^\s.\[\]()|;=!<>~,\"']+")
_META = frozenset({"observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt"})
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


@dataclass(frozen=True, slots=True)
class Path:
    attr: str
    subs: tuple[str, ...]
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Term:
    path: Path
    op: str | None
    value: Any = None
    """An atom, a tuple (value list) or a ``Range``."""
    vocab_value: Any = None
    """``value`` with its strings expanded: what a VocabProperty's (expanded) IRIs compare to."""

    def matches(self, entity: Entity) -> bool:
        targets = list(_targets(entity, self.path))
        if self.op is None:
            return bool(targets)
        if self.op in ("!=", "!~="):
            op = "==" if self.op == "!=" else "~="
            positive = Term(self.path, op, self.value, self.vocab_value)
            return bool(targets) and not any(positive._test(t) for t in targets)
        return any(self._test(t) for t in targets)

    def _test(self, target: Any) -> bool:
        if isinstance(target, list):
            return any(self._test(t) for t in target)
        if isinstance(target, _Vocab):
            as_iris = Term(self.path, self.op, self.vocab_value)
            return any(as_iris._test(iri) for iri in target.iris)
        op, value = self.op, self.value
        if op == "~=":
            return isinstance(target, str) and value.search(target) is not None
        if isinstance(value, Range):
            return _compare(target, value.low, ">=") and _compare(target, value.high, "<=")
        if isinstance(value, tuple):
            return any(_compare(target, v, "==") for v in value)
        assert op is not None
        return _compare(target, value, op)


@dataclass(frozen=True, slots=True)
class _Vocab:
    """The value of a VocabProperty, whose IRIs are compared with expanded q values."""

    iris: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Range:
    low: Any
    high: Any


@dataclass(frozen=True, slots=True)
class And:
    parts: tuple[Query, ...]

    def matches(self, entity: Entity) -> bool:
        return all(p.matches(entity) for p in self.parts)


@dataclass(frozen=True, slots=True)
class Or:
    parts: tuple[Query, ...]

    def matches(self, entity: Entity) -> bool:
        return any(p.matches(entity) for p in self.parts)


Query = Term | And | Or


def parse_q(text: str, expand: Expander) -> Query:
    """Parse a q expression; BadRequestData (with the position) when it is not valid."""
    if not text or not text.strip():
        raise BadRequestData("q is empty")
    parser = _Parser(text, expand)
    result = parser.query()
    if parser.pos != len(text):
        parser.fail("unexpected text")
    return result


class _Parser:
    def __init__(self, text: str, expand: Expander) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0
        self.expand = expand

    def fail(self, what: str) -> None:
        raise BadRequestData(f"invalid q at position {self.pos}: {what} in {self.text!r}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def query(self) -> Query:
        parts = [self.conjunction()]
        while self.peek() == "|":
            self.pos += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conjunction(self) -> Query:
        parts = [self.term()]
        while self.peek() == ";":
            self.pos += 1
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def term(self) -> Query:
        if self.peek() == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:
                self.fail(f"parentheses nest deeper than {MAX_NESTING}")
            self.pos += 1
            inner = self.query()
            self.depth -= 1
            if self.peek() != ")":
                self.fail("missing )")
            self.pos += 1
            return inner
        path = self.path()
        op = next((o for o in _OPS if self.text.startswith(o, self.pos)), None)
        if op is None:
            if self.peek() not in ("", ";", "|", ")"):
                self.fail("expected an operator")
            return Term(path, None)
        self.pos += len(op)
        raw = self.raw_value()
        if op in ("~=", "!~="):
            pattern = compile_pattern(_unquote(raw), f"the pattern of q at position {self.pos}")
            return Term(path, op, pattern, pattern)
        value = self.value(raw, op)
        return Term(path, op, value, _expand_strings(value, self.expand))

    def path(self) -> Path:
        names = [self.name()]
        while self.peek() == ".":
            self.pos += 1
            names.append(self.name())
        keys: list[str] = []
        while self.peek() == "[":
            end = self.text.find("]", self.pos)
            if end < 0:
                self.fail("missing ]")
            keys.append(self.text[self.pos + 1 : end])
            self.pos = end + 1
        subs = tuple(n if n in _META else self.expand(n) for n in names[1:])
        return Path(self.expand(names[0]), subs, tuple(keys))

    def name(self) -> str:
        match = _NAME.match(self.text, self.pos)
        if not match:
            self.fail("expected an attribute name")
            raise AssertionError
        self.pos = match.end()
        return match.group()

    def raw_value(self) -> str:
        start, quoted = self.pos, False
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == '"':
                quoted = not quoted
            elif c == "\\" and quoted:
                self.pos += 1
            elif not quoted and c in _STOP:
                break
            self.pos += 1
        if quoted:
            self.fail("unterminated string")
        if self.pos == start:
            self.fail("expected a value")
        return self.text[start : self.pos]

    def value(self, raw: str, op: str) -> Any:
        items = list(_split_outside_quotes(raw, ","))
        if len(items) > 1:
            if op not in ("==", "!="):
                self.fail("a list of values needs == or !=")
            return tuple(self.atom(i) for i in items)
        bounds = list(_split_outside_quotes(raw, ".."))
        if len(bounds) == 2 and not _NUMBER.match(raw):
            if op not in ("==", "!="):
                self.fail("a range needs == or !=")
            return Range(self.atom(bounds[0]), self.atom(bounds[1]))
        return self.atom(raw)

    def atom(self, raw: str) -> Any:
        raw = raw.strip()
        if not raw:
            self.fail("empty value")
        if raw.startswith('"'):
            if len(raw) < 2 or not raw.endswith('"'):
                self.fail("badly quoted string")
            return _unquote(raw)
        if raw[0] in "<>=!~":  # an operator left over (``level>>``): no value, URI or keyword
            self.fail(f"{raw!r} is not a value")
        if raw in ("true", "false"):
            return raw == "true"
        if _NUMBER.match(raw):
            return float(raw) if any(c in raw for c in ".eE") else int(raw)
        return _temporal(raw) or raw


def _expand_strings(value: Any, expand: Expander) -> Any:
    if isinstance(value, str):
        return expand(value)
    if isinstance(value, tuple):
        return tuple(_expand_strings(v, expand) for v in value)
    if isinstance(value, Range):
        return Range(_expand_strings(value.low, expand), _expand_strings(value.high, expand))
    return value


def _temporal(raw: str) -> datetime | date | time | None:
    try:
        if "T" in raw:
            return parse_datetime(raw)
        if re.match(r"^\d{4}-\d{2}-\d{2}$", raw):
            return date.fromisoformat(raw)
        if re.match(r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?$", raw):
            return time.fromisoformat(raw.rstrip("Z"))
    except ValueError:
        return None
    return None


def _unquote(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return raw[1:-1].replace('\\"', '"')
    return raw


def _split_outside_quotes(text: str, sep: str) -> Iterator[str]:
    start, i, quoted = 0, 0, False
    while i < len(text):
        if text[i] == '"':
            quoted = not quoted
        elif not quoted and text.startswith(sep, i):
            yield text[start:i]
            i += len(sep)
            start = i
            continue
        i += 1
    yield text[start:]


def _targets(entity: Entity, path: Path) -> Iterator[Any]:
    for inst in entity["attrs"].get(path.attr, ()):
        yield from _walk(inst, path.subs, path.keys)


def _walk(inst: Instance, subs: tuple[str, ...], keys: tuple[str, ...]) -> Iterator[Any]:
    if subs:
        head, rest = subs[0], subs[1:]
        if head in _META:
            if head in inst and not rest:
                yield from _keys(inst[head], keys)
            return
        for sub in inst.get("sub", {}).get(head, ()):
            yield from _walk(sub, rest, keys)
        return
    value = _value_of(inst)
    if inst["type"] == "VocabProperty" and not keys:
        yield _Vocab(tuple(value) if isinstance(value, list) else (value,))
        return
    yield from _keys(value, keys)


def _keys(value: Any, keys: tuple[str, ...]) -> Iterator[Any]:
    for key in keys:
        if isinstance(value, dict) and key in value:
            value = value[key]
        else:
            return
    yield value


def _value_of(inst: Instance) -> Any:
    kind = inst["type"]
    if kind == "Relationship":
        return inst["object"]
    if kind == "LanguageProperty":
        return list(inst["languageMap"].values())
    if kind == "VocabProperty":
        return inst["vocab"]
    if kind == "JsonProperty":
        return inst["json"]
    if kind == "ListProperty":
        return inst["valueList"]
    if kind == "ListRelationship":
        return inst["objectList"]
    value = inst["value"]
    if isinstance(value, dict) and "@value" in value:
        return value["@value"]
    return value


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _compare(target: Any, value: Any, op: str) -> bool:
    """Compare like with like (numbers, strings, booleans, temporal values); else no match."""
    if isinstance(value, datetime | date | time):
        target = _as_temporal(target, type(value))
        if target is None:
            return False
    elif not _same_kind(target, value):
        return False
    try:
        return bool(_OPERATORS[op](target, value))
    except TypeError:
        return False


def _same_kind(target: Any, value: Any) -> bool:
    if isinstance(value, bool) or isinstance(target, bool):
        return isinstance(value, bool) and isinstance(target, bool)
    if isinstance(value, int | float):
        return isinstance(target, int | float)
    return isinstance(value, str) and isinstance(target, str)


def _as_temporal(target: Any, kind: type) -> Any:
    if not isinstance(target, str):
        return None
    try:
        if kind is datetime:
            return parse_datetime(target)
        if kind is date:
            return date.fromisoformat(target[:10])
        return time.fromisoformat(target.rstrip("Z"))
    except ValueError:
        return None
