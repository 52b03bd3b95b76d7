"""Languages: a declared tag as an ISO 639-1 code, or the language detected in a text
(pycountry's ISO 639 tables, py3langid's detector)."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import lru_cache

import pycountry
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from pipelines.normalize.text import clean_title

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
def iso639_1(value: str) -> str | None:
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
        code = iso639_1(declared)
        if code:
            return code
    text = clean_title(text)
    if not text:
        return None
    allowed = [c for c in dict.fromkeys(iso639_1(c) for c in candidates) if c]
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

