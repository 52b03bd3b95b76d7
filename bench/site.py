"""The generated benchmark site: N article pages and their listings, served on 127.0.0.1.

Pages are deterministic pseudo-random (seeded per page) and look like a real
Drupal newsroom page of about 50 KB: a head full of meta tags, inline CSS and a
settings JSON blob, a cookie banner, a main navigation mega-menu, breadcrumbs,
the article (title, date, a 600-word body of paragraphs, tags, share links), a
sidebar (related and most-read teasers, a newsletter box, inline SVG icons), a
large footer and inline scripts. Titles, bodies and dates are distinct, so no
page is a duplicate of another.

Listing pages (``/news?page=N``, newest first) show 50 teasers each with a
``next`` pager link. Every page is built on request from its number (a few
hundred microseconds) and never stored: 5,000 pages of 50 KB would be 250 MB.

`BenchServer` answers for the site's host (routing on the ``Host`` header, as
the sample sites do, so `presswatch crawl --mirror URL` works unchanged), with
ETag and Last-Modified on every page and 304 for conditional requests, and
counts the requests it answers.
"""

from __future__ import annotations

import hashlib
import random
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from presswatch.http import http_date, not_modified
from presswatch.httpserver import BackgroundServer, ThreadedServer
from presswatch.sample_sites.documents import report_pdf

HOST = "bench.example.org"
PER_LISTING = 50
BODY_WORDS = 600
# The newest article; each older one is published 7 h 13 min before the next.
NEWEST = datetime(2025, 6, 30, 9, 30, tzinfo=UTC)
STEP = timedelta(hours=7, minutes=13)

_WORDS = """
migration migrants displaced people families communities support government partners response
humanitarian assistance emergency shelter health protection services border return reintegration
labour mobility climate change disaster resilience development livelihoods training programme
project funding donors regional national local authorities capacity building data research report
survey displacement tracking matrix camps settlements water sanitation hygiene food security
children women youth older persons persons disabilities trafficking smuggling victims counter
awareness campaign rights dignity safe orderly regular pathways integration inclusion social
cohesion host employment skills recognition remittances diaspora investment entrepreneurship
small businesses grants cash transfers vouchers winterization kits blankets medical teams mobile
clinics vaccination mental psychosocial counselling referral case management legal aid documentation
identity registration biometrics consular visas passports travel resettlement relocation evacuation
transport flights buses coordination cluster agencies united nations organization international
office director general chief mission spokesperson statement conference workshop meeting forum
dialogue policy strategy framework agreement memorandum understanding cooperation ministry interior
labour foreign affairs social welfare education schools teachers students scholarships vocational
centres facilities equipment vehicles ambulances generators solar energy housing repairs rehabilitation
infrastructure roads bridges irrigation agriculture farmers fishermen pastoralists drought floods
storms cyclones earthquakes landslides wildfires heatwaves sea level rise environmental degradation
desertification land water scarcity conflict violence insecurity crisis recovery peace stability
monitoring evaluation assessment needs priorities gaps challenges lessons learned good practices
innovation digital technology platforms online information hotline feedback accountability affected
populations engagement participation leadership volunteers staff personnel partners civil society
non governmental organizations faith based private sector employers workers unions recruitment
ethical fair decent work conditions wages contracts protection standards inspection complaints
today yesterday week month year announced launched signed welcomed highlighted stressed noted
called urged said added explained reported warned estimated according figures show increase
decrease record highest lowest percent thousands millions hundreds dozens several many most
across within between among through during after before since until while although because
""".split()

_COUNTRIES = """
Moldova Ukraine Romania Poland Hungary Slovakia Bulgaria Serbia Bosnia Albania Montenegro Kosovo
Georgia Armenia Azerbaijan Kazakhstan Kyrgyzstan Tajikistan Uzbekistan Turkmenistan Belarus Lithuania
Latvia Estonia Greece Italy Spain Malta Cyprus Türkiye Libya Tunisia Morocco Niger Chad Sudan
Ethiopia Somalia Kenya Uganda Yemen Bangladesh Afghanistan Pakistan Colombia Venezuela Ecuador Peru
Haiti Honduras Guatemala Mexico Panama Philippines Indonesia Myanmar
""".split()

_TAGS = ["Labour Mobility", "Climate Action", "Emergency Response", "Counter-trafficking",
         "Migration Health", "Return and Reintegration", "Data and Research", "Border Management",
         "Displacement", "Integration", "Diaspora", "Resettlement"]

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]


