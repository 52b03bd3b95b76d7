"""Issue 14: right on real pages. Small saved pages of our own, one per failure seen on
real third-party pages (tests/pages/real-*.html, tests/pages/dates/*.html), each taken
through extraction and normalisation as the crawl does, asserting exact field values;
and every date form of SITES.md in each IOM site language.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from crawler.spiders.source import SourceSpider
from pipelines.extract import extract_fields
from pipelines.items import Article, FetchedPage
from pipelines.normalize.article import normalize_article
from pipelines.normalize.dates import (
    BYLINE,
    DATELINE,
    EXTENSIVE,
    HTMLDATE,
    LISTING,
    METADATA,
    SELECTOR,
    choose_date,
    date_order_for,
    date_written,
    page_utc_offset,
    parse_page_date,
)
from pipelines.rules import ExtractionRules, NormalizationRules, extraction_rules
from pipelines.signals import problem_found
from pipelines.stages.dedupe import DedupePipeline
from pipelines.stages.extract import ExtractPipeline
from pipelines.stages.normalize import NormalizePipeline
from pipelines.stages.store import StorePipeline
from presswatch.archive.db import open_archive
from presswatch.config.files import ConfigError
from presswatch.config.sources import load_sources
from tests.conftest import PAGES, SOURCES, make_crawler, run_stages

FETCHED = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
# As bench/fidelity's sources: the dates corpus is mostly German, English and French.
REAL_RULES = NormalizationRules(("de", "en", "fr"), ("de", "en", "fr"), "UTC")
VALLEY = "https://valley.example.org/news/seasonal-workers"
VALLEY_BODY = (
    "More than two thousand seasonal workers came back to the vineyards of the valley this year, most of "
    "them for the third or fourth season in a row.\n\n"
    "The growers' association says the new housing rules made the difference: every worker now has a room "
    "with heating and a kitchen shared by at most six people."
)


def page_article(html: str, url: str, rules: NormalizationRules = REAL_RULES, *,
                 listing_title: str | None = None, listing_date: str | None = None,
                 selectors: ExtractionRules | None = None) -> Article:
    """What ExtractPipeline and NormalizePipeline make of a page."""
    fields = extract_fields(html, url, selectors or ExtractionRules(), listing_title)
    article = Article(
        source="real", url=url, title=fields.title, body=fields.body, summary=fields.summary,
        fetched=FETCHED, date_text=fields.date_text, date_origin=fields.date_origin,
        date_candidates=fields.date_candidates, page_utc_offset=fields.page_utc_offset,
        declared_language=fields.declared_language, listing_date=listing_date,
        title_source=fields.title_source, problems=list(fields.problems),
    )
    return normalize_article(article, rules)


# --------------------------------------------------------------------------- parsing


def test_an_xhtml_page_with_an_encoding_declaration_is_read_whole():
    # lxml refuses a str that opens with <?xml ... encoding="..."?>: the page used to
    # lose its title and text, and was dropped as `no_title` with no word of why.
    html = (PAGES / "real-xhtml-declaration.html").read_bytes().decode("iso-8859-1")
    article = page_article(html, "https://grenze.example.de/artikel/grenzpendler.html")
    assert (article.title, article.title_source) == ("Grenzpendler im Dreiländereck", "trafilatura")
    assert article.body == (
        "Jeden Morgen überqueren Tausende Pendlerinnen und Pendler die Grenze zwischen Deutschland, "
        "Frankreich und der Schweiz, um zur Arbeit zu gelangen.\n\n"
        "Die Gemeinden am Oberrhein stimmen ihre Busfahrpläne seit diesem Jahr aufeinander ab, damit "
        "niemand an der Grenze eine halbe Stunde warten muss.\n\n"
        "Eine Umfrage unter zweitausend Pendlern zeigt, dass die meisten die neue Regelung begrüßen und "
        "weniger oft mit dem eigenen Auto fahren."
    )
    assert article.language == "de"
    # 10.12.2022 on a German page is 10 December, not 12 October.
    assert article.published == datetime(2022, 12, 10, tzinfo=UTC)
    assert article.date_source == METADATA and article.problems == []


def test_comment_markers_inside_paragraphs_do_not_cut_or_merge_the_text():
    # React writes <!-- --> and <!----> between text nodes; left in the tree, trafilatura
    # ran the paragraphs (and the heading) together.
    article = page_article((PAGES / "real-react-comments.html").read_text(),
                           "https://news.example.com/2023/11/shelter-repairs")
    assert article.title == "Shelter repairs finish before winter"
    assert article.body == (
        "Volunteers repaired 42 roofs in the valley, finishing the work two weeks before the first snow was "
        "expected to fall on the villages.\n\n"
        "The repairs cost $1.2 million, shared between the county and three charities that raised the money "
        "over the summer months.\n\n"
        "Families who lost their homes in the spring floods will move back into the repaired houses by the "
        "end of the month, the county said on Wednesday."
    )
    # The JSON-LD date is a UTC timestamp (2:11 on 9 November); the page's own clock is
    # five hours behind (its other timestamps say -05:00): published on the 8th there.
    assert article.published == datetime(2023, 11, 8, 21, 11, 3, tzinfo=timezone(timedelta(hours=-5)))
    assert article.published.isoformat() == "2023-11-08T21:11:03-05:00"
    assert article.date_source == METADATA


def test_a_control_character_does_not_lose_the_page():
    article = page_article((PAGES / "real-control-character.html").read_text(),
                           "https://gyumri.example.am/news/clinic-opens")
    assert (article.title, article.title_source) == ("Clinic opens in Gyumri", "trafilatura")
    assert article.body == (
        "The clinic treats migrants and residents alike, with doctors who speak Armenian, Russian and English "
        "every weekday.\n\n"
        "It was built with money from the regional health fund and will employ twelve nurses from the town."
    )
    assert article.published == datetime(2021, 5, 4, 9, 30, tzinfo=timezone(timedelta(hours=4)))
    assert article.problems == []


def test_a_one_block_page_opening_with_a_comment_is_still_a_page():
    # trafilatura's loader refuses a single block that does not open with <html>.
    html = ("<!-- generated by the CMS on a very busy day, do not edit by hand -->\n<div><h1>Border buses</h1>"
            "<p>" + "The new timetable saves commuters half an hour a day on the border line. " * 4 + "</p></div>")
    fields = extract_fields(html, "https://x.example.org/news/border-buses")
    assert (fields.title, fields.problems) == ("Border buses", [])
    assert fields.body == ("The new timetable saves commuters half an hour a day on the border line. " * 4).strip()


@pytest.mark.parametrize("html", ["", "just some words, no markup", "\x00\x01\x02binary"])
def test_what_is_not_html_is_a_parse_error_with_its_cause(html):
    fields = extract_fields(html, "https://x.example.org/file")
    assert (fields.title, fields.body) == ("", "")
    assert fields.problems == [("parse_error", "not an HTML document")]


# --------------------------------------------------------------------------- titles


NO_TITLE_BODY = (
    "Reordering the bus timetables along the border saved commuters half an hour a day, the regional "
    "transport office said in its yearly report.\n\n"
    "Fewer people now drive to work alone, and the car parks at the three border stations are half empty "
    "on most weekdays."
)


def test_a_page_with_text_and_no_title_takes_the_listing_teasers_title():
    html = (PAGES / "real-no-title.html").read_text()
    article = page_article(html, "https://transport.example.org/reports/border-buses/",
                           listing_title="  Border buses save\n half an hour ")
    assert (article.title, article.title_source) == ("Border buses save half an hour", "listing")
    assert article.body == NO_TITLE_BODY
    assert (article.published, article.date_source) == (None, None)  # the page gives none: none invented


def test_a_page_with_text_and_no_title_anywhere_takes_its_urls_words():
    html = (PAGES / "real-no-title.html").read_text()
    article = page_article(html, "https://transport.example.org/reports/border-buses-2024.html")
    assert (article.title, article.title_source) == ("Border buses 2024", "url")
    assert article.body == NO_TITLE_BODY
    home = page_article(html, "https://transport.example.org/")
    assert (home.title, home.title_source) == ("transport.example.org", "url")


@pytest.mark.parametrize(("head", "heading", "expected"), [
    ('<meta property="og:title" content="Buses across the border">', "", ("Buses across the border", "og:title")),
    ('<meta name="twitter:title" content="Border buses">', "", ("Border buses", "twitter:title")),
    ("", "<h2>Timetables  agreed</h2>", ("Timetables agreed", "heading")),
])
def test_title_fallbacks_in_order(head, heading, expected):
    html = (PAGES / "real-no-title.html").read_text().replace("<body>", f"<head>{head}</head><body>{heading}")
    fields = extract_fields(html, "https://transport.example.org/reports/border-buses/", ExtractionRules(),
                            "Teaser title")
    # trafilatura itself reads og:title and headings: either way the title is the page's own.
    assert fields.title == expected[0]
    assert fields.title_source in (expected[1], "trafilatura")


def test_the_stages_archive_a_titleless_page_and_record_parse_errors(tmp_path):
    """ExtractPipeline -> ... -> StorePipeline as the crawl runs them: the listing teaser's
    title reaches the archive with its source; a page that is no HTML is dropped with its cause."""
    db_path = tmp_path / "archive.db"
    crawler = make_crawler(SourceSpider, PRESSWATCH_DB=str(db_path), PRESSWATCH_WORKERS=0)
    problems: list[tuple[str, str, str]] = []
    crawler.signals.connect(lambda url, problem, detail="": problems.append((url, problem, detail)),
                            signal=problem_found, weak=False)
    stages = [ExtractPipeline.from_crawler(crawler), NormalizePipeline.from_crawler(crawler),
              DedupePipeline.from_crawler(crawler), StorePipeline.from_crawler(crawler)]
    url = "https://eca.iom.int/news/border-buses"
    titleless = FetchedPage(source="eca-news", url=url, html=(PAGES / "real-no-title.html").read_text(),
                            status=200, fetched=FETCHED, listing_title="Border buses save half an hour")
    broken = FetchedPage(source="eca-news", url="https://eca.iom.int/news/broken", html="\x00\x01binary",
                         status=200, fetched=FETCHED, listing_title="Broken")

    article = run_stages(stages, titleless)
    assert isinstance(article, Article) and article.outcome == "new"
    from scrapy.exceptions import DropItem

    with pytest.raises(DropItem):
        run_stages(stages, broken)
    db = open_archive(db_path)
    rows = db.execute("SELECT url, title, title_source, published, date_source FROM items").fetchall()
    db.close()
    assert rows == [(url, "Border buses save half an hour", "listing", None, None)]
    assert ("https://eca.iom.int/news/broken", "parse_error", "not an HTML document") in problems
    assert ("https://eca.iom.int/news/broken", "no_body", "no text found: not archived") in problems


# --------------------------------------------------------------------------- dates on real-like pages


@pytest.mark.parametrize(("name", "published", "source", "problems"), [
    # Structured dates dateparser cannot read: parsed, not dropped (nor left to win unread).
    ("unix-timestamp", datetime(2022, 5, 4, 1, 7, 19, tzinfo=UTC), METADATA, []),
    ("compact-iso", datetime(2021, 5, 4, 13, 20, 5, tzinfo=timezone(timedelta(hours=2))), METADATA, []),
    ("broken-iso", datetime(2022, 5, 4, tzinfo=UTC), METADATA, []),
    # An unreadable one is skipped, and another date of the page wins (no problem reported then).
    ("year-only", datetime(2022, 5, 4, 10, tzinfo=timezone(timedelta(hours=2))), METADATA, []),
    # Day first on German pages: 1 November, 10 December.
    ("german-numeric", datetime(2023, 11, 1, tzinfo=UTC), METADATA, []),
    ("german-dotted", datetime(2022, 12, 10, tzinfo=UTC), METADATA, []),
    # A UTC timestamp read on the page's own day (its other timestamps are at -05:00).
    ("utc-timestamp", datetime(2023, 11, 8, 21, 11, 3, tzinfo=timezone(timedelta(hours=-5))), METADATA, []),
    # An embedded post's old <time> inside the article does not beat the article's own date.
    ("embedded-old-date", datetime(2018, 5, 23, 15, 30, tzinfo=UTC), METADATA, []),
    # "© 1998–2024" and "2030 Agenda" are no publication date: none is invented.
    ("undated", None, None, []),
])
def test_dates_of_real_page_forms(name, published, source, problems):
    article = page_article((PAGES / "dates" / f"{name}.html").read_text(), VALLEY)
    assert article.title == "Seasonal workers return to the vineyards"
    assert article.body.endswith(VALLEY_BODY)
    assert article.published == published
    if published is not None:
        assert article.published.utcoffset() == published.utcoffset()
    assert article.date_source == source
    assert article.problems == problems


def test_date_order_follows_the_page_language_and_the_source():
    assert [date_order_for(tag) for tag in ("de", "fr-FR", "ro", "uk", "lt", "hy", "en-GB", "en-US", "en")] == [
        "DMY", "DMY", "DMY", "DMY", "DMY", "DMY", "DMY", "MDY", "MDY"]
    assert date_order_for("de", "MDY") == "MDY"
    assert parse_page_date("04.05.2022", ["de"], "UTC", "DMY") == datetime(2022, 5, 4, tzinfo=UTC)
    assert parse_page_date("05/04/2022", ["en"], "UTC", "MDY") == datetime(2022, 5, 4, tzinfo=UTC)
    assert parse_page_date("05/04/2022", ["en"], "UTC", "DMY") == datetime(2022, 4, 5, tzinfo=UTC)
    # Dotted numeric dates are day-first even where slashes are month-first.
    assert parse_page_date("10.12.2022", ["en"], "UTC", "MDY") == datetime(2022, 12, 10, tzinfo=UTC)


def test_a_source_sets_its_date_order_and_a_wrong_one_is_a_one_line_error(tmp_path):
    entry = """[[source]]
