"""`presswatch notify`: digests by email to a real SMTP server (aiosmtpd on 127.0.0.1) and by
Apprise to a real local webhook, read back; exactly once through the outbox, across a crash and
a refusing server; hostile titles stay text; a bad subscriptions.toml line is one clear error.

The archive is the sample sites crawled by conftest's `crawled` fixture (a copy per test).
"""

from __future__ import annotations

import email
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

import scheduler
from feeds.health import write_health_feed
from feeds.notify import run_notify
from feeds.publish import source_names_from
from pipelines.store import insert_item
from pipelines.topics import store_topics
from presswatch.archive import health, outbox
from presswatch.archive.db import open_archive, write_transaction
from presswatch.archive.times import to_utc_text
from presswatch.cli.main import main
from presswatch.config.files import ConfigError
from presswatch.config.subscriptions import load_subscriptions
from tests.conftest import ROOT, SOURCES

TOPICS = ROOT / "topics.toml"
NAMES = source_names_from(SOURCES)

# Titles the remittances topic holds whatever the classifier's details (they say "remittances").
REMITTANCES_SURELY = (
    "The Future of Family Remittances is Digital",
    "Remittances Prove Resilient in 2020, but Millions of Families Remain at Risk",
    "Family Remittances and an Equitable Recovery: What the Financial Sector Can Do",
)
NOT_REMITTANCES = "Belarus: Aid Stepped Up for Migrants and Refugees Stranded at the Border"


# ----------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping every message; it can refuse, or act on arrival."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refuse: str | None = None  # an SMTP reply to give to DATA instead of accepting
        self.on_message = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.refuse:
            return self.refuse
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        if self.on_message is not None:
            self.on_message(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpt, message in self.messages if address in rcpt]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class Webhook:
    """A tiny HTTP server taking Apprise's json:// posts; answers ``status``."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if hook.status == 200:
                    hook.posts.append({"path": self.path, **json.loads(body)})
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# ----------------------------------------------------------------------------- helpers


def write_subscriptions(path: Path, port: int, body: str) -> Path:
    path.write_text(f'[email]\nsmtp = "smtp://127.0.0.1:{port}"\nsender = "presswatch@example.org"\n\n{body}',
                    encoding="utf-8")
    return path


def text_part(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_part(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content().replace("\r\n", "\n")


def numbered_titles(text: str) -> list[str]:
    """The entry titles of a digest's text part ("1. Title" lines)."""
    titles = []
    for line in text.splitlines():
        head, _, rest = line.partition(". ")
        if head.isdigit() and rest:
            titles.append(rest)
    return titles


def outbox_rows(db_path: Path) -> list[dict]:
    db = open_archive(db_path)
    try:
        return list(db.query("SELECT * FROM outbox ORDER BY id"))
    finally:
        db.close()


def topic_titles(db_path: Path, topic: str) -> list[str]:
    """What a digest of ``topic`` must list, read from the archive: the topic's stories, each by its
    canonical item, newest first (publication time, else when archived; then URL)."""
    db = open_archive(db_path)
    try:
        titles = [row[0] for row in db.execute(
            "SELECT DISTINCT c.title, coalesce(c.published_utc, c.first_seen) AS t, c.url "
            "FROM item_topics tt JOIN items i ON i.id = tt.item_id JOIN stories s ON s.id = i.story_id "
            "JOIN items c ON c.id = s.canonical_item_id WHERE tt.topic = ? ORDER BY t DESC, c.url", [topic])]
    finally:
        db.close()
    assert set(REMITTANCES_SURELY) <= set(titles) and NOT_REMITTANCES not in titles
    return titles


