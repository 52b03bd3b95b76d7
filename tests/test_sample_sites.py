"""The bundled sample sites, over real HTTP on 127.0.0.1 (docs/sample-sites.md)."""

from __future__ import annotations

import html
import http.client
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import lxml.html
import parsel
import pytest

from presswatch.sample_sites.server import SampleSiteServer, load_content

CONTENT = load_content()
ARTICLES = CONTENT["article"]
WWW_QUERY = "type[0]=press_release&type[1]=blog_list&type[2]=featured_stories&sort_bef_combine=created_DESC"

# Every titled item of the seed documents (/work/shared/seeds).
SEED_TITLES = [
    "Human mobility and coronavirus disease 2019 (COVID-19): a negative binomial regression analysis",
    "The MIPEX Health strand: a longitudinal, mixedmethods survey of policies on migrant health "
    "in 38 countries",
    "Assisted Voluntary Return for Vulnerable Persons VI",
    "Facilitating Refugee Resettlement to Lithuania",
    "Innovative Development of Intercultural Competences for Police Officers (IDIC)",
    "Migration health: Better health for all in Europe",
    "Migration Health 2020 Impact Overview",
    "Diaspora Engagement in Health in The Eastern Mediterranean Region: A desk review of experiences",
    "Research on the Health Vulnerabilities of the Cross Border Migrants from Nepal",
    "Psychosocial and mental health impacts of migration on ‘left-behind’ children of "
    "international migrant workers. In: Dinesh Bhugra (ed) Oxford Textbook of Migrant Psychiatry",
    "Migration of Health Workers (Bosnian-Croatian-Serbian)",
    "Migration Health in the Sustainable Development Goals (Bosnian-Croatian-Serbian)",
    "Reaching out to migrant households during COVID-19 outbreak: the increasing need of social "
    "workers in Cambodia",
    "Integracion Laboral En El Sector Salud De La Poblacion Venezolana En La Republica Argentina",
    "About the organization",
    "The Future of Family Remittances is Digital",
    "World Migration Report 2022 launched",
    "IOM and Partners Scaling Up Aid for Migrants and Refugees Stranded in Belarus",
    "WDATiP around the Region",
    "Diaspora Policy Must Start With Economic Policy",
    "Launch of Moldova Migration Data Profile",
    "IOM and UN Help Returned Armenian Migrants Back to Work During Pandemic",
    "Migration and displacement in Armenia: Three stories of loss and perseverance",
    "The Faces Behind the Masks",
    "“Luck would not have happened without misfortune’s help.”",
]
SEED_TEASERS = [  # untitled seed items: their text opens an article
    "IOM Ukraine is offering an interactive experience to Instagram users with its new digital "
    "campaign “No single portrait”.",
    "On the International Day of Family Remittances, Renate Held, IOM Regional Director for "
    "Southeastern Europe, Eastern Europe and Central Asia, and Simone Giger, Head of SDC’s Global "
    "Programme for Migration and Development, look at how the financial sector can contribute to "
    "an equitable recovery",
]


@pytest.fixture(scope="module")
def server():
    lines: list[str] = []
    with SampleSiteServer(log=lines.append) as s:
        s.log_lines = lines
        yield s


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes, url: str):
        self.status, self.headers, self.body, self.url = status, headers, body, url

    @property
    def text(self) -> str:
        charset = self.headers.get_content_charset() or "utf-8"
        return self.body.decode({"windows-1257": "cp1257"}.get(charset, charset))

    def html(self) -> lxml.html.HtmlElement:
        return lxml.html.fromstring(self.body)


def fetch(server, url: str, method: str = "GET", headers: dict | None = None) -> Response:
    """Request a real URL (https://host/path) from the sample server, via the Host header."""
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, target, headers={"Host": parts.netloc, **(headers or {})})
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read(), url)
    finally:
        conn.close()


def url_of(article: dict) -> str:
    return f"https://{article['site']}{article['path']}"


def text_of(nodes) -> str:
    return " ".join(" ".join(n.text_content().split()) for n in nodes)


