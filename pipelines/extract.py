"""Extraction: from a page's HTML to raw fields (title, text, date string, ...).

`extract_fields(html, url, rules)` is a pure function of its arguments, testable
on saved pages without a crawl (as web-poet page objects are). The page is parsed
once, as trafilatura's own loader does (encoding declarations, comments and
control characters that would cut the text short are dealt with), and that one
tree serves the configured selectors, the page's links, the metadata, trafilatura
and htmldate. Selectors first (issue 19): when a source's title and body selectors
find the page's title and body, trafilatura's main-text extraction is not run, and
summary, author and htmldate's date come from `page_metadata`, trafilatura's own
metadata step less what presswatch throws away. Otherwise trafilatura finds the
main text and `page_metadata` the rest, as bare_extraction with metadata would;
the configured selectors override them field by field. A page with text never
goes without a title: og:title, twitter:title, the
first heading, the listing teaser's title or the URL's slug stand in, and
`title_source` says which. Nothing here interprets values (dates stay strings, as
candidates with their origin): that is pipelines/normalize's job. ExtractPipeline
(pipelines/stages/extract.py) runs it in the worker pool.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date
from html import unescape
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit

import trafilatura
from htmldate import find_date
from lxml.etree import XPath
from lxml.html import HtmlElement
from parsel import Selector
from parsel.csstranslator import css2xpath
from trafilatura.metadata import examine_meta, extract_author, extract_meta_json, extract_title, extract_url
from trafilatura.settings import Document
from trafilatura.utils import fromstring_bytes, load_html, repair_faulty_html

from pipelines.normalize.dates import (
    BYLINE,
    EXTENSIVE,
    HTMLDATE,
    LISTING,
    METADATA,
    SELECTOR,
    date_written,
    is_utc_timestamp,
    page_utc_offset,
)
from pipelines.rules import NO_RULES, ExtractionRules
from pipelines.selectors import matches_text, select, selected_text

if TYPE_CHECKING:  # the worker processes import this module: pydantic stays out of them
    pass

logger = logging.getLogger(__name__)


# Structured publication dates, most explicit first. Drupal 9 pages carry
# article:published_time; others schema.org, Open Graph variants or Dublin Core.
_DATE_META = (
    "meta[property='article:published_time']::attr(content)",
    "meta[property='og:published_time']::attr(content)",
    "meta[itemprop='datePublished']::attr(content)",
    "[itemprop='datePublished']::attr(datetime)",
    "meta[name='dcterms.date']::attr(content)",
    "meta[name='DC.date.issued']::attr(content)",
    "meta[name='date']::attr(content)",
    "article time::attr(datetime)",
    "main time::attr(datetime)",
)
_JSON_LD_PUBLISHED = re.compile(r'"datePublished"\s*:\s*"([^"]{6,40})"')
_HEADINGS = ("h1", "h2")
# A full date as printed beside a title: 03.02.2022, 3/2/2022, 2022-02-03, 3. Februar 2022,
# 3 février 2022, November 8, 2023 (parsed later in the page's language and order).
_PRINTED_DATE = re.compile(
    r"(?<!\d)\d{1,2}[./]\s?\d{1,2}[./]\s?\d{4}(?!\d)|(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)"
    r"|(?<!\d)\d{1,2}\.?\s+[^\W\d_]{3,12}\.?\s+\d{4}(?!\d)"
    r"|[^\W\d_]{3,12}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}(?!\d)"
)
_BYLINE_BEFORE, _BYLINE_AFTER = 150, 250  # characters of text looked at around the title
_BYLINE_LINE = 100  # a longer text is a sentence of the article, not a byline
_SLUG_WORDS = re.compile(r"[-_+.\s]+")
_SLUG_EXTENSION = re.compile(r"\.(?:s?html?|php|aspx?|jsp)$", re.IGNORECASE)

# trafilatura settings: metadata on, comments off. Its date (htmldate's markup
# search) is one candidate among others; htmldate's "extensive" search of the free
# text guesses from any number in the page (copyright years, "2030 Agenda"), so it
# runs only when the markup has no date, and ranks below datelines and listings.
_DATE_PARAMS: dict[str, Any] = {"extensive_search": False, "original_date": True}
_TRAFILATURA_OPTIONS: dict[str, Any] = {
    "with_metadata": True,
    "include_comments": False,
    "include_tables": True,
    "deduplicate": False,  # a process-global cache: deduplication happens in SQLite
    "date_extraction_params": _DATE_PARAMS,
}
# The same, main text only: the metadata presswatch keeps comes from `page_metadata`.
_TEXT_OPTIONS: dict[str, Any] = {**_TRAFILATURA_OPTIONS, "with_metadata": False}

# Whether trafilatura's extract_author can find anything on a page: every element its
# AUTHOR_XPATHS (trafilatura/xpaths.py) match is an <author>, has a child <rel> (their
# `rel='me'`), or has one of these attributes holding one of these words, in some case
# ('author' covers author-?name, AuthorCard, [Aa]uthor; 'byl' covers byl, byline, Byline).
# Pruning (AUTHOR_DISCARD_XPATHS) only removes nodes: where none is there, extract_author
# returns None, and its deep copy and EXSLT regular expressions (evaluated in Python:
# 6 ms of a 53 KB page) are spared. Looked for in the tree, not the HTML: entities decoded.
_AUTHOR_ELEMENTS = XPath("boolean(//author | //rel)")
_AUTHOR_ATTRIBUTES = XPath("//@class | //@id | //@rel | //@itemprop | //@data-testid | //@data-component",
                           smart_strings=False)
_AUTHOR_WORDS = re.compile("author|byl|bbl|username|screenname|writer|channel-name|zuozhe|bianji|xiaobian"
                           "|submitted-by|posted-by|journalist-name")


@dataclass
class ExtractedFields:
    title: str = ""
    body: str = ""
    summary: str = ""
    author: str | None = None
    # Where the title came from: trafilatura | selector | og:title | twitter:title | heading | listing | url
    title_source: str | None = None
    date_text: str | None = None  # the first structured (or selector) date, as written
    date_origin: str | None = None  # selector | metadata
    # Every date the page offers, (origin, text), origins of pipelines/normalize/dates.py;
    # normalisation parses them with the page's language and picks one.
    date_candidates: list[tuple[str, str]] = field(default_factory=list)
    page_utc_offset: str | None = None  # "-05:00": the offset the page's own timestamps carry
    declared_language: str | None = None
    canonical_link: str | None = None
    alternates: dict[str, str] = field(default_factory=dict)
    shortlink: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (problem, detail): parse_error


def parse_html(html: str) -> HtmlElement | None:
    """The page's tree, parsed as trafilatura's own loader parses it: a text with an
    XML encoding declaration is parsed as bytes, comments (React's `<!-- -->` inside
    paragraphs) and processing instructions are dropped, characters XML forbids
    removed. None when it is no HTML at all."""
    tree = load_html(html)
    if tree is None and "<" in html:
        # trafilatura refuses a one-block document that does not open with <html>
        # (a comment or a bare <div> first): a page nonetheless, parsed the same way.
        tree = fromstring_bytes(repair_faulty_html(html, html[:50].lower()))
    return tree


def _same_host(url: str, other: str) -> bool:
    return (urlsplit(url).hostname or "").lower() == (urlsplit(other).hostname or "").lower()


def _paragraphs(text: str | None) -> str:
    """trafilatura's plain text has one block per line; presswatch separates paragraphs by a blank line."""
    if not text:
        return ""
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip())


