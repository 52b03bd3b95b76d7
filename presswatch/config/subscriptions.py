"""The subscriptions (`subscriptions.toml`): who gets which new items, by email or chat, how often.

An optional ``[email]`` table says how mail leaves (an SMTP server and the
sender); each ``[[subscription]]`` names its targets (``email`` addresses and/or
``notify`` Apprise URLs), what it selects (the filters of `presswatch search`:
topics, sources, countries, kinds, query) and its cadence (``every`` or
``cron``). Validated on load like sources.toml: any mistake is one line naming
the file, the line, the subscription and the field.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from presswatch.archive.search import QueryError, normalize_country, parse_query
from presswatch.config.cron import cron_trigger, validate_crontab
from presswatch.config.files import (
    ConfigError,
    locate,
    parse_duration,
    read_toml,
    validate_entry,
    validation_message,
)
from presswatch.config.sources import Kind
from presswatch.config.types import Duration, EntryId, EntrySet, Strict, TimeZone

TABLE = "subscription"
EMAIL_TARGET = "email:"  # targets() names an address "email:ADDRESS" (Apprise has its own mailto://)
IMMEDIATE: Literal["immediate"] = "immediate"
# The first digest of an "immediate" subscription covers this much of the past.
IMMEDIATE_FIRST_PERIOD = timedelta(days=1)
# Where the SMTP login comes from: never the file (it is data, often committed).
SMTP_USER_ENV = "PRESSWATCH_SMTP_USER"
SMTP_PASSWORD_ENV = "PRESSWATCH_SMTP_PASSWORD"

# Deliberately simple: one @, no spaces, a dot in the domain. The server has the last word.
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def _address(value: Any) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value.strip()):
        raise ValueError(f"{value!r} is not an email address")
    return value.strip()


EmailAddress = Annotated[str, BeforeValidator(_address)]


def _apprise_url(value: Any) -> str:
    import apprise

    if not isinstance(value, str) or apprise.Apprise.instantiate(value.strip()) is None:
        raise ValueError(f"{value!r} is not an Apprise URL this Apprise supports "
                         "(e.g. json://host/path, slack://..., mailto://...)")
    return value.strip()


AppriseUrl = Annotated[str, BeforeValidator(_apprise_url)]


def _country(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a country")
    try:
        return normalize_country(value)
    except QueryError:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 code or a country name") from None


Country = Annotated[str, BeforeValidator(_country)]


def _every(value: Any) -> timedelta | Literal["immediate"]:
    if value == IMMEDIATE:
        return IMMEDIATE
    try:
        duration = parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{exc}, or \"immediate\"") from None
    if duration < timedelta(minutes=1):
        raise ValueError("must be at least 1m (or \"immediate\")")
    return duration


def _smtp_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an smtp:// or smtps:// URL")
    parts = urlsplit(value)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"{value!r} is not an smtp:// or smtps:// URL (e.g. smtp://mail.example.org:587)")
    if parts.username or parts.password:
        raise ValueError(f"put no user or password in the URL: they come from {SMTP_USER_ENV} and "
                         f"{SMTP_PASSWORD_ENV}")
    try:
        _ = parts.port  # raises on a bad port
    except ValueError:
        raise ValueError(f"{value!r} has a bad port") from None
    return value


class EmailSettings(Strict):
    """How digests leave by mail: one SMTP server for every subscription."""

    smtp: Annotated[str, BeforeValidator(_smtp_url)]
    sender: EmailAddress
    starttls: bool = False  # smtp:// only: upgrade with STARTTLS (smtps:// is TLS from the start)
    timeout: Duration = timedelta(seconds=30)

    @property
    def host(self) -> str:
        return urlsplit(self.smtp).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.smtp)
        return parts.port or (465 if parts.scheme == "smtps" else 25)

    @property
    def implicit_tls(self) -> bool:
        return urlsplit(self.smtp).scheme == "smtps"


class Subscription(Strict):
    """One subscription: its targets, what it selects, when it is due."""

    id: EntryId
    title: str | None = None  # a name for subjects; default the id
    email: list[EmailAddress] = []
    notify: list[AppriseUrl] = []
    # What it selects, as `presswatch search` does: values of one filter are alternatives,
    # filters combine. None at all: every new item.
    topics: list[str] = []
    sources: list[str] = []
    countries: list[Country] = []
    kinds: list[Kind] = []
    query: str | None = None
    every: Annotated[timedelta | Literal["immediate"], BeforeValidator(_every)] | None = None
    cron: str | None = None
    timezone: TimeZone = "UTC"  # of `cron`
    digest: bool = True  # false: health alerts only
    health: bool = False  # source-health alerts (degraded, recovered), at every run
    limit: int = Field(100, ge=1, le=10_000)  # entries in one digest; the rest are counted

    @field_validator("query")
    @classmethod
    def _valid_query(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_query(value)
            except QueryError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        return validate_crontab(value) if value is not None else None  # CronError: a ValueError

    @model_validator(mode="after")
    def _consistent(self) -> Subscription:
        if not self.email and not self.notify:
            raise ValueError("give at least one target: email = [addresses] and/or notify = [Apprise URLs]")
        if (self.every is None) == (self.cron is None):
            raise ValueError('give exactly one of `every` ("immediate" or a duration) or `cron`')
        if not self.digest and not self.health:
            raise ValueError("digest = false and health = false: this subscription would send nothing")
        return self

    @property
    def name(self) -> str:
        return self.title or self.id

    @property
    def immediate(self) -> bool:
        return self.every == IMMEDIATE

    def trigger(self) -> CronTrigger:
        assert self.cron is not None
        return cron_trigger(self.cron, ZoneInfo(self.timezone))

    def describe(self) -> str:
        if self.cron is not None:
            return f"cron {self.cron} ({self.timezone})"
        return IMMEDIATE if self.immediate else f"every {short_duration(self.every)}"

    def targets(self) -> list[str]:
        """Where its digests go: ``email:ADDRESS`` for each email, then each Apprise URL."""
        return [f"{EMAIL_TARGET}{address}" for address in self.email] + list(self.notify)


def display_target(target: str) -> str:
    """A target as people see it (status, health feed): the address, or the Apprise URL minus secrets."""
    if target.startswith(EMAIL_TARGET):
        return target.removeprefix(EMAIL_TARGET)
    import apprise

    plugin = apprise.Apprise.instantiate(target)
    return str(plugin.url(privacy=True)) if plugin is not None else target.split(":", 1)[0] + "://..."


def short_duration(value: Any) -> str:
    """A timedelta as the file writes it: 1d, 12h, 1d6h, 90m..."""
    seconds = int(value.total_seconds()) if isinstance(value, timedelta) else 0
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def cron_fires(trigger: CronTrigger, now: datetime, count: int = 2) -> list[datetime]:
    """The last ``count`` fire times of ``trigger`` at or before ``now``, oldest first."""
    for span in (timedelta(hours=2), timedelta(days=2), timedelta(days=9), timedelta(days=63),
                 timedelta(days=800)):
        fires: list[datetime] = []
        moment = trigger.get_next_fire_time(None, now - span)
        while moment is not None and moment <= now:
            fires = [*fires[-(count - 1):], moment] if count > 1 else [moment]
            moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
        if len(fires) >= count:
            return fires
    return fires


class SubscriptionList(EntrySet[Subscription]):
    """Every subscription of a subscriptions.toml, in file order, and the [email] settings."""

    kind = "subscription"

    def __init__(self, path: Path, email: EmailSettings | None, subscriptions: list[Subscription]):
        super().__init__(path, subscriptions)
        self.email = email

    @property
    def subscriptions(self) -> list[Subscription]:
        return self.entries

    def check_names(self, topics: set[str] | None = None, sources: set[str] | None = None) -> None:
        """Refuse topics and sources that topics.toml and sources.toml do not define (typos)."""
        text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        for index, subscription in enumerate(self.subscriptions):
            for field, values, known in (("topics", subscription.topics, topics),
                                         ("sources", subscription.sources, sources)):
                unknown = [value for value in values if known is not None and value not in known]
                if unknown:
                    line = locate(text, TABLE, index, [field]) or "?"
                    what = field.rstrip("s")
                    raise ConfigError(f"{self.path}:{line}: subscription {subscription.id!r}: {field}: "
                                      f"no {what} {unknown[0]!r} (known: {', '.join(sorted(known or ()))})")


def _table_line(text: str, table: str, key: str | None = None) -> int | None:
    """The line of ``[table]`` (or of ``key =`` inside it) in the raw text."""
    lines = text.splitlines()
    header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]")
    for number, line in enumerate(lines, start=1):
        if header.match(line):
            if key is None:
                return number
            for offset, inner in enumerate(lines[number:], start=number + 1):
                if inner.strip().startswith("["):
                    break
                if re.match(rf"^\s*{re.escape(key)}\s*=", inner):
                    return offset
            return number
    return None


def _email_settings(data: Any, path: Path, text: str) -> EmailSettings | None:
    if data is None:
        return None
    try:
        return EmailSettings.model_validate(data)
    except ValidationError as exc:
        loc, message = validation_message(exc)
        field = ".".join(str(part) for part in loc) or "(table)"
        line = _table_line(text, "email", str(loc[0]) if loc else None)
        raise ConfigError(f"{path}:{line or '?'}: [email]: {field}: {message}") from None


def load_subscriptions(path: str | Path) -> SubscriptionList:
    """Load and validate subscriptions.toml; raise ConfigError (one line) on any mistake."""
    path = Path(path)
    data, text = read_toml(path)
    unknown = sorted(set(data) - {TABLE, "email"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key {unknown[0]!r} "
                          f"(expected an [email] table and [[{TABLE}]] tables)")
    email = _email_settings(data.get("email"), path, text)
    raw_entries = data.get(TABLE, [])
    if not isinstance(raw_entries, list):
        raise ConfigError(f"{path}: {TABLE} must be [[{TABLE}]] tables")
    subscriptions: list[Subscription] = []
    for index, raw in enumerate(raw_entries):
        label = f"{TABLE} {raw.get('id', f'#{index + 1}')!r}" if isinstance(raw, dict) else TABLE
        entry = validate_entry(Subscription, raw, path=path, text=text, table=TABLE, index=index, label=label)
        assert isinstance(entry, Subscription)
        if any(entry.id == other.id for other in subscriptions):
            line = locate(text, TABLE, index, ["id"])
            raise ConfigError(f"{path}:{line}: {label}: id: duplicate {TABLE} id")
        if entry.email and email is None:
            line = locate(text, TABLE, index, ["email"])
            raise ConfigError(f"{path}:{line}: {label}: email: no [email] table says how to send mail "
                              "(smtp, sender)")
        subscriptions.append(entry)
    return SubscriptionList(path, email, subscriptions)
