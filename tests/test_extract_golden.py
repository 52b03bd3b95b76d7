"""Golden outputs of extraction (issue 19): `extract_fields` gives exactly the fields it gave
before the selectors-first fast path, on every saved page of the tests and every article page
of the sample sites, each with its source's rules (as the crawl uses them) and with no rules
(the generic path).

tests/data/extract_golden.json holds `dataclasses.asdict(fields)` per case, keyed by
"<page>|<rules>". It is regenerated on purpose only, when an extraction change is meant to
change fields (then say so in the change and review the diff of the file)::

    .venv/bin/python -m tests.test_extract_golden --regenerate
"""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse
from trafilatura.metadata import extract_metadata

from pipelines import extract
from pipelines.extract import extract_fields, page_metadata, parse_html
from pipelines.rules import ExtractionRules, extraction_rules
from presswatch.config.sources import load_sources
from presswatch.sample_sites.changes import EDITIONS, edition
from presswatch.sample_sites.render import load_content, render_all
from tests.conftest import PAGES, SOURCES

GOLDEN = Path(__file__).parent / "data" / "extract_golden.json"
CORPORA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"  # data, never copied here
SOURCE_LIST = load_sources(SOURCES)
VALLEY = "https://valley.example.org/news/seasonal-workers"

# Saved pages of tests/pages: (file, URL, source id or None, charset), as the tests read them.
SAVED_PAGES: list[tuple[str, str, str | None, str]] = [
    ("armenia-hy.html", "https://armenia.iom.int/hy/news/hayastany-nshec-trafikingi-dem-payqari-hamashkharhayin-ory",
     "armenia", "utf-8"),
    ("eca-news.html", "https://eca.iom.int/news/wdatip-around-region", "eca-news", "utf-8"),
    ("eca-stories.html", "https://eca.iom.int/stories/faces-behind-masks", "eca-stories", "utf-8"),
    ("iom-press.html", "https://www.iom.int/news/world-migration-report-2022-launched", "iom-press", "utf-8"),
    ("iom-press-listing.html", "https://www.iom.int/search?type[0]=press_release&type[1]=blog_list"
     "&type[2]=featured_stories&sort_bef_combine=created_DESC&page=1", "iom-press", "utf-8"),
    ("lithuania-lt.html", "https://lithuania.iom.int/lt/news/savanorisko-grizimo-pagalba-pazeidziamiems-asmenims-vi",
     "lithuania", "utf-8"),
    ("lithuania-undated.html",
     "https://lithuania.iom.int/news/innovative-development-intercultural-competences-police-officers-idic",
     "lithuania", "utf-8"),
    ("micenter-lt.html", "https://micenter.lt/lt/apie-organizacija", "micenter", "windows-1257"),
    ("moldova.html", "https://moldova.iom.int/news/launch-moldova-migration-data-profile", "moldova", "utf-8"),
    ("moldova-listing.html", "https://moldova.iom.int/news", "moldova", "utf-8"),
    ("moldova-ro.html",
     "https://moldova.iom.int/ro/news/lansarea-profilului-de-date-privind-migratia-al-republicii-moldova",
     "moldova", "utf-8"),
    ("publications.html",
     "https://publications.iom.int/books/research-health-vulnerabilities-cross-border-migrants-nepal",
     "publications", "utf-8"),
    ("rovienna-press.html", "https://rovienna.iom.int/press/diaspora-policy-must-start-economic-policy",
     "rovienna-press", "utf-8"),
    ("rovienna-press-listing.html", "https://rovienna.iom.int/press/press-releases", "rovienna-press", "utf-8"),
    ("ukraine-uk.html",
     "https://ukraine.iom.int/uk/news/mom-v-ukrayini-zapuskaye-cyfrovu-kampaniyu-ne-odyn-portret-v-instagram",
     "ukraine", "utf-8"),
    ("real-control-character.html", "https://gyumri.example.am/news/clinic-opens", None, "utf-8"),
    ("real-no-title.html", "https://transport.example.org/reports/border-buses/", None, "utf-8"),
    ("real-react-comments.html", "https://news.example.com/2023/11/shelter-repairs", None, "utf-8"),
    ("real-xhtml-declaration.html", "https://grenze.example.de/artikel/grenzpendler.html", None, "iso-8859-1"),
    *[(f"dates/{path.name}", VALLEY, None, "utf-8") for path in sorted((PAGES / "dates").glob("*.html"))],
]


