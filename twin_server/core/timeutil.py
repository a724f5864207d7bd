"""Timestamps: the one format the server writes, and validation of the ones clients send."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """The current time as NGSI-LD writes system timestamps (UTC, microseconds, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"  # fast strftime


def iso_utc(moment: datetime) -> str:
    """A date-time as the server writes times (UTC, microseconds, ``Z``); naive means UTC."""
    stamped = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return stamped.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def epoch_iso(seconds: float) -> str:
    """Epoch seconds as the server writes times (raises OverflowError, OSError or ValueError
    out of the range of dates)."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def parse_datetime(text: str) -> datetime:
    """Parse an ISO 8601 date-time; naive times are taken as UTC. Raises ValueError."""
    if not isinstance(text, str) or "T" not in text:
        raise ValueError(f"{text!r} is not an ISO 8601 date-time")
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
