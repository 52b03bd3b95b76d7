"""Searching the archive: the query language, the filters, and the plans that keep it fast.

Pure query building (`parse_query`, `parse_date`, `build_filters`, `SearchQuery`)
plus `search(db, query)`, which runs it. The CLI (presswatch/query_cli.py) only
parses options and prints.

The query language is FTS5's, made forgiving: words (``remittances``),
phrases (``"family remittances"``), prefixes (``remitt*``), ``AND`` / ``OR`` /
``NOT`` in capitals, parentheses, and column filters (``title:ukraine``). Every
word and phrase is passed to FTS5 as a quoted string, so punctuation
(``COVID-19``, ``U.S.``) never is an FTS5 syntax error; mistakes a user can make
(unbalanced quotes or parentheses, a dangling operator, a one-letter prefix) are
a one-line `QueryError`.

How a search stays fast on a big archive (docs/schema.md, "How searches
run"): FTS5 walks its index in rowid order and can stop after LIMIT rows, but
ranking (bm25) or sorting by date needs every match, and a word such as
"migration" matches nearly every item. So a search first counts, cheaply and
only up to a bound (`plan_bounds`), how many items the text and each filter
select, and drives from the cheapest side:

- **newest**: few text matches, or a filter that selects few items: fetch
  them and sort. Many matches: collect their ids once and walk the
  items_published index newest first against them. Dense matches (most
  items): walk newest first checking each item, stopping after LIMIT hits.
- **relevance**: when at most `candidates` (default 1000) items match, all of
  them are ranked by bm25: exact. Otherwise only the `candidates` most recently
  archived matches (highest ids, after filters) are ranked: a very common word
  ranks among recent items, not the whole history. `candidates=0` ranks every
  match (exact, slow at a million items). `SearchResult.exact` says which.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import sqlite_utils

from presswatch.archive.document_search import document_hits, page_snippets

SORTS = ("relevance", "newest")
# Where the text is looked for (issue 17): web pages and their documents (PDFs), or one of them.
WITHIN = ("all", "pages", "documents")
FTS_COLUMNS = ("title", "summary", "body")
# bm25 weights of title, summary and body: a word in the title counts five times one in the body.
BM25_WEIGHTS = (5.0, 2.0, 1.0)
# The prefix indexes of items_fts (prefix="2 3"): longer prefixes merge every matching term.
PREFIX_INDEXES = (2, 3)
MIN_PREFIX = 2
DEFAULT_LIMIT = 20
DEFAULT_CANDIDATES = 1000
# Snippet markers: replaced by the CLI (bold on a terminal, **...** elsewhere).
MARK_START, MARK_END = "\x02", "\x03"
SNIPPET_TOKENS = 24

OPERATORS = ("AND", "OR", "NOT")
_COLUMN_FILTER = re.compile(r"^(title|summary|body):(.*)$", re.DOTALL)
# A word that looks like a column filter but names another column (``author:smith``);
# a URL (``https://...``) is text, not a filter.
_OTHER_COLUMN = re.compile(r"^([A-Za-z_]\w*):(?!//)\S")


class QueryError(ValueError):
    """A search the user has to fix. ``str(error)`` is one line."""


# --------------------------------------------------------------------------- query text


@dataclass(frozen=True)
class ParsedQuery:
    """A user query translated to an FTS5 MATCH expression."""

    text: str
    expression: str
    # A prefix longer than the prefix indexes (e.g. migra*): FTS5 merges the
    # doclists of every matching term each time the expression is started, so
    # plans must start it once, never once per row.
    costly: bool = False


def _is_wordlike(text: str) -> bool:
    """Would unicode61 find a token in ``text``? (letters or digits)"""
    return any(char.isalnum() for char in text)


def _fts_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _last_token_length(text: str) -> int:
    """Characters in the last token of ``text`` as unicode61 folds it (diacritics removed)."""
    tokens = re.findall(r"\w+", text.replace("_", " "))
    if not tokens:
        return 0
    folded = unicodedata.normalize("NFD", tokens[-1])
    return sum(1 for char in folded if not unicodedata.combining(char))


def _lex(text: str) -> list[tuple[str, str]]:
    """Split a query into (kind, value): phrase, prefix, op, col, open, close."""
    tokens: list[tuple[str, str]] = []
    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        if char.isspace():
            position += 1
        elif char == '"':
            end = text.find('"', position + 1)
            if end < 0:
                raise QueryError(f"unbalanced quotes in query {text!r}: close the phrase with \"")
            phrase = text[position + 1 : end]
            position = end + 1
            prefix = position < length and text[position] == "*"
            if prefix:
                position += 1
            if _is_wordlike(phrase):
                tokens.append(("prefix" if prefix else "phrase", phrase))
            elif prefix:
                raise QueryError(f"'*' must follow a word in query {text!r} (e.g. remitt*)")
        elif char == "(":
            tokens.append(("open", char))
            position += 1
        elif char == ")":
            tokens.append(("close", char))
            position += 1
        else:
            match = re.compile(r'[^\s"()]+').match(text, position)
            assert match is not None
            word = match.group()
            position = match.end()
            tokens.extend(_bareword(word, text))
    return tokens


def _bareword(word: str, query: str) -> list[tuple[str, str]]:
    if word in OPERATORS:
        return [("op", word)]
    column = _COLUMN_FILTER.match(word)
    if column:
        rest = column.group(2)
        return [("col", column.group(1)), *(_bareword(rest, query) if rest else [])]
    other = _OTHER_COLUMN.match(word)
    if other:
        raise QueryError(f"unknown column {other.group(1)!r} in {word!r} (query {query!r}): "
                         "filter on title:, summary: or body:")
    if word.endswith("*"):
        stem = word.rstrip("*")
        if not _is_wordlike(stem):
            raise QueryError(f"'*' must follow a word in query {query!r} (e.g. remitt*)")
        return [("prefix", stem)]
    if not _is_wordlike(word):
        return []  # punctuation only: the tokenizer would ignore it anyway
    return [("phrase", word)]


def parse_query(text: str) -> ParsedQuery:
    """Translate the user's query into an FTS5 expression, or raise QueryError."""
    tokens = _lex(text)
    if not tokens:
        raise QueryError(f"nothing to search for in query {text!r}: give at least one word")
    parts: list[str] = []
    depth = 0
    costly = False
    previous = "start"  # start | term | op | col | open
    for index, (kind, value) in enumerate(tokens):
        if kind in ("phrase", "prefix"):
            if kind == "prefix":
                size = _last_token_length(value)
                if size < MIN_PREFIX:
                    raise QueryError(
                        f"prefix {value}* is too short in query {text!r}: give at least {MIN_PREFIX} letters"
                    )
                costly = costly or size > max(PREFIX_INDEXES)
                parts.append(_fts_string(value) + "*")
            else:
                parts.append(_fts_string(value))
            previous = "term"
        elif kind == "op":
            if previous in ("start", "open", "op", "col"):
                if value == "NOT":
                    raise QueryError(
                        f"NOT needs something to exclude from in query {text!r}: "
                        "write e.g. 'migration NOT health'"
                    )
                raise QueryError(f"{value} needs a term on each side in query {text!r}")
            parts.append(value)
            previous = "op"
        elif kind == "col":
            if index + 1 == len(tokens) or tokens[index + 1][0] not in ("phrase", "prefix", "open"):
                raise QueryError(f"{value}: must be followed by a word, phrase or (...) in query {text!r}")
            parts.append(f"{value} :")
            previous = "col"
        elif kind == "open":
            depth += 1
            parts.append("(")
            previous = "open"
        else:  # close
            depth -= 1
            if depth < 0:
                raise QueryError(f"unbalanced parentheses in query {text!r}: ')' without '('")
            if previous == "open":
                raise QueryError(f"empty parentheses in query {text!r}")
            if previous == "op":
                raise QueryError(f"{parts[-1]} needs a term on each side in query {text!r}")
            parts.append(")")
            previous = "term"
    if depth:
        raise QueryError(f"unbalanced parentheses in query {text!r}: '(' without ')'")
    if previous == "op":
        raise QueryError(f"{parts[-1]} needs a term on each side in query {text!r}")
    return ParsedQuery(text=text, expression=" ".join(parts), costly=costly)


