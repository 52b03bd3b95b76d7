"""The click options and error handling every command shares: one definition each."""

from __future__ import annotations

import functools
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import sqlite_utils

from presswatch.archive.db import DEFAULT_DB, open_archive
from presswatch.config.files import ConfigError
from presswatch.config.paths import DEFAULT_BASE_URL, DEFAULT_PUBLIC, default_sources, default_topics
from presswatch.config.sources import SourceList, load_sources


def db_option(command: Callable) -> Callable:
    """--db FILE (env PRESSWATCH_DB, default data/presswatch.db)."""
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
        envvar="PRESSWATCH_DB", show_default=True, help="The SQLite archive (env PRESSWATCH_DB).",
    )(command)


# How the commands tell a user to run presswatch: the Makefile's venv, not a `presswatch` on PATH.
COMMAND = ".venv/bin/presswatch"


def no_archive_message(db_path: Path) -> str:
    return (f"{db_path}: no such archive (run `{COMMAND} crawl` or `{COMMAND} demo` first, "
            "or give --db / PRESSWATCH_DB)")


def archive_exists(db_path: Path) -> bool:
    return str(db_path) == ":memory:" or Path(db_path).is_file()


def require_archive(db_path: Path) -> None:
    """One line and exit 1 when there is no archive at ``db_path`` (for commands that check their
    config files first: a mistake there is reported before a missing archive)."""
    if not archive_exists(db_path):
        raise click.ClickException(no_archive_message(db_path))


def _existing_archive(_ctx: click.Context, _param: click.Parameter, value: Path) -> Path:
    require_archive(value)
    return value


def existing_db_option(command: Callable) -> Callable:
    """--db FILE that must exist: only `crawl`, `demo`, `schedule` and `store` create an archive, so a
    mistyped path is one line and exit 1, never a new empty archive (and emptied feeds)."""
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
        envvar="PRESSWATCH_DB", show_default=True, callback=_existing_archive,
        help="The SQLite archive, which must exist (env PRESSWATCH_DB).",
    )(command)


def open_or_empty(db_path: Path) -> sqlite_utils.Database:
    """The archive, or an empty one in memory when there is none yet (`sources`, `status`: they
    show the configuration all the same, and say so on stderr, without creating a file)."""
    if archive_exists(db_path):
        return open_archive(db_path)
    click.echo(f"No archive at {db_path} yet (run `{COMMAND} crawl` to make one).", err=True)
    return open_archive(":memory:")


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
        default=DEFAULT_PUBLIC, envvar="PRESSWATCH_PUBLIC", show_default=True,
        help="The directory the feeds are published in (env PRESSWATCH_PUBLIC).",
    )(command)


def base_url_option(command: Callable) -> Callable:
    """--base-url URL (env PRESSWATCH_BASE_URL): where public/ is served."""
    return click.option(
        "--base-url", default=DEFAULT_BASE_URL, envvar="PRESSWATCH_BASE_URL", show_default=True,
        help="Where the public directory is served (env PRESSWATCH_BASE_URL).",
    )(command)


def check_mirror(_ctx: click.Context | None, _param: click.Parameter | None, value: str | None) -> str | None:
    """--mirror must be http(s)://HOST[:PORT] (checked before anything starts: a crawl would
    otherwise fail once per request)."""
    if value is None:
        return None
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname
            or parts.path.strip("/") or parts.query or (port is not None and not 0 < port < 65536)):
        raise click.ClickException(
            f"--mirror {value!r}: not a server's address; give http://HOST:PORT, e.g. http://127.0.0.1:8765")
    return value.strip().rstrip("/")


def mirror_option(command: Callable) -> Callable:
    """--mirror URL: fetch every site from a mirror (the sample sites), keeping the real URLs."""
    return click.option(
        "--mirror", metavar="URL", callback=check_mirror,
        help="Fetch every site from this mirror (the sample sites), keeping the real URLs in the "
             "archive, e.g. http://127.0.0.1:8765.",
    )(command)


def subscriptions_option(default: Path | None) -> Callable[[Callable], Callable]:
    """--subscriptions FILE (env PRESSWATCH_SUBSCRIPTIONS): who gets digests and alerts."""
    return click.option(
        "--subscriptions", "subscriptions_path", type=click.Path(dir_okay=False, path_type=Path),
        default=default, envvar="PRESSWATCH_SUBSCRIPTIONS", show_default=True,
        help="The subscriptions: digests and alerts by email and chat (env PRESSWATCH_SUBSCRIPTIONS)"
             + ("." if default else "; none: notify nobody."),
    )


def warn_unless_reachable(mirror: str, timeout: float = 5) -> None:
    """Say so in one line, before a crawl starts, when nothing answers at the mirror's address
    (the crawl still runs: its runs record the failure, as for an unreachable site)."""
    parts = urlsplit(mirror)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        click.echo(f"Warning: --mirror {mirror}: nothing answers there ({exc.strerror or exc}): every page "
                   f"will fail. Start it first: {COMMAND} sample-sites --port {port}", err=True)


def redis_option(command: Callable) -> Callable:
    """--redis URL (env PRESSWATCH_REDIS): the Redis of a shared crawl (docs/scale-out.md)."""
    return click.option(
        "--redis", "redis_url", metavar="URL", default=None, envvar="PRESSWATCH_REDIS",
        help="The Redis of the shared crawl, e.g. redis://redis.example.org:6379/0 (env PRESSWATCH_REDIS; "
             "docs/scale-out.md).",
    )(command)


def config_errors(command: Callable) -> Callable:
    """Turn a ConfigError, or an archive SQLite cannot use (not a database, locked, unreadable),
    into click's one-line 'Error: ...' and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        except sqlite3.DatabaseError as exc:
            where = kwargs.get("db_path") or "the archive"
            raise click.ClickException(f"{where}: cannot use it as an archive: {exc}") from None

    return wrapper


def load(sources_path: Path) -> SourceList:
    return load_sources(sources_path)
