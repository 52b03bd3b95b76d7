"""The measurements `bench/run` knows, by name. Each returns its figures (medians over ``repeat`` runs).

crawl            throughput against the extraction-only bound, and the unchanged re-crawl (issue 9, 1-2);
                 CPU per page of the crawl's process tree, configured and generic, against
                 trafilatura alone's (issue 19)
memory           peak memory (PSS: shared pages once; RSS) of a 20,000-page crawl (issue 9, 5)
search           search at a million items (issue 9, 3): bench/search_bench.py
publish          publishing the feeds at a million items (issue 9, 4): bench/publish_bench.py
near-duplicates  near-duplicate matching at a million items (issue 9, 6): bench/near_duplicates_bench.py
fidelity         real pages (../shared/corpora) beside trafilatura and htmldate alone (issue 14)
reliability      kill -9 trials, the 20 MB page, stalls from hostile pages (issue 21): bench/reliability.py
documents        PDF text extraction against pdftotext (issue 17): bench/documents.py
scale-out        two crawl processes + one writer over Redis; kill -9 trials (issue 20): bench/scale_out.py

A measurement whose module is missing reports its figures as marked slots
(value None): `measure(ctx) -> list[Figure]` in that module wires it in.
"""

from __future__ import annotations

import importlib
import resource
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.crawl import ROOT, CrawlRun, MeasurementError, check_complete, extraction_bound, run_crawl
from bench.report import Figure
from bench.site import BenchServer, BenchSite


@dataclass
class Context:
    workdir: Path  # per measurement subdirectories; generated archives are kept there between runs
    quick: bool
    repeat: int
    log: Callable[[str], None]
    pages: int | None = None  # the crawl measurement's site size instead of its own (tests: a few pages)


def _mb(size: float) -> float:
    return size / 1_000_000


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tree_cpu(run: CrawlRun) -> float:
    """CPU seconds of the crawl's whole process tree (crawl process, forkserver, workers, resource
    tracker), as the sampler last read them from /proc; the test server is not in it."""
    return sum(cpu for _pid, _command, _peak, cpu in run.processes)


def cpu_per_page(run: CrawlRun) -> float:
    """CPU seconds of the crawl's process tree per page it archived."""
    return tree_cpu(run) / max(1, run.items_new)


def _cpu_split(run: CrawlRun, server_cpu: float) -> str:
    main = sum(cpu for _pid, command, _peak, cpu in run.processes if " crawl " in command)
    workers = sum(cpu for _pid, command, _peak, cpu in run.processes if "forkserver" in command)
    pages = max(1, run.items_new)
    return (f"CPU per page: crawl process {1000 * main / pages:.1f} ms, extraction workers "
            f"{1000 * workers / pages:.1f} ms, test server {1000 * server_cpu / pages:.1f} ms")