def add_item(db_path: Path, title: str, *, url: str, summary: str = "A new item.",
             topic: str = "remittances", first_seen: datetime | None = None) -> int:
    """Store one item through the real store function, with a topic."""
    db = open_archive(db_path)
    try:
        with write_transaction(db):
            item_id = insert_item(db, {
                "uid": f"test-{abs(hash(url))}", "source": "iom-press", "kind": "press_release",
                "region": "global", "country": None, "url": url, "title": title, "summary": summary,
                "body": summary, "author": None, "published": "2026-12-01T09:00:00+01:00",
                "published_utc": "2026-12-01T08:00:00Z", "date_source": "selector", "language": "en",
                "countries": "[]", "content_hash": f"hash-{url}", "metadata": "{}",
                "first_seen": to_utc_text(first_seen or datetime.now(UTC)),
                "fetched": to_utc_text(first_seen or datetime.now(UTC)), "status": "active",
            })
            store_topics(db, item_id, {topic: 1.0})
    finally:
        db.close()
    return item_id


REMITTANCES_DAILY = """\
[[subscription]]
id = "remittances-daily"
email = ["analyst@example.org"]
topics = ["remittances"]
every = "1d"
"""


# ----------------------------------------------------------------------------- digests


def test_digest_names_the_topics_items_once_and_a_second_run_sends_nothing(archive_copy, smtp, tmp_path):
    inbox, port = smtp
    subscriptions = load_subscriptions(write_subscriptions(tmp_path / "s.toml", port, REMITTANCES_DAILY))

    expected = topic_titles(archive_copy, "remittances")
    subject = f"presswatch: remittances-daily: {len(expected)} new items"

    report = run_notify(archive_copy, subscriptions, source_names=NAMES)

    assert report.failed == []
    assert report.sent == [f"remittances-daily -> analyst@example.org: {subject}"]
    [message] = inbox.to("analyst@example.org")
    assert message["Subject"] == subject
    assert message["From"] == "presswatch@example.org"
    text = text_part(message)
    assert numbered_titles(text) == expected  # the topic's stories, newest first, once each
    assert NOT_REMITTANCES not in text
    assert "2022-01-18 | IOM global newsroom: press releases | en" in text
    assert "https://www.iom.int/news/future-family-remittances-digital" in text
    html = html_part(message)
    assert '<a href="https://www.iom.int/news/future-family-remittances-digital">' \
           "The Future of Family Remittances is Digital</a>" in html
    assert html.count('<div class="entry"') == len(expected)
    [row] = outbox_rows(archive_copy)
    assert (row["status"], row["kind"], row["attempts"]) == ("sent", "digest", 1)
    assert len(json.loads(row["item_ids"])) == len(expected)

    # Again at once, and an hour later: a daily digest is not due, nothing is sent.
    assert run_notify(archive_copy, subscriptions).sent == []
    later = datetime.now(UTC) + timedelta(hours=1)
    assert run_notify(archive_copy, subscriptions, now=later).sent == []
    assert len(inbox.messages) == 1
    assert len(outbox_rows(archive_copy)) == 1

    # A day later it is due, but nothing new was archived: recorded empty, not sent.
    tomorrow = datetime.now(UTC) + timedelta(days=1, minutes=1)
    assert run_notify(archive_copy, subscriptions, now=tomorrow).sent == []
    assert [row["status"] for row in outbox_rows(archive_copy)] == ["sent", "empty"]
    assert len(inbox.messages) == 1


def test_an_item_archived_after_a_digest_is_in_the_next_one_only(archive_copy, smtp, tmp_path):
    inbox, port = smtp
    subscriptions = load_subscriptions(write_subscriptions(tmp_path / "s.toml", port, """\
[[subscription]]
id = "remittances-now"
title = "Remittances as they come"
email = ["desk@example.org"]
topics = ["remittances"]
every = "immediate"
"""))
    now = datetime.now(UTC).replace(microsecond=0)
    expected = topic_titles(archive_copy, "remittances")
    assert len(run_notify(archive_copy, subscriptions, now=now).sent) == 1
    add_item(archive_copy, "Remittances Reach a New High in 2026", url="https://www.iom.int/news/remittances-2026",
             first_seen=now)  # archived in the very second the first window ended: the next window's
    add_item(archive_copy, "Health Workers Abroad", url="https://www.iom.int/news/health-abroad",
             topic="migration-health", first_seen=now)

    report = run_notify(archive_copy, subscriptions, now=now + timedelta(minutes=5))
    assert report.sent == ["remittances-now -> desk@example.org: presswatch: Remittances as they come: 1 new item"]
    first, second = inbox.to("desk@example.org")
    assert numbered_titles(text_part(first)) == expected
    assert numbered_titles(text_part(second)) == ["Remittances Reach a New High in 2026"]
    # Nothing new since: an immediate subscription sends nothing and records nothing.
    assert run_notify(archive_copy, subscriptions, now=now + timedelta(minutes=10)).sent == []
    assert [row["status"] for row in outbox_rows(archive_copy)] == ["sent", "sent"]


