"""Extraction: from a page's HTML to raw fields (title, text, date string, ...).

`extract_fields(html, url, rules)` is a pure function of its arguments, testable
on saved pages without a crawl (as web-poet page objects are). trafilatura finds
the main text and metadata; a source's configured selectors override it field
by field. Nothing here interprets values (dates stay strings): that is
normalize.py's job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from lxml import html as lxml_html
from parsel import Selector
from scrapy.exceptions import DropItem

from pipelines import workers
from pipelines.items import Article, FetchedPage
from pipelines.signals import report_problem

logger = logging.getLogger(__name__)

# Block elements whose text is one paragraph when a body comes from a selector.
_BLOCK_TAGS = frozenset({"p", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "dt", "dd", "tr"})

# Structured publication dates, most explicit first. Drupal 9 pages carry
# article:published_time; others schema.org or Dublin Core.
_DATE_META = (
    "meta[property='article:published_time']::attr(content)",
    "meta[itemprop='datePublished']::attr(content)",
    "meta[name='dcterms.date']::attr(content)",
    "meta[name='DC.date.issued']::attr(content)",
    "meta[name='date']::attr(content)",
)

# trafilatura settings: metadata on, comments off, and only reliable (markup)
# date sources. Its "extensive" date search guesses from any number in the page
# (copyright years, "2030 Agenda"): a wrong date is worse than none, since
# datelines and listing dates can still fill the gap.
_TRAFILATURA_OPTIONS: dict[str, Any] = {
    "with_metadata": True,
    "include_comments": False,
    "include_tables": True,
    "deduplicate": False,  # a process-global cache: deduplication happens in SQLite
    "date_extraction_params": {"extensive_search": False, "original_date": True},
}


@dataclass(frozen=True)
class ExtractionRules:
    """The per-source part of extraction: selectors from sources.toml (all optional)."""

    title: str | None = None
    body: str | None = None
    summary: str | None = None
    date: str | None = None
    author: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()  # (name, selector) of extra fields


@dataclass
class ExtractedFields:
    title: str = ""
    body: str = ""
    summary: str = ""
    author: str | None = None
    date_text: str | None = None
    date_origin: str | None = None  # selector | metadata
    declared_language: str | None = None
    canonical_link: str | None = None
    alternates: dict[str, str] = field(default_factory=dict)
    shortlink: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def select(selector: Selector, expression: str) -> list[Selector]:
    """Apply a configured selector: CSS, or XPath when written ``xpath:...``."""
    if expression.startswith("xpath:"):
        return list(selector.xpath(expression[len("xpath:") :]))
    return list(selector.css(expression))


def selected_text(selector: Selector, expression: str) -> str:
    """Text of what a selector matches: attribute/text values as they are, elements as paragraphs."""
    parts: list[str] = []
    for match in select(selector, expression):
        root = match.root
        if isinstance(root, str):
            parts.append(root)
        else:
            parts.append(block_text(match))
    return "\n\n".join(part.strip() for part in parts if part and part.strip())


def block_text(element: Selector) -> str:
    """An element's text, one paragraph per outermost block element (all its text if it has none)."""
    root = element.root
    paragraphs = []
    for node in root.iter():
        if not isinstance(node.tag, str) or node.tag not in _BLOCK_TAGS:
            continue
        # An <li> holding a <p> is one paragraph, not two: skip nested blocks.
        parent = node.getparent()
        nested = False
        while parent is not None and parent is not root:
            if parent.tag in _BLOCK_TAGS:
                nested = True
                break
            parent = parent.getparent()
        if not nested:
            paragraphs.append(" ".join(node.text_content().split()))
    if not paragraphs:
        return " ".join(root.text_content().split())
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


def _first(selector: Selector, expressions: tuple[str, ...]) -> str | None:
    for expression in expressions:
        value = selector.css(expression).get()
        if value and value.strip():
            return value.strip()
    return None


def _same_host(url: str, other: str) -> bool:
    return (urlsplit(url).hostname or "").lower() == (urlsplit(other).hostname or "").lower()


def _paragraphs(text: str | None) -> str:
    """trafilatura's plain text has one block per line; presswatch separates paragraphs by a blank line."""
    if not text:
        return ""
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip())


