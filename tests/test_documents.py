"""Documents (issue 17): the PDFs publications link, fetched, read, stored, searched, versioned.

Real parts: the sample sites serve real PDFs written with fpdf2 (and hostile ones
on the fault host); `presswatch crawl` runs in a child process over HTTP on
127.0.0.1 into a real SQLite file; the CLI is run as a user would.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import feedparser
import pytest
import sqlite_utils

from feeds.publish import publish_feeds
from pipelines.documents import extract_document, largest_inflation, type_problem
from pipelines.stages.documents import reading_time_limit
from presswatch.archive.db import open_archive
from presswatch.archive.documents import DocumentRecord, store_document
from presswatch.archive.outcomes import Problem
from presswatch.archive.search import QueryError, SearchQuery, search
from presswatch.sample_sites import documents as sample_pdfs
from presswatch.sample_sites.changes import load_changes
from presswatch.sample_sites.fault_documents import DOCUMENT_FAULTS
from presswatch.sample_sites.server import SampleSiteServer, load_content
from tests.conftest import ROOT, SOURCES, presswatch

PUBLICATIONS = [a for a in load_content()["article"] if a["site"] == "publications.iom.int"]
NEPAL = next(a for a in PUBLICATIONS if a["path"].endswith("cross-border-migrants-nepal"))
NEPAL_URL = f"https://publications.iom.int{NEPAL['path']}"
NEPAL_PDF = ("https://publications.iom.int/sites/g/files/tmzbdl2616/files/pdf/"
             "research-health-vulnerabilities-cross-border-migrants-nepal.pdf")
EDITED_DOCUMENT = load_changes()["edited_document"][0]
FAULTS = "https://faults.example.org"
SAMPLE_TEXTS = tomllib.loads((ROOT / "presswatch/sample_sites/documents.toml").read_text(encoding="utf-8"))


def words(text: str) -> str:
    """Text with its line breaks (PDF lines wrap) as spaces."""
    return " ".join(text.split())


# --------------------------------------------------------------------------- reading PDFs


def test_a_sample_report_reads_page_by_page_in_three_scripts_with_its_table():
    text = extract_document(sample_pdfs.publication_pdf(NEPAL))
    assert (text.page_count, len(text.pages), text.problem) == (4, 4, None)
    assert text.pages[0].startswith("Research on the Health Vulnerabilities of the Cross\nBorder Migrants from Nepal")
    assert "Field teams at the Gaurifanta and Dhangadhi border points interviewed 1,214" in text.pages[1]
    assert "Lithuania 412 71\nUkraine 1,036 48\nArmenia 587 55\nRepublic of Moldova 644 39" in text.pages[1]
    summaries = " ".join(text.pages[2].split())
    for language in ("lithuanian", "ukrainian", "armenian"):
        assert " ".join(SAMPLE_TEXTS["common"][language].split()) in summaries
    assert text.pages[3].startswith("3. Methodology")


def test_sample_pdfs_are_the_same_bytes_every_time():
    first = sample_pdfs.publication_pdf(NEPAL)
    sample_pdfs._publication_pdf.cache_clear()
    assert sample_pdfs.publication_pdf(NEPAL) == first


@pytest.mark.parametrize(("pdf", "problem", "detail"), [
    (sample_pdfs.encrypted_pdf, Problem.DOCUMENT_ENCRYPTED, "encrypted: a password is needed to read it"),
    (sample_pdfs.truncated_pdf, Problem.DOCUMENT_TRUNCATED, "the file ends before its %%EOF"),
    (sample_pdfs.scanned_pdf, Problem.DOCUMENT_NO_TEXT, "no text layer on its 2 page(s): a scan or images only"),
    (sample_pdfs.bomb_pdf, Problem.DOCUMENT_BOMB, "a stream inflates to more than 256 MB"),
])
def test_hostile_pdfs_give_a_problem_not_an_exception(pdf, problem, detail):
    text = extract_document(pdf())
    assert text.problem == problem
    assert text.detail.startswith(detail)
    assert text.text.strip() == ""


def test_the_bomb_is_measured_without_inflating_it_in_memory():
    assert largest_inflation(sample_pdfs.bomb_pdf(), limit=10 * 2**20) == 10 * 2**20 + 2**20
    assert largest_inflation(sample_pdfs.publication_pdf(NEPAL)) < 2**20


def test_page_limit_reads_the_first_pages_and_says_so():
    text = extract_document(sample_pdfs.report_pdf(6), max_pages=2)
    assert (text.page_count, len(text.pages)) == (6, 2)
    assert (text.problem, text.detail) == ("document_page_limit", "6 pages: only the first 2 were read")


def test_the_time_limit_stops_between_pages_within_the_worker_step_limit():
    # The reader stops itself (keeping the pages read) before the pool would kill its worker.
    assert reading_time_limit(30) == 24
    assert reading_time_limit(0) == reading_time_limit(1000) == 60
    text = extract_document(sample_pdfs.report_pdf(6), time_limit=0)
    assert (text.page_count, len(text.pages), text.problem) == (6, 0, "document_time_limit")
    assert text.detail == "stopped after 0 s, at page 1 of 6"


def test_content_type_and_magic_bytes_are_checked():
    pdf = sample_pdfs.publication_pdf(NEPAL)
    assert type_problem("application/pdf", pdf) is None
    assert type_problem("application/octet-stream", pdf) is None
    assert type_problem("text/html; charset=utf-8", pdf) == "served as text/html, not application/pdf"
    assert type_problem("application/pdf", b"<!DOCTYPE html><html>") == (
        "no %PDF- header: the file starts '<!DOCTYPE html><html>'")


# --------------------------------------------------------------------------- storing


def record(text: str, sha: str) -> DocumentRecord:
    return DocumentRecord(item_id=1, url="https://example.org/r.pdf", sha256=sha, content_type="application/pdf",
                          bytes=100, fetched="2024-01-01T00:00:00Z", pages=text.split("\f"), page_count=2,
                          language="en", problem=None, detail="")


def test_new_unchanged_and_updated_documents(archive):
    archive.execute("INSERT INTO items (id, uid, source, kind, region, url, title, first_seen, fetched) "
                    "VALUES (1, 'u1', 'publications', 'publication', 'global', 'https://example.org/b', 'B', "
                    "'2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')")
    assert store_document(archive, record("first page\fremittances on page two", "a"), "2024-01-01T00:00:00Z")[0] == "new"
    assert store_document(archive, record("first page\fremittances on page two", "a"), "2024-01-02T00:00:00Z")[0] == "unchanged"
    assert store_document(archive, record("first page\fcorridors on page two", "b"), "2024-01-03T00:00:00Z")[0] == "updated"
    versions = list(archive.query("SELECT version, sha256, text, replaced FROM document_versions"))
    assert versions == [{"version": 1, "sha256": "a", "text": "first page\fremittances on page two",
                         "replaced": "2024-01-03T00:00:00Z"}]
    pages = list(archive.query("SELECT page, text FROM document_pages ORDER BY page"))
    assert pages == [{"page": 1, "text": "first page"}, {"page": 2, "text": "corridors on page two"}]
    # The index follows: the new words are found, the replaced ones are not.
    assert archive.execute("SELECT count(*) FROM document_pages_fts WHERE document_pages_fts MATCH 'corridors'"
                           ).fetchone()[0] == 1
    assert archive.execute("SELECT count(*) FROM document_pages_fts WHERE document_pages_fts MATCH 'remittances'"
                           ).fetchone()[0] == 0
    assert archive.execute("SELECT updated FROM items WHERE id = 1").fetchone()[0] == "2024-01-03T00:00:00Z"
    events = [row[0] for row in archive.execute("SELECT event FROM item_events WHERE item_id = 1 ORDER BY id")]
    assert events == ["document_added", "document_updated"]


def test_documents_need_a_query_text_without_page_columns(archive):
    with pytest.raises(QueryError, match="--in documents needs a query text"):
        search(archive, SearchQuery(within="documents"))
    with pytest.raises(QueryError, match=r"column filters \(title:, summary:, body:\) are fields of pages"):
        search(archive, SearchQuery(text="title:ukraine", within="documents"))
    with pytest.raises(QueryError, match="--in 'everywhere': use all, pages or documents"):
        search(archive, SearchQuery(text="ukraine", within="everywhere"))


# --------------------------------------------------------------------------- a real crawl


@pytest.fixture(scope="module")
def crawl(tmp_path_factory):
    """publications and the fault host's documents crawled on edition 1, then publications
    re-checked on edition 2 (one report corrected), with publishing after each crawl."""
    folder = tmp_path_factory.mktemp("documents")
    sources = folder / "sources.toml"
    text = SOURCES.read_text(encoding="utf-8").replace(
        'start_urls = ["https://publications.iom.int/search-books"]',
        'start_urls = ["https://publications.iom.int/search-books"]\nrecheck_after = "0s"', 1)
    sources.write_text(text + "\n" + (ROOT / "tests/data/fault_documents_source.toml").read_text(encoding="utf-8"),
                       encoding="utf-8")
    db_path = folder / "presswatch.db"
    with SampleSiteServer(faults=True) as server:
        args = ("--mirror", server.url, "--db", str(db_path), "--sources", str(sources))
        first = presswatch("crawl", "publications", "fault-documents", *args, "--set", "DOWNLOAD_TIMEOUT=10")
        assert first.returncode == 0, first.stderr[-3000:]
        publish_feeds(db_path, folder / "public-1", ROOT / "topics.toml", sources_path=sources)
        before = len(server.requests)
        server.set_edition(2)
        second = presswatch("crawl", "publications", *args)
        assert second.returncode == 0, second.stderr[-3000:]
        publish_feeds(db_path, folder / "public-2", ROOT / "topics.toml", sources_path=sources)
        requests = server.requests[before:]
    return {"db_path": db_path, "args": args, "first": first, "second": second, "requests": requests,
            "folder": folder}


def test_each_publication_has_its_report_text(crawl):
    db = sqlite_utils.Database(crawl["db_path"])
    rows = list(db.query(
        "SELECT i.url AS page, d.url, d.pages, d.language, d.problem, d.content_type, d.text FROM documents d "
        "JOIN items i ON i.id = d.item_id WHERE i.source = 'publications' ORDER BY i.url"))
    assert [row["page"] for row in rows] == sorted(f"https://publications.iom.int{a['path']}" for a in PUBLICATIONS)
    for row in rows:
        slug = row["page"].rsplit("/", 1)[1]
        assert row["url"] == f"https://publications.iom.int/sites/g/files/tmzbdl2616/files/pdf/{slug}.pdf"
        assert (row["pages"], row["language"], row["problem"], row["content_type"]) == (4, "en", None, "application/pdf")
        assert row["text"].count("\f") == 3
        assert "Ամփոփում հայերեն" in row["text"] and "Резюме українською мовою" in row["text"]


def test_a_word_only_the_pdf_holds_finds_the_publication(crawl):
    db_args = ("--db", str(crawl["db_path"]))
    found = presswatch("search", "Dhangadhi", "--json", *db_args)
    assert found.returncode == 0, found.stderr
    rows = [json.loads(line) for line in found.stdout.splitlines()]
    assert [row["url"] for row in rows] == [NEPAL_URL]
    assert rows[0]["snippet"].startswith("p. 2: …Findings Field teams at the Gaurifanta and **Dhangadhi** border")
    only_documents = presswatch("search", "Dhangadhi", "--in", "documents", "--json", *db_args)
    assert [json.loads(line)["url"] for line in only_documents.stdout.splitlines()] == [NEPAL_URL]
    only_pages = presswatch("search", "Dhangadhi", "--in", "pages", *db_args)
    assert only_pages.stdout == "" and "No results." in only_pages.stderr
    # Diacritics folded, as for pages: a Lithuanian word of the summaries on page 3.
    lithuanian = presswatch("search", "azuolynu", "--in", "documents", "--json", "--limit", "50", *db_args)
    rows = [json.loads(line) for line in lithuanian.stdout.splitlines()]
    assert len(rows) == len(PUBLICATIONS) + 1  # and the fault host's good report
    assert all(row["snippet"].startswith("p. 3: ") for row in rows)


def test_show_lists_the_items_documents(crawl):
    shown = presswatch("show", NEPAL_URL, "--json", "--db", str(crawl["db_path"]))
    assert shown.returncode == 0, shown.stderr
    documents = json.loads(shown.stdout)["documents"]
    assert [(d["url"], d["pages"], d["earlier_versions"]) for d in documents] == [(NEPAL_PDF, 4, 1)]
    text = presswatch("show", NEPAL_URL, "--no-body", "--db", str(crawl["db_path"]))
    assert "Documents (1)" in text.stdout


@pytest.mark.parametrize(("path", "problem", "detail"), [
    ("/files/encrypted.pdf", "document_encrypted", "encrypted: a password is needed to read it"),
    ("/files/truncated.pdf", "document_truncated", "the file ends before its %%EOF"),
    ("/files/huge.pdf", "document_too_large", "larger than max_document_mb (50 MB)"),
    ("/files/bomb.pdf", "document_bomb", "a stream inflates to more than 256 MB"),
    ("/files/not-a-pdf.pdf", "document_not_pdf", "no %PDF- header: the file starts '<!DOCTYPE html>"),
    ("/files/scanned.pdf", "document_no_text", "no text layer on its 2 page(s)"),
])
def test_each_hostile_document_is_a_clear_problem(crawl, path, problem, detail):
    db = sqlite_utils.Database(crawl["db_path"])
    recorded = [(row["problem"], row["detail"]) for row in db.query(
        "SELECT problem, detail FROM crawl_problems WHERE url = ?", [FAULTS + path])]
    assert len(recorded) == 1 and recorded[0][0] == problem and recorded[0][1].startswith(detail), recorded


def test_hostile_documents_lose_nothing_else(crawl):
    db = sqlite_utils.Database(crawl["db_path"])
    archived = {row["url"] for row in db.query("SELECT url FROM items WHERE source = 'fault-documents'")}
    assert archived == {FAULTS + path for path in DOCUMENT_FAULTS}
    good = next(db.query("SELECT pages, problem, text FROM documents WHERE url = ?", [FAULTS + "/files/good.pdf"]))
    assert (good["pages"], good["problem"]) == (4, None) and "Zarasai" in good["text"]
    problems = {row["problem"] for row in db.query("SELECT problem FROM crawl_problems WHERE source = 'fault-documents'")}
    assert problems == {"document_encrypted", "document_truncated", "document_too_large", "document_bomb",
                        "document_not_pdf", "document_no_text"}
    run = next(db.query("SELECT status, items_new FROM crawl_runs WHERE source = 'fault-documents'"))
    assert (run["status"], run["items_new"]) == ("ok", len(DOCUMENT_FAULTS))


def test_recheck_asks_conditionally_and_an_edited_pdf_is_a_new_version(crawl):
    pdfs = [r for r in crawl["requests"] if r[0] == "publications.iom.int" and r[2].endswith(".pdf")]
    statuses = sorted((path.rsplit("/", 1)[1], status) for _h, _m, path, status in pdfs)
    assert statuses == sorted((f"{a['path'].rsplit('/', 1)[1]}.pdf", 200 if a is NEPAL else 304) for a in PUBLICATIONS)
    db = sqlite_utils.Database(crawl["db_path"])
    document = next(db.query("SELECT * FROM documents WHERE url = ?", [NEPAL_PDF]))
    assert EDITED_DOCUMENT["paragraph"] in words(document["text"])
    versions = list(db.query("SELECT version, text FROM document_versions WHERE document_id = ?", [document["id"]]))
    assert [v["version"] for v in versions] == [1]
    assert EDITED_DOCUMENT["paragraph"] not in words(versions[0]["text"])
    assert "Field teams at the Gaurifanta and Dhangadhi" in versions[0]["text"]
    assert db.execute("SELECT count(*) FROM document_versions").fetchone()[0] == 1
    item = next(db.query("SELECT id, updated FROM items WHERE url = ?", [NEPAL_URL]))
    assert item["updated"] == document["updated"] is not None
    found = presswatch("search", "Mahakali", "--json", "--db", str(crawl["db_path"]))
    assert [json.loads(line)["url"] for line in found.stdout.splitlines()] == [NEPAL_URL]


def test_diff_shows_the_document_change(crawl):
    shown = presswatch("diff", NEPAL_URL, "--db", str(crawl["db_path"]))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("Research on the Health Vulnerabilities of the Cross Border Migrants from Nepal: one version")
    assert lines[1].startswith(f"--- {NEPAL_PDF} version 1, fetched ")
    assert lines[2].startswith(f"+++ {NEPAL_PDF} version 2 (current), fetched ")
    added = [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")]
    assert " ".join(added).split() == EDITED_DOCUMENT["paragraph"].split()


def test_feeds_show_the_new_document_version_as_an_update(crawl):
    def entry(public: str):
        feed = feedparser.parse((crawl["folder"] / public / "sources" / "publications.atom").read_bytes())
        assert not feed.bozo
        return next(e for e in feed.entries if e.link == NEPAL_URL)

    before, after = entry("public-1"), entry("public-2")
    assert after.id == before.id
    assert before.updated_parsed == before.published_parsed
    assert after.updated_parsed > before.updated_parsed


def test_migrated_archive_has_the_documents_schema(tmp_path: Path):
    db = open_archive(tmp_path / "a.db")
    assert {"documents", "document_versions", "document_pages", "document_pages_fts"} <= set(db.table_names())


# --------------------------------------------------------------------------- links and configuration


def test_document_links_come_from_metadata_and_the_body_on_the_sources_domains():
    from crawler.documents import document_links, mentions_pdf
    from presswatch.config.sources import load_sources

    source = load_sources(SOURCES).get("publications")
    html = (
        '<html><body><nav><a href="/files/annual-report.pdf">Annual report</a></nav>'
        '<h1 class="page-title">A book</h1>'
        '<div class="field--name-field-abstract"><p>Abstract. See <a href="/files/annex.PDF">the annex</a>, '
        '<a href="/download?id=7" type="application/pdf">the data</a>, '
        '<a href="https://elsewhere.example.net/copy.pdf">a copy elsewhere</a> and '
        '<a href="/books/other">another book</a>.</p></div>'
        '<a class="pdf-download button" href="/sites/g/files/report.pdf">Download PDF</a></body></html>'
    )
    assert document_links("https://publications.iom.int/books/a-book", html, source) == [
        "https://publications.iom.int/sites/g/files/report.pdf",
        "https://publications.iom.int/files/annex.PDF",
        "https://publications.iom.int/download?id=7",
    ]
    assert mentions_pdf(html.encode()) and not mentions_pdf(html.replace("pdf", "txt").replace("PDF", "txt").encode())


def test_max_document_mb_is_validated_with_file_and_line(tmp_path):
    from presswatch.config.files import ConfigError
    from presswatch.config.sources import load_sources

    text = SOURCES.read_text(encoding="utf-8").replace(
        'start_urls = ["https://publications.iom.int/search-books"]',
        'start_urls = ["https://publications.iom.int/search-books"]\nmax_document_mb = 0', 1)
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    assert "source 'publications': max_document_mb: Input should be greater than 0" in str(caught.value)
    assert load_sources(SOURCES).get("publications").max_document_mb == 50


def test_datasette_shows_documents_and_searches_their_pages():
    from presswatch.datasette_metadata import TABLES

    db = open_archive(":memory:")
    assert {"documents", "document_pages", "document_versions"} <= set(TABLES)
    assert TABLES["document_pages"]["fts_table"] == "document_pages_fts"
    assert TABLES["document_pages_fts"]["hidden"] is True
    assert set(TABLES["documents"]["columns"]) <= {column.name for column in db["documents"].columns}
    assert set(TABLES["document_pages"]["columns"]) <= {column.name for column in db["document_pages"].columns}