def _display_date(moment: datetime) -> str:
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


# --------------------------------------------------------------------------- boilerplate
# Built once: what every page of a real CMS repeats (navigation, footer, CSS, JS).


def _boilerplate() -> dict[str, str]:
    rng = random.Random(20250630)

    def words(count: int) -> str:
        return " ".join(rng.choice(_WORDS) for _ in range(count))

    css_rules = []
    for index in range(70):
        css_rules.append(
            f".c{index:03d}-{rng.choice(_WORDS)}{{margin:{rng.randint(0, 24)}px {rng.randint(0, 24)}px;"
            f"padding:{rng.randint(0, 16)}px;color:#{rng.randrange(16**6):06x};"
            f"font-size:{rng.randint(10, 28)}px;line-height:1.{rng.randint(2, 8)}}}"
        )
    css = "\n".join(css_rules)

    settings = ",".join(
        f'"{rng.choice(_WORDS)}_{index}":{{"enabled":{str(rng.random() < 0.5).lower()},'
        f'"path":"\\/{rng.choice(_WORDS)}\\/{rng.choice(_WORDS)}","weight":{rng.randint(-50, 50)}}}'
        for index in range(60)
    )

    sections = ["Who We Are", "Our Work", "Where We Work", "Data and Research", "Newsroom", "Take Action",
                "Publications", "Careers"]
    menu = []
    for section in sections:
        slug = section.lower().replace(" ", "-")
        children = "".join(
            f'<li class="menu-item"><a href="/{slug}/{rng.choice(_WORDS)}-{rng.choice(_WORDS)}-{index}" '
            f'data-drupal-link-system-path="node/{rng.randint(1000, 99999)}">'
            f"{words(rng.randint(1, 3)).title()}</a></li>"
            for index in range(9)
        )
        menu.append(
            f'<li class="menu-item menu-item--expanded"><a href="/{slug}">{section}</a>'
            f'<ul class="menu menu--level-2">{children}</ul></li>'
        )
    nav = "\n".join(menu)

    countries = "".join(
        f'<li><a href="/countries/{name.lower()}" hreflang="en">{name}</a></li>' for name in _COUNTRIES
    )

    footer_columns = []
    for column in range(4):
        links = "".join(
            f'<li class="menu-item"><a href="/{rng.choice(_WORDS)}-{column}-{index}">'
            f"{words(rng.randint(1, 3)).title()}</a></li>"
            for index in range(14)
        )
        footer_columns.append(f'<div class="footer-column col-md-3"><ul class="menu">{links}</ul></div>')
    footer = "\n".join(footer_columns)

    icon_paths = " ".join(f"M{rng.randint(0, 24)} {rng.randint(0, 24)}L{rng.randint(0, 24)} "
                          f"{rng.randint(0, 24)}" for _ in range(18))
    icons = "".join(
        f'<svg class="icon icon-{name}" viewBox="0 0 24 24" aria-hidden="true"><path d="{icon_paths}"/></svg>'
        for name in ("twitter", "facebook", "linkedin", "email", "print", "whatsapp")
    )

    script = ";".join(
        f"(function(d){{var e{index}=d.querySelectorAll('.{rng.choice(_WORDS)}');"
        f"for(var i=0;i<e{index}.length;i++){{e{index}[i].addEventListener('click',function(){{"
        f"this.classList.toggle('is-{rng.choice(_WORDS)}')}})}}}})(document)"
        for index in range(30)
    )
    return {"css": css, "settings": settings, "nav": nav, "countries": countries, "footer": footer,
            "icons": icons, "script": script, "newsletter": words(40)}


_BP: dict[str, str] = {}


def _bp() -> dict[str, str]:
    if not _BP:
        _BP.update(_boilerplate())
    return _BP


# --------------------------------------------------------------------------- the site


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str
    status: int = 200
    etag: str | None = None
    last_modified: datetime | None = None


# The bench site's PDFs: a few distinct reports of REPORT_PAGES pages, linked round robin
# (written once each with fpdf2; extraction reads every one as a new document).
REPORT_VARIANTS = 5
REPORT_PAGES = 40


@lru_cache(maxsize=REPORT_VARIANTS)
def bench_report(variant: int) -> bytes:
    return report_pdf(REPORT_PAGES, seed=variant)


