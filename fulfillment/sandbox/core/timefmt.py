"""Amazon's timestamps: ISO 8601 in UTC, to the second."""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import bad_request


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None, name: str) -> datetime | None:
    """A query or body timestamp; 400 naming the parameter when it is not ISO 8601."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (ValueError, TypeError):
        raise bad_request(
            f"Invalid input '{value}' for parameter '{name}': expected ISO 8601 date-time."
        ) from None
    return moment.replace(tzinfo=moment.tzinfo or UTC)
