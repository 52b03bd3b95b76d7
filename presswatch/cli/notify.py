"""The `presswatch notify` command: send the digests and alerts that are due (feeds/notify.py)."""

from __future__ import annotations

from pathlib import Path

import click

from feeds.notify import NotifyBusy, run_notify
from feeds.publish import source_names_from
from presswatch.cli.options import (
    config_errors,
    db_option,
    require_archive,
    sources_option,
    subscriptions_option,
    topics_option,
)
from presswatch.config.subscriptions import SubscriptionList, load_subscriptions
from presswatch.config.topics import load_topics


def load_checked(subscriptions_path: Path, topics_path: Path | None,
                 sources_path: Path | None) -> SubscriptionList:
    """subscriptions.toml, its topics and sources checked against topics.toml and sources.toml."""
    subscriptions = load_subscriptions(subscriptions_path)
    topics = set(load_topics(topics_path).ids) if topics_path and Path(topics_path).exists() else None
    names = source_names_from(sources_path)
    subscriptions.check_names(topics=topics, sources=set(names) if names else None)
    return subscriptions


@click.command()
@db_option
@subscriptions_option(Path("subscriptions.toml"))
@topics_option
@sources_option
@click.option("--dry-run", is_flag=True, help="Print the digests and alerts that are due instead of "
              "sending them; nothing is recorded.")
@config_errors
def notify(db_path: Path, subscriptions_path: Path, topics_path: Path, sources_path: Path,
           dry_run: bool) -> None:
    """Send the digests and source-health alerts that are due, by email and to chat (Apprise).

    One digest per subscription and target, with the items archived since its
    last one (a new subscription's first covers its last period), one entry
    per story, newest first. Each is recorded in the archive before it is sent
    and marked sent after: a second run sends nothing new, a target that fails
    keeps its digest for the next run (listed by `presswatch status`). The SMTP
    login comes from PRESSWATCH_SMTP_USER and PRESSWATCH_SMTP_PASSWORD.
    docs/notifications.md has the details. Exits 1 when a target failed.

    \b
    Example:
        presswatch notify --subscriptions subscriptions.toml --dry-run
        presswatch notify --db data/presswatch.db
    """
    subscriptions = load_checked(subscriptions_path, topics_path, sources_path)
    require_archive(db_path)
    try:
        report = run_notify(db_path, subscriptions, dry_run=dry_run,
                            source_names=source_names_from(sources_path))
    except NotifyBusy as exc:
        raise click.ClickException(str(exc)) from None
    if dry_run:
        for text in report.previews:
            click.echo(text.rstrip("\n") + "\n")
        click.echo(f"{len(report.previews)} message(s) due (dry run: nothing sent or recorded).")
        return
    for line in report.sent:
        click.echo(f"sent: {line}")
    for line in report.failed:
        click.echo(f"failed: {line}", err=True)
    click.echo(f"{len(report.sent)} sent, {len(report.failed)} failed.")
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} message(s) not sent: kept in the outbox, "
                                   "the next run tries again")