class BenchSite:
    """``pages`` generated articles on ``host``, newest first, and their listing pages."""

    def __init__(self, pages: int = 5000, host: str = HOST, seed: int = 9, documents_every: int = 0):
        if pages < 1:
            raise ValueError("pages must be at least 1")
        self.pages = pages
        # Every documents_every-th article links a PDF report in its body (0: none), as a
        # publication links its report (issue 17: the memory target counts documents in).
        self.documents_every = documents_every
        self.host = host
        self.seed = seed
        self.listing_pages = -(-pages // PER_LISTING)
        self._rendered: dict[str, Page] = {}  # target -> page, filled by `render_all`

    def render_all(self) -> int:
        """Build every page now and keep it (about 53 KB a page): the server then only sends
        bytes, so its CPU (which shares the machine with the crawl) stays small. Returns bytes held."""
        for page in range(self.listing_pages):
            self._rendered[f"/news?page={page}"] = self.listing(page)  # type: ignore[assignment]
        for number in range(self.pages):
            self._rendered[self.article_path(number)] = self.article(number)
        return sum(len(page.body) for page in self._rendered.values())

    def forget_rendered(self) -> None:
        self._rendered.clear()

    # ------------------------------------------------------------- URLs and facts

    @property
    def base(self) -> str:
        return f"https://{self.host}"

    def listing_url(self, page: int = 0) -> str:
        return f"{self.base}/news?page={page}"

    def _rng(self, number: int, salt: str = "") -> random.Random:
        return random.Random(f"{self.seed}:{number}:{salt}")

    def published(self, number: int) -> datetime:
        return NEWEST - number * STEP

    def title(self, number: int) -> str:
        rng = self._rng(number, "title")
        verb = rng.choice(["supports", "welcomes", "launches", "calls for", "expands", "scales up",
                           "strengthens", "reaches", "opens", "marks"])
        country = rng.choice(_COUNTRIES)
        topic = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 5)))
        return f"IOM {verb} {topic} in {country} ({number + 1:05d})"

    def slug(self, number: int) -> str:
        ascii_title = unicodedata.normalize("NFKD", self.title(number)).encode("ascii", "ignore").decode()
        words = ascii_title.lower().replace("(", "").replace(")", "").split()
        return "-".join(words[:8]) + f"-{number + 1}"

    def article_path(self, number: int) -> str:
        return f"/news/{self.slug(number)}"

    def article_url(self, number: int) -> str:
        return self.base + self.article_path(number)

    def number_of(self, path: str) -> int | None:
        """The article number of ``path`` (None when it is not an article of this site)."""
        if not path.startswith("/news/"):
            return None
        tail = path.rsplit("-", 1)[-1]
        if not tail.isdigit():
            return None
        number = int(tail) - 1
        if not 0 <= number < self.pages or path != self.article_path(number):
            return None
        return number

    def paragraphs(self, number: int) -> list[str]:
        """The body: 600 words in paragraphs of sentences, with a dateline and a few country names."""
        rng = self._rng(number, "body")
        moment = self.published(number)
        remaining = BODY_WORDS
        paragraphs: list[str] = []
        while remaining > 0:
            sentences = []
            for _ in range(rng.randint(2, 4)):
                length = min(remaining, rng.randint(12, 28))
                if length <= 0:
                    break
                remaining -= length
                words = [rng.choice(_WORDS) for _ in range(length)]
                if rng.random() < 0.3:
                    words[rng.randrange(length)] = rng.choice(_COUNTRIES)
                sentence = " ".join(words)
                sentences.append(sentence[0].upper() + sentence[1:] + ".")
            paragraphs.append(" ".join(sentences))
        city = rng.choice(_COUNTRIES)
        paragraphs[0] = f"{city} – {moment.day} {_MONTHS[moment.month - 1]}. " + paragraphs[0]
        return paragraphs

    def etag(self, number: int) -> str:
        digest = hashlib.sha1(f"{self.seed}:{number}".encode()).hexdigest()[:16]
        return f'"{digest}"'

    # ------------------------------------------------------------- pages

    def article(self, number: int) -> Page:
        bp = _bp()
        rng = self._rng(number, "page")
        moment = self.published(number)
        title = self.title(number)
        url = self.article_url(number)
        node = 100000 + number
        iso = moment.isoformat()
        paragraphs = "\n".join(f"        <p>{text}</p>" for text in self.paragraphs(number))
        if self.documents_every and number % self.documents_every == 0:
            # Its own words on each page: a sentence shared by every such page would be
            # boilerplate to the story index (pipelines/neardup.py), a cost of its own.
            paragraphs += (f'\n        <p>The full report behind "{title}": '
                           f'<a href="/files/report-{number}.pdf" type="application/pdf">PDF, '
                           f'{REPORT_PAGES} pages</a>.</p>')
        description = f"{title}: {' '.join(rng.choice(_WORDS) for _ in range(24))}."
        tags = "".join(
            f'<a href="/tags/{tag.lower().replace(" ", "-")}" class="tag">{tag}</a>'
            for tag in rng.sample(_TAGS, 3)
        )
        related_numbers = [(number + offset) % self.pages for offset in (1, 2, 3, 5, 8, 13, 21, 34)]
        related = "\n".join(
            f'<li class="teaser"><a href="{self.article_path(other)}"><span class="teaser__title">'
            f"{self.title(other)}</span></a><span class=\"teaser__date\">"
            f"{_display_date(self.published(other))}</span>"
            f'<p class="teaser__text">{" ".join(rng.choice(_WORDS) for _ in range(18))}</p></li>'
            for other in related_numbers
        )
        popular = "\n".join(
            f'<li><a href="{self.article_path(other)}">{self.title(other)}</a></li>'
            for other in ((number * 7 + step * 31) % self.pages for step in range(6))
        )
        html = _ARTICLE.format(
            title=title, url=url, iso=iso, node=node, description=description,
            display_date=_display_date(moment), paragraphs=paragraphs, tags=tags, related=related,
            popular=popular, path=self.article_path(number), **bp,
        )
        return Page(html.encode(), "text/html; charset=utf-8", etag=self.etag(number), last_modified=moment)

    def listing(self, page: int) -> Page | None:
        if not 0 <= page < self.listing_pages:
            return None
        bp = _bp()
        first = page * PER_LISTING
        cards = "\n".join(
            f'    <div class="col-sm-12 col-md-6 col-lg-4 views-row"><a href="{self.article_path(n)}">'
            f'<div class="article-detail"><h5 class="title">{self.title(n)}</h5>'
            f'<div class="tag">Press Release</div><div class="date">{_display_date(self.published(n))}'
            f"</div></div></a></div>"
            for n in range(first, min(first + PER_LISTING, self.pages))
        )
        pager = ""
        if page + 1 < self.listing_pages:
            pager = (f'<li class="pager__item pager__item--next"><a href="?page={page + 1}" '
                     f'title="Go to next page" rel="next">Next ›</a></li>')
        html = _LISTING.format(page=page, cards=cards, pager=pager, **bp)
        digest = hashlib.sha1(f"{self.seed}:{self.pages}:listing:{page}".encode()).hexdigest()[:16]
        return Page(html.encode(), "text/html; charset=utf-8", etag=f'"{digest}"',
                    last_modified=self.published(first))

    def lookup(self, target: str) -> Page:
        """The page at ``target`` (path and query); a 404 page when there is none."""
        rendered = self._rendered.get(target)
        if rendered is not None:
            return rendered
        parts = urlsplit(target)
        path = unquote(parts.path)
        if path == "/robots.txt":
            return Page(b"User-agent: *\nDisallow: /search\n", "text/plain; charset=utf-8")
        if self.documents_every and path.startswith("/files/report-") and path.endswith(".pdf"):
            number = path[len("/files/report-"):-len(".pdf")]
            if number.isdigit() and int(number) < self.pages and int(number) % self.documents_every == 0:
                return Page(bench_report(int(number) % REPORT_VARIANTS), "application/pdf",
                            etag=f'"report-{int(number) % REPORT_VARIANTS}"')
        if path == "/news":
            values = parse_qs(parts.query).get("page", ["0"])
            page = self.listing(int(values[0])) if values[0].isdigit() else None
            if page is not None:
                return page
        else:
            number = self.number_of(path)
            if number is not None:
                return self.article(number)
        return Page(b"<!DOCTYPE html><html><head><title>Not found</title></head><body>"
                    b"<h1>Page not found</h1></body></html>", "text/html; charset=utf-8", status=404)

    def sources_toml(self, source_id: str = "bench-news", selectors: bool = True) -> str:
        """A sources.toml with one source: this site's listing, with the same selectors as iom-press
        (``selectors=False``: the same source without [source.selectors], extracted generically)."""
        host = self.host.replace(".", r"\.")
        text = f"""# Generated by bench/site.py: the benchmark site {self.host} ({self.pages} articles).
[[source]]
id = "{source_id}"
name = "Benchmark newsroom ({self.pages} articles)"
kind = "press_release"
region = "global"
languages = ["en"]
timezone = "UTC"
start_urls = ["{self.listing_url(0)}"]
item_urls = '^https://{host}/news/'
schedule = {{ every = "6h" }}

[source.listing]
item = "a:has(> div.article-detail)"
date = "div.date::text"
next = "li.pager__item--next a"
max_pages = {max(1, self.listing_pages)}
"""
        if selectors:
            text += """
[source.selectors]
title = "h1.page-title"
body = "div.narrow-content div.field--type-text-with-summary"
"""
        return text

    def write_sources(self, directory: Path, source_id: str = "bench-news", selectors: bool = True) -> Path:
        path = Path(directory) / "sources.toml"
        path.write_text(self.sources_toml(source_id, selectors), encoding="utf-8")
        return path


