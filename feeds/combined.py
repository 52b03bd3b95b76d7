"""Feeds by combination, made on request: ``/feed.atom?topic=...&country=...&source=...&kind=...&q=...``.

Like ReliefWeb's RSS parameters: every parameter is optional and they combine
with AND; ``q`` is a full-text query (FTS5 syntax, as `presswatch search`) and
``min_score`` keeps only items at least that much about ``topic``
(``item_topics.score``). The entries are those the published feeds would show
(one per story, backfills last: feeds/collect.py), newest first, ``limit`` of
them, in Atom (``/feed.atom``) or RSS (``/feed.rss``). `presswatch serve --db`
answers these URLs (feeds/serve.py), with an ETag so readers revalidate for a
304. A wrong parameter is a 400 with a one-line reason.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pycountry

from feeds.build import FeedSpec, base, feed_updated, render_atom, render_rss
from feeds.collect import country_name, select_entries
from presswatch.archive.db import open_archive
from presswatch.config.sources import KINDS
from presswatch.config.topics import TopicSet, load_topics

PARAMETERS = ("topic", "country", "source", "kind", "q", "min_score")
FORMATS = {"atom": ("application/atom+xml", render_atom), "rss": ("application/rss+xml", render_rss)}


class CombinationError(ValueError):
    """A request for a combination feed that cannot be answered (HTTP 400): one line, why."""


@dataclass(frozen=True)
class Combination:
    """What a combination feed selects; None: any."""

    topic: str | None = None
    country: str | None = None
    source: str | None = None
    kind: str | None = None
    q: str | None = None
    min_score: float | None = None

    @classmethod
    def parse(cls, query: str, topics: TopicSet) -> Combination:
        """The combination a URL's query string asks for; CombinationError on a wrong parameter."""
        values: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name not in PARAMETERS:
                raise CombinationError(f"unknown parameter {name!r} (known: {', '.join(PARAMETERS)})")
            if name in values:
                raise CombinationError(f"parameter {name!r} given twice")
            if value.strip():
                values[name] = value.strip()
        topic = values.get("topic")
        if topic is not None and topic not in topics:
            raise CombinationError(f"no topic {topic!r} (known: {', '.join(topics.ids)})")
        country = values.get("country")
        if country is not None:
            country = country.upper()
            if len(country) != 2 or pycountry.countries.get(alpha_2=country) is None:
                raise CombinationError(f"{values['country']!r} is not an ISO 3166-1 alpha-2 country code")
        kind = values.get("kind")
        if kind is not None and kind not in KINDS:
            raise CombinationError(f"no kind {kind!r} (known: {', '.join(KINDS)})")
        min_score = None
        if "min_score" in values:
            if topic is None:
                raise CombinationError("min_score needs a topic (it is how much an item is about it)")
            try:
                min_score = float(values["min_score"])
            except ValueError:
                raise CombinationError(f"min_score {values['min_score']!r} is not a number") from None
        return cls(topic, country, values.get("source"), kind, values.get("q"), min_score)

    @property
    def query_string(self) -> str:
        """The canonical query string (parameters in a fixed order), '' for everything."""
        pairs = [(name, getattr(self, name)) for name in PARAMETERS if getattr(self, name) is not None]
        return urlencode([(name, f"{value:g}" if isinstance(value, float) else value)
                          for name, value in pairs])

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition over ``items AS i`` and its parameters."""
        clauses, params = ["1"], []
        if self.topic is not None:
            score = " AND t.score >= ?" if self.min_score is not None else ""
            clauses.append("EXISTS (SELECT 1 FROM item_topics AS t WHERE t.item_id = i.id "
                           f"AND t.topic = ?{score})")
            params += [self.topic] + ([self.min_score] if self.min_score is not None else [])
        if self.country is not None:
            clauses.append("EXISTS (SELECT 1 FROM item_countries AS c WHERE c.item_id = i.id "
                           "AND c.country = ?)")
            params.append(self.country)
            if self.kind is None:  # as the country feeds: information pages only when asked for
                clauses.append("i.kind != 'page'")
        if self.source is not None:
            clauses.append("i.source = ?")
            params.append(self.source)
        if self.kind is not None:
            clauses.append("i.kind = ?")
            params.append(self.kind)
        if self.q is not None:
            clauses.append("i.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)")
            params.append(self.q)
        return " AND ".join(clauses), params

    def spec(self, topics: TopicSet) -> FeedSpec:
        parts = []
        if self.topic is not None:
            parts.append(topics.get(self.topic).title)
        if self.country is not None:
            parts.append(country_name(self.country))
        parts += [value for value in (self.source, self.kind) if value is not None]
        if self.q is not None:
            parts.append(f'"{self.q}"')
        label = " · ".join(parts) or "everything"
        query = self.query_string
        return FeedSpec(path="feed", section="combined", key=query, title=f"IOM: {label}",
                        description=f"Items presswatch archived matching: {label}.",
                        query=f"?{query}" if query else "")


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str
    etag: str
    last_modified: datetime


class CombinedFeeds:
    """Answers combination feed requests from an archive (opened read-only per request: the
    server's threads share nothing) with the current topics.toml."""

    def __init__(self, db_path: str | Path, topics_path: str | Path, *, base_url: str, limit: int = 50,
                 source_names: dict[str, str] | None = None):
        self.db_path = Path(db_path)
        self.topics_path = Path(topics_path)
        self.base_url = base(base_url)
        self.limit = limit
        self.source_names = source_names or {}

    def answer(self, fmt: str, query: str) -> Answer:
        """The feed for ``/feed.<fmt>?<query>``; CombinationError when the request is wrong."""
        content_type, render = FORMATS[fmt]
        topics = load_topics(self.topics_path)
        combination = Combination.parse(query, topics)
        where, params = combination.where()
        db = open_archive(self.db_path, readonly=True)
        try:
            entries = select_entries(db, topics, where, params, limit=self.limit,
                                     source_names=self.source_names)
        except sqlite3.OperationalError as exc:
            if combination.q is not None and ("fts5" in str(exc) or "syntax" in str(exc)):
                raise CombinationError(f"q {combination.q!r} is not a valid full-text query: {exc}") from None
            raise
        finally:
            db.close()
        body = render(combination.spec(topics), entries, self.base_url)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return Answer(body, content_type, etag, feed_updated(entries))
