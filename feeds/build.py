"""Atom 1.0 and RSS 2.0 documents from archive rows, with feedgen (pure: no files, no database).

`entry_from_row` turns an ``items`` row into an `Entry` (XML-safe text,
timezone-aware dates); `render_atom` / `render_rss` turn a `FeedSpec` and its
entries into bytes. Nothing here depends on the clock: a feed's own updated
date is its newest entry's, so the same rows always give the same bytes.

Entry ids are the item's canonical URL (also the RSS guid, isPermaLink="true"),
which never changes between runs. Feed ids are tag URIs (``tag:presswatch,2024:
topics/remittances``) that do not depend on where public/ is served.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from presswatch.archive.times import parse_optional_time
from presswatch.http import escape_brackets
from presswatch.text import shorten, strip_xml_invalid

TAG = "tag:presswatch,2024:"
SCHEME_TOPIC = TAG + "topic"
SCHEME_COUNTRY = TAG + "country"
SCHEME_KIND = TAG + "kind"
FEED_AUTHOR = "International Organization for Migration (IOM)"
# The updated date of a feed with no entries yet: fixed, so it stays byte-identical.
EMPTY_FEED_DATE = datetime(2000, 1, 1, tzinfo=UTC)
SUMMARY_CHARS = 400

DC_NS = "http://purl.org/dc/elements/1.1/"
ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"

KIND_LABELS = {
    "press_release": "Press releases",
    "news": "News",
    "story": "Stories",
    "publication": "Publications",
    "page": "Information pages",
}

def base(url: str) -> str:
    """A base URL ending in exactly one slash."""
    return url.rstrip("/") + "/"


@dataclass(frozen=True)
class Category:
    term: str
    scheme: str
    label: str


@dataclass(frozen=True)
class Elsewhere:
    """Another page carrying the same story: a copy or version on another site or in another language."""

    url: str
    language: str | None = None

    @property
    def site(self) -> str:
        return urlsplit(self.url).hostname or self.url

    def label(self) -> str:
        return f"{self.site} ({self.language})" if self.language else self.site


def also_published_text(also: tuple[Elsewhere, ...]) -> str:
    """``Also published at: eca.iom.int (en) https://...; moldova.iom.int (ro) https://...``"""
    return "Also published at: " + "; ".join(f"{other.label()} {other.url}" for other in also)


def also_published_html(also: tuple[Elsewhere, ...]) -> str:
    links = []
    for other in also:
        hreflang = f' hreflang="{html.escape(other.language)}"' if other.language else ""
        links.append(f'<a href="{html.escape(other.url)}"{hreflang}>{html.escape(other.label())}</a>')
    return f"<p>Also published at: {', '.join(links)}</p>"


@dataclass(frozen=True)
class Entry:
    """One feed entry: what the reader gets of an archived item."""

    id: str  # the canonical URL: stable across runs (also the RSS guid)
    title: str
    link: str
    summary: str
    published: datetime  # aware; the page's own offset (first_seen, UTC, when undated)
    updated: datetime  # aware; when the text last changed, else published
    categories: tuple[Category, ...]
    source_id: str
    source_name: str
    language: str | None
    authors: tuple[str, ...]
    kind: str = ""
    # The story's other pages (pipelines/story_index.py): near duplicates, language
    # versions and exact copies on other sites, in a stable order.
    also: tuple[Elsewhere, ...] = ()
    # False for a page with no publication date: its entry carries no published date (Atom
    # <published>, RSS <pubDate>) and says so, rather than claiming the day presswatch saw it.
    dated: bool = True

    @property
    def undated_note(self) -> str:
        return "" if self.dated else f"No publication date; first seen {self.published.date().isoformat()}."

    @property
    def text(self) -> str:
        """The summary as feeds carry it: with the "Also published at" line when there is one,
        and the note of an undated entry."""
        parts = [self.summary, also_published_text(self.also) if self.also else "", self.undated_note]
        return "\n\n".join(part for part in parts if part)

    @property
    def topics(self) -> list[str]:
        return [category.term for category in self.categories if category.scheme == SCHEME_TOPIC]