# --------------------------------------------------------------------------- dates


def parse_date(value: str, option: str, *, end: bool = False) -> str:
    """YYYY-MM-DD, YYYY-MM or YYYY as a published_utc bound.

    The start of the period, or with ``end`` the start of the next one (an
    exclusive bound, so --until 2021-06 takes all of June).
    """
    match = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", value.strip())
    if not match:
        raise QueryError(f"{option} {value!r} is not a date: use YYYY-MM-DD, YYYY-MM or YYYY")
    year = int(match.group(1))
    month, day = (int(part) if part else None for part in match.groups()[1:])
    try:
        start = date(year, month or 1, day or 1)
    except ValueError as exc:
        raise QueryError(f"{option} {value!r} is not a date: {exc}") from None
    if end:
        try:
            if day is not None:
                start += timedelta(days=1)
            elif month is not None:
                start = date(year + (month == 12), month % 12 + 1, 1)
            else:
                start = date(year + 1, 1, 1)
        except (ValueError, OverflowError):
            return "9999-99"  # after every date
    return start.isoformat() + "T00:00:00Z"


# --------------------------------------------------------------------------- the query


@dataclass(frozen=True)
class SearchQuery:
    """One search: text (may be empty: filters only), filters, order and size."""

    text: str = ""
    sources: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # the source's country or a country named in the text
    regions: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    since: str | None = None  # as typed: YYYY-MM-DD, YYYY-MM or YYYY
    until: str | None = None  # inclusive: the whole day, month or year
    sort: str | None = None  # relevance | newest; default relevance with text, newest without
    limit: int = DEFAULT_LIMIT
    candidates: int = DEFAULT_CANDIDATES  # relevance on large match sets; 0: rank every match
    within: str = "all"  # all | pages (items' own text) | documents (the PDFs they link)

    @property
    def order(self) -> str:
        return self.sort or ("relevance" if self.text.strip() else "newest")


