"""The Scrapy components built as a crawl builds them (scrapy.utils.test.get_crawler):
the add-ons, the item pipelines on a saved page, and where they do not apply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from scrapy.crawler import AsyncCrawlerRunner, Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings

from crawler.run import crawl_settings
from crawler.runlog import RunRecorder
from crawler.spiders.source import SourceSpider
from pipelines.items import Article, FetchedPage
from pipelines.stages.classify import ClassifyPipeline
from pipelines.stages.config import crawl_config, load_crawl_config
from pipelines.stages.dedupe import DedupePipeline
from pipelines.stages.extract import ExtractPipeline
from pipelines.stages.normalize import NormalizePipeline
from pipelines.stages.store import StorePipeline
from pipelines.stages.stories import StoryPipeline
from presswatch.archive.db import open_archive
from tests.conftest import ROOT, SOURCES, file_response, make_crawler, run_stages

ECA_NEWS = "https://eca.iom.int/news/wdatip-around-region"


def test_the_config_addon_reads_the_files_once_for_every_crawler_of_a_crawl(monkeypatch):
    reads = []
    monkeypatch.setattr("crawler.addons.load_crawl_config",
                        lambda *paths: reads.append(paths) or load_crawl_config(*paths))
    # As crawler.run does: one runner (process), one crawler per source.
    runner = AsyncCrawlerRunner({"ADDONS": {"crawler.addons.CrawlConfigAddon": 0},
                                 "PRESSWATCH_SOURCES": str(SOURCES), "PRESSWATCH_TOPICS": "topics.toml"})
    first, second = runner.create_crawler(SourceSpider), runner.create_crawler(SourceSpider)
    config = crawl_config(first)
    assert crawl_config(second) is config
    assert reads == [(str(SOURCES), "topics.toml")]
    assert [source.id for source in config.sources][:3] == ["iom-press", "eca-news", "eca-stories"]
    assert config.sources.path == SOURCES
    assert config.topics is not None and config.topics_error is None
    assert "remittances" in config.topics.ids
    spider = SourceSpider.from_crawler(second, source="eca-news")
    assert spider.config is config.sources.get("eca-news")


def test_an_invalid_topics_file_is_kept_as_an_error_not_a_crash(tmp_path):
    topics = tmp_path / "topics.toml"
    topics.write_text('[[topic]]\nid = "x"\n', encoding="utf-8")
    config = crawl_config(make_crawler(PRESSWATCH_TOPICS=str(topics)))
    assert config.topics is None
    assert config.topics_error is not None and "title: missing required field" in config.topics_error
    assert config.topics_path == topics


def test_components_refuse_to_run_without_the_config_addon():
    crawler = make_crawler(ADDONS={}, PRESSWATCH_DB="unused.db")
    with pytest.raises(RuntimeError, match="enable crawler.addons.CrawlConfigAddon"):
        ExtractPipeline.from_crawler(crawler)


@pytest.mark.parametrize("component", [StorePipeline, StoryPipeline, ClassifyPipeline, RunRecorder])
def test_archive_components_do_not_apply_without_an_archive(component):
    with pytest.raises(NotConfigured, match="PRESSWATCH_DB is not set"):
        component.from_crawler(make_crawler(PRESSWATCH_DB=""))


def test_mirror_addon_sets_the_mirror_handler_and_loopback_speeds(tmp_path):
    def crawler_with(settings: Settings) -> Crawler:
        settings.set("TWISTED_REACTOR_ENABLED", False, priority="cmdline")  # no reactor in this process
        crawler = AsyncCrawlerRunner(settings).create_crawler(SourceSpider)
        crawler._apply_settings()  # what crawler.crawl() does first: the add-ons run
        return crawler

    settings = crawl_settings(db=tmp_path / "a.db", sources_path=SOURCES, mirror="http://127.0.0.1:8765/")
    settings.set("CONCURRENT_REQUESTS", 3, priority="cmdline")  # presswatch crawl --set: it wins
    mirrored = crawler_with(settings).settings
    assert mirrored["PRESSWATCH_MIRROR"] == "http://127.0.0.1:8765"
    assert mirrored.getdict("DOWNLOAD_HANDLERS") == {
        "http": "crawler.mirror.MirrorDownloadHandler", "https": "crawler.mirror.MirrorDownloadHandler"}
    assert mirrored.getfloat("DOWNLOAD_DELAY") == 0.0
    assert mirrored.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 16
    assert mirrored.getint("CONCURRENT_REQUESTS") == 3
    # Without --mirror the add-on is not enabled: crawler/settings.py's politeness stays.
    plain = crawler_with(crawl_settings(db=tmp_path / "a.db", sources_path=SOURCES)).settings
    assert "crawler.mirror.MirrorDownloadHandler" not in plain.getdict("DOWNLOAD_HANDLERS").values()
    assert plain.getfloat("DOWNLOAD_DELAY") == 0.25
    assert plain.getint("CONCURRENT_REQUESTS") == 16


def test_the_item_pipelines_take_a_saved_page_into_the_archive(tmp_path):
    """ExtractPipeline -> NormalizePipeline -> DedupePipeline -> StorePipeline, as the crawl runs
    them (inline, PRESSWATCH_WORKERS=0), on the saved eca-news page under its real URL."""
    db_path = tmp_path / "archive.db"
    crawler = make_crawler(SourceSpider, PRESSWATCH_DB=str(db_path), PRESSWATCH_WORKERS=0)
    stages = [ExtractPipeline.from_crawler(crawler), NormalizePipeline.from_crawler(crawler),
              DedupePipeline.from_crawler(crawler), StorePipeline.from_crawler(crawler)]
    response = file_response("eca-news.html", ECA_NEWS)
    page = FetchedPage(source="eca-news", url=response.url, html=response.text, status=200,
                       fetched=datetime(2026, 11, 22, 8, 0, tzinfo=UTC),
                       last_modified="Tue, 03 Aug 2021 08:00:00 GMT", listing_url="https://eca.iom.int/news")

    article = run_stages(stages, page)
    assert isinstance(article, Article)
    assert article.outcome == "new" and article.uid is not None and article.content_hash is not None
    assert crawler.stats.get_value("presswatch/items_new") == 1
    db = open_archive(db_path)
    (row,) = db.execute("SELECT source, kind, url, title, published, date_source, language, summary "
                        "FROM items").fetchall()
    db.close()
    assert row == (
        "eca-news", "news", ECA_NEWS, "WDATiP around the Region", "2021-08-03T10:00:00+02:00", "metadata", "en",
        "From Instagram campaigns to press conferences and art installations, we take a look at how IOM is "
        "advocating for and with survivors of the lucrative and lethal crime of human trafficking.",
    )
    assert datetime.fromisoformat(row[4]) == datetime(2021, 8, 3, 10, 0, tzinfo=timezone(timedelta(hours=2)))


def test_every_source_has_a_saved_page():
    """Each source of sources.toml has its page in tests/pages, tested in test_extract.py."""
    tested = (ROOT / "tests" / "test_extract.py").read_text(encoding="utf-8")
    for source in crawl_config(make_crawler()).sources:
        assert f'"{source.id}"' in tested, f"{source.id}: no saved-page test in tests/test_extract.py"