def test_hostile_title_is_text_in_the_html_part(archive_copy, smtp, tmp_path):
    inbox, port = smtp
    hostile = '<script>alert("pwned")</script> & <b>Remittances</b>'
    add_item(archive_copy, hostile, url="javascript:alert(1)", summary="<img src=x onerror=alert(1)> summary")
    subscriptions = load_subscriptions(write_subscriptions(tmp_path / "s.toml", port, """\
[[subscription]]
id = "iom"
email = ["desk@example.org"]
sources = ["iom-press"]
query = "pwned"
every = "immediate"
"""))
    run_notify(archive_copy, subscriptions, now=datetime.now(UTC) + timedelta(seconds=2))
    [message] = inbox.messages
    html = html_part(message[1])
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; &lt;b&gt;Remittances&lt;/b&gt;" in html
    assert '<a href="#">' in html  # a javascript: URL is never a link

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[str] = []
            self.h2 = ""
            self.in_h2 = False

        def handle_starttag(self, tag, attrs) -> None:
            self.tags.append(tag)
            self.in_h2 = self.in_h2 or tag == "h2"

        def handle_endtag(self, tag) -> None:
            self.in_h2 = self.in_h2 and tag != "h2"

        def handle_data(self, data) -> None:
            if self.in_h2:
                self.h2 += data

    parsed = Text()
    parsed.feed(html)
    assert parsed.h2 == hostile  # the title, character for character, as text
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert numbered_titles(text_part(message[1])) == [hostile]  # the text part keeps it as is


def test_a_story_is_one_entry_its_canonical_item(archive_copy, smtp, tmp_path):
    """IOM Moldova's data profile, in English and Romanian: one story, listed once, in English."""
    inbox, port = smtp
    subscriptions = load_subscriptions(write_subscriptions(tmp_path / "s.toml", port, """\
[[subscription]]
id = "moldova-profiles"
email = ["desk@example.org"]
sources = ["moldova"]
query = "title:profil*"
every = "1d"
"""))
    db = open_archive(archive_copy)
    try:
        titles = sorted(row[0] for row in db.execute(
            "SELECT title FROM items WHERE source = 'moldova' AND title LIKE '%Profil%'"))
    finally:
        db.close()
    assert titles == ["Lansarea Profilului de date privind migrația al Republicii Moldova",
                      "Launch of Moldova Migration Data Profile"]
    run_notify(archive_copy, subscriptions, source_names=NAMES)
    [(_, message)] = inbox.messages
    assert message["Subject"] == "presswatch: moldova-profiles: 1 new item"
    assert numbered_titles(text_part(message)) == ["Launch of Moldova Migration Data Profile"]
    assert "2021-06-16 | IOM Moldova: news | en" in text_part(message)


# ----------------------------------------------------------------------------- exactly once


