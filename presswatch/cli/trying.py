"""`presswatch try`: a source's selectors on live pages, without a crawl and without the archive.

Fetches the source's first listing page (or the page given), lists the item links
found there as the spider would, and runs the first item page (or the page given)
through extraction and normalisation as the pipelines would: every field with
where it came from, the language, the countries, every topic's score, and every
problem. Nothing is written.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
from parsel import Selector
from scrapy.utils.sitemap import Sitemap

from crawler.encoding import decode_page
from crawler.mirror import mirrored_url
from crawler.settings import USER_AGENT
from pipelines.items import Article
from pipelines.rules import extraction_rules, normalization_rules
from pipelines.selectors import select, selected_text
from pipelines.topics import Classifier
from presswatch.cli.options import COMMAND, config_errors, load, mirror_option, sources_option, topics_option
from presswatch.config.sources import Source
from presswatch.config.topics import load_topics

TIMEOUT = 30  # seconds per page
SHOWN_CHARS = 300  # of the body and summary, in the text output


@dataclass
class Page:
    url: str
    status: int
    html: str
    content_type: str
    last_modified: str | None = None
    problems: list[str] = field(default_factory=list)


def fetch(url: str, mirror: str | None, languages: list[str]) -> Page:
    """GET ``url`` (from the mirror when given, with the real Host), decoded as the crawl decodes."""
    target = mirrored_url(url, mirror) if mirror else url
    request = urllib.request.Request(target, headers={"User-Agent": USER_AGENT})
    if mirror:
        request.add_header("Host", (urllib.parse.urlsplit(url).netloc).encode("idna").decode())
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status, body, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, body, headers = exc.code, exc.read(), exc.headers
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise click.ClickException(f"{url}: cannot fetch it: {reason}") from None
    content_type = headers.get("Content-Type", "")
    declared = headers.get_content_charset()
    html, _encoding, charset_problem = decode_page(body, declared, languages)
    page = Page(url, status, html, content_type, headers.get("Last-Modified"))
    if status >= 400:
        page.problems.append(f"http_error: {url} answered HTTP {status}")
    if charset_problem:
        page.problems.append(f"charset: {charset_problem}")
    return page


def item_links(source: Source, page: Page) -> list[dict[str, str | None]]:
    """The item links the spider would take from a listing page, feed or sitemap."""
    if page.url in source.feeds:
        selector = Selector(text=page.html, type="xml")
        selector.remove_namespaces()
        links = []
        for entry in selector.xpath("//item | //entry"):
            href = (entry.xpath("link/text()").get()
                    or entry.xpath("link[@rel='alternate' or not(@rel)]/@href").get())
            date = entry.xpath("pubDate/text() | published/text() | updated/text()").get()
            if href and href.strip():
                links.append({"url": href.strip(), "date": date, "title": entry.xpath("title/text()").get()})
        return [link for link in links
                if source.allows(str(link["url"])) and source.is_item_url(str(link["url"]))]
    if page.url in source.sitemaps:
        sitemap = Sitemap(page.html.encode("utf-8"))
        return [{"url": entry["loc"], "date": entry.get("lastmod"), "title": None} for entry in sitemap
                if source.allows(entry["loc"]) and source.is_item_url(entry["loc"])]
    listing = source.listing
    if listing is None:
        return []
    selector = Selector(text=page.html, base_url=page.url)
    cards = select(selector, listing.item) if listing.item else [selector]
    found: list[dict[str, str | None]] = []
    for card in cards:
        for link in (select(card, listing.link) if listing.link else [card]):
            href = link.root if isinstance(link.root, str) else link.attrib.get("href")
            if not (href and href.strip()):
                continue
            url = urllib.parse.urljoin(page.url, href.strip())
            if not (source.allows(url) and source.is_item_url(url)) or url in {f["url"] for f in found}:
                continue
            date = selected_text(card, listing.date) if (listing.date and listing.item) else None
            title = " ".join(" ".join(link.xpath(".//text()").getall()).split()) or None
            found.append({"url": url, "date": date or None, "title": title})
    return found


def origins(source: Source, article: Article) -> dict[str, str | None]:
    """Where each field came from: selector, metadata, trafilatura, dateline, listing..."""
    selectors = source.selectors
    return {
        "title": article.title_source,
        "published": article.date_source,
        "author": "selector" if selectors.author else ("metadata" if article.author else None),
        "summary": "selector" if selectors.summary else "metadata or the body's beginning",
        "body": "selector" if selectors.body else "trafilatura",
        "language": "declared" if article.declared_language else "detected",
    }


def try_item(source: Source, page: Page, listing: dict[str, str | None] | None,
             classifier: Classifier | None) -> dict[str, Any]:
    """What the pipelines would archive of ``page``, field by field, with its problems."""
    # Here, not at the top: every presswatch command imports this module, and `presswatch crawl`
    # leaves extraction to its workers (its own process need not load trafilatura and dateparser).
    from pipelines.extract import extract_fields
    from pipelines.normalize.article import normalize_article

    fields = extract_fields(page.html, page.url, extraction_rules(source), (listing or {}).get("title"))
    problems = list(page.problems) + [f"{problem}: {detail}" for problem, detail in fields.problems]
    if not fields.body.strip() and not fields.summary.strip():
        problems.append("no_body: no text found: it would not be archived")
    if not fields.title.strip():
        problems.append("no_title: no title found: it would not be archived")
    article = Article(
        source=source.id, url=page.url, title=fields.title, body=fields.body, summary=fields.summary,
        author=fields.author, fetched=datetime.now(UTC), date_text=fields.date_text,
        date_origin=fields.date_origin, date_candidates=fields.date_candidates,
        page_utc_offset=fields.page_utc_offset, title_source=fields.title_source,
        declared_language=fields.declared_language, canonical_link=fields.canonical_link,
        alternates=fields.alternates, shortlink=fields.shortlink, metadata=fields.metadata,
        listing_date=(listing or {}).get("date"), last_modified=page.last_modified,
    )
    normalize_article(article, normalization_rules(source))
    problems += [f"{problem}: {detail}" for problem, detail in article.problems]
    if article.published is None:
        problems.append("no_date: no publication date found")
    row = {"title": article.title, "summary": article.summary, "body": article.body, "source": source.id,
           "kind": source.kind, "region": source.region, "country": source.country,
           "language": article.language, "countries": article.countries}
    topics = []
    if classifier is not None:
        for decision in classifier.score(row):
            topics.append({"topic": decision.topic, "score": round(decision.score, 3),
                           "threshold": decision.threshold, "accepted": decision.accepted,
                           "reason": decision.reason})
    return {
        "url": page.url, "status": page.status, "canonical_url": article.canonical_url,
        "fields": {"title": article.title,
                   "published": article.published.isoformat() if article.published else None,
                   "author": article.author, "summary": article.summary, "body": article.body,
                   "language": article.language, "metadata": article.metadata},
        "origins": origins(source, article), "countries": article.countries, "topics": topics,
        "alternates": article.alternates, "problems": problems,
    }


def _shown(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def print_report(report: dict[str, Any]) -> None:
    listing = report.get("listing")
    if listing is not None:
        links = listing["links"]
        click.echo(f"Listing {listing['url']} (HTTP {listing['status']}): {len(links)} item link(s)")
        for number, link in enumerate(listing["links"], 1):
            extra = "  ".join(part for part in (link.get("date"), link.get("title")) if part)
            click.echo(f"  {number:>3}. {link['url']}" + (f"  [{extra}]" if extra else ""))
        for problem in listing["problems"]:
            click.echo(f"  problem: {problem}")
    item = report.get("item")
    if item is None:
        return
    click.echo(f"\nItem {item['url']} (HTTP {item['status']})")
    values, origins_ = item["fields"], item["origins"]
    for name in ("title", "published", "author", "language"):
        origin = f"  (from {origins_[name]})" if origins_.get(name) else ""
        click.echo(f"  {name:<10} {values[name] or '-'}{origin}")
    for name in ("summary", "body"):
        text = values[name] or ""
        click.echo(f"  {name:<10} {len(text):,} characters (from {origins_[name]}): {_shown(text)}")
    for name, value in (values["metadata"] or {}).items():
        click.echo(f"  {name:<10} {value}  (from the metadata selector)")
    click.echo(f"  {'countries':<10} {', '.join(item['countries']) or '-'}")
    accepted = [topic for topic in item["topics"] if topic["accepted"]]
    scored = [topic for topic in item["topics"] if topic["score"] > 0 and not topic["accepted"]]
    click.echo(f"  {'topics':<10} " + (", ".join(f"{t['topic']} {t['score']:g}" for t in accepted) or "none"))
    for topic in scored:
        click.echo(f"             not {topic['topic']}: {topic['score']:g} < {topic['threshold']:g} "
                   f"({topic['reason']})")
    click.echo("\nProblems: " + ("none" if not item["problems"] else ""))
    for problem in item["problems"]:
        click.echo(f"  {problem}")
    click.echo("Nothing was written to the archive.")


@click.command(name="try")
@click.argument("source_id", metavar="SOURCE")
@click.argument("url", required=False)
@mirror_option
@click.option("--json", "as_json", is_flag=True, help="The whole report as one JSON object.")
@sources_option
@topics_option
@config_errors
def try_source(source_id: str, url: str | None, mirror: str | None, as_json: bool, sources_path: Any,
               topics_path: Any) -> None:
    """Try a source's selectors on its live pages: the item links of its first listing page (or of
    URL), then every field of the first item (or of URL) with where it came from, the language,
    countries, topic scores and every problem. Writes nothing.

    \b
    Examples:
        presswatch try moldova
        presswatch try moldova https://moldova.iom.int/news/launch-moldova-migration-data-profile
        presswatch try moldova --mirror http://127.0.0.1:8765 --json
    """
    source = load(sources_path).get(source_id)
    topics = load_topics(topics_path)
    classifier = Classifier(topics)
    first = url or next(iter([*source.start_urls, *source.feeds, *source.sitemaps]))
    if url is not None and not source.allows(url):
        raise click.ClickException(
            f"{url}: outside the domains of {source_id} ({', '.join(source.allowed_domains)})")
    report: dict[str, Any] = {"source": source_id}
    page = fetch(first, mirror, list(source.languages))
    is_listing = url is None or url in [*source.start_urls, *source.feeds, *source.sitemaps] \
        or not source.is_item_url(url)
    teaser: dict[str, str | None] | None = None
    if is_listing:
        links = item_links(source, page)
        problems = list(page.problems) + ([] if links else ["no item links found: check [source.listing]"])
        report["listing"] = {"url": page.url, "status": page.status, "links": links, "problems": problems}
        if not links:
            if as_json:
                click.echo(json.dumps(report, ensure_ascii=False, indent=2))
            else:
                print_report(report)
            raise SystemExit(1)
        teaser = links[0]
        page = fetch(str(teaser["url"]), mirror, list(source.languages))
    report["item"] = try_item(source, page, teaser, classifier)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_report(report)


def discover(url: str, mirror: str | None) -> dict[str, Any]:
    """The feeds (trafilatura's feed discovery: <link rel=alternate>, then feed-like links) and
    sitemaps (robots.txt's Sitemap lines, else /sitemap.xml when there is one) of the site of ``url``."""
    from trafilatura.feeds import FeedParameters, determine_feed
    from trafilatura.sitemaps import extract_robots_sitemaps, is_plausible_sitemap

    parts = urllib.parse.urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    page = fetch(url, mirror, ["en"])
    if page.status >= 400:
        raise click.ClickException(f"{url}: HTTP {page.status}")
    feeds = determine_feed(page.html, FeedParameters(base, parts.hostname or "", url))
    if urllib.parse.urlsplit(url).path.strip("/"):  # the home page often names the feeds
        home = fetch(base + "/", mirror, ["en"])
        if home.status < 400:
            on_home = determine_feed(home.html, FeedParameters(base, parts.hostname or "", url))
            feeds += [feed for feed in on_home if feed not in feeds]
    robots = fetch(base + "/robots.txt", mirror, ["en"])
    sitemaps = extract_robots_sitemaps(robots.html, base) if robots.status < 400 else []
    if not sitemaps:
        guess = fetch(base + "/sitemap.xml", mirror, ["en"])
        if guess.status < 400 and is_plausible_sitemap(guess.url, guess.html):
            sitemaps = [guess.url]
    selector = Selector(text=page.html)
    language = (selector.xpath("/html/@lang").get() or "").split("-")[0].lower() or None
    title = " ".join((selector.xpath("//title/text()").get() or "").split()) or None
    return {"url": url, "feeds": feeds, "sitemaps": sitemaps, "language": language, "title": title}


def source_entry(found: dict[str, Any], source_id: str) -> str:
    """A [[source]] entry to paste into sources.toml: only what differs from the defaults."""

    def strings(values: list[str]) -> str:
        return "[" + ", ".join(json.dumps(value, ensure_ascii=False) for value in values) + "]"

    lines = ["[[source]]", f"id = {json.dumps(source_id)}"]
    if found["title"]:
        lines.append(f"name = {json.dumps(found['title'], ensure_ascii=False)}")
    if found["language"] and len(found["language"]) == 2 and found["language"] != "en":
        lines.append(f"languages = {strings([found['language']])}")
    lines.append(f"start_urls = {strings([found['url']])}")
    if found["feeds"]:
        lines.append(f"feeds = {strings(found['feeds'])}")
    if found["sitemaps"]:
        lines.append(f"sitemaps = {strings(found['sitemaps'])}")
    lines += ['# Defaults: kind "page", region "Global", languages ["en"], schedule every 1d, and',
              "# every link of the start page as an item. `presswatch try ID` shows what that finds;",
              "# narrow it with [source.listing] (item, link, date, next) and item_urls."]
    return "\n".join(lines)


@click.command(name="add")
@click.argument("url")
@click.option("--id", "source_id", metavar="ID", help="The new source's id (default: from the host name).")
@mirror_option
def add_source(url: str, source_id: str | None, mirror: str | None) -> None:
    """Discover a site's feeds and sitemaps and print a [[source]] entry to paste into sources.toml.

    \b
    Example:
        presswatch sources add https://moldova.iom.int/news
        presswatch sources add https://moldova.iom.int/news --id moldova-news >> sources.toml
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.ClickException(f"{url!r} is not an http(s) URL")
    found = discover(url, mirror)
    default_id = "-".join(label for label in parts.hostname.removeprefix("www.").split(".")[:-1]) or "site"
    click.echo(source_entry(found, source_id or default_id.lower()))
    summary = (f"{len(found['feeds'])} feed(s), {len(found['sitemaps'])} sitemap(s) found; "
               f"then: {COMMAND} try {source_id or default_id.lower()}")
    click.echo(summary, err=True)