# ------------------------------------------------------------------ listings

LISTINGS = [
    # first listing URL, card selector, next-link selector, cards per page
    (
        f"https://www.iom.int/search?{WWW_QUERY}&page=0",
        "div.article-detail",
        "li.pager__item--next a",
        [12, 12, 7],
    ),
    ("https://rovienna.iom.int/press/press-releases", "div.node-teaser", "li.pager-next a", [8, 2]),
    ("https://publications.iom.int/search-books", "div.book-card", "li.pager__item--next a", [8, 3]),
    ("https://eca.iom.int/news", "div.article-detail", "li.pager__item--next a", [4]),
    ("https://eca.iom.int/stories", "div.article-detail", "li.pager__item--next a", [3]),
    ("https://moldova.iom.int/news", "div.views-row", "li.pager__item--next a", [2]),
    ("https://moldova.iom.int/ro/news", "div.views-row", "li.pager__item--next a", [2]),
    ("https://ukraine.iom.int/news", "div.views-row", "li.pager__item--next a", [2]),
    ("https://ukraine.iom.int/uk/news", "div.views-row", "li.pager__item--next a", [2]),
    ("https://armenia.iom.int/news", "div.views-row", "li.pager__item--next a", [2]),
    ("https://armenia.iom.int/hy/news", "div.views-row", "li.pager__item--next a", [1]),
    ("https://lithuania.iom.int/news", "div.views-row", "li.pager__item--next a", [3]),
    ("https://lithuania.iom.int/lt/news", "div.views-row", "li.pager__item--next a", [1]),
]


def walk(server, first: str, next_selector: str):
    """Yield (url, response) for each page of a listing, following the next link."""
    url, seen = first, set()
    while url:
        assert url not in seen, f"pager loops at {url}"
        seen.add(url)
        r = fetch(server, url)
        assert r.status == 200, url
        yield url, r
        nxt = r.html().cssselect(next_selector)
        url = urljoin(url, nxt[0].get("href")) if nxt else None


@pytest.mark.parametrize("first,cards,next_selector,counts", LISTINGS, ids=lambda v: str(v)[:40])
def test_listing_paginates(server, first, cards, next_selector, counts):
    seen = [len(r.html().cssselect(cards)) for _, r in walk(server, first, next_selector)]
    assert seen == counts


def test_listing_counts_match_content():
    def count(site, kind=None, lang="en"):
        return sum(
            1
            for a in ARTICLES
            if a["site"] == site and (kind is None or a["kind"] == kind) and a["lang"] == lang
        )

    specials = sum(1 for s in CONTENT["special"] if s["site"] == "www.iom.int")
    assert count("www.iom.int") + specials == 12 + 12 + 7
    assert count("rovienna.iom.int") == 10
    assert count("publications.iom.int") == 11
    assert (count("eca.iom.int", "news"), count("eca.iom.int", "story")) == (4, 3)
    assert count("moldova.iom.int", lang="ro") == 2
    assert count("lithuania.iom.int", lang="lt") == 1


def test_www_pager_is_query_only_and_special_on_page_1(server):
    pages = list(walk(server, f"https://www.iom.int/search?{WWW_QUERY}&page=0", "li.pager__item--next a"))
    first_next = pages[0][1].html().cssselect("li.pager__item--next a")[0].get("href")
    assert first_next == f"?{WWW_QUERY}&page=1"
    hrefs = [[a.get("href") for a in r.html().cssselect("a")] for _, r in pages]
    special = "/news/statement-on-border-closures-withdrawn"
    assert [special in h for h in hrefs] == [False, True, False]
    # cards: <a href><div class="article-detail"><h5 class="title">, div.tag, div.date
    card = pages[0][1].html().cssselect("div.article-detail")[0]
    assert card.getparent().tag == "a" and card.getparent().get("href").startswith("/news/")
    assert card.cssselect("h5.title") and card.cssselect("div.tag")[0].text == "Press Release"
    assert card.cssselect("div.date")[0].text == "16 December 2022"


