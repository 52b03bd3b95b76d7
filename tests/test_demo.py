"""The README's first command: `presswatch demo` serves, crawls, publishes and says where to subscribe."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import feedparser
import listparser
import pytest
from click.testing import CliRunner

from presswatch.cli.main import main
from tests.conftest import ROOT, presswatch


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    tmp_path = tmp_path_factory.mktemp("demo")
    db_path, public = tmp_path / "presswatch.db", tmp_path / "public"
    return db_path, public, presswatch("demo", "--db", str(db_path), "--public", str(public))


def test_demo_archives_publishes_and_tells_where_to_subscribe(demo_run):
    db_path, public, result = demo_run
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    # 112 pages (113 before issue 16): eca-news and eca-stories share one robots.txt
    assert "10 source(s): 112 pages fetched, 81 new, 0 updated, 2 duplicate copies recorded; 81 items" in out
    assert "iom-press: http_error: https://www.iom.int/news/statement-on-border-closures-withdrawn (HTTP 404)" in out
    assert "import http://127.0.0.1:8000/feeds.opml" in out
    opml = listparser.parse((public / "feeds.opml").read_bytes())
    assert not opml.bozo and len(opml.feeds) > 30
    everything = feedparser.parse((public / "all.atom").read_bytes())
    assert not everything.bozo and len(everything.entries) == 50
    remittances = feedparser.parse((public / "topics" / "remittances.atom").read_bytes())
    assert "The Future of Family Remittances is Digital" in [entry.title for entry in remittances.entries]


def test_the_demos_next_steps_run_as_printed(demo_run):
    db_path, public, result = demo_run
    assert result.returncode == 0, result.stderr[-3000:]
    commands = re.findall(r"(\.venv/bin/presswatch [^`\n]+?)(?:`|\n|$)", result.stdout)
    names = [shlex.split(command)[1] for command in commands]
    assert names == ["serve", "search", "browse", "status"]
    assert f".venv/bin/presswatch serve --public {public} --db {db_path} --port 8000" in commands
    assert (ROOT / ".venv" / "bin" / "presswatch").exists()
    for command in commands:
        args = shlex.split(command)[1:]
        if args[0] in ("serve", "browse"):  # they serve until stopped: their options must parse
            command_ = main.commands[args[0]]
            with command_.make_context(args[0], list(args[1:])) as context:
                assert Path(context.params["db_path"]) == db_path
            continue
        ran = CliRunner().invoke(main, args)
        assert ran.exit_code == 0, (command, ran.output)
    # After the demo, health is known (judged after every crawl), not `unknown`.
    status = CliRunner().invoke(main, ["status", "--db", str(db_path), "--sources", str(ROOT / "sources.toml")])
    states = {line.split()[0]: line for line in status.stdout.splitlines()[2:] if line.strip()}
    assert len(states) == 10 and not [line for line in states.values() if " unknown " in line]


def test_the_readme_lists_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in main.commands:
        assert f".venv/bin/presswatch {name}" in readme, name
