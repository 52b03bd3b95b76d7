"""The feed commands: `presswatch publish`, `presswatch serve`, `presswatch reclassify`.

presswatch/cli/main.py registers them; their shared options come from
presswatch/cli/options.py, the one definition of each.
"""

from __future__ import annotations

from pathlib import Path

import click
import sqlite_utils
from tabulate import tabulate

from presswatch.archive.db import open_archive
from presswatch.archive.search import distinct_values
from presswatch.cli.options import (
    base_url_option,
    config_errors,
    db_option,
    load,
    public_option,
    require_archive,
    sources_option,
    topics_option,
)
from presswatch.config.sources import KINDS

__all__ = ["publish", "reclassify", "serve"]


@click.command()
@db_option
@topics_option
@sources_option
@public_option
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="Entries per feed (the newest).")
@base_url_option
@click.option("--force", is_flag=True,
              help="Publish even an archive without items, or one that would remove more than half of "
                   "the feeds already in the public directory.")
@config_errors
def publish(db_path: Path, topics_path: Path, sources_path: Path, public_dir: Path, limit: int,
            base_url: str, force: bool) -> None:
    """Write the RSS and Atom feeds, OPML lists and index page into the public directory.

    One feed per topic (topics.toml), source, country and kind, and one of
    everything. Only files whose content changed are rewritten; the command
    lists them. Reclassifies the archive first if topics.toml changed.

    \b
    Example:
        presswatch publish --public public --base-url https://feeds.example.org/
    """
    from feeds.publish import publish_feeds
    from presswatch.config.topics import load_topics

    if not base_url.lower().startswith(("http://", "https://")):
        raise click.BadParameter(f"{base_url!r} is not an http(s) URL", param_hint="--base-url")
    load_topics(topics_path)  # a mistake in topics.toml first, in one line
    require_archive(db_path)
    if not force:
        refuse_to_empty(db_path, public_dir, topics_path, sources_path)
    report = publish_feeds(db_path, public_dir, topics_path, limit, base_url=base_url,
                           sources_path=sources_path)
    if report.reclassified is not None:
        total = sum(report.reclassified.values())
        click.echo(f"{topics_path} changed: reclassified the archive ({total} topic assignments).")
    for line in report.lines():
        click.echo(line)
    # The monitor's own feed: source health changes and withdrawn releases.
    from feeds.health import write_health_feed

    db = open_archive(db_path)
    try:
        write_health_feed(db, public_dir, base_url)
    finally:
        db.close()


def published_feeds(public_dir: Path) -> set[str]:
    """The feeds in ``public_dir`` ("topics/remittances", ...), as publish writes and removes them."""
    from feeds.publish import FEED_DIRS, FEED_SUFFIXES

    return {f"{folder}/{path.stem}" for folder in FEED_DIRS if (public_dir / folder).is_dir()
            for path in (public_dir / folder).iterdir() if path.is_file() and path.suffix in FEED_SUFFIXES}


def feeds_the_archive_makes(db: sqlite_utils.Database, topic_ids: list[str],
                            source_ids: list[str]) -> set[str]:
    """The feeds a publish of ``db`` keeps: the configured topics and sources, and the sources,
    countries and kinds of its active items (as feeds/collect.py chooses them, cheaply)."""
    sources = set(source_ids) | set(distinct_values(db, "items", "source", "status = 'active'"))
    countries = {code.lower() for code in distinct_values(db, "item_countries", "country")}
    kinds = set(KINDS) | set(distinct_values(db, "items", "kind", "status = 'active'"))
    return ({f"topics/{topic}" for topic in topic_ids} | {f"sources/{source}" for source in sources}
            | {f"countries/{code}" for code in countries} | {f"kinds/{kind}" for kind in kinds})


