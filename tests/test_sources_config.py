"""sources.toml: the bundled file loads, and every kind of mistake is one line naming file, line, source, field."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from presswatch.cli.main import main
from presswatch.config.cron import source_trigger
from presswatch.config.files import ConfigError, parse_duration
from presswatch.config.sources import load_sources

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "sources.toml"

MINIMAL = """\
[[source]]
id = "alpha"
name = "Alpha"
kind = "news"
region = "global"
languages = ["en"]
start_urls = ["https://alpha.example.org/news"]
schedule = { every = "1h" }

[source.listing]
item = "div.card"
link = "a"

[[source]]
id = "beta"
name = "Beta"
kind = "press_release"
region = "Europe"
country = "MD"
languages = ["en", "ro"]
timezone = "Europe/Chisinau"
start_urls = ["https://beta.example.org/news"]
schedule = { cron = "0 7 * * 1-5" }

[source.listing]
link = "h3 a"
next = "li.next a"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_sources(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message, "a config error is one line"
    return message


def test_bundled_sources_load_with_every_required_site():
    sources = load_sources(SOURCES)
    hosts = {domain for source in sources for domain in source.allowed_domains}
    assert {
        "www.iom.int", "eca.iom.int", "moldova.iom.int", "ukraine.iom.int", "armenia.iom.int",
        "lithuania.iom.int", "publications.iom.int", "micenter.lt",
    } <= hosts
    moldova = sources.get("moldova")
    assert moldova.languages == ["en", "ro"]
    assert moldova.country == "MD"
    assert moldova.timezone == "Europe/Chisinau"
    assert sources.get("iom-press").country is None
    assert sources.get("iom-press").schedule.every == timedelta(hours=2)
    assert sources.get("publications").schedule.cron == "0 6 * * *"
    assert {source.kind for source in sources} == {"press_release", "news", "story", "publication", "page"}


def test_minimal_file_and_defaults(tmp_path):
    sources = load_sources(write(tmp_path, MINIMAL))
    assert [source.id for source in sources] == ["alpha", "beta"]
    alpha = sources.get("alpha")
    assert alpha.allowed_domains == ["alpha.example.org"]
    assert alpha.timezone == "UTC"
    assert alpha.month_languages == ["en"]
    assert alpha.recheck_after == timedelta(days=7)
    assert alpha.enabled is True
    assert sources.rank("beta") == 1 and sources.rank("nope") == 2
    assert sources.select(()) == list(sources)
    assert sources.select(("beta",)) == [sources.get("beta")]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # (old, new) applied to MINIMAL, and the exact message expected.
        (('every = "1h"', 'every = "1x"'),
         "sources.toml:8: source 'alpha': schedule.every: '1x' is not a duration (use e.g. 90s, 30m, 6h, 1d)"),
        (('cron = "0 7 * * 1-5"', 'cron = "0 7 * *"'),
         "sources.toml:23: source 'beta': schedule.cron: '0 7 * *' is not a crontab expression"),
        (('schedule = { every = "1h" }', 'schedule = { every = "1h", cron = "0 * * * *" }'),
         "sources.toml:8: source 'alpha': schedule: give exactly one of `every` (an interval) or `cron`"),
        (('kind = "news"', 'kind = "blog"'), "sources.toml:4: source 'alpha': kind: Input should be"),
        (('country = "MD"', 'country = "XX"'),
         "sources.toml:19: source 'beta': country: 'XX' is not an ISO 3166-1 alpha-2 country code"),
        (('languages = ["en", "ro"]', 'languages = ["en", "romanian"]'),
         "sources.toml:20: source 'beta': languages.1: 'romanian' is not an ISO 639-1 language code"),
        (('timezone = "Europe/Chisinau"', 'timezone = "Europe/Atlantis"'),
         "sources.toml:21: source 'beta': timezone: 'Europe/Atlantis' is not an IANA time zone"),
        (('start_urls = ["https://alpha.example.org/news"]', 'start_urls = ["alpha.example.org/news"]'),
         "sources.toml:7: source 'alpha': start_urls.0: 'alpha.example.org/news' is not an http(s) URL"),
        (('region = "global"\n', 'regoin = "global"\n'), "sources.toml:5: source 'alpha': regoin: unknown key"),
        # issue 16: a missing name (the id) or [source.listing] (every link) has a default now
        (('item = "div.card"', 'item = "div..card"'),
         "sources.toml:11: source 'alpha': listing.item: 'div..card' is not a valid selector"),
        (('id = "beta"', 'id = "alpha"'), "sources.toml:15: source 'alpha': id: duplicate source id"),
        (('id = "beta"', 'id = "Beta Source"'),
         "sources.toml:15: source 'Beta Source': id: 'Beta Source' must be lowercase letters"),
        (('link = "h3 a"', 'next_page = "h3 a"'), "sources.toml:26: source 'beta': listing.next_page: unknown key"),
    ],
)
def test_each_mistake_is_one_line_naming_file_line_source_and_field(tmp_path, change, expected):
    old, new = change
    assert old in MINIMAL
    message = error_of(tmp_path, MINIMAL.replace(old, new, 1))
    assert message.startswith(str(tmp_path / "sources.toml")[: -len("sources.toml")])
    assert expected in message, message