def test_every_article_is_reachable_from_the_listings(server):
    """A crawl from the entry points finds exactly the pages of content.toml."""
    card_links = {
        "d9": "div.article-detail",
        "d7": "div.node-teaser h2 a",
        "country": "div.views-row h3 a",
        "books": "div.book-card h3 a",
    }
    found: set[str] = set()
    for first, cards, next_selector, _ in LISTINGS:
        for url, r in walk(server, first, next_selector):
            doc = r.html()
            if "article-detail" in cards:
                links = [d.getparent() for d in doc.cssselect(card_links["d9"])]
            elif "node-teaser" in cards:
                links = doc.cssselect(card_links["d7"])
            elif "book-card" in cards:
                links = doc.cssselect(card_links["books"])
            else:
                links = doc.cssselect(card_links["country"])
            found.update(urljoin(url, a.get("href")) for a in links)
    for lang in ("en", "lt", "ru"):
        home = f"https://micenter.lt/{lang}/"
        found.update(
            urljoin(home, a.get("href")) for a in fetch(server, home).html().cssselect("ul.page-list a")
        )
    expected = {url_of(a) for a in ARTICLES}
    special = {f"https://{s['site']}{s['path']}" for s in CONTENT["special"]}
    assert found == expected | special
    for url in sorted(found):
        assert fetch(server, url, "HEAD").status == (404 if url in special else 200), url


def test_document_relative_links_resolve(server):
    r = fetch(server, "https://moldova.iom.int/ro/news")
    hrefs = [a.get("href") for a in r.html().cssselect("div.views-row h3 a")]
    assert all(h.startswith("news/") for h in hrefs)
    assert urljoin(r.url, hrefs[0]).startswith("https://moldova.iom.int/ro/news/")
    r = fetch(server, "https://rovienna.iom.int/press/press-releases")
    hrefs = [a.get("href") for a in r.html().cssselect("div.node-teaser h2 a")]
    assert any(h.startswith("/press/") for h in hrefs)
    assert any(not h.startswith("/") for h in hrefs)


# ------------------------------------------------------------------ articles


def test_www_article_markup(server):
    r = fetch(server, "https://www.iom.int/news/world-migration-report-2022-launched")
    assert r.status == 200
    doc = r.html()
    assert doc.get("lang") == "en"
    assert [h.text for h in doc.cssselect("h1.page-title")] == ["World Migration Report 2022 launched"]
    assert doc.cssselect("time")[0].get("datetime") == "2021-12-01T10:30:00+01:00"
    assert doc.cssselect("time")[0].text == "01 December 2021"
    meta = doc.cssselect('meta[property="article:published_time"]')[0]
    assert meta.get("content") == "2021-12-01T10:30:00+01:00"
    canonical = doc.cssselect('link[rel="canonical"]')[0].get("href")
    assert canonical == "https://www.iom.int/news/world-migration-report-2022-launched"
    body = doc.cssselect("div.narrow-content div.field--type-text-with-summary")
    assert len(body) == 1
    paragraphs = [p.text_content() for p in body[0].cssselect("p")]
    article = next(a for a in ARTICLES if url_of(a) == canonical)
    closing = CONTENT["boilerplate"]["www.iom.int"]["closing"]
    assert paragraphs == article["body"] + closing
    assert paragraphs[-2].startswith("About IOM")
    sdg = doc.cssselect("div.field--name-dynamic-block-fieldnode-sdg-sorted img")
    assert [int(i.get("src").split("e_web_")[1][:2]) for i in sdg] == article["sdgs"]


