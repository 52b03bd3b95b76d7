"""Render every page of the bundled sample sites from ``content.toml``.

The markup follows ``docs/sample-sites.md``; the crawler's ``sources.toml`` selects
on it, so class names and URL shapes must not drift.  Four site families:

* ``d9``: the global IOM Drupal 9 platform (www.iom.int, eca.iom.int,
  publications.iom.int);
* ``country``: IOM country sites (moldova, ukraine, armenia, lithuania), same
  platform but a long navigation menu before the title and language versions;
* ``d7``: the old Drupal 7 regional site rovienna.iom.int;
* ``micenter``: micenter.lt, an old non-Drupal site without dates.

Everything is rendered once into an :class:`Archive`; the HTTP server only
looks pages up.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jinja2

from presswatch.http import http_date
from presswatch.sample_sites.documents import publication_pdf

HERE = Path(__file__).resolve().parent
CONTENT_PATH = HERE / "content.toml"
TEMPLATES_PATH = HERE / "templates"

# Last-Modified of pages without a date (micenter.lt, robots.txt, ...).
FIXED_DATE = datetime(2021, 3, 1, 8, 0, 0, tzinfo=UTC)

IOM_FILES = "/sites/g/files/tmzbdl2616/files"
WWW_LISTING_QUERY = (
    "type[0]=press_release&type[1]=blog_list&type[2]=featured_stories&sort_bef_combine=created_DESC"
)

# --------------------------------------------------------------------------- sites


@dataclass(frozen=True)
class Listing:
    path: str  # listing path, paginated with ?page=N (N from 0)
    per_page: int
    kind: str | None = None  # article kind shown (None: any)
    lang: str = "en"
    query: str = ""  # fixed query before &page=N (www.iom.int search)
    title: str = "News"
    dates: bool = True  # cards show dates
    links: str = "root"  # root | document | mixed: how item hrefs are written


@dataclass(frozen=True)
class Site:
    host: str
    family: str  # d9 | country | d7 | micenter
    name: str
    listings: tuple[Listing, ...] = ()
    langs: tuple[str, ...] = ("en",)


SITES: tuple[Site, ...] = (
    Site(
        "www.iom.int",
        "d9",
        "International Organization for Migration",
        (
            Listing(
                "/search",
                12,
                "press_release",
                query=WWW_LISTING_QUERY,
                title="Newsroom",
            ),
        ),
    ),
    Site(
        "eca.iom.int",
        "d9",
        "IOM Regional Office for South-Eastern Europe, Eastern Europe and Central Asia",
        (
            Listing("/news", 12, "news", title="News"),
            Listing("/stories", 12, "story", title="Stories"),
        ),
    ),
    Site(
        "rovienna.iom.int",
        "d7",
        "IOM Regional Office Vienna",
        (Listing("/press/press-releases", 8, "press_release", title="Press Releases", links="mixed"),),
    ),
    Site(
        "moldova.iom.int",
        "country",
        "IOM Moldova",
        (
            Listing("/news", 10, lang="en", dates=False, links="document"),
            Listing("/ro/news", 10, lang="ro", title="Știri", links="document"),
        ),
        ("en", "ro"),
    ),
    Site(
        "ukraine.iom.int",
        "country",
        "IOM Ukraine",
        (
            Listing("/news", 10, lang="en", dates=False),
            Listing("/uk/news", 10, lang="uk", title="Новини"),
        ),
        ("en", "uk"),
    ),
    Site(
        "armenia.iom.int",
        "country",
        "IOM Armenia",
        (
            Listing("/news", 10, lang="en"),
            Listing("/hy/news", 10, lang="hy", title="Նորություններ"),
        ),
        ("en", "hy"),
    ),
    Site(
        "lithuania.iom.int",
        "country",
        "IOM Lithuania",
        (
            Listing("/news", 10, lang="en"),
            Listing("/lt/news", 10, lang="lt", title="Naujienos"),
        ),
        ("en", "lt"),
    ),
    Site(
        "publications.iom.int",
        "d9",
        "IOM Publications Platform",
        (Listing("/search-books", 8, "publication", title="Publications"),),
    ),
    Site("micenter.lt", "micenter", "Migracijos informacijos centras", (), ("en", "lt", "ru")),
)
SITES_BY_HOST = {site.host: site for site in SITES}

# --------------------------------------------------------------------------- dates

EN_MONTHS = ("January February March April May June July August September October November December").split()
EN_MONTHS_ABBR = [m[:3] for m in EN_MONTHS]
RO_MONTHS = (
    "ianuarie februarie martie aprilie mai iunie iulie august septembrie octombrie noiembrie decembrie"
).split()
UK_MONTHS = ("січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня").split()
HY_MONTHS = (
    "հունվարի փետրվարի մարտի ապրիլի մայիսի հունիսի հուլիսի օգոստոսի սեպտեմբերի "
    "հոկտեմբերի նոյեմբերի դեկտեմբերի"
).split()
LT_MONTHS = (
    "sausio vasario kovo balandžio gegužės birželio liepos rugpjūčio rugsėjo spalio lapkričio gruodžio"
).split()
RU_MONTHS = ("января февраля марта апреля мая июня июля августа сентября октября ноября декабря").split()

MONTHS_BY_LANG = {
    "en": EN_MONTHS,
    "ro": RO_MONTHS,
    "uk": UK_MONTHS,
    "hy": HY_MONTHS,
    "lt": LT_MONTHS,
    "ru": RU_MONTHS,
}


def format_local_date(d: datetime, lang: str) -> str:
    """The date as country sites print it in ``div.date``."""
    if lang == "lt":
        return f"{d.year} m. {LT_MONTHS[d.month - 1]} {d.day} d."
    return f"{d.day} {MONTHS_BY_LANG[lang][d.month - 1]} {d.year}"


def format_d9_date(d: datetime) -> str:
    """``01 December 2021`` (www.iom.int cards and articles)."""
    return f"{d.day:02d} {EN_MONTHS[d.month - 1]} {d.year}"


def format_d7_date(d: datetime) -> str:
    """``Jul 03, 2020`` (rovienna.iom.int)."""
    return f"{EN_MONTHS_ABBR[d.month - 1]} {d.day:02d}, {d.year}"


# How a dateline opens the first paragraph, per (host, lang); no year.
DATELINE_FORMATS = {
    ("moldova.iom.int", "en"): "{city} - {day} {month}.",
    ("moldova.iom.int", "ro"): "{city}, {day} {month}.",
    ("ukraine.iom.int", "en"): "{city}—{day} {month}.",
    ("ukraine.iom.int", "uk"): "{city}, {day} {month}.",
}
DEFAULT_DATELINE_FORMAT = "{city} – {day} {month}."


def format_dateline(host: str, lang: str, city: str, d: datetime) -> str:
    fmt = DATELINE_FORMATS.get((host, lang), DEFAULT_DATELINE_FORMAT)
    return fmt.format(city=city, day=d.day, month=MONTHS_BY_LANG[lang][d.month - 1])


def iso(d: datetime) -> str:
    """ISO 8601 with the article's own offset; UTC as ``Z`` (Drupal style)."""
    text = d.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --------------------------------------------------------------------------- pages