@dataclass(frozen=True)
class Case:
    key: str
    html: str
    url: str
    rules: ExtractionRules
    listing_title: str | None = None


def _decoded(body: bytes, url: str, charset: str) -> str:
    """The page's text as the crawl hands it to extraction (Scrapy's decoding)."""
    return HtmlResponse(url=url, body=body, headers={"Content-Type": f"text/html; charset={charset}"}).text


def _with_and_without_rules(key: str, html: str, url: str, source_id: str | None) -> Iterator[Case]:
    if source_id is not None:
        yield Case(f"{key}|{source_id}", html, url, extraction_rules(SOURCE_LIST.get(source_id)))
    yield Case(f"{key}|generic", html, url, ExtractionRules())


def saved_page_cases() -> Iterator[Case]:
    for name, url, source_id, charset in SAVED_PAGES:
        html = _decoded((PAGES / name).read_bytes(), url, charset)
        yield from _with_and_without_rules(name, html, url, source_id)
    # Title fallbacks and the information-page date rule, as test_real_pages uses them.
    no_title = (PAGES / "real-no-title.html").read_text()
    yield Case("real-no-title.html|generic+listing", no_title, "https://transport.example.org/reports/border-buses/",
               ExtractionRules(), "  Border buses save\n half an hour ")
    yield Case("real-no-title.html|generic@slug", no_title, "https://transport.example.org/reports/border-buses-2024.html",
               ExtractionRules())
    history = (PAGES / "dates" / "history-in-text.html").read_text()
    yield Case("dates/history-in-text.html|page", history, "https://lithuania.example.org/en/about",
               ExtractionRules(text_search_date=False))
    byline = history.replace("</h1>", '</h1>\n<div class="meta"><span>Datum:</span> 03.02.2022 | Redaktion</div>')
    yield Case("dates/history-in-text.html+byline|generic", byline, "https://lithuania.example.org/en/about",
               ExtractionRules())


def sample_site_cases() -> Iterator[Case]:
    """Every article page the sample sites serve (each edition's, where it differs), with the rules of
    the source whose item pages it is."""
    content = load_content()
    seen: dict[str, bytes] = {}
    for number in EDITIONS:
        archive = render_all(edition(content, number))
        for (host, path), page in sorted(archive.pages.items()):
            if page.status != 200 or not page.content_type.startswith("text/html") or path == "/":
                continue
            url = f"https://{host}{path}"
            owners = [source for source in SOURCE_LIST.sources if source.allows(url) and source.is_item_url(url)]
            if not owners or seen.get(url) == page.body:
                continue
            key = url if url not in seen else f"{url}@edition{number}"
            seen[url] = page.body
            charset = page.content_type.partition("charset=")[2] or "utf-8"
            yield from _with_and_without_rules(key, _decoded(page.body, url, charset), url, owners[0].id)


def all_cases() -> list[Case]:
    return [*saved_page_cases(), *sample_site_cases()]


def fields_of(case: Case) -> dict[str, Any]:
    """The case's fields as JSON gives them back (tuples become lists)."""
    fields = extract_fields(case.html, case.url, case.rules, case.listing_title)
    result: dict[str, Any] = json.loads(json.dumps(asdict(fields), ensure_ascii=False))
    return result