def refuse_to_empty(db_path: Path, public_dir: Path, topics_path: Path, sources_path: Path) -> None:
    """A publish must not empty what subscribers read (a mistyped or wrong --db): refuse an archive
    without items over a public directory with feeds, and one that would remove more than half of them."""
    from presswatch.config.topics import load_topics

    existing = published_feeds(public_dir)
    if not existing:
        return
    topic_ids = list(load_topics(topics_path).ids)
    source_ids = [source.id for source in load(sources_path)] if sources_path.exists() else []
    db = open_archive(db_path)
    try:
        has_items = db.execute("SELECT EXISTS (SELECT 1 FROM items WHERE status = 'active')").fetchone()[0]
        removed = existing - feeds_the_archive_makes(db, topic_ids, source_ids)
    finally:
        db.close()
    if not has_items:
        raise click.ClickException(f"{db_path} has no items: publishing it would empty the {len(existing)} "
                                   f"feeds of {public_dir}/ (a mistyped --db?); --force to publish anyway")
    if len(removed) * 2 > len(existing):
        raise click.ClickException(f"publishing {db_path} would remove {len(removed)} of the {len(existing)} "
                                   f"feeds of {public_dir}/ (a wrong --db?); --force to publish anyway")


@click.command()
@public_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (only change it to share the feeds on a network).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port (0: any free port).")
@db_option
@topics_option
@sources_option
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="Entries per combination feed.")
@config_errors
def serve(public_dir: Path, host: str, port: int, db_path: Path, topics_path: Path, sources_path: Path,
          limit: int) -> None:
    """Serve the public directory (feeds, OPML, index page) over HTTP.

    Serves only files inside the directory, with their Content-Type, ETag and
    Last-Modified, and answers conditional requests with 304 Not Modified.
    With an archive (--db) it also answers feeds by combination, made on request:
    /feed.atom?topic=...&country=...&source=...&kind=...&q=... (and /feed.rss),
    every parameter optional (docs/feeds.md).

    \b
    Example:
        presswatch publish && presswatch serve --port 8000
        curl 'http://127.0.0.1:8000/feed.atom?topic=remittances&country=MD'
    """
    from feeds.combined import CombinedFeeds
    from feeds.publish import source_names_from
    from feeds.serve import PublicServer
    from presswatch.config.topics import load_topics

    if not public_dir.is_dir():
        raise click.ClickException(f"{public_dir}: no such directory (run `presswatch publish` first)")
    combined = None
    if db_path.exists():
        load_topics(topics_path)  # a mistake in topics.toml stops here, with its one-line error
        combined = CombinedFeeds(db_path, topics_path, base_url="http://127.0.0.1/", limit=limit,
                                 source_names=source_names_from(sources_path))
    try:
        server = PublicServer(public_dir, host=host, port=port, log=lambda line: click.echo(line, err=True),
                              combined=combined)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if combined is not None:
        combined.base_url = server.url
        click.echo(f"Feeds by combination from {db_path}: {server.url}feed.atom?topic=...", err=True)
    else:
        click.echo(f"No archive at {db_path}: only the published files (no /feed.atom?...)", err=True)
    click.echo(f"Serving {public_dir} on {server.url} (Ctrl-C to stop)", err=True)
    server.serve_forever()  # until Ctrl-C
    click.echo("Stopped.", err=True)


@click.command()
@db_option
@topics_option
@config_errors
def reclassify(db_path: Path, topics_path: Path) -> None:
    """Sort the whole archive into the topics of topics.toml again.

    Checks topics.toml, then recomputes which items belong to which topics.
    `publish` and `crawl` do this by themselves when the file changed; run it
    to see how many items each topic collects after editing the file.

    \b
    Example:
        presswatch reclassify --topics topics.toml --db data/presswatch.db
    """
    from pipelines.topics import Classifier, reclassify_all
    from presswatch.config.topics import load_topics

    topics = load_topics(topics_path)
    require_archive(db_path)
    db = open_archive(db_path)
    try:
        counts = reclassify_all(db, Classifier(topics))
        total = db["items"].count
    finally:
        db.close()
    rows = [[topic.id, topic.title, counts[topic.id]] for topic in topics]
    click.echo(tabulate(rows, headers=["topic", "title", "items"]))
    click.echo(f"\n{len(topics)} topics over {total} items in {db_path}.")