def measure_crawl(ctx: Context) -> list[Figure]:
    """Crawl N generated pages into a fresh archive, re-crawl it unchanged, extract the same pages alone."""
    pages = ctx.pages or (300 if ctx.quick else 5000)
    site = BenchSite(pages)
    workdir = ctx.workdir / "crawl"
    (workdir / "generic").mkdir(parents=True, exist_ok=True)
    sources = site.write_sources(workdir)
    generic_sources = site.write_sources(workdir / "generic", selectors=False)
    rate = Figure("crawl.pages_per_second", "pages/s", digits=1,
                  note=f"{pages:,} generated article pages (+{site.listing_pages} listing pages) crawled "
                       "end to end into a fresh archive; wall time of the whole `presswatch crawl` command")
    bound = Figure("crawl.extraction_only_pages_per_second", "pages/s", digits=1,
                   note="the issue's bound: trafilatura alone (bare_extraction with presswatch's options) "
                        "on the same pages in one process, no crawl")
    ratio = Figure("crawl.ratio_to_extraction_only", "x", target=1.5, op=">=",
                   baseline="crawl pages/s ÷ trafilatura-only pages/s, each run against its own")
    step = Figure("crawl.extraction_step_pages_per_second", "pages/s", digits=1,
                  note="the workers' whole per-page step in one process: extract_fields (trafilatura + "
                       "selectors) + normalize_article, no crawl")
    step_ratio = Figure("crawl.ratio_to_extraction_step", "x",
                        baseline="crawl pages/s ÷ extraction-step pages/s, each run against its own")
    cpu_ratio = Figure("crawl.cpu_per_page_ratio", "x", target=0.6, op="<=", digits=2)
    generic_ratio = Figure("crawl.generic_cpu_per_page_ratio", "x", target=1.25, op="<=", digits=2)
    requests = Figure("recrawl.requests", "%", target=1, op="<=", digits=3)
    seconds = Figure("recrawl.time", "%", target=5, op="<=")
    counts: list[tuple[int, int]] = []
    times: list[tuple[float, float]] = []
    cpu_pages: list[tuple[float, float, float]] = []  # ms per page: crawl, generic crawl, trafilatura
    held = site.render_all()
    ctx.log(f"crawl: {pages} pages ({held / pages / 1000:.1f} KB on average) rendered in advance")
    with BenchServer(site) as server:
        for run in range(1, ctx.repeat + 1):
            db = workdir / f"archive-{run}.db"
            for stale in workdir.glob(f"archive-{run}.db*"):
                stale.unlink()
            before = _own_cpu()
            first = run_crawl(server, sources, db, workdir / "logs", f"crawl-{run}")
            split = _cpu_split(first, _own_cpu() - before)
            check_complete(first, site)
            ctx.log(f"crawl {run}/{ctx.repeat}: {first.items} pages in {first.seconds:.1f} s = "
                    f"{first.items / first.seconds:.1f} pages/s, {first.requests['total']} requests; {split}")
            second = run_crawl(server, sources, db, workdir / "logs", f"recrawl-{run}")
            if second.items != site.pages or second.items_new:
                raise MeasurementError(f"re-crawl {run}: {second.items_new} new items on an unchanged site")
            ctx.log(f"re-crawl {run}/{ctx.repeat}: {second.requests['total']} requests "
                    f"in {second.seconds:.1f} s")
            generic_db = workdir / f"generic-{run}.db"
            for stale in workdir.glob(f"generic-{run}.db*"):
                stale.unlink()
            generic = run_crawl(server, generic_sources, generic_db, workdir / "logs", f"generic-{run}")
            check_complete(generic, site)
            ctx.log(f"generic crawl {run}/{ctx.repeat} (no selectors): {generic.items} pages in "
                    f"{generic.seconds:.1f} s; process tree CPU {1000 * cpu_per_page(generic):.1f} ms a page "
                    f"(configured: {1000 * cpu_per_page(first):.1f} ms)")
            extraction = extraction_bound(site, sources)
            alone = extraction["trafilatura_cpu_per_page"]
            ctx.log(f"extraction only {run}/{ctx.repeat}: trafilatura alone "
                    f"{extraction['trafilatura_pages_per_second']:.1f} pages/s; extraction step "
                    f"{extraction['pages_per_second']:.1f} pages/s "
                    f"(extract_fields alone {extraction['extract_pages_per_second']:.1f} pages/s)")
            rate.runs.append(first.items / first.seconds)
            bound.runs.append(extraction["trafilatura_pages_per_second"])
            ratio.runs.append(rate.runs[-1] / bound.runs[-1])
            step.runs.append(extraction["pages_per_second"])
            step_ratio.runs.append(rate.runs[-1] / step.runs[-1])
            cpu_ratio.runs.append(cpu_per_page(first) / alone)
            generic_ratio.runs.append(cpu_per_page(generic) / alone)
            cpu_pages.append((1000 * cpu_per_page(first), 1000 * cpu_per_page(generic), 1000 * alone))
            requests.runs.append(100 * second.requests["total"] / first.requests["total"])
            seconds.runs.append(100 * second.seconds / first.seconds)
            counts.append((second.requests["total"], first.requests["total"]))
            times.append((second.seconds, first.seconds))
            for path in [*workdir.glob(f"archive-{run}.db*"), *workdir.glob(f"generic-{run}.db*")]:
                path.unlink()
    site.forget_rendered()
    ratio.note = f"last run's {split}"
    cpu_ratio.baseline = ("CPU per archived page of the crawl's process tree (crawl process, forkserver, "
                          "workers, resource tracker; not the test server) ÷ trafilatura alone's CPU per "
                          "page (process_time of bare_extraction, same pages, same run): "
                          + ", ".join(f"{crawl:.1f} ms ÷ {alone:.1f} ms" for crawl, _, alone in cpu_pages))
    generic_ratio.baseline = ("the same for the site's source without [source.selectors] (generic "
                              "extraction; same pages, same listing): "
                              + ", ".join(f"{generic:.1f} ms ÷ {alone:.1f} ms"
                                          for _, generic, alone in cpu_pages))
    requests.baseline = ("the first crawl of the same run: "
                         + ", ".join(f"{again} of {first}" for again, first in counts) + " requests")
    seconds.baseline = ("the first crawl of the same run: "
                        + ", ".join(f"{again:.1f} s of {first:.1f} s" for again, first in times))
    return [rate, bound, ratio, step, step_ratio, cpu_ratio, generic_ratio, requests, seconds]


def log_processes(ctx: Context, crawl: CrawlRun) -> None:
    for pid, command, peak, cpu in crawl.processes:
        ctx.log(f"    pid {pid:>7}: peak {_mb(peak):5.0f} MB, CPU {cpu:6.1f} s  {command}")


DOCUMENTS_EVERY = 20  # 5% of the memory crawl's articles link a PDF: 1,000 reports in 20,000 pages


