"""Click options of the feed commands, kept apart from presswatch.cli so that module can
import them at any point (``from feeds.options import topics_option``) without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from feeds.topics import default_topics


def topics_option(command: Callable) -> Callable:
    """--topics FILE (env PRESSWATCH_TOPICS, default topics.toml)."""
    return click.option(
        "--topics", "topics_path", type=click.Path(dir_okay=False, path_type=Path),
        default=default_topics, envvar="PRESSWATCH_TOPICS", show_default="topics.toml",
        help="The topic list (env PRESSWATCH_TOPICS).",
    )(command)


def public_option(command: Callable) -> Callable:
    """--public DIR (env PRESSWATCH_PUBLIC, default public)."""
    return click.option(
        "--public", "public_dir", type=click.Path(file_okay=False, path_type=Path),
        default=Path("public"), envvar="PRESSWATCH_PUBLIC", show_default=True,
        help="The directory the feeds are published in (env PRESSWATCH_PUBLIC).",
    )(command)