def extract_fields(
    html: str, url: str, rules: ExtractionRules = NO_RULES, listing_title: str | None = None
) -> ExtractedFields:
    """Extract the raw fields of the page at ``url``. Pure: same input, same output.

    ``listing_title`` is the title the listing's teaser gave the page (a fallback).
    """
    fields = ExtractedFields()
    try:
        tree = parse_html(html)
    except Exception as exc:  # lxml's own refusals: record why, extract nothing
        tree = None
        fields.problems.append(("parse_error", f"{type(exc).__name__}: {exc}"[:200]))
    if tree is None:
        if not fields.problems:
            fields.problems.append(("parse_error", "not an HTML document"))
        return fields
    page = Selector(root=tree, type="html", base_url=url)

    _page_links(tree, url, fields)
    meta_dates = _structured_dates(tree)
    if any(is_utc_timestamp(text) for text in meta_dates):  # only then is the page's own offset needed
        fields.page_utc_offset = page_utc_offset(html)

    selected_title = selected_text(page, rules.title) if rules.title else ""
    body_matches = select(page, rules.body) if rules.body else []
    if selected_title and body_matches:
        # Selectors first: the source's title and body are there, trafilatura's main
        # text would be thrown away. Its metadata step alone gives the other fields.
        document = _metadata_document(tree, url, fields, with_title=False)
    else:
        document = _trafilatura_document(tree, url, fields)
    if document is not None:
        fields.title = document.title or ""
        fields.title_source = "trafilatura" if fields.title else None
        fields.body = _paragraphs(document.text)
        fields.summary = document.description or ""
        fields.author = document.author or None

    if selected_title:
        fields.title, fields.title_source = selected_title, "selector"
    if body_matches:
        # The site's body field is there: its text is the body, even when empty
        # (falling back to trafilatura would archive the menus as text).
        fields.body = matches_text(body_matches)
    if rules.summary:
        fields.summary = selected_text(page, rules.summary) or fields.summary
    if rules.author:
        fields.author = selected_text(page, rules.author) or fields.author
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

    # Dates: every candidate with its origin, most trusted first.
    candidates: list[tuple[str, str]] = []
    if rules.date and (date_text := selected_text(page, rules.date)):
        candidates.append((SELECTOR, date_text))
    candidates += [(METADATA, text) for text in meta_dates]
    if printed := _byline_date(tree):
        candidates.append((BYLINE, printed))
    htmldate_day = document.date if document is not None else _htmldate(tree, url, extensive=False)
    if htmldate_day:
        candidates.append((HTMLDATE, htmldate_day))
    elif (
        rules.text_search_date
        and (extensive_day := _htmldate(tree, url, extensive=True))
        and _written(extensive_day, html)
    ):
        # Only a day the page writes out: htmldate fills "June 2010" in as 1 June.
        candidates.append((EXTENSIVE, extensive_day))
    fields.date_candidates = candidates
    stated = next(((origin, text) for origin, text in candidates if origin in (SELECTOR, METADATA)), None)
    if stated is not None:
        fields.date_origin, fields.date_text = stated

    if not fields.title.strip() and _has_words(fields.body + fields.summary):
        fields.title, fields.title_source = _fallback_title(page, url, listing_title)
    # trafilatura keeps the page's <h1> as the first line of the text: drop that line
    # (only a whole line: "Lorem ipsum" does not cut "Lorem ipsum dolor sit amet, ...").
    first_paragraph, _, rest = fields.body.partition("\n\n")
    if fields.title and first_paragraph.strip() == fields.title.strip():
        fields.body = rest.lstrip()
    return fields


