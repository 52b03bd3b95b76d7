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

Incremental: rendering (feedgen) is what costs, so a file is rendered only when
what it is made of changed since the last publish into the same directory.
Every publish collects every feed's entries (indexed, cheap: feeds/collect.py)
and computes a digest of each file's inputs (the feed's spec and entries, the
base URL; for the OPML lists and the index page, every feed's); the archive's
``state`` table remembers, per public directory, each file's digest and the
sha256 of the bytes written for it. A file whose digest is the recorded one
and whose bytes on disk are still the recorded ones is left alone without
rendering; every other file is rendered and compared with the one on disk.
Whatever changed in the archive (new, edited, removed or reclassified items,
stories, copies) shows in the entries, so nothing has to be tracked item by
item, and the result is by construction what a full publish writes. When
topics.toml, the base URL, the limit, the sources' names or the rendering
code changed, the record is ignored and everything is rendered.

Only files whose bytes differ are written, each atomically (a temporary file in
the same directory, then a rename), so a reader or `presswatch serve` never
sees half a file and unchanged files keep their modification time (and their
ETag). Feed files no longer produced (a topic removed from topics.toml) are
deleted.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

import sqlite_utils

from feeds.build import Entry, Feed, render_atom, render_rss
from feeds.collect import collect_feeds
from feeds.index import TEMPLATES, render_index
from feeds.opml import opml_name, render_opml
from pipelines.derived import complete_all
from pipelines.story_index import StoryIndex
from pipelines.topics import Classifier, ensure_classified
from presswatch.archive.db import open_archive, write_transaction
from presswatch.config.paths import DEFAULT_BASE_URL
from presswatch.config.topics import TopicSet, load_topics

logger = logging.getLogger("presswatch.publish")

DEFAULT_PUBLIC = Path("public")
DEFAULT_LIMIT = 50
FEED_DIRS = ("topics", "sources", "countries", "kinds")
FEED_SUFFIXES = (".atom", ".rss")
# state key of the record of the last publish into a directory: this prefix + its absolute path.
STATE_PREFIX = "published:"
# Bump when what the record means changes.
RECORD_VERSION = 1
_FEEDS_DIR = Path(__file__).resolve().parent
# The code and libraries that turn entries into bytes: when one changes, every file is rendered again.
_RENDERING_FILES = ("build.py", "opml.py", "index.py", "publish.py")
_RENDERING_LIBRARIES = ("feedgen", "lxml", "jinja2", "markupsafe")


@dataclass
class PublishReport:
    """What a publish did to public/ (paths relative to it, sorted)."""

    public_dir: Path
    written: list[str] = field(default_factory=list)  # new or changed files
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # feeds no longer produced
    reclassified: dict[str, int] | None = None  # topic -> items, when topics.toml had changed
    # The files rendered this time; the others were known to be unchanged since the last publish.
    rendered: list[str] = field(default_factory=list)
    full: bool = True  # everything rendered: no usable record of the last publish into public_dir

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


# --------------------------------------------------------------------------- what each file is made of


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()


@cache
def rendering_fingerprint() -> str:
    """The rendering code (this package's files) and library versions: same fingerprint, same bytes."""
    sources = [(name, (_FEEDS_DIR / name).read_bytes()) for name in _RENDERING_FILES]
    sources += [(path.name, path.read_bytes()) for path in sorted(TEMPLATES.glob("*"))]
    versions: list[tuple[str, str | None]] = []
    for library in _RENDERING_LIBRARIES:
        try:
            versions.append((library, metadata.version(library)))
        except metadata.PackageNotFoundError:
            versions.append((library, None))
    hashes = [(name, hashlib.sha256(data).hexdigest()) for name, data in sources]
    return _digest(RECORD_VERSION, hashes, versions)


def settings_fingerprint(topics: TopicSet, limit: int, base_url: str, source_names: dict[str, str]) -> str:
    """Everything a publish depends on besides the archive: a change renders every file again."""
    return _digest(rendering_fingerprint(), topics.fingerprint, limit, base_url, sorted(source_names.items()),
                   list(source_names))


@dataclass
class SitePlan:
    """Every file of public/: the digest of its inputs and how to render it."""

    files: dict[str, tuple[str, Callable[[], bytes]]]

    def render_all(self) -> dict[str, bytes]:
        return {path: render() for path, (_digest_, render) in self.files.items()}


