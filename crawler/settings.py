"""Scrapy settings for presswatch (scrapy.cfg points here).

`crawler.run` overrides PRESSWATCH_* per crawl: the archive, the sources file,
the mirror. Everything else is the polite default for crawling real sites.
"""

BOT_NAME = "presswatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "presswatch/0.1 (+https://github.com/presswatch/presswatch; press-release monitor)"
ROBOTSTXT_OBEY = True

# Politeness on real sites: AutoThrottle adapts the delay to each server's latency.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
# Items processed in parallel per response. Scrapy starts this many asyncio
# tasks for every response whatever it yields (default 100: ~100 tasks for an
# item page's one item, a few ms of the event loop's CPU per page). An item
# page yields one item and a listing only requests, so a few are plenty.
CONCURRENT_ITEMS = 8

# Bounds against hostile or broken servers.
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
REDIRECT_MAX_TIMES = 5

# One component per concern, in data-flow order.
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.normalizer.NormalizePipeline": 200,
    "pipelines.dedupe.DedupePipeline": 300,
    "pipelines.store.StorePipeline": 400,
    "pipelines.stages.stories.StoryPipeline": 450,  # near-duplicates and language versions -> stories
    "pipelines.stages.classify.ClassifyPipeline": 500,
    "pipelines.stages.documents.DocumentPipeline": 600,  # linked PDFs: text, versions (issue 17)
}
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.retry.RetryAfterMiddleware": 550,
    "crawler.guard.DomainGuard": 990,  # last before the download handler
}
PRESSWATCH_MAX_RETRY_AFTER = 60  # seconds: a longer Retry-After waits for the next crawl
EXTENSIONS = {
    "crawler.runlog.RunRecorder": 0,
}

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False

# presswatch's own settings (overridden by crawler.run from the CLI options).
PRESSWATCH_DB = "data/presswatch.db"
PRESSWATCH_SOURCES = "sources.toml"
PRESSWATCH_TOPICS = "topics.toml"  # topic classification of new and changed items (feeds/)
PRESSWATCH_MIRROR = ""  # e.g. http://127.0.0.1:8765: fetch every host from the sample sites
PRESSWATCH_WORKERS = 2  # extraction processes; 0 extracts in the crawler's own process
PRESSWATCH_LOG_PATH = ""  # recorded in crawl_runs.log_path
