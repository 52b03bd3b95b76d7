"""The crawl commands: `crawl`, `demo`, `sample-sites`, `sources` and `diff`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import sqlite_utils
from tabulate import tabulate

from presswatch.archive.db import open_archive
from presswatch.archive.documents import changed_documents, diff_document_versions, document_versions
from presswatch.archive.items import find_item
from presswatch.archive.outcomes import UNSUCCESSFUL_RUNS, RunStatus
from presswatch.archive.versions import diff_versions, item_versions
from presswatch.cli.options import (
    COMMAND,
    base_url_option,
    config_errors,
    db_option,
    existing_db_option,
    load,
    mirror_option,
    open_or_empty,
    public_option,
    redis_option,
    sources_option,
    topics_option,
    warn_unless_reachable,
)
from presswatch.cli.trying import add_source


@click.command()
@click.argument("source_ids", nargs=-1, metavar="[SOURCE]...")
@db_option
@sources_option
@topics_option
@mirror_option
@click.option("--full", is_flag=True, help="Re-walk every listing page and item (for backfills).")
@click.option("--workers", type=click.IntRange(0, 64), default=None,
              help="Extraction processes (default: one per core; 0: in this process).")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the crawl log to this file instead of stderr.")
@click.option("--timeout", type=click.FloatRange(min=1), default=None,
              help="Stop the crawl after this many seconds (status timed_out).")
@click.option("--set", "overrides", multiple=True, metavar="NAME=VALUE",
              help="Override a Scrapy setting, e.g. --set DOWNLOAD_TIMEOUT=10 (repeatable).")
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's own log lines too.")
@redis_option
@config_errors
def crawl(source_ids: tuple[str, ...], db_path: Path, sources_path: Path, topics_path: Path,
          mirror: str | None, full: bool,
          workers: int | None, log_file: Path | None, timeout: float | None, overrides: tuple[str, ...],
          verbose: bool, redis_url: str | None) -> None:
    """Crawl sources into the archive: all enabled ones, or those named.

    \b
    Examples:
        presswatch crawl                       # every enabled source
        presswatch crawl iom-press moldova     # just these two
        presswatch crawl --mirror http://127.0.0.1:8765   # the sample sites
        presswatch crawl --redis redis://redis.example.org:6379/0  # join a shared crawl
    """
    from crawler.run import crawl_settings, run_crawl
    from presswatch.archive.runs import last_run_id

    sources = load(sources_path)
    selected = sources.select(source_ids)
    if not selected:
        raise click.ClickException(f"{sources_path}: no enabled source to crawl")
    if redis_url:
        crawl_shared(selected, redis_url, sources_path=sources_path, topics_path=topics_path, mirror=mirror,
                     full=full, workers=workers, log_file=log_file, timeout=timeout, overrides=overrides,
                     verbose=verbose)
        return
    if mirror:
        warn_unless_reachable(mirror)
    db = open_archive(db_path)
    before = last_run_id(db)
    db.close()
    click.echo(f"Crawling {len(selected)} source(s) into {db_path}: {', '.join(s.id for s in selected)}",
               err=True)
    settings = crawl_settings(db=db_path, sources_path=sources_path, topics_path=topics_path, mirror=mirror,
                              full=full, workers=workers, log_file=log_file, timeout=timeout)
    apply_overrides(settings, overrides)
    not_started = run_crawl(selected, settings, verbose=verbose)
    failed = print_crawl_summary(db_path, before, suggest_publish=True)
    refuse_not_started(not_started, len(selected))
    if failed and len(failed) == len(selected):
        sys.exit(1)


def refuse_not_started(not_started: list[str], selected: int) -> None:
    """An invalid --set value, a config the crawl could not load...: never a silent exit 0."""
    if not_started:
        more = f" (and {len(not_started) - 1} more)" if len(not_started) > 1 else ""
        raise click.ClickException(f"{len(not_started)} of {selected} crawler(s) did not start: "
                                   f"{not_started[0]}{more}")


def apply_overrides(settings: Any, overrides: tuple[str, ...]) -> None:
    """Apply the --set NAME=VALUE options."""
    for override in overrides:
        name, equals, value = override.partition("=")
        if not equals or not name.isupper():
            raise click.BadParameter(f"{override!r} is not NAME=VALUE", param_hint="--set")
        check_setting_type(name, value, settings.get(name))
        settings.set(name, value, priority="cmdline")


def crawl_shared(selected: list[Any], redis_url: str, *, overrides: tuple[str, ...], verbose: bool,
                 **options: Any) -> None:
    """`crawl --redis`: this process joins the shared crawl; items go to the stream, not to --db."""
    from crawler.distributed import shared_crawl_settings
    from crawler.run import crawl_settings, run_crawl
    from pipelines.stream import connect

    try:
        connect(redis_url).close()
    except Exception as exc:
        raise click.ClickException(f"cannot reach Redis at {redis_url}: {exc}") from None
    click.echo(f"Joining the shared crawl on {redis_url} for {len(selected)} source(s): "
               f"{', '.join(s.id for s in selected)}", err=True)
    # No archive here (shared_crawl_settings empties PRESSWATCH_DB): the writer (`presswatch store`) has it.
    settings = shared_crawl_settings(crawl_settings(db=Path("unused.db"), **options), redis_url)
    apply_overrides(settings, overrides)
    refuse_not_started(run_crawl(selected, settings, verbose=verbose), len(selected))
    click.echo("Done: the frontier is empty and no crawl process is busy.", err=True)


def check_setting_type(name: str, value: str, current: object) -> None:
    """A --set value must read as the type of the setting's current value (Scrapy would only fail
    later, inside the crawler, with an error that names neither)."""
    if isinstance(current, bool):
        if value.strip().lower() not in ("true", "false", "1", "0"):
            raise click.BadParameter(f"{name}={value}: {name} must be true or false", param_hint="--set")
    elif isinstance(current, int | float):
        try:
            float(value)
        except ValueError:
            raise click.BadParameter(f"{name}={value}: {name} must be a number", param_hint="--set") from None


def problems_verdict(stopped: list[str], runs: int) -> str:
    """What the problems did to the crawl, as the runs' statuses say (never "none stopped the
    crawl" next to a failed or interrupted run)."""
    if not stopped:
        return "none stopped the crawl."
    if len(stopped) == runs:
        return "the crawl did not complete (see the status of each source)."
    return f"{len(stopped)} of {runs} source(s) did not complete: {', '.join(stopped)}."