def test_a_crash_between_sending_and_marking_sends_that_digest_once_more(archive_copy, smtp, tmp_path):
    inbox, port = smtp
    path = write_subscriptions(tmp_path / "s.toml", port, """\
[[subscription]]
id = "remittances-daily"
email = ["first@example.org", "second@example.org"]
topics = ["remittances"]
every = "1d"
""")
    expected = topic_titles(archive_copy, "remittances")
    command = [sys.executable, "-m", "presswatch", "notify", "--db", str(archive_copy), "--subscriptions",
               str(path), "--topics", str(TOPICS), "--sources", str(SOURCES)]
    # The server has the first digest; the sender dies before it hears so (and before marking it).
    inbox.on_message = lambda message: os.kill(child.pid, signal.SIGKILL)
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL
    assert [(row["target"], row["status"]) for row in outbox_rows(archive_copy)] == [
        ("first@example.org", "pending"), ("second@example.org", "pending")]  # both recorded before sending
    inbox.on_message = None

    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.splitlines()[-1] == "2 sent, 0 failed."
    first, again = inbox.to("first@example.org")  # that digest once more, and only that one
    [second] = inbox.to("second@example.org")
    assert again["Message-ID"] == first["Message-ID"] != second["Message-ID"]
    assert numbered_titles(text_part(again)) == numbered_titles(text_part(first)) == expected
    assert numbered_titles(text_part(second)) == expected
    assert [row["status"] for row in outbox_rows(archive_copy)] == ["sent", "sent"]

    third = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert third.returncode == 0 and third.stdout.splitlines()[-1] == "0 sent, 0 failed."
    assert len(inbox.messages) == 3


def test_a_refusing_server_keeps_the_digest_and_the_next_run_sends_it(archive_copy, smtp, tmp_path):
    inbox, port = smtp
    path = write_subscriptions(tmp_path / "s.toml", port, REMITTANCES_DAILY)
    subscriptions = load_subscriptions(path)
    inbox.refuse = "451 4.3.0 Mail server temporarily rejected message"
    now = datetime.now(UTC).replace(microsecond=0)
    expected = topic_titles(archive_copy, "remittances")

    report = run_notify(archive_copy, subscriptions, now=now)
    assert report.sent == [] and inbox.messages == []
    assert report.failed == [f"remittances-daily -> analyst@example.org: smtp://127.0.0.1:{port}: "
                             "451 4.3.0 Mail server temporarily rejected message"]
    [row] = outbox_rows(archive_copy)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["error"] == f"smtp://127.0.0.1:{port}: 451 4.3.0 Mail server temporarily rejected message"

    # `presswatch status` and the health feed name the failing target.
    status = CliRunner().invoke(main, ["status", "--db", str(archive_copy), "--sources", str(SOURCES)])
    assert status.exit_code == 0, status.output
    assert "1 notification target(s) failing:" in status.output
    assert "remittances-daily  analyst@example.org" in status.output
    db = open_archive(archive_copy)
    try:
        feed = feedparser.parse(write_health_feed(db, tmp_path / "public").read_bytes())
    finally:
        db.close()
    assert feed.entries[0].title == "notifications to remittances-daily -> analyst@example.org are failing"
    assert "451 4.3.0" in feed.entries[0].summary

    # Still refusing an hour later: the same digest is tried again, no second one is recorded.
    report = run_notify(archive_copy, subscriptions, now=now + timedelta(hours=1))
    assert len(report.failed) == 1 and len(outbox_rows(archive_copy)) == 1

    inbox.refuse = None  # the server accepts again
    report = run_notify(archive_copy, subscriptions, now=now + timedelta(hours=2))
    assert report.sent == [f"remittances-daily -> analyst@example.org: presswatch: remittances-daily: "
                           f"{len(expected)} new items"]
    [message] = inbox.messages
    assert numbered_titles(text_part(message[1])) == expected  # the items kept for it
    [row] = outbox_rows(archive_copy)
    assert (row["status"], row["attempts"], row["error"]) == ("sent", 3, None)
    status = CliRunner().invoke(main, ["status", "--db", str(archive_copy), "--sources", str(SOURCES)])
    assert "failing" not in status.output
    db = open_archive(archive_copy)
    try:
        feed = feedparser.parse(write_health_feed(db, tmp_path / "public").read_bytes())
    finally:
        db.close()
    assert [entry.title for entry in feed.entries[:2]] == [
        "notifications to remittances-daily -> analyst@example.org recovered",
        "notifications to remittances-daily -> analyst@example.org are failing"]


