"""Extraction and normalisation on saved pages, each with its real URL (city-scrapers style).

tests/pages/<name>.html is a page as the site serves it; each case builds a
Scrapy response from it under the page's real URL and asserts every field that
extraction + normalisation produce.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from pipelines.extract import extract_fields
from pipelines.items import Article
from pipelines.normalize.article import normalize_article
from pipelines.rules import ExtractionRules, extraction_rules, normalization_rules
from presswatch.config.sources import load_sources
from tests.conftest import SOURCES, file_response

SOURCE_LIST = load_sources(SOURCES)
FETCHED = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def article_from(name: str, source_id: str, url: str, *, charset: str = "utf-8",
                 last_modified: str | None = None, listing_date: str | None = None) -> Article:
    """What the pipelines make of a saved page: extract, then normalise."""
    source = SOURCE_LIST.get(source_id)
    response = file_response(f"{name}.html", url, charset=charset)
    fields = extract_fields(response.text, response.url, extraction_rules(source))
    article = Article(
        source=source_id, url=response.url, title=fields.title, body=fields.body, summary=fields.summary,
        author=fields.author, fetched=FETCHED, date_text=fields.date_text, date_origin=fields.date_origin,
        declared_language=fields.declared_language, canonical_link=fields.canonical_link,
        alternates=fields.alternates, metadata=fields.metadata, last_modified=last_modified,
        listing_date=listing_date,
    )
    return normalize_article(article, normalization_rules(source))


def test_global_newsroom_press_release():
    article = article_from("iom-press", "iom-press", "https://www.iom.int/news/world-migration-report-2022-launched")
    assert article.title == "World Migration Report 2022 launched"
    assert article.published == datetime(2021, 12, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert article.date_source == "metadata"
    assert article.language == "en"
    assert article.canonical_url == "https://www.iom.int/news/world-migration-report-2022-launched"
    assert article.body.startswith("Geneva – IOM today launched its flagship World Migration Report 2022")
    # The body field holds the release and the site's closing boilerplate, not the menus or the SDG block.
    assert article.body.endswith("Tel: +41 22 717 9111, Email: media@iom.int")
    assert "Who We Are" not in article.body
    assert len(article.body.split("\n\n")) == 7
    assert article.countries == ["AF", "CD", "CN", "EG", "IN", "MX", "PH", "SY", "US"]


def test_regional_news_page():
    article = article_from("eca-news", "eca-news", "https://eca.iom.int/news/wdatip-around-region")
    assert article.title == "WDATiP around the Region"
    assert article.published == datetime(2021, 8, 3, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    assert article.date_source == "metadata"
    assert article.language == "en"
    assert article.canonical_url == "https://eca.iom.int/news/wdatip-around-region"
    assert article.body.startswith(
        "From Instagram campaigns to press conferences and art installations, we take a look at how IOM")
    assert len(article.body.split("\n\n")) == 4
    assert article.countries == ["BY", "KG", "KZ", "MD", "MK", "RS", "UA"]


def test_drupal7_regional_release_with_teaser_style_date():
    article = article_from("rovienna-press", "rovienna-press",
                           "https://rovienna.iom.int/press/diaspora-policy-must-start-economic-policy")
    assert article.title == "Diaspora Policy Must Start With Economic Policy"
    assert article.date_text == "Jun 17, 2021"
    assert article.published == datetime(2021, 6, 17, tzinfo=ZoneInfo("Europe/Vienna"))
    assert article.date_source == "selector"
    assert article.body.startswith("“Diaspora policy in a country like Moldova needs to begin with economic policy”,")
    assert "MD" in article.countries


def test_country_page_with_yearless_dateline_takes_the_year_from_last_modified():
    url = "https://moldova.iom.int/news/launch-moldova-migration-data-profile"
    article = article_from("moldova", "moldova", url, last_modified="Wed, 16 Jun 2021 08:00:00 GMT")
    assert article.title == "Launch of Moldova Migration Data Profile"
    assert article.date_text is None
    assert article.published == datetime(2021, 6, 16, tzinfo=ZoneInfo("Europe/Chisinau"))
    assert article.date_source == "dateline"
    # The navigation menu before the title is not part of the text.
    assert article.body.startswith("Chisinau - 16 June. IOM in Moldova recently released a new Migration Data Profile")
    assert "2030 Agenda" not in article.body
    assert article.alternates == {
        "en": url,
        "ro": "https://moldova.iom.int/ro/news/lansarea-profilului-de-date-privind-migratia-al-republicii-moldova",
    }
    # Without Last-Modified the fetch time bounds the year instead.
    refetched = article_from("moldova", "moldova", url)
    assert refetched.published == datetime(2026, 6, 16, tzinfo=ZoneInfo("Europe/Chisinau"))


@pytest.mark.parametrize(
    ("name", "source_id", "url", "title", "date_text", "published", "language"),
    [
        ("moldova-ro", "moldova",
         "https://moldova.iom.int/ro/news/lansarea-profilului-de-date-privind-migratia-al-republicii-moldova",
         "Lansarea Profilului de date privind migrația al Republicii Moldova", "16 iunie 2021",
         datetime(2021, 6, 16, tzinfo=ZoneInfo("Europe/Chisinau")), "ro"),
        ("ukraine-uk", "ukraine",
         "https://ukraine.iom.int/uk/news/mom-v-ukrayini-zapuskaye-cyfrovu-kampaniyu-ne-odyn-portret-v-instagram",
         "МОМ в Україні запускає цифрову кампанію «Не один портрет» в Instagram", "18 грудня 2020",
         datetime(2020, 12, 18, tzinfo=ZoneInfo("Europe/Kyiv")), "uk"),
        ("armenia-hy", "armenia",
         "https://armenia.iom.int/hy/news/hayastany-nshec-trafikingi-dem-payqari-hamashkharhayin-ory",
         "Հայաստանը նշեց Թրաֆիքինգի դեմ պայքարի համաշխարհային օրը՝ վերապրածների արշավով", "30 հուլիսի 2021",
         datetime(2021, 7, 30, tzinfo=ZoneInfo("Asia/Yerevan")), "hy"),
        ("lithuania-lt", "lithuania",
         "https://lithuania.iom.int/lt/news/savanorisko-grizimo-pagalba-pazeidziamiems-asmenims-vi",
         "Savanoriško grįžimo pagalba pažeidžiamiems asmenims VI", "2021 m. birželio 16 d.",
         datetime(2021, 6, 16, tzinfo=ZoneInfo("Europe/Vilnius")), "lt"),
    ],
)
def test_local_language_pages_with_local_month_names(name, source_id, url, title, date_text, published, language):
    article = article_from(name, source_id, url)
    assert article.title == title
    assert article.date_text == date_text
    assert article.published == published
    assert article.date_source == "selector"
    assert article.language == language
    assert SOURCE_LIST.get(source_id).country in article.countries


def test_page_without_any_date_stays_undated():
    article = article_from(
        "lithuania-undated", "lithuania",
        "https://lithuania.iom.int/news/innovative-development-intercultural-competences-police-officers-idic",
    )
    assert article.title == "Innovative Development of Intercultural Competences for Police Officers (IDIC)"
    assert article.published is None and article.date_source is None
    assert article.body.startswith("This project aims to change the current situation")


def test_undated_page_falls_back_to_the_listing_date():
    article = article_from(
        "lithuania-undated", "lithuania",
        "https://lithuania.iom.int/news/innovative-development-intercultural-competences-police-officers-idic",
        listing_date="16 March 2021",
    )
    assert article.published == datetime(2021, 3, 16, tzinfo=ZoneInfo("Europe/Vilnius"))
    assert article.date_source == "listing"


def test_story_body_from_its_own_selector():
    article = article_from("eca-stories", "eca-stories", "https://eca.iom.int/stories/faces-behind-masks")
    assert article.title == "The Faces Behind the Masks"
    assert article.published == datetime(2020, 9, 22, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    assert article.body.startswith("A simple mask-making workshop in the Serbian capital Belgrade has helped more than 500 people")
    assert article.countries == ["AF", "IR", "RS", "SY"]


def test_publication_with_metadata_fields():
    article = article_from(
        "publications", "publications",
        "https://publications.iom.int/books/research-health-vulnerabilities-cross-border-migrants-nepal",
    )
    assert article.title == "Research on the Health Vulnerabilities of the Cross Border Migrants from Nepal"
    assert article.published == datetime(2007, 8, 15, 12, 0, tzinfo=UTC)
    assert article.author == "IOM Nepal"
    assert article.body == (
        "Reliable information on the health vulnerabilities and resilience factors of cross-border migrants and "
        "associated possible preventive measures is lacking. To remedy this gap and thereby facilitate the "
        "development of evidence-informed policy and programme development, this study was undertaken to assess "
        "the health vulnerabilities of Nepali migrants to India."
    )
    assert article.metadata == {
        "isbn": "978-92-9068-398-8",
        "pdf_url": "https://publications.iom.int/sites/g/files/tmzbdl2616/files/pdf/"
                   "research-health-vulnerabilities-cross-border-migrants-nepal.pdf",
        "publication_country": "Nepal",
        "publication_language": "English",
        "topic": "Migration health",
        "year": "2007",
    }
    assert article.countries == ["IN", "NP"]


def test_windows_1257_page():
    article = article_from("micenter-lt", "micenter", "https://micenter.lt/lt/apie-organizacija", charset="windows-1257")
    assert article.title == "Apie organizaciją"
    assert article.language == "lt"
    assert article.body.startswith("Apie Tarptautinę migracijos organizaciją\n\n1951 m. įsteigta Tarptautinė migracijos organizacija (TMO)")
    assert article.published is None
    assert article.canonical_url == "https://micenter.lt/lt/apie-organizacija"


def test_extraction_is_pure_and_never_raises_on_garbage():
    url = "https://www.iom.int/news/world-migration-report-2022-launched"
    html = file_response("iom-press.html", url).text
    assert extract_fields(html, url) == extract_fields(html, url)
    for junk in ("", "   ", "<html>", "\x00\x01binary", "<<<>>>" * 100):
        fields = extract_fields(junk, "https://example.org/x")
        assert fields.title == ""  # no title: ExtractPipeline rejects the page with a recorded reason


def test_configured_selectors_override_trafilatura():
    html = """<html lang="en"><head><title>Site title | Org</title>
      <meta property="article:published_time" content="2020-01-01T00:00:00Z"></head>
      <body><h1>Heading</h1><div class="when">Jul 03, 2020</div>
      <article><p>Main text one, long enough for trafilatura to keep it as the main content.</p>
      <p>Main text two continues the story with several more words.</p></article>
      <div class="other"><p>Selected paragraph.</p><ul><li>Point <b>one</b></li><li><p>Point two</p></li></ul></div>
      </body></html>"""
    url = "https://example.org/news/a"
    plain = extract_fields(html, url)
    assert plain.date_text == "2020-01-01T00:00:00Z" and plain.date_origin == "metadata"
    chosen = extract_fields(html, url, ExtractionRules(title="h1", body="div.other", date="div.when::text",
                                                        metadata=(("label", "xpath://div[@class='when']/text()"),)))
    assert chosen.title == "Heading"
    assert chosen.body == "Selected paragraph.\n\nPoint one\n\nPoint two"
    assert chosen.date_text == "Jul 03, 2020" and chosen.date_origin == "selector"
    assert chosen.metadata == {"label": "Jul 03, 2020"}


def test_worker_warm_up_builds_the_lazy_tables_the_workers_share():
    """The forkserver runs this before forking the workers: each table it builds is shared."""
    from pipelines import neardup
    from pipelines.normalize import countries
    from pipelines.worker_preload import warm_up

    countries._country_matcher.cache_clear()
    neardup._permutations.cache_clear()
    warm_up()
    assert countries._country_matcher.cache_info().currsize >= 1
    assert neardup._permutations.cache_info().currsize == 1  # datasketch (and scipy) loaded
