"""OPML 2.0 subscription lists: every feed with its title, grouped by section.

Feed readers import the file and subscribe to every feed at once. There are
two lists, one of the Atom and one of the RSS versions, so nobody subscribes to
the same feed twice. Built with lxml, so every title is escaped.
"""

from __future__ import annotations

from email.utils import format_datetime

from lxml import etree

from feeds.build import Feed, base, feed_updated
from presswatch.text import strip_xml_invalid

SECTION_TITLES = {
    "all": "Everything",
    "topics": "Topics",
    "sources": "Sources",
    "countries": "Countries",
    "kinds": "Kinds of item",
}


def opml_name(fmt: str) -> str:
    """The OPML file listing the feeds of one format."""
    return "feeds.opml" if fmt == "atom" else f"feeds-{fmt}.opml"


def render_opml(feeds: list[Feed], base_url: str, fmt: str = "atom") -> bytes:
    """The OPML document listing ``feeds`` in format ``fmt`` (atom or rss)."""
    base_url = base(base_url)
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"presswatch: IOM feeds ({'Atom' if fmt == 'atom' else 'RSS'})"
    newest = max((feed_updated(feed.entries) for feed in feeds), default=None)
    if newest is not None:
        # The newest entry's date, not "now": an unchanged list stays byte-identical.
        etree.SubElement(head, "dateModified").text = format_datetime(newest)
    body = etree.SubElement(root, "body")
    groups: dict[str, etree._Element] = {}
    for feed in feeds:
        section = feed.spec.section
        if section not in groups:
            label = SECTION_TITLES.get(section, section)
            groups[section] = etree.SubElement(body, "outline", text=label, title=label)
        title = strip_xml_invalid(feed.spec.title)
        etree.SubElement(
            groups[section], "outline", type="rss", text=title, title=title,
            description=strip_xml_invalid(feed.spec.description),
            xmlUrl=f"{base_url}{feed.spec.path}.{fmt}",
            htmlUrl=f"{base_url}index.html#{feed.spec.path.replace('/', '-')}",
            version="ATOM1" if fmt == "atom" else "RSS2",
        )
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")
