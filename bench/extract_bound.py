"""The extraction-only bound: the crawl's per-page CPU work on the benchmark pages, in one process.

    python -m bench.extract_bound --pages 5000 --sources SOURCES [--seed 9]

For each article page of the generated site (built in memory, untimed), it
does what the crawl's worker processes do per page and nothing else:
`pipelines.extract.extract_fields` (trafilatura with presswatch's options plus
the source's selectors) and `pipelines.normalizer.normalize_article` (dates,
canonical URL, text, language, countries). No HTTP, no Scrapy, no SQLite, no
process pool. One untimed warm-up page (not one of the measured pages) loads
the lazily built tables of trafilatura, dateparser and the country matcher
first, so the figure is the steady-state rate.

Prints one JSON object: pages, seconds (the summed per-page work),
extract_seconds, normalize_seconds, pages_per_second.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from bench.site import HOST, BenchSite
from crawler.items import Article
from pipelines import normalizer
from pipelines.extract import extract_fields, rules_for
from presswatch.sources import load_sources

_ARTICLE_FIELDS = {field.name for field in dataclasses.fields(Article)}


def article_from(fields: Any, source_id: str, url: str, fetched: datetime, page: Any) -> Article:
    """The Article ExtractPipeline builds: every extracted field Article has, plus the page's validators."""
    values = {name: value for name, value in vars(fields).items() if name in _ARTICLE_FIELDS}
    last_modified = format_datetime(page.last_modified, usegmt=True) if page.last_modified else None
    return Article(source=source_id, url=url, fetched=fetched, etag=page.etag, last_modified=last_modified,
                   **values)


def measure(pages: int, sources_path: str, seed: int = 9, host: str = HOST) -> dict[str, float]:
    site = BenchSite(pages, host=host, seed=seed)
    sources = load_sources(sources_path)
    source = sources.sources[0]
    extraction_rules, normalization_rules = rules_for(source), normalizer.rules_for(source)

    def one(number: int, site: BenchSite) -> tuple[float, float]:
        page = site.article(number)
        html, url = page.body.decode("utf-8"), site.article_url(number)
        fetched = datetime.now(UTC)
        start = time.perf_counter()
        fields = extract_fields(html, url, extraction_rules)
        middle = time.perf_counter()
        article = article_from(fields, source.id, url, fetched, page)
        normalizer.normalize_article(article, normalization_rules)
        end = time.perf_counter()
        if not article.title or article.published is None:
            raise RuntimeError(f"extraction lost the title or date of {url}")
        return middle - start, end - middle

    one(0, BenchSite(1, host=host, seed=seed + 1000))  # warm-up on a page outside the set
    extract = normalize = 0.0
    for number in range(pages):
        spent_extract, spent_normalize = one(number, site)
        extract += spent_extract
        normalize += spent_normalize
    seconds = extract + normalize
    return {
        "pages": pages,
        "seconds": seconds,
        "extract_seconds": extract,
        "normalize_seconds": normalize,
        "pages_per_second": pages / seconds,
        "extract_pages_per_second": pages / extract,
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
