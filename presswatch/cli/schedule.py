"""The `presswatch schedule` and `presswatch status` commands (registered at the end of cli.py).

`schedule` runs the scheduler (the top-level `scheduler` module) in the
foreground; `status` prints each source's last run, last new item and health.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

import scheduler
from presswatch.archive import outbox
from presswatch.archive.outcomes import HealthState
from presswatch.archive.runs import source_status
from presswatch.cli.crawl import judge_health
from presswatch.cli.options import (
    base_url_option,
    config_errors,
    db_option,
    load,
    mirror_option,
    open_or_empty,
    public_option,
    redis_option,
    sources_option,
    subscriptions_option,
    topics_option,
)
from presswatch.config.files import parse_duration


def _duration(ctx: click.Context, param: click.Parameter, value: Any) -> timedelta:
    try:
        duration = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if duration < timedelta(seconds=1):
        raise click.BadParameter("must be at least 1s")
    return duration


@click.command()
@db_option
@sources_option
@public_option
@topics_option
@click.option("--no-publish", is_flag=True, help="Do not publish the topic feeds (health.atom still is).")
@base_url_option
@mirror_option
@click.option("--max-crawls", type=click.IntRange(1, 64), default=2, show_default=True,
              envvar="PRESSWATCH_MAX_CRAWLS", help="Crawls running at once (env PRESSWATCH_MAX_CRAWLS).")
@click.option("--crawl-timeout", type=click.FloatRange(min=1), default=3600, show_default=True,
              help="Seconds a crawl may run; it then stops itself (status timed_out).")
@click.option("--grace", type=click.FloatRange(min=0), default=30, show_default=True,
              help="Seconds a crawl gets to stop after SIGTERM (at shutdown, or when past its timeout) "
                   "before SIGKILL.")
@click.option("--publish-every", default="1h", show_default=True, callback=_duration,
              help="Publish the feeds and re-check every source's health this often, crawls or not.")
@click.option("--log-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("logs"),
              envvar="PRESSWATCH_LOG_DIR", show_default=True,
              help="scheduler.log (rotated) and one log per crawl in LOG_DIR/SOURCE/ "
                   "(env PRESSWATCH_LOG_DIR).")
@click.option("--keep-logs", type=click.IntRange(0), default=200, show_default=True,
              help="Crawl logs kept per source (0: all).")
@click.option("--crawl-workers", type=click.IntRange(0, 64), default=None,
              help="Extraction processes per crawl (default: the crawl's own default).")
@click.option("--crawl-command", envvar="PRESSWATCH_CRAWL_COMMAND", hidden=True,
              help="The command a crawl runs (default: this Python's `-m presswatch crawl`).")
@subscriptions_option(None)
@redis_option
@config_errors
def schedule(db_path: Path, sources_path: Path, public_dir: Path, topics_path: Path, no_publish: bool,
             base_url: str, mirror: str | None, max_crawls: int, crawl_timeout: float, grace: float,
             publish_every: timedelta, log_dir: Path, keep_logs: int, crawl_workers: int | None,
             crawl_command: str | None, subscriptions_path: Path | None, redis_url: str | None) -> None:
    """Crawl every enabled source on its schedule, publish the feeds and watch each source's health.

    Runs in the foreground until SIGTERM or Ctrl-C (a second one stops running
    crawls at once). Each crawl runs in its own process, at most --max-crawls
    at once, never two of one source. A source overdue at start (its last
    successful run is older than its interval) runs at once. After every run
    that archived something the feeds are published; a change of a source's
    health goes to PUBLIC/health.atom. With --subscriptions, the digests and
    alerts that are due are sent after each publish (`presswatch notify`).
    Logs to stdout and LOG_DIR/scheduler.log. docs/scheduler.md has a systemd unit.

    \b
    Example:
        presswatch schedule --db data/presswatch.db --public public --log-dir logs
        presswatch schedule --mirror http://127.0.0.1:8765   # on the sample sites
        presswatch schedule --redis redis://redis.example.org:6379/0  # crawls join the shared crawl
    """
    options: dict[str, Any] = {"crawl_command": crawl_command} if crawl_command else {}
    config = scheduler.SchedulerConfig(
        db_path=db_path, sources_path=sources_path, topics_path=None if no_publish else topics_path,
        public_dir=public_dir, log_dir=log_dir, mirror=mirror, base_url=base_url, max_crawls=max_crawls,
        crawl_timeout=crawl_timeout, grace=grace, publish_every=publish_every, keep_logs=keep_logs,
        crawl_workers=crawl_workers, subscriptions_path=subscriptions_path, redis_url=redis_url, **options,
    )
    runner = scheduler.Scheduler(config)  # ConfigError: one line, exit 1
    scheduler.setup_logging(log_dir)
    try:
        runner.run_forever()
    except scheduler.SchedulerError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@db_option
@sources_option
@config_errors
def status(db_path: Path, sources_path: Path) -> None:
    """Show every source's last run, last new item and health (ok, degraded and why).

    Health is judged by `presswatch schedule` after each run, and here for runs
    of `crawl` or `demo` not judged yet; it is stored in the archive (table
    source_health); `unknown` means no run yet. Exits 0 whatever the states.

    \b
    Example:
        presswatch status --db data/presswatch.db
    """
    sources = load(sources_path)
    db = open_or_empty(db_path)
    try:
        judge_health(db, [source.id for source in sources])  # runs no scheduler judged (`crawl`, `demo`)
        rows = source_status(db, sources)
        failing = outbox.failing_targets(db)
    finally:
        db.close()
    click.echo(tabulate(rows, headers="keys"))
    degraded = [row["source"] for row in rows if row["state"] == HealthState.DEGRADED]
    if degraded:
        click.echo(f"\n{len(degraded)} degraded: {', '.join(degraded)}")
    if failing:
        # `presswatch notify` keeps what these did not take and tries again at its next run.
        click.echo(f"\n{len(failing)} notification target(s) failing:")
        click.echo(tabulate(failing, headers="keys"))
