"""Issue 16: a source needs only an id and a start URL; `*.example.org` domains; Unicode hosts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from presswatch.config.files import ConfigError, format_duration, parse_duration
from presswatch.config.sources import load_sources


def sources(tmp_path, text: str):
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return load_sources(path)


def test_an_id_and_a_start_url_are_enough(tmp_path):
    (source,) = sources(tmp_path, '[[source]]\nid = "blog"\nstart_urls = ["https://blog.example.org/news"]\n')
    assert (source.name, source.kind, source.region, source.languages) == ("blog", "page", "Global", ["en"])
    assert source.schedule.describe() == "every 1d"
    assert source.listing is not None and source.listing.link == "a[href]" and source.listing.item is None
    assert source.allowed_domains == ["blog.example.org"]


def test_wildcard_domains_cover_the_domain_and_its_subdomains(tmp_path):
    (source,) = sources(tmp_path, '[[source]]\nid = "un"\nstart_urls = ["https://news.un.org/en/"]\n'
                                  'domains = ["*.un.org"]\n')
    assert source.domains == ["un.org"]
    assert source.allows("https://news.un.org/en/story/1") and source.allows("https://un.org/x")
    assert not source.allows("https://un.org.evil.example/x") and not source.allows("https://notun.org/")


def test_hosts_may_be_written_in_unicode(tmp_path):
    (source,) = sources(tmp_path, '[[source]]\nid = "de"\nstart_urls = ["https://bücher.example/neu?p=1"]\n'
                                  'domains = ["*.Bücher.example"]\n')
    assert source.start_urls == ["https://xn--bcher-kva.example/neu?p=1"]
    assert source.domains == ["xn--bcher-kva.example"]
    assert source.allows("https://www.bücher.example/a") and source.allows("https://xn--bcher-kva.example/a")


def test_a_bad_domain_is_one_line(tmp_path):
    with pytest.raises(ConfigError) as error:
        sources(tmp_path, '[[source]]\nid = "x"\nstart_urls = ["https://a.example.org/"]\ndomains = ["*.ex ample"]\n')
    assert str(error.value).startswith(f"{tmp_path / 'sources.toml'}:")
    assert "'*.ex ample' is not a domain name (e.g. example.org or *.example.org)" in str(error.value)


@pytest.mark.parametrize("written", ["90s", "30m", "6h", "1d", "2h30m", "1d12h"])
def test_durations_print_as_written(written):
    assert format_duration(parse_duration(written)) == {"90s": "1m30s"}.get(written, written)
    assert format_duration(timedelta(0)) == "0s"