def test_story_and_rovienna_markup(server):
    doc = fetch(server, "https://eca.iom.int/stories/faces-behind-masks").html()
    assert doc.cssselect("h1.page-title")[0].text == "The Faces Behind the Masks"
    contents = doc.cssselect("div[data-history-node-id] div.field--name-field-contents")
    assert "Belgrade" in text_of(contents)

    r = fetch(server, "https://rovienna.iom.int/press/world-migration-report-2022-launched")
    doc = r.html()
    assert doc.cssselect("h1#page-title")[0].text == "World Migration Report 2022 launched"
    assert doc.cssselect("span.date-display-single")[0].text == "Dec 01, 2021"
    assert not doc.cssselect('meta[property="article:published_time"]')
    assert "You are here: Home » Press Releases" in text_of(doc.cssselect("div.breadcrumb"))
    original = fetch(server, "https://www.iom.int/news/world-migration-report-2022-launched")
    assert text_of(doc.cssselect("div.field-name-body")) == text_of(
        original.html().cssselect("div.narrow-content div.field--type-text-with-summary")
    )


@pytest.mark.parametrize(
    "url,date_text,opening",
    [
        (
            "https://moldova.iom.int/news/launch-moldova-migration-data-profile",
            None,
            "Chisinau - 16 June. IOM in Moldova",
        ),
        (
            "https://moldova.iom.int/ro/news/lansarea-profilului-de-date-privind-migratia-al-republicii-moldova",
            "16 iunie 2021",
            "Chișinău, 16 iunie. OIM Moldova",
        ),
        (
            "https://ukraine.iom.int/news/iom-ukraine-launches-no-single-portrait-digital-campaign-instagram",
            None,
            "Kyiv—18 December. IOM Ukraine is offering",
        ),
        (
            "https://ukraine.iom.int/uk/news/mobilni-medychni-brygady-dopomagayut-gromadam-shodu-ukrayiny",
            "21 вересня 2021",
            "Київ, 21 вересня.",
        ),
        (
            "https://armenia.iom.int/news/armenia-marks-world-day-against-trafficking-persons-survivor-led-campaign",
            "30 July 2021",
            "Armenia marked",
        ),
        (
            "https://armenia.iom.int/hy/news/hayastany-nshec-trafikingi-dem-payqari-hamashkharhayin-ory",
            "30 հուլիսի 2021",
            "Հուլիսի 30-ին",
        ),
        (
            "https://lithuania.iom.int/lt/news/savanorisko-grizimo-pagalba-pazeidziamiems-asmenims-vi",
            "2021 m. birželio 16 d.",
            "Bendrasis projekto tikslas",
        ),
        (
            "https://lithuania.iom.int/news/innovative-development-intercultural-competences-police-officers-idic",
            None,
            "This project aims",
        ),
    ],
)
def test_country_dates_and_datelines(server, url, date_text, opening):
    r = fetch(server, url)
    assert r.status == 200
    doc = r.html()
    article = next(a for a in ARTICLES if url_of(a) == url)
    assert doc.get("lang") == article["lang"]
    # the long navigation menu comes before the title
    page = r.text
    assert page.index("2030 Agenda") < page.index('class="page-title"')
    assert doc.cssselect("h1.page-title")[0].text == article["title"]
    dates = [d.text for d in doc.cssselect("div.date")]
    assert dates == ([date_text] if date_text else [])
    assert not doc.cssselect("time") and not doc.cssselect('meta[property^="article:"]')
    first = doc.cssselect("div.field--name-body p")[0].text_content()
    assert first.startswith(opening)
    if date_text is None and article.get("date"):  # no year anywhere near the date
        d = article["date"]
        assert d.date().isoformat() not in page and f"{d:%B} {d.year}" not in page


def test_english_country_listing_has_no_dates(server):
    for url in ("https://moldova.iom.int/news", "https://ukraine.iom.int/news"):
        doc = fetch(server, url).html()
        assert doc.cssselect("div.views-row") and not doc.cssselect("div.date")
    doc = fetch(server, "https://armenia.iom.int/news").html()
    assert [d.text for d in doc.cssselect("div.date")] == ["22 March 2022", "30 July 2021"]


def test_hreflang_alternates(server):
    doc = fetch(server, "https://moldova.iom.int/news/launch-moldova-migration-data-profile").html()
    alternates = {
        link.get("hreflang"): link.get("href") for link in doc.cssselect('link[rel="alternate"][hreflang]')
    }
    assert alternates == {
        "en": "https://moldova.iom.int/news/launch-moldova-migration-data-profile",
        "ro": "https://moldova.iom.int/ro/news/lansarea-profilului-de-date-privind-migratia-al-republicii-moldova",
    }
    doc = fetch(
        server, "https://armenia.iom.int/news/diaspora-doctors-share-skills-regional-hospitals-armenia"
    ).html()
    assert not doc.cssselect('link[rel="alternate"][hreflang]')