@dataclass(frozen=True)
class Filter:
    """One filter, in two forms: the ids it selects (to drive from) and a check on items ``i``."""

    name: str
    ids_sql: str
    check_sql: str
    params: tuple[Any, ...]


def build_filters(query: SearchQuery) -> list[Filter]:
    """The query's filters; values within one filter are alternatives (OR), filters combine (AND)."""
    filters: list[Filter] = []
    for name, column, values in (
        ("source", "source", query.sources),
        ("kind", "kind", query.kinds),
        ("region", "region", query.regions),
        ("language", "language", query.languages),
    ):
        if values:
            marks = ", ".join("?" for _ in values)
            filters.append(Filter(name, f"SELECT id FROM items WHERE {column} IN ({marks})",
                                  f"i.{column} IN ({marks})", tuple(values)))
    if query.since or query.until:
        conditions, params = [], []
        if query.since:
            conditions.append("published_utc >= ?")
            params.append(parse_date(query.since, "--since"))
        if query.until:
            conditions.append("published_utc < ?")
            params.append(parse_date(query.until, "--until", end=True))
        if len(params) == 2 and params[0] >= params[1]:
            raise QueryError(f"--since {query.since} is after --until {query.until}")
        filters.append(Filter("date", "SELECT id FROM items WHERE " + " AND ".join(conditions),
                              " AND ".join("i." + condition for condition in conditions), tuple(params)))
    if query.countries:
        marks = ", ".join("?" for _ in query.countries)
        filters.append(Filter(
            "country", f"SELECT item_id AS id FROM item_countries WHERE country IN ({marks})",
            f"EXISTS (SELECT 1 FROM item_countries c WHERE c.item_id = i.id AND c.country IN ({marks}))",
            tuple(query.countries)))
    if query.topics:
        marks = ", ".join("?" for _ in query.topics)
        filters.append(Filter(
            "topic", f"SELECT item_id AS id FROM item_topics WHERE topic IN ({marks})",
            f"EXISTS (SELECT 1 FROM item_topics t WHERE t.item_id = i.id AND t.topic IN ({marks}))",
            tuple(query.topics)))
    return filters


