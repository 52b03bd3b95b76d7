"""Scrapy settings for presswatch (scrapy.cfg points here).

`crawler.run` overrides PRESSWATCH_* per crawl: the archive, the sources file,
the mirror. Everything else is the polite default for crawling real sites.
"""

import os

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
# Response bytes the scraper holds at once (Scrapy's default 5 MB): 2 MB is ~40 article pages in
# flight, plenty to keep 2-4 extraction workers busy, and ~20 MB less in the crawl process (issue 19).
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 2_000_000

# Bounds against hostile or broken servers.
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
REDIRECT_MAX_TIMES = 5

# One component per concern, in data-flow order.
ITEM_PIPELINES = {
    "pipelines.stages.extract.ExtractPipeline": 100,
    "pipelines.stages.normalize.NormalizePipeline": 200,
    "pipelines.stages.dedupe.DedupePipeline": 300,
    "pipelines.stages.store.StorePipeline": 400,
    "pipelines.stages.stories.StoryPipeline": 450,  # near-duplicates and language versions -> stories
    "pipelines.stages.classify.ClassifyPipeline": 500,
    "pipelines.stages.documents.DocumentPipeline": 600,  # linked PDFs: text, versions (issue 17)
}
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    # robots.txt once per host for all the sources of a crawl (Scrapy's own: once per source)
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robots.SharedRobotsTxtMiddleware": 100,
    "crawler.retry.RetryAfterMiddleware": 550,
    "crawler.encoding.CharsetGuard": 580,  # after decompression: unknown charsets count as none
    "crawler.guard.DomainGuard": 990,  # last before the download handler
}
PRESSWATCH_MAX_RETRY_AFTER = 60  # seconds: a longer Retry-After waits for the next crawl
# Add-ons: sources.toml and topics.toml read once and handed to every component;
# the mirror (`scrapy crawl ID -s PRESSWATCH_MIRROR=URL`; crawler.run drops it without --mirror).
ADDONS = {
    "crawler.addons.CrawlConfigAddon": 0,
    "crawler.addons.MirrorAddon": 10,
}
# Scrapy's own commands: one spider per source (`scrapy list`, `scrapy crawl moldova`).
SPIDER_LOADER_CLASS = "crawler.spiderloader.SourceSpiderLoader"
EXTENSIONS = {
    "crawler.runlog.RunRecorder": 0,
    "crawler.memory.MallocTrim": 20,  # free heap pages back to the OS every PRESSWATCH_MALLOC_TRIM_SECONDS
}

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
TELNETCONSOLE_ENABLED = False

# presswatch's own settings (overridden by crawler.run from the CLI options).
# The environment variables of the presswatch command work for `scrapy crawl` too.
PRESSWATCH_DB = os.environ.get("PRESSWATCH_DB") or "data/presswatch.db"
PRESSWATCH_SOURCES = os.environ.get("PRESSWATCH_SOURCES") or "sources.toml"
PRESSWATCH_TOPICS = os.environ.get("PRESSWATCH_TOPICS") or "topics.toml"  # topic classification (feeds/)
PRESSWATCH_MIRROR = ""  # e.g. http://127.0.0.1:8765: fetch every host from the sample sites
PRESSWATCH_WORKERS = 2  # extraction processes; 0 extracts in the crawler's own process
PRESSWATCH_LOG_PATH = ""  # recorded in crawl_runs.log_path
# Bounds on the work one page or one site can cause (issue 21, docs/reliability.md).
PRESSWATCH_STEP_SECONDS = 30  # wall-clock limit of one worker step of one page (extraction...): too_slow
PRESSWATCH_MAX_PAGE_MB = 5  # item pages larger than this are not extracted: too_large
PRESSWATCH_MAX_ELEMENTS = 30_000  # ... nor pages of more HTML elements (extraction time grows faster)
PRESSWATCH_MAX_BODY_CHARS = 1_000_000  # a longer extracted body is cut (too_large problem)
PRESSWATCH_MAX_SITEMAP_DEPTH = 3  # sitemap indexes nested deeper are not followed
PRESSWATCH_MAX_SITEMAPS = 50  # sitemap files fetched per crawl of a source
PRESSWATCH_MAX_LINKS_PER_PAGE = 1000  # item links taken from one listing page, feed or sitemap
PRESSWATCH_MAX_REQUESTS = 100_000  # requests per crawl of a source (the 20,000-page bench site takes ~21,400)
PRESSWATCH_HARD_STOP_GRACE = 20  # --timeout: seconds after it that the crawl process stops regardless
# Archive writes (issue 19, pipelines/stages/archive.py): the archive stages of the crawl process share
# one connection and one transaction, committed every PRESSWATCH_BATCH_ITEMS items or PRESSWATCH_BATCH_MS
# after it began (a kill -9 loses at most that batch); then the write lock stays free
# PRESSWATCH_BATCH_GAP_MS for other processes. WAL checkpoints run on a thread every
# PRESSWATCH_CHECKPOINT_MS (0: SQLite's own, on the event loop's commits).
PRESSWATCH_BATCH_ITEMS = 32
PRESSWATCH_BATCH_MS = 50
PRESSWATCH_BATCH_GAP_MS = 100
PRESSWATCH_CHECKPOINT_MS = 1000
# Memory (issue 19, crawler/memory.py): malloc_trim this often while a spider runs (0: never).
PRESSWATCH_MALLOC_TRIM_SECONDS = 10
