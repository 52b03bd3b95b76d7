"""ExtractPipeline: FetchedPage -> Article, `extract_fields` running in the worker pool."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from pipelines import workers
from pipelines.extract import extract_fields, extraction_rules
from pipelines.items import Article, FetchedPage
from pipelines.signals import report_problem
from pipelines.stages.config import crawl_config
from presswatch.archive.outcomes import Problem

MAX_DATE_CHARS = 200  # the longest date string handed to date parsing


class ExtractPipeline:
    """FetchedPage -> Article; pages without a title or any text are dropped (and reported)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.sources = crawl_config(crawler).sources
        self.workers = crawler.settings.getint("PRESSWATCH_WORKERS", workers.default_size())
        self.step_seconds = crawler.settings.getfloat("PRESSWATCH_STEP_SECONDS", workers.DEFAULT_STEP_SECONDS)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        workers.acquire(self.workers, self.step_seconds)

    def close_spider(self) -> None:
        workers.release()

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        source = self.sources.get(item.source)
        try:
            fields = await workers.run(
                extract_fields, item.html, item.url, extraction_rules(source), item.listing_title
            )
        except workers.TooSlow as exc:  # a pathological page: its worker was replaced
            report_problem(self.crawler, item.url, Problem.TOO_SLOW, f"extraction {exc}")
            raise DropItem(f"extraction too slow on {item.url}") from None
        except Exception as exc:  # a crash in a worker loses this page only
            report_problem(self.crawler, item.url, Problem.EXTRACTION_ERROR, repr(exc))
            raise DropItem(f"extraction failed on {item.url}: {exc!r}") from None
        # Why a page could not be read (lxml, trafilatura): in the crawl log and the
        # archive's problems, whatever happens to the page next.
        for problem, detail in fields.problems:
            report_problem(self.crawler, item.url, problem, detail)
        # No text is the cause when there is neither: a page with text always has a title
        # (extract_fields falls back to the teaser's or the URL's words).
        if not fields.body.strip() and not fields.summary.strip():
            report_problem(self.crawler, item.url, Problem.NO_BODY, "no text found: not archived")
            raise DropItem(f"no text on {item.url}")
        if not fields.title.strip():
            report_problem(self.crawler, item.url, Problem.NO_TITLE, "no title found: not archived")
            raise DropItem(f"no title on {item.url}")
        date_text, date_candidates, listing_date = self._bounded_dates(item, fields)
        return Article(
            source=item.source,
            url=item.url,
            title=fields.title,
            body=fields.body,
            summary=fields.summary,
            author=fields.author,
            fetched=item.fetched,
            date_text=date_text,
            date_origin=fields.date_origin,
            date_candidates=date_candidates,
            page_utc_offset=fields.page_utc_offset,
            title_source=fields.title_source,
            declared_language=fields.declared_language,
            canonical_link=fields.canonical_link,
            alternates=fields.alternates,
            shortlink=fields.shortlink,
            metadata=fields.metadata,
            etag=item.etag,
            last_modified=item.last_modified,
            listing_date=listing_date,
        )

    def _bounded_dates(self, item: FetchedPage,
                       fields: Any) -> tuple[str | None, list[tuple[str, str]], str | None]:
        """The page's date strings, less those too long to be a date (issue 21: dateparser spent
        12 s of CPU on a 400 KB one); each left out is reported."""
        def short(text: str | None) -> bool:
            if text is None or len(text) <= MAX_DATE_CHARS:
                return True
            report_problem(self.crawler, item.url, Problem.BAD_DATE,
                           f"ignored a date string of {len(text)} characters (over {MAX_DATE_CHARS})")
            return False

        date_text = fields.date_text if short(fields.date_text) else None
        candidates = [(origin, text) for origin, text in fields.date_candidates
                      if len(text) <= MAX_DATE_CHARS]
        listing_date = item.listing_date if short(item.listing_date) else None
        return date_text, candidates, listing_date
