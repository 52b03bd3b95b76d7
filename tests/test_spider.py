"""The generic spider on saved listing, feed and sitemap pages, each under its real URL.

The spider only decides what to fetch: these tests assert exactly which item
pages and next pages it asks for, with which listing dates.
"""

from __future__ import annotations

from datetime import UTC, datetime

from scrapy.http import Request, TextResponse

from crawler.spiders.source import SourceSpider
from pipelines.items import FetchedPage
from tests.conftest import file_response, make_crawler


def spider_for(source_id: str) -> SourceSpider:
    """The spider of ``source_id`` as a crawl builds it (its config from the crawl's add-on)."""
    return SourceSpider.from_crawler(make_crawler(SourceSpider), source=source_id)


def html(name: str, url: str) -> TextResponse:
    return file_response(f"{name}.html", url)


def test_global_newsroom_listing_page_with_cards_dates_and_next_page():
    url = ("https://www.iom.int/search?type[0]=press_release&type[1]=blog_list&type[2]=featured_stories"
           "&sort_bef_combine=created_DESC&page=1")
    requests = list(spider_for("iom-press").parse_listing(html("iom-press-listing", url), page=2))
    items = [request for request in requests if request.callback.__name__ == "parse_item"]
    pages = [request for request in requests if request.callback.__name__ == "parse_listing"]
    assert len(items) == 12
    assert items[0].url == "https://www.iom.int/news/integration-starts-locally-european-cities-share-lessons-welcoming-newcomers"
    assert items[0].meta["listing_date"] == "11 October 2021"
    assert items[0].meta["listing_url"] == url
    # The teaser's title (issue 14: a fallback for a page without one), not the card's every word.
    assert items[0].meta["listing_title"] == (
        "Integration Starts Locally: European Cities Share Lessons on Welcoming Newcomers")
    # The withdrawn release is still listed: the crawl will meet its 404.
    assert items[6].url == "https://www.iom.int/news/statement-on-border-closures-withdrawn"
    assert items[-1].url == "https://www.iom.int/news/migrants-returning-ethiopia-receive-reintegration-support-amid-covid-19"
    assert items[-1].meta["listing_date"] == "15 October 2020"
    # The pager's query-only relative link resolves against the listing URL.
    assert [page.url for page in pages] == [
        "https://www.iom.int/search?type%5B0%5D=press_release&type%5B1%5D=blog_list&type%5B2%5D=featured_stories"
        "&sort_bef_combine=created_DESC&page=2"
    ]
    assert pages[0].cb_kwargs == {"page": 3, "known_streak": 0}
    # Item pages before the next listing page: the scheduler holds one page's links at a
    # time, not the whole listing's (memory stays flat however large the site).
    assert {request.priority for request in items} == {1}
    assert pages[0].priority == 0


def test_pagination_stops_at_max_pages():
    url = ("https://www.iom.int/search?type[0]=press_release&type[1]=blog_list&type[2]=featured_stories"
           "&sort_bef_combine=created_DESC&page=1")
    spider = spider_for("iom-press")
    last = spider.config.listing.max_pages
    requests = list(spider.parse_listing(html("iom-press-listing", url), page=last))
    assert [request for request in requests if request.callback.__name__ == "parse_listing"] == []