def _css(expression: str) -> XPath:
    """A CSS selector (with parsel's ::text and ::attr(x)) compiled once: parsel's ``Selector.css``
    would translate and compile it again on every page."""
    return XPath(css2xpath(expression), smart_strings=False)


_HTML_LANG = XPath("/html/@lang", smart_strings=False)
_HTML_XML_LANG = XPath("/html/@xml:lang", smart_strings=False)
_DECLARED_LANGUAGE = (_css("meta[http-equiv='content-language']::attr(content)"),
                      _css("meta[property='og:locale']::attr(content)"))
_CANONICAL = _css("link[rel='canonical']::attr(href)")
_ALTERNATES = _css("link[rel='alternate'][hreflang]")
_SHORTLINK = _css("link[rel='shortlink']::attr(href)")
_NODE_ID = _css("article[data-history-node-id]::attr(data-history-node-id)")
_DATE_META_XPATHS = tuple(_css(expression) for expression in _DATE_META)
_JSON_LD_SCRIPTS = _css("script[type='application/ld+json']::text")


def _first_of(tree: HtmlElement, expression: XPath) -> Any:
    """The first result of ``expression`` (as parsel's ``.get()``), None when there is none."""
    results = expression(tree)
    return results[0] if results else None


def _page_links(tree: HtmlElement, url: str, fields: ExtractedFields) -> None:
    """Language, canonical link, language versions and short link of the page."""
    language = _first_of(tree, _HTML_LANG) or _first_of(tree, _HTML_XML_LANG)
    for expression in _DECLARED_LANGUAGE:
        if language:
            break
        value = _first_of(tree, expression)
        language = value.strip() if value and value.strip() else None
    fields.declared_language = language
    canonical = _first_of(tree, _CANONICAL)
    if canonical:
        canonical = urljoin(url, canonical.strip())
        fields.canonical_link = canonical if _same_host(canonical, url) else None
    for link in _ALTERNATES(tree):
        language = (link.attrib.get("hreflang") or "").strip()
        href = (link.attrib.get("href") or "").strip()
        if language and href and language != "x-default":
            fields.alternates[language] = urljoin(url, href)
    # The node's short address: language versions of a Drupal node share its number
    # (/node/123, /ro/node/123). Failing that, the node id the article element carries.
    shortlink = _first_of(tree, _SHORTLINK)
    if shortlink and shortlink.strip():
        fields.shortlink = urljoin(url, shortlink.strip())
    else:
        node = _first_of(tree, _NODE_ID)
        if node and node.strip().isdigit():
            fields.shortlink = urljoin(url, f"/node/{node.strip()}")


