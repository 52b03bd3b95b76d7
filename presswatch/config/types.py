"""What every config file's model shares: strict entries, the field types, the entry container.

sources.toml, topics.toml (and further ``[[table]]`` files) are lists of entries
with an id. Their models derive from `Strict` (unknown keys are mistakes), use
these field types (each refuses a wrong value with a message naming the value)
and are held, in file order, by an `EntrySet`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from presswatch.config.files import ConfigError, parse_duration

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")  # ids of sources and topics


class Strict(BaseModel):
    """A config entry: unknown keys are refused (a typo must not pass silently), values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _language(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 2 or pycountry.languages.get(alpha_2=value) is None:
        raise ValueError(f"{value!r} is not an ISO 639-1 language code")
    return value


def _country(value: Any) -> str:
    if (
        not isinstance(value, str) or len(value) != 2 or value != value.upper()
        or pycountry.countries.get(alpha_2=value) is None
    ):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    return parse_duration(value)


def _entry_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise ValueError(f"{value!r} must be lowercase letters, digits and dashes")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Chisinau)") from None
    return value


EntryId = Annotated[str, AfterValidator(_entry_id)]  # the id of a source, topic or subscription
TimeZone = Annotated[str, AfterValidator(_timezone)]  # an IANA time zone name
Language = Annotated[str, BeforeValidator(_language)]  # ISO 639-1
Country = Annotated[str, BeforeValidator(_country)]  # ISO 3166-1 alpha-2, upper case
Duration = Annotated[timedelta, BeforeValidator(_duration)]  # "90s", "30m", "6h", "1d", seconds


class HasId(Protocol):
    @property
    def id(self) -> str: ...


Entry = TypeVar("Entry", bound=HasId)


class EntrySet(Generic[Entry]):
    """The entries of one config file, in file order, found by id.

    ``kind`` names an entry in messages ("source", "topic"): an unknown id is a
    one-line ConfigError naming the file and the ids it does have.
    """

    kind = "entry"

    def __init__(self, path: Path, entries: list[Entry]):
        self.path = path
        self.entries = entries
        self._by_id = {entry.id: entry for entry in entries}
        self._rank = {entry.id: position for position, entry in enumerate(entries)}

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._by_id

    def get(self, entry_id: str) -> Entry:
        try:
            return self._by_id[entry_id]
        except KeyError:
            known = ", ".join(self._by_id)
            raise ConfigError(f"{self.path}: no {self.kind} {entry_id!r} (known: {known})") from None

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)

    def rank(self, entry_id: str) -> int:
        """Position in the file; unknown ids sort last."""
        return self._rank.get(entry_id, len(self.entries))
