"""The feed commands: `presswatch publish`, `presswatch serve`, `presswatch reclassify`.

presswatch/cli.py registers them on its `main` group (at its end). This module
uses presswatch.cli.main's shared options, so import presswatch.cli.main first (the
`presswatch` entry point does); `topics_option` also lives in presswatch.cli.options,
which imports nothing of presswatch.cli.main.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from tabulate import tabulate

from presswatch.cli.options import (
    base_url_option,
    config_errors,
    db_option,
    public_option,
    sources_option,
    topics_option,
)

__all__ = ["publish", "reclassify", "serve"]


@click.command()
@db_option
@topics_option
@sources_option
@public_option
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True,
              help="Entries per feed (the newest).")
@base_url_option
@config_errors
def publish(db_path: Path, topics_path: Path, sources_path: Path, public_dir: Path, limit: int,
            base_url: str) -> None:
    """Write the RSS and Atom feeds, OPML lists and index page into the public directory.

    One feed per topic (topics.toml), source, country and kind, and one of
    everything. Only files whose content changed are rewritten; the command
    lists them. Reclassifies the archive first if topics.toml changed.

    \b
    Example:
        presswatch publish --public public --base-url https://feeds.example.org/
    """
    from feeds.publish import publish_feeds

    if not base_url.lower().startswith(("http://", "https://")):
        raise click.BadParameter(f"{base_url!r} is not an http(s) URL", param_hint="--base-url")
    report = publish_feeds(db_path, public_dir, topics_path, limit, base_url=base_url,
                           sources_path=sources_path)
    if report.reclassified is not None:
        total = sum(report.reclassified.values())
        click.echo(f"{topics_path} changed: reclassified the archive ({total} topic assignments).")
    for line in report.lines():
        click.echo(line)
    # The monitor's own feed: source health changes and withdrawn releases.
    from feeds.health import write_health_feed
    from presswatch.archive.db import open_archive

    db = open_archive(db_path)
    try:
        write_health_feed(db, public_dir, base_url)
    finally:
        db.close()


@click.command()
@public_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (only change it to share the feeds on a network).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port (0: any free port).")
def serve(public_dir: Path, host: str, port: int) -> None:
    """Serve the public directory (feeds, OPML, index page) over HTTP.

    Serves only files inside the directory, with their Content-Type, ETag and
    Last-Modified, and answers conditional requests with 304 Not Modified.

    \b
    Example:
        presswatch publish && presswatch serve --port 8000
    """
    from feeds.serve import PublicServer

    if not public_dir.is_dir():
        raise click.ClickException(f"{public_dir}: no such directory (run `presswatch publish` first)")
    try:
        server = PublicServer(public_dir, host=host, port=port, log=lambda line: click.echo(line, err=True))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    click.echo(f"Serving {public_dir} on {server.url} (Ctrl-C to stop)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.", err=True)
        sys.exit(0)


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
    from presswatch.archive.db import open_archive
    from presswatch.config.topics import load_topics

    topics = load_topics(topics_path)
    db = open_archive(db_path)
    try:
        counts = reclassify_all(db, Classifier(topics))
        total = db["items"].count
    finally:
        db.close()
    rows = [[topic.id, topic.title, counts[topic.id]] for topic in topics]
    click.echo(tabulate(rows, headers=["topic", "title", "items"]))
    click.echo(f"\n{len(topics)} topics over {total} items in {db_path}.")