def measure_memory(ctx: Context) -> list[Figure]:
    """Peak RSS of the whole process tree of a 20,000-page crawl."""
    pages = ctx.pages or (1000 if ctx.quick else 20_000)
    # Documents included (issue 17): one article in DOCUMENTS_EVERY links a 40-page PDF report.
    site = BenchSite(pages, documents_every=DOCUMENTS_EVERY)
    workdir = ctx.workdir / "memory"
    workdir.mkdir(parents=True, exist_ok=True)
    sources = site.write_sources(workdir)
    # The target is judged on PSS: the crawl is a tree of processes forked from one
    # forkserver, and summing their RSS counts every page they share once per process
    # (the forkserver's libraries and warmed-up tables three times over).
    hwm = Figure("memory.peak_rss", "MB", digits=0)
    sampled = Figure("memory.peak_rss_simultaneous", "MB", digits=0)
    proportional = Figure("memory.peak_pss", "MB", target=300, op="<", digits=0)  # issue 19
    processes = 0
    with BenchServer(site) as server:
        for run in range(1, ctx.repeat + 1):
            db = workdir / f"archive-{run}.db"
            for stale in workdir.glob(f"archive-{run}.db*"):
                stale.unlink()
            crawl = run_crawl(server, sources, db, workdir / "logs", f"memory-{run}", pss=True)
            check_complete(crawl, site)
            hwm.runs.append(_mb(crawl.hwm_sum))
            sampled.runs.append(_mb(crawl.peak_rss))
            proportional.runs.append(_mb(crawl.peak_pss))
            ctx.log(f"memory {run}/{ctx.repeat}: {pages} pages in {crawl.seconds:.1f} s; each process's peak "
                    f"summed {_mb(crawl.hwm_sum):.0f} MB, highest simultaneous {_mb(crawl.peak_rss):.0f} MB "
                    f"(PSS {_mb(crawl.peak_pss):.0f} MB)")
            log_processes(ctx, crawl)
            processes = len(crawl.processes)
            for path in workdir.glob(f"archive-{run}.db*"):
                path.unlink()
    hwm.note = (f"{pages:,}-page crawl, one page in {DOCUMENTS_EVERY} linking a 40-page PDF: "
                "the peak RSS (VmHWM, read from /proc every 0.1 s) of each of the "
                f"{processes} processes of the crawl's tree (crawl process, forkserver, extraction workers, "
                "resource tracker) summed: an upper bound, as if every peak came at once")
    sampled.note = ("the highest total VmRSS of the tree at one sample (0.1 s apart); both count pages "
                    "the workers share with the forkserver once per process")
    proportional.note = ("the target's figure: the highest total PSS (smaps_rollup) of the tree at one "
                         "sample: shared pages divided among the processes sharing them, so each page the "
                         "crawl occupies counts once")
    return [hwm, sampled, proportional]


def _wired(module: str, slots: list[Figure]) -> Callable[[Context], list[Figure]]:
    """A measurement implemented by ``bench/<module>.py``'s ``measure(ctx)``; slots while it is missing."""

    def measure(ctx: Context) -> list[Figure]:
        if (ROOT / "bench" / f"{module}.py").exists():
            return importlib.import_module(f"bench.{module}").measure(ctx)
        return slots

    measure.__doc__ = f"bench/{module}.py's measure(ctx)"
    return measure


def _slot(name: str, unit: str, target: float, module: str) -> Figure:
    return Figure(name, unit, target=target, op="<", slot=True,
                  note=f"SLOT: not measured yet: bench/{module}.py with measure(ctx) wires it in")


MEASUREMENTS: dict[str, Callable[[Context], list[Figure]]] = {
    "crawl": measure_crawl,
    "memory": measure_memory,
    "search": _wired("search_bench", [_slot("search.median", "ms", 20, "search_bench"),
                                      _slot("search.p95", "ms", 100, "search_bench")]),
    "publish": _wired("publish_bench", [_slot("publish.full", "s", 10, "publish_bench"),
                                        _slot("publish.incremental_100", "s", 1, "publish_bench")]),
    "near-duplicates": _wired("near_duplicates_bench",
                              [_slot("near_duplicates.match", "ms", 5, "near_duplicates_bench"),
                               _slot("near_duplicates.peak_rss", "MB", 400, "near_duplicates_bench")]),
    "fidelity": _wired("fidelity", [_slot("fidelity.dates.dates_exact", "pages", 0, "fidelity")]),
    "reliability": _wired("reliability", [_slot("reliability.kill9_missing", "rows", 0, "reliability")]),
    "documents": _wired("documents", [_slot("documents.ratio_to_pdftotext", "x", 1, "documents")]),
    "scale-out": _wired("scale_out", [_slot("scale_out.two_process_speedup", "x", 1.6, "scale_out")]),
}
