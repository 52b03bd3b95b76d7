"""Shared machinery for presswatch's TOML config files (sources.toml, topics.toml).

A config file is data: it is parsed with tomllib and validated with pydantic, and
every mistake becomes one line naming the file, the line, the entry and the field,
e.g. ``sources.toml:42: source 'moldova': schedule.every: '6x' is not a duration``.
tomllib keeps no line numbers, so `locate` finds them back in the raw text.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Entry = TypeVar("Entry", bound=BaseModel)


class ConfigError(Exception):
    """A config file is wrong. ``str(error)`` is one line a user can act on."""


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Parse a TOML file, turning I/O and syntax errors into a one-line ConfigError."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Windows editors) is no statement
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "... (at line 5, column 9)": move the line to the front.
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        line = match.group(1) if match else "?"
        reason = message[: match.start()].strip() if match else message
        raise ConfigError(f"{path}:{line}: TOML syntax error: {reason}") from None
    except RecursionError:
        raise ConfigError(f"{path}: TOML nested too deeply (arrays or tables inside each other "
                          "hundreds of times): not a config file") from None


def entry_lines(text: str, table: str) -> list[tuple[int, int]]:
    """(first, last) line numbers (1-based) of each ``[[table]]`` entry in the raw text."""
    entry_header = re.compile(rf"^\[\[\s*{re.escape(table)}\s*\]\]")
    own_subtable = re.compile(rf"^\[\[?\s*{re.escape(table)}\.")
    spans: list[tuple[int, int]] = []
    current: int | None = None
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if entry_header.match(stripped):
            if current is not None:
                spans.append((current, number - 1))
            current = number
        elif stripped.startswith("[") and current is not None and not own_subtable.match(stripped):
            spans.append((current, number - 1))
            current = None
    if current is not None:
        spans.append((current, len(lines)))
    return spans


def locate(text: str, table: str, index: int, field_path: Sequence[str | int]) -> int | None:
    """Best-effort line number of ``field_path`` inside entry ``index`` of ``[[table]]``.

    Looks for the deepest key of the path that appears in the entry (``key =`` or a
    ``[table.key]`` sub-table header); falls back to the entry's header line.
    """
    spans = entry_lines(text, table)
    if index >= len(spans):
        return None
    first, last = spans[index]
    lines = text.splitlines()[first - 1 : last]
    found = first
    start = 0
    for key in field_path:
        if isinstance(key, int):
            continue
        pattern = re.compile(
            rf"^\s*(?:{re.escape(key)}\s*=|\[\s*{re.escape(table)}(?:\.\w+)*\.{re.escape(key)}\s*\])"
            rf"|[{{,]\s*{re.escape(key)}\s*="
        )
        for offset in range(start, len(lines)):
            if pattern.search(lines[offset]):
                found = first + offset
                start = offset
                break
    return found


def validation_message(exc: ValidationError) -> tuple[tuple[str | int, ...], str]:
    """The first error of a pydantic ValidationError as (field path, plain message)."""
    # A misspelt key shows up as both "unknown" and "missing": name the misspelling.
    errors = sorted(exc.errors(), key=lambda error: error["type"] != "extra_forbidden")
    error = errors[0]
    # pydantic names a bad dict key "keywords.xx.[key]": the key itself is the field.
    loc = tuple(part for part in error["loc"] if part != "[key]")
    kind = error["type"]
    if kind == "missing":
        return loc, "missing required field"
    if kind == "extra_forbidden":
        return loc, "unknown key"
    message = error["msg"]
    # pydantic prefixes messages of custom validators with "Value error, ".
    message = re.sub(r"^(Value|Assertion) error,\s*", "", message)
    if kind not in {"value_error", "assertion_error"} and "input" in error:
        given = error["input"]
        if isinstance(given, str | int | float | bool):
            message = f"{message} (got {given!r})"
    return loc, message


def validate_entry(
    model: type[BaseModel], data: Any, *, path: Path, text: str, table: str, index: int, label: str
) -> BaseModel:
    """Validate one ``[[table]]`` entry; raise a one-line ConfigError saying where it is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc, message = validation_message(exc)
        line = locate(text, table, index, [str(part) for part in loc])
        field = ".".join(str(part) for part in loc) or "(entry)"
        raise ConfigError(f"{path}:{line or '?'}: {label}: {field}: {message}") from None


_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")


def parse_duration(value: str | int | float) -> timedelta:
    """'90s', '30m', '6h', '1d', '2h30m' (or a number of seconds) as a timedelta."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{value!r} is negative")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration (use e.g. 90s, 30m, 6h, 1d)")
    match = _DURATION.match(value)
    if not value.strip() or not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration (use e.g. 90s, 30m, 6h, 1d)")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def format_duration(value: timedelta) -> str:
    """A duration as sources.toml writes it: 6h, 1d, 2h30m, 90s -> 1m30s (parse_duration's inverse)."""
    seconds = int(value.total_seconds())
    parts = [(seconds // 86400, "d"), (seconds // 3600 % 24, "h"), (seconds // 60 % 60, "m"),
             (seconds % 60, "s")]
    return "".join(f"{amount}{unit}" for amount, unit in parts if amount) or "0s"


def load_entries(path: Path, table: str, model: type[Entry]) -> tuple[list[Entry], str]:
    """Every ``[[table]]`` entry of a config file, validated, with unique ids; and the raw text.

    The shape shared by sources.toml and topics.toml: only ``[[table]]`` at the
    top level, at least one entry, each valid for ``model``, no id twice.
    """
    data, text = read_toml(path)
    unknown = sorted(set(data) - {table})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key {unknown[0]!r} (expected [[{table}]] tables)")
    raw_entries = data.get(table, [])
    if not isinstance(raw_entries, list) or not raw_entries:
        raise ConfigError(f"{path}: no [[{table}]] entries")
    entries: list[Entry] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_entries):
        label = f"{table} {raw.get('id', f'#{index + 1}')!r}" if isinstance(raw, dict) else table
        entry = validate_entry(model, raw, path=path, text=text, table=table, index=index, label=label)
        entry_id = str(getattr(entry, "id", ""))  # every entry model has an id field
        if entry_id in seen:
            line = locate(text, table, index, ["id"])
            raise ConfigError(f"{path}:{line}: {label}: id: duplicate {table} id")
        seen.add(entry_id)
        entries.append(entry)  # type: ignore[arg-type]
    return entries, text
