"""Pure normalisation helpers for extracted press-release fields.

Nothing here does I/O or knows about Scrapy: every function takes strings (and
settings passed in by the caller) and returns plain values, so the pipelines,
the CLI and the tests can share them.

Libraries doing the real work:

* dates ............ ``dateparser`` (local month names), ``zoneinfo`` for zones;
* languages ........ ``pycountry`` (ISO 639 tables), ``py3langid`` (detection);
* countries ........ ``babel`` (CLDR territory names per language) filtered by
  ``pycountry`` (ISO 3166-1 alpha-2), compiled into one regex;
* URLs ............. ``w3lib.url.canonicalize_url`` (the function Scrapy itself
  uses for request fingerprints), plus a documented tracking-parameter list.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from datetime import timezone as FixedOffset  # `timezone` is a parameter name below
from functools import lru_cache
from urllib.parse import unquote_plus, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import dateparser
import pycountry
from babel import Locale, UnknownLocaleError
from dateparser.conf import SettingValidationError
from dateparser.data.languages_info import language_order as _DATEPARSER_LANGUAGES
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from w3lib.url import canonicalize_url

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PARAM_PREFIXES",
    "canonical_url",
    "clean_text",
    "clean_title",
    "content_hash",
    "countries_mentioned",
    "dateline_date",
    "item_uid",
    "normalize_language",
    "parse_date",
]

# --------------------------------------------------------------------------- text

# Characters XML 1.0 forbids (C0 controls except TAB/LF/CR, surrogates, U+FFFE/FFFF).
# Stored text ends up in feeds (XML), where a single one of these breaks the document.
_XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Line/paragraph separators other than \n, mapped before splitting into lines so that
# VT/FF (XML-invalid, but whitespace) separate words instead of gluing them together.
_LINE_BREAK_RE = re.compile("\r\n?|[\x0b\x0c\x85\u2028]")
_PARAGRAPH_BREAK = "\u2029"

# Unicode space separators (category Zs: NBSP, narrow NBSP, en/em spaces, ideographic
# space...) become a plain space; invisible format characters that only break word
# matching and hashing (soft hyphen, zero-width space, word joiner, BOM) are removed.
# ZWJ/ZWNJ are kept: they carry meaning in some scripts. (Regexes, not str.translate:
# translate is ~50x slower on non-ASCII text.)
_UNICODE_SPACE_RE = re.compile(
    "[" + "".join(chr(cp) for cp in range(0x80, 0x3001) if unicodedata.category(chr(cp)) == "Zs")
    + "]"
)
_INVISIBLE_RE = re.compile("[\u00ad\u200b\u2060\ufeff]")
_HSPACE_RUN_RE = re.compile(r"[ \t]+")


def clean_text(text: str | None) -> str:
    """Normalise extracted text; paragraphs separated by exactly one blank line."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    text = _LINE_BREAK_RE.sub("\n", text).replace(_PARAGRAPH_BREAK, "\n\n")
    text = _XML_INVALID_RE.sub("", text)
    text = _INVISIBLE_RE.sub("", _UNICODE_SPACE_RE.sub(" ", text))
    paragraphs: list[str] = []
    current: list[str] = []
    for raw_line in text.split("\n"):
        line = _HSPACE_RUN_RE.sub(" ", raw_line).strip()
        if line:
            current.append(line)
        elif current:  # an empty line ends a paragraph; runs of them count once
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


def clean_title(text: str | None) -> str:
    """clean_text() folded onto one line (titles, teasers, datelines)."""
    return " ".join(clean_text(text).split())


# ---------------------------------------------------------------------------- URLs

