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
from presswatch.archive.db import open_archive
from presswatch.cli.options import (
    base_url_option,
    config_errors,
    db_option,
    load,
    public_option,
    redis_option,
    sources_option,
    topics_option,
)
from presswatch.config.files import parse_duration
from presswatch.config.sources import SourceList


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
@click.option("--mirror", metavar="URL", help="Crawl every site from this mirror (the sample sites), "
              "e.g. http://127.0.0.1:8765.")
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
@redis_option
@config_errors
def schedule(db_path: Path, sources_path: Path, public_dir: Path, topics_path: Path, no_publish: bool,
             base_url: str, mirror: str | None, max_crawls: int, crawl_timeout: float, grace: float,
             publish_every: timedelta, log_dir: Path, keep_logs: int, crawl_workers: int | None,
             crawl_command: str | None, redis_url: str | None) -> None:
    """Crawl every enabled source on its schedule, publish the feeds and watch each source's health.

    Runs in the foreground until SIGTERM or Ctrl-C (a second one stops running
    crawls at once). Each crawl runs in its own process, at most --max-crawls
    at once, never two of one source. A source overdue at start (its last
    successful run is older than its interval) runs at once. After every run
    that archived something the feeds are published; a change of a source's
    health goes to PUBLIC/health.atom. Logs to stdout and LOG_DIR/scheduler.log.
    docs/scheduler.md has a systemd unit.

    \b
    Example:
        presswatch schedule --db data/presswatch.db --public public --log-dir logs
        presswatch schedule --mirror http://127.0.0.1:8765   # on the sample sites
        presswatch schedule --redis redis://10.0.0.5:6379/0  # crawls join the shared crawl
    """
    options: dict[str, Any] = {"crawl_command": crawl_command} if crawl_command else {}
    config = scheduler.SchedulerConfig(
        db_path=db_path, sources_path=sources_path, topics_path=None if no_publish else topics_path,
        public_dir=public_dir, log_dir=log_dir, mirror=mirror, base_url=base_url, max_crawls=max_crawls,
        crawl_timeout=crawl_timeout, grace=grace, publish_every=publish_every, keep_logs=keep_logs,
        crawl_workers=crawl_workers, redis_url=redis_url, **options,
    )
    runner = scheduler.Scheduler(config)  # ConfigError: one line, exit 1
    scheduler.setup_logging(log_dir)
    try:
        runner.run_forever()
    except scheduler.SchedulerError as exc:
        raise click.ClickException(str(exc)) from None


def status_rows(db: Any, sources: SourceList) -> list[dict[str, Any]]:
    """One row per configured source: last run, last new item, health state and why."""
    from presswatch.archive import health

    last_runs = {
        row["source"]: row
        for row in db.query(
            "SELECT source, started, status, reason FROM crawl_runs "
            "WHERE id IN (SELECT MAX(id) FROM crawl_runs GROUP BY source)"
        )
    }
    last_new = {row["source"]: row["last_new"]
                for row in db.query("SELECT source, MAX(first_seen) AS last_new FROM items GROUP BY source")}
    states = health.states(db)
    rows = []
    for source in sources:
        run = last_runs.get(source.id)
        state = states.get(source.id)
        why = state["reason"] if state and state["reason"] else None
        if why is None and run and run["status"] not in ("ok", "running") and run["reason"]:
            why = f"last run: {run['reason']}"
        rows.append({
            "source": source.id,
            "schedule": source.schedule.describe() if source.enabled else "disabled",
            "last run": f"{run['started']} {run['status']}" if run else "never",
            "last new item": last_new.get(source.id) or "-",
            "state": state["state"] if state else health.UNKNOWN,
            "since": state["since"] if state else "-",
            "why": why or "",
        })
    return rows


@click.command()
@db_option
@sources_option
@config_errors
def status(db_path: Path, sources_path: Path) -> None:
    """Show every source's last run, last new item and health (ok, degraded and why).

    Health is judged by `presswatch schedule` after each run and stored in the
    archive (table source_health); `unknown` means not judged yet. Exits 0
    whatever the states.

    \b
    Example:
        presswatch status --db data/presswatch.db
    """
    sources = load(sources_path)
    db = open_archive(db_path)
    try:
        rows = status_rows(db, sources)
    finally:
        db.close()
    click.echo(tabulate(rows, headers="keys"))
    degraded = [row["source"] for row in rows if row["state"] == "degraded"]
    if degraded:
        click.echo(f"\n{len(degraded)} degraded: {', '.join(degraded)}")