def test_an_unreachable_server_is_a_failure_kept_for_the_next_run(archive_copy, tmp_path):
    port = free_port()  # nothing listens there
    subscriptions = load_subscriptions(write_subscriptions(tmp_path / "s.toml", port, REMITTANCES_DAILY))
    report = run_notify(archive_copy, subscriptions)
    [failure] = report.failed
    assert failure.startswith(f"remittances-daily -> analyst@example.org: smtp://127.0.0.1:{port}: "
                              "ConnectionRefusedError")
    assert [row["status"] for row in outbox_rows(archive_copy)] == ["failed"]
    result = CliRunner().invoke(main, ["notify", "--db", str(archive_copy), "--subscriptions",
                                       str(tmp_path / "s.toml"), "--topics", str(TOPICS), "--sources", str(SOURCES)])
    assert result.exit_code == 1  # the same digest tried again, still refused; kept again
    assert f"failed: remittances-daily -> analyst@example.org: smtp://127.0.0.1:{port}: ConnectionRefusedError" \
        in result.output
    assert result.output.endswith("0 sent, 1 failed.\nError: 1 message(s) not sent: kept in the outbox, "
                                  "the next run tries again\n")
    [row] = outbox_rows(archive_copy)
    assert (row["status"], row["attempts"]) == ("failed", 2)


# ----------------------------------------------------------------------------- Apprise, health


def test_apprise_webhook_gets_the_digest_and_a_failing_one_is_retried(archive_copy, tmp_path):
    expected = topic_titles(archive_copy, "remittances")
    with Webhook() as hook:
        subscriptions = load_subscriptions(write_subscriptions(tmp_path / "s.toml", 1, f"""\
[[subscription]]
id = "remittances-chat"
notify = ["json://127.0.0.1:{hook.port}/presswatch"]
topics = ["remittances"]
every = "1d"
"""))
        hook.status = 500
        report = run_notify(archive_copy, subscriptions)
        [failure] = report.failed
        assert failure.startswith(f"remittances-chat -> json://127.0.0.1:{hook.port}/presswatch")
        assert hook.posts == []
        hook.status = 200
        report = run_notify(archive_copy, subscriptions)
        assert len(report.sent) == 1
        [post] = hook.posts
    assert post["path"] == "/presswatch"
    assert post["title"] == f"presswatch: remittances-chat: {len(expected)} new items"
    assert numbered_titles(post["message"]) == expected
    assert [row["status"] for row in outbox_rows(archive_copy)] == ["sent"]


def test_health_alerts_go_to_subscriptions_that_ask(archive_copy, smtp, tmp_path):
    inbox, port = smtp
    db = open_archive(archive_copy)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        stale = health.Verdict(health.DEGRADED, (health.Finding("stale", "no new item for 9 days"),))
        for source in ("iom-press", "moldova"):
            health.record(db, source, health.Verdict(health.OK), now - timedelta(hours=1))  # not an event
            health.record(db, source, stale, now)  # ok -> degraded: an event
    finally:
        db.close()
    subscriptions = load_subscriptions(write_subscriptions(tmp_path / "s.toml", port, """\
[[subscription]]
id = "ops"
email = ["ops@example.org"]
sources = ["iom-press"]
every = "immediate"
digest = false
health = true
"""))
    later = now + timedelta(seconds=2)  # windows end before the run's second: these are in it
    report = run_notify(archive_copy, subscriptions, now=later)
    assert report.sent == ["ops -> ops@example.org: presswatch: ops: 1 source health change"]
    [(_, message)] = inbox.messages
    text = text_part(message)
    assert "1. iom-press is degraded (stale)\n" in text
    assert f"   iom-press: ok -> degraded at {to_utc_text(now)}.\n   Why: no new item for 9 days.\n" in text
    assert "moldova" not in text  # not one of the subscription's sources
    assert "iom-press is degraded (stale)</h2>" in html_part(message)
    assert run_notify(archive_copy, subscriptions, now=later + timedelta(minutes=1)).sent == []