def regenerate() -> int:
    """Write tests/data/extract_golden.json from the current extract_fields."""
    golden = {case.key: fields_of(case) for case in all_cases()}
    GOLDEN.write_text(json.dumps(golden, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return len(golden)


CASES = all_cases()


@functools.cache
def golden() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return result


def test_every_case_has_a_golden_output():
    assert sorted(golden()) == sorted(case.key for case in CASES)
    # Configured and generic cases both: the sample sites' articles of every source are there.
    assert len(CASES) == 226
    assert {key.rpartition("|")[2] for key in golden()} >= {source.id for source in SOURCE_LIST.sources}


@pytest.mark.parametrize("case", CASES, ids=[case.key for case in CASES])
def test_extraction_gives_the_golden_fields(case):
    assert fields_of(case) == golden()[case.key]


# --------------------------------------------------------------------------- the fast path


def test_configured_pages_whose_selectors_match_skip_trafilaturas_text(monkeypatch):
    calls: list[str] = []
    real = extract.trafilatura.bare_extraction
    monkeypatch.setattr(extract.trafilatura, "bare_extraction",
                        lambda page, url, **options: calls.append(url) or real(page, url=url, **options))
    configured = [case for case in CASES if case.rules.title]
    for case in configured:
        fields_of(case)
    # Every configured article page of the tests and the sample sites: the selectors find title and
    # body. Only the saved listing pages (no article title there) go through trafilatura.
    assert len(configured) == 104
    assert calls == [url for name, url, _, _ in SAVED_PAGES if name in ("iom-press-listing.html",
                                                                         "moldova-listing.html")]
    calls.clear()
    generic = [case for case in CASES if case.key.endswith("|generic")][:20]
    for case in generic:
        fields_of(case)
    assert len(calls) == len(generic)


KEPT = ("title", "description", "author", "url", "date")
DATE_PARAMS = {"extensive_search": False, "original_date": True}


def _metadata_pages() -> Iterator[tuple[str, str, str]]:
    seen = set()
    for case in CASES:
        if (case.url, case.html) not in seen:
            seen.add((case.url, case.html))
            yield case.key, case.html, case.url
    byline = (PAGES / "real-react-comments.html").read_text()
    # Every kind of markup trafilatura's AUTHOR_XPATHS read (an entity hides "author" from the HTML
    # text, not from the tree), and markup its pruning removes.
    for name, markup in [
        ("class", '<span class="a&#117;thor-name">Jane Smith</span>'),
        ("itemprop", '<div itemprop="author"><span>Jane Smith</span></div>'),
        ("data-component", '<div data-component="Byline">By Jane Smith</div>'),
        ("data-testid", '<a data-testid="AuthorURL" href="/jane">Jane Smith</a>'),
        ("rel", '<a rel="author" href="/jane">Jane Smith</a>'),
        ("id", '<p id="xiaobian">Jane Smith</p>'),
        ("BBL", '<span class="BBL">Jane Smith</span>'),
        ("element", "<author>Jane Smith</author>"),
        ("rel-me", "<p>Jane Smith<rel>me</rel></p>"),
        ("pruned", '<div class="sidebar"><span class="author">Jane Smith</span></div>'),
        ("none", '<span class="credit">Jane Smith</span>'),
    ]:
        yield f"author-{name}", byline.replace("<h1", markup + "<h1", 1), "https://news.example.com/2023/11/x"


@pytest.mark.parametrize(("key", "html", "url"), list(_metadata_pages()), ids=lambda value: str(value)[:60])
def test_page_metadata_is_trafilaturas_for_the_fields_kept(key, html, url):
    tree = parse_html(html)
    if tree is None:
        pytest.skip("not an HTML document")
    theirs = extract_metadata(tree, url, DATE_PARAMS)
    ours = page_metadata(tree, url)
    assert {name: getattr(ours, name) for name in KEPT} == {name: getattr(theirs, name) for name in KEPT}
    if key.startswith("author-"):  # trafilatura finds each, but what its pruning removes
        assert ours.author == {"author-rel-me": "Jane Smith me", "author-pruned": None,
                               "author-none": None}.get(key, "Jane Smith")



def test_page_metadata_is_trafilaturas_on_the_real_corpora():
    """The same on the real third-party pages of ../shared/corpora (skipped where they are absent)."""
    paths = sorted((CORPORA / "dates" / "pages").glob("*")) + sorted((CORPORA / "readability").glob("*/source.html"))
    if not paths:
        pytest.skip(f"no corpora at {CORPORA}")
    differ = []
    for path in paths:
        url = f"https://corpus.example.org/{path.parent.name}/{path.name}"
        tree = parse_html(HtmlResponse(url=url, body=path.read_bytes()).text)
        if tree is None:
            continue
        theirs, ours = extract_metadata(tree, url, DATE_PARAMS), page_metadata(tree, url)
        if any(getattr(ours, name) != getattr(theirs, name) for name in KEPT):
            differ.append(path)
    assert len(paths) >= 300 and differ == []


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regenerate", action="store_true", help="rewrite tests/data/extract_golden.json")
    if parser.parse_args().regenerate:
        print(f"{regenerate()} cases written to {GOLDEN}")
    else:
        parser.print_help()
