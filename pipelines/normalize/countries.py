"""Countries named in a text, as ISO 3166-1 alpha-2 codes (`countries_mentioned`).

How countries are found:
* names come from babel's CLDR territory names for English and each requested
  language, limited to ISO 3166-1 alpha-2 codes known to pycountry (so no EU, UN,
  001, XK...), plus pycountry's English official/common names, a few generated
  variants (no parenthesis, "&" -> "and", "St." -> "Saint", straight apostrophes,
  accent-free English) and hand-written aliases and English demonyms;
* matching is case-sensitive and whole-word: a name must not be preceded or
  followed by a letter/digit ("chad", "turkey" in lower case never match;
  "Georgia" the US state and "Jordan" the first name do);
* inflected languages (ru, uk, lt, ro, hy) use light suffix stripping: every word
  of 4+ letters loses its nominative ending (ru/uk: a final vowel or soft sign or an
  adjective ending; lt: -as/-is/-ys/-ai/-os/-ės/-a/-ė...; ro: -ul/-a/-e/-ă; hy: none)
  and may then be followed by any case ending of that language from a closed list
  ("Молдов" + е/ы/у/ой..., "Lietuv" + oje/os/ą..., "Armeni" + ei...). Limits: forms
  whose stem changes (alternations, Russian fleeting vowels) or that are not built
  from the CLDR name (abbreviations such as "США", "JAV", "SUA", official long names)
  are only found through the hand-written aliases; short names (stem < 4 letters:
  "Куба") are matched in the nominative only; lowercase adjectives and demonyms of
  these languages ("молдавские", "moldovenești") are not matched; a capitalised word
  that happens to equal a stem + ending of any searched language is a false positive
  (rare: e.g. "Indie" read as Romanian for India when "ro" is searched);
* all names of all languages are merged into a character trie and compiled into a
  single regular expression (built once per language set and cached), so a page is
  scanned once whatever the number of names. Each name ends in an empty capturing
  group whose index (``match.lastindex``) tells which country matched; longer names
  are tried before their prefixes ("Guinea-Bissau" before "Guinea") and names that
  contain a country name without meaning it ("New Jersey", "New Guinea") are
  matched as blockers and ignored.

The hand-written names (aliases, demonyms, blockers, inflections) are data:
countries.toml, next to this module.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files

import pycountry
from babel import Locale, UnknownLocaleError

from pipelines.normalize.language import iso639_1

_ISO_COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries)


def _load_names() -> dict:
    with files(__package__).joinpath("countries.toml").open("rb") as handle:
        return tomllib.load(handle)


_NAMES = _load_names()
# Per language: nominative endings stripped from a word (longest first) and the
# endings a stem may take in running text. Only applied to words of 4+ letters whose
# stem keeps at least _MIN_STEM letters.
_MIN_STEM = 4
_INFLECTION: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    lang: (tuple(rule["strip"]), tuple(rule["endings"])) for lang, rule in _NAMES["inflection"].items()
}
_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    lang: {code: tuple(names) for code, names in table.items()} for lang, table in _NAMES["aliases"].items()
}
_DEMONYMS: dict[str, tuple[str, ...]] = {code: tuple(names) for code, names in _NAMES["demonyms"].items()}
_BLOCKERS: dict[str, tuple[str, ...]] = {lang: tuple(names) for lang, names in _NAMES["blockers"].items()}
_DROP = frozenset(_NAMES["drop"])

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
        code = iso639_1(lang) if lang else None
        if code:
            codes.add(code)
    matcher = _country_matcher(tuple(sorted(codes)))
    # NBSP and other Unicode spaces need no mapping: "\s" between words matches them.
    text = _RO_CEDILLA_RE.sub(lambda m: _RO_CEDILLA[m.group()], unicodedata.normalize("NFC", text))
    return sorted(matcher.find(text))