# --------------------------------------------------------------------------- running it


@dataclass
class SearchResult:
    rows: list[dict[str, Any]]
    plan: str  # how it was answered (shown by --explain, used by the benchmark)
    exact: bool = True  # False: relevance ranked only the newest `candidates` matches
    matches: int | None = None  # number of matches, when it was counted in full


# What checking one item against the text costs, in ids collected into a set (see Bounds).
CHECK_COST = 250


@dataclass(frozen=True)
class Bounds:
    """Where the plans switch, for an archive of ``items`` ids and a LIMIT of ``limit``.

    Measured costs per row: reading an item by id ~5 µs; collecting one match
    into a set ~0.4 µs; stepping the published_utc index ~0.2 µs; checking one
    item against the text (an FTS5 lookup by rowid, one b-tree descent per
    index segment) ~100 µs on an index built incrementally by crawls (tens of
    segments), ~10 µs after FTS5's 'optimize': CHECK_COST ~ 250 collected ids.

    - ``small``: up to this many ids are fetched whole and sorted; cheaper
      than walking the index against a set as long as k * 5 µs <
      (items/k) * limit * 0.2 µs, i.e. k < sqrt(items * limit / 25).
    - ``dense``: beyond this many text matches, walk newest first checking
      each item (limit / density checks); below it, collect the matches once
      and walk the published_utc index against them: k * 0.4 µs against
      (items/k) * limit * 100 µs, i.e. k < sqrt(items * limit * CHECK_COST).
    """

    items: int
    small: int
    dense: int


def plan_bounds(db: sqlite_utils.Database, limit: int) -> Bounds:
    items = db.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0]
    limit = max(limit, 1)
    small = int(max(200, math.sqrt(items * limit / 25)))
    dense = int(max(small, math.sqrt(items * limit * CHECK_COST)))
    return Bounds(items, small, dense)


def _fts_error(exc: sqlite3.OperationalError, parsed: ParsedQuery) -> QueryError:
    message = str(exc)
    if "fts5" in message or "syntax error" in message or "no such column" in message:
        return QueryError(f"FTS5 cannot run query {parsed.text!r}: {message}")
    return QueryError(f"cannot run query {parsed.text!r}: {message}")


def _count_upto(db: sqlite_utils.Database, sql: str, params: tuple | list, bound: int) -> int:
    return db.execute(f"SELECT count(*) FROM ({sql} LIMIT ?)", [*params, bound]).fetchone()[0]


def _smallest_filter(db: sqlite_utils.Database, filters: list[Filter],
                     bound: int) -> tuple[Filter, int] | None:
    """The filter selecting fewest items, if it selects at most ``bound``."""
    best = None
    for f in filters:
        size = _count_upto(db, f.ids_sql, f.params, bound + 1)
        if size <= bound and (best is None or size < best[1]):
            best = (f, size)
    return best


def _text_check(parsed: ParsedQuery, per_row: bool) -> str:
    """The text as a condition on items ``i``: a lookup per row, or membership in matches collected once."""
    if per_row and not parsed.costly:
        return "EXISTS (SELECT 1 FROM items_fts f WHERE f.items_fts MATCH ? AND f.rowid = i.id)"
    # Costly expressions (long prefixes) are always started once, never per row.
    return "+i.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)"


def _where(conditions: list[str]) -> str:
    return " AND ".join(conditions) if conditions else "1"


def _newest_matches(db: sqlite_utils.Database, parsed: ParsedQuery, size: int) -> list[int]:
    """Up to ``size`` matches, most recently archived first (FTS5 stops at the LIMIT)."""
    return [row[0] for row in db.execute(
        "SELECT rowid FROM items_fts WHERE items_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
        [parsed.expression, size])]


