"""`presswatch stories`: the archive's stories, their threshold, and recomputing them.

presswatch/cli/main.py registers the command. What a story is: pipelines/story_index.py (write
side) and presswatch/archive/stories.py (read side).
"""

from __future__ import annotations

from pathlib import Path

import click
from tabulate import tabulate

from pipelines import neardup
from pipelines.story_index import StoryIndex
from presswatch.archive import stories as archive_stories
from presswatch.archive.db import open_archive, write_transaction
from presswatch.cli.options import config_errors, existing_db_option, load, sources_option


@click.command()
@existing_db_option
@sources_option
@click.option("--rebuild", is_flag=True,
              help="Recompute every fingerprint, link and story from the archived items (after an "
                   "upgrade, or when sources.toml's order changed).")
@click.option("--threshold", "new_threshold", type=click.FloatRange(0.05, 1.0), metavar="S",
              help="Set the near-duplicate threshold (estimated Jaccard similarity of the bodies' word "
                   "shingles, default 0.4) and rebuild.")
@click.option("--list", "list_stories", is_flag=True, help="List the stories of more than one item.")
@config_errors
def stories(db_path: Path, sources_path: Path, rebuild: bool, new_threshold: float | None,
            list_stories: bool) -> None:
    """Stories: an item with its near-duplicate copies on other sites and its language versions.

    Without options, counts them. Feeds carry one entry per story; `presswatch
    show ID` lists an item's story.

    \b
    Examples:
        presswatch stories
        presswatch stories --list
        presswatch stories --rebuild
        presswatch stories --threshold 0.5
    """
    db = open_archive(db_path)
    try:
        if new_threshold is not None:
            with write_transaction(db):
                archive_stories.set_threshold(db, new_threshold)
            rebuild = True
        index = StoryIndex(db, load(sources_path).rank)
        if rebuild:
            def progress(done: int, total: int) -> None:
                click.echo(f"  {done:,} of {total:,} items fingerprinted", err=True)

            index.rebuild(progress)
        counts = archive_stories.counts(db)
        current = archive_stories.threshold(db, neardup.THRESHOLD)
        click.echo(
            f"{counts['items']:,} items in {counts['stories']:,} stories; {counts['shared']:,} stories of "
            f"several items ({counts['near_duplicate']:,} near-duplicate links, "
            f"{counts['translation']:,} translation links); threshold {current:g}."
        )
        if counts["unindexed"]:
            click.echo(f"{counts['unindexed']:,} items have no fingerprint yet (archived before stories "
                       "existed): run `presswatch stories --rebuild` to match them.")
        if list_stories:
            rows = db.execute(
                "SELECT s.id, s.members, i.published, i.source, i.title FROM stories s "
                "JOIN items i ON i.id = s.canonical_item_id WHERE s.members > 1 "
                "ORDER BY coalesce(i.published_utc, i.first_seen) DESC, i.url").fetchall()
            table = [[row[0], row[1], (row[2] or "undated")[:10], row[3], row[4]] for row in rows]
            click.echo(tabulate(table, headers=["story", "items", "published", "source", "canonical item"],
                                maxcolwidths=[None, None, None, None, 70]))
    finally:
        db.close()
