"""The extraction-only bound: trafilatura alone, and the crawl's whole extraction step, in one process.

    python -m bench.extract_bound --pages 5000 --sources SOURCES [--seed 9]

For each article page of the generated site (built in memory, untimed), it
does what the crawl's worker processes do per page and nothing else:
`pipelines.extract.extract_fields` (trafilatura with presswatch's options plus
the source's selectors) and `pipelines.normalize.article.normalize_article` (dates,
canonical URL, text, language, countries). No HTTP, no Scrapy, no SQLite, no
process pool. One untimed warm-up page (not one of the measured pages) loads
the lazily built tables of trafilatura, dateparser and the country matcher
first, so the figure is the steady-state rate.

Then, in a second pass over the same pages, trafilatura alone: `bare_extraction`
with presswatch's options on the parsed page, exactly as `extract_fields` calls
it (the bound issue 9 names: "trafilatura extracting the same pages with the
same options in one process").

Prints one JSON object: pages, seconds (the summed per-page work of the
extraction step), extract_seconds, normalize_seconds, trafilatura_seconds,
pages_per_second, extract_pages_per_second, trafilatura_pages_per_second, and
trafilatura_cpu_seconds / trafilatura_cpu_per_page: the CPU time (process_time)
of the trafilatura-alone pass, the baseline of the crawl's CPU per page (wall
time counts the other processes of a busy machine; CPU time does not).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from datetime import UTC, datetime
from typing import Any

from bench.site import HOST, BenchSite
from pipelines.extract import _trafilatura, extract_fields
from pipelines.items import Article
from pipelines.normalize.article import normalize_article
from pipelines.rules import extraction_rules, normalization_rules
from presswatch.config.sources import load_sources
from presswatch.http import http_date

_ARTICLE_FIELDS = {field.name for field in dataclasses.fields(Article)}


def article_from(fields: Any, source_id: str, url: str, fetched: datetime, page: Any) -> Article:
    """The Article ExtractPipeline builds: every extracted field Article has, plus the page's validators."""
    values = {name: value for name, value in vars(fields).items() if name in _ARTICLE_FIELDS}
    last_modified = http_date(page.last_modified) if page.last_modified else None
    return Article(source=source_id, url=url, fetched=fetched, etag=page.etag, last_modified=last_modified,
                   **values)


def measure(pages: int, sources_path: str, seed: int = 9, host: str = HOST) -> dict[str, float]:
    site = BenchSite(pages, host=host, seed=seed)
    sources = load_sources(sources_path)
    source = sources.sources[0]
    rules_extract, rules_normalize = extraction_rules(source), normalization_rules(source)

    def one(number: int, site: BenchSite) -> tuple[float, float]:
        page = site.article(number)
        html, url = page.body.decode("utf-8"), site.article_url(number)
        fetched = datetime.now(UTC)
        start = time.perf_counter()
        fields = extract_fields(html, url, rules_extract)
        middle = time.perf_counter()
        article = article_from(fields, source.id, url, fetched, page)
        normalize_article(article, rules_normalize)
        end = time.perf_counter()
        if not article.title or article.published is None:
            raise RuntimeError(f"extraction lost the title or date of {url}")
        return middle - start, end - middle

    def trafilatura_alone(number: int) -> tuple[float, float]:
        """The issue's bound: trafilatura with presswatch's options, called as extract_fields calls it.
        Its wall time and its CPU time (process_time: this process's user + system)."""
        html, url = site.article(number).body.decode("utf-8"), site.article_url(number)
        start, start_cpu = time.perf_counter(), time.process_time()
        document = _trafilatura(html, url)
        spent, spent_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        if document is None or not document.title:
            raise RuntimeError(f"trafilatura found no title on {url}")
        return spent, spent_cpu

    one(0, BenchSite(1, host=host, seed=seed + 1000))  # warm-up on a page outside the set
    extract = normalize = 0.0
    for number in range(pages):
        spent_extract, spent_normalize = one(number, site)
        extract += spent_extract
        normalize += spent_normalize
    trafilatura_seconds = trafilatura_cpu_seconds = 0.0
    for number in range(pages):
        spent, spent_cpu = trafilatura_alone(number)
        trafilatura_seconds += spent
        trafilatura_cpu_seconds += spent_cpu
    seconds = extract + normalize
    return {
        "pages": pages,
        "seconds": seconds,
        "extract_seconds": extract,
        "normalize_seconds": normalize,
        "trafilatura_seconds": trafilatura_seconds,
        "trafilatura_cpu_seconds": trafilatura_cpu_seconds,
        "trafilatura_cpu_per_page": trafilatura_cpu_seconds / pages,
        "pages_per_second": pages / seconds,
        "extract_pages_per_second": pages / extract,
        "trafilatura_pages_per_second": pages / trafilatura_seconds,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, required=True)
    parser.add_argument("--sources", required=True)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--host", default=HOST)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.pages, args.sources, args.seed, args.host)))


if __name__ == "__main__":
    main()
