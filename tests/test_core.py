"""Core primitives with one owner each: stored times, outcome codes, the background HTTP server."""

from __future__ import annotations

import socket
import urllib.request
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler

import pytest

from presswatch.archive.db import open_archive
from presswatch.archive.outcomes import ERROR_PROBLEMS, Problem, RunStatus
from presswatch.archive.search import distinct_values
from presswatch.archive.times import parse_optional_time, parse_stored_time, to_utc_text
from presswatch.httpserver import BackgroundServer


def test_stored_times_round_trip_in_utc_with_a_z():
    moment = datetime(2021, 6, 16, 10, 0, 30, 123456, tzinfo=timezone(timedelta(hours=3)))
    text = to_utc_text(moment)
    assert text == "2021-06-16T07:00:30Z"
    assert parse_stored_time(text) == datetime(2021, 6, 16, 7, 0, 30, tzinfo=UTC)
    assert parse_stored_time("2021-06-16T10:00:00+03:00") == datetime(2021, 6, 16, 7, 0, tzinfo=UTC)
    assert parse_stored_time("2021-06-16T07:00:00").tzinfo == UTC  # never stored naive; read as UTC
    assert parse_optional_time(None) is None and parse_optional_time("") is None
    with pytest.raises(ValueError, match="naive datetime"):
        to_utc_text(datetime(2021, 6, 16))


def test_outcome_codes_are_the_stored_text(tmp_path):
    db = open_archive(tmp_path / "a.db")
    run_id = db.table("crawl_runs").insert({"source": "s", "started": "2024-01-01T00:00:00Z",
                                            "status": RunStatus.TIMED_OUT}).last_pk
    assert db.execute("SELECT status, typeof(status) FROM crawl_runs WHERE id = ?", [run_id]).fetchone() == (
        "timed_out", "text")
    assert db.execute("SELECT count(*) FROM crawl_runs WHERE status = ?", [RunStatus.TIMED_OUT]).fetchone()[0] == 1
    assert Problem.NETWORK_ERROR in ERROR_PROBLEMS and Problem.NO_DATE not in ERROR_PROBLEMS
    db.close()


def test_distinct_values_skip_null_and_empty(tmp_path):
    db = open_archive(tmp_path / "a.db")
    for number, language in enumerate(("ro", None, "", "en", "ro")):
        db.execute("INSERT INTO items (uid, source, kind, url, title, first_seen, fetched, language) "
                   "VALUES (?, 's', 'news', ?, 't', 'x', 'x', ?)",
                   [f"uid-{number}", f"https://a.example/{number}", language])
    assert distinct_values(db, "items INDEXED BY items_language", "language") == ["en", "ro"]
    assert distinct_values(db, "items", "language", "kind = 'page'") == []
    db.close()


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = f"{self.server.owner.greeting} {self.path}".encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _HelloServer(BackgroundServer):
    def __init__(self, host: str = "127.0.0.1"):
        self.greeting = "hello"
        super().__init__(_Hello, host=host)


def test_background_server_serves_in_a_thread_and_stops():
    with _HelloServer() as server:
        assert server.url == f"http://127.0.0.1:{server.port}" and server.port > 0
        with urllib.request.urlopen(server.url + "/x", timeout=5) as response:
            assert response.read() == b"hello /x"
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url + "/x", timeout=2)
    unused = _HelloServer()
    unused.stop()  # never started: closes the socket without waiting for a serving thread


def test_background_server_on_ipv6_brackets_the_host():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = _HelloServer("::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    with server:
        assert server.url == f"http://[::1]:{server.port}"
        with urllib.request.urlopen(server.url + "/six", timeout=5) as response:
            assert response.read() == b"hello /six"
