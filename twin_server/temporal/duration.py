"""ISO 8601 durations (``aggrPeriodDuration``, retention ages) as microseconds."""

from __future__ import annotations

import re

from twin_server.errors import BadRequestData

_DURATION = re.compile(
    r"P(?!$)(?:(?P<Y>\d+(?:\.\d+)?)Y)?(?:(?P<M>\d+(?:\.\d+)?)M)?(?:(?P<W>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<D>\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)
_SECONDS = {
    "Y": 365 * 86400,
    "M": 30 * 86400,
    "W": 7 * 86400,
    "D": 86400,
    "h": 3600,
    "m": 60,
    "s": 1,
}


def duration_us(text: str, what: str) -> int:
    """Microseconds in an ISO 8601 duration (a year is 365 days, a month 30: calendar-free).
    ``BadRequestData`` names ``what`` when ``text`` is not a duration."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise BadRequestData(f"{what} {text!r} is not an ISO 8601 duration such as PT1H or P1D")
    seconds = sum(float(v) * _SECONDS[k] for k, v in match.groupdict().items() if v)
    return round(seconds * 1_000_000)
