"""How well topics.toml sorts items an editor labelled: precision, recall and F1 per topic.

The labelled file is JSON lines shaped like ``../shared/corpora/topics/labelled.jsonl``:
``url``, ``title``, ``body``, ``language`` and ``topics`` (the ids of the topics the
item is substantially about) on every line; ``summary``, ``source``, ``kind`` and
``countries`` optional. Each item is classified with the current rules
(`Classifier.score`, saved searches run over an in-memory full-text index like
the archive's) and compared with its labels. Pure apart from reading the file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.topics import Classifier, TopicScore
from presswatch.config.files import ConfigError

REQUIRED = ("url", "title", "body", "language", "topics")
OPTIONAL_TEXT = ("summary", "source", "kind")


def read_labelled(path: Path) -> list[dict[str, Any]]:
    """The labelled items of a JSON-lines file; ConfigError (one line: file:line, field) on a bad one."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: not a JSON object: {exc}") from None
        if not isinstance(item, dict):
            raise ConfigError(f"{path}:{number}: not a JSON object")
        for name in REQUIRED:
            if name not in item:
                raise ConfigError(f"{path}:{number}: {name}: missing required field")
        for name in ("url", "title", "body", "language", *OPTIONAL_TEXT):
            if name in item and item[name] is not None and not isinstance(item[name], str):
                raise ConfigError(f"{path}:{number}: {name}: must be a string")
        topics = item["topics"]
        if not isinstance(topics, list) or not all(isinstance(topic, str) for topic in topics):
            raise ConfigError(f"{path}:{number}: topics: must be a list of topic ids")
        countries = item.get("countries", [])
        if not isinstance(countries, list):
            raise ConfigError(f"{path}:{number}: countries: must be a list of country codes")
        items.append({**item, "countries": json.dumps(countries), "line": number})
    if not items:
        raise ConfigError(f"{path}: no labelled items")
    return items


@dataclass
class Counts:
    """True positives, false positives and false negatives of one topic (or of all)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class ItemResult:
    url: str
    title: str
    gold: list[str]
    predicted: list[str]
    decisions: dict[str, TopicScore]  # topic id -> the classifier's decision

    @property
    def scores(self) -> dict[str, float]:
        """The topics that scored anything -> their score."""
        return {topic: decision.score for topic, decision in self.decisions.items() if decision.score}


@dataclass
class Evaluation:
    items: list[ItemResult]
    topics: dict[str, Counts] = field(default_factory=dict)  # every topic of the file or the labels

    @property
    def micro(self) -> Counts:
        total = Counts()
        for counts in self.topics.values():
            total.tp, total.fp, total.fn = total.tp + counts.tp, total.fp + counts.fp, total.fn + counts.fn
        return total

    @property
    def measured(self) -> dict[str, Counts]:
        """The topics the labels or the predictions name (those the macro average is over)."""
        return {topic: counts for topic, counts in self.topics.items() if counts.tp + counts.fp + counts.fn}

    @property
    def macro(self) -> dict[str, float]:
        measured = list(self.measured.values())
        if not measured:
            return {"precision": 0.0, "recall": 0.0, "f1": 0.0}
        return {name: round(sum(getattr(counts, name) for counts in measured) / len(measured), 4)
                for name in ("precision", "recall", "f1")}

    def errors(self) -> list[tuple[str, str, ItemResult]]:
        """("fp" | "fn", topic, item) for every wrong decision, by topic then URL."""
        found = []
        for result in self.items:
            found += [("fp", topic, result) for topic in result.predicted if topic not in result.gold]
            found += [("fn", topic, result) for topic in result.gold if topic not in result.predicted]
        return sorted(found, key=lambda error: (error[1], error[0], error[2].url))

    def as_json(self) -> dict[str, Any]:
        return {
            "items": [{"url": r.url, "gold": r.gold, "predicted": r.predicted, "scores": r.scores}
                      for r in self.items],
            "topics": {topic: counts.as_dict() for topic, counts in self.topics.items()},
            "micro": self.micro.as_dict(),
            "macro": self.macro,
        }


def saved_search_hits(classifier: Classifier, items: list[dict[str, Any]]) -> list[set[str]]:
    """For each item, the query topics whose full-text query matches it (an in-memory index
    with the archive's tokenizer: schema's items_fts)."""
    hits: list[set[str]] = [set() for _ in items]
    if not classifier.query_topics:
        return hits
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute('CREATE VIRTUAL TABLE items_fts USING fts5(title, summary, body, '
                     'tokenize="unicode61 remove_diacritics 2", prefix="2 3")')
        conn.executemany("INSERT INTO items_fts (rowid, title, summary, body) VALUES (?, ?, ?, ?)",
                         [(index, item.get("title") or "", item.get("summary") or "", item.get("body") or "")
                          for index, item in enumerate(items)])
        for topic in classifier.query_topics:
            matches = conn.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH ?", [topic.query])
            for (rowid,) in matches:
                hits[rowid].add(topic.id)
    finally:
        conn.close()
    return hits


def evaluate(classifier: Classifier, items: list[dict[str, Any]]) -> Evaluation:
    """Classify every labelled item and count, per topic, what agrees with its labels."""
    known = classifier.topics.ids
    labelled = [topic for item in items for topic in item["topics"] if topic not in known]
    evaluation = Evaluation([], {topic: Counts() for topic in [*known, *dict.fromkeys(labelled)]})
    for item, hits in zip(items, saved_search_hits(classifier, items), strict=True):
        decisions = {decision.topic: decision for decision in classifier.score(item, hits)}
        predicted = [topic for topic, decision in decisions.items() if decision.accepted]
        gold = list(dict.fromkeys(item["topics"]))
        evaluation.items.append(ItemResult(item["url"], item.get("title") or "", gold, predicted, decisions))
        for topic in set(predicted) | set(gold):
            counts = evaluation.topics[topic]
            if topic in predicted and topic in gold:
                counts.tp += 1
            elif topic in predicted:
                counts.fp += 1
            else:
                counts.fn += 1
    return evaluation


def decided_by(decision: TopicScore | None) -> str:
    """One line: the score, threshold and the terms that decided (for an error list)."""
    if decision is None:
        return "not a topic of this topics.toml"
    terms = "; ".join(hit.describe() for hit in decision.hits)
    return f"{decision.reason}" + (f" [{terms}]" if terms else " [no term matched]")


def share_warnings(counts: Iterable[tuple[str, int]], total: int, limit: float = 0.25) -> list[str]:
    """A warning for each topic holding more than ``limit`` of ``total`` items."""
    return [f"topic {topic!r} holds {count} of {total} items ({count / total:.0%}), more than "
            f"{limit:.0%} of the archive: its rules may take passing mentions"
            for topic, count in counts if total and count / total > limit]