# Query parameters that only track the visitor/campaign and never select content.
# Matched case-insensitively on the (decoded) parameter name.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",  # Facebook
        "gclid", "gclsrc", "dclid", "gbraid", "wbraid",  # Google Ads
        "_ga", "_gl",  # Google Analytics cross-domain linker
        "msclkid",  # Microsoft Ads
        "yclid", "ysclid",  # Yandex
        "twclid",  # X/Twitter
        "ttclid",  # TikTok
        "li_fat_id",  # LinkedIn
        "igshid", "igsh",  # Instagram share
        "mc_cid", "mc_eid",  # Mailchimp
        "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp",  # HubSpot
        "mkt_tok",  # Marketo
        "oly_anon_id", "oly_enc_id",  # Omeda
        "vero_id", "vero_conv",  # Vero
        "wickedid",  # Wicked Reports
        "s_cid",  # Adobe Analytics
        "at_medium", "at_campaign",  # AT Internet
        "xtor",  # AT Internet (Xiti)
        "ref_src", "ref_url",  # Twitter embeds
        "spm",  # Alibaba
    }
)
# Whole families of tracking parameters, by name prefix.
TRACKING_PARAM_PREFIXES: tuple[str, ...] = (
    "utm_",  # Google Analytics campaign tags (utm_source, utm_medium, ...)
    "pk_",  # Matomo/Piwik campaigns
    "mtm_",  # Matomo campaigns
    "hsa_",  # HubSpot ads
    "itm_",  # internal-campaign tags
)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking_param(name: str) -> bool:
    name = name.strip().lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PARAM_PREFIXES)


def canonical_url(url: str) -> str:
    """Canonical form of an absolute URL, used as the item's identity.

    w3lib does the heavy lifting (sorted query, blank values kept, percent-encoding
    re-encoded as uppercase UTF-8 escapes, fragment dropped, dot segments resolved,
    host lowercased, empty path -> "/"); we add tracking-parameter removal and default
    port removal. Square brackets in the query are left unescaped so Drupal listing
    parameters keep their familiar form (``type[0]=press_release``); ``%5B``/``[`` are
    equivalent, so both inputs give the same result.
    """
    url = url.strip()
    scheme, netloc, path, query, _fragment = urlsplit(url)
    if query:
        kept = [
            pair
            for pair in query.split("&")
            if pair and not _is_tracking_param(unquote_plus(pair.partition("=")[0]))
        ]
        query = "&".join(kept)
    url = canonicalize_url(urlunsplit((scheme, netloc, path, query, "")), keep_blank_values=True)

    scheme, netloc, path, query, _fragment = urlsplit(url)
    scheme = scheme.lower()
    userinfo, at, hostport = netloc.rpartition("@")
    host, colon, port = hostport.rpartition(":") if not hostport.endswith("]") else ("", "", "")
    if colon and port.isdigit() and _DEFAULT_PORTS.get(scheme) == int(port):
        hostport = host
    netloc = f"{userinfo}{at}{hostport.lower()}"
    query = query.replace("%5B", "[").replace("%5D", "]")
    return urlunsplit((scheme, netloc, path, query, ""))


def item_uid(canonical: str) -> str:
    """Stable 16-hex-digit id of an item: prefix of the SHA-256 of its canonical URL."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- dates

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
_YEAR_RE = re.compile(r"(?<!\d)\d{4}(?!\d)")


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
    try:
        return dateparser.parse(text, languages=languages, settings=settings)
    except SettingValidationError:  # our bug, not the page's: let it surface
        raise
    except (ValueError, OverflowError, TypeError):  # odd input deep in dateparser
        return None


def parse_date(text: str | None, languages: Sequence[str], timezone: str) -> datetime | None:
    """Parse a full date (day, month and year) as found on a page; aware or None.

    ``timezone`` is an IANA zone name applied when the text carries no offset. Relative
    dates, dates without a day or a year, dates before 1950 or more than two days in
    the future give None.
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
    langs = _date_languages(languages)
    value = _dateparser(text, langs, _DATEPARSER_SETTINGS)
    if value is None and (labelled := _LABEL_RE.match(text)):
        value = _dateparser(text[labelled.end():], langs, _DATEPARSER_SETTINGS)
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
    body: str, languages: Sequence[str], timezone: str, reference: datetime
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
            value = _dateparser(candidate, langs, _DATEPARSER_SETTINGS)
            if value is None:
                continue
            day = value.date()
        else:
            value = _dateparser(candidate, langs, _DAY_MONTH_SETTINGS)
            if value is None:
                continue
            day = _latest_on_or_before(value.month, value.day, ref_day)
            if day is None:
                continue
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