def judge_health(db: sqlite_utils.Database, sources: list[str]) -> None:
    """Judge the health of each source whose newest finished run has no verdict yet, as the
    scheduler does after each run: so `status` knows after a `crawl` or `demo`, not only under
    `schedule` (whose own verdict, right after its run, comes first and is not repeated)."""
    from presswatch.archive.health import check_source, current_state

    for source in sources:
        row = db.execute("SELECT max(id) FROM crawl_runs WHERE source = ? AND status != 'running'",
                         [source]).fetchone()
        state = current_state(db, source)
        if row[0] is not None and (state is None or (state["run_id"] or 0) < row[0]):
            check_source(db, source, datetime.now(UTC))


def print_crawl_summary(db_path: Path, before: int, *, suggest_publish: bool = False) -> list[str]:
    """Print the runs recorded after run id ``before``; return the sources whose run failed."""
    from presswatch.archive.runs import problems_of, runs_since

    db = open_archive(db_path)
    runs = runs_since(db, before)
    rows = [
        [run["source"], run["status"], run["pages_fetched"], run["items_new"], run["items_updated"],
         run["items_unchanged"], run["items_duplicate"], run["http_errors"], run["no_date"]]
        for run in runs
    ]
    click.echo(tabulate(rows, headers=["source", "status", "pages", "new", "updated", "unchanged",
                                       "duplicates", "http errors", "undated"]))
    totals = {key: sum(run[key] for run in runs) for key in
              ("pages_fetched", "items_new", "items_updated", "items_duplicate")}
    click.echo(
        f"\n{len(runs)} source(s): {totals['pages_fetched']} pages fetched, {totals['items_new']} new, "
        f"{totals['items_updated']} updated, {totals['items_duplicate']} duplicate copies recorded; "
        f"{db['items'].count} items in the archive."
    )
    problems = problems_of(db, [run["id"] for run in runs])
    stopped = [run["source"] for run in runs if run["status"] in UNSUCCESSFUL_RUNS]
    if problems:
        click.echo(f"\nProblems ({len(problems)}): " + problems_verdict(stopped, len(runs)))
        for problem in problems:
            click.echo(f"  {problem['source']}: {problem['problem']}: {problem['url']} ({problem['detail']})")
    failed = [run["source"] for run in runs if run["status"] in UNSUCCESSFUL_RUNS]
    for run in runs:
        if run["status"] != RunStatus.OK:
            click.echo(f"  {run['source']}: {run['status']}: {run['reason']}", err=True)
    changed = totals["items_new"] + totals["items_updated"]
    if suggest_publish and changed:
        click.echo(f"\nNext, to update the feeds: {COMMAND} publish --db {db_path}")
    db.close()
    return failed


