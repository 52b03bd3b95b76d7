"""Which archived items belong to which topics of topics.toml.

Matching (pure, no database): an item's text is its title, summary and body,
folded to lower case with diacritics removed (so 'Chișinău', 'Chişinău' and
'chisinau' are one word, and 'й' matches 'и'). A keyword matches whole words
only; a phrase matches its words separated by any spaces or punctuation
('left behind children' matches "left-behind' children"); 'word*' matches
words starting with 'word'. English keywords apply to every item, the
keywords of another language only to items in that language. A topic
collects an item when a keyword (or its saved full-text query) matches, no
exclusion matches, and the item passes the rule's filters.

Storage: the result is the ``item_topics`` table. The classification is
fingerprinted (topics.toml's content plus CLASSIFIER_VERSION) in ``state``;
`ensure_classified` recomputes the whole archive when the fingerprint changed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import sqlite_utils

from presswatch.archive.db import FEED_TIME, write_transaction
from presswatch.config.topics import Topic, TopicSet

FINGERPRINT_KEY = "topics_fingerprint"

# Regexes rather than a Python step per character or str.translate (both ~0.3 ms on a
# 600-word text that is not pure ASCII; these take a few µs): combining marks are
# never ASCII, so only the non-ASCII runs are looked at one character at a time.
_APOSTROPHES = re.compile("[’ʼ‘`ʻ′]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_TOKEN = re.compile(r"\w+\*?")


def _without_combining(match: re.Match[str]) -> str:
    return "".join(char for char in match.group() if not unicodedata.combining(char))


def fold(text: str) -> str:
    """Text as the matcher sees it: lower case (casefold), no diacritics, plain apostrophes."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = _NON_ASCII_RUN.sub(_without_combining, decomposed)
    return _APOSTROPHES.sub("'", unicodedata.normalize("NFC", stripped).casefold())


def keyword_pattern(keyword: str) -> str:
    """The regular expression (over folded text) of one keyword or phrase."""
    parts = []
    for token in _TOKEN.findall(fold(keyword)):
        if token.endswith("*"):
            parts.append(re.escape(token[:-1]) + r"\w*")
        else:
            parts.append(re.escape(token))
    return r"\W+".join(parts)


def compile_keywords(keywords: list[str]) -> re.Pattern[str]:
    """One pattern matching any of ``keywords`` as whole words."""
    # Longest first: the alternation then prefers the most specific phrase.
    patterns = sorted({keyword_pattern(keyword) for keyword in keywords}, key=lambda p: (-len(p), p))
    return re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)")


def item_text(item: dict[str, Any]) -> str:
    """The folded text an item is matched on: title, summary and body."""
    parts = (item.get("title"), item.get("summary"), item.get("body"))
    return fold("\n".join(part for part in parts if part))


def item_countries(item: dict[str, Any]) -> list[str]:
    """The source's country and the countries the item names."""
    named = item.get("countries") or []
    if isinstance(named, str):
        try:
            named = json.loads(named)
        except ValueError:
            named = []
    countries = [item["country"]] if item.get("country") else []
    return sorted(set(countries) | {code for code in named if isinstance(code, str)})


class _LanguageRule:
    """Compiled keywords of one language table (keywords or exclude)."""

    def __init__(self, table: dict[str, list[str]]):
        self.patterns = {language: compile_keywords(words) for language, words in table.items()}

    def search(self, text: str, language: str | None) -> str | None:
        """The first keyword found (English ones for every item, the item's language's too)."""
        for code in dict.fromkeys(["en", language or "en"]):
            pattern = self.patterns.get(code)
            if pattern is not None:
                found = pattern.search(text)
                if found:
                    return found.group(0)
        return None


class Classifier:
    """The topics of one topics.toml, compiled once; `topics_for` is pure."""

    def __init__(self, topics: TopicSet):
        self.topics = topics
        self._keywords = {topic.id: _LanguageRule(topic.rule.keywords) for topic in topics}
        self._exclude = {topic.id: _LanguageRule(topic.rule.exclude) for topic in topics}

    @property
    def query_topics(self) -> list[Topic]:
        return [topic for topic in self.topics if topic.is_query]

    def topics_for(self, item: dict[str, Any], query_hits: frozenset[str] | set[str] = frozenset()
                   ) -> list[str]:
        """Topic ids (in file order) of an items row. ``query_hits``: the query topics whose
        full-text query matches the item (the one part that needs the database)."""
        text = item_text(item)
        language = item.get("language")
        countries = item_countries(item)
        found = []
        for topic in self.topics:
            if not topic.rule.admits(item, countries):
                continue
            if topic.is_query:
                if topic.id not in query_hits:
                    continue
            elif self._keywords[topic.id].search(text, language) is None:
                continue
            if self._exclude[topic.id].search(text, language) is not None:
                continue
            found.append(topic.id)
        return found

    def explain(self, item: dict[str, Any], topic_id: str) -> str | None:
        """The keyword that put the item in a keyword topic (for debugging a rule)."""
        return self._keywords[topic_id].search(item_text(item), item.get("language"))