# ----------------------------------------------------------------------- languages

# Deprecated ISO 639-1 codes still seen in the wild.
_LANGUAGE_ALIASES = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}
# Declared values that are valid codes but say nothing about the language.
_NOT_A_LANGUAGE = frozenset({"und", "mul", "mis", "zxx", "xx", "x"})

# Detection policy (py3langid, naive Bayes over byte n-grams):
# * without candidates the best ISO 639-1 label wins if its probability reaches
#   _MIN_CONFIDENCE, else None (a short or mixed text is not guessed);
# * with candidates (the languages a site is known to publish in) short texts
#   (< _SHORT_TEXT chars: titles, teasers) are classified among the candidates only,
#   where free detection is unreliable; longer texts are classified freely and the
#   free answer is kept only when it is confident, otherwise the best candidate wins.
_SHORT_TEXT = 200
_MIN_CONFIDENCE = 0.5
_OVERRIDE_CONFIDENCE = 0.9
_IDENTIFIER_LOCK = threading.Lock()


@lru_cache(maxsize=512)
def _iso639_1(value: str) -> str | None:
    """ISO 639-1 code of a declared language tag ("en-US", "EN_gb", "eng", "rum")."""
    primary = re.split(r"[-_\s]", value.strip().lower(), maxsplit=1)[0]
    if not primary or primary in _NOT_A_LANGUAGE or not primary.isalpha():
        return None
    primary = _LANGUAGE_ALIASES.get(primary, primary)
    if len(primary) == 2:
        lang = pycountry.languages.get(alpha_2=primary)
    elif len(primary) == 3:
        lang = pycountry.languages.get(alpha_3=primary) or pycountry.languages.get(
            bibliographic=primary
        )
    else:  # a name: "English", "Romanian"
        try:
            lang = pycountry.languages.lookup(value.strip())
        except LookupError:
            lang = None
    return getattr(lang, "alpha_2", None) if lang is not None else None


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    # Our own instance (not py3langid's global one, which set_languages() mutates),
    # loaded on first use (~0.5 s) with normalised probabilities for the thresholds.
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _ranked_languages(text: str) -> list[tuple[str, float]]:
    with _IDENTIFIER_LOCK:  # numpy scoring is not guaranteed re-entrant; cheap anyway
        ranked = _identifier().rank(text)
    # py3langid also knows ISO 639-3-only varieties ("ary", "fuv"); we report 639-1.
    return [(lang, score) for lang, score in ranked if len(lang) == 2]


def normalize_language(declared: str | None, text: str, candidates: Sequence[str] = ()) -> str | None:
    """ISO 639-1 code: the declared language if valid, else detected from ``text``."""
    if declared:
        code = _iso639_1(declared)
        if code:
            return code
    text = clean_title(text)
    if not text:
        return None
    allowed = [c for c in dict.fromkeys(_iso639_1(c) for c in candidates) if c]
    ranked = _ranked_languages(text)
    if not ranked:
        return None
    top, top_score = ranked[0]
    if not allowed:
        return top if top_score >= _MIN_CONFIDENCE else None
    if len(text) >= _SHORT_TEXT and (top in allowed or top_score >= _OVERRIDE_CONFIDENCE):
        return top
    best = next((lang for lang, _ in ranked if lang in allowed), None)
    # A candidate py3langid does not know cannot be detected: fall back to the first.
    return best if best is not None else allowed[0]