@click.group(name="sources", invoke_without_command=True)
@db_option
@sources_option
@click.pass_context
@config_errors
def sources_command(ctx: click.Context, db_path: Path, sources_path: Path) -> None:
    """List the configured sources with their last run and item count; `sources add URL` prints a
    new source's entry.

    \b
    Example:
        presswatch sources --db data/presswatch.db
        presswatch sources add https://moldova.iom.int/news
    """
    from presswatch.archive.runs import source_overview

    if ctx.invoked_subcommand is not None:
        return

    sources = load(sources_path)
    db = open_or_empty(db_path)
    rows = source_overview(db, sources)
    db.close()
    click.echo(tabulate(rows, headers="keys"))


sources_command.add_command(add_source)


@click.command()
@click.argument("ref", metavar="ID")
@existing_db_option
@click.option("--from", "from_version", type=click.IntRange(min=1), default=None,
              help="Older version number (default: the one before --to).")
@click.option("--to", "to_version", type=click.IntRange(min=1), default=None,
              help="Newer version number (default: the current version).")
@config_errors
def diff(ref: str, db_path: Path, from_version: int | None, to_version: int | None) -> None:
    """Show what changed between two versions of an item.

    ID is the item's id, its uid, its URL, or the URL of a copy that was folded
    into it (as for `presswatch show`).

    The item's documents (PDFs) that changed follow: their last two versions.

    \b
    Example:
        presswatch diff https://www.iom.int/news/some-release
        presswatch diff 42 --from 1 --to 3
    """
    db = open_archive(db_path)
    item = find_item(db, ref)
    if item is None:
        raise click.ClickException(f"no item {ref!r} in {db_path}")
    versions = item_versions(db, item)
    if len(versions) == 1:
        click.echo(f"{item['title']}: one version only (fetched {item['fetched']}), nothing to compare.")
    else:
        newest = to_version or len(versions)
        oldest = from_version or newest - 1
        if not (1 <= oldest < newest <= len(versions)):
            raise click.ClickException(f"versions go from 1 to {len(versions)}; --from must be below --to")
        click.echo(diff_versions(versions[oldest - 1], versions[newest - 1]), nl=False)
    for document_id in changed_documents(db, item["id"]):
        texts = document_versions(db, document_id)
        click.echo(diff_document_versions(texts[-2], texts[-1]), nl=False)


@click.command(name="sample-sites")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--edition", type=click.Choice(["1", "2"]), default="1", show_default=True,
              help="2: one release added, one edited, one removed (changes.toml). "
                   "Switch a running server with POST /_edition/N.")
