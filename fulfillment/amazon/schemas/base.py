"""What every model of the mirror shares: the model's scalar definitions (epoch-second and ISO
8601 times as aware UTC datetimes), the base class (camelCase aliases, unknown fields kept,
`to_amazon()`) and Amazon's error list."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel

# --- Scalar definitions -------------------------------------------------------------------


def _to_utc_datetime(value: Any) -> Any:
    """Epoch seconds (int, or digits in a string as some guide samples show) -> aware UTC."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return datetime.fromtimestamp(int(value), tz=UTC)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return datetime.fromtimestamp(int(value.strip()), tz=UTC)
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _iso_to_utc(value: Any) -> Any:
    """ISO 8601 string -> aware datetime; a naive value is taken as UTC (Amazon's zone)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            return value  # let pydantic report it
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _epoch_seconds(value: datetime) -> int:
    return int(value.timestamp())


def _iso_z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


#: `TimeWindow.startTime/endTime`: aware UTC datetime in Python, epoch seconds on the wire.
EpochDateTime = Annotated[
    datetime,
    BeforeValidator(_to_utc_datetime),
    PlainSerializer(_epoch_seconds, return_type=int, when_used="json-unless-none"),
    WithJsonSchema({"type": "integer", "format": "int64"}),
]
#: The model's `DateTime` (ISO 8601 string on the wire).
DateTime = Annotated[
    datetime,
    BeforeValidator(_iso_to_utc),
    PlainSerializer(_iso_z, return_type=str, when_used="json-unless-none"),
]
SKU = str
CountryCode = str
SerialNumber = str


class AmazonModel(BaseModel):
    """Base of every model: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
    )

    def to_amazon(self) -> dict[str, Any]:
        """The JSON-ready dict Amazon expects: camelCase names, no None values, Decimals as strings."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# --- Errors -------------------------------------------------------------------------------


class Error(AmazonModel):
    code: str
    message: str
    details: str | None = None


class ErrorList(AmazonModel):
    errors: list[Error]
