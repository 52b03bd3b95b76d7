"""The topic list (`topics.toml`): what each topic feed collects.

Each ``[[topic]]`` is either a scored keyword rule (words and phrases per language,
strong terms, negative phrases, exclusions, optional filters on source, kind, country,
region and language, and its ``scoring``: weights and threshold) or
a saved full-text search (``query``, FTS5 syntax over ``items_fts``). The file is
validated on load; any mistake stops with one line naming the file, the line,
the topic and the field (see presswatch/config/files.py), e.g.

    topics.toml:12: topic 'remittances': rule.keywords.en: '*money' ...

Matching and scoring live in pipelines/topics.py; this module only models the file.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictBool, ValidationInfo, field_validator

from presswatch.config.files import load_entries
from presswatch.config.sources import Kind
from presswatch.config.types import ID_PATTERN, Country, EntryId, EntrySet, Language, Strict

# Part of the classification fingerprint: bump it when the matching rules in
# classify.py change, so every archive is reclassified once with the new code.
CLASSIFIER_VERSION = "2"

# A keyword: words separated by spaces or punctuation; '*' only at the end of a
# word (a prefix: 'remittance*'), after at least three letters.
_WORD_STAR = re.compile(r"\*")
_PREFIX_OK = re.compile(r"(?<![\w*])\w{3,}\*(?![\w*])")


def _keyword(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    text = " ".join(value.split())
    if not re.search(r"\w", text):
        raise ValueError(f"{value!r} has no letters or digits")
    stars = len(_WORD_STAR.findall(text))
    if stars and len(_PREFIX_OK.findall(text)) != stars:
        raise ValueError(
            f"{value!r}: '*' may only end a word of at least 3 letters (a prefix, e.g. 'remittance*')"
        )
    return text


def _keyword_list(value: Any) -> list[str]:
    if isinstance(value, str):
        raise ValueError(f"{value!r} is not a list (write [{value!r}])")
    if not isinstance(value, list):
        raise ValueError(f"{value!r} is not a list of words and phrases")
    if not value:
        raise ValueError("empty list (remove the language or give words and phrases)")
    keywords = [_keyword(item) for item in value]
    seen: set[str] = set()
    for keyword in keywords:
        if keyword.casefold() in seen:
            raise ValueError(f"{keyword!r} is listed twice")
        seen.add(keyword.casefold())
    return keywords


KeywordList = Annotated[list[str], BeforeValidator(_keyword_list)]


def _source_id(value: Any) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a source id (lowercase letters, digits and dashes)")
    return value


SourceId = Annotated[str, BeforeValidator(_source_id)]


def _nonempty(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return " ".join(value.split())


Text = Annotated[str, BeforeValidator(_nonempty)]


def check_fts_query(query: str) -> None:
    """Raise ValueError unless ``query`` is valid FTS5 syntax over items_fts's columns."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(
            'CREATE VIRTUAL TABLE probe USING fts5(title, summary, body, '
            'tokenize="unicode61 remove_diacritics 2", prefix="2 3")'
        )
        conn.execute("SELECT count(*) FROM probe WHERE probe MATCH ?", [query]).fetchone()
    except sqlite3.OperationalError as exc:
        raise ValueError(f"{query!r} is not a valid full-text query: {exc}") from None
    finally:
        conn.close()


class Rule(Strict):
    """Which items a topic collects: the items its terms score enough on, minus exclusions,
    within the filters."""

    keywords: dict[Language, KeywordList] = {}  # language -> words and phrases; 'en' applies to all
    strong: dict[Language, KeywordList] = {}  # same shape: terms that weigh `scoring.strong`
    # Same shape: general words that support a topic ("data", "report", "war") but never decide
    # alone: they weigh `scoring.context` and count only when a keyword or strong term matched.
    context: dict[Language, KeywordList] = {}
    # Same shape: phrases in which a term means something else or is only mentioned in passing
    # ("after the pandemic", "resettlement sites"); a term's occurrence inside one does not count.
    negative: dict[Language, KeywordList] = {}
    exclude: dict[Language, KeywordList] = {}  # same shape: an item matching one is left out
    sources: list[SourceId] = []  # filters: an empty list means "any"
    kinds: list[Kind] = []
    countries: list[Country] = []  # the source's country or a country the item names
    regions: list[Text] = []
    languages: list[Language] = []

    def admits(self, item: dict[str, Any], countries: list[str]) -> bool:
        """Does ``item`` (an items row) pass the filters? ``countries``: its country codes."""
        if self.sources and item.get("source") not in self.sources:
            return False
        if self.kinds and item.get("kind") not in self.kinds:
            return False
        if self.regions and item.get("region") not in self.regions:
            return False
        if self.languages and item.get("language") not in self.languages:
            return False
        if self.countries and not set(self.countries) & set(countries):
            return False
        return True


