"""Line numbers for JSON paths: where in a source text an element or property is.

Only errors need lines, so documents are parsed with the fast standard parser and this module
scans a text only when it must place an error.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass

from twin_server.modeling.errors import JsonPath

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Span:
    start: int  # 1-based line where the value starts
    end: int  # 1-based line where it ends
    key_line: int  # the line of the key naming it (the start line for list items / the root)


class SourceMap:
    """The line span of every value of one JSON text, by JSON path."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines = [0]
        for match in re.finditer("\n", text):
            self._lines.append(match.end())
        self.spans: dict[JsonPath, Span] = {}
        # a text json.loads accepted always scans; anything else simply gives no lines
        with contextlib.suppress(ValueError, IndexError, RecursionError):
            self._value(_WS.match(text, 0).end(), (), None)  # type: ignore[union-attr]

    def line(self, offset: int) -> int:
        lo, hi = 0, len(self._lines)
        while lo + 1 < hi:
            mid = (lo + hi) // 2
            if self._lines[mid] <= offset:
                lo = mid
            else:
                hi = mid
        return lo + 1

    def _skip(self, pos: int) -> int:
        return _WS.match(self._text, pos).end()  # type: ignore[union-attr]

    def _value(self, pos: int, path: JsonPath, key_pos: int | None) -> int:
        text = self._text
        start = pos
        char = text[pos]
        if char == "{":
            pos = self._skip(pos + 1)
            if text[pos] == "}":
                pos += 1
            else:
                while True:
                    key_at = pos
                    key, pos = _scanstring(text, pos + 1)
                    pos = self._skip(pos)
                    pos = self._skip(pos + 1)  # the colon
                    pos = self._skip(self._value(pos, (*path, key), key_at))
                    if text[pos] == ",":
                        pos = self._skip(pos + 1)
                        continue
                    pos += 1
                    break
        elif char == "[":
            pos = self._skip(pos + 1)
            index = 0
            if text[pos] == "]":
                pos += 1
            else:
                while True:
                    pos = self._skip(self._value(pos, (*path, index), None))
                    index += 1
                    if text[pos] == ",":
                        pos = self._skip(pos + 1)
                        continue
                    pos += 1
                    break
        elif char == '"':
            _, pos = _scanstring(text, pos + 1)
        elif text.startswith(("true", "null"), pos):
            pos += 4
        elif text.startswith("false", pos):
            pos += 5
        else:
            match = _NUMBER.match(text, pos)
            if match is None:
                raise ValueError(f"unexpected character at {pos}")
            pos = match.end()
        key_line = self.line(key_pos if key_pos is not None else start)
        self.spans[path] = Span(self.line(start), self.line(max(pos - 1, start)), key_line)
        return pos
