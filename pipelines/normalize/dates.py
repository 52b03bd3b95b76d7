"""Publication dates as pages write them: full dates (`parse_page_date`), the
yearless datelines that open press releases (`dateline_date`), and the choice
among every date a page offers (`choose_date`).

dateparser reads local month names; numeric dates are read day-first or
month-first as the page's language writes them (`date_order_for`); zoneinfo
gives the zone of dates written without an offset.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from datetime import timezone as FixedOffset  # `timezone` is a parameter name below
from functools import lru_cache
from zoneinfo import ZoneInfo

import dateparser
from dateparser.conf import SettingValidationError
from dateparser.data.languages_info import language_order as _DATEPARSER_LANGUAGES

from pipelines.normalize.text import clean_title

_MIN_DATE = datetime(1950, 1, 1, tzinfo=UTC)
_MAX_FUTURE = timedelta(days=2)

# Relative expressions ("today", "2 days ago") are never accepted: without the
# "relative-time" and "timestamp" parsers dateparser only reads absolute dates.
_DATEPARSER_SETTINGS: dict[str, object] = {
    "PARSERS": ["custom-formats", "absolute-time"],
    "REQUIRE_PARTS": ["day", "month", "year"],
    # RETURN_AS_TIMEZONE_AWARE keeps its default: the result is naive unless the text
    # has an offset or zone name, and we attach `timezone` ourselves (zoneinfo, not pytz).
    "PREFER_LOCALE_DATE_ORDER": True,
}
_DAY_MONTH_SETTINGS: dict[str, object] = {
    **_DATEPARSER_SETTINGS,
    "REQUIRE_PARTS": ["day", "month"],
    # A leap year, so "29 February" without a year still parses; only the month and
    # the day of the result are used.
    "RELATIVE_BASE": datetime(2000, 6, 15),
}
_SUPPORTED_DATE_LANGUAGES = frozenset(_DATEPARSER_LANGUAGES)

# Lithuanian writes "2021 m. birželio 16 d." (m. = metai "year", d. = diena "day");
# dateparser reads the date once those two markers are gone.
_LT_YEAR_MARK_RE = re.compile(r"\b(\d{4})\s*m\.(?=\s|$)")
_LT_DAY_MARK_RE = re.compile(r"\b(\d{1,2})\s*d\.(?=\s|$|[,;:–—-])")
_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
                     r"(?:Z|[+-]\d{2}(?::?\d{2})?)?$")
# "Published: 16 June 2021" -> "16 June 2021" (a label without digits before a colon).
_LABEL_RE = re.compile(r"^[^\d:]{1,40}:\s*")
_YEAR_RE = re.compile(r"(?<!\d)\d{4}(?!\d)|\b\d{1,2}([./-])\d{1,2}\1\d{2}\b")  # 2012, 8.5.12
# Forms dateparser does not read: a Unix timestamp (seconds or milliseconds) and
# compact ISO 8601 ("20210504T132005+0200").
_TIMESTAMP_RE = re.compile(r"^\d{9,10}(?:\d{3})?$")
_COMPACT_ISO_RE = re.compile(
    r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?)?(Z|[+-]\d{2}:?\d{2})?$")
# A malformed timestamp that still opens with an ISO day ("2022-05-04-0305:49:00-10800").
_LEADING_ISO_DAY_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?=[^\d])")
_NUMERIC_DATE_RE = re.compile(r"^\D{0,40}?\d{1,2}([./-])\d{1,2}\1\d{2,4}\b")

DATE_ORDERS = ("DMY", "MDY", "YMD")
# English as written in these regions puts the month first in numeric dates
# (05/04/2022 is May 4); every other language the sources use writes the day first.
_MONTH_FIRST_ENGLISH = frozenset({"", "us", "ph", "fm", "mh", "pw", "um", "as", "gu", "mp", "pr", "vi"})


def date_order_for(language: str | None, configured: str | None = None) -> str:
    """The order of numeric dates ("DMY" or "MDY") on a page in ``language`` (a BCP 47
    tag such as "de", "en-US"); a source's own `date_order` wins when set."""
    if configured:
        return configured
    code, _, region = (language or "").strip().lower().replace("_", "-").partition("-")
    if code == "en" and region.split("-")[0] in _MONTH_FIRST_ENGLISH:
        return "MDY"
    return "DMY"


