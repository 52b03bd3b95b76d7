"""Issue 16: safe in a user's hands. No command but crawl, demo and schedule creates an archive;
publish never empties the feeds subscribers read."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from presswatch.archive.db import open_archive
from presswatch.cli.main import main
from tests.conftest import SOURCES

ROOT = Path(__file__).resolve().parent.parent
TOPICS = ROOT / "topics.toml"
READING_COMMANDS = [["publish"], ["search", "remittances"], ["show", "1"], ["stats"], ["stories"],
                    ["reclassify"], ["diff", "1"], ["browse", "--no-open"], ["topics"], ["topics", "explain", "1"],
                    ["notify", "--dry-run"]]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("command", READING_COMMANDS, ids=lambda command: command[0])
def test_commands_that_read_an_archive_refuse_a_missing_one(tmp_path, command):
    missing = tmp_path / "data" / "presswatch.dbx"
    code, out, err = run(*command, "--db", str(missing))
    assert code == 1
    assert err.strip().splitlines() == [
        f"Error: {missing}: no such archive (run `.venv/bin/presswatch crawl` or `.venv/bin/presswatch demo` "
        "first, or give --db / PRESSWATCH_DB)"]
    assert not missing.parent.exists()  # neither the archive nor its folder was created


@pytest.mark.parametrize("command", ["sources", "status"])
def test_sources_and_status_show_the_configuration_without_an_archive(tmp_path, command):
    missing = tmp_path / "data" / "presswatch.db"
    code, out, err = run(command, "--db", str(missing), "--sources", str(SOURCES))
    assert code == 0, err
    assert f"No archive at {missing} yet" in err
    rows = [line.split()[0] for line in out.splitlines()[2:] if line.strip()]
    assert "moldova" in rows and "iom-press" in rows
    assert not missing.parent.exists()


@pytest.fixture
def published(archive_copy, tmp_path) -> Path:
    public = tmp_path / "public"
    code, out, err = run("publish", "--db", str(archive_copy), "--public", str(public), "--topics", str(TOPICS),
                         "--sources", str(SOURCES))
    assert code == 0, err
    assert len(feedparser.parse((public / "all.atom").read_bytes()).entries) == 50
    return public


def test_publish_with_a_missing_archive_leaves_public_byte_identical(published, tmp_path):
    before = snapshot(published)
    code, _out, err = run("publish", "--db", str(tmp_path / "presswatch.dbx"), "--public", str(published))
    assert code == 1 and "no such archive" in err
    assert snapshot(published) == before
    assert not (tmp_path / "presswatch.dbx").exists()


def test_publish_refuses_to_empty_the_feeds_without_force(published, tmp_path):
    empty = tmp_path / "empty.db"
    open_archive(empty).close()
    before = snapshot(published)
    feeds = len([name for name in before if name.endswith((".atom", ".rss")) and "/" in name]) // 2
    code, _out, err = run("publish", "--db", str(empty), "--public", str(published), "--topics", str(TOPICS),
                          "--sources", str(SOURCES))
    assert code == 1
    assert err.strip() == (f"Error: {empty} has no items: publishing it would empty the {feeds} feeds of "
                           f"{published}/ (a mistyped --db?); --force to publish anyway")
    assert snapshot(published) == before
    code, _out, err = run("publish", "--db", str(empty), "--public", str(published), "--topics", str(TOPICS),
                          "--sources", str(SOURCES), "--force")
    assert code == 0, err
    assert feedparser.parse((published / "all.atom").read_bytes()).entries == []


def test_publish_refuses_to_remove_more_than_half_of_the_feeds(published, archive_copy):
    # The same archive without its countries: every country feed (most of the feeds) would go.
    db = open_archive(archive_copy)
    db.execute("DELETE FROM item_countries")
    db.close()
    before = snapshot(published)
    code, _out, err = run("publish", "--db", str(archive_copy), "--public", str(published), "--topics", str(TOPICS),
                          "--sources", str(SOURCES))
    assert code == 1, err
    assert "would remove" in err and "--force to publish anyway" in err
    assert snapshot(published) == before


@pytest.mark.parametrize("command", [["publish"], ["stories"], ["diff", "1"], ["status"], ["sources"],
                                     ["reclassify"], ["crawl", "moldova"]], ids=lambda command: command[0])
def test_a_file_that_is_not_an_archive_is_one_line_and_left_alone(tmp_path, command):
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 200, encoding="utf-8")
    sources = ["--sources", str(SOURCES)] if command[0] not in ("diff", "reclassify") else []
    topics = ["--topics", str(TOPICS)] if command[0] in ("publish", "reclassify") else []
    code, _out, err = run(*command, "--db", str(text), *sources, *topics)
    assert code == 1
    assert err.strip().splitlines() == [f"Error: {text}: cannot use it as an archive: file is not a database"]
    assert text.read_text(encoding="utf-8") == "not a database\n" * 200
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]
