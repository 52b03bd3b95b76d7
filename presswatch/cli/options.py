"""The click options and error handling every command shares: one definition each."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from presswatch.archive.db import DEFAULT_DB
from presswatch.config.files import ConfigError
from presswatch.config.paths import default_sources, default_topics
from presswatch.config.sources import SourceList, load_sources

DEFAULT_BASE_URL = "http://127.0.0.1:8000/"


def db_option(command: Callable) -> Callable:
    """--db FILE (env PRESSWATCH_DB, default data/presswatch.db)."""
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
        envvar="PRESSWATCH_DB", show_default=True, help="The SQLite archive (env PRESSWATCH_DB).",
    )(command)


def sources_option(command: Callable) -> Callable:
    """--sources FILE (env PRESSWATCH_SOURCES, default sources.toml)."""
    return click.option(
        "--sources", "sources_path", type=click.Path(dir_okay=False, path_type=Path),
        default=default_sources, envvar="PRESSWATCH_SOURCES", show_default="sources.toml",
        help="The source list (env PRESSWATCH_SOURCES).",
    )(command)


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


def base_url_option(command: Callable) -> Callable:
    """--base-url URL (env PRESSWATCH_BASE_URL): where public/ is served."""
    return click.option(
        "--base-url", default=DEFAULT_BASE_URL, envvar="PRESSWATCH_BASE_URL", show_default=True,
        help="Where the public directory is served (env PRESSWATCH_BASE_URL).",
    )(command)


def redis_option(command: Callable) -> Callable:
    """--redis URL (env PRESSWATCH_REDIS): the Redis of a shared crawl (docs/scale-out.md)."""
    return click.option(
        "--redis", "redis_url", metavar="URL", default=None, envvar="PRESSWATCH_REDIS",
        help="The Redis of the shared crawl, e.g. redis://10.0.0.5:6379/0 (env PRESSWATCH_REDIS; "
             "docs/scale-out.md).",
    )(command)


def config_errors(command: Callable) -> Callable:
    """Turn a ConfigError into click's one-line 'Error: ...' and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def load(sources_path: Path) -> SourceList:
    return load_sources(sources_path)
