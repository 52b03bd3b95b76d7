"""presswatch's own Scrapy signals."""

from __future__ import annotations

from scrapy.crawler import Crawler

# Sent with url=, problem=, detail= when a page could not be fetched or used
# (a 404, a page without a title or a date...). RunRecorder stores each one in
# crawl_problems, so the crawl summary and `presswatch status` can name the URL.
problem_found = object()


def report_problem(crawler: Crawler, url: str, problem: str, detail: str = "") -> None:
    """Tell the run recorder (and the log) that ``url`` has ``problem``."""
    crawler.signals.send_catch_log(problem_found, url=url, problem=problem, detail=detail)

# Sent by a stage that derives data from stored items, when it opens, to ask ExtractPipeline to
# compute its CPU-heavy part in the page's worker step (pipelines/prepare.py): with
# boilerplate=<source id -> the source's known boilerplate hashes> (StoryPipeline) or
# topics=(topics.toml path, its fingerprint) (ClassifyPipeline). The stage checks what it gets.
derived_wanted = object()
