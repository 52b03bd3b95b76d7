"""The `presswatch` command line.

Every command takes --db (the archive, env PRESSWATCH_DB) and, where it needs
the source list, --sources (env PRESSWATCH_SOURCES).
"""

from __future__ import annotations

import os
import sys

import click

from presswatch.cli.crawl import crawl, demo, diff, sample_sites, sources_command
from presswatch.cli.feeds import publish, reclassify, serve
from presswatch.cli.notify import notify
from presswatch.cli.query import browse, search, show, stats
from presswatch.cli.schedule import schedule, status
from presswatch.cli.store import store
from presswatch.cli.stories import stories
from presswatch.cli.topics import topics_group
from presswatch.cli.trying import try_source


@click.group()
@click.version_option(package_name="presswatch")
def main() -> None:
    """presswatch: crawl IOM press releases and publications into a searchable SQLite archive.

    \b
    Example, on the bundled sample sites (no internet needed):
        presswatch demo
    """


for command in (crawl, sources_command, diff, sample_sites, demo, publish, serve, reclassify, search, show,
                stats, browse, schedule, status, stories, store):
    main.add_command(command)
main.add_command(notify)
main.add_command(topics_group)
main.add_command(try_source)


if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]))