def test_publication_page(server):
    r = fetch(
        server,
        "https://publications.iom.int/books/research-health-vulnerabilities-cross-border-migrants-nepal",
    )
    doc = r.html()
    article = next(a for a in ARTICLES if url_of(a) == r.url)
    sel = parsel.Selector(text=r.text)

    def field(name):  # the value is the field div's own text
        return sel.css(f"div.field--name-field-{name}::text").get()

    assert sel.css("h1.page-title::text").get() == article["title"]
    assert text_of(doc.cssselect("div.field--name-field-abstract")) == article["body"][0]
    assert field("publication-year") == "2007"
    assert field("isbn") == article["isbn"]
    assert field("issn") is None  # no ISSN for this one
    assert field("authors") == "IOM Nepal"
    assert field("country") == "Nepal"
    assert field("topic") == "Migration health"
    assert field("language") == "English"
    assert sel.css("time::attr(datetime)").get() == "2007-08-15T12:00:00Z"
    pdf = doc.cssselect("a.pdf-download")[0].get("href")
    assert pdf.startswith("/sites/g/files/tmzbdl2616/files/pdf/")
    r = fetch(server, urljoin(r.url, pdf))
    assert r.status == 200 and r.headers["Content-Type"] == "application/pdf"
    assert r.body.startswith(b"%PDF-")
    listing = fetch(server, "https://publications.iom.int/search-books").text
    assert listing.index("Country Code") < listing.index('class="book-card"')