def search(db: sqlite_utils.Database, query: SearchQuery) -> SearchResult:
    """Run ``query``; raise QueryError for a query FTS5 or the filters cannot take."""
    if query.order not in SORTS:
        raise QueryError(f"--sort {query.sort!r}: use relevance or newest")
    if query.limit < 1:
        raise QueryError("--limit must be at least 1")
    parsed = parse_query(query.text) if query.text.strip() else None
    if parsed is None and query.sort == "relevance":
        raise QueryError("--sort relevance needs a query text")
    if query.within not in WITHIN:
        raise QueryError(f"--in {query.within!r}: use all, pages or documents")
    if parsed is None and query.within == "documents":
        raise QueryError("--in documents needs a query text")
    filters = build_filters(query)
    if parsed is not None and query.within == "documents":
        if _uses_columns(parsed):
            raise QueryError("column filters (title:, summary:, body:) are fields of pages, not of "
                             f"documents: drop them or search --in pages (query {parsed.text!r})")
        return _search_documents(db, query, parsed, filters)
    try:
        if parsed is not None and query.order == "relevance":
            ids, scores, plan, exact, matches = _relevance(db, query, parsed, filters)
        else:
            ids, plan, matches = _newest(db, query, parsed, filters)
            scores, exact = {}, True
        rows = _rows(db, ids, parsed, scores)
    except sqlite3.OperationalError as exc:
        if parsed is not None:
            raise _fts_error(exc, parsed) from None
        raise
    result = SearchResult(rows=rows, plan=plan, exact=exact, matches=matches)
    # Documents come after every page match: only when those are all there (fewer than the
    # limit, all ranked), and only for queries documents can answer (no page columns).
    if (parsed is not None and query.within == "all" and exact and len(rows) < query.limit
            and not _uses_columns(parsed)):
        _add_document_matches(db, query, parsed, filters, result)
    return result


_QUOTED = re.compile(r'"(?:[^"]|"")*"')


def _uses_columns(parsed: ParsedQuery) -> bool:
    """Does the query filter on the pages' columns (title:, summary:, body:)?"""
    return re.search(r"\b(title|summary|body) :", _QUOTED.sub('""', parsed.expression)) is not None


def _document_hits_and_rows(db: sqlite_utils.Database, query: SearchQuery, parsed: ParsedQuery,
                            filters: list[Filter], limit: int, exclude: set[int]) -> list[dict[str, Any]]:
    """Rows of the items whose documents match, best page first, the page named in the snippet."""
    try:
        hits = document_hits(db, parsed.expression, [f.check_sql for f in filters],
                             [p for f in filters for p in f.params], query.order, limit, exclude)
        snippets = page_snippets(db, parsed.expression, hits, MARK_START, MARK_END)
    except sqlite3.OperationalError as exc:
        raise _fts_error(exc, parsed) from None
    scores = {hit.item_id: hit.score for hit in hits} if query.order == "relevance" else {}
    rows = _rows(db, [hit.item_id for hit in hits], None, scores)
    for row in rows:
        row["snippet"] = snippets[row["id"]]
    return rows


def _search_documents(db: sqlite_utils.Database, query: SearchQuery, parsed: ParsedQuery,
                      filters: list[Filter]) -> SearchResult:
    rows = _document_hits_and_rows(db, query, parsed, filters, query.limit, set())
    return SearchResult(rows=rows, plan=f"documents: {len(rows)} item(s) by their documents' pages")


def _add_document_matches(db: sqlite_utils.Database, query: SearchQuery, parsed: ParsedQuery,
                          filters: list[Filter], result: SearchResult) -> None:
    """After the pages' own matches: the items only their documents match (--in all)."""
    found = {row["id"] for row in result.rows}
    more = _document_hits_and_rows(db, query, parsed, filters, query.limit - len(result.rows), found)
    if not more:
        return
    result.rows.extend(more)
    if query.order == "newest":
        result.rows.sort(key=lambda row: (row["published_utc"] or "", row["id"]), reverse=True)
    result.plan += f"; then {len(more)} item(s) by their documents"
    if result.matches is not None:
        result.matches += len(more)


# Newest first: published_utc, then id (both in the items_published index, so
# walking it needs no sort and, without filters, no read of the items rows).
_NEWEST = "ORDER BY i.published_utc DESC, i.id DESC LIMIT ?"