def query_hits(
    db: sqlite_utils.Database, classifier: Classifier, item_id: int | None = None
) -> dict[int, set[str]]:
    """item id -> the query topics whose full-text query matches it (one item or all)."""
    hits: dict[int, set[str]] = {}
    for topic in classifier.query_topics:
        sql = "SELECT rowid FROM items_fts WHERE items_fts MATCH ?"
        params: list[Any] = [topic.query]
        if item_id is not None:
            sql += " AND rowid = ?"
            params.append(item_id)
        for (rowid,) in db.execute(sql, params).fetchall():
            hits.setdefault(rowid, set()).add(topic.id)
    return hits


def store_topics(db: sqlite_utils.Database, item_id: int, topic_ids: list[str]) -> None:
    db.execute("DELETE FROM item_topics WHERE item_id = ?", [item_id])
    if topic_ids:
        db.conn.executemany(
            "INSERT INTO item_topics (topic, item_id) VALUES (?, ?)",
            [(topic, item_id) for topic in topic_ids],
        )


def read_item(db: sqlite_utils.Database, item_id: int) -> dict[str, Any] | None:
    cursor = db.execute("SELECT * FROM items WHERE id = ?", [item_id])
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([column[0] for column in cursor.description], row, strict=True))


def classify_item(db: sqlite_utils.Database, classifier: Classifier, item_id: int) -> list[str]:
    """(Re)classify one archived item; return its topics."""
    with write_transaction(db):
        item = read_item(db, item_id)
        if item is None:
            return []
        topic_ids = classifier.topics_for(item, query_hits(db, classifier, item_id).get(item_id, set()))
        store_topics(db, item_id, topic_ids)
    return topic_ids


def _reclassify_in_transaction(db: sqlite_utils.Database, classifier: Classifier) -> dict[str, int]:
    counts = dict.fromkeys(classifier.topics.ids, 0)
    hits = query_hits(db, classifier)
    db.execute("DELETE FROM item_topics")
    cursor = db.execute("SELECT id, source, kind, region, country, countries, language, title, summary, "
                        f"body, {FEED_TIME} AS feed_time FROM items")
    columns = [column[0] for column in cursor.description]
    rows = []
    for values in cursor:
        item = dict(zip(columns, values, strict=True))
        for topic_id in classifier.topics_for(item, hits.get(item["id"], set())):
            rows.append((topic_id, item["id"], item["feed_time"]))
            counts[topic_id] += 1
    # With the feed time (feeds sort by it): the insert trigger then has nothing to look up.
    db.conn.executemany("INSERT INTO item_topics (topic, item_id, feed_time) VALUES (?, ?, ?)", rows)
    db.execute(
        "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [FINGERPRINT_KEY, classifier.topics.fingerprint],
    )
    return counts


def reclassify_all(db: sqlite_utils.Database, classifier: Classifier) -> dict[str, int]:
    """Recompute item_topics for the whole archive in one transaction; topic -> item count."""
    with write_transaction(db):
        return _reclassify_in_transaction(db, classifier)


def stored_fingerprint(db: sqlite_utils.Database) -> str | None:
    row = db.execute("SELECT value FROM state WHERE key = ?", [FINGERPRINT_KEY]).fetchone()
    return row[0] if row else None


def forget_fingerprint(db: sqlite_utils.Database) -> None:
    """Mark the classification as stale: the next `ensure_classified` recomputes it all."""
    db.execute("DELETE FROM state WHERE key = ?", [FINGERPRINT_KEY])


def ensure_classified(db: sqlite_utils.Database, classifier: Classifier) -> dict[str, int] | None:
    """Reclassify the archive if topics.toml changed since the last classification.

    Returns the per-topic counts when it reclassified, None when it was current.
    The check runs under the write lock, so two crawlers starting at once
    reclassify only once.
    """
    if stored_fingerprint(db) == classifier.topics.fingerprint:
        return None
    with write_transaction(db):
        if stored_fingerprint(db) == classifier.topics.fingerprint:
            return None
        return _reclassify_in_transaction(db, classifier)