def _strip_lt_markers(text: str) -> str:
    return _LT_DAY_MARK_RE.sub(r"\1", _LT_YEAR_MARK_RE.sub(r"\1", text))


def _date_languages(languages: Iterable[str]) -> list[str]:
    # dateparser wants bare language codes it knows ("ro", not "ro-RO"); English is
    # always tried last because pages in every language carry English/ISO/RFC dates.
    out: list[str] = []
    for lang in [*languages, "en"]:
        code = re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]
        if code in _SUPPORTED_DATE_LANGUAGES and code not in out:
            out.append(code)
    return out


def _aware(value: datetime, tz: ZoneInfo) -> datetime:
    # An offset found in the text wins (kept as a fixed offset); otherwise wall time in tz.
    if value.tzinfo is None:
        return value.replace(tzinfo=tz)
    offset = value.utcoffset()
    if offset is None:
        return value.replace(tzinfo=tz)
    return value.replace(tzinfo=UTC if not offset else FixedOffset(offset))


def _in_range(value: datetime) -> datetime | None:
    now = datetime.now(UTC)
    return value if _MIN_DATE <= value <= now + _MAX_FUTURE else None


def _dateparser(text: str, languages: list[str], settings: dict[str, object]) -> datetime | None:
    # A newsroom prints the same few dates on hundreds of pages, and with only the absolute
    # parsers (no "yesterday") the answer depends on nothing else: asked once per process.
    return _dateparser_once(text, tuple(languages), tuple(sorted(
        (name, tuple(value) if isinstance(value, list) else value) for name, value in settings.items())))


@lru_cache(maxsize=4096)
def _dateparser_once(text: str, languages: tuple[str, ...],
                     settings: tuple[tuple[str, object], ...]) -> datetime | None:
    try:
        return dateparser.parse(text, languages=list(languages),
                                settings={name: list(value) if isinstance(value, tuple) else value
                                          for name, value in settings})
    except SettingValidationError:  # our bug, not the page's: let it surface
        raise
    except (ValueError, OverflowError, TypeError):  # odd input deep in dateparser
        return None


def _settings_for(order: str | None, text: str) -> dict[str, object]:
    if not order:
        return _DATEPARSER_SETTINGS
    numeric = _NUMERIC_DATE_RE.match(text)
    # Dotted numeric dates are day-first wherever they are written (10.12.2022 is
    # 10 December even on an English page): only slashes follow the language's order.
    if numeric and numeric.group(1) == "." and order == "MDY":
        order = "DMY"
    return {**_DATEPARSER_SETTINGS, "DATE_ORDER": order}


def _special_form(text: str, tz: ZoneInfo) -> datetime | None:
    """Timestamps dateparser does not read: Unix time, compact ISO, a broken ISO timestamp's day."""
    if _TIMESTAMP_RE.match(text):
        seconds = int(text) / (1000 if len(text) > 10 else 1)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if compact := _COMPACT_ISO_RE.match(text):
        year, month, day, hour, minute, second, offset = compact.groups()
        try:
            value = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                             int(second or 0))
        except ValueError:
            return None
        if offset:
            if offset == "Z":
                return value.replace(tzinfo=UTC)
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            return value.replace(tzinfo=FixedOffset(sign * delta))
        return value.replace(tzinfo=tz)
    if leading := _LEADING_ISO_DAY_RE.match(text):
        try:
            year, month, day = (int(part) for part in leading.groups())
            return datetime(year, month, day, tzinfo=tz)
        except ValueError:
            return None
    return None


