"""Warnings about rejected device messages, at most one a second per source: a device that
floods bad messages is told about in the log, not allowed to flood the log itself."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("twin_server.adapters")


class LogThrottle:
    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warn(self, key: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -self.every) < self.every:
            self._held[key] = self._held.get(key, 0) + 1
            return
        held = self._held.pop(key, 0)
        self._last[key] = now
        if len(self._last) > 10_000:  # many sources: forget the old ones
            self._last.clear()
        suffix = f" ({held} more like it in the last {self.every:g} s)" if held else ""
        log.warning(message + suffix, *args)