def _structured_dates(tree: HtmlElement) -> list[str]:
    """The publication dates the page's markup states (meta tags, JSON-LD, <time>), in order."""
    dates: list[str] = []
    for expression in _DATE_META_XPATHS:
        for value in expression(tree):
            if value.strip() and value.strip() not in dates:
                dates.append(value.strip())
    for script in _JSON_LD_SCRIPTS(tree):
        for value in _JSON_LD_PUBLISHED.findall(script):
            value = value.replace("\\/", "/")  # JSON's escaped slashes
            if value.strip() and value.strip() not in dates:
                dates.append(value.strip())
    return dates


def _byline_date(tree: HtmlElement) -> str | None:
    """The first full date printed in a short line next to the page's <h1> (a byline, a
    "Datum:" line; not a sentence of the text), after the title first, then before it;
    as written."""
    headings = tree.xpath("//h1")
    if not headings:
        return None
    heading = headings[0]
    block = heading.getparent()
    for _ in range(3):  # the heading's block, then up to two blocks out
        if block is None:
            return None
        before: list[str] = []
        after: list[str] = []
        passed = False
        for node in block.xpath(".//text()"):
            parent = node.getparent()
            if parent is not None and not (node.is_tail and parent is heading) and (
                parent is heading or heading in parent.iterancestors()
            ):
                passed = True  # the title's own text
                continue
            if text := " ".join(node.split()):
                (after if passed else before).append(text)
        for lines, budget in ((after, _BYLINE_AFTER), (before[::-1], _BYLINE_BEFORE)):
            for line in lines:
                if budget <= 0:
                    break
                budget -= len(line)
                if len(line) <= _BYLINE_LINE and (found := _PRINTED_DATE.search(line)):
                    return found.group(0)
        block = block.getparent()
    return None


def _has_words(text: str) -> bool:
    return any(char.isalnum() for char in text)


def _fallback_title(page: Selector, url: str, listing_title: str | None) -> tuple[str, str | None]:
    """A title for a page with text but none trafilatura or a selector found, and where from."""
    for name, expression in (("og:title", "meta[property='og:title']::attr(content)"),
                             ("twitter:title", "meta[name='twitter:title']::attr(content)")):
        value = " ".join((page.css(expression).get() or "").split())
        if value:
            return value, name
    for heading in _HEADINGS:
        value = " ".join(page.css(heading).xpath("string()").get("").split())
        if value:
            return value, "heading"
    if listing_title and listing_title.strip():
        return " ".join(listing_title.split()), LISTING
    slug = _slug_title(url)
    return (slug, "url") if slug else ("", None)


def _slug_title(url: str) -> str:
    """"Reordering paragraphs" from .../reordering-paragraphs/ (the last path segment's words);
    a home page's host name."""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment.strip()]
    if not segments:
        return parts.hostname or ""
    words = _SLUG_WORDS.sub(" ", _SLUG_EXTENSION.sub("", unquote(segments[-1]))).strip()
    return words[:1].upper() + words[1:]