def _newest(db: sqlite_utils.Database, query: SearchQuery, parsed: ParsedQuery | None,
            filters: list[Filter]) -> tuple[list[int], str, int | None]:
    bounds = plan_bounds(db, query.limit)
    checks = [f.check_sql for f in filters]
    check_params = [p for f in filters for p in f.params]
    estimate = None
    if parsed is not None:
        ids = _newest_matches(db, parsed, bounds.small + 1)
        if len(ids) <= bounds.small:
            sql = (f"SELECT i.id FROM items i WHERE i.id IN (SELECT value FROM json_each(?)) "
                   f"AND {_where(checks)} {_NEWEST}")
            found = [row[0] for row in db.execute(sql, [json.dumps(ids), *check_params, query.limit])]
            return found, f"newest: {len(ids)} text matches, sorted", len(ids)
        # Matches per id among the newest ids, times the ids: roughly how many match.
        estimate = int(len(ids) * bounds.items / max(1, bounds.items - ids[-1] + 1))
    smallest = _smallest_filter(db, filters, bounds.small)
    text_params = [parsed.expression] if parsed is not None else []
    if smallest is not None:
        driver, size = smallest
        others = [f for f in filters if f is not driver]
        # Check each of the filter's items, or collect the matches once: whichever is cheaper.
        per_row = estimate is not None and size * CHECK_COST < estimate
        text = [_text_check(parsed, per_row)] if parsed is not None else []
        sql = (f"SELECT i.id FROM items i WHERE i.id IN ({driver.ids_sql}) "
               f"AND {_where([f.check_sql for f in others] + text)} {_NEWEST}")
        params = [*driver.params, *(p for f in others for p in f.params), *text_params, query.limit]
        found = [row[0] for row in db.execute(sql, params)]
        how = "each checked" if per_row else "against the text matches collected"
        return found, f"newest: {size} items by {driver.name}, {how}", None
    if parsed is not None and (parsed.costly or estimate is not None and estimate <= bounds.dense):
        # Collect the matches once, walk the items newest first against them.
        sql = (f"SELECT i.id FROM items i INDEXED BY items_published WHERE "
               f"+i.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?) "
               f"AND {_where(checks)} {_NEWEST}")
        found = [row[0] for row in db.execute(sql, [parsed.expression, *check_params, query.limit])]
        return found, f"newest: ~{estimate:,} text matches collected, walked newest first", None
    # Dense matches (or no text): walk newest first, check each item, stop at LIMIT.
    text = [_text_check(parsed, per_row=True)] if parsed is not None else []
    sql = f"SELECT i.id FROM items i INDEXED BY items_published WHERE {_where(checks + text)} {_NEWEST}"
    found = [row[0] for row in db.execute(sql, [*check_params, *text_params, query.limit])]
    what = f"~{estimate:,} text matches: " if estimate is not None else ""
    return found, f"newest: {what}walked newest first, each checked", None


