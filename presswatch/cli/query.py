"""The query commands: `presswatch search`, `show`, `stats` and `browse`.

presswatch/cli/main.py registers them. The queries live in presswatch/archive/
(search.py, items.py, stats.py, stories.py); this module parses options, opens
the archive and prints. Every mistake a user can make in a query is one line
("Error: search: ...") and exit status 1, never a traceback.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import sqlite_utils
from tabulate import tabulate

from presswatch.archive.db import open_archive
from presswatch.archive.items import find_item, item_details
from presswatch.archive.schema import SCHEMA_VERSION, schema_version
from presswatch.archive.search import (
    DEFAULT_CANDIDATES,
    MARK_END,
    MARK_START,
    SORTS,
    WITHIN,
    QueryError,
    SearchQuery,
    check_values,
    normalize_country,
)
from presswatch.archive.search import search as run_search
from presswatch.archive.stats import STAT_DIMENSIONS, archive_stats
from presswatch.cli.options import config_errors, existing_db_option, topics_option
from presswatch.config.topics import load_topics

__all__ = ["browse", "search", "show", "stats"]

# The fields of a search result, in output order (JSON lines and CSV).
RESULT_FIELDS = ("id", "uid", "score", "published", "published_utc", "source", "kind", "region", "country",
                 "language", "countries", "topics", "title", "url", "snippet")
HIGHLIGHT = "**"


def query_errors(command: str) -> Callable:
    """Turn QueryError and SQLite errors into one line, 'Error: <command>: ...', exit status 1."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except QueryError as exc:
                raise click.ClickException(f"{command}: {exc}") from None
            except sqlite3.DatabaseError as exc:
                raise click.ClickException(f"{command}: the archive cannot answer: {exc}") from None

        return wrapper

    return decorate


@contextmanager
def reading(db_path: Path) -> Iterator[sqlite_utils.Database]:
    """The archive opened read-only (migrated first if an older presswatch wrote it)."""
    if str(db_path) != ":memory:" and not Path(db_path).is_file():
        raise click.ClickException(f"{db_path}: no such archive (crawl first, or give --db / PRESSWATCH_DB)")
    db = open_archive(db_path, readonly=True)
    try:
        if schema_version(db) < SCHEMA_VERSION:
            db.close()
            open_archive(db_path).close()  # applies the migrations
            db = open_archive(db_path, readonly=True)
        yield db
    finally:
        db.close()


def _mark(text: str | None) -> str:
    """A snippet on one line, matches between ** (as in Markdown)."""
    return " ".join((text or "").replace(MARK_START, HIGHLIGHT).replace(MARK_END, HIGHLIGHT).split())


def known_topics(topics_path: Path) -> set[str]:
    """The topic ids of topics.toml (none if the file does not exist)."""
    if not Path(topics_path).is_file():
        return set()
    return set(load_topics(topics_path).ids)


# --------------------------------------------------------------------------- search


@click.command()
@click.argument("query", nargs=-1)
@existing_db_option
@click.option("--source", "sources", multiple=True, metavar="ID",
              help="Only this source (repeatable: any of them).")
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Only this kind: press_release, news, story, publication, page (repeatable).")
@click.option("--country", "countries", multiple=True, metavar="CODE",
              help="Items about this country: the source's country OR a country named in the text "
                   "(ISO alpha-2 code or English name; repeatable).")
@click.option("--region", "regions", multiple=True, metavar="REGION",
              help="Only this source region (case-insensitive, a unique prefix will do; repeatable).")
@click.option("--topic", "topics", multiple=True, metavar="ID", help="Only items of this topic (repeatable).")
@click.option("--lang", "languages", multiple=True, metavar="CODE",
              help="Only this language, ISO 639-1 (repeatable).")
@click.option("--since", metavar="DATE",
              help="Published on or after DATE (YYYY-MM-DD, YYYY-MM or YYYY; UTC).")
@click.option("--until", metavar="DATE",
              help="Published on or before DATE, inclusive (--until 2021-06: all June).")
@click.option("--sort", type=click.Choice(SORTS), default=None,
              help="relevance (bm25; default with a query) or newest (default without).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True,
              help="Results to show.")