@dataclass
class Page:
    """One static response."""

    body: bytes
    content_type: str
    last_modified: datetime = FIXED_DATE
    status: int = 200
    language: str | None = None
    location: str | None = None  # redirects
    etag: str = field(init=False)

    def __post_init__(self) -> None:
        self.last_modified = self.last_modified.astimezone(UTC).replace(microsecond=0)
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    @property
    def last_modified_http(self) -> str:
        return http_date(self.last_modified)


@dataclass
class Archive:
    """Every rendered page, keyed by (host, path); listings by (host, path) -> pages."""

    pages: dict[tuple[str, str], Page] = field(default_factory=dict)
    listings: dict[tuple[str, str], list[Page]] = field(default_factory=dict)
    not_found_pages: dict[str, Page] = field(default_factory=dict)
    entry_urls: dict[str, list[str]] = field(default_factory=dict)
    listing_urls: dict[str, list[str]] = field(default_factory=dict)

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset(site.host for site in SITES)

    def lookup(self, host: str, target: str) -> Page | None:
        """The page for ``target`` (path with query) on ``host``; None if unknown."""
        parts = urlsplit(target)
        path = unquote(parts.path) or "/"
        for candidate in _path_variants(path):
            if candidate != path:
                if (host, candidate) in self.listings or (host, candidate) in self.pages:
                    return _redirect(candidate + (f"?{parts.query}" if parts.query else ""))
                continue
            pages = self.listings.get((host, candidate))
            if pages is not None:
                number = dict(parse_qsl(parts.query, keep_blank_values=True)).get("page", "0")
                number = number.strip() or "0"
                if not number.isdigit() or int(number) >= len(pages):
                    return None
                return pages[int(number)]
            page = self.pages.get((host, candidate))
            if page is not None:
                return page
        return None

    def not_found(self, host: str) -> Page:
        return self.not_found_pages[host]


