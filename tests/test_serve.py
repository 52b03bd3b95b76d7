"""`presswatch serve` over real HTTP on 127.0.0.1, and the feed commands of the CLI."""

from __future__ import annotations

import http.client
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from feeds.publish import publish_feeds
from feeds.serve import PublicServer, resolve_path
from presswatch.archive.db import open_archive
from presswatch.cli.main import main
from tests.conftest import ROOT, SOURCES
from tests.feed_helpers import insert_item

TOPICS = ROOT / "topics.toml"


def make_archive(folder: Path) -> Path:
    db_path = folder / "archive.db"
    db = open_archive(db_path)
    insert_item(db, "https://www.iom.int/news/remittances-digital", "The Future of Family Remittances is Digital",
                published="2022-01-18T09:15:00+01:00", summary="Digital remittances.", countries=["KG"])
    insert_item(db, "https://moldova.iom.int/news/returning-migrants", "Returning Migrants in Moldova",
                source="moldova", country="MD", published="2021-10-05T00:00:00+03:00")
    db.close()
    return db_path


def make_public(db_path: Path, folder: Path) -> Path:
    public = folder / "public"
    publish_feeds(db_path, public, TOPICS, 50, sources_path=SOURCES)
    (folder / "secret.txt").write_text("outside the public directory", encoding="utf-8")
    (public / ".hidden").write_text("hidden", encoding="utf-8")
    os.symlink(folder / "secret.txt", public / "link-out")
    return public


@pytest.fixture
def small_archive(tmp_path) -> Path:
    return make_archive(tmp_path)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """Published once for the read-only tests of this module."""
    folder = tmp_path_factory.mktemp("serve")
    return make_public(make_archive(folder), folder)


@pytest.fixture(scope="module")
def server(published):
    with PublicServer(published, port=0) as running:
        yield running