# ----------------------------------------------------------------------- countries
#
# How countries are found:
# * names come from babel's CLDR territory names for English and each requested
#   language, limited to ISO 3166-1 alpha-2 codes known to pycountry (so no EU, UN,
#   001, XK...), plus pycountry's English official/common names, a few generated
#   variants (no parenthesis, "&" -> "and", "St." -> "Saint", straight apostrophes,
#   accent-free English) and hand-written aliases and English demonyms;
# * matching is case-sensitive and whole-word: a name must not be preceded or
#   followed by a letter/digit ("chad", "turkey" in lower case never match;
#   "Georgia" the US state and "Jordan" the first name do);
# * inflected languages (ru, uk, lt, ro, hy) use light suffix stripping: every word
#   of 4+ letters loses its nominative ending (ru/uk: a final vowel or soft sign or an
#   adjective ending; lt: -as/-is/-ys/-ai/-os/-ės/-a/-ė...; ro: -ul/-a/-e/-ă; hy: none)
#   and may then be followed by any case ending of that language from a closed list
#   ("Молдов" + е/ы/у/ой..., "Lietuv" + oje/os/ą..., "Armeni" + ei...). Limits: forms
#   whose stem changes (alternations, Russian fleeting vowels) or that are not built
#   from the CLDR name (abbreviations such as "США", "JAV", "SUA", official long names)
#   are only found through the hand-written aliases; short names (stem < 4 letters:
#   "Куба") are matched in the nominative only; lowercase adjectives and demonyms of
#   these languages ("молдавские", "moldovenești") are not matched; a capitalised word
#   that happens to equal a stem + ending of any searched language is a false positive
#   (rare: e.g. "Indie" read as Romanian for India when "ro" is searched);
# * all names of all languages are merged into a character trie and compiled into a
#   single regular expression (built once per language set and cached), so a page is
#   scanned once whatever the number of names. Each name ends in an empty capturing
#   group whose index (``match.lastindex``) tells which country matched; longer names
#   are tried before their prefixes ("Guinea-Bissau" before "Guinea") and names that
#   contain a country name without meaning it ("New Jersey", "New Guinea") are
#   matched as blockers and ignored.

_ISO_COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries)

# Per language: nominative endings stripped from a word (longest first) and the
# endings a stem may take in running text. Only applied to words of 4+ letters whose
# stem keeps at least _MIN_STEM letters.
_MIN_STEM = 4
_INFLECTION: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ru": (
        ("ая", "яя", "ое", "ее", "ые", "ие", "ый", "ий", "ой", "а", "я", "ы", "ь", "й"),
        ("а", "я", "ы", "и", "е", "у", "ю", "о", "ь", "й", "ой", "ей", "ою", "ею", "ом",
         "ем", "ам", "ям", "ами", "ями", "ах", "ях", "ов", "ев", "ью", "ий", "ый", "ого",
         "его", "ому", "ему", "ым", "им", "ых", "их", "ыми", "ими", "ую", "юю", "ая",
         "яя", "ое", "ее", "ые", "ие", "ии", "ию", "ией", "ия"),
    ),
    "uk": (
        ("ий", "ій", "а", "я", "і", "и", "ь", "й"),
        ("а", "я", "и", "і", "ї", "у", "ю", "е", "є", "о", "ь", "й", "ою", "ею", "єю",
         "ом", "ем", "єм", "ам", "ям", "ами", "ями", "ах", "ях", "ів", "їв", "ей", "ий",
         "ій", "ого", "ому", "им", "ім", "их", "іх", "ими", "іми", "ої", "ою", "ії",
         "ією", "ію", "ія"),
    ),
    "lt": (
        ("ai", "as", "is", "ys", "us", "os", "ės", "a", "ė", "e"),
        ("a", "as", "o", "ui", "ą", "u", "e", "ai", "ų", "ams", "us", "uose", "ose",
         "oms", "os", "oje", "ės", "ei", "ę", "ėje", "ėmis", "ėms", "ėse", "ė", "is",
         "io", "iui", "į", "yje", "ys", "ių", "ims", "iuose", "ios", "ioje", "iai", "ia",
         "ią", "ais", "omis", "imis", "iams", "ioms", "iomis", "on", "ėn"),
    ),
    "ro": (
        ("ul", "a", "e", "ă"),
        ("a", "ă", "e", "ei", "ii", "i", "ul", "ului", "u", "le", "lor", "elor", "or",
         "ele", "ea", "ia", "iei", "ie"),
    ),
    "hy": (
        (),
        ("ի", "ը", "ն", "ում", "ից", "ով", "ին", "յի", "յում", "յից", "յով", "յին", "յան",
         "ան", "ներ", "ների", "ներում", "ներից", "ներն", "ները"),
    ),
}

