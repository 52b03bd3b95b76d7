"""Issue 16: a crawl's failures are one line each, no traceback unless -v; --mirror is checked up
front; the summary's wording follows the runs' statuses."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import SOURCES, presswatch


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("mirror", ["notaurl", "ftp://127.0.0.1:8765", "http://127.0.0.1:8765/sites",
                                    "http://127.0.0.1:99999"])
def test_a_bad_mirror_is_one_line_before_anything_starts(tmp_path, mirror):
    db_path = tmp_path / "presswatch.db"
    result = presswatch("crawl", "moldova", "--mirror", mirror, "--db", str(db_path), "--sources", str(SOURCES))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Error: --mirror {mirror!r}: not a server's address; give http://HOST:PORT, e.g. http://127.0.0.1:8765"]
    assert not db_path.exists()


def test_an_unreachable_site_is_one_line_per_failure_and_the_summary_says_the_crawl_failed(tmp_path):
    port = closed_port()
    db_path = tmp_path / "presswatch.db"
    result = presswatch("crawl", "moldova", "--mirror", f"http://127.0.0.1:{port}", "--db", str(db_path),
                        "--sources", str(SOURCES))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Scrapy 2." not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == (f"Warning: --mirror http://127.0.0.1:{port}: nothing answers there (Connection refused): "
                        f"every page will fail. Start it first: .venv/bin/presswatch sample-sites --port {port}")
    assert lines[1] == f"Crawling 1 source(s) into {db_path}: moldova"
    failures = [line for line in lines if "listing_error" in line]
    assert [line.split("listing_error: ")[1].split()[0] for line in failures] == [
        "https://moldova.iom.int/news", "https://moldova.iom.int/ro/news"]
    assert lines[-1] == "  moldova: failed: no page could be fetched"
    assert "Problems (2): the crawl did not complete (see the status of each source)." in result.stdout
    assert "none stopped the crawl" not in result.stdout


def test_verbose_shows_scrapys_own_lines(tmp_path):
    port = closed_port()
    result = presswatch("crawl", "moldova", "-v", "--mirror", f"http://127.0.0.1:{port}",
                        "--db", str(tmp_path / "presswatch.db"), "--sources", str(SOURCES))
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "Gave up retrying" in result.stderr


def run_on_a_terminal(*args: str) -> tuple[int, str, str]:
    """Run presswatch with its stderr on a pseudo-terminal, as a user at a terminal would."""
    import os
    import pty
    import select
    import subprocess
    import sys

    from tests.conftest import ROOT

    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "presswatch", *args], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=slave, cwd=ROOT)
    os.close(slave)
    terminal = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            terminal += chunk
        elif process.poll() is not None:
            break
    stdout = process.stdout.read().decode() if process.stdout else ""
    os.close(master)
    return process.wait(timeout=60), terminal.decode(), stdout


def test_a_terminal_gets_a_progress_line_per_source_and_no_line_per_item(tmp_path, sample_server):
    code, terminal, stdout = run_on_a_terminal("crawl", "moldova", "eca-news", "--mirror", sample_server.url,
                                               "--db", str(tmp_path / "presswatch.db"), "--sources", str(SOURCES))
    assert code == 0, terminal[-3000:]
    finals = sorted(line.split("\x1b[K")[-1] for line in terminal.split("\r\n") if "(finished)" in line)
    assert [line.split(",")[0:2] for line in finals] == [["  eca-news: 6 pages", " 4 new"],
                                                          ["  moldova: 7 pages", " 4 new"]]
    assert "\r\x1b[K" in terminal  # redrawn in place while running
    assert "] new: " not in terminal  # no INFO line per item
    assert "2 source(s): 13 pages fetched, 8 new" in stdout


def test_not_a_terminal_gets_no_progress_and_no_line_per_item(tmp_path, sample_server):
    result = presswatch("crawl", "moldova", "--mirror", sample_server.url, "--db", str(tmp_path / "presswatch.db"),
                        "--sources", str(SOURCES))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "\x1b[K" not in result.stderr and "pages, " not in result.stderr
    assert "] new: " not in result.stderr
    assert "1 source(s): 7 pages fetched, 4 new" in result.stdout
    db_path = tmp_path / "presswatch.db"
    assert result.stdout.splitlines()[-1] == f"Next, to update the feeds: .venv/bin/presswatch publish --db {db_path}"
