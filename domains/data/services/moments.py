"""Points in time as people type them (commands, query strings) -> UTC milliseconds."""

from datetime import UTC, datetime, time

from django.utils.dateparse import parse_date, parse_datetime

from domains.data.services.venue_feed import datetime_to_ms
from dsta.kernel.errors import InvalidInput


def parse_moment(text: str, *, name: str = "time") -> int:
    """UTC ms from integer milliseconds or ISO-8601 text (no offset: UTC; a bare date: its
    midnight UTC). ``InvalidInput`` names ``name`` otherwise."""
    value = str(text).strip()
    if value.lstrip("-").isdigit():
        return int(value)
    try:
        moment = parse_datetime(value)
        day = None if moment is not None else parse_date(value)
    except ValueError:  # well-formed but impossible, e.g. month 13
        moment = day = None
    if moment is None and day is not None:
        moment = datetime.combine(day, time(), tzinfo=UTC)
    if moment is None:
        raise InvalidInput(
            f"{name}: expected ISO-8601 (2024-01-01T00:00:00Z) or UTC milliseconds, got {value!r}",
            details={name: value},
        )
    return datetime_to_ms(moment)