@dataclass(frozen=True)
class FeedSpec:
    """One feed: where it goes (``path`` without extension) and what it says it is."""

    path: str  # "all", "topics/remittances", "sources/moldova", "countries/md", "kinds/news"
    section: str  # all | topics | sources | countries | kinds
    key: str  # the topic / source / country / kind it selects ("all" for everything)
    title: str
    description: str
    query: str = ""  # "?topic=...": a combination feed made on request (feeds/combined.py)

    @property
    def tag(self) -> str:
        return TAG + self.path + self.query


@dataclass
class Feed:
    spec: FeedSpec
    entries: list[Entry] = field(default_factory=list)

    @property
    def updated(self) -> datetime:
        return feed_updated(self.entries)


def feed_updated(entries: list[Entry]) -> datetime:
    """A feed's own updated date: its newest entry's (never "now")."""
    return max((entry.updated for entry in entries), default=EMPTY_FEED_DATE)


def entry_from_row(
    row: dict[str, Any],
    *,
    topics: Sequence[tuple[str, str]] = (),  # (id, title) of the item's topics, in topics.toml order
    countries: Sequence[tuple[str, str]] = (),  # (code, name)
    source_name: str | None = None,
    kinds: Sequence[str] = (),  # further kinds than the row's own (other members of its story)
    also: tuple[Elsewhere, ...] = (),
    republished: Sequence[str | None] = (),  # publication times of the story's other members
) -> Entry:
    """The feed entry of an ``items`` row (columns as in the archive; ``body`` may be a prefix).

    For a story of several items the row is its canonical item; ``also`` lists the
    other pages, and the entry counts as updated when the last of them appeared."""
    published = parse_optional_time(row.get("published")) or parse_optional_time(row["first_seen"])
    assert published is not None
    updated = parse_optional_time(row.get("updated")) or published
    later = (moment for moment in map(parse_optional_time, republished) if moment)
    updated = max([updated, published, *later])
    url = escape_brackets(strip_xml_invalid(row["url"]))
    title = " ".join(strip_xml_invalid(row.get("title")).split()) or url
    summary = (" ".join(strip_xml_invalid(row.get("summary")).split())
               or shorten(strip_xml_invalid(row.get("body")), SUMMARY_CHARS))
    kind = row.get("kind") or ""
    categories = [Category(topic_id, SCHEME_TOPIC, strip_xml_invalid(label)) for topic_id, label in topics]
    categories += [Category(code, SCHEME_COUNTRY, strip_xml_invalid(name)) for code, name in countries]
    for each in dict.fromkeys([kind, *kinds]):
        if each:
            categories.append(Category(each, SCHEME_KIND, KIND_LABELS.get(each, each)))
    authors = tuple(
        part for part in (" ".join(name.split()) for name in strip_xml_invalid(row.get("author")).split(";"))
        if part
    )
    return Entry(
        id=url,
        title=title,
        link=url,
        summary=summary,
        published=published,
        updated=updated,
        categories=tuple(categories),
        source_id=row["source"],
        source_name=strip_xml_invalid(source_name or row["source"]),
        language=row.get("language") or None,
        authors=authors,
        kind=kind,
        also=tuple(Elsewhere(escape_brackets(strip_xml_invalid(other.url)), other.language)
                   for other in also),
        dated=parse_optional_time(row.get("published")) is not None,
    )


# feedgen extensions for what feedgen itself does not write: per-entry language,
# category labels only in Atom (RSS gets the term), the source feed, dc:creator.


class _AtomFeedExtension(BaseExtension):
    pass


class _AtomEntryExtension(BaseEntryExtension):
    def __init__(self) -> None:
        self.entry: Entry | None = None
        self.source_href = ""

    def extend_atom(self, element):
        entry = self.entry
        assert entry is not None
        if entry.language:
            element.set(XML_LANG, entry.language)
        for link in element.findall("link"):  # feedgen 1.0 drops an entry link's attributes
            if link.get("href") == entry.link:
                link.set("rel", "alternate")
                link.set("type", "text/html")
                if entry.language:
                    link.set("hreflang", entry.language)
        labels = {(category.scheme, category.term): category.label for category in entry.categories}
        for category in element.findall("category"):
            label = labels.get((category.get("scheme"), category.get("term")))
            if label:
                category.set("label", label)
        source = xml_elem("source", element)
        xml_elem("id", source).text = TAG + "sources/" + entry.source_id
        xml_elem("title", source).text = entry.source_name
        xml_elem("link", source, rel="self", type=ATOM_TYPE, href=self.source_href)
        # The story's other pages, machine-readable (the summary says it for people).
        for other in entry.also:
            link = xml_elem("link", element, rel="related", type="text/html", href=other.url,
                            title=other.label())
            if other.language:
                link.set("hreflang", other.language)
        return element