# --------------------------------------------------------------------------- server


class _Handler(BaseHTTPRequestHandler):
    server: ThreadedServer
    protocol_version = "HTTP/1.1"
    timeout = 30

    def version_string(self) -> str:
        return "presswatch-bench/1.0"

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._answer(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def _answer(self, head: bool) -> None:
        bench: BenchServer = self.server.owner
        host = self.headers.get("Host", "").strip().lower().rsplit(":", 1)[0]
        site = bench.sites.get(host)
        if site is None:
            page = Page(b"unknown host\n", "text/plain; charset=utf-8", status=404)
        else:
            page = site.lookup(self.path)
        status = 304 if page.status == 200 and self._not_modified(page) else page.status
        bench.count(host, self.path, status)
        self.send_response(status)
        if page.etag:
            self.send_header("ETag", page.etag)
        if page.last_modified:
            self.send_header("Last-Modified", http_date(page.last_modified))
        if status != 304:
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
        else:
            self.send_header("Content-Length", "0")
        self.end_headers()
        if status != 304 and not head:
            self.wfile.write(page.body)

    def _not_modified(self, page: Page) -> bool:
        return not_modified(self.headers, page.etag, page.last_modified)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class BenchServer(BackgroundServer):
    """A threaded HTTP server on 127.0.0.1 for one or more `BenchSite`s, routing on ``Host``."""

    def __init__(self, *sites: BenchSite, port: int = 0, host: str = "127.0.0.1"):
        self.sites = {site.host: site for site in sites}
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # kind -> count: article, listing, robots, other, 304
        super().__init__(_Handler, host=host, port=port, name="bench-site")

    def count(self, host: str, target: str, status: int) -> None:
        path = urlsplit(target).path
        kind = "article" if path.startswith("/news/") else "listing" if path == "/news" else (
            "robots" if path == "/robots.txt" else "other")
        with self._lock:
            self.requests["total"] += 1
            self.requests[kind] += 1
            self.requests[f"status_{status}"] += 1

    def reset(self) -> Counter[str]:
        """The counts so far, and start counting again from zero."""
        with self._lock:
            counts, self.requests = self.requests, Counter()
        return counts


# --------------------------------------------------------------------------- templates

_HEAD = """<!DOCTYPE html>
<html lang="en" dir="ltr" prefix="og: https://ogp.me/ns#">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
{meta}
<link rel="icon" href="/themes/custom/iom/favicon.ico" type="image/vnd.microsoft.icon">
<link rel="stylesheet" media="all" href="/sites/g/files/tmzbdl486/files/css/css_Xk2bTq9dY3mQ.css">
<style media="all">
{css}
</style>
<script type="application/json" data-drupal-selector="drupal-settings-json">{{"path":{{"baseUrl":"\\/",\
"pathPrefix":"","currentPath":"{path}","currentLanguage":"en"}},{settings}}}</script>
<script src="/core/assets/vendor/jquery/jquery.min.js?v=3.6.3"></script>
</head>
<body class="path-node page-node-type-press-release">
<a href="#main-content" class="visually-hidden focusable skip-link">Skip to main content</a>
<div id="sliding-popup" class="sliding-popup-bottom eu-cookie-compliance-banner" role="alertdialog">
  <div class="eu-cookie-compliance-content"><div id="popup-text" class="eu-cookie-compliance-message">
    <h2>We use cookies on this site to enhance your user experience</h2>
    <p>By clicking any link on this page you are giving your consent for us to set cookies.</p>
    <button type="button" class="find-more-button">More info</button></div>
    <div id="popup-buttons"><button type="button" class="agree-button">OK, I agree</button>
    <button type="button" class="decline-button">No, thanks</button></div></div>
</div>
<div class="dialog-off-canvas-main-canvas" data-off-canvas-main-canvas>
<header role="banner" class="site-header">
  <div class="region region-header"><a href="/" title="Home" rel="home" class="site-logo">
  <img src="/sites/g/files/tmzbdl486/files/logo/iom-un-migration-logo.svg" alt="IOM UN Migration"
   width="190" height="60"></a></div>
  <nav role="navigation" aria-labelledby="block-mainnavigation-menu" class="block-menu navigation menu--main">
    <h2 class="visually-hidden" id="block-mainnavigation-menu">Main navigation</h2>
    <ul class="menu">
{nav}
    </ul>
  </nav>
  <form class="search-block-form" action="/search" method="get" accept-charset="UTF-8">
    <label for="edit-keys" class="visually-hidden">Search</label>
    <input type="search" id="edit-keys" name="keywords" size="15" maxlength="128">
    <input type="submit" value="Search" class="button">
  </form>
</header>
<main role="main" class="main-container">
  <a id="main-content" tabindex="-1"></a>
  <div class="layout-content">
"""

_FOOT = """  </div>
</main>
<footer role="contentinfo" class="site-footer">
  <div class="region region-footer">
    <div class="footer-newsletter"><h2>Subscribe to our newsletter</h2><p>{newsletter}</p>
    <a href="/newsletter" class="button">Subscribe</a></div>
    <nav class="menu--footer row">
{footer}
    </nav>
    <div class="footer-countries"><h2>Where we work</h2><ul class="country-list">{countries}</ul></div>
    <div class="social-media-links">{icons}</div>
    <p class="copyright">© International Organization for Migration (IOM) – UN Migration</p>
  </div>
</footer>
</div>
<script>{script}</script>
<script src="/themes/custom/iom/js/main.js?v=9.5"></script>
</body>
</html>
"""

_ARTICLE = _HEAD.replace("{meta}", """<title>{title} | International Organization for Migration</title>
<meta name="description" content="{description}">
<meta property="og:site_name" content="International Organization for Migration">
<meta property="og:type" content="article">
<meta property="og:url" content="{url}">
<meta property="og:title" content="{title}">
<meta property="og:image" content="{url}/image-{node}.jpg">
<meta property="article:published_time" content="{iso}">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:site" content="@UNmigration">
<link rel="canonical" href="{url}">
<link rel="shortlink" href="/node/{node}">""") + """<div class="region region-breadcrumb">
<nav class="breadcrumb"><ol><li><a href="/">Home</a></li>
<li><a href="/news">News</a></li></ol></nav></div>
<div class="page-header">
  <span class="content-type-label">Press Release</span>
  <h1 class="page-title">{title}</h1>
  <div class="node__meta"><time datetime="{iso}">{display_date}</time></div>
  <div class="share-buttons"><span>Share</span> <a href="https://twitter.com/intent/tweet?url={url}">Twitter</a>
  <a href="https://www.facebook.com/sharer/sharer.php?u={url}">Facebook</a>
  <a href="https://www.linkedin.com/shareArticle?url={url}">LinkedIn</a></div>
</div>
<div class="row">
<article data-history-node-id="{node}" role="article" class="col-md-8 node node--type-press-release">
  <div class="container">
    <div class="narrow-content">
      <div class="clearfix text-formatted field field--name-body field--type-text-with-summary field__item">
{paragraphs}
      </div>
      <div class="field field--name-field-tags"><div class="field__label">Tags</div>{tags}</div>
    </div>
  </div>
</article>
<aside class="col-md-4 sidebar" role="complementary">
  <div class="block block-related"><h2 class="block-title">Related</h2><ul class="teasers">
{related}
  </ul></div>
  <div class="block block-popular"><h2 class="block-title">Most read</h2><ol>
{popular}
  </ol></div>
  <div class="block block-contact"><h2 class="block-title">For more information</h2>
  <p>Media and Communications Division, <a href="mailto:media@example.org">media@example.org</a></p></div>
</aside>
</div>
""" + _FOOT

_LISTING_META = """<title>News (page {page}) | International Organization for Migration</title>
<link rel="canonical" href="/news?page={page}">"""
_LISTING = _HEAD.replace("{meta}", _LISTING_META).replace("{path}", "\\/news") + """\
<h1 class="page-title">News</h1>
<div class="views-element-container"><div class="view view-search">
  <div class="view-content row">
{cards}
  </div>
  <nav class="pager" role="navigation"><ul class="pager__items js-pager__items">{pager}</ul></nav>
</div></div>
""" + _FOOT