def test_isbns_are_valid():
    for a in ARTICLES:
        if a["kind"] == "publication":
            digits = [int(c) for c in a["isbn"] if c.isdigit()]
            assert len(digits) == 13 and a["isbn"].startswith(("978-92-9068-", "978-92-9268-"))
            assert sum(d * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10 == 0
            assert a["year"] == a["date"].year


# ------------------------------------------------------------------ special pages


def test_withdrawn_release_answers_404(server):
    r = fetch(server, "https://www.iom.int/news/statement-on-border-closures-withdrawn")
    assert r.status == 404
    assert "text/html" in r.headers["Content-Type"]


def test_unknown_paths_answer_404_html(server):
    for host in server.hosts:
        r = fetch(server, f"https://{host}/no/such/page")
        assert r.status == 404 and r.headers.get_content_type() == "text/html", host
    assert fetch(server, "https://www.iom.int/search?page=9").status == 404


def test_windows_1257_page(server):
    r = fetch(server, "https://micenter.lt/lt/apie-organizacija")
    assert r.status == 200
    assert r.headers["Content-Type"] == "text/html; charset=windows-1257"
    with pytest.raises(UnicodeDecodeError):
        r.body.decode("utf-8")
    text = r.body.decode("cp1257")
    assert '<meta charset="windows-1257">' in text
    assert "Apie organizaciją" in text and "Lietuva tapo visateise TMO nare" in text
    for letter in "ąčęėįšųūž":
        assert letter in text
    assert "Užpildykite neįvestus laukelius!" in text  # chrome too


def test_micenter_home_pages_and_sitemap(server):
    pages = [a for a in ARTICLES if a["site"] == "micenter.lt"]
    root = ET.fromstring(fetch(server, "https://micenter.lt/sitemap.xml").body)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    assert {loc.text for loc in root.findall("s:url/s:loc", ns)} == {url_of(a) for a in pages}
    for lang in ("en", "lt", "ru"):
        home = f"https://micenter.lt/{lang}/"
        r = fetch(server, home)
        links = {urljoin(home, a.get("href")) for a in r.html().cssselect("ul.page-list a")}
        assert links == {url_of(a) for a in pages if a["lang"] == lang}
        assert "Topics I am interested in:" in r.text or lang != "en"
    doc = fetch(server, "https://micenter.lt/en/about-the-organization").html()
    assert "IOM in Lithuania" in text_of(doc.cssselect("div.entry-content"))
    assert not doc.cssselect("time") and not doc.cssselect("div.date")


def test_rss_feed(server):
    r = fetch(server, "https://www.iom.int/rss.xml")
    assert r.status == 200 and r.headers.get_content_type() == "application/rss+xml"
    items = ET.fromstring(r.body).findall("channel/item")
    newest = sorted(
        (a for a in ARTICLES if a["site"] == "www.iom.int"), key=lambda a: a["date"], reverse=True
    )[:10]
    assert [i.findtext("link") for i in items] == [url_of(a) for a in newest]
    assert [i.findtext("title") for i in items] == [a["title"] for a in newest]
    dates = [parsedate_to_datetime(i.findtext("pubDate")) for i in items]
    assert dates == [a["date"] for a in newest]


def test_robots_txt_on_every_site(server):
    for host in server.hosts:
        r = fetch(server, f"https://{host}/robots.txt")
        assert r.status == 200, host
        assert "Disallow: /admin/" in r.text and "Disallow: /user/" in r.text


def test_unknown_host_gets_index(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/")
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    assert r.status == 200
    for host in server.hosts:
        assert host in body
    assert f"https://www.iom.int/search?{WWW_QUERY}&page=0" in html.unescape(body)


# ------------------------------------------------------------------ HTTP behaviour


def test_last_modified_etag_and_conditional_get(server):
    url = "https://www.iom.int/news/iom-and-partners-scaling-aid-migrants-and-refugees-stranded-belarus"
    r = fetch(server, url)
    assert r.status == 200
    last_modified = r.headers["Last-Modified"]
    assert parsedate_to_datetime(last_modified) == datetime(2021, 11, 16, 14, 20, tzinfo=UTC)
    etag = r.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")

    r304 = fetch(server, url, headers={"If-None-Match": etag})
    assert r304.status == 304 and r304.body == b"" and r304.headers["ETag"] == etag
    assert fetch(server, url, headers={"If-None-Match": '"other"'}).status == 200
    assert fetch(server, url, headers={"If-Modified-Since": last_modified}).status == 304
    older = "Mon, 01 Nov 2021 00:00:00 GMT"
    assert fetch(server, url, headers={"If-Modified-Since": older}).status == 200

    head = fetch(server, url, "HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["ETag"] == etag and int(head.headers["Content-Length"]) == len(r.body)

    undated = fetch(server, "https://micenter.lt/en/education")
    assert parsedate_to_datetime(undated.headers["Last-Modified"]).year == 2021


def test_host_header_with_port_and_case(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/robots.txt", headers={"Host": "WWW.IOM.INT:443"})
    r = conn.getresponse()
    r.read()
    conn.close()
    assert r.status == 200


def test_slash_variants_redirect(server):
    r = fetch(server, "https://micenter.lt/en")
    assert (r.status, r.headers["Location"]) == (301, "/en/")
    r = fetch(server, "https://eca.iom.int/news/?page=0")
    assert (r.status, r.headers["Location"]) == (301, "/news?page=0")


def test_post_is_refused(server):
    assert fetch(server, "https://micenter.lt/en/question", "POST").status == 405


def test_request_log(server):
    before = len(server.requests)
    fetch(server, "https://eca.iom.int/news?page=0")
    fetch(server, "https://eca.iom.int/nothing-here", "HEAD")
    assert server.requests[before:] == [
        ("eca.iom.int", "GET", "/news?page=0", 200),
        ("eca.iom.int", "HEAD", "/nothing-here", 404),
    ]
    assert server.log_lines[-1] == "eca.iom.int HEAD /nothing-here 404"


def test_server_url_and_hosts(server):
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.hosts == frozenset(
        {
            "www.iom.int",
            "eca.iom.int",
            "rovienna.iom.int",
            "moldova.iom.int",
            "ukraine.iom.int",
            "armenia.iom.int",
            "lithuania.iom.int",
            "publications.iom.int",
            "micenter.lt",
        }
    )


# ------------------------------------------------------------------ content


def test_seed_titles_are_served(server):
    for title in SEED_TITLES:
        matches = [a for a in ARTICLES if a["title"] == title and not a.get("duplicate_of")]
        assert len(matches) == 1, title
        doc = fetch(server, url_of(matches[0])).html()
        heading = doc.cssselect("h1.page-title") or doc.cssselect("h1#page-title")
        assert heading[0].text_content() == title
    for teaser in SEED_TEASERS:
        assert any(teaser in " ".join(a["body"]) for a in ARTICLES), teaser[:40]


def test_www_content_rules():
    www = [a for a in ARTICLES if a["site"] == "www.iom.int"]
    assert len(www) == 30 and all(a["kind"] == "press_release" for a in www)
    assert len({a["title"] for a in www}) == 30
    assert len({a["date"] for a in www}) == 30
    geneva = ZoneInfo("Europe/Zurich")
    for a in www:
        assert 2020 <= a["date"].year <= 2022
        assert a["date"].utcoffset() == a["date"].astimezone(geneva).utcoffset(), a["path"]
        assert 3 <= len(a["body"]) <= 5
        assert 150 <= len(" ".join(a["body"]).split()) <= 300, a["path"]


def test_duplicates_are_verbatim():
    by_url = {url_of(a): a for a in ARTICLES}
    duplicates = [a for a in ARTICLES if a.get("duplicate_of")]
    assert len(duplicates) == 2
    for dup in duplicates:
        original = by_url[dup["duplicate_of"]]
        assert (dup["title"], dup["body"]) == (original["title"], original["body"])


def test_translations_point_to_originals():
    by_url = {(a["site"], a["path"]): a for a in ARTICLES}
    translations = [a for a in ARTICLES if a.get("translation_of")]
    assert {a["lang"] for a in translations} == {"ro", "uk", "hy", "lt", "ru"}
    for a in translations:
        original = by_url[(a["site"], a["translation_of"])]
        assert original["lang"] == "en" and original.get("date") == a.get("date")


def test_republished_release_has_a_new_first_paragraph_on_another_site(server):
    by_url = {url_of(a): a for a in ARTICLES}
    republished = [a for a in ARTICLES if a.get("republished_from")]
    assert len(republished) == 1
    (copy,) = republished
    original = by_url[copy["republished_from"]]
    assert copy["site"] != original["site"] and copy["path"] != original["path"]
    assert copy["body"][0] != original["body"][0] and copy["body"][1:] == original["body"][1:]
    assert copy["date"] > original["date"]
    doc = fetch(server, url_of(copy)).html()
    assert doc.cssselect("h1.page-title")[0].text_content() == copy["title"]
    paragraphs = [p.text_content() for p in doc.cssselect("div.field--type-text-with-summary p")]
    assert paragraphs == copy["body"], "a regional news item: no www.iom.int boilerplate"


def test_language_versions_share_the_node_number(server):
    def shortlink(article) -> str:
        return fetch(server, url_of(article)).html().cssselect('link[rel="shortlink"]')[0].get("href")

    by_path = {(a["site"], a["path"]): a for a in ARTICLES}
    country = [a for a in ARTICLES if a.get("translation_of") and a["site"].endswith(".iom.int")]
    assert country
    for translation in country:
        original = by_path[(translation["site"], translation["translation_of"])]
        number = shortlink(original).rsplit("/", 1)[-1]
        assert shortlink(original) == f"https://{original['site']}/node/{number}"
        assert shortlink(translation) == f"https://{translation['site']}/{translation['lang']}/node/{number}"
    # The Armenian pair declares no hreflang alternates: only the node number links them.
    (armenian,) = [a for a in ARTICLES if a.get("hreflang") is False]
    for article in (armenian, by_path[(armenian["site"], armenian["translation_of"])]):
        assert not fetch(server, url_of(article)).html().cssselect('link[rel="alternate"][hreflang]')