def _relevance(db: sqlite_utils.Database, query: SearchQuery, parsed: ParsedQuery, filters: list[Filter]
               ) -> tuple[list[int], dict[int, float], str, bool, int | None]:
    weights = ", ".join(str(weight) for weight in BM25_WEIGHTS)
    bm25 = f"bm25(items_fts, {weights})"
    cap = query.candidates
    rank_all = not cap or len(_newest_matches(db, parsed, cap + 1)) <= cap
    limit = "" if rank_all else f"ORDER BY f.rowid DESC LIMIT {cap + 1}"
    # bm25 never runs with a rowid constraint (FTS5 would recount the whole
    # index for every row): items_fts is always the outer loop (CROSS JOIN).
    if not filters:
        sql = f"SELECT f.rowid, {bm25} FROM items_fts f WHERE f.items_fts MATCH ? {limit}"
        params: list[Any] = [parsed.expression]
        where = ""
    else:
        # Walking the newest matches, each is tested against the filters: by
        # reading its row (~5 µs), or, when a filter selects at most
        # `members` items, by membership in that filter's ids collected once
        # (~0.5 µs per id, then ~0.3 µs per test). The walk covers about
        # cap / share-of-items-passing rows, hence the square root.
        bounds = plan_bounds(db, query.limit)
        members = max(bounds.small, int(math.sqrt(10 * cap * bounds.items)))
        smallest = None if rank_all else _smallest_filter(db, filters, members)
        if smallest is None:
            sql = (f"SELECT f.rowid, {bm25} FROM items_fts f CROSS JOIN items i ON i.id = f.rowid "
                   f"WHERE f.items_fts MATCH ? AND {_where([f.check_sql for f in filters])} {limit}")
            params = [parsed.expression, *(p for f in filters for p in f.params)]
            where = ""
        else:
            # Test membership in the filter's ids (no row read); a small filter
            # also bounds the walk to the part of the index its ids span.
            driver, size = smallest
            others = [f for f in filters if f is not driver]
            low, high = 0, bounds.items
            if size <= bounds.small:
                low, high = db.execute(f"SELECT min(id), max(id) FROM ({driver.ids_sql})",
                                       driver.params).fetchone()
            sql = (f"SELECT f.rowid, {bm25} FROM items_fts f CROSS JOIN items i ON i.id = f.rowid "
                   f"WHERE f.items_fts MATCH ? AND f.rowid BETWEEN ? AND ? "
                   f"AND +f.rowid IN ({driver.ids_sql}) "
                   f"AND {_where([f.check_sql for f in others])} {limit}")
            params = [parsed.expression, low or 0, high or 0, *driver.params,
                      *(p for f in others for p in f.params)]
            where = f" (within {size} items by {driver.name})"
    candidates = db.execute(sql, params).fetchall()
    matches = len(candidates) if rank_all else None
    exact = rank_all or len(candidates) <= cap
    if rank_all:
        plan = "relevance: every match ranked"
    elif exact:
        plan = f"relevance: the newest {cap} matches ranked: all of them"
    else:
        plan = f"relevance: the newest {cap} matches ranked"
        del candidates[cap:]
    # Best first (bm25 is lower for better matches); equal scores newest first.
    candidates.sort(key=lambda row: row[1])
    if len(candidates) > query.limit:
        boundary = candidates[query.limit - 1][1]
        candidates = [row for row in candidates if row[1] <= boundary]
    dates = dict(db.execute("SELECT id, published_utc FROM items "
                            "WHERE id IN (SELECT value FROM json_each(?))",
                            [json.dumps([row[0] for row in candidates])]).fetchall())
    candidates.sort(key=lambda row: (row[1], _descending(dates.get(row[0])), -row[0]))
    top = candidates[: query.limit]
    return [row[0] for row in top], {row[0]: -row[1] for row in top}, plan + where, exact, matches


def _descending(text: str | None) -> tuple[int, ...]:
    """A sort key that orders texts descending (None last)."""
    return tuple(-ord(char) for char in text or "") + (1,)


ROW_COLUMNS = ("id", "uid", "published", "published_utc", "source", "kind", "region", "country", "language",
               "title", "url", "countries")


