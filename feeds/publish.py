"""Writing public/: every feed, the OPML lists and the index page, rewriting only what changed.

Layout (see docs/feeds.md):

    public/index.html               the feeds, a subscribe link each, latest items per topic
    public/feeds.opml               every Atom feed (import into a reader)
    public/feeds-rss.opml           every RSS feed
    public/all.atom, all.rss        everything
    public/topics/<topic>.atom|.rss
    public/sources/<source>.atom|.rss
    public/countries/<cc>.atom|.rss   (lower-case ISO 3166-1 alpha-2)
    public/kinds/<kind>.atom|.rss

Every file is rendered in memory and compared with the one on disk; only files
whose bytes differ are written, each atomically (a temporary file in the same
directory, then a rename), so a reader or `presswatch serve` never sees half a
file and unchanged files keep their modification time (and their ETag).
Feed files no longer produced (a topic removed from topics.toml) are deleted.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from feeds.build import render_atom, render_rss
from feeds.classify import Classifier, ensure_classified
from feeds.collect import collect_feeds
from feeds.index import render_index
from feeds.opml import opml_name, render_opml
from feeds.topics import TopicSet, load_topics
from presswatch.archive import open_archive

DEFAULT_PUBLIC = Path("public")
DEFAULT_BASE_URL = "http://127.0.0.1:8000/"
DEFAULT_LIMIT = 50
FEED_DIRS = ("topics", "sources", "countries", "kinds")
FEED_SUFFIXES = (".atom", ".rss")


@dataclass
class PublishReport:
    """What a publish did to public/ (paths relative to it, sorted)."""

    public_dir: Path
    written: list[str] = field(default_factory=list)  # new or changed files
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # feeds no longer produced
    reclassified: dict[str, int] | None = None  # topic -> items, when topics.toml had changed

    @property
    def changed(self) -> list[str]:
        return sorted(self.written + self.removed)

    @property
    def feeds_written(self) -> list[str]:
        return [path for path in self.written if path.endswith(FEED_SUFFIXES)]

    def lines(self) -> list[str]:
        """A human summary: one line per changed file, then the totals."""
        lines = [f"  wrote    {path}" for path in self.written]
        lines += [f"  removed  {path}" for path in self.removed]
        total = len(self.written) + len(self.unchanged)
        lines.append(
            f"{len(self.written)} of {total} files changed in {self.public_dir}"
            + (f", {len(self.removed)} removed" if self.removed else "")
            + ("" if self.written or self.removed else " (everything was up to date)")
        )
        return lines


def render_site(
    db: sqlite_utils.Database,
    topics: TopicSet,
    *,
    limit: int = DEFAULT_LIMIT,
    base_url: str = DEFAULT_BASE_URL,
    source_names: dict[str, str] | None = None,
) -> dict[str, bytes]:
    """Every file of public/ (relative path -> bytes), from one consistent read of the archive."""
    db.execute("BEGIN")  # one snapshot: a crawl writing meanwhile cannot mix two states
    try:
        feeds = collect_feeds(db, topics, limit=limit, source_names=source_names)
    finally:
        db.execute("COMMIT")
    files: dict[str, bytes] = {}
    for feed in feeds:
        files[f"{feed.spec.path}.atom"] = render_atom(feed.spec, feed.entries, base_url)
        files[f"{feed.spec.path}.rss"] = render_rss(feed.spec, feed.entries, base_url)
    for fmt in ("atom", "rss"):
        files[opml_name(fmt)] = render_opml(feeds, base_url, fmt)
    files["index.html"] = render_index(
        feeds, limit=limit, topic_titles={topic.id: topic.title for topic in topics}
    )
    return files


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            # No fsync: the files are derived data. Should a crash leave one truncated,
            # its bytes differ from the rendered ones and the next publish rewrites it.
            handle.write(data)
        os.chmod(handle.name, 0o644)  # mkstemp makes it private; the web server must read it
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def write_site(public_dir: str | Path, files: dict[str, bytes]) -> PublishReport:
    """Bring ``public_dir`` to ``files``: write what differs, delete feeds no longer produced."""
    public_dir = Path(public_dir)
    report = PublishReport(public_dir)
    for relative in sorted(files):
        target = public_dir / relative
        try:
            current = target.read_bytes()
        except FileNotFoundError:
            current = None
        if current == files[relative]:
            report.unchanged.append(relative)
        else:
            write_atomically(target, files[relative])
            report.written.append(relative)
    for directory in FEED_DIRS:
        folder = public_dir / directory
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            relative = f"{directory}/{path.name}"
            if path.is_file() and path.suffix in FEED_SUFFIXES and relative not in files:
                path.unlink()
                report.removed.append(relative)
    return report


def source_names_from(sources_path: str | Path | None) -> dict[str, str]:
    """id -> name of the sources in sources.toml (in file order); {} without a file."""
    if sources_path is None or not Path(sources_path).exists():
        return {}
    from presswatch.sources import load_sources

    return {source.id: source.name for source in load_sources(sources_path)}


def publish_feeds(
    db_path: str | Path,
    public_dir: str | Path,
    topics_path: str | Path,
    limit: int = DEFAULT_LIMIT,
    *,
    base_url: str = DEFAULT_BASE_URL,
    sources_path: str | Path | None = None,
) -> PublishReport:
    """Classify what needs it, render every feed, and update ``public_dir``; say what changed.

    ``base_url`` is where public/ will be served (feeds carry absolute self links);
    ``sources_path`` gives the sources' names to their feeds (default: their ids).
    Raises ConfigError when topics.toml (or sources.toml) is invalid.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    topics = load_topics(topics_path)
    source_names = source_names_from(sources_path)
    db = open_archive(db_path)
    try:
        reclassified = ensure_classified(db, Classifier(topics))
        files = render_site(db, topics, limit=limit, base_url=base_url, source_names=source_names)
    finally:
        db.close()
    report = write_site(public_dir, files)
    report.reclassified = reclassified
    return report