def parse_page_date(
    text: str | None, languages: Sequence[str], timezone: str, date_order: str | None = None
) -> datetime | None:
    """Parse a full date (day, month and year) as found on a page; aware or None.

    ``timezone`` is an IANA zone name applied when the text carries no offset;
    ``date_order`` ("DMY", "MDY", "YMD"; see `date_order_for`) says how to read
    numeric dates. Relative dates, dates without a day or a year, dates before
    1950 or more than two days in the future give None.
    """
    tz = ZoneInfo(timezone)
    text = clean_title(text)
    if not text:
        return None
    text = _strip_lt_markers(text)
    if _ISO_RE.match(text):
        # Exact ISO 8601: the standard library reads it without any guessing.
        try:
            return _in_range(_aware(datetime.fromisoformat(text.replace(",", ".")), tz))
        except ValueError:
            pass
    if (special := _special_form(text, tz)) is not None:
        return _in_range(_aware(special, tz))
    langs = _date_languages(languages)
    value = _dateparser(text, langs, _settings_for(date_order, text))
    if value is None and (labelled := _LABEL_RE.match(text)):
        rest = text[labelled.end():]
        value = _dateparser(rest, langs, _settings_for(date_order, rest))
    return _in_range(_aware(value, tz)) if value is not None else None


# Dateline: "<Place><sep><date><terminator> ..." at the very start of the body.
_DATELINE_WINDOW = 120  # characters looked at
_DATELINE_PLACE_MAX = 60  # the date must start within this many characters...
_DATELINE_PLACE_WORDS = 4  # ...after at most this many words ("Chisinau, Moldova –")
_DATELINE_SEP_RE = re.compile(r"\s*(?:[,:|–—]|\s-\s|-(?=\s*\d))\s*")
# Where the date ends: sentence punctuation or a dash. A "." followed by a digit is an
# abbreviation ("Dec. 1"), not the end.
_DATELINE_END_RE = re.compile(r"[;:!?|()\"“”«»–—]|\s-\s|\.(?!\s*\d)")
# A sentence ends at ./!/? after a number or a word of 4+ letters ("St." or "Dec." do
# not end it) and before a capital or any letter.
_SENTENCE_END_RE = re.compile(r"(?:\d|[^\W\d_]{4})[.!?](?=\s+[\"“«(]?[^\W\d_])")


def _dateline_candidates(head: str) -> Iterable[str]:
    starts = [0] + [
        m.end()
        for m in _DATELINE_SEP_RE.finditer(head, 1)
        if m.start() <= _DATELINE_PLACE_MAX
        and len(head[: m.start()].split()) <= _DATELINE_PLACE_WORDS
    ]
    for start in starts:
        segment = head[start:]
        end = _DATELINE_END_RE.search(segment)
        tokens = (segment[: end.start()] if end else segment).split()[:5]
        # Longest first: "1 December 2021" before "1 December".
        for n in range(len(tokens), 1, -1):
            candidate = " ".join(tokens[:n]).strip(",")
            if any(ch.isdigit() for ch in candidate):
                yield candidate


def dateline_date(
    body: str, languages: Sequence[str], timezone: str, reference: datetime, date_order: str | None = None
) -> datetime | None:
    """Date of the dateline that opens a press release ("Chisinau - 16 June. ...").

    When the dateline has no year, the year is the latest one that puts the date on
    or before ``reference`` (the page's Last-Modified or fetch time). Returns midnight
    in ``timezone``, or None when the body does not open with a dated dateline.
    """
    tz = ZoneInfo(timezone)
    head = clean_title(body[: _DATELINE_WINDOW * 3])
    head = _strip_lt_markers(head)[:_DATELINE_WINDOW]
    # Only the first sentence; "16 June." itself may end it, which is fine.
    sentence_end = _SENTENCE_END_RE.search(head)
    if sentence_end:
        head = head[: sentence_end.end()]
    langs = _date_languages(languages)
    ref = reference.replace(tzinfo=tz) if reference.tzinfo is None else reference
    ref_day = ref.astimezone(tz).date()
    for candidate in _dateline_candidates(head):
        if _YEAR_RE.search(candidate):
            value = _dateparser(candidate, langs, _settings_for(date_order, candidate))
            if value is None:
                continue
            day = value.date()
        else:
            day_month = _DAY_MONTH_SETTINGS
            if date_order:
                day_month = {**_DAY_MONTH_SETTINGS, "DATE_ORDER": date_order}
            value = _dateparser(candidate, langs, day_month)
            if value is None:
                continue
            latest = _latest_on_or_before(value.month, value.day, ref_day)
            if latest is None:
                continue
            day = latest
        return _in_range(datetime.combine(day, time(0), tzinfo=tz))
    return None


