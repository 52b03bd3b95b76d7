"""Issue 16: robots.txt is fetched once per host per crawl, not once per source."""

from __future__ import annotations

from tests.conftest import SOURCES, presswatch


def test_two_sources_on_one_host_fetch_its_robots_txt_once(tmp_path, sample_server):
    already = len(sample_server.requests)
    result = presswatch("crawl", "eca-news", "eca-stories", "--mirror", sample_server.url,
                        "--db", str(tmp_path / "presswatch.db"), "--sources", str(SOURCES))
    assert result.returncode == 0, result.stderr[-3000:]
    requests = sample_server.requests[already:]
    assert [(host, target) for host, _method, target, _status in requests if target == "/robots.txt"] == [
        ("eca.iom.int", "/robots.txt")]
    assert "2 source(s): 10 pages fetched, 7 new" in result.stdout
