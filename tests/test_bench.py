"""The benchmark harness's own pieces (bench/): the generated site, its server, the figures.

The benchmarks themselves are `bench/run` (docs/performance.md), not tests:
these only check that what they measure is what they say.
"""

from __future__ import annotations

import http.client
import json

from bench.procmem import TreeSampler, process_tree
from bench.report import Figure, write_json
from bench.site import PER_LISTING, BenchServer, BenchSite
from pipelines.extract import extract_fields
from pipelines.rules import extraction_rules
from presswatch.config.sources import load_sources


def get(server: BenchServer, path: str, host: str, headers: dict | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", path, headers={"Host": host, **(headers or {})})
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def test_pages_are_deterministic_distinct_and_about_50_kb():
    site = BenchSite(120)
    again = BenchSite(120)
    assert site.article(7).body == again.article(7).body
    titles = {site.title(number) for number in range(site.pages)}
    assert len(titles) == site.pages
    sizes = [len(site.article(number).body) for number in range(0, 120, 10)]
    assert all(45_000 < size < 65_000 for size in sizes), sizes
    assert len({site.published(number) for number in range(site.pages)}) == site.pages
    assert site.number_of(site.article_path(42)) == 42
    assert site.number_of("/news/not-an-article-7") is None


def test_generated_sources_extract_title_date_and_a_600_word_body(tmp_path):
    site = BenchSite(60)
    source = load_sources(site.write_sources(tmp_path)).get("bench-news")
    assert source.is_item_url(site.article_url(3)) and not source.is_item_url(site.listing_url(1))
    fields = extract_fields(site.article(3).body.decode(), site.article_url(3), extraction_rules(source))
    assert fields.title == site.title(3)
    assert fields.date_text == site.published(3).isoformat()
    assert 580 <= len(fields.body.split()) <= 640
    assert "Subscribe to our newsletter" not in fields.body and "Most read" not in fields.body


def test_server_routes_on_host_paginates_and_answers_304(tmp_path):
    site = BenchSite(PER_LISTING + 5)
    with BenchServer(site) as server:
        listing = get(server, "/news?page=0", site.host)
        assert listing.status == 200
        assert listing.body.count(b'<div class="article-detail">') == PER_LISTING
        assert b'href="?page=1"' in listing.body
        last = get(server, "/news?page=1", site.host)
        assert last.body.count(b'<div class="article-detail">') == 5 and b"pager__item--next" not in last.body
        page = get(server, site.article_path(2), site.host)
        assert page.status == 200 and page.getheader("ETag") == site.etag(2)
        again = get(server, site.article_path(2), site.host, {"If-None-Match": page.getheader("ETag")})
        assert again.status == 304 and again.body == b""
        since = get(server, site.article_path(2), site.host,
                    {"If-Modified-Since": page.getheader("Last-Modified")})
        assert since.status == 304
        assert get(server, site.article_path(2), "other.example.org").status == 404
        assert get(server, "/news/nothing-here-9", site.host).status == 404
        counts = server.reset()
        assert counts["total"] == 7 and counts["status_304"] == 2 and counts["article"] == 5
    site.render_all()
    assert site.lookup(site.article_path(4)).body == BenchSite(PER_LISTING + 5).article(4).body


def test_figures_medians_targets_and_json(tmp_path):
    ratio = Figure("crawl.ratio", "x", runs=[1.2, 1.7, 1.6], target=1.5, op=">=")
    memory = Figure("memory.peak_rss", "MB", runs=[410.0], target=400, op="<")
    slot = Figure("search.median", "ms", target=20, op="<", slot=True)
    assert ratio.value == 1.6 and ratio.met is True
    assert memory.met is False and slot.value is None and slot.met is None
    write_json(tmp_path / "figures.json", [ratio, memory, slot], {"machine": {"nproc": 2}})
    document = json.loads((tmp_path / "figures.json").read_text())
    assert [figure["name"] for figure in document["figures"]] == ["crawl.ratio", "memory.peak_rss", "search.median"]
    assert {key: document["figures"][0][key] for key in ("value", "unit", "target", "met")} == {
        "value": 1.6, "unit": "x", "target": 1.5, "met": True}


def test_tree_sampler_sees_this_process():
    import os

    sampler = TreeSampler(os.getpid())
    sampler.sample()
    assert os.getpid() in process_tree(os.getpid())
    assert sampler.peak_rss > 10_000_000 and sampler.hwm_sum >= sampler.peak_rss


def test_extraction_bound_measures_trafilatura_alone_and_the_whole_step(tmp_path):
    from bench.extract_bound import measure

    site = BenchSite(4)
    figures = measure(4, str(site.write_sources(tmp_path)), seed=site.seed)
    assert figures["pages"] == 4
    # Speeds depend on the machine: the bookkeeping behind them is what is asserted
    # (a title-less trafilatura result or a broken sum fails here).
    assert figures["seconds"] == figures["extract_seconds"] + figures["normalize_seconds"]
    assert figures["pages_per_second"] == 4 / figures["seconds"]
    assert figures["trafilatura_pages_per_second"] == 4 / figures["trafilatura_seconds"] > 0
    assert figures["trafilatura_cpu_per_page"] == figures["trafilatura_cpu_seconds"] / 4 > 0


def test_generic_sources_are_the_same_source_without_selectors(tmp_path):
    site = BenchSite(60)
    configured = load_sources(site.write_sources(tmp_path)).get("bench-news")
    (tmp_path / "generic").mkdir()
    generic = load_sources(site.write_sources(tmp_path / "generic", selectors=False)).get("bench-news")
    assert configured.selectors.title == "h1.page-title" and generic.selectors.title is None
    assert generic.selectors.body is None
    assert generic.listing == configured.listing and generic.start_urls == configured.start_urls
    fields = extract_fields(site.article(3).body.decode(), site.article_url(3), extraction_rules(generic))
    assert fields.title == site.title(3)


def test_crawl_measurement_reports_cpu_per_page_ratios_on_a_tiny_site(tmp_path):
    """The harness itself, on 12 pages: every figure of the crawl measurement, the new ones included."""
    from bench.measurements import Context, measure_crawl

    lines: list[str] = []
    figures = {figure.name: figure for figure in
               measure_crawl(Context(workdir=tmp_path, quick=True, repeat=1, log=lines.append, pages=12))}
    assert list(figures) == [
        "crawl.pages_per_second", "crawl.extraction_only_pages_per_second", "crawl.ratio_to_extraction_only",
        "crawl.extraction_step_pages_per_second", "crawl.ratio_to_extraction_step", "crawl.cpu_per_page_ratio",
        "crawl.generic_cpu_per_page_ratio", "recrawl.requests", "recrawl.time"]
    cpu, generic = figures["crawl.cpu_per_page_ratio"], figures["crawl.generic_cpu_per_page_ratio"]
    assert (cpu.target, cpu.op, generic.target, generic.op) == (0.6, "<=", 1.25, "<=")
    assert len(cpu.runs) == len(generic.runs) == 1 and cpu.value > 0 and generic.value > 0
    assert "ms ÷" in cpu.baseline and "without [source.selectors]" in generic.baseline
    assert any(line.startswith("generic crawl 1/1 (no selectors): 12 pages") for line in lines), lines
    assert not list((tmp_path / "crawl").glob("*.db"))  # the archives are removed after each run


def test_memory_target_is_under_300_mb(tmp_path):
    from bench.measurements import Context, measure_memory

    figures = {figure.name: figure for figure in
               measure_memory(Context(workdir=tmp_path, quick=True, repeat=1, log=lambda line: None, pages=20))}
    pss = figures["memory.peak_pss"]
    assert (pss.target, pss.op) == (300, "<") and len(pss.runs) == 1
    assert 0 < pss.value < figures["memory.peak_rss"].value
