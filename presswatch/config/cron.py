"""Crontab semantics: what ``cron = "..."`` in a config file means, and its APScheduler trigger.

One translator for everyone: sources.toml validation (presswatch/config/sources.py)
accepts exactly what the scheduler can run, because both go through
`cron_trigger`. Crontab counts days of the week from Sunday (0 and 7 are
Sunday); APScheduler 3's `CronTrigger.from_crontab` counts 0 as Monday and
refuses 7, so "1-5" would mean Tuesday to Saturday there and "0 6 * * 7" would be
refused. Here the day-of-week field is translated to day names first.
"""

from __future__ import annotations

from datetime import UTC, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger


class ScheduleLike(Protocol):
    """What a trigger needs of a schedule (sources.toml's `Schedule`; this module is below it)."""

    @property
    def every(self) -> timedelta | None: ...
    @property
    def cron(self) -> str | None: ...
    @property
    def jitter(self) -> timedelta: ...


class Scheduled(Protocol):
    """Anything with a schedule and a time zone: a source of sources.toml."""

    @property
    def schedule(self) -> ScheduleLike: ...
    @property
    def timezone(self) -> str: ...

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 = Sunday


class CronError(ValueError):
    """A crontab expression presswatch cannot read (one line, naming the expression)."""


def _crontab_day(token: str, expr: str) -> int:
    token = token.strip().lower()
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    if token in _DAY_NAMES:
        return _DAY_NAMES.index(token)
    raise CronError(f"cron {expr!r}: {token!r} is not a day of the week (0-7 or sun-sat)")


def crontab_weekdays(field_text: str, expr: str = "") -> str:
    """A crontab day-of-week field (0 and 7 = Sunday) as APScheduler 3 day names."""
    if field_text == "*":
        return "*"
    days: set[int] = set()
    for part in field_text.split(","):
        span, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
        except ValueError:
            raise CronError(f"cron {expr!r}: bad step {step_text!r}") from None
        if step < 1:
            raise CronError(f"cron {expr!r}: bad step {step_text!r}")
        if span == "*":
            low, high = 0, 6
        elif "-" in span:
            first, last = span.split("-", 1)
            low, high = _crontab_day(first, expr), _crontab_day(last, expr)
            if high == 0 and last.strip() != "0":
                high = 7
        else:
            low = high = _crontab_day(span, expr)
            if step_text:
                high = 6
        if low > high:
            raise CronError(f"cron {expr!r}: range {span!r} runs backwards")
        days.update(day % 7 for day in range(low, high + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(_DAY_NAMES[day] for day in sorted(days))


def cron_trigger(expr: str, timezone: tzinfo = UTC, jitter: int | None = None) -> CronTrigger:
    """The trigger of a five-field crontab expression (minute hour day month weekday).

    Raises `CronError` (a ValueError) when it is not one, with the reason.
    """
    fields = expr.split()
    if len(fields) != 5:
        raise CronError(f"{expr!r} is not a crontab expression: it needs 5 fields "
                        f"(minute hour day month weekday), not {len(fields)}")
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                           day_of_week=crontab_weekdays(weekday, expr), timezone=timezone, jitter=jitter)
    except CronError:
        raise
    except ValueError as exc:
        raise CronError(f"{expr!r} is not a crontab expression: {exc}") from None


def validate_crontab(expr: str) -> str:
    """``expr`` if the scheduler can run it, else `CronError`."""
    cron_trigger(expr)
    return expr


def source_trigger(source: Scheduled, *, jitter: bool = True) -> BaseTrigger:
    """The APScheduler trigger of a source's schedule (cron times in the source's timezone)."""
    schedule = source.schedule
    jitter_seconds = int(schedule.jitter.total_seconds()) if jitter else 0
    if schedule.every is not None:
        return IntervalTrigger(seconds=schedule.every.total_seconds(), timezone=UTC,
                               jitter=jitter_seconds or None)
    assert schedule.cron is not None  # Schedule requires one of every / cron
    return cron_trigger(schedule.cron, ZoneInfo(source.timezone), jitter_seconds or None)
