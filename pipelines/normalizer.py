"""The normalisation step: applies normalize.py's functions to an Article.

Dates become timezone-aware datetimes (metadata or selector first, then a
yearless dateline resolved against the page's Last-Modified or fetch time, then
the listing teaser's date), URLs canonical, text clean, the language an ISO
639-1 code, and the countries named in the text ISO 3166 codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from pipelines import workers
from pipelines.dedupe import identify
from pipelines.items import Article
from pipelines.normalize import (
    canonical_url,
    clean_text,
    clean_title,
    countries_mentioned,
    dateline_date,
    normalize_language,
    parse_date,
)

SUMMARY_LENGTH = 300
TITLE_LENGTH = 500  # longer titles are cut (feeds, tables and readers choke on 10,000 characters)


@dataclass(frozen=True)
class NormalizationRules:
    """The per-source part of normalisation, from sources.toml."""

    languages: tuple[str, ...]
    date_languages: tuple[str, ...]
    timezone: str


def rules_for(source: Any) -> NormalizationRules:
    return NormalizationRules(
        languages=tuple(source.languages),
        date_languages=tuple(source.month_languages),
        timezone=source.timezone,
    )


def shorten(text: str, limit: int = SUMMARY_LENGTH) -> str:
    """The first paragraph, cut at a word boundary to ``limit`` characters."""
    first = text.split("\n\n", 1)[0].strip()
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"


def _http_date(value: str | None) -> Any:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def normalize_article(article: Article, rules: NormalizationRules) -> Article:
    """Normalise every field of ``article`` in place and return it. Pure apart from that."""
    article.title = clean_title(article.title)
    if len(article.title) > TITLE_LENGTH:
        detail = f"title of {len(article.title)} characters cut to {TITLE_LENGTH}"
        article.problems.append(("long_title", detail))
        article.title = shorten(article.title, TITLE_LENGTH)
    article.body = clean_text(article.body)
    article.summary = clean_text(article.summary) or shorten(article.body)
    if article.author:
        article.author = clean_title(article.author) or None
    article.canonical_url = canonical_url(article.canonical_link or article.url)

    languages = list(rules.date_languages)
    published, date_source = None, None
    if article.date_text:
        published = parse_date(article.date_text, languages, rules.timezone)
        date_source = article.date_origin
        if published is None:
            detail = f"ignored date {article.date_text[:60]!r}: unreadable, before 1950 or in the future"
            article.problems.append(("bad_date", detail))
    if published is None:
        # A dateline has no year: the page's Last-Modified (or, failing that, the
        # fetch time) is the latest the release can have been published.
        reference = _http_date(article.last_modified) or article.fetched
        published = dateline_date(article.body, languages, rules.timezone, reference)
        date_source = "dateline"
    if published is None and article.listing_date:
        published = parse_date(article.listing_date, languages, rules.timezone)
        date_source = "listing"
    article.published = published
    article.date_source = date_source if published is not None else None

    article.language = normalize_language(
        article.declared_language, f"{article.title}\n{article.body}", list(rules.languages)
    )
    mention_languages = [article.language] if article.language else list(rules.languages)
    if "en" not in mention_languages:
        mention_languages.append("en")
    article.countries = countries_mentioned(f"{article.title}\n{article.body}", mention_languages)
    return article


class NormalizePipeline:
    """Article -> normalised Article, in the worker pool (dateparser and the country matcher cost CPU)."""

    def __init__(self, crawler: Any):
        from presswatch.config.sources import load_sources

        self.crawler = crawler
        self.sources = load_sources(crawler.settings["PRESSWATCH_SOURCES"])

    @classmethod
    def from_crawler(cls, crawler: Any) -> NormalizePipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        return await workers.run(normalized_and_identified, item, rules_for(self.sources.get(item.source)))


def normalized_and_identified(article: Article, rules: NormalizationRules) -> Article:
    """`normalize_article`, then dedupe's `identify` (uid and content hash) in the same worker
    call: hashing the normalised text is CPU work the crawler's event loop need not do."""
    return identify(normalize_article(article, rules))