Weight = Annotated[float, Field(ge=0, le=100)]


class Scoring(Strict):
    """How much an item must be about a topic: the weights of where and how often its terms occur.

    A term's occurrence weighs its term weight (1 for keywords, ``strong`` for strong terms,
    ``context`` for context terms, which count once, only next to a keyword or strong term, and
    add at most what those add)
    times where it is (``title``, ``lead``: the summary and first paragraph, ``body``); a term's
    first occurrence counts whole, each further one (up to ``max_repeats``) ``repeat`` times its
    weight; distinct terms add up. The topic takes the item when the sum reaches ``threshold``.
    The defaults make one passing mention in the body (1) or the lead (2) not enough, a title
    mention (3) or a lead and a body mention enough.
    """

    threshold: float = Field(default=3.0, gt=0, le=1000)
    title: Weight = 3.0
    lead: Weight = 2.0
    body: Weight = 1.0
    strong: Weight = 2.0
    context: Weight = 0.5
    repeat: Weight = 0.5
    max_repeats: int = Field(default=3, ge=0, le=100)


class Topic(Strict):
    """One topic: a feed at public/topics/<id>.atom and .rss."""

    id: EntryId
    title: Text
    description: str = ""
    query: str | None = None  # a saved search (FTS5 syntax), instead of rule.keywords
    rule: Rule = Field(default_factory=Rule, validate_default=True)
    scoring: Scoring = Field(default_factory=Scoring)
    # Information pages (kind "page": "About us", "Work and employment") are not news: a topic
    # takes them only when it asks for them (or names "page" in rule.kinds).
    include_pages: StrictBool = False

    @field_validator("description")
    @classmethod
    def _clean_description(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("query")
    @classmethod
    def _valid_query(cls, value: str | None) -> str | None:
        if value is not None:
            if not value.strip():
                raise ValueError("must be a non-empty full-text query")
            check_fts_query(value)
        return value

    @field_validator("rule")
    @classmethod
    def _keywords_or_query(cls, value: Rule, info: ValidationInfo) -> Rule:
        if "query" not in info.data:  # the query itself was invalid: that error is reported
            return value
        query = info.data["query"]
        if query is None and not (value.keywords or value.strong):
            raise ValueError(
                "give rule.keywords (words and phrases per language) or a query (full-text search)"
            )
        if query is not None and (value.keywords or value.strong or value.context or value.negative):
            raise ValueError("give either rule.keywords or a query, not both")
        return value

    @property
    def is_query(self) -> bool:
        return self.query is not None

    @property
    def takes_pages(self) -> bool:
        """Does the topic collect information pages (kind "page")?"""
        return self.include_pages or "page" in self.rule.kinds


class TopicSet(EntrySet[Topic]):
    """All topics of a topics.toml, in file order, with the fingerprint of the file."""

    kind = "topic"

    def __init__(self, path: Path, topics: list[Topic], fingerprint: str):
        super().__init__(path, topics)
        self.fingerprint = fingerprint

    @property
    def topics(self) -> list[Topic]:
        return self.entries


def fingerprint(text: str) -> str:
    """What the classification depends on: the file's content and the matcher's version."""
    return hashlib.sha256(f"classifier {CLASSIFIER_VERSION}\n{text}".encode()).hexdigest()


def load_topics(path: str | Path) -> TopicSet:
    """Load and validate topics.toml; raise ConfigError (one line) on any mistake."""
    topics, text = load_entries(Path(path), "topic", Topic)
    return TopicSet(Path(path), topics, fingerprint(text))