# Hand-written additions: official/short/abbreviated forms CLDR does not list.
_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "US": ("United States of America", "USA", "U.S.A.", "U.S.", "the US"),
        "GB": ("UK", "U.K.", "Great Britain", "Britain", "Northern Ireland"),
        "RU": ("Russian Federation",),
        "MD": ("Republic of Moldova",),
        "TR": ("Turkey", "Republic of Türkiye"),
        "CZ": ("Czech Republic",),
        "VN": ("Viet Nam",),
        "KR": ("Republic of Korea",),
        "KP": ("Democratic People's Republic of Korea", "DPRK"),
        "CD": ("Democratic Republic of the Congo", "DR Congo", "DRC", "Congo-Kinshasa"),
        "CG": ("Republic of the Congo", "Congo-Brazzaville"),
        "PS": ("Palestine", "State of Palestine", "Occupied Palestinian Territory"),
        "CI": ("Ivory Coast",),
        "SZ": ("Swaziland",),
        "CV": ("Cabo Verde",),
        "TL": ("East Timor",),
        "VA": ("Holy See",),
        "MO": ("Macau",),
        "AE": ("UAE",),
        "LA": ("Lao PDR",),
        "SY": ("Syrian Arab Republic",),
        "IR": ("Islamic Republic of Iran",),
        "BA": ("Bosnia",),
        "MK": ("Republic of North Macedonia",),
    },
    "ru": {
        "US": ("США", "Соединённые Штаты", "Соединенные Штаты Америки",
               "Соединённые Штаты Америки"),
        "RU": ("Российская Федерация",),
        "MD": ("Республика Молдова", "Молдавия"),
        "BY": ("Белоруссия", "Республика Беларусь"),
        "GB": ("Соединенное Королевство", "Соединённое Королевство"),
        "KR": ("Южная Корея",),
        "KP": ("Северная Корея",),
        "CZ": ("Чешская Республика",),
        "AE": ("Объединённые Арабские Эмираты", "Объединенные Арабские Эмираты"),
        "CD": ("Демократическая Республика Конго", "ДР Конго", "ДРК"),
    },
    "uk": {
        "US": ("США", "Сполучені Штати Америки"),
        "RU": ("Російська Федерація",),
        "MD": ("Республіка Молдова",),
        "GB": ("Сполучене Королівство",),
        "CD": ("Демократична Республіка Конго", "ДР Конго"),
    },
    "lt": {
        "US": ("JAV", "Jungtinės Amerikos Valstijos"),
        "RU": ("Rusijos Federacija",),
        "MD": ("Moldovos Respublika",),
        "GB": ("Didžioji Britanija",),
    },
    "ro": {
        "MD": ("Moldova",),
        "US": ("SUA", "Statele Unite"),
        "RU": ("Federația Rusă",),
        "GB": ("Marea Britanie",),
        "CZ": ("Republica Cehă",),
    },
    "hy": {
        "US": ("ԱՄՆ", "Ամերիկայի Միացյալ Նահանգներ"),
        "RU": ("Ռուսաստանի Դաշնություն",),
    },
}