def _rows(db: sqlite_utils.Database, ids: list[int], parsed: ParsedQuery | None,
          scores: dict[int, float]) -> list[dict[str, Any]]:
    """The result rows for ``ids``, in that order, with topics and a snippet."""
    if not ids:
        return []
    id_list = json.dumps(ids)
    records = {
        row["id"]: row for row in db.query(
            f"SELECT {', '.join(ROW_COLUMNS)}, summary FROM items "
            "WHERE id IN (SELECT value FROM json_each(?))",
            [id_list])
    }
    topics: dict[int, list[str]] = {}
    for item_id, topic in db.execute(
        "SELECT item_id, topic FROM item_topics WHERE item_id IN (SELECT value FROM json_each(?)) "
        "ORDER BY item_id, topic", [id_list]
    ):
        topics.setdefault(item_id, []).append(topic)
    snippets: dict[int, str] = {}
    if parsed is not None:
        snippet = f"snippet(items_fts, -1, '{MARK_START}', '{MARK_END}', '…', {SNIPPET_TOKENS})"
        if parsed.costly:
            # One pass over the part of the index the results span, not one start per row.
            sql = (f"SELECT f.rowid, {snippet} FROM items_fts f WHERE f.items_fts MATCH ? "
                   "AND f.rowid BETWEEN ? AND ? AND +f.rowid IN (SELECT value FROM json_each(?))")
            params = [parsed.expression, min(ids), max(ids), id_list]
        else:
            sql = (f"SELECT f.rowid, {snippet} FROM items_fts f WHERE f.items_fts MATCH ? "
                   "AND f.rowid IN (SELECT value FROM json_each(?))")
            params = [parsed.expression, id_list]
        snippets = dict(db.execute(sql, params).fetchall())
    rows = []
    for item_id in ids:
        record = dict(records[item_id])
        summary = record.pop("summary") or ""
        record["countries"] = json.loads(record["countries"] or "[]")
        record["topics"] = topics.get(item_id, [])
        record["score"] = round(scores[item_id], 6) if item_id in scores else None
        record["snippet"] = snippets.get(item_id) or _lead(summary)
        rows.append(record)
    return rows


def _lead(text: str, words: int = SNIPPET_TOKENS) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


# --------------------------------------------------------------------------- values in the archive


def distinct_values(db: sqlite_utils.Database, table: str, column: str, where: str = "1") -> list[str]:
    """The distinct non-empty values of an indexed column, by skipping from one value to the next
    in the index: a few lookups, not a scan. ``table`` may carry INDEXED BY (feeds/collect.py reads
    partial indexes); ``where`` is SQL from the caller, never from a user."""
    sql = (f"WITH RECURSIVE v(x) AS ("
           f"SELECT (SELECT min({column}) FROM {table} WHERE {where} AND {column} > '') "
           f"UNION ALL SELECT (SELECT min({column}) FROM {table} WHERE {where} AND {column} > v.x) "
           "FROM v WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL")
    return [row[0] for row in db.execute(sql)]


def check_values(db: sqlite_utils.Database, query: SearchQuery, known_topics: set[str]) -> SearchQuery:
    """Refuse filter values the archive has never seen (typos), with what it does have.

    Topics are known when items carry them or topics.toml defines them.
    Regions match case-insensitively; a unique prefix is enough.
    """
    for option, column, values in (
        ("--source", "source", query.sources),
        ("--kind", "kind", query.kinds),
        ("--lang", "language", query.languages),
    ):
        for value in values:
            if db.execute(f"SELECT 1 FROM items WHERE {column} = ? LIMIT 1", [value]).fetchone() is None:
                known = distinct_values(db, "items", column)
                raise QueryError(f"{option} {value!r}: no such {column} in the archive "
                                 f"(known: {', '.join(known) or 'none'})")
    regions = []
    if query.regions:
        known_regions = distinct_values(db, "items", "region")
        for value in query.regions:
            found = [r for r in known_regions if r.lower() == value.lower()] or [
                r for r in known_regions if r.lower().startswith(value.lower())]
            if len(found) != 1:
                why = "ambiguous" if found else "no such region in the archive"
                raise QueryError(f"--region {value!r}: {why} (known: {'; '.join(known_regions) or 'none'})")
            regions.append(found[0])
    for topic in query.topics:
        if topic in known_topics:
            continue
        if db.execute("SELECT 1 FROM item_topics WHERE topic = ? LIMIT 1", [topic]).fetchone() is None:
            known = sorted(set(distinct_values(db, "item_topics", "topic")) | known_topics)
            raise QueryError(f"--topic {topic!r}: unknown topic (known: {', '.join(known) or 'none yet'})")
    return replace(query, regions=tuple(regions))


def normalize_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code from a code or an English name ('md', 'Moldova' -> 'MD')."""
    text = value.strip()
    if re.fullmatch(r"[A-Za-z]{2}", text):
        return text.upper()
    import pycountry

    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        pass
    raise QueryError(f"--country {value!r}: not an ISO 3166-1 alpha-2 code or a country name")