id = "us-news"
name = "US news"
kind = "news"
region = "global"
languages = ["en"]
start_urls = ["https://us.example.org/news"]
schedule = { every = "1d" }
listing = { item = "li" }
"""
    good = tmp_path / "good.toml"
    good.write_text(entry.replace('schedule', 'date_order = "MDY"\nschedule'))
    assert load_sources(good).get("us-news").date_order == "MDY"
    bad = tmp_path / "bad.toml"
    bad.write_text(entry.replace('schedule', 'date_order = "month-first"\nschedule'))
    with pytest.raises(ConfigError) as error:
        load_sources(bad)
    message = str(error.value)
    assert "\n" not in message and f"{bad}:8" in message and "date_order" in message and "us-news" in message


def test_choose_date_ranks_and_cross_checks_candidates():
    def choose(*candidates: tuple[str, str], **kwargs: object):
        choice = choose_date(list(candidates), ["en"], "UTC", **kwargs)  # type: ignore[arg-type]
        return (choice.published.isoformat() if choice.published else None, choice.source, choice.unreadable)

    # The selector wins; unreadable candidates are skipped and listed.
    assert choose((SELECTOR, "someday"), (SELECTOR, "16 June 2020"), (HTMLDATE, "2020-06-17")) == (
        "2020-06-16T00:00:00+00:00", SELECTOR, ("someday",))
    # htmldate's day, with the time of the structured date of that day.
    assert choose((METADATA, "2019-07-30T10:00:00+02:00"), (METADATA, "2019-06-27T09:15:00+02:00"),
                  (HTMLDATE, "2019-06-27")) == ("2019-06-27T09:15:00+02:00", METADATA, ())
    assert choose((METADATA, "2019-07-30"), (HTMLDATE, "2019-06-27")) == (
        "2019-06-27T00:00:00+00:00", HTMLDATE, ())
    # Without htmldate: our structured date, then the dateline, the listing, the text search.
    assert choose((METADATA, "1651626439"), (LISTING, "3 May 2022")) == (
        "2022-05-04T01:07:19+00:00", METADATA, ())
    dateline = lambda: datetime(2026, 5, 8, tzinfo=UTC)  # noqa: E731
    assert choose((LISTING, "3 May 2022"), dateline=dateline)[1] == DATELINE
    # A yearless dateline takes the year the page's text gives that same day.
    assert choose((EXTENSIVE, "2012-05-08"), dateline=dateline) == ("2012-05-08T00:00:00+00:00", DATELINE, ())
    assert choose((LISTING, "Jul 03, 2020"), (EXTENSIVE, "2019-01-01")) == (
        "2020-07-03T00:00:00+00:00", LISTING, ())
    assert choose((EXTENSIVE, "2019-01-02")) == ("2019-01-02T00:00:00+00:00", EXTENSIVE, ())
    assert choose() == (None, None, ())
    # A page's unreadable date is worth reporting only when nothing else dated the page.
    assert choose((METADATA, "comment_date"), (HTMLDATE, "2019-06-27"))[2] == ()
    assert choose((METADATA, "comment_date"), (LISTING, "someday")) == (
        None, None, ("comment_date", "someday"))
    # A UTC timestamp moves to the page's offset, else to the source's zone; midnight stays.
    assert choose((METADATA, "2023-11-01T23:01:00Z"), page_offset="+01:00")[0] == "2023-11-02T00:01:00+01:00"
    vienna = choose_date([(METADATA, "2023-11-01T23:01:00Z")], ["de"], "Europe/Vienna").published
    assert vienna == datetime(2023, 11, 2, 0, 1, tzinfo=ZoneInfo("Europe/Vienna"))
    assert choose((METADATA, "2021-01-01T00:00:00Z"), page_offset="-05:00")[0] == "2021-01-01T00:00:00+00:00"


def test_page_offset_and_written_dates():
    assert page_utc_offset('"a":"2023-11-09T02:11:03+00:00","b":"2023-11-08T21:11:03-05:00",'
                           '"c":"2023-11-08T20:00-05:00","d":"2023-11-08T20:00+01:00"') == "-05:00"
    assert page_utc_offset('"2023-11-09T02:11:03Z" "2023-11-09T02:11:03+00:00"') is None
    # Only a whole date before the time counts; a digit run before it may be longer (as \d{4} finds).
    assert page_utc_offset("T10:00+01:00 x2020-01-0T10:00+02:00 2020-1-01T10:00+03:00") is None
    assert page_utc_offset("12345-01-01T10:00:00.123+0530 2020-01-01T10:00-04:00 "
                           "2020-01-01T10:00:00.5+05:30") == "+05:30"
    day = date(2010, 6, 1)
    for text in ("2010-06-01", "am 1.6.2010", "01/06/2010", "1. Juni 2010", "June 1st, 2010", "1 de junio de 2010"):
        assert date_written(day, text), text
    for text in ("Juni 2010", "2010-06", "11.6.2010", "June 10, 2010"):
        assert not date_written(day, text), text


# --------------------------------------------------------------------------- the IOM sites' dates

# Every form SITES.md lists, in each site language: 16 June 2020 (the datelines'
# yearless "16 June" is tested in test_normalize.py).
SITE_DATES = [
    ("ro", "Europe/Chisinau", "16.06.2020"), ("ro", "Europe/Chisinau", "16 iunie 2020"),
    ("ru", "Europe/Chisinau", "16.06.2020"), ("ru", "Europe/Chisinau", "16 июня 2020 г."),
    ("uk", "Europe/Kyiv", "16.06.2020"), ("uk", "Europe/Kyiv", "16 червня 2020 р."),
    ("lt", "Europe/Vilnius", "16.06.2020"), ("lt", "Europe/Vilnius", "2020 m. birželio 16 d."),
    ("lt", "Europe/Vilnius", "2020-06-16"),
    ("hy", "Asia/Yerevan", "16.06.2020"), ("hy", "Asia/Yerevan", "16 հունիսի 2020"),
    ("hy", "Asia/Yerevan", "Հունիսի 16, 2020"),
    ("en", "Europe/Vienna", "Jun 16, 2020"), ("en", "Europe/Vienna", "16 June 2020"),
    ("en", "Europe/Vienna", "16.06.2020"), ("en", "Europe/Vienna", "2020-06-16T10:00:00+02:00"),
]


@pytest.mark.parametrize(("language", "zone", "text"), SITE_DATES)
def test_every_site_date_form_in_its_language(language, zone, text):
    """A date selector's text on a page in the site's language, through extract and normalise."""
    html = (f'<!DOCTYPE html><html lang="{language}"><head><title>Știri</title></head><body><main>'
            f'<h1>Știri</h1><div class="date">{text}</div><p>{"Text. " * 30}</p></main></body></html>')
    rules = NormalizationRules((language,), (language,), zone)
    article = page_article(html, f"https://site.iom.int/{language}/news/stiri", rules,
                           selectors=ExtractionRules(date="div.date::text"))
    assert article.published is not None and article.date_source == SELECTOR
    assert article.published.astimezone(ZoneInfo(zone)).date() == date(2020, 6, 16)


ARMENIAN_MONTHS = ["հունվարի", "փետրվարի", "մարտի", "ապրիլի", "մայիսի", "հունիսի", "հուլիսի",
                   "օգոստոսի", "սեպտեմբերի", "հոկտեմբերի", "նոյեմբերի", "դեկտեմբերի"]


@pytest.mark.parametrize(("month", "name"), list(enumerate(ARMENIAN_MONTHS, start=1)))
def test_armenian_months(month, name):
    assert parse_page_date(f"16 {name} 2020", ["hy"], "Asia/Yerevan", date_order_for("hy")) == datetime(
        2020, month, 16, tzinfo=ZoneInfo("Asia/Yerevan"))


@pytest.mark.parametrize("language", ["ro", "ru", "uk", "lt", "hy", "de", "fr"])
def test_ambiguous_numeric_dates_are_day_first_on_local_pages(language):
    # The listing teaser's date of a page in the site language (04.05 is 4 May there).
    html = (f'<!DOCTYPE html><html lang="{language}"><head><title>Știri</title></head><body><main>'
            f'<h1>Știri</h1><p>{"Text. " * 30}</p></main></body></html>')
    for text in ("04.05.2022", "04/05/2022", "04-05-2022"):
        article = page_article(html, f"https://site.iom.int/{language}/news/stiri",
                               NormalizationRules((language,), (language,), "UTC"), listing_date=text)
        assert (article.published, article.date_source) == (datetime(2022, 5, 4, tzinfo=UTC), LISTING), text


def test_a_date_only_in_the_text_dates_news_but_not_information_pages():
    html = (PAGES / "dates" / "history-in-text.html").read_text()
    url = "https://lithuania.example.org/en/about"
    news = page_article(html, url)
    assert (news.published, news.date_source) == (datetime(1998, 2, 13, tzinfo=UTC), EXTENSIVE)
    sources = load_sources(SOURCES)
    information = sources.get("micenter")
    assert information.kind == "page"
    rules = extraction_rules(information)
    assert rules.text_search_date is False
    page = page_article(html, url, selectors=ExtractionRules(text_search_date=False))
    assert (page.published, page.date_source) == (None, None)


def test_the_date_printed_by_the_title_is_a_candidate_but_a_sentence_of_the_text_is_not():
    html = (PAGES / "dates" / "history-in-text.html").read_text()
    assert [origin for origin, _ in extract_fields(html, "https://lithuania.example.org/en/about").date_candidates] == [
        EXTENSIVE]
    byline = html.replace("</h1>", '</h1>\n<div class="meta"><span>Datum:</span> 03.02.2022 | Redaktion</div>')
    fields = extract_fields(byline, "https://lithuania.example.org/en/about")
    assert (BYLINE, "03.02.2022") in fields.date_candidates
    article = page_article(byline, "https://lithuania.example.org/en/about")
    # htmldate reads the same line: the two agree, htmldate's answer stands.
    assert (article.published, article.date_source) == (datetime(2022, 2, 3, tzinfo=UTC), HTMLDATE)


def test_the_printed_date_beats_htmldate_only_where_no_structured_date_backs_htmldate():
    def choose(*candidates: tuple[str, str]) -> tuple[str | None, str | None]:
        choice = choose_date(list(candidates), ["de"], "UTC", date_order="DMY")
        return (choice.published.date().isoformat() if choice.published else None, choice.source)

    # htmldate read a number of the URL or a side column: the printed date wins.
    assert choose((BYLINE, "02.02.2022"), (HTMLDATE, "2022-01-30")) == ("2022-02-02", BYLINE)
    # htmldate's day is the article's structured date: it stays.
    assert choose((METADATA, "2019-06-28T08:00:00+02:00"), (BYLINE, "27 juin 2019"),
                  (HTMLDATE, "2019-06-28")) == ("2019-06-28", METADATA)
    # No markup date at all: the printed date before the dateline and the text search.
    assert choose((BYLINE, "3. Februar 2022"), (EXTENSIVE, "2021-01-05")) == ("2022-02-03", BYLINE)
