"""`normalize_article`: every normalisation of this package applied to an extracted Article.

Dates become timezone-aware datetimes chosen among every candidate the page
offers (dates.py's `choose_date`: the selector, htmldate's markup search checked
against the page's structured dates and the date printed by its title, our own
structured dates, the printed date, a yearless dateline
resolved against the page's Last-Modified or fetch time, the listing teaser's date,
htmldate's text search), numeric dates read in the page language's order, URLs
canonical, text clean, the language an ISO 639-1 code, and the countries named in
the text ISO 3166 codes.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pipelines.dedupe import identify
from pipelines.items import Article
from pipelines.normalize.countries import countries_mentioned
from pipelines.normalize.dates import (
    LISTING,
    SELECTOR,
    choose_date,
    date_order_for,
    dateline_date,
)
from pipelines.normalize.language import iso639_1, normalize_language
from pipelines.normalize.text import clean_text, clean_title
from pipelines.normalize.urls import canonical_url
from pipelines.rules import NormalizationRules
from presswatch.http import parse_http_date
from presswatch.text import shorten

if TYPE_CHECKING:  # the worker processes import this module: pydantic stays out of them
    pass

SUMMARY_LENGTH = 300
TITLE_LENGTH = 500  # longer titles are cut (feeds, tables and readers choke on 10,000 characters)


def normalize_article(article: Article, rules: NormalizationRules) -> Article:
    """Normalise every field of ``article`` in place and return it. Pure apart from that."""
    article.title = clean_title(article.title)
    if len(article.title) > TITLE_LENGTH:
        detail = f"title of {len(article.title)} characters cut to {TITLE_LENGTH}"
        article.problems.append(("long_title", detail))
        article.title = shorten(article.title, TITLE_LENGTH)
    article.body = clean_text(article.body)
    article.summary = clean_text(article.summary) or shorten(article.body, SUMMARY_LENGTH)
    if article.author:
        article.author = clean_title(article.author) or None
    article.canonical_url = canonical_url(article.canonical_link or article.url)

    languages = list(rules.date_languages)
    # The page's own language first: its month names and its order of numeric dates.
    page_language = iso639_1(article.declared_language) if article.declared_language else None
    if page_language and page_language not in languages:
        languages.insert(0, page_language)
    page_or_source_language = article.declared_language or (languages[0] if languages else None)
    order = date_order_for(page_or_source_language, rules.date_order)
    candidates = list(article.date_candidates)
    if not candidates and article.date_text:  # an Article built without extract_fields' candidates
        candidates.append((article.date_origin or SELECTOR, article.date_text))
    if article.listing_date:
        candidates.append((LISTING, article.listing_date))

    def dateline() -> datetime | None:
        # A dateline has no year: the page's Last-Modified (or, failing that, the
        # fetch time) is the latest the release can have been published.
        reference = parse_http_date(article.last_modified) or article.fetched
        return dateline_date(article.body, languages, rules.timezone, reference, order)

    choice = choose_date(candidates, languages, rules.timezone, date_order=order,
                         page_offset=article.page_utc_offset, dateline=dateline)
    for unreadable in choice.unreadable:
        detail = f"ignored date {unreadable[:60]!r}: unreadable, before 1950 or in the future"
        article.problems.append(("bad_date", detail))
    article.published = choice.published
    article.date_source = choice.source

    article.language = normalize_language(
        article.declared_language, f"{article.title}\n{article.body}", list(rules.languages)
    )
    mention_languages = [article.language] if article.language else list(rules.languages)
    if "en" not in mention_languages:
        mention_languages.append("en")
    article.countries = countries_mentioned(f"{article.title}\n{article.body}", mention_languages)
    return article


def normalized_and_identified(article: Article, rules: NormalizationRules) -> Article:
    """`normalize_article`, then dedupe's `identify` (uid and content hash): one worker call,
    since hashing the normalised text is CPU work the crawler's event loop need not do."""
    return identify(normalize_article(article, rules), cleaned=True)