def test_drupal7_teasers_with_relative_links():
    requests = list(spider_for("rovienna-press").parse_listing(
        html("rovienna-press-listing", "https://rovienna.iom.int/press/press-releases"), page=1))
    assert [(request.url, request.meta.get("listing_date")) for request in requests] == [
        ("https://rovienna.iom.int/press/iom-supports-people-fleeing-ukraine-they-arrive-republic-moldova", "Mar 04, 2022"),
        ("https://rovienna.iom.int/press/future-family-remittances-digital", "Jan 18, 2022"),
        ("https://rovienna.iom.int/press/world-migration-report-2022-launched", "Dec 01, 2021"),
        ("https://rovienna.iom.int/press/migration-health-conference-almaty-puts-needs-migrant-workers-central-asia-agenda", "Nov 09, 2021"),
        ("https://rovienna.iom.int/press/diaspora-policy-must-start-economic-policy", "Jun 17, 2021"),
        ("https://rovienna.iom.int/press/family-remittances-and-equitable-recovery-what-financial-sector-can-do", "Jun 16, 2021"),
        ("https://rovienna.iom.int/press/iom-and-un-help-returned-armenian-migrants-back-work-during-pandemic", "Apr 20, 2021"),
        ("https://rovienna.iom.int/press/western-balkans-governments-and-civil-society-join-forces-against-human-trafficking", "Oct 19, 2020"),
        ("https://rovienna.iom.int/press/press-releases?page=1", None),
    ]


def test_country_listing_with_document_relative_links():
    requests = list(spider_for("moldova").parse_listing(html("moldova-listing", "https://moldova.iom.int/news"), page=1))
    assert [request.url for request in requests] == [
        "https://moldova.iom.int/news/returning-migrants-moldova-receive-grants-start-small-businesses",
        "https://moldova.iom.int/news/launch-moldova-migration-data-profile",
    ]


def test_sitemap_lists_item_pages_only():
    response = file_response("micenter-sitemap.xml", "https://micenter.lt/sitemap.xml")
    urls = [request.url for request in spider_for("micenter").parse_sitemap(response)]
    assert urls == [
        "https://micenter.lt/en/about-the-organization",
        "https://micenter.lt/lt/apie-organizacija",
        "https://micenter.lt/ru/ob-organizacii",
        "https://micenter.lt/en/work-and-employment",
        "https://micenter.lt/en/social-guarantees",
        "https://micenter.lt/en/education",
        "https://micenter.lt/en/foreigners-in-lithuania",
        "https://micenter.lt/en/other-issues",
        "https://micenter.lt/lt/darbas-ir-uzimtumas",
        "https://micenter.lt/lt/svietimas",
    ]


def test_rss_feed_items_with_their_dates():
    response = file_response("iom-press-feed.xml", "https://www.iom.int/rss.xml")
    requests = list(spider_for("iom-press").parse_feed(response))
    assert len(requests) == 10
    assert requests[0].url == "https://www.iom.int/news/international-migrants-day-migrants-drive-progress-towards-sustainable-development-goals"
    assert requests[0].meta["listing_date"] == "Fri, 16 Dec 2022 09:50:00 +0100"
    assert requests[-1].url == "https://www.iom.int/news/future-family-remittances-digital"


def test_item_urls_pattern_filters_links():
    spider = spider_for("micenter")
    assert spider.item_request("https://micenter.lt/en/education", "https://micenter.lt/sitemap.xml", None) is not None
    assert spider.item_request("https://micenter.lt/en/", "https://micenter.lt/sitemap.xml", None) is None


def test_item_page_is_yielded_as_fetched():
    url = "https://moldova.iom.int/news/launch-moldova-migration-data-profile"
    request = Request(url, meta={"listing_date": "16 June 2021", "listing_url": "https://moldova.iom.int/news"})
    response = file_response(
        "moldova.html", url, request=request,
        headers={"ETag": '"abc"', "Last-Modified": "Wed, 16 Jun 2021 08:00:00 GMT"},
    )
    (page,) = list(spider_for("moldova").parse_item(response))
    assert isinstance(page, FetchedPage)
    assert page.source == "moldova" and page.url == url and page.status == 200
    assert page.etag == '"abc"' and page.last_modified == "Wed, 16 Jun 2021 08:00:00 GMT"
    assert page.listing_date == "16 June 2021" and page.listing_url == "https://moldova.iom.int/news"
    assert "Launch of Moldova Migration Data Profile" in page.html
    assert page.fetched.tzinfo is UTC and abs((datetime.now(UTC) - page.fetched).total_seconds()) < 60
