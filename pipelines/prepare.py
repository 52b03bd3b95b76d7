"""From a fetched page to a normalised, identified Article: the workers' whole step for a page.

`prepare_article` is what ExtractPipeline hands to the worker pool: extraction
(pipelines/extract.py), the checks that decide whether the page is archived at
all, normalisation and identification (pipelines/normalize, pipelines/dedupe).
One worker call per page instead of one per stage: each call costs the crawl's
event loop a pickling, a hand-over and a wake-up, and the page would cross the
process boundary twice. Pure: no Scrapy, no archive; what the stage must report
comes back as data.
"""

from __future__ import annotations

from typing import Any

from pipelines import neardup
from pipelines.dedupe import identify
from pipelines.extract import ExtractedFields, extract_fields
from pipelines.items import Article, FetchedPage, Prepared
from pipelines.normalize.article import normalize_article
from pipelines.rules import DerivedRules, ExtractionRules, NormalizationRules
from pipelines.topics import classified_view, topics_in_worker
from presswatch.archive.outcomes import Problem

MAX_DATE_CHARS = 200  # the longest date string handed to date parsing


def prepare_article(page: FetchedPage, extraction: ExtractionRules,
                    normalization: NormalizationRules | None = None,
                    derived: DerivedRules | None = None) -> Prepared:
    """Extract ``page``; if it is to be archived, build its Article and, given ``normalization``,
    normalise and identify it (``article.normalized``), then, given ``derived``, fingerprint and
    score it (``article.fingerprint``, ``article.topic_scores``)."""
    fields = extract_fields(page.html, page.url, extraction, page.listing_title)
    # Why a page could not be read (lxml, trafilatura): reported whatever happens to it next.
    prepared = Prepared(None, list(fields.problems))
    # No text is the cause when there is neither: a page with text always has a title
    # (extract_fields falls back to the teaser's or the URL's words).
    if not fields.body.strip() and not fields.summary.strip():
        prepared.dropped = (Problem.NO_BODY, "no text found: not archived")
        return prepared
    if not fields.title.strip():
        prepared.dropped = (Problem.NO_TITLE, "no title found: not archived")
        return prepared
    article = article_from(page, fields, prepared.problems)
    if normalization is not None:
        identify(normalize_article(article, normalization), cleaned=True)
        article.normalized = True
        if derived is not None:
            derive(article, derived)
    prepared.article = article
    return prepared


def derive(article: Article, rules: DerivedRules) -> None:
    """The fingerprint and topic scores of a normalised article (see `DerivedRules`)."""
    if rules.boilerplate is not None:
        article.fingerprint = neardup.fingerprint(article.body, rules.boilerplate)
    if rules.topics_path is not None:
        record: dict[str, Any] = {
            "source": article.source, "kind": rules.kind, "region": rules.region, "country": rules.country,
            "language": article.language, "title": article.title, "summary": article.summary,
            "body": article.body, "countries": article.countries,
        }
        scores = topics_in_worker(rules.topics_path, rules.topics_fingerprint, record, frozenset())
        if scores is not None:
            article.topic_scores = (rules.topics_fingerprint, classified_view(record), scores)


def article_from(page: FetchedPage, fields: ExtractedFields, problems: list[tuple[str, str]]) -> Article:
    """The Article of an extracted page, with date strings too long to be a date left out (issue 21:
    dateparser spent 12 s of CPU on a 400 KB one); each left out is added to ``problems``."""

    def short(text: str | None) -> bool:
        if text is None or len(text) <= MAX_DATE_CHARS:
            return True
        problems.append((Problem.BAD_DATE,
                         f"ignored a date string of {len(text)} characters (over {MAX_DATE_CHARS})"))
        return False

    return Article(
        source=page.source,
        url=page.url,
        title=fields.title,
        body=fields.body,
        summary=fields.summary,
        author=fields.author,
        fetched=page.fetched,
        date_text=fields.date_text if short(fields.date_text) else None,
        date_origin=fields.date_origin,
        date_candidates=[(origin, text) for origin, text in fields.date_candidates
                         if len(text) <= MAX_DATE_CHARS],
        page_utc_offset=fields.page_utc_offset,
        title_source=fields.title_source,
        declared_language=fields.declared_language,
        canonical_link=fields.canonical_link,
        alternates=fields.alternates,
        shortlink=fields.shortlink,
        metadata=fields.metadata,
        etag=page.etag,
        last_modified=page.last_modified,
        listing_date=page.listing_date if short(page.listing_date) else None,
    )