def test_toml_syntax_error_names_the_line(tmp_path):
    message = error_of(tmp_path, MINIMAL.replace('name = "Beta"', 'name = "Beta'))
    assert re.search(r"sources\.toml:16: TOML syntax error", message), message


def test_unknown_top_level_table_and_empty_file(tmp_path):
    assert "unknown top-level key 'settings'" in error_of(tmp_path, "[settings]\nx = 1\n\n" + MINIMAL)
    assert "no [[source]] entries" in error_of(tmp_path, "# nothing yet\n")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_sources(tmp_path / "absent.toml")


def test_start_url_outside_the_source_domains(tmp_path):
    text = MINIMAL.replace('id = "alpha"\n', 'id = "alpha"\ndomains = ["other.example.org"]\n', 1)
    assert "is outside the source's domains" in error_of(tmp_path, text)


def test_unknown_source_on_the_command_line(tmp_path):
    sources = load_sources(write(tmp_path, MINIMAL))
    with pytest.raises(ConfigError, match="no source 'gamma' \\(known: alpha, beta\\)"):
        sources.select(("gamma",))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("6h", 21600), ("1d", 86400), ("2h30m", 9000), (45, 45)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "6", "h", "6x", "-1h", True])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_crontab_sunday_as_7_and_days_1_to_7_are_accepted_and_fire_on_sunday(tmp_path):
    """sources.toml validates cron with the scheduler's own translator (presswatch.config.cron)."""
    text = MINIMAL.replace('schedule = { every = "1h" }', 'schedule = { cron = "0 6 * * 7" }')
    text = text.replace('cron = "0 7 * * 1-5"', 'cron = "30 7 * * 1-7"')
    path = write(tmp_path, text)
    sources = load_sources(path)
    assert sources.get("alpha").schedule.cron == "0 6 * * 7"
    assert sources.get("beta").schedule.cron == "30 7 * * 1-7"
    result = CliRunner().invoke(main, ["sources", "--sources", str(path), "--db", str(tmp_path / "a.db")])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines()[2:]}
    assert "cron 0 6 * * 7" in rows["alpha"] and "cron 30 7 * * 1-7" in rows["beta"]
    friday = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    sunday = source_trigger(sources.get("alpha"), jitter=False).get_next_fire_time(None, friday)
    assert sunday == datetime(2024, 3, 3, 6, 0, tzinfo=UTC) and sunday.strftime("%A") == "Sunday"
    every_day = source_trigger(sources.get("beta"), jitter=False)
    saturday = every_day.get_next_fire_time(None, friday)
    assert saturday.astimezone(UTC) == datetime(2024, 3, 2, 5, 30, tzinfo=UTC)  # 07:30 in Chisinau
    assert every_day.get_next_fire_time(None, saturday + timedelta(seconds=1)).strftime("%A") == "Sunday"


@pytest.mark.parametrize(("cron", "expected"), [
    ("0 6 * * 8", "schedule.cron: cron '0 6 * * 8': '8' is not a day of the week (0-7 or sun-sat)"),
    ("0 6 * * 5-2", "schedule.cron: cron '0 6 * * 5-2': range '5-2' runs backwards"),
    ("0 25 * * *", "schedule.cron: '0 25 * * *' is not a crontab expression"),
])
def test_crontab_the_scheduler_cannot_run_is_refused_at_load(tmp_path, cron, expected):
    message = error_of(tmp_path, MINIMAL.replace('cron = "0 7 * * 1-5"', f'cron = "{cron}"'))
    assert f"sources.toml:23: source 'beta': {expected}" in message, message