# English demonyms (only unambiguous ones). Left out on purpose: names of languages
# widely spoken outside their country (French, Spanish, Portuguese, English, German,
# Russian, Romanian, Chinese, Arabic...), whose mention says nothing about the country,
# and ambiguous ones (American, Indian, Congolese, Korean, Dominican).
_DEMONYMS: dict[str, tuple[str, ...]] = {
    "AF": ("Afghan",), "AL": ("Albanian",), "DZ": ("Algerian",), "AO": ("Angolan",),
    "AR": ("Argentine", "Argentinian"), "AM": ("Armenian",), "AU": ("Australian",),
    "AT": ("Austrian",), "AZ": ("Azerbaijani",), "BD": ("Bangladeshi",),
    "BY": ("Belarusian",), "BE": ("Belgian",), "BO": ("Bolivian",), "BA": ("Bosnian",),
    "BR": ("Brazilian",), "BG": ("Bulgarian",), "BF": ("Burkinabe",),
    "BI": ("Burundian",), "KH": ("Cambodian",), "CM": ("Cameroonian",),
    "CA": ("Canadian",), "TD": ("Chadian",), "CL": ("Chilean",), "CO": ("Colombian",),
    "HR": ("Croatian",), "CU": ("Cuban",), "CY": ("Cypriot",), "DJ": ("Djiboutian",),
    "EC": ("Ecuadorian",), "EG": ("Egyptian",), "SV": ("Salvadoran",),
    "ER": ("Eritrean",), "EE": ("Estonian",), "ET": ("Ethiopian",), "FI": ("Finnish",),
    "GM": ("Gambian",), "GE": ("Georgian",), "GH": ("Ghanaian",), "GR": ("Greek",),
    "GT": ("Guatemalan",), "GN": ("Guinean",), "HT": ("Haitian",), "HN": ("Honduran",),
    "HU": ("Hungarian",), "ID": ("Indonesian",), "IR": ("Iranian",), "IQ": ("Iraqi",),
    "IE": ("Irish",), "IL": ("Israeli",), "IT": ("Italian",), "CI": ("Ivorian",),
    "JM": ("Jamaican",), "JP": ("Japanese",), "JO": ("Jordanian",), "KZ": ("Kazakh",),
    "KE": ("Kenyan",), "KW": ("Kuwaiti",), "KG": ("Kyrgyz",), "LA": ("Laotian",),
    "LV": ("Latvian",), "LB": ("Lebanese",), "LR": ("Liberian",), "LY": ("Libyan",),
    "LT": ("Lithuanian",), "MG": ("Malagasy",), "MW": ("Malawian",),
    "MY": ("Malaysian",), "ML": ("Malian",), "MT": ("Maltese",),
    "MR": ("Mauritanian",), "MX": ("Mexican",), "MD": ("Moldovan",),
    "MN": ("Mongolian",), "ME": ("Montenegrin",), "MA": ("Moroccan",),
    "MZ": ("Mozambican",), "MM": ("Burmese",), "NA": ("Namibian",),
    "NP": ("Nepali", "Nepalese"), "NI": ("Nicaraguan",), "NE": ("Nigerien",),
    "NG": ("Nigerian",), "NO": ("Norwegian",), "OM": ("Omani",), "PK": ("Pakistani",),
    "PS": ("Palestinian",), "PA": ("Panamanian",), "PY": ("Paraguayan",),
    "PE": ("Peruvian",), "PH": ("Filipino",), "PL": ("Polish",), "QA": ("Qatari",),
    "RW": ("Rwandan",), "SA": ("Saudi",), "SN": ("Senegalese",), "RS": ("Serbian",),
    "SL": ("Sierra Leonean",), "SK": ("Slovak",), "SI": ("Slovenian",),
    "SO": ("Somali",), "ZA": ("South African",), "SS": ("South Sudanese",),
    "LK": ("Sri Lankan",), "SD": ("Sudanese",), "SE": ("Swedish",), "CH": ("Swiss",),
    "SY": ("Syrian",), "TJ": ("Tajik",), "TZ": ("Tanzanian",), "TH": ("Thai",),
    "TG": ("Togolese",), "TN": ("Tunisian",), "TR": ("Turkish",), "TM": ("Turkmen",),
    "UG": ("Ugandan",), "UA": ("Ukrainian",), "AE": ("Emirati",), "UY": ("Uruguayan",),
    "UZ": ("Uzbek",), "VE": ("Venezuelan",), "VN": ("Vietnamese",), "YE": ("Yemeni",),
    "ZM": ("Zambian",), "ZW": ("Zimbabwean",), "GB": ("British",),
    "GQ": ("Equatorial Guinean",), "PG": ("Papua New Guinean",),
}

# Phrases that contain a country name without naming the country: matched, ignored.
_BLOCKERS: dict[str, tuple[str, ...]] = {
    "en": ("New Jersey", "New Guinea", "New Mexico", "Gulf of Guinea", "Jersey City"),
    "ru": ("Того", "Нью-Джерси", "Нью-Мексико"),  # "Того" is also a pronoun
    "uk": ("Того", "Нью-Джерсі", "Нью-Мексико"),
}
# Generated names that are too ambiguous to keep.
_DROP = frozenset({"Congo", "Reunion", "Конго", "Kongas", "Կոնգո"})