def request(server: PublicServer, path: str, method: str = "GET", headers: dict | None = None):
    """One raw HTTP request (the path is sent as is, no client-side normalisation)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_binds_loopback_by_default(server):
    assert server.httpd.server_address[0] == "127.0.0.1"
    assert server.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/topics/remittances.atom", "application/atom+xml"),
        ("/topics/remittances.rss", "application/rss+xml"),
        ("/countries/md.atom", "application/atom+xml"),
        ("/feeds.opml", "text/x-opml"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
    ],
)
def test_content_types_and_validators(server, published, path, content_type):
    status, headers, body = request(server, path)
    assert status == 200
    assert headers["Content-Type"] == content_type
    file = published / (path.lstrip("/") or "index.html")
    assert body == file.read_bytes()
    assert headers["Content-Length"] == str(len(body))
    assert headers["ETag"].startswith('"') and headers["ETag"].endswith('"')
    assert headers["Last-Modified"].endswith(" GMT")


def test_conditional_requests_get_304(server):
    status, headers, body = request(server, "/topics/remittances.atom")
    assert status == 200 and body
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    status, headers, body = request(server, "/topics/remittances.atom", headers={"If-None-Match": etag})
    assert (status, body) == (304, b"")
    assert headers["ETag"] == etag
    status, _, body = request(server, "/topics/remittances.atom", headers={"If-None-Match": f'"x", W/{etag}'})
    assert (status, body) == (304, b"")
    status, _, body = request(server, "/topics/remittances.atom", headers={"If-Modified-Since": last_modified})
    assert (status, body) == (304, b"")
    # A different validator gets the file; If-None-Match wins over If-Modified-Since.
    status, _, body = request(server, "/topics/remittances.atom",
                              headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified})
    assert status == 200 and body
    status, _, _ = request(server, "/topics/remittances.atom",
                           headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
    assert status == 200


def test_republishing_unchanged_keeps_the_304(small_archive, tmp_path):
    published = make_public(small_archive, tmp_path)
    with PublicServer(published, port=0) as server:
        _republish_and_check(server, published, small_archive)


def _republish_and_check(server, published, small_archive):
    _, headers, _ = request(server, "/all.rss")
    report = publish_feeds(small_archive, published, TOPICS, 50, sources_path=SOURCES)
    assert report.written == []
    status, _, _ = request(server, "/all.rss", headers={"If-None-Match": headers["ETag"]})
    assert status == 304
    status, _, _ = request(server, "/all.rss", headers={"If-Modified-Since": headers["Last-Modified"]})
    assert status == 304
    # New content: a new ETag, and the old one no longer matches.
    db = open_archive(small_archive)
    insert_item(db, "https://www.iom.int/news/new", "A new release", published="2023-01-01T10:00:00+00:00")
    db.close()
    time.sleep(0.01)
    report = publish_feeds(small_archive, published, TOPICS, 50, sources_path=SOURCES)
    assert "all.rss" in report.written
    status, new_headers, body = request(server, "/all.rss", headers={"If-None-Match": headers["ETag"]})
    assert status == 200 and b"A new release" in body and new_headers["ETag"] != headers["ETag"]


def test_head_and_other_methods(server):
    status, headers, body = request(server, "/all.atom", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    status, headers, _ = request(server, "/all.atom", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/topics/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2fsecret.txt",
        "/..\\secret.txt",
        "//secret.txt",
        "/nope.atom",
        "/.hidden",
        "/topics/.remittances.atom.tmp",
        "/link-out",
        "/%00",
    ],
)
def test_only_the_public_directory_is_served(server, path):
    status, _, body = request(server, path)
    assert status == 404
    assert b"outside the public directory" not in body


def test_resolve_path_stays_inside(published):
    root = published.resolve()
    assert resolve_path(root, "/topics/remittances.atom?x=1") == root / "topics" / "remittances.atom"
    assert resolve_path(root, "/topics/") is None  # no index.html there
    assert resolve_path(root, "/") == root / "index.html"
    assert resolve_path(root, "/../../../etc/passwd") is None
    assert resolve_path(root, "//secret.txt") is None  # a path, not a network location
    assert resolve_path(root, "http://elsewhere/all.atom") == root / "all.atom"
    assert resolve_path(root, "/topics/%2e%2e/.hidden") is None


# The CLI


def test_commands_have_help_with_an_example():
    runner = CliRunner()
    for command in ("publish", "serve", "reclassify"):
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Example:" in result.output
    publish_help = runner.invoke(main, ["publish", "--help"]).output
    for option in ("--db", "--topics", "--public", "--limit", "--base-url", "--sources"):
        assert option in publish_help
    serve_help = runner.invoke(main, ["serve", "--help"]).output
    assert "--port" in serve_help and "127.0.0.1" in serve_help


def test_publish_command_says_what_changed(small_archive, tmp_path):
    runner = CliRunner()
    public = tmp_path / "out"
    args = ["publish", "--db", str(small_archive), "--topics", str(TOPICS), "--sources", str(SOURCES),
            "--public", str(public), "--limit", "10"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "  wrote    topics/remittances.atom" in first.output
    assert "  wrote    index.html" in first.output
    assert "reclassified the archive" in first.output
    second = runner.invoke(main, args)
    assert second.exit_code == 0
    assert second.output.strip().endswith("(everything was up to date)")
    assert "wrote" not in second.output


def test_publish_and_reclassify_report_a_bad_topics_file_in_one_line(small_archive, tmp_path):
    bad = tmp_path / "topics.toml"
    bad.write_text('[[topic]]\nid = "x"\ntitle = "X"\n[topic.rule.keywords]\nen = "remittance"\n', encoding="utf-8")
    runner = CliRunner()
    for command in ("publish", "reclassify"):
        result = runner.invoke(main, [command, "--db", str(small_archive), "--topics", str(bad)])
        assert result.exit_code == 1
        assert result.output == (f"Error: {bad}:5: topic 'x': rule.keywords.en: 'remittance' is not a list "
                                 "(write ['remittance'])\n")


def test_reclassify_command(small_archive):
    result = CliRunner().invoke(main, ["reclassify", "--db", str(small_archive), "--topics", str(TOPICS)])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("remittances "))
    assert line.split()[-1] == "1"
    assert "over 2 items" in result.output


def test_serve_command_refuses_a_missing_directory(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--public", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "run `presswatch publish` first" in result.output
