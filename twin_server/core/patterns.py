"""Regular expressions from users (idPattern, q's ``~=``), vetted before they run.

Python's ``re`` backtracks: a pattern with nested unbounded repetition such as ``(a+)+$`` takes
time exponential in the length of the text it fails to match, and one such request would stall
the whole server. Patterns are therefore refused when they are too long or nest repetition,
with an error that says so; everything else compiles as usual.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from twin_server.errors import BadRequestData

MAX_PATTERN_LENGTH = 256

_parser: Any = importlib.import_module("re._parser")  # the stdlib's own regex parser
_c: Any = importlib.import_module("re._constants")
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT}


def compile_pattern(pattern: str, what: str) -> re.Pattern[str]:
    """Compile a user's regular expression, or raise BadRequestData saying why not."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise BadRequestData(f"{what} is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        compiled = re.compile(pattern)
        parsed = _parser.parse(pattern)
    except (re.error, RecursionError) as exc:
        raise BadRequestData(f"{what} is not a valid regular expression: {exc}") from exc
    if _nests_repetition(list(parsed), inside=False):
        raise BadRequestData(
            f"{what} repeats a group that itself repeats (like (a+)+); such patterns can take "
            "exponential time and are not accepted: rewrite it without nested repetition"
        )
    return compiled


def _nests_repetition(items: list[tuple[Any, Any]], *, inside: bool) -> bool:
    for op, av in items:
        if op in _REPEATS:
            _, high, sub = av
            repeats = high > 1
            if inside and repeats:
                return True
            if _nests_repetition(list(sub), inside=inside or repeats):
                return True
        elif op == _c.SUBPATTERN:
            if _nests_repetition(list(av[-1]), inside=inside):
                return True
        elif op == _c.BRANCH:
            if any(_nests_repetition(list(branch), inside=inside) for branch in av[1]):
                return True
        elif op in (_c.ASSERT, _c.ASSERT_NOT):
            if _nests_repetition(list(av[1]), inside=inside):
                return True
        elif op == _c.ATOMIC_GROUP and _nests_repetition(list(av), inside=inside):
            return True
    return False