def test_the_scheduler_notifies_after_publishing(archive_copy, smtp, tmp_path):
    inbox, port = smtp
    path = write_subscriptions(tmp_path / "s.toml", port, REMITTANCES_DAILY)
    expected = topic_titles(archive_copy, "remittances")
    config = scheduler.SchedulerConfig(db_path=archive_copy, sources_path=SOURCES, topics_path=TOPICS,
                                       public_dir=tmp_path / "public", subscriptions_path=path)
    runner = scheduler.Scheduler(config)
    runner.publisher.publish_now(["iom-press archived 3 change(s)"])  # what a crawl's end asks for
    assert (tmp_path / "public" / "topics" / "remittances.atom").exists()
    [(_, message)] = inbox.messages
    assert numbered_titles(text_part(message)) == expected
    runner.publisher.publish_now(["periodic publish"])
    assert len(inbox.messages) == 1  # nothing new, nothing due

    path.write_text(path.read_text(encoding="utf-8").replace('every = "1d"', 'every = "soon"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r":9: subscription 'remittances-daily': every: 'soon' is not a duration"):
        scheduler.Scheduler(config)  # a broken file: the scheduler refuses to start


# ----------------------------------------------------------------------------- the command


def test_dry_run_prints_what_is_due_and_records_nothing(archive_copy, smtp, tmp_path):
    inbox, port = smtp
    path = write_subscriptions(tmp_path / "s.toml", port, REMITTANCES_DAILY)
    result = CliRunner().invoke(main, ["notify", "--dry-run", "--db", str(archive_copy), "--subscriptions",
                                       str(path), "--topics", str(TOPICS), "--sources", str(SOURCES)])
    assert result.exit_code == 0, result.output
    expected = topic_titles(archive_copy, "remittances")
    assert f"To: analyst@example.org\nSubject: presswatch: remittances-daily: {len(expected)} new items\n" \
        in result.output
    assert numbered_titles(result.output) == expected
    assert result.output.rstrip().endswith("1 message(s) due (dry run: nothing sent or recorded).")
    assert inbox.messages == [] and outbox_rows(archive_copy) == []


@pytest.mark.parametrize(("body", "error"), [
    ('every = "1x"', "{path}:8: subscription 'daily': every: '1x' is not a duration (use e.g. 90s, 30m, 6h, 1d), "
                     'or "immediate"'),
    ('every = "1d"\ncron = "0 7 * * *"', "{path}:3: subscription 'daily': (entry): give exactly one of `every` "
                                         '("immediate" or a duration) or `cron`'),
    ('cron = "0 7 * *"', "{path}:8: subscription 'daily': cron: '0 7 * *' is not a crontab expression: it needs "
                         "5 fields (minute hour day month weekday), not 4"),
    ('every = "1d"\nquery = \'"unbalanced\'', "{path}:9: subscription 'daily': query: unbalanced quotes in query "
                                              "'\"unbalanced': close the phrase with \""),
    ('every = "1d"\nlimit = 0', "{path}:9: subscription 'daily': limit: Input should be greater than or equal "
                                "to 1 (got 0)"),
])
def test_a_bad_subscriptions_line_is_one_clear_error(tmp_path, body, error):
    path = tmp_path / "subscriptions.toml"
    path.write_text('# subscriptions\n\n[[subscription]]\nid = "daily"\nnotify = ["json://127.0.0.1:9/x"]\n'
                    f'topics = ["remittances"]\n\n{body}\n', encoding="utf-8")
    db_path = tmp_path / "presswatch.db"
    result = CliRunner().invoke(main, ["notify", "--db", str(db_path), "--subscriptions", str(path),
                                       "--topics", str(TOPICS), "--sources", str(SOURCES)])
    assert result.exit_code == 1
    assert result.output == f"Error: {error.format(path=path)}\n"
    assert not db_path.exists()  # refused before the archive was opened


@pytest.mark.parametrize(("text", "error"), [
    ('[[subscription]]\nid = "daily"\nemail = ["a@example.org"]\nevery = "1d"\n',
     "{path}:3: subscription 'daily': email: no [email] table says how to send mail (smtp, sender)"),
    ('[email]\nsmtp = "http://mail.example.org"\nsender = "p@example.org"\n',
     "{path}:2: [email]: smtp: 'http://mail.example.org' is not an smtp:// or smtps:// URL "
     "(e.g. smtp://mail.example.org:587)"),
    ('[[subscription]]\nid = "daily"\nemail = ["not an address"]\nevery = "1d"\n',
     "{path}:3: subscription 'daily': email.0: 'not an address' is not an email address"),
    ('[[subscription]]\nid = "daily"\nnotify = ["nosuch://x"]\nevery = "1d"\n',
     "{path}:3: subscription 'daily': notify.0: 'nosuch://x' is not an Apprise URL this Apprise supports "
     "(e.g. json://host/path, slack://..., mailto://...)"),
    ('[[subscription]]\nid = "daily"\nnotify = ["json://127.0.0.1:9/x"]\ntopics = ["remitances"]\nevery = "1d"\n',
     "{path}:4: subscription 'daily': topics: no topic 'remitances' (known: belarus-eu-border, "),
])
def test_bad_targets_and_unknown_topics_are_one_clear_error(tmp_path, text, error):
    path = tmp_path / "subscriptions.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["notify", "--db", str(tmp_path / "p.db"), "--subscriptions", str(path),
                                       "--topics", str(TOPICS), "--sources", str(SOURCES)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {error.format(path=path)}")
    assert result.output.count("\n") == 1


def test_the_shipped_example_is_valid():
    subscriptions = load_subscriptions(ROOT / "subscriptions.toml")
    assert [s.id for s in subscriptions] == ["remittances-daily", "moldova-ukraine-weekdays", "trafficking-chat"]
    assert [s.describe() for s in subscriptions] == [
        "every 1d", "cron 0 7 * * 1-5 (Europe/Chisinau)", "immediate"]


# ----------------------------------------------------------------------------- windows


def test_when_digests_are_due(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("""\
[[subscription]]
id = "daily"
notify = ["json://127.0.0.1:9/x"]
every = "1d"

[[subscription]]
id = "weekdays"
notify = ["json://127.0.0.1:9/x"]
cron = "0 7 * * 1-5"
timezone = "Europe/Chisinau"
""", encoding="utf-8")
    daily, weekdays = load_subscriptions(path)
    friday_noon = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # 12:00 in Chisinau
    assert outbox.first_period(daily, friday_noon) == timedelta(days=1)
    assert outbox.is_due(daily, None, friday_noon)
    assert not outbox.is_due(daily, friday_noon - timedelta(hours=23), friday_noon)
    assert outbox.is_due(daily, friday_noon - timedelta(hours=24), friday_noon)
    # Weekdays at 7:00 in Chisinau (5:00 UTC): the first digest reaches back to Thursday 7:00.
    assert outbox.first_period(weekdays, friday_noon) == timedelta(hours=29)
    assert not outbox.is_due(weekdays, datetime(2026, 12, 4, 5, 1, tzinfo=UTC), friday_noon)
    assert outbox.is_due(weekdays, datetime(2026, 12, 4, 4, 59, tzinfo=UTC), friday_noon)
    # Saturday and Sunday have no 7:00 run: Monday's digest covers the weekend.
    monday_6 = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    assert not outbox.is_due(weekdays, datetime(2026, 12, 4, 5, 1, tzinfo=UTC), monday_6)
    assert outbox.is_due(weekdays, datetime(2026, 12, 4, 5, 1, tzinfo=UTC), monday_6 + timedelta(hours=1, minutes=1))


def test_windows_end_where_a_running_crawl_began(archive, tmp_path):
    now = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    archive["crawl_runs"].insert({"source": "moldova", "started": "2026-12-04T09:55:00Z", "status": "running"})
    archive["crawl_runs"].insert({"source": "ukraine", "started": "2026-12-01T09:55:00Z", "status": "running"})
    assert outbox.settled_until(archive, now) == datetime(2026, 12, 4, 9, 55, tzinfo=UTC)
    archive.execute("UPDATE crawl_runs SET status = 'ok'")
    assert outbox.settled_until(archive, now) == now  # a 'running' row days old is an orphan: ignored