def plan_site(feeds: list[Feed], topics: TopicSet, *, limit: int, base_url: str) -> SitePlan:
    """The files of public/ for ``feeds`` (as collect_feeds returns them), not rendered yet."""
    entry_digests: dict[int, str] = {}  # by id(): one Entry object is shared by every feed holding it

    def digest_of(entry: Entry) -> str:
        key = id(entry)
        if key not in entry_digests:
            entry_digests[key] = _digest(entry)
        return entry_digests[key]

    files: dict[str, tuple[str, Callable[[], bytes]]] = {}
    contents = []
    for feed in feeds:
        content = _digest(feed.spec, [digest_of(entry) for entry in feed.entries])
        contents.append(content)
        for fmt, render in (("atom", render_atom), ("rss", render_rss)):
            files[f"{feed.spec.path}.{fmt}"] = (
                _digest(fmt, base_url, content),
                functools.partial(render, feed.spec, feed.entries, base_url),
            )
    # The lists and the index page depend on every feed (titles, dates, counts, latest entries).
    everything = _digest(contents)
    for fmt in ("atom", "rss"):
        files[opml_name(fmt)] = (_digest("opml", fmt, base_url, everything),
                                 functools.partial(render_opml, feeds, base_url, fmt))
    topic_titles = {topic.id: topic.title for topic in topics}
    files["index.html"] = (_digest("index", limit, topic_titles, everything),
                           lambda: render_index(feeds, limit=limit, topic_titles=topic_titles))
    return SitePlan(files)


def collect_site(
    db: sqlite_utils.Database,
    topics: TopicSet,
    *,
    limit: int = DEFAULT_LIMIT,
    base_url: str = DEFAULT_BASE_URL,
    source_names: dict[str, str] | None = None,
) -> SitePlan:
    """Every file of public/, planned from one consistent read of the archive."""
    db.execute("BEGIN")  # one snapshot: a crawl writing meanwhile cannot mix two states
    try:
        feeds = collect_feeds(db, topics, limit=limit, source_names=source_names)
    finally:
        db.execute("COMMIT")
    return plan_site(feeds, topics, limit=limit, base_url=base_url)


def render_site(
    db: sqlite_utils.Database,
    topics: TopicSet,
    *,
    limit: int = DEFAULT_LIMIT,
    base_url: str = DEFAULT_BASE_URL,
    source_names: dict[str, str] | None = None,
) -> dict[str, bytes]:
    """Every file of public/ (relative path -> bytes), from one consistent read of the archive."""
    return collect_site(db, topics, limit=limit, base_url=base_url, source_names=source_names).render_all()


# --------------------------------------------------------------------------- writing


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            # No fsync: the files are derived data. Should a crash leave one truncated,
            # its bytes differ from the recorded ones and the next publish rewrites it.
            handle.write(data)
        os.chmod(handle.name, 0o644)  # mkstemp makes it private; the web server must read it
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(public_dir: Path, older_than: float = 600) -> list[Path]:
    """Delete the temporary files (`write_atomically`'s) a killed publish left in ``public_dir``;
    those younger than ``older_than`` seconds may be a running publish's. The ones deleted."""
    removed = []
    limit = time.time() - older_than
    for path in public_dir.rglob(".*.tmp") if public_dir.is_dir() else ():
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:  # another publish removed or renamed it meanwhile
            continue
    return removed


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def update_site(
    public_dir: str | Path, plan: SitePlan, recorded: dict[str, list[str]] | None = None
) -> tuple[PublishReport, dict[str, list[str]]]:
    """Bring ``public_dir`` to ``plan``: render what may have changed, write what differs, delete
    feeds no longer produced. ``recorded``: path -> [digest, sha256 of its bytes] from the last
    publish into this directory. Returns the report and the record of this publish."""
    public_dir = Path(public_dir)
    remove_stale_temporaries(public_dir)
    recorded = recorded or {}
    report = PublishReport(public_dir, full=not recorded)
    record: dict[str, list[str]] = {}
    for relative in sorted(plan.files):
        digest, render = plan.files[relative]
        target = public_dir / relative
        current = _read(target)
        known = recorded.get(relative)
        if known is not None and known[0] == digest and current is not None and _sha256(current) == known[1]:
            # Same inputs as last time, and the file is still what was written then.
            report.unchanged.append(relative)
            record[relative] = known
            continue
        data = render()
        report.rendered.append(relative)
        if current == data:
            report.unchanged.append(relative)
        else:
            write_atomically(target, data)
            report.written.append(relative)
        record[relative] = [digest, _sha256(data)]
    for directory in FEED_DIRS:
        folder = public_dir / directory
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            relative = f"{directory}/{path.name}"
            if path.is_file() and path.suffix in FEED_SUFFIXES and relative not in plan.files:
                path.unlink()
                report.removed.append(relative)
    return report, record