_WS = r"\s+"  # between the words of a name (line breaks included)
_APOSTROPHES = ("’", "ʼ", "'")


def _variants(lang: str, name: str) -> set[str]:
    """Spellings of one CLDR/pycountry name likely to appear in running text."""
    names = {name}
    if "(" in name:  # "Myanmar (Burma)" -> "Myanmar", "Burma"
        outer = re.sub(r"\s*\([^)]*\)", "", name).strip()
        names.add(outer)
        for inner in re.findall(r"\(([^)]*)\)", name):
            if len(inner) >= 4 and inner[0].isupper():
                names.add(inner.strip())
    if ", " in name:  # pycountry "Korea, Republic of"; uk "Гонконг, ОАР Китаю"
        head, _, tail = name.partition(", ")
        if tail.endswith((" of", " of the")) or tail in {"The Democratic Republic of the"}:
            names.add(f"{tail[4:] if tail.startswith('The ') else tail} {head}")
        elif len(head) >= 4:
            names.add(head)
    if lang == "en":
        for n in list(names):
            n2 = re.sub(r"\s+SAR\b.*$", "", n)  # "Hong Kong SAR China" -> "Hong Kong"
            n2 = n2.replace(" & ", " and ")
            names.add(n2)
            if n2.startswith("St. "):
                names.add("Saint " + n2[4:])
        for n in list(names):  # "Türkiye" -> "Turkiye", "Côte d'Ivoire" -> "Cote d'Ivoire"
            folded = "".join(
                c for c in unicodedata.normalize("NFD", n) if not unicodedata.combining(c)
            )
            names.add(unicodedata.normalize("NFC", folded))
    for n in list(names):
        if any(a in n for a in _APOSTROPHES):
            for a in _APOSTROPHES:
                names.add(re.sub("[’ʼ']", a, n))
    return {unicodedata.normalize("NFC", n) for n in names if len(n) >= 2 and n not in _DROP}


def _atoms(lang: str, name: str) -> tuple[str, ...]:
    """Regex atoms of one name: escaped characters, whitespace and ending groups."""
    strip, endings = _INFLECTION.get(lang, ((), ()))
    ending_atom = (
        "(?:" + "|".join(re.escape(e) for e in sorted(set(endings), key=len, reverse=True)) + ")?"
        if endings
        else ""
    )
    atoms: list[str] = []
    for i, word in enumerate(name.split()):
        if i:
            atoms.append(_WS)
        stem = word
        if ending_atom and len(word) >= _MIN_STEM and word[-1].isalpha():
            for suffix in strip:
                if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
                    stem = word[: -len(suffix)]
                    break
        atoms.extend(re.escape(ch) for ch in stem)
        if ending_atom and word[-1].isalpha():
            atoms.append(ending_atom)
    return tuple(atoms)


