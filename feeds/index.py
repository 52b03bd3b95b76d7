"""The HTML index page of public/: every feed with a subscribe link, the latest items per topic.

Rendered with Jinja2 with autoescaping on, so titles taken from pages stay text;
item links are written only when they are http(s) URLs. Links to the feeds are
relative, so the page works wherever public/ is served. A small form builds the
URL of a feed by combination (``feed.atom?topic=...&country=...``), which
`presswatch serve` answers (feeds/combined.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from feeds.build import Entry, Feed, FeedSpec
from feeds.opml import SECTION_TITLES, opml_name
from presswatch.text import fold

TEMPLATES = Path(__file__).resolve().parent / "templates"
LATEST_PER_TOPIC = 5
LATEST_OVERALL = 10


def http_url(value: str) -> str:
    """``value`` if it is an http(s) URL, else "#": no javascript: or data: links from page data."""
    text = (value or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else "#"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["http_url"] = http_url
    return env


def country_short_name(code: str, official: str) -> str:
    """A country's English short name (CLDR: "Congo - Kinshasa", "Moldova", "Russia"), not the
    ISO official one ("Congo, The Democratic Republic of the"); ``official`` when CLDR has none."""
    return _ENGLISH.territories.get(code.upper(), official)


_ENGLISH = Locale("en")


@dataclass
class _Row:
    spec: FeedSpec
    count_label: str
    latest: list[Entry]
    topic_title: str = ""
    name: str = ""  # as listed: the feed's title, a country's short name

    @property
    def anchor(self) -> str:
        return self.spec.path.replace("/", "-")


def _label(count: int, limit: int) -> str:
    """A feed's size in entries (an entry is a story: one item with its copies and translations)."""
    if count >= limit:
        return f"newest {limit} entries"
    return f"{count} entr" + ("y" if count == 1 else "ies")


def render_index(feeds: list[Feed], *, limit: int, topic_titles: dict[str, str]) -> bytes:
    """index.html for ``feeds`` (as collect_feeds returns them)."""
    everything = None
    topics: list[_Row] = []
    sections: dict[str, list[_Row]] = {}
    for feed in feeds:
        section = feed.spec.section
        row = _Row(feed.spec, _label(len(feed.entries), limit), [], name=feed.spec.title)
        if section == "countries":
            row.name = country_short_name(feed.spec.key, feed.spec.title)
        if section == "all":
            row.latest = feed.entries[:LATEST_OVERALL]
            everything = row
        elif section == "topics":
            row.latest = feed.entries[:LATEST_PER_TOPIC]
            row.topic_title = topic_titles.get(feed.spec.key, feed.spec.title)
            topics.append(row)
        else:
            sections.setdefault(section, []).append(row)
    assert everything is not None, "collect_feeds always gives the 'all' feed"
    if "countries" in sections:  # by name, as people look for them
        sections["countries"].sort(key=lambda row: fold(row.name))
    template = _environment().get_template("index.html.j2")
    choices = {section: [(row.spec.key, row.name.removeprefix("IOM: ").removeprefix("IOM source: "))
                         for row in rows] for section, rows in sections.items()}
    page = template.render(
        choices={"topic": [(row.spec.key, row.topic_title) for row in topics],
                 "country": choices.get("countries", []), "source": choices.get("sources", []),
                 "kind": choices.get("kinds", [])},
        everything=everything,
        topics=topics,
        sections=[
            {"id": key, "title": SECTION_TITLES.get(key, key), "feeds": rows}
            for key, rows in sections.items()
        ],
        limit=limit,
        opml={"atom": opml_name("atom"), "rss": opml_name("rss")},
    )
    return page.encode("utf-8")