def _redirect(location: str) -> Page:
    """301 to the canonical form of a path (``/en`` -> ``/en/``, ``/news/`` -> ``/news``)."""
    body = f'<!DOCTYPE html>\n<html><body><a href="{location}">Moved</a></body></html>\n'
    return Page(body.encode(), "text/html; charset=utf-8", status=301, location=location)


def _path_variants(path: str) -> Iterable[str]:
    yield path
    if path != "/":
        yield path.rstrip("/") if path.endswith("/") else path + "/"


# --------------------------------------------------------------------------- content


def load_content(path: Path | str | None = None) -> dict[str, Any]:
    """The parsed ``content.toml``."""
    with open(path or CONTENT_PATH, "rb") as fh:
        return tomllib.load(fh)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_PATH),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def _absolute(host: str, path: str) -> str:
    return f"https://{host}{path}"


def _slug(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def _sort_newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    dated = [i for i in items if i.get("date") is not None]
    undated = [i for i in items if i.get("date") is None]
    dated.sort(key=lambda i: i["date"], reverse=True)
    return dated + undated


def _teaser(article: dict[str, Any], words: int = 40) -> str:
    if article.get("teaser"):
        return article["teaser"]
    text = " ".join(article.get("body", []))
    return " ".join(text.split()[:words])


def _node_id(host: str, path: str) -> int:
    digest = hashlib.sha1(f"{host}{path}".encode()).hexdigest()
    return 10000 + int(digest[:6], 16) % 90000


COUNTRY_NAMES = {
    "AR": "Argentina",
    "BA": "Bosnia and Herzegovina",
    "EG": "Egypt",
    "KH": "Cambodia",
    "LK": "Sri Lanka",
    "LT": "Lithuania",
    "NP": "Nepal",
    "PT": "Portugal",
}

LANG_NAMES = {
    "en": "English",
    "ro": "Română",
    "uk": "Українська",
    "hy": "Հայերեն",
    "lt": "Lietuvių",
    "ru": "Русский",
}

# micenter.lt topic picker ("Topics I am interested in:"): labels, English page.
MICENTER_TOPICS = (
    (
        {"en": "Work and employment", "lt": "Darbas ir užimtumas", "ru": "Работа и трудоустройство"},
        "/en/work-and-employment",
    ),
    (
        {"en": "Social guarantees", "lt": "Socialinės garantijos", "ru": "Социальные гарантии"},
        "/en/social-guarantees",
    ),
    ({"en": "Education", "lt": "Švietimas", "ru": "Образование"}, "/en/education"),
    (
        {
            "en": "Foreigners in Lithuania",
            "lt": "Užsieniečiai Lietuvoje",
            "ru": "Иностранцы в Литве",
        },
        "/en/foreigners-in-lithuania",
    ),
    ({"en": "Other issues", "lt": "Kiti klausimai", "ru": "Другие вопросы"}, "/en/other-issues"),
)

SDG_NAMES = {
    1: "No Poverty",
    3: "Good Health and Well-being",
    4: "Quality Education",
    5: "Gender Equality",
    8: "Decent Work and Economic Growth",
    10: "Reduced Inequalities",
    11: "Sustainable Cities and Communities",
    13: "Climate Action",
    16: "Peace, Justice and Strong Institutions",
    17: "Partnerships for the Goals",
}


# Optional article fields, so templates can test them.
OPTIONAL_FIELDS: dict[str, Any] = {
    "teaser": "",
    "image_caption": "",
    "sdgs": [],
    "isbn": "",
    "issn": "",
    "authors": [],
    "series": "",
    "country": "",
    "topic": "",
    "publication_language": "",
    "year": None,
}


class Renderer:
    """Turns the content into an :class:`Archive`."""

    def __init__(self, content: dict[str, Any]):
        self.content = content
        self.env = _environment()
        self.articles: list[dict[str, Any]] = [{**OPTIONAL_FIELDS, **a} for a in content.get("article", [])]
        self.specials: list[dict[str, Any]] = [dict(s) for s in content.get("special", [])]
        self.boilerplate: dict[str, list[str]] = {
            host: list(v.get("closing", [])) for host, v in content.get("boilerplate", {}).items()
        }
        self.by_url = {(a["site"], a["path"]): a for a in self.articles}
        self.archive = Archive()
        self._check()

    # ----------------------------------------------------------------- checks

    def _check(self) -> None:
        seen: set[tuple[str, str]] = set()
        for a in self.articles:
            key = (a["site"], a["path"])
            if a["site"] not in SITES_BY_HOST:
                raise ValueError(f"unknown site {a['site']!r}")
            if key in seen:
                raise ValueError(f"duplicate page {key}")
            seen.add(key)
            original = a.get("translation_of")
            if original and (a["site"], original) not in self.by_url:
                raise ValueError(f"{key}: translation_of {original} is not a page")
        # Node numbers are hashes of the path: two different pages of a host must not share one
        # (language versions do, on purpose), or they would look like translations of each other.
        nodes: dict[tuple[str, int], str] = {}
        for a in self.articles:
            if a.get("translation_of"):
                continue
            key = (a["site"], self.node_id(a))
            if key in nodes:
                raise ValueError(f"{a['path']} and {nodes[key]} share node {key[1]} on {a['site']}")
            nodes[key] = a["path"]

    # ----------------------------------------------------------------- helpers

    def _render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)

    def _html(
        self,
        text: str,
        *,
        last_modified: datetime | None = None,
        lang: str | None = None,
        encoding: str = "utf-8",
        status: int = 200,
    ) -> Page:
        body = text.encode(_codec(encoding), errors="xmlcharrefreplace")
        return Page(
            body,
            f"text/html; charset={encoding}",
            last_modified or FIXED_DATE,
            status,
            lang,
        )

    def _add(self, host: str, path: str, page: Page) -> None:
        key = (host, path)
        if key in self.archive.pages or key in self.archive.listings:
            raise ValueError(f"two pages at {key}")
        self.archive.pages[key] = page

    def articles_of(self, host: str, kind: str | None = None, lang: str | None = None):
        return [
            a
            for a in self.articles
            if a["site"] == host
            and (kind is None or a["kind"] == kind)
            and (lang is None or a["lang"] == lang)
        ]

    def translations(self, article: dict[str, Any]) -> list[dict[str, Any]]:
        """All language versions of ``article`` (itself included), original first."""
        original_path = article.get("translation_of") or article["path"]
        group = [self.by_url[(article["site"], original_path)]]
        group += [
            a
            for a in self.articles
            if a["site"] == article["site"] and a.get("translation_of") == original_path
        ]
        return group if len(group) > 1 else []

    def alternates(self, article: dict[str, Any], *, declared: bool = False) -> list[dict[str, str]]:
        """The language versions of ``article`` (the language switcher's targets). ``declared``:
        only those the page declares with ``<link rel="alternate" hreflang>``: none when a version
        of the group says ``hreflang = false`` (linked only by their shared node id)."""
        group = self.translations(article)
        if declared and any(a.get("hreflang") is False for a in group):
            return []
        return [
            {"lang": a["lang"], "href": _absolute(a["site"], a["path"]), "path": a["path"]} for a in group
        ]

    def node_id(self, article: dict[str, Any]) -> int:
        """The Drupal node number: language versions share the original's (/node/N, /ro/node/N)."""
        return _node_id(article["site"], article.get("translation_of") or article["path"])

    def shortlink(self, article: dict[str, Any]) -> str:
        prefix = "" if article["lang"] == "en" else f"/{article['lang']}"
        return _absolute(article["site"], f"{prefix}/node/{self.node_id(article)}")

    def body_paragraphs(self, article: dict[str, Any]) -> list[str]:
        """Paragraphs as rendered: dateline prefixed, site boilerplate appended."""
        paragraphs = list(article.get("body", []))
        if article.get("dateline") and article.get("date") and paragraphs:
            line = format_dateline(article["site"], article["lang"], article["dateline"], article["date"])
            paragraphs[0] = f"{line} {paragraphs[0]}"
        closing_host = article["site"]
        if article.get("duplicate_of"):
            closing_host = urlsplit(article["duplicate_of"]).hostname or closing_host
        if article["kind"] == "press_release":
            paragraphs += self.boilerplate.get(closing_host, [])
        return paragraphs

    def site_context(self, site: Site, lang: str = "en", path: str = "/") -> dict[str, Any]:
        return {
            "site": site,
            "host": site.host,
            "lang": lang,
            "path": path,
            "canonical": _absolute(site.host, path),
            "files": IOM_FILES,
            "lang_names": LANG_NAMES,
            "alternates": [],
            "topics": self._topics(lang) if site.family == "micenter" else [],
            "encoding": "utf-8",
            "country": site.name.removeprefix("IOM ") if site.family == "country" else "",
            "lang_paths": self._lang_paths(site),
            "switcher": self._lang_paths(site),
        }

    def _lang_paths(self, site: Site) -> dict[str, str]:
        """Where the language switcher points by default: each language's listing/home."""
        if site.family == "micenter":
            return {lang: f"/{lang}/" for lang in site.langs}
        paths: dict[str, str] = {}
        for listing in site.listings:
            paths.setdefault(listing.lang, listing.path)
        return paths

    # ----------------------------------------------------------------- build

    def build(self) -> Archive:
        for site in SITES:
            getattr(self, f"_build_{site.family}")(site)
            self._build_common(site)
        return self.archive

    def _build_common(self, site: Site) -> None:
        robots = "User-agent: *\nDisallow: /admin/\nDisallow: /user/\n"
        if site.family == "micenter":
            robots += f"\nSitemap: https://{site.host}/sitemap.xml\n"
        self._add(site.host, "/robots.txt", Page(robots.encode(), "text/plain; charset=utf-8"))
        base = f"{site.family}_base.html.j2"
        ctx = {**self.site_context(site, site.langs[0], "/404"), "canonical": ""}
        text = self._render("not_found.html.j2", base=base, page_title="Page not found", **ctx)
        self.archive.not_found_pages[site.host] = self._html(text, lang="en", status=404)
        for special in self.specials:
            if special["site"] == site.host:
                self._add(
                    site.host,
                    special["path"],
                    self._html(text, lang="en", status=int(special.get("status", 404))),
                )
        # home page
        items = _sort_newest_first(self.articles_of(site.host))
        newest = next((a["date"] for a in items if a.get("date")), None)
        links = [
            {"href": listing.path, "title": listing.title}
            for listing in site.listings
            if listing.lang == site.langs[0]
        ]
        latest = [{"href": a["path"], "title": a["title"]} for a in items if a["lang"] == site.langs[0]][:3]
        if site.family != "micenter":
            text = self._render(
                "home.html.j2",
                base=base,
                page_title=site.name,
                sections=links,
                latest=latest,
                **self.site_context(site, site.langs[0], "/"),
            )
            self._add(site.host, "/", self._html(text, last_modified=newest, lang="en"))

    def _paginate(
        self,
        site: Site,
        listing: Listing,
        items: list[dict[str, Any]],
        template: str,
        **extra: Any,
    ) -> None:
        chunks = [items[i : i + listing.per_page] for i in range(0, len(items), listing.per_page)]
        chunks = chunks or [[]]
        pages: list[Page] = []
        urls: list[str] = []
        prefix = f"{listing.query}&" if listing.query else ""
        for number, chunk in enumerate(chunks):
            query = f"{prefix}page={number}"
            target = f"{listing.path}?{query}" if (listing.query or number) else listing.path
            cards = [self.card(listing, item) for item in chunk]
            pager = {
                "current": number,
                "count": len(chunks),
                "pages": [f"?{prefix}page={n}" for n in range(len(chunks))],
                "paths": [f"{listing.path}?page={n}" for n in range(len(chunks))],
            }
            ctx = self.site_context(site, listing.lang, listing.path)
            ctx["canonical"] = _absolute(site.host, target)
            text = self._render(
                template,
                listing=listing,
                cards=cards,
                pager=pager,
                page_title=listing.title,
                **ctx,
                **extra,
            )
            dates = [i["date"] for i in chunk if i.get("date")]
            pages.append(self._html(text, last_modified=max(dates) if dates else None, lang=listing.lang))
            urls.append(_absolute(site.host, target))
        self.archive.listings[(site.host, listing.path)] = pages
        self.archive.listing_urls.setdefault(site.host, []).extend(urls)
        self.archive.entry_urls.setdefault(site.host, []).append(urls[0])

    def card(self, listing: Listing, item: dict[str, Any]) -> dict[str, Any]:
        """What a listing shows of one item."""
        path = item["path"]
        href = path
        relative = listing.links == "document" or (
            listing.links == "mixed" and item.get("_position", 0) % 3 == 1
        )
        base_dir = listing.path.rsplit("/", 1)[0] + "/"
        if relative and path.startswith(base_dir):
            # on /news, "news/slug" is /news/slug; on /press/press-releases, "slug" is /press/slug
            href = path[len(base_dir) :]
        date = item.get("date")
        return {
            "href": href,
            "path": path,
            "title": item["title"],
            "date": date,
            "d9_date": format_d9_date(date) if date else "",
            "d7_date": format_d7_date(date) if date else "",
            "local_date": format_local_date(date, item.get("lang", "en")) if date else "",
            "teaser": _teaser(item),
            "d7_teaser": d7_teaser(item).rstrip(".") + "...",
            "image_caption": item.get("image_caption", ""),
            "tag": {"press_release": "Press Release", "news": "News", "story": "Story"}.get(
                item.get("kind", "press_release"), "Press Release"
            ),
            "year": item.get("year"),
        }

    # ----------------------------------------------------------------- d9

    def _build_d9(self, site: Site) -> None:
        if site.host == "publications.iom.int":
            self._build_publications(site)
            return
        for listing in site.listings:
            items = self.articles_of(site.host, listing.kind, listing.lang)
            items += [
                {**s, "kind": listing.kind, "lang": listing.lang}
                for s in self.specials
                if s["site"] == site.host
                and s.get("title")
                and s.get("listing", site.listings[0].path) == listing.path
            ]
            self._paginate(site, listing, _sort_newest_first(items), "d9_listing.html.j2")
        for article in self.articles_of(site.host):
            self._d9_article(site, article)
        if site.host == "www.iom.int":
            self._rss(site)

    def _d9_article(self, site: Site, article: dict[str, Any]) -> None:
        date = article["date"]
        siblings = _sort_newest_first(self.articles_of(site.host, article["kind"]))
        here = siblings.index(article)
        related = [a for a in siblings[max(0, here - 2) : here + 3] if a is not article][:3]
        ctx = self.site_context(site, article["lang"], article["path"])
        listing = next(li for li in site.listings if li.kind == article["kind"])
        text = self._render(
            "d9_article.html.j2",
            article=article,
            page_title=article["title"],
            paragraphs=self.body_paragraphs(article),
            iso_date=iso(date),
            display_date=format_d9_date(date),
            tag={"press_release": "Press Release", "news": "News", "story": "Story"}[article["kind"]],
            node_id=_node_id(site.host, article["path"]),
            sdgs=[(n, SDG_NAMES.get(n, f"Goal {n}")) for n in article.get("sdgs", [])],
            related=related,
            description=_teaser(article),
            listing_path=listing.path,
            listing_title=listing.title,
            **ctx,
        )
        # An edited release keeps its date but answers with a later Last-Modified.
        modified = article.get("modified", date)
        self._add(site.host, article["path"], self._html(text, last_modified=modified, lang="en"))

    def _rss(self, site: Site) -> None:
        items = _sort_newest_first(self.articles_of(site.host, "press_release"))[:10]
        entries = [
            {
                "title": a["title"],
                "link": _absolute(site.host, a["path"]),
                "description": _teaser(a),
                "pub_date": format_datetime(a["date"]),
                "guid": f"{_node_id(site.host, a['path'])} at https://{site.host}",
            }
            for a in items
        ]
        text = self._render("rss.xml.j2", site=site, entries=entries)
        self._add(
            site.host,
            "/rss.xml",
            Page(
                text.encode(),
                "application/rss+xml; charset=utf-8",
                items[0]["date"] if items else FIXED_DATE,
            ),
        )

    def _build_publications(self, site: Site) -> None:
        listing = site.listings[0]
        items = _sort_newest_first(self.articles_of(site.host, "publication"))
        facet = sorted({a["country"] for a in items if a.get("country")})
        counts = {code: sum(1 for a in items if a.get("country") == code) for code in facet}
        self._paginate(site, listing, items, "pubs_listing.html.j2", facet=facet, facet_counts=counts)
        for article in items:
            slug = _slug(article["path"])
            pdf_path = f"{IOM_FILES}/pdf/{slug}.pdf"
            ctx = self.site_context(site, article["lang"], article["path"])
            date = article["date"]
            text = self._render(
                "pubs_book.html.j2",
                article=article,
                page_title=article["title"],
                iso_date=iso(date),
                display_date=format_d9_date(date),
                country_name=COUNTRY_NAMES.get(article.get("country", ""), ""),
                pdf_path=pdf_path,
                node_id=_node_id(site.host, article["path"]),
                description=_teaser(article, 30),
                **ctx,
            )
            self._add(site.host, article["path"], self._html(text, last_modified=date, lang="en"))
            # The report itself (documents.py); an edited one answers with a later Last-Modified.
            self._add(site.host, pdf_path, Page(publication_pdf(article), "application/pdf",
                                                article.get("document_modified", date)))

    # ----------------------------------------------------------------- country

    def _build_country(self, site: Site) -> None:
        for listing in site.listings:
            items = _sort_newest_first(self.articles_of(site.host, lang=listing.lang))
            self._paginate(site, listing, items, "country_listing.html.j2")
        for article in self.articles_of(site.host):
            date = article.get("date")
            show_date = date is not None and not (
                article["lang"] == "en" and site.host in ("moldova.iom.int", "ukraine.iom.int")
            )
            ctx = self.site_context(site, article["lang"], article["path"])
            ctx["alternates"] = self.alternates(article, declared=True)
            ctx["switcher"] = {
                **ctx["switcher"],
                **{alt["lang"]: alt["path"] for alt in self.alternates(article)},
            }
            listing = next(li for li in site.listings if li.lang == article["lang"])
            text = self._render(
                "country_article.html.j2",
                article=article,
                page_title=article["title"],
                paragraphs=self.body_paragraphs(article),
                local_date=format_local_date(date, article["lang"]) if show_date else "",
                listing=listing,
                node_id=self.node_id(article),
                shortlink=self.shortlink(article),
                description=_teaser(article),
                **ctx,
            )
            self._add(
                site.host,
                article["path"],
                self._html(text, last_modified=date, lang=article["lang"]),
            )

    # ----------------------------------------------------------------- d7

    def _build_d7(self, site: Site) -> None:
        listing = site.listings[0]
        items = _sort_newest_first(self.articles_of(site.host, listing.kind))
        for position, item in enumerate(items):
            item["_position"] = position
        self._paginate(site, listing, items, "d7_listing.html.j2")
        for article in self.articles_of(site.host):
            ctx = self.site_context(site, article["lang"], article["path"])
            text = self._render(
                "d7_article.html.j2",
                article=article,
                page_title=article["title"],
                paragraphs=self.body_paragraphs(article),
                display_date=format_d7_date(article["date"]),
                node_id=_node_id(site.host, article["path"]),
                description=_teaser(article),
                **ctx,
            )
            self._add(
                site.host,
                article["path"],
                self._html(text, last_modified=article["date"], lang="en"),
            )

    # ----------------------------------------------------------------- micenter

    def _build_micenter(self, site: Site) -> None:
        pages = self.articles_of(site.host)
        for lang in site.langs:
            own = [a for a in pages if a["lang"] == lang]
            ctx = self.site_context(site, lang, f"/{lang}/")
            text = self._render(
                "micenter_home.html.j2",
                pages=own,
                page_title={"en": "Home", "lt": "Pradžia", "ru": "Главная"}[lang],
                **ctx,
            )
            self._add(site.host, f"/{lang}/", self._html(text, lang=lang))
            self.archive.entry_urls.setdefault(site.host, []).append(_absolute(site.host, f"/{lang}/"))
        for article in pages:
            encoding = article.get("encoding", "utf-8")
            ctx = self.site_context(site, article["lang"], article["path"])
            ctx["alternates"] = self.alternates(article, declared=True)
            text = self._render(
                "micenter_page.html.j2",
                article=article,
                page_title=article["title"],
                paragraphs=article.get("body", []),
                **{**ctx, "encoding": encoding},
            )
            self._add(
                site.host,
                article["path"],
                self._html(text, lang=article["lang"], encoding=encoding),
            )
        text = self._render("sitemap.xml.j2", urls=[_absolute(site.host, a["path"]) for a in pages])
        self._add(site.host, "/sitemap.xml", Page(text.encode(), "application/xml; charset=utf-8"))
        self.archive.entry_urls[site.host].insert(0, _absolute(site.host, "/sitemap.xml"))
        root = self._render(
            "micenter_root.html.j2",
            page_title=site.name,
            **self.site_context(site, "lt", "/"),
        )
        self._add(site.host, "/", self._html(root, lang="lt"))

    def _topics(self, lang: str) -> list[dict[str, str]]:
        """The topic picker: each topic links to its page in ``lang``, else English."""
        out = []
        for labels, en_path in MICENTER_TOPICS:
            href = en_path
            for a in self.articles:
                if (
                    a["site"] == "micenter.lt"
                    and a["lang"] == lang
                    and (a["path"] == en_path or a.get("translation_of") == en_path)
                ):
                    href = a["path"]
            out.append({"label": labels.get(lang, labels["en"]), "href": href})
        return out


def _codec(encoding: str) -> str:
    return {"windows-1257": "cp1257"}.get(encoding.lower(), encoding)


def d7_teaser(article: dict[str, Any], limit: int = 235) -> str:
    """Drupal 7 trimmed teaser: the body cut on a word boundary near ``limit`` characters.

    An explicit ``teaser`` wins (the seed listing's text)."""
    if article.get("teaser"):
        return article["teaser"]
    text = " ".join(article.get("body", []))
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:–-")


def render_all(content: dict[str, Any] | None = None) -> Archive:
    """Render every page of every sample site."""
    return Renderer(content if content is not None else load_content()).build()


def render_index(archive: Archive, base_url: str) -> str:
    """The page answered to requests whose Host is not a sample site."""
    env = _environment()
    return env.get_template("index.html.j2").render(
        sites=SITES, entry_urls=archive.entry_urls, base_url=base_url
    )