def extract_fields(html: str, url: str, rules: ExtractionRules = ExtractionRules()) -> ExtractedFields:
    """Extract the raw fields of the page at ``url``. Pure: same input, same output."""
    page = Selector(text=html, base_url=url)
    fields = ExtractedFields()

    fields.declared_language = (
        page.xpath("/html/@lang").get()
        or page.xpath("/html/@xml:lang").get()
        or _first(page, ("meta[http-equiv='content-language']::attr(content)",
                         "meta[property='og:locale']::attr(content)"))
    )
    canonical = page.css("link[rel='canonical']::attr(href)").get()
    if canonical:
        canonical = urljoin(url, canonical.strip())
        fields.canonical_link = canonical if _same_host(canonical, url) else None
    for link in page.css("link[rel='alternate'][hreflang]"):
        language = (link.attrib.get("hreflang") or "").strip()
        href = (link.attrib.get("href") or "").strip()
        if language and href and language != "x-default":
            fields.alternates[language] = urljoin(url, href)
    # The node's short address: language versions of a Drupal node share its number
    # (/node/123, /ro/node/123). Failing that, the node id the article element carries.
    shortlink = page.css("link[rel='shortlink']::attr(href)").get()
    if shortlink and shortlink.strip():
        fields.shortlink = urljoin(url, shortlink.strip())
    else:
        node = page.css("article[data-history-node-id]::attr(data-history-node-id)").get()
        if node and node.strip().isdigit():
            fields.shortlink = urljoin(url, f"/node/{node.strip()}")

    document = _trafilatura(html, url)
    if document is not None:
        fields.title = document.title or ""
        fields.body = _paragraphs(document.text)
        fields.summary = document.description or ""
        fields.author = document.author or None
        if document.date:
            fields.date_text, fields.date_origin = document.date, "metadata"

    # Structured dates with their time and offset beat trafilatura's date-only answer.
    meta_date = _first(page, _DATE_META) or page.css(
        "article time::attr(datetime), main time::attr(datetime)"
    ).get()
    if meta_date:
        fields.date_text, fields.date_origin = meta_date.strip(), "metadata"

    if rules.title:
        fields.title = selected_text(page, rules.title) or fields.title
    if rules.body and select(page, rules.body):
        # The site's body field is there: its text is the body, even when empty
        # (falling back to trafilatura would archive the menus as text).
        fields.body = selected_text(page, rules.body)
    if rules.summary:
        fields.summary = selected_text(page, rules.summary) or fields.summary
    if rules.author:
        fields.author = selected_text(page, rules.author) or fields.author
    if rules.date:
        date_text = selected_text(page, rules.date)
        if date_text:
            fields.date_text, fields.date_origin = date_text, "selector"
    for name, expression in rules.metadata:
        matches = select(page, expression)
        values = [
            urljoin(url, value.strip()) if name.endswith("url") else " ".join(value.split())
            for value in (
                match.root if isinstance(match.root, str) else match.xpath("string()").get("")
                for match in matches
            )
            if value and value.strip()
        ]
        if values:
            fields.metadata[name] = values[0] if len(values) == 1 else values

    # trafilatura keeps the page's <h1> as the first line of the text.
    if fields.title and fields.body.startswith(fields.title):
        fields.body = fields.body[len(fields.title) :].lstrip()
    return fields


def _trafilatura(html: str, url: str) -> Any:
    try:
        tree = lxml_html.fromstring(html)
    except Exception:  # lxml refuses empty or non-HTML documents
        return None
    try:
        return trafilatura.bare_extraction(tree, url=url, **_TRAFILATURA_OPTIONS)
    except Exception:
        # A page trafilatura cannot handle must not stop the crawl: selectors may
        # still find the fields, and the store step rejects what has no title.
        logger.warning("trafilatura failed on %s", url, exc_info=True)
        return None


def rules_for(source: Any) -> ExtractionRules:
    """The extraction rules of a sources.toml source."""
    selectors = source.selectors
    return ExtractionRules(
        title=selectors.title,
        body=selectors.body,
        summary=selectors.summary,
        date=selectors.date,
        author=selectors.author,
        metadata=tuple(sorted(source.metadata.items())),
    )


class ExtractPipeline:
    """FetchedPage -> Article, extraction running in the worker pool."""

    def __init__(self, crawler: Any):
        from presswatch.config.sources import load_sources

        self.crawler = crawler
        self.sources = load_sources(crawler.settings["PRESSWATCH_SOURCES"])
        self.workers = crawler.settings.getint("PRESSWATCH_WORKERS", workers.default_size())

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        workers.acquire(self.workers)

    def close_spider(self) -> None:
        workers.release()

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        source = self.sources.get(item.source)
        try:
            fields = await workers.run(extract_fields, item.html, item.url, rules_for(source))
        except Exception as exc:  # a crash in a worker loses this page only
            report_problem(self.crawler, item.url, "extraction_error", repr(exc))
            raise DropItem(f"extraction failed on {item.url}: {exc!r}") from None
        if not fields.title.strip():
            report_problem(self.crawler, item.url, "no_title", "no title found: not archived")
            raise DropItem(f"no title on {item.url}")
        if not fields.body.strip() and not fields.summary.strip():
            report_problem(self.crawler, item.url, "no_body", "no text found: not archived")
            raise DropItem(f"no text on {item.url}")
        return Article(
            source=item.source,
            url=item.url,
            title=fields.title,
            body=fields.body,
            summary=fields.summary,
            author=fields.author,
            fetched=item.fetched,
            date_text=fields.date_text,
            date_origin=fields.date_origin,
            declared_language=fields.declared_language,
            canonical_link=fields.canonical_link,
            alternates=fields.alternates,
            shortlink=fields.shortlink,
            metadata=fields.metadata,
            etag=item.etag,
            last_modified=item.last_modified,
            listing_date=item.listing_date,
        )
