"""`presswatch notify`: render what the outbox holds and send it, by email (smtplib) or Apprise.

The order that makes each digest go out once (presswatch/archive/outbox.py):
record what is due (``pending``), send, mark ``sent``; a failure marks it
``failed`` and the next run sends it again with the same items. Only one notify
runs at a time per archive (a lock file beside it), so the scheduler and a
manual run never send the same row twice.

A digest has a plain-text part and an HTML part (Jinja2, autoescaped: titles
and summaries taken from pages stay text); Apprise targets get the text part.
Its Message-ID is derived from the outbox row, so a digest sent again after a
crash carries the same one.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import smtplib
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from feeds.health import entry_text, entry_title
from feeds.index import http_url
from feeds.publish import source_names_from
from presswatch.archive import outbox
from presswatch.archive.db import open_archive
from presswatch.archive.times import parse_stored_time
from presswatch.config.files import ConfigError
from presswatch.config.subscriptions import (
    EMAIL_TARGET,
    SMTP_PASSWORD_ENV,
    SMTP_USER_ENV,
    EmailSettings,
    Subscription,
    SubscriptionList,
    display_target,
    load_subscriptions,
)
from presswatch.text import shorten, strip_xml_invalid

logger = logging.getLogger("presswatch.notify")

TEMPLATES = Path(__file__).resolve().parent / "templates"
SUMMARY_CHARS = 300
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class NotifyError(Exception):
    """A target did not take a message. ``str(error)`` is one line."""


class NotifyBusy(Exception):
    """Another `presswatch notify` is sending for this archive."""


@dataclass(frozen=True)
class DigestEntry:
    title: str
    url: str
    date: str  # the publication date as the page gives it (YYYY-MM-DD), or "undated"
    source: str  # the source's name from sources.toml, else its id
    summary: str
    language: str | None = None


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    message_id: str


@dataclass
class NotifyReport:
    recorded: int = 0  # outbox rows recorded by this run
    sent: list[str] = field(default_factory=list)  # "subscription -> target: subject"
    failed: list[str] = field(default_factory=list)  # "subscription -> target: error"
    previews: list[str] = field(default_factory=list)  # --dry-run: the messages, as text


# ----------------------------------------------------------------------------- rendering


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True,
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
    )


_ENV = _environment()
_ENV.filters["http_url"] = http_url


def digest_entries(db: sqlite_utils.Database, item_ids: Sequence[int],
                   source_names: Mapping[str, str]) -> list[DigestEntry]:
    """The entries of ``item_ids``, in that order (items gone from the archive are skipped)."""
    rows = {row["id"]: row for row in db.query(
        "SELECT id, title, url, published, source, language, summary, substr(body, 1, 2000) AS body "
        "FROM items WHERE id IN (SELECT value FROM json_each(?))", [_json(item_ids)])}
    entries = []
    for item_id in item_ids:
        row = rows.get(item_id)
        if row is None:
            continue
        summary = shorten(strip_xml_invalid(row["summary"] or row["body"]), SUMMARY_CHARS)
        entries.append(DigestEntry(
            title=" ".join((row["title"] or "").split()), url=row["url"],
            date=(row["published"] or "")[:10] or "undated",
            source=source_names.get(row["source"], row["source"]), summary=summary, language=row["language"]))
    return entries


def _json(values: Sequence[int]) -> str:
    return "[" + ",".join(str(int(value)) for value in values) + "]"


def _window(start: str, end: str) -> str:
    def short(text: str) -> str:
        return parse_stored_time(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M")

    return f"{short(start)} to {short(end)} UTC"


def message_id(row: Mapping[str, Any], sender: str | None) -> str:
    """The same for every sending of one outbox row, and only for it (not another archive's row 1)."""
    domain = sender.rsplit("@", 1)[-1] if sender else "presswatch.invalid"
    what = "\n".join(str(row[key]) for key in ("subscription", "target_key", "kind", "window_start",
                                                   "window_end", "created"))
    return f"<presswatch.{row['id']}.{hashlib.sha256(what.encode()).hexdigest()[:16]}@{domain}>"


def render(db: sqlite_utils.Database, subscription: Subscription, kind: str, ids: Sequence[int], *,
           more: int, start: str, end: str, subject: str, message_id: str,
           source_names: Mapping[str, str]) -> Message:
    """The text and HTML of a digest (``ids``: items) or health alert (``ids``: health_events)."""
    context: dict[str, Any] = {"subscription": subscription, "subject": subject,
                               "window": _window(start, end), "more": more}
    if kind == outbox.HEALTH:
        events = {row["id"]: row for row in db.query(
            "SELECT * FROM health_events WHERE id IN (SELECT value FROM json_each(?))", [_json(ids)])}
        context["events"] = [{"title": entry_title(events[i]), "text": entry_text(events[i])}
                             for i in ids if i in events]
        name = "health"
    else:
        context["entries"] = digest_entries(db, ids, source_names)
        name = "digest"
    return Message(subject=subject, text=_ENV.get_template(f"{name}.txt.j2").render(context),
                   html=_ENV.get_template(f"{name}.html.j2").render(context), message_id=message_id)


# ----------------------------------------------------------------------------- sending


def email_message(settings: EmailSettings, recipient: str, message: Message, now: datetime) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = settings.sender
    mail["To"] = recipient
    mail["Date"] = format_datetime(now.astimezone(UTC))
    mail["Message-ID"] = message.message_id
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    # quoted-printable: 7-bit clean, whatever the server says about 8BITMIME.
    mail.set_content(message.text, cte="quoted-printable")
    mail.add_alternative(message.html, subtype="html", cte="quoted-printable")
    return mail


def send_email(settings: EmailSettings, recipient: str, message: Message, now: datetime) -> None:
    """Hand the digest to the SMTP server; NotifyError (one line) when it does not take it."""
    user, password = os.environ.get(SMTP_USER_ENV), os.environ.get(SMTP_PASSWORD_ENV, "")
    timeout = settings.timeout.total_seconds()
    try:
        if settings.implicit_tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout,
                                                   context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        with client:
            if settings.starttls:
                client.starttls(context=ssl.create_default_context())
            if user:
                if not (settings.implicit_tls or settings.starttls) and settings.host not in _LOOPBACK:
                    raise NotifyError(f"refusing to send the SMTP password unencrypted to {settings.host}: "
                                      "use smtps:// or starttls = true")
                client.login(user, password)
            client.send_message(email_message(settings, recipient, message, now))
    except smtplib.SMTPResponseException as exc:
        reply = exc.smtp_error
        if isinstance(reply, bytes):
            reply = reply.decode("utf-8", "replace")
        raise NotifyError(f"{settings.smtp}: {exc.smtp_code} {reply}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = "; ".join(f"{address}: {code} {text.decode('utf-8', 'replace')}"
                          for address, (code, text) in exc.recipients.items())
        raise NotifyError(f"{settings.smtp}: recipient refused: {codes}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise NotifyError(f"{settings.smtp}: {type(exc).__name__}: {exc}") from None


def send_apprise(url: str, message: Message) -> None:
    """Notify one Apprise target with the text part; NotifyError with Apprise's own warning."""
    import apprise

    client = apprise.Apprise()
    if not client.add(url):
        raise NotifyError(f"{display_target(url)}: not an Apprise URL")
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        ok = client.notify(title=message.subject, body=message.text, body_format=apprise.NotifyFormat.TEXT)
        log = captured.getvalue()
    if not ok:
        lines = [line.strip() for line in log.splitlines() if line.strip()]
        raise NotifyError(f"{display_target(url)}: {lines[-1] if lines else 'Apprise could not notify'}")


Sender = Callable[[SubscriptionList, str, Message, datetime], None]


def send(subscriptions: SubscriptionList, target: str, message: Message, now: datetime) -> None:
    if target.startswith(EMAIL_TARGET):
        assert subscriptions.email is not None  # load_subscriptions checks it
        send_email(subscriptions.email, target.removeprefix(EMAIL_TARGET), message, now)
    else:
        send_apprise(target, message)


# ----------------------------------------------------------------------------- a run


@contextmanager
def notify_lock(db_path: str | Path) -> Iterator[None]:
    """One notify at a time per archive: an exclusive lock on DB.notify.lock."""
    if str(db_path) == ":memory:":
        yield
        return
    path = Path(f"{db_path}.notify.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NotifyBusy(f"another presswatch notify is sending for {db_path}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sender(subscriptions: SubscriptionList) -> str | None:
    return subscriptions.email.sender if subscriptions.email else None


def preview(db: sqlite_utils.Database, subscriptions: SubscriptionList, now: datetime,
            source_names: Mapping[str, str]) -> list[str]:
    """--dry-run: every message a run would send now (retries first), as text; nothing is written."""
    texts = []
    pending = [(row["subscription"], row["target"], row["kind"], outbox.items_of(row), row["more"],
                row["window_start"], row["window_end"], row["subject"], f"retry of outbox row {row['id']}")
               for row in db.query("SELECT * FROM outbox WHERE status IN ('pending', 'failed') ORDER BY id")]
    by_id = {subscription.id: subscription for subscription in subscriptions}
    due = [(p.subscription.id, display_target(p.target), p.kind, p.ids, p.more, p.start, p.end, p.subject,
            "due now") for p in outbox.plan(db, subscriptions, now)
           if p.ids or not p.subscription.immediate]
    for subscription_id, target, kind, ids, more, start, end, subject, why in pending + due:
        subscription = by_id.get(subscription_id)
        if subscription is None:
            continue
        if not ids:
            texts.append(f"To: {target}\nSubject: (nothing new: an empty {kind}, not sent)\n")
            continue
        message = render(db, subscription, kind, ids, more=more, start=start, end=end, subject=subject,
                         message_id="", source_names=source_names)
        texts.append(f"To: {target}\nSubject: {message.subject}\nX-Presswatch: {why}\n\n{message.text}")
    return texts


def run_notify(db_path: str | Path, subscriptions: SubscriptionList, *, now: datetime | None = None,
               dry_run: bool = False, source_names: Mapping[str, str] | None = None,
               sender: Sender = send) -> NotifyReport:
    """Record what is due, then send every unsent row (older failures first). Never raises for a
    target that fails: the row is marked failed and retried by the next run."""
    moment = now or datetime.now(UTC)
    names = source_names or {}
    report = NotifyReport()
    db = open_archive(db_path)
    try:
        if dry_run:
            report.previews = preview(db, subscriptions, moment, names)
            return report
        with notify_lock(db_path):
            report.recorded = len(outbox.record(db, subscriptions.subscriptions, moment))
            for row, subscription, target in outbox.unsent(db, subscriptions.subscriptions, moment):
                _send_row(db, subscriptions, row, subscription, target, moment, names, sender, report)
    finally:
        db.close()
    return report


def _send_row(db: sqlite_utils.Database, subscriptions: SubscriptionList, row: dict[str, Any],
              subscription: Subscription, target: str, now: datetime, names: Mapping[str, str],
              sender: Sender, report: NotifyReport) -> None:
    label = f"{row['subscription']} -> {row['target']}"
    message = render(db, subscription, row["kind"], outbox.items_of(row), more=row["more"],
                     start=row["window_start"], end=row["window_end"], subject=row["subject"],
                     message_id=message_id(row, _sender(subscriptions)),
                     source_names=names)
    try:
        sender(subscriptions, target, message, now)
    except NotifyError as exc:
        outbox.mark_failed(db, row, str(exc), now)
        report.failed.append(f"{label}: {exc}")
        logger.warning("notify: %s failed: %s (kept; retried by the next run)", label, exc)
        return
    outbox.mark_sent(db, row, now)
    report.sent.append(f"{label}: {message.subject}")
    logger.info("notify: sent %s: %s", label, message.subject)


def notify_after_publish(db_path: str | Path, subscriptions_path: str | Path,
                         sources_path: str | Path | None = None) -> NotifyReport | None:
    """The scheduler's call after each publish: send what is due; log, never raise.

    The file is read again each time, so an edit applies at the next publish
    (a broken edit is logged, and nothing is sent until it is fixed).
    """
    try:
        report = run_notify(db_path, load_subscriptions(subscriptions_path),
                            source_names=source_names_from(sources_path))
    except (ConfigError, NotifyBusy) as exc:
        logger.error("notify: %s", exc)
        return None
    except Exception:
        logger.exception("notify failed")
        return None
    if report.sent or report.failed:
        logger.info("notify: %d sent, %d failed (kept for the next run)",
                    len(report.sent), len(report.failed))
    return report