class _RssFeedExtension(BaseExtension):
    def extend_ns(self):
        return {"dc": DC_NS}


class _RssEntryExtension(BaseEntryExtension):
    def __init__(self) -> None:
        self.entry: Entry | None = None
        self.source_href = ""

    def extend_rss(self, element):
        entry = self.entry
        assert entry is not None
        # RSS 2.0 has no updated date: Atom's, as an extension element (readers know it).
        xml_elem(f"{{{ATOM_NS}}}updated", element).text = entry.updated.isoformat()
        for author in entry.authors:
            xml_elem(f"{{{DC_NS}}}creator", element).text = author
        if entry.language:
            xml_elem(f"{{{DC_NS}}}language", element).text = entry.language
        xml_elem("source", element, url=self.source_href).text = entry.source_name
        return element


def _generator(spec: FeedSpec, entries: list[Entry], base_url: str, fmt: str) -> FeedGenerator:
    base_url = base(base_url)
    generator = FeedGenerator()
    if fmt == "atom":
        generator.register_extension("presswatch", _AtomFeedExtension, _AtomEntryExtension,
                                     atom=True, rss=False)
    else:
        generator.register_extension("presswatch", _RssFeedExtension, _RssEntryExtension,
                                     atom=False, rss=True)
    generator.id(spec.tag)
    generator.title(strip_xml_invalid(spec.title))
    description = strip_xml_invalid(spec.description) or strip_xml_invalid(spec.title)
    generator.description(description)  # RSS description
    if fmt == "atom":
        generator.subtitle(description)
    generator.author({"name": FEED_AUTHOR})
    self_type = ATOM_TYPE if fmt == "atom" else RSS_TYPE
    generator.link(href=f"{base_url}{spec.path}.{fmt}{spec.query}", rel="self", type=self_type)
    # RSS's channel link: the last rel=alternate link given.
    generator.link(href=f"{base_url}index.html", rel="alternate", type="text/html")
    generator.generator("presswatch", uri="https://github.com/presswatch/presswatch")
    generator.updated(feed_updated(entries))
    source_ext = "atom" if fmt == "atom" else "rss"
    for entry in entries:  # already newest first: append keeps that order
        item = generator.add_entry(order="append")
        item.guid(entry.id, permalink=True)  # also the Atom id
        item.title(entry.title)
        item.link(href=entry.link, rel="alternate")
        if entry.text:
            if fmt == "atom":
                item.summary(entry.text)  # type text: the XML escaping is all it needs
            else:  # RSS description is HTML
                description = html.escape(entry.summary, quote=False)
                if entry.also or not entry.dated:
                    paragraph = f"<p>{description}</p>" if description else ""
                    description = paragraph + (also_published_html(entry.also) if entry.also else "")
                    description += f"<p>{entry.undated_note}</p>" if not entry.dated else ""
                item.description(description)
        if entry.dated:
            item.published(entry.published)
        item.updated(entry.updated)
        for author in entry.authors:
            item.author({"name": author})
        if entry.categories:  # one call: feedgen redoes its RSS list on every call
            item.category([{"term": cat.term, "scheme": cat.scheme} for cat in entry.categories])
        extension = item.presswatch
        extension.entry = entry
        extension.source_href = f"{base_url}sources/{entry.source_id}.{source_ext}"
    return generator


def render_atom(spec: FeedSpec, entries: list[Entry], base_url: str) -> bytes:
    """The Atom 1.0 document of a feed (RFC 4287)."""
    return _generator(spec, entries, base_url, "atom").atom_str(pretty=True)


def render_rss(spec: FeedSpec, entries: list[Entry], base_url: str) -> bytes:
    """The RSS 2.0 document of a feed."""
    return _generator(spec, entries, base_url, "rss").rss_str(pretty=True)