class _CountryMatcher:
    """One compiled regex over every country name of a set of languages."""

    _END = ""  # trie key of "a name ends here"

    def __init__(self, languages: tuple[str, ...]) -> None:
        entries: dict[tuple[str, ...], set[str | None]] = {}

        def add(lang: str, code: str | None, name: str) -> None:
            for variant in _variants(lang, name):
                entries.setdefault(_atoms(lang, variant), set()).add(code)

        for lang in languages:
            try:
                territories = Locale.parse(lang).territories
            except (UnknownLocaleError, ValueError):
                continue
            for code, name in territories.items():
                if code in _ISO_COUNTRIES:
                    add(lang, code, name)
            for code, names in _ALIASES.get(lang, {}).items():
                for name in names:
                    add(lang, code, name)
            for name in _BLOCKERS.get(lang, ()):
                add(lang, None, name)
        for country in pycountry.countries:
            for attr in ("name", "official_name", "common_name"):
                if (name := getattr(country, attr, None)) and not name.startswith("the "):
                    add("en", country.alpha_2, name)
        for code, names in _DEMONYMS.items():
            for name in names:
                add("en", code, name)
                add("en", code, name + "s")  # "Syrians", "Afghans"
        trie: dict = {}
        for atoms, codes in entries.items():
            node = trie
            for atom in atoms:
                node = node.setdefault(atom, {})
            # A spelling claimed by two countries (across languages) is ambiguous.
            node[self._END] = next(iter(codes)) if len(codes) == 1 else None
        self._codes: list[str | None] = [None]  # group index -> country code
        # The leading class of possible first characters lets the regex engine skip
        # most positions cheaply (about 2x faster on English text).
        first = "[" + "".join(k for k in trie if k != self._END) + "]"
        self.regex = re.compile(rf"(?={first})(?<!\w)" + self._compile(trie))

    def _compile(self, node: dict) -> str:
        # Literal characters first, then ending/whitespace groups, the end of the name
        # last: the first alternative that succeeds wins, so longer names take
        # precedence over names they start with ("Guinea-Bissau" > "Guinea").
        keys = sorted((k for k in node if k != self._END), key=lambda k: (len(k) > 2, k))
        alternatives = [k + self._compile(node[k]) for k in keys]
        if self._END in node:
            self._codes.append(node[self._END])
            alternatives.append(r"(?!\w)()")
        if len(alternatives) == 1:
            return alternatives[0]
        return "(?:" + "|".join(alternatives) + ")"

    def find(self, text: str) -> set[str]:
        found = set()
        for match in self.regex.finditer(text):
            code = self._codes[match.lastindex] if match.lastindex else None
            if code:
                found.add(code)
        return found


# Romanian text often uses cedilla letters where CLDR uses comma-below ones.
_RO_CEDILLA = {"ş": "ș", "Ş": "Ș", "ţ": "ț", "Ţ": "Ț"}
_RO_CEDILLA_RE = re.compile("[şŞţŢ]")


@lru_cache(maxsize=16)
def _country_matcher(languages: tuple[str, ...]) -> _CountryMatcher:
    return _CountryMatcher(languages)


def countries_mentioned(text: str, languages: Sequence[str] = ("en",)) -> list[str]:
    """Sorted ISO 3166-1 alpha-2 codes of the countries named in ``text``.

    Names are looked up in English and in every language of ``languages`` (ISO 639-1
    codes or tags such as "ro-RO"; languages babel does not know are ignored).
    """
    if not text:
        return []
    codes = {"en"}
    for lang in languages:
        code = _iso639_1(lang) if lang else None
        if code:
            codes.add(code)
    matcher = _country_matcher(tuple(sorted(codes)))
    # NBSP and other Unicode spaces need no mapping: "\s" between words matches them.
    text = _RO_CEDILLA_RE.sub(lambda m: _RO_CEDILLA[m.group()], unicodedata.normalize("NFC", text))
    return sorted(matcher.find(text))


# ------------------------------------------------------------------------- hashing

# content_hash keeps letters, digits and combining marks and turns everything else into
# spaces. Done by two regular expressions (C speed) rather than a per-character loop:
# ASCII punctuation, symbols, controls and "_" in one pass, then the rare non-ASCII
# characters that are not word characters, where only combining marks survive.
# tests/test_normalize.py checks this against the per-character rule on every code point.
_ASCII_NON_ALNUM = re.compile(r"[\x00-/:-@\[-`{-\x7f]+")
_NON_ASCII_NON_WORD = re.compile(r"[^\x00-\x7f\w]")


def _keep_mark(match: re.Match[str]) -> str:
    character = match.group()
    return character if unicodedata.category(character)[0] == "M" else " "


def content_hash(body: str) -> str | None:
    """SHA-256 hex of the body reduced to its words.

    NFKC + casefold, every punctuation/symbol character (quotes, dashes, bullets...)
    turned into a space and whitespace collapsed: copies that differ only in layout,
    case, quote style or punctuation hash the same.
    """
    text = clean_text(body)
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _NON_ASCII_NON_WORD.sub(_keep_mark, _ASCII_NON_ALNUM.sub(" ", text))
    words = text.split()
    if not words:
        return None
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()