@click.option("--candidates", type=click.IntRange(min=0), default=DEFAULT_CANDIDATES, show_default=True,
              help="Relevance: when more items match, rank only the newest this many (fast on big "
                   "archives); 0 ranks every match.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.option("--explain", is_flag=True, help="Say on stderr how the search ran.")
@click.option("--in", "within", type=click.Choice(WITHIN), default="all", show_default=True,
              help="Where to look: the pages' own text, the documents (PDFs) they link, or both "
                   "(a document's snippet names its page: 'p. 3: ...').")
@topics_option
@config_errors
@query_errors("search")
def search(query: tuple[str, ...], db_path: Path, sources: tuple[str, ...], kinds: tuple[str, ...],
           countries: tuple[str, ...], regions: tuple[str, ...], topics: tuple[str, ...],
           languages: tuple[str, ...], since: str | None, until: str | None, sort: str | None, limit: int,
           candidates: int, as_json: bool, as_csv: bool, explain: bool, within: str,
           topics_path: Path) -> None:
    """Full-text search of the archive, ranked by relevance or newest first.

    QUERY is words (all must match), "quoted phrases", prefixes (remitt*),
    AND / OR / NOT in capitals, (parentheses) and column filters (title:ukraine,
    summary:, body:). Diacritics and case are ignored. Without QUERY, lists the
    items the filters select, newest first. Matches are **highlighted** in the
    snippet.

    \b
    Examples:
        presswatch search remittances
        presswatch search '"family remittances"' --sort newest
        presswatch search 'traffick* AND (ukraine OR moldova) NOT covid' --since 2021-01
        presswatch search health --country MD --lang ro --json
        presswatch search --topic covid-19 --until 2020 --csv > covid-2020.csv
        presswatch search Dhangadhi --in documents
    """
    if as_json and as_csv:
        raise click.UsageError("--json and --csv exclude each other")
    spec = SearchQuery(
        text=" ".join(query).strip(), sources=sources, kinds=kinds,
        countries=tuple(dict.fromkeys(normalize_country(country) for country in countries)),
        regions=regions, topics=topics, languages=tuple(language.lower() for language in languages),
        since=since, until=until, sort=sort, limit=limit, candidates=candidates, within=within,
    )
    with reading(db_path) as db:
        topic_ids = known_topics(topics_path) if topics else set()
        spec = check_values(db, spec, topic_ids)
        result = run_search(db, spec)
    rows = [{**row, "snippet": _mark(row["snippet"])} for row in result.rows]
    if explain:
        click.echo(f"plan: {result.plan}" + ("" if result.exact else " (not exact)"), err=True)
    if as_json:
        for row in rows:
            click.echo(json.dumps({key: row[key] for key in RESULT_FIELDS}, ensure_ascii=False))
    elif as_csv:
        click.echo(results_csv(rows), nl=False)
    else:
        print_table(rows)
        if not rows:
            click.echo("No results.", err=True)
        elif not result.exact:
            click.echo(f"Ranked the newest {spec.candidates} of more matches; --candidates 0 ranks them all.",
                       err=True)


def results_csv(rows: list[dict[str, Any]]) -> str:
    """Results as CSV: lists joined by spaces, None as the empty string."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULT_FIELDS)
    for row in rows:
        writer.writerow([
            " ".join(row[key]) if isinstance(row[key], list) else ("" if row[key] is None else row[key])
            for key in RESULT_FIELDS
        ])
    return out.getvalue()


def print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = [
        [row["id"], (row["published"] or "undated")[:10], row["source"], row["language"], row["title"],
         row["snippet"]]
        for row in rows
    ]
    click.echo(tabulate(table, headers=["id", "published", "source", "lang", "title", "snippet"],
                        maxcolwidths=[None, None, None, None, 40, 70]))


# --------------------------------------------------------------------------- show


@click.command()
@click.argument("item_key", metavar="ID")
@existing_db_option
@click.option("--json", "as_json", is_flag=True, help="The item and its records as one JSON object.")
@click.option("--no-body", is_flag=True, help="Leave out the body text.")
@query_errors("show")
def show(item_key: str, db_path: Path, as_json: bool, no_body: bool) -> None:
    """Print one archived item in full: its fields, text, copies and earlier versions.

    ID is the item's id (as `presswatch search` prints it), its uid, its URL,
    or the URL of a copy that was folded into it.

    \b
    Examples:
        presswatch show 42
        presswatch show https://www.iom.int/news/future-family-remittances-digital
        presswatch show 42 --json | jq .duplicates
    """
    with reading(db_path) as db:
        item = find_item(db, item_key)
        if item is None:
            raise QueryError(f"no item {item_key.strip()!r} (give an id, a uid or a URL, "
                             "as `presswatch search` shows them)")
        details = item_details(db, item)
    if no_body:
        details.pop("body", None)
        for version in details["versions"]:
            version.pop("body", None)
    if as_json:
        click.echo(json.dumps(details, ensure_ascii=False, indent=2))
        return
    click.echo(render_item(details))


def render_item(item: dict[str, Any]) -> str:
    lines = [item["title"], "=" * min(len(item["title"]), 100)]
    place = ", ".join(part for part in (item.get("kind"), item.get("region"), item.get("country")) if part)
    fields = [
        ("id", f"{item['id']} (uid {item['uid']})"),
        ("source", f"{item['source']} ({place})"),
        ("url", item["url"]),
        ("published", f"{item['published']} (from {item['date_source']})"
                      if item.get("published") else "undated"),
        ("language", item.get("language")),
        ("author", item.get("author")),
        ("countries", ", ".join(item["countries"])
                      if isinstance(item["countries"], list) else item["countries"]),
        ("topics", ", ".join(item["topics"]) or "-"),
        ("archived", f"first seen {item['first_seen']}, fetched {item['fetched']}"
                     + (f", changed {item['updated']}" if item.get("updated") else "")),
        ("status", f"{item.get('status')}" + (f" since {item['removed']}" if item.get("removed") else "")),
    ]
    metadata = item.get("metadata")
    if isinstance(metadata, dict) and metadata:
        fields.append(("metadata", ", ".join(f"{key}={value}" for key, value in metadata.items())))
    width = max(len(name) for name, _ in fields)
    lines += [f"{name.ljust(width)}  {value}" for name, value in fields if value]
    if item.get("summary"):
        lines += ["", "Summary", "-------", item["summary"]]
    if item.get("body"):
        lines += ["", "Text", "----", item["body"]]
    lines += ["", f"Copies ({len(item['duplicates'])})", "------"]
    if item["duplicates"]:
        lines.append(tabulate(item["duplicates"], headers="keys"))
    else:
        lines.append("none: no other URL has carried this item")
    lines += story_lines(item.get("story"))
    lines += document_lines(item.get("documents", []))
    if item["versions"]:
        lines += ["", f"Earlier versions ({len(item['versions'])})", "----------------"]
        lines.append(tabulate(
            [[v["version"], v["fetched"], v["replaced"], v["title"]] for v in item["versions"]],
            headers=["version", "fetched", "replaced", "title"]))
    if item["events"]:
        lines += ["", f"Events ({len(item['events'])})", "------"]
        lines.append(tabulate(item["events"], headers="keys"))
    return "\n".join(lines)


def document_lines(documents: list[dict[str, Any]]) -> list[str]:
    """The item's documents (PDFs): pages, language, versions, and why one could not be read."""
    if not documents:
        return []
    lines = ["", f"Documents ({len(documents)})", "---------"]
    lines.append(tabulate(
        [[d["id"], d["url"], d["pages"] if d["pages"] is not None else "-", d["language"] or "-",
          f"{d['bytes']:,}", d["earlier_versions"] + 1, d["fetched"],
          f"{d['problem']}: {d['detail']}" if d["problem"] else "-"] for d in documents],
        headers=["id", "url", "pages", "lang", "bytes", "versions", "fetched", "problem"],
        maxcolwidths=[None, 60, None, None, None, None, None, 50]))
    return lines


def story_lines(story: dict[str, Any] | None) -> list[str]:
    """The story's members (presswatch/archive/stories.py) and how each is linked."""
    if not story or len(story["members"]) < 2:
        return []
    lines = ["", f"Story {story['id']} ({len(story['members'])} items)", "-----"]
    rows = []
    for member in story["members"]:
        relations = ["canonical"] if member["canonical"] else []
        for link in member["links"]:
            how = link["kind"].replace("_", " ") + f" of {link['item_id']}"
            if link["similarity"] is not None:
                how += f" ({link['similarity']:.2f})"
            elif link["via"]:
                how += f" ({link['via']})"
            relations.append(how)
        rows.append([member["id"], "; ".join(relations), (member["published"] or "undated")[:10],
                     member["source"], member["language"], member["url"]])
    lines.append(tabulate(rows, headers=["id", "relation", "published", "source", "lang", "url"]))
    return lines


# --------------------------------------------------------------------------- stats

@click.command()
@existing_db_option
@click.option("--by", "dimensions", multiple=True, type=click.Choice(STAT_DIMENSIONS),
              help="Only these counts (repeatable; default: all).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@query_errors("stats")
def stats(db_path: Path, dimensions: tuple[str, ...], as_json: bool) -> None:
    """Count the archived items by source, kind, month, topic and language.

    Months are those of published_utc (UTC), newest first; undated items are
    counted apart.

    \b
    Examples:
        presswatch stats
        presswatch stats --by month --by topic
        presswatch stats --json | jq .source
    """
    chosen = tuple(dict.fromkeys(dimensions)) or STAT_DIMENSIONS
    with reading(db_path) as db:
        counts = archive_stats(db, chosen)
    if as_json:
        click.echo(json.dumps(counts, ensure_ascii=False, indent=2))
        return
    click.echo(f"{counts['items']} items ({counts['undated']} undated), published "
               f"{(counts['first_published'] or '-')[:10]} to {(counts['last_published'] or '-')[:10]}; "
               f"{counts['duplicates']} duplicate copies recorded.")
    for dimension in chosen:
        rows = list(counts[dimension].items())
        if dimension == "topic":
            rows.append(("(no topic)", counts["without_topic"]))
        click.echo("")
        click.echo(tabulate(rows, headers=[dimension, "items"]))


# --------------------------------------------------------------------------- browse


@click.command()
@existing_db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True,
              help="Port to listen on.")
@click.option("--no-open", is_flag=True, help="Do not open a web browser.")
@click.option("--print-metadata", is_flag=True,
              help="Print the Datasette metadata (JSON) and exit, for `datasette serve --metadata`.")
@query_errors("browse")
def browse(db_path: Path, host: str, port: int, no_open: bool, print_metadata: bool) -> None:
    """Open the archive in Datasette, read-only: tables, full-text search, facets, canned queries.

    Items are searchable (FTS5 syntax) and faceted by source, kind, country,
    language and topic; canned queries list the latest items of a topic, a
    country's items this month and the items without a date. Nothing can be
    written through it (the file is opened read-only). Stop it with Ctrl-C.

    \b
    Examples:
        presswatch browse
        presswatch browse --port 8001 --no-open
        presswatch browse --print-metadata > metadata.json
        datasette serve data/presswatch.db --metadata metadata.json \\
            --plugins-dir $(python -c 'import presswatch.datasette_plugins as p; print(p.__path__[0])')
    """
    from presswatch.datasette_metadata import PLUGINS_DIR, database_name, metadata

    with reading(db_path):
        pass  # exists, and is migrated
    meta = metadata(database_name(db_path))
    if print_metadata:
        click.echo(json.dumps(meta, indent=2, ensure_ascii=False))
        return
    import tempfile

    from datasette.cli import serve

    with tempfile.TemporaryDirectory(prefix="presswatch-browse-") as tmp:
        meta_path = Path(tmp) / "metadata.json"
        meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        args = [str(db_path), "--host", host, "--port", str(port), "--metadata", str(meta_path),
                "--plugins-dir", str(PLUGINS_DIR), "--setting", "facet_time_limit_ms", "1000",
                "--setting", "sql_time_limit_ms", "5000"]
        if not no_open:
            args.append("--open")
        click.echo(f"Datasette on http://{host}:{port}/ (read-only; Ctrl-C to stop)", err=True)
        serve.main(args=args, prog_name="presswatch browse", standalone_mode=False)