def page_metadata(tree: HtmlElement, url: str, with_title: bool = True) -> Document:
    """What trafilatura.metadata.extract_metadata gives for the fields presswatch keeps (title,
    description, author, url, date), with its own functions in its order, the same on every page;
    without the sitename, categories, tags and license, which presswatch throws away, and with
    extract_author run only where it can find something. ``with_title=False`` leaves the title
    to examine_meta and JSON-LD (the caller has its own). Raises what extract_metadata raises."""
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None  # as extract_metadata: a one-word author is a handle
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception as exc:  # as extract_metadata: bugs in trafilatura's json_metadata.py
        logger.debug("trafilatura's JSON-LD metadata failed on %s: %s", url, exc)
    if with_title and not metadata.title:
        metadata.title = extract_title(tree)
    if not metadata.author and _may_name_an_author(tree):
        metadata.author = extract_author(tree)
    if not metadata.url:
        metadata.url = extract_url(tree, url)
    metadata.date = find_date(tree, **_DATE_PARAMS, url=metadata.url)
    metadata.clean_and_trim()
    return metadata


def _may_name_an_author(tree: HtmlElement) -> bool:
    """Can trafilatura's extract_author find an author in ``tree`` (see _AUTHOR_WORDS)?"""
    if _AUTHOR_ELEMENTS(tree):
        return True
    return _AUTHOR_WORDS.search(" ".join(_AUTHOR_ATTRIBUTES(tree)).lower()) is not None


def _metadata_document(tree: HtmlElement, url: str, fields: ExtractedFields, with_title: bool) -> Any:
    """`page_metadata`, failing as bare_extraction fails when its metadata step does: None, and a
    recorded problem unless it is one of the errors trafilatura treats as "no document"."""
    try:
        return page_metadata(tree, url, with_title)
    except (TypeError, ValueError):
        logger.warning("trafilatura's metadata failed on %s", url, exc_info=True)
        return None
    except Exception as exc:
        logger.warning("trafilatura failed on %s", url, exc_info=True)
        fields.problems.append(("parse_error", f"trafilatura: {type(exc).__name__}: {exc}"[:200]))
        return None


def _trafilatura_document(tree: HtmlElement, url: str, fields: ExtractedFields) -> Any:
    """What bare_extraction with presswatch's options gives, in its order: the metadata
    (`page_metadata`), then trafilatura's main text alone; None when either fails or the
    page has too little text."""
    metadata = _metadata_document(tree, url, fields, with_title=True)
    if metadata is None:
        return None
    try:
        # trafilatura works on its own copy: the tree stays whole for the selectors.
        document: Any = trafilatura.bare_extraction(tree, url=url, **_TEXT_OPTIONS)
    except Exception as exc:
        logger.warning("trafilatura failed on %s", url, exc_info=True)
        fields.problems.append(("parse_error", f"trafilatura: {type(exc).__name__}: {exc}"[:200]))
        return None
    if document is None:  # too little text: no document, its metadata neither
        return None
    metadata.text = document.text
    return metadata


def _trafilatura(page: HtmlElement | str, url: str, fields: ExtractedFields | None = None) -> Any:
    """trafilatura's whole document for the page (a tree, or HTML it parses itself), its main text
    and metadata as presswatch configures it; None when it fails. extract_fields no longer runs
    it (see `_trafilatura_document`): it is bench/extract_bound's "trafilatura alone"."""
    try:
        # trafilatura works on its own copy: the tree stays whole for the selectors.
        return trafilatura.bare_extraction(page, url=url, **_TRAFILATURA_OPTIONS)
    except Exception as exc:
        # A page trafilatura cannot handle must not stop the crawl: selectors may
        # still find the fields. The cause is recorded with the page.
        logger.warning("trafilatura failed on %s", url, exc_info=True)
        if fields is not None:
            fields.problems.append(("parse_error", f"trafilatura: {type(exc).__name__}: {exc}"[:200]))
        return None


def _written(day: str, html: str) -> bool:
    try:
        # Entities unescaped: "8. M&auml;rz 2012" is written out too.
        return date_written(date.fromisoformat(day[:10]), unescape(html))
    except ValueError:
        return False


def _htmldate(tree: HtmlElement, url: str, extensive: bool) -> str | None:
    try:
        return find_date(tree, url=url, extensive_search=extensive, original_date=True)
    except Exception:  # htmldate's own failure: no date from it
        logger.debug("htmldate failed on %s", url, exc_info=True)
        return None