def _latest_on_or_before(month: int, day: int, reference: date) -> date | None:
    # Eight years back always reaches a 29 February.
    for year in range(reference.year, reference.year - 9, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= reference:
            return candidate
    return None



# --------------------------------------------------------------------------- choosing

# Where a candidate date comes from, most trusted first. "htmldate" is htmldate's
# markup search (metadata, JSON-LD, <time>, URL; original dates over updates);
# "extensive" its search of the page's free text: right more often than not, but
# wrong where a page names other dates, so it only fills a gap nothing else fills.
# "byline" is the date printed beside the page's title (`Datum: 03.02.2022`,
# "November 8, 2023" under the headline): what the reader sees as the article's date.
SELECTOR, METADATA, HTMLDATE, BYLINE, DATELINE, LISTING, EXTENSIVE = (
    "selector", "metadata", "htmldate", "byline", "dateline", "listing", "extensive")
_EXPLICIT_UTC_RE = re.compile(r"\d(?:Z|\s?(?:UTC|GMT)|[+-]00:?00)\s*$", re.IGNORECASE)
# An ISO timestamp with an offset (\d{4}-\d{2}-\d{2}T...+hh:mm), found from its time part: a scan
# for "T" then digits skips ahead fast, where one starting with \d{4} stops at every digit of a
# 50 KB page (0.7 ms a page). The date before it is checked where it must be.
_ISO_OFFSET_TAIL_RE = re.compile(r"T\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?([+-]\d{2}):?(\d{2})\b")
_ISO_DAY_BEFORE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


@dataclass(frozen=True)
class DateChoice:
    """The date chosen for a page, where it came from, and the candidates skipped as unreadable
    that are worth a word: a selector's always (the source's configuration is at fault), the
    page's own only when nothing else dated it."""

    published: datetime | None
    source: str | None
    unreadable: tuple[str, ...] = ()


def is_utc_timestamp(text: str) -> bool:
    """Is ``text`` a time written in UTC ("...T02:11:03Z", "+00:00", "GMT")?"""
    return bool(_EXPLICIT_UTC_RE.search(text.strip()))


def page_utc_offset(html: str) -> str | None:
    """The page's own UTC offset ("-05:00"), from the ISO timestamps it writes with a
    non-zero offset (the most frequent one); None when it writes none."""
    counts: dict[str, int] = {}
    for match in _ISO_OFFSET_TAIL_RE.finditer(html):
        start = match.start()
        if start < 10 or not _ISO_DAY_BEFORE_RE.match(html, start - 10, start):
            continue
        hours, minutes = match.groups()
        if hours[1:] != "00" or minutes != "00":
            offset = f"{hours}:{minutes}"
            counts[offset] = counts.get(offset, 0) + 1
    return max(counts, key=lambda offset: counts[offset]) if counts else None


def _parse_offset(offset: str | None) -> FixedOffset | None:
    if not offset or not re.fullmatch(r"[+-]\d{2}:\d{2}", offset):
        return None
    sign = -1 if offset[0] == "-" else 1
    delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
    return FixedOffset(sign * delta) if delta < timedelta(hours=15) else None


def _local(value: datetime, text: str, page_offset: FixedOffset | None, timezone: str) -> datetime:
    """``value`` on the page's own calendar: a timestamp written in UTC (a server's clock,
    not the newsroom's) moves to the offset the page writes elsewhere, else to the
    source's zone. Midnight UTC is a bare date written as a timestamp: it stays on its day."""
    if not is_utc_timestamp(text) or value.timetz().replace(tzinfo=None) == time(0):
        return value
    if page_offset is not None:
        return value.astimezone(page_offset)
    zone = ZoneInfo(timezone)
    return value if zone.key == "UTC" else value.astimezone(zone)


def choose_date(
    candidates: Sequence[tuple[str, str]],
    languages: Sequence[str],
    timezone: str,
    *,
    date_order: str | None = None,
    page_offset: str | None = None,
    dateline: Callable[[], datetime | None] = lambda: None,
) -> DateChoice:
    """The publication date among a page's ``candidates`` ((origin, text) pairs, origins
    as above), each parsed with the page's languages and date order.

    A source's selector wins when it reads. Otherwise htmldate's markup search picks
    the day (it weighs original against updated dates and checks them against the
    URL), and a structured date of that same day gives its time and offset; a day no
    structured date backs gives way to the date printed by the title. Then our own
    structured dates, the printed date, the dateline, the listing teaser's date, and
    last the extensive text search. Unreadable candidates are skipped (and listed), never
    winning; a UTC timestamp is read on the page's own calendar day. No candidate,
    no date: none is ever made up.
    """
    offset = _parse_offset(page_offset)
    unreadable: list[tuple[str, str]] = []  # (origin, text)
    parsed: dict[str, list[datetime]] = {}  # origin -> values as written
    local: dict[str, list[datetime]] = {}  # origin -> the same on the page's calendar
    for origin, text in candidates:
        value = parse_page_date(text, languages, timezone, date_order)
        if value is None:
            if origin in (SELECTOR, METADATA, LISTING):
                unreadable.append((origin, text))
            continue
        parsed.setdefault(origin, []).append(value)
        local.setdefault(origin, []).append(_local(value, text, offset, timezone))

    def chosen(value: datetime, origin: str) -> DateChoice:
        return DateChoice(value, origin, tuple(text for kind, text in unreadable if kind == SELECTOR))

    if local.get(SELECTOR):
        return chosen(local[SELECTOR][0], SELECTOR)
    structured = list(zip(local.get(METADATA, []), parsed.get(METADATA, []), strict=True))
    byline = local.get(BYLINE, [])
    if parsed.get(HTMLDATE):
        day = parsed[HTMLDATE][0].date()
        # The same day in our own structured dates: theirs has the time and offset. A UTC
        # timestamp htmldate read as written is matched on its UTC day, then read locally.
        for value, _ in structured:
            if value.date() == day:
                return chosen(value, METADATA)
        for value, raw in structured:
            if raw.date() == day and abs(value.date() - day) <= timedelta(days=1):
                return chosen(value, METADATA)
        # htmldate's day has no structured date to back it (a number in the URL, a date in
        # a side column): the date printed by the title, when there is one, wins.
        if byline and byline[0].date() != day:
            return chosen(byline[0], BYLINE)
        return chosen(parsed[HTMLDATE][0], HTMLDATE)
    if structured:
        return chosen(structured[0][0], METADATA)
    if byline:
        return chosen(byline[0], BYLINE)
    if (value := dateline()) is not None:
        # A yearless dateline took its year from the fetch time; the page's text may
        # write the same day with its year.
        for found in parsed.get(EXTENSIVE, []):
            if (found.month, found.day) == (value.month, value.day) and found.year != value.year:
                return chosen(value.replace(year=found.year), DATELINE)
        return chosen(value, DATELINE)
    for origin in (LISTING, EXTENSIVE):
        if local.get(origin):
            return chosen(local[origin][0], origin)
    return DateChoice(None, None, tuple(text for _, text in unreadable))


_MONTH_WORD = r"[^\W\d_]{3,12}\.?"


def date_written(day: date, text: str) -> bool:
    """Does ``text`` write ``day`` with its day of the month (2010-06-01, 1.6.2010,
    01/06/2010, 1. Juni 2010, June 1, 2010)? A date guessed from "June 2010" does not."""
    d, m, y = day.day, day.month, day.year
    dd, mm = rf"0?{d}", rf"0?{m}"
    yy = rf"(?:{y}|{y % 100:02d})"
    patterns = (
        rf"(?<!\d){y}[-/.]{mm}[-/.]{dd}(?!\d)",
        rf"(?<!\d){dd}[./-]\s?{mm}[./-]\s?{yy}(?!\d)",
        rf"(?<!\d){mm}/{dd}/{yy}(?!\d)",
        rf"(?<!\d){dd}(?:st|nd|rd|th)?\.?\s+(?:de\s+)?{_MONTH_WORD}\s+(?:de\s+)?{y}(?!\d)",
        rf"{_MONTH_WORD}\s+{dd}(?:st|nd|rd|th)?,?\s+{y}(?!\d)",
    )
    return any(re.search(pattern, text) for pattern in patterns)