def sample_sites(port: int, edition: str) -> None:
    """Serve the bundled sample sites (an offline replica of the IOM sites) on 127.0.0.1.

    Requests are routed by their Host header; `presswatch crawl --mirror
    http://127.0.0.1:PORT` fetches every source from here. Each answered request
    is logged. `curl -X POST http://127.0.0.1:PORT/_edition/2` switches a
    running server to edition 2 (a release added, one edited, one removed).

    \b
    Example:
        presswatch sample-sites --port 8765
    """
    from presswatch.sample_sites.server import SampleSiteServer

    server = SampleSiteServer(port=port, log=lambda line: click.echo(line, err=True))
    server.set_edition(int(edition))
    click.echo(f"Serving edition {edition} of the sample sites on {server.url} (Ctrl-C to stop)", err=True)
    for host in sorted(server.hosts):
        click.echo(f"  {host}", err=True)
    server.serve_forever()


@click.command()
@db_option
@sources_option
@topics_option
@public_option
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="Port for the sample sites (default: any free port).")
@base_url_option
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's own log lines too.")
@config_errors
def demo(db_path: Path, sources_path: Path, topics_path: Path, public_dir: Path, port: int, base_url: str,
         verbose: bool) -> None:
    """Serve the sample sites, crawl every source from them, publish the feeds, and report.

    \b
    Example:
        presswatch demo --db data/presswatch.db --public public
        presswatch serve --public public      # then subscribe to http://127.0.0.1:8000/feeds.opml
    """
    from crawler.run import crawl_settings, run_crawl
    from feeds.health import write_health_feed
    from feeds.publish import publish_feeds
    from presswatch.archive.runs import last_run_id
    from presswatch.config.topics import load_topics
    from presswatch.sample_sites.server import SampleSiteServer

    sources = load(sources_path)
    load_topics(topics_path)  # a bad topics.toml stops the demo before it crawls
    selected = sources.enabled()
    server = SampleSiteServer(port=port).start()
    click.echo(f"Sample sites on {server.url}; crawling {len(selected)} sources into {db_path}", err=True)
    db = open_archive(db_path)
    before = last_run_id(db)
    db.close()
    settings = crawl_settings(db=db_path, sources_path=sources_path, topics_path=topics_path,
                              mirror=server.url)
    try:
        run_crawl(selected, settings, verbose=verbose)
    finally:
        server.stop()
    click.echo(f"\nThe sample server answered {len(server.requests)} requests.")
    db = open_archive(db_path)
    judge_health(db, [source.id for source in selected])
    db.close()
    print_crawl_summary(db_path, before)
    report = publish_feeds(db_path, public_dir, topics_path, base_url=base_url, sources_path=sources_path)
    db = open_archive(db_path)
    write_health_feed(db, public_dir, base_url)
    db.close()
    click.echo(f"\nFeeds in {public_dir}/: {len(report.written)} written, {len(report.unchanged)} unchanged.")
    base, serve = base_url.rstrip("/"), serve_command(public_dir, db_path, base_url)
    click.echo(
        f"Subscribe: run `{serve}`, then import {base}/feeds.opml in a\n"
        f"feed reader (every feed at once), or pick one: {base}/topics/remittances.atom, {base}/all.atom,\n"
        f"{base}/countries/md.rss ... The list with the latest items: {base}/index.html"
    )
    click.echo(
        f"\nSearch it:  {COMMAND} search remittances --db {db_path}\n"
        f"Browse it:  {COMMAND} browse --db {db_path}\n"
        f"Health:     {COMMAND} status --db {db_path}\n"
        f"SQL:        sqlite3 {db_path} 'select title, published from items order by published_utc desc'"
    )


def serve_command(public_dir: Path, db_path: Path, base_url: str) -> str:
    """The `serve` command that serves ``public_dir`` at ``base_url`` (its port when local)."""
    parts = urlsplit(base_url)
    port = f" --port {parts.port}" if parts.hostname in ("127.0.0.1", "localhost") and parts.port else ""
    return f"{COMMAND} serve --public {public_dir} --db {db_path}{port}"