def write_site(public_dir: str | Path, files: dict[str, bytes]) -> PublishReport:
    """Bring ``public_dir`` to ``files`` (all rendered): write what differs, delete stale feeds."""
    plan = SitePlan({path: ("", functools.partial(bytes, data)) for path, data in files.items()})
    return update_site(public_dir, plan)[0]


# --------------------------------------------------------------------------- the record of the last publish


def state_key(public_dir: str | Path) -> str:
    return STATE_PREFIX + str(Path(public_dir).resolve())


def read_record(db: sqlite_utils.Database, public_dir: str | Path, settings: str) -> dict[str, list[str]]:
    """path -> [digest, sha256] of the last publish into ``public_dir``; {} when there is none or it
    was made with other settings (then everything is rendered)."""
    row = db.execute("SELECT value FROM state WHERE key = ?", [state_key(public_dir)]).fetchone()
    if row is None:
        return {}
    try:
        value = json.loads(row[0])
    except ValueError:
        return {}
    if not isinstance(value, dict) or value.get("settings") != settings:
        return {}
    if not isinstance(value.get("files"), dict):
        return {}
    return {path: known for path, known in value["files"].items()
            if isinstance(known, list) and len(known) == 2 and all(isinstance(part, str) for part in known)}


def save_record(db: sqlite_utils.Database, public_dir: str | Path, settings: str,
                record: dict[str, list[str]]) -> None:
    value = json.dumps({"settings": settings, "files": record}, sort_keys=True, separators=(",", ":"))
    with write_transaction(db):
        db.execute(
            "INSERT INTO state (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [state_key(public_dir), value],
        )


# --------------------------------------------------------------------------- publish


def source_names_from(sources_path: str | Path | None) -> dict[str, str]:
    """id -> name of the sources in sources.toml (in file order); {} without a file."""
    if sources_path is None or not Path(sources_path).exists():
        return {}
    from presswatch.config.sources import load_sources

    return {source.id: source.name for source in load_sources(sources_path)}


def _source_rank(sources_path: str | Path | None) -> Callable[[str], int]:
    """The sources' file order, which breaks ties between copies in stories (none: all equal)."""
    if sources_path is None or not Path(sources_path).exists():
        return lambda _source: 0
    from presswatch.config.sources import load_sources

    return load_sources(sources_path).rank


def publish_feeds(
    db_path: str | Path,
    public_dir: str | Path,
    topics_path: str | Path,
    limit: int = DEFAULT_LIMIT,
    *,
    base_url: str = DEFAULT_BASE_URL,
    sources_path: str | Path | None = None,
) -> PublishReport:
    """Classify what needs it, render the feeds that changed, and update ``public_dir``; say what changed.

    ``base_url`` is where public/ will be served (feeds carry absolute self links);
    ``sources_path`` gives the sources' names to their feeds (default: their ids).
    Raises ConfigError when topics.toml (or sources.toml) is invalid.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    topics = load_topics(topics_path)
    source_names = source_names_from(sources_path)
    settings = settings_fingerprint(topics, limit, base_url, source_names)
    db = open_archive(db_path)
    try:
        classifier = Classifier(topics)
        reclassified = ensure_classified(db, classifier)
        # Topics and story links a killed crawl did not get to write (issue 21): completed first.
        complete_all(db, classifier, StoryIndex(db, _source_rank(sources_path)))
        plan = collect_site(db, topics, limit=limit, base_url=base_url, source_names=source_names)
        recorded = read_record(db, public_dir, settings)
        report, record = update_site(public_dir, plan, recorded)
        if record != recorded:
            try:
                save_record(db, public_dir, settings, record)
            except sqlite3.OperationalError as exc:
                # public/ is written and right; without the record the next publish renders
                # everything once more. Not worth failing a publish (or the scheduler's) for.
                logger.warning("could not record this publish of %s (%s): the next one renders every file",
                               public_dir, exc)
    finally:
        db.close()
    report.reclassified = reclassified
    return report
