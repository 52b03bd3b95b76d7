"""`bench/fidelity` (also `bench/run --only fidelity`): presswatch on real pages, beside the libraries.

Serves the real corpora of ``../shared/corpora/`` (never copied into this
repository) from 127.0.0.1 under their real URLs, crawls them with the real
command, `presswatch crawl --mirror URL`, through the whole pipeline, and
prints, in the same run, on the same pages:

- pages with text that were not archived, each with the cause presswatch recorded;
- body precision, recall and F1 over word 3-grams against the editors' text
  (`readability/`), for presswatch and for trafilatura alone (its defaults);
- exact titles (`readability/`), presswatch and trafilatura alone;
- exact, missing and wrong publication dates (`dates/`, and `readability/`
  where the editors recorded one) for presswatch, trafilatura alone (its
  defaults) and htmldate alone (`find_date(extensive_search=True, original_date=True)`).

The corpora's README says what each holds and how to measure it.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora"
READABILITY_HOST = "readability.example.org"
LISTING_HOST = "fidelity.example.org"
_WORD = re.compile(r"\w+")


@dataclass
class Page:
    """One real page of a corpus, with what its editors recorded."""

    corpus: str  # dates | readability
    url: str
    path: Path  # the page as fetched
    gold_date: str | None = None  # YYYY-MM-DD
    gold_title: str | None = None
    gold_text: str | None = None  # the article's text as an editor would keep it


def _text_of_html(html: str) -> str:
    import lxml.html

    tree = lxml.html.fromstring(html)
    for bad in tree.xpath("//script|//style"):
        bad.drop_tree()
    return " ".join(tree.text_content().split())


def load_corpora(root: Path = CORPORA) -> list[Page]:
    """Every page of ``dates/`` and ``readability/`` under ``root``; [] when the corpora are absent."""
    pages: list[Page] = []
    gold = root / "dates" / "gold.json"
    if gold.exists():
        for url, entry in json.loads(gold.read_text()).items():
            path = root / "dates" / "pages" / entry["file"]
            pages.append(Page("dates", url, path, gold_date=entry["date"]))
    readability = root / "readability"
    if readability.is_dir():
        for folder in sorted(p for p in readability.iterdir() if (p / "source.html").exists()):
            meta = json.loads((folder / "expected-metadata.json").read_text())
            published = meta.get("publishedTime")
            pages.append(Page(
                "readability", f"https://{READABILITY_HOST}/{folder.name}/", folder / "source.html",
                gold_date=published[:10] if published else None, gold_title=meta.get("title"),
                gold_text=_text_of_html((folder / "expected.html").read_text(errors="replace")),
            ))
    return pages


def match_key(url: str) -> str:
    """A URL as both sides can agree on it: no scheme, no www., no trailing slash or fragment."""
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    return f"{host}{path}?{parts.query}" if parts.query else f"{host}{path}"


# --------------------------------------------------------------------------- serving


class CorpusServer:
    """Answers each real URL (by Host header and path) with its saved page's bytes; 404 elsewhere."""

    def __init__(self, pages: Iterable[Page], listing: dict[str, str]):
        self.files: dict[tuple[str, str], Path] = {}
        for page in pages:
            parts = urlsplit(page.url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            self.files[(parts.netloc.lower(), target or "/")] = page.path
        self.listing = listing  # path on LISTING_HOST -> HTML
        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                host = (self.headers.get("Host") or "").lower()
                body: bytes | None = None
                if host == LISTING_HOST and self.path in served.listing:
                    body = served.listing[self.path].encode()
                elif (host, self.path) in served.files:
                    body = served.files[(host, self.path)].read_bytes()
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html")  # no charset: the page's own declaration
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> CorpusServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def listing_html(pages: list[Page]) -> str:
    links = "\n".join(f'<li><a href="{page.url}">page {n}</a></li>' for n, page in enumerate(pages))
    return f"<!doctype html><html><body><ul>\n{links}\n</ul></body></html>"


def sources_toml(corpus: str, pages: list[Page], languages: list[str]) -> str:
    """A source that lists the corpus's pages on one listing page (every host in `domains`)."""
    hosts = sorted({urlsplit(page.url).hostname or "" for page in pages} | {LISTING_HOST})
    return "\n".join([
        "[[source]]",
        f'id = "fidelity-{corpus}"',
        f'name = "Real pages: {corpus}"',
        'kind = "news"',
        'region = "global"',
        f"languages = {json.dumps(languages)}",
        'timezone = "UTC"',
        f'start_urls = ["https://{LISTING_HOST}/{corpus}"]',
        f"domains = {json.dumps(hosts)}",
        'schedule = { every = "1d" }',
        "",
        "[source.listing]\nitem = \"li\"\nlink = \"a\"\nmax_pages = 1\n",
    ])


# --------------------------------------------------------------------------- scoring


def trigrams(text: str | None) -> Counter[tuple[str, ...]]:
    words = _WORD.findall((text or "").lower())
    return Counter(zip(words, words[1:], words[2:], strict=False))


def prf(found: str | None, expected: str | None) -> tuple[float, float, float]:
    got, want = trigrams(found), trigrams(expected)
    overlap = sum((got & want).values())
    precision = overlap / sum(got.values()) if got else 0.0
    recall = overlap / sum(want.values()) if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


@dataclass
class Tally:
    """What one extractor got right on a set of pages."""

    name: str
    exact: int = 0
    wrong: int = 0
    missing: int = 0
    titles: int = 0
    bodies: list[tuple[float, float, float]] = field(default_factory=list)

    def date(self, found: str | None, gold: str) -> None:
        if not found:
            self.missing += 1
        elif found[:10] == gold:
            self.exact += 1
        else:
            self.wrong += 1

    def body(self) -> tuple[float, float, float]:
        n = max(1, len(self.bodies))
        return tuple(sum(values[i] for values in self.bodies) / n for i in range(3))  # type: ignore[return-value]


def _same_title(found: str | None, gold: str | None) -> bool:
    return " ".join((found or "").split()) == " ".join((gold or "").split())


def trafilatura_alone(html: str, url: str) -> dict[str, Any]:
    """trafilatura's own answer with its default settings (what a user of the library gets)."""
    import trafilatura

    result = trafilatura.extract(html, url=url, output_format="json", with_metadata=True)
    return json.loads(result) if result else {}


def htmldate_alone(html: str) -> str | None:
    from htmldate import find_date

    try:
        return find_date(html, extensive_search=True, original_date=True)
    except Exception:  # the library's own failure counts as no date
        return None


# --------------------------------------------------------------------------- the run


def crawl(pages: list[Page], corpus: str, languages: list[str], workdir: Path, timeout: float) -> Path:
    """Serve ``pages`` and crawl them with `presswatch crawl --mirror`; the archive's path."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / f"{corpus}.db"
    db.unlink(missing_ok=True)
    sources = workdir / f"{corpus}.toml"
    sources.write_text(sources_toml(corpus, pages, languages))
    with CorpusServer(pages, {f"/{corpus}": listing_html(pages)}) as server:
        command = [sys.executable, "-m", "presswatch", "crawl", "--mirror", server.url, "--db", str(db),
                   "--sources", str(sources), "--log-file", str(workdir / f"{corpus}.log")]
        with open(workdir / f"{corpus}.out", "wb") as out:
            subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                           check=False)
    return db


def archived(db: Path) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The archive's items, and the problems recorded per page (by match key)."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    items = [dict(row) for row in con.execute("select url, title, body, published, date_source from items")]
    for row in con.execute("select d.url, i.title, i.body, i.published, i.date_source from duplicates d "
                           "join items i on i.id = d.item_id"):
        items.append(dict(row))
    problems: dict[str, list[str]] = {}
    for row in con.execute("select url, problem, detail from crawl_problems"):
        problems.setdefault(match_key(row["url"] or ""), []).append(
            f"{row['problem']}: {row['detail']}"[:160])
    con.close()
    return items, problems


def pair_items(pages: list[Page], items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each page's archived item: by URL; else by URL without its query (tracking parameters are
    dropped); else the one item left on the page's host (its rel=canonical named another path)."""
    found: dict[str, dict[str, Any]] = {}
    by_key = {match_key(item["url"]): item for item in items}
    no_query: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        no_query.setdefault(match_key(item["url"]).split("?")[0], []).append(item)
    for page in pages:
        key = match_key(page.url)
        if key in by_key:
            found[page.url] = by_key[key]
        elif len(no_query.get(key.split("?")[0], [])) == 1:
            found[page.url] = no_query[key.split("?")[0]][0]
    used = {id(item) for item in found.values()}
    by_host: dict[str, list[Any]] = {}
    for page in pages:
        if page.url not in found:
            by_host.setdefault(_host(page.url), []).append(page)
    for host, unmatched in by_host.items():
        left = [item for item in items if id(item) not in used and _host(item["url"]) == host]
        if len(unmatched) == 1 and len(left) == 1:
            found[unmatched[0].url] = left[0]
    return found


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


@dataclass
class Report:
    corpus: str
    pages: int
    tallies: dict[str, Tally]
    lost: list[tuple[str, str]]  # pages with text that were not archived, with the cause
    dated: int
    seconds: float


def measure_corpus(corpus: str, pages: list[Page], languages: list[str], workdir: Path,
                   timeout: float = 1800) -> Report:
    started = time.perf_counter()
    db = crawl(pages, corpus, languages, workdir, timeout)
    items, problems = archived(db)
    paired = pair_items(pages, items)
    tallies = {name: Tally(name) for name in ("presswatch", "trafilatura", "htmldate")}
    lost: list[tuple[str, str]] = []
    dated = 0
    for page in pages:
        html = page.path.read_text(errors="replace")
        key = match_key(page.url)
        item = paired.get(page.url)
        alone = trafilatura_alone(html, page.url)
        if item is None and (alone.get("text") or "").strip():
            lost.append((page.url, "; ".join(problems.get(key, ["no problem recorded"]))))
        item = item or {}
        if page.gold_date:
            dated += 1
            tallies["presswatch"].date(item.get("published"), page.gold_date)
            tallies["trafilatura"].date(alone.get("date"), page.gold_date)
            tallies["htmldate"].date(htmldate_alone(html), page.gold_date)
        if page.gold_title is not None:
            tallies["presswatch"].titles += _same_title(item.get("title"), page.gold_title)
            tallies["trafilatura"].titles += _same_title(alone.get("title"), page.gold_title)
        if page.gold_text is not None:
            tallies["presswatch"].bodies.append(prf(item.get("body"), page.gold_text))
            tallies["trafilatura"].bodies.append(prf(alone.get("text"), page.gold_text))
    return Report(corpus, len(pages), tallies, lost, dated, time.perf_counter() - started)


def print_report(report: Report) -> None:
    print(f"\n== {report.corpus}: {report.pages} real pages, {report.dated} with a gold date "
          f"({report.seconds:.0f} s)")
    print(f"{'':14}{'dates exact':>12}{'wrong':>7}{'missing':>9}{'titles':>8}{'body P':>8}{'R':>6}{'F1':>6}")
    for tally in report.tallies.values():
        has_titles = tally.name != "htmldate" and report.corpus == "readability"
        p, r, f1 = tally.body() if tally.bodies else (float("nan"),) * 3
        print(f"{tally.name:14}{tally.exact:>12}{tally.wrong:>7}{tally.missing:>9}"
              f"{(str(tally.titles) if has_titles else '-'):>8}"
              + (f"{p:>8.3f}{r:>6.3f}{f1:>6.3f}" if tally.bodies else f"{'-':>8}{'-':>6}{'-':>6}"))
    print(f"pages with text not archived: {len(report.lost)}")
    for url, cause in report.lost:
        print(f"  {url}: {cause}")


LANGUAGES = {"dates": ["de", "en", "fr"], "readability": ["en"]}


def run(workdir: Path, corpora: Path = CORPORA, only: list[str] | None = None) -> list[Report]:
    pages = load_corpora(corpora)
    if not pages:
        raise FileNotFoundError(f"no corpora under {corpora}")
    reports = []
    for corpus in only or ["dates", "readability"]:
        chosen = [page for page in pages if page.corpus == corpus]
        reports.append(measure_corpus(corpus, chosen, LANGUAGES[corpus], workdir / corpus))
    return reports


def measure(ctx: Any) -> list[Any]:
    """`bench/run --only fidelity`: the figures of both corpora, beside the libraries alone."""
    from bench.report import Figure

    figures: list[Figure] = []
    for report in run(ctx.workdir / "fidelity"):
        print_report(report)
        ours, lib = report.tallies["presswatch"], report.tallies["trafilatura"]
        best = max(lib.exact, report.tallies["htmldate"].exact)
        figures.append(Figure(f"fidelity.{report.corpus}.not_archived", "pages", [len(report.lost)],
                              target=0, op="<=", digits=0))
        figures.append(Figure(f"fidelity.{report.corpus}.dates_exact", "pages", [ours.exact], target=best,
                              op=">=", digits=0, baseline="best of trafilatura and htmldate alone",
                              note=f"wrong {ours.wrong} (trafilatura {lib.wrong}, htmldate "
                                   f"{report.tallies['htmldate'].wrong}), missing {ours.missing}"))
        if ours.bodies:
            figures.append(Figure(f"fidelity.{report.corpus}.body_f1", "F1", [ours.body()[2]],
                                  target=round(lib.body()[2], 3), op=">=", digits=3,
                                  baseline="trafilatura alone"))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/fidelity",
        description="Crawl the real corpora through presswatch and compare with the libraries alone.",
        epilog="Example: bench/fidelity --only dates",
    )
    parser.add_argument("--corpora", type=Path, default=CORPORA, help=f"default {CORPORA}")
    parser.add_argument("--only", choices=["dates", "readability"], action="append")
    parser.add_argument("--workdir", type=Path, default=None, help="keep archives and logs here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        try:
            reports = run(workdir, args.corpora, args.only)
        except FileNotFoundError as exc:
            print(f"bench/fidelity: {exc}", file=sys.stderr)
            return 2
        for report in reports:
            print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
