"""Which archived items belong to which topics of topics.toml, and how much.

Matching (pure, no database): an item's text is its title, its lead (the summary
and the body's first paragraph) and the rest of its body, each folded to lower
case with diacritics removed (so 'Chișinău', 'Chişinău' and 'chisinau' are one
word, and 'й' matches 'и'). A term matches whole words only; a phrase matches its
words separated by any spaces or punctuation ('left behind children' matches
"left-behind' children"); 'word*' matches words starting with 'word'. English
terms apply to every item, the terms of another language only to items in that
language.

Relevance, not mentions (issue 15): every occurrence of a topic's terms weighs
the term's weight (keywords 1, strong terms ``scoring.strong``) times where it is
(``scoring.title``, ``lead``, ``body``); an occurrence inside one of the topic's
negative phrases ("after the pandemic") does not count; a term's repeats add
``scoring.repeat`` of its weight each, distinct terms add up. A keyword topic takes
an item when the score reaches ``scoring.threshold``, no exclusion matches, the item
passes the rule's filters, and it is not an information page (kind "page") unless
the topic takes pages. A saved search (query topic) takes the items its full-text
query matches, with its threshold as their score. `Classifier.score` gives every
topic's decision with the terms that made it (`presswatch topics explain`).

Storage: the result is the ``item_topics`` table (topic, item, score). The
classification is fingerprinted (topics.toml's content plus CLASSIFIER_VERSION) in
``state``; `ensure_classified` recomputes the whole archive when the fingerprint changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from presswatch.archive.db import write_transaction
from presswatch.archive.schema import FEED_TIME
from presswatch.config.topics import Scoring, Topic, TopicSet, load_topics
from presswatch.text import fold

__all__ = ["fold"]  # re-exported: the matcher's folding, as tests and tools import it from here

FINGERPRINT_KEY = "topics_fingerprint"

_TOKEN = re.compile(r"\w+\*?")
_WORD = re.compile(r"\w+")
_PARAGRAPHS = re.compile(r"\n\s*\n")
# A first paragraph shorter than this (a dateline, a one-line standfirst) takes the next one
# into the lead too.
_SHORT_LEAD = 150
SECTIONS = ("title", "lead", "body")


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


def _split_lead(body: str) -> tuple[str, str]:
    """(lead, rest) of a body: its first paragraph (two if the first is short), the others."""
    paragraphs = [part for part in (_PARAGRAPHS.split(body) if "\n\n" in body or "\n \n" in body
                                    else body.split("\n")) if part.strip()]
    if not paragraphs:
        return "", ""
    taken = 2 if len(paragraphs[0]) < _SHORT_LEAD and len(paragraphs) > 1 else 1
    return "\n".join(paragraphs[:taken]), "\n".join(paragraphs[taken:])


def item_sections(item: dict[str, Any]) -> dict[str, str]:
    """The folded title, lead (summary and first paragraph) and rest of the body of an item."""
    title = fold(item.get("title") or "")
    summary = " ".join(fold(item.get("summary") or "").split())
    lead, rest = _split_lead(fold(item.get("body") or ""))
    # A summary that is the body's own beginning is not counted twice.
    if summary and summary[:80] not in " ".join(lead.split()):
        lead = f"{summary}\n{lead}" if lead else summary
    return {"title": title, "lead": lead, "body": rest}


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


@dataclass(frozen=True)
class TermHit:
    """One term of a topic found in an item: where, how often, what it added to the score."""

    term: str  # as written in topics.toml
    weight: float  # the term's own weight: 1 (keyword), scoring.strong or scoring.context
    where: tuple[tuple[str, int], ...]  # (section, occurrences found), sections in SECTIONS order
    points: float
    negated: int = 0  # occurrences inside a negative phrase, not counted
    alone: bool = False  # a context term with no keyword or strong term beside it: not counted

    def describe(self) -> str:
        """``'pandemic*' x1: title 1, body 2 = 4`` (and what was not counted, and why)."""
        places = ", ".join(f"{section} {count}" for section, count in self.where) or "nowhere"
        notes = [f"{self.negated} in negative phrases"] if self.negated else []
        if self.alone:
            notes.append("context alone counts nothing")
        note = f" ({'; '.join(notes)})" if notes else ""
        return f"{self.term!r} x{self.weight:g}: {places} = {self.points:g}{note}"


@dataclass(frozen=True)
class TopicScore:
    """A topic's decision on one item: its score, threshold, verdict and why."""

    topic: str
    score: float
    threshold: float
    accepted: bool
    reason: str  # one line: what decided
    hits: tuple[TermHit, ...] = ()


@dataclass
class _Compiled:
    """One topic's patterns for items of one language (English terms plus that language's)."""

    terms: re.Pattern[str] | None  # any term (one alternation, longest first)
    each: list[tuple[re.Pattern[str], str]]  # in the alternation's order: (the term alone, its group)
    groups: dict[str, tuple[str, float]]  # group name -> (term as written, weight)
    context: frozenset[str]  # the groups of context terms (they count only next to another term)
    negative: re.Pattern[str] | None
    exclude: re.Pattern[str] | None
    tokens: list[tuple[str, list[str]]] = field(default_factory=list)  # (group, its term's tokens), in order
    negative_tokens: list[tuple[str, list[str]]] = field(default_factory=list)  # the negative phrases' too
    seen: dict[str, str] = field(default_factory=dict)  # matched text -> its group (memo)

    def group_of(self, matched: str) -> str:
        """Which term the alternation matched: the first, in its order, matching the text whole.
        (One alternation without a group per term: groups make the scan three times slower.)"""
        group = self.seen.get(matched)
        if group is None:
            group = next(name for pattern, name in self.each if pattern.fullmatch(matched))
            if len(self.seen) < 10_000:
                self.seen[matched] = group
        return group


def _languages(language: str | None) -> list[str]:
    return list(dict.fromkeys(["en", language or "en"]))


def _merged(table: Mapping[str, list[str]], language: str | None) -> list[str]:
    return [word for code in _languages(language) for word in table.get(code, [])]


def _compile_topic(topic: Topic, language: str | None) -> _Compiled:
    rule, scoring = topic.rule, topic.scoring
    weights: dict[str, tuple[str, float]] = {}  # pattern -> (term, weight); strong over keyword over context
    context: set[str] = set()  # the patterns of context terms
    tables = ((rule.context, scoring.context), (rule.keywords, 1.0), (rule.strong, scoring.strong))
    for table, weight in tables:
        for term in _merged(table, language):
            pattern = keyword_pattern(term)
            weights[pattern] = (term, weight)
            if table is rule.context:
                context.add(pattern)
            else:
                context.discard(pattern)
    groups: dict[str, tuple[str, float]] = {}
    supporting: set[str] = set()  # the groups of context terms
    each = []
    tokens = []
    # Longest first: the alternation then prefers the most specific phrase.
    ordered = sorted(weights, key=lambda p: (-len(p), p))
    for number, pattern in enumerate(ordered):
        groups[f"t{number}"] = weights[pattern]
        if pattern in context:
            supporting.add(f"t{number}")
        each.append((re.compile(pattern), f"t{number}"))
        tokens.append((f"t{number}", _TOKEN.findall(fold(weights[pattern][0]))))
    terms = re.compile(r"(?<!\w)(?:" + "|".join(ordered) + r")(?!\w)") if ordered else None
    negative = _merged(rule.negative, language)
    exclude = _merged(rule.exclude, language)
    return _Compiled(terms, each, groups, frozenset(supporting),
                     compile_keywords(negative) if negative else None,
                     compile_keywords(exclude) if exclude else None, tokens, _alternation_tokens(negative))


def _alternation_tokens(keywords: list[str]) -> list[tuple[str, list[str]]]:
    """("", tokens) of each alternative of `compile_keywords(keywords)`, in its order."""
    tokens = {keyword_pattern(keyword): _TOKEN.findall(fold(keyword)) for keyword in keywords}
    return [("", tokens[pattern]) for pattern in sorted(tokens, key=lambda p: (-len(p), p))]


def _term_points(places: list[float], weight: float, scoring: Scoring) -> float:
    """A term's share of the score: its best occurrence whole, the next ones at ``repeat``."""
    ordered = sorted(places, reverse=True)
    extra = sum(ordered[1:1 + scoring.max_repeats])
    return weight * (ordered[0] + scoring.repeat * extra)


def _filtered_out(topic: Topic, item: dict[str, Any], countries: list[str]) -> str | None:
    """Why the rule's filters leave the item out, or None when it passes them."""
    rule = topic.rule
    checks = (("sources", item.get("source")), ("kinds", item.get("kind")),
              ("regions", item.get("region")), ("languages", item.get("language")))
    for name, value in checks:
        allowed = getattr(rule, name)
        if allowed and value not in allowed:
            return f"filtered out: rule.{name} does not include {value!r}"
    if rule.countries and not set(rule.countries) & set(countries):
        return f"filtered out: names none of rule.countries ({', '.join(rule.countries)})"
    return None

# One term as the word index holds it: (its key: a topic's position in the file for its terms, -1 -
# that position for its negative phrases; the term's place in that alternation; its other tokens as
# (text, is a ``word*`` stem); its group).
_Entry = tuple[int, int, tuple[tuple[str, bool], ...], str]
_Match = tuple[str, int, int]  # (group, first word, last word) of one occurrence in a section


class _TermIndex:
    r"""Every term of every topic (for items of one language) by its first word.

    A term's pattern (`keyword_pattern` inside ``(?<!\w)(?:...)(?!\w)``) matches exactly a run of
    consecutive words of the folded text: each token the whole word, a ``word*`` token the word's
    beginning. So one walk over an item's words finds what every topic's alternation would find,
    with the same choice where terms overlap (its first alternative that matches, then on after the
    match), instead of one regular-expression scan per topic and section (a few ms an item).
    Negative phrases are alternations of the same kind, held under their own keys.
    """

    def __init__(self) -> None:
        self.exact: dict[str, list[_Entry]] = {}
        self.stems: dict[int, dict[str, list[_Entry]]] = {}  # stem length -> stem -> entries
        self._candidates: dict[str, list[_Entry]] = {}  # word -> its entries (memo)

    def add(self, key: int, order: int, tokens: list[str], group: str) -> None:
        first, *rest = [(token.removesuffix("*"), token.endswith("*")) for token in tokens]
        entry = (key, order, tuple(rest), group)
        if first[1]:
            self.stems.setdefault(len(first[0]), {}).setdefault(first[0], []).append(entry)
        else:
            self.exact.setdefault(first[0], []).append(entry)

    def candidates(self, word: str) -> list[_Entry]:
        """The terms whose first token ``word`` satisfies, by key, then alternation order."""
        found = list(self.exact.get(word, ()))
        for length, stems in self.stems.items():
            if len(word) >= length and (entries := stems.get(word[:length])):
                found.extend(entries)
        found.sort(key=lambda entry: (entry[0], entry[1]))
        if len(self._candidates) > 100_000:  # a bound on the memo, not expected to be reached
            self._candidates.clear()
        self._candidates[word] = found
        return found

    def scan(self, text: str) -> dict[int, list[_Match]]:
        """Key -> the occurrences of its alternation in ``text``, in order, as its regular expression
        finds them (non-overlapping, leftmost, the first alternative that matches)."""
        words = _WORD.findall(text)
        matches: dict[int, list[_Match]] = {}
        resume: dict[int, int] = {}  # key -> the word its alternation scans on from
        count = len(words)
        memo = self._candidates
        for position, word in enumerate(words):
            entries = memo.get(word)
            if entries is None:
                entries = self.candidates(word)
            for key, _order, rest, group in entries:
                if resume.get(key, 0) > position:
                    continue
                last = position + len(rest)
                if rest and (last >= count or not all(
                        (following.startswith(token) if stem else following == token)
                        for following, (token, stem) in zip(words[position + 1:last + 1], rest,
                                                            strict=True))):
                    continue
                matches.setdefault(key, []).append((group, position, last))
                resume[key] = last + 1
        return matches


class Classifier:
    """The topics of one topics.toml, compiled once; `score`, `scores_for` and `topics_for` are pure."""

    def __init__(self, topics: TopicSet):
        self.topics = topics
        self._compiled: dict[tuple[str, str | None], _Compiled] = {}
        self._indexes: dict[str | None, tuple[_TermIndex, frozenset[int]]] = {}

    @property
    def query_topics(self) -> list[Topic]:
        return [topic for topic in self.topics if topic.is_query]

    def _patterns(self, topic: Topic, language: str | None) -> _Compiled:
        key = (topic.id, language)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _compile_topic(topic, language)
        return compiled

    def _index(self, language: str | None) -> tuple[_TermIndex, frozenset[int]]:
        """The word index of every keyword topic's terms for ``language``, and the positions of the
        topics it holds (a topic with a term of no word at all is left to its regular expression)."""
        found = self._indexes.get(language)
        if found is None:
            index, held = _TermIndex(), set()
            for position, topic in enumerate(self.topics):
                if topic.is_query:
                    continue
                compiled = self._patterns(topic, language)
                if all(tokens for _group, tokens in compiled.tokens + compiled.negative_tokens):
                    for order, (group, tokens) in enumerate(compiled.tokens):
                        index.add(position, order, tokens, group)
                    for order, (group, tokens) in enumerate(compiled.negative_tokens):
                        index.add(-1 - position, order, tokens, group)
                    held.add(position)
            found = self._indexes[language] = (index, frozenset(held))
        return found

    def _occurrences(self, sections: dict[str, str], language: str | None
                     ) -> tuple[dict[str, dict[int, list[_Match]]], frozenset[int]]:
        """Section -> topic position -> its terms' occurrences, for the topics the index holds."""
        index, held = self._index(language)
        return {section: index.scan(sections[section]) for section in SECTIONS}, held

    def score(self, item: dict[str, Any], query_hits: frozenset[str] | set[str] = frozenset(), *,
              detail: bool = True) -> list[TopicScore]:
        """Every topic's decision on an items row (in file order). ``query_hits``: the query topics
        whose full-text query matches the item (the one part that needs the database).
        ``detail=False``: topics whose filters leave the item out are not scored (faster)."""
        sections = item_sections(item)
        countries = item_countries(item)
        found = self._occurrences(sections, item.get("language"))
        return [self._decide(topic, item, sections, countries, query_hits, detail, found, position)
                for position, topic in enumerate(self.topics)]

    def scores_for(self, item: dict[str, Any], query_hits: frozenset[str] | set[str] = frozenset()
                   ) -> dict[str, float]:
        """The topics that take the item (in file order) -> their scores."""
        return {decision.topic: decision.score for decision in self.score(item, query_hits, detail=False)
                if decision.accepted}

    def with_saved_searches(self, item: dict[str, Any], scores: Mapping[str, float],
                            query_hits: frozenset[str] | set[str]) -> dict[str, float]:
        """`scores_for`, given ``scores``: what it gave without the saved searches (in a worker, where
        the archive's full-text index is not at hand), and the saved searches that match the item."""
        merged: dict[str, float] = {}
        for topic in self.topics:
            if topic.is_query:
                decision = self._decide(topic, item, {}, item_countries(item), query_hits, False)
                if decision.accepted:
                    merged[topic.id] = decision.score
            elif topic.id in scores:
                merged[topic.id] = scores[topic.id]
        return merged

    def topics_for(self, item: dict[str, Any], query_hits: frozenset[str] | set[str] = frozenset()
                   ) -> list[str]:
        """Topic ids (in file order) that take an items row."""
        return list(self.scores_for(item, query_hits))

    def explain(self, item: dict[str, Any], topic_id: str,
                query_hits: frozenset[str] | set[str] = frozenset()) -> TopicScore:
        """One topic's decision on the item, with the terms that made it."""
        topic = self.topics.get(topic_id)
        sections = item_sections(item)
        position = next(number for number, other in enumerate(self.topics) if other.id == topic.id)
        return self._decide(topic, item, sections, item_countries(item), query_hits, True,
                            self._occurrences(sections, item.get("language")), position)

    def _decide(self, topic: Topic, item: dict[str, Any], sections: dict[str, str], countries: list[str],
                query_hits: frozenset[str] | set[str], detail: bool,
                found: tuple[dict[str, dict[int, list[_Match]]], frozenset[int]] | None = None,
                position: int = -1) -> TopicScore:
        threshold = topic.scoring.threshold
        refusal = _filtered_out(topic, item, countries)
        if refusal is None and item.get("kind") == "page" and not topic.takes_pages:
            refusal = "an information page (kind page): the topic does not take pages (include_pages)"
        if refusal is not None and not detail:
            return TopicScore(topic.id, 0.0, threshold, False, refusal)
        if topic.is_query:
            matched = topic.id in query_hits
            hits: tuple[TermHit, ...] = ()
            score = threshold if matched else 0.0
            reason = "the saved search matches" if matched else "the saved search does not match"
        else:
            compiled = self._patterns(topic, item.get("language"))
            occurrences = None
            if found is not None and position in found[1]:
                occurrences = {section: (found[0][section].get(position, []),
                                         found[0][section].get(-1 - position, [])) for section in SECTIONS}
            hits = tuple(self._hits(topic, compiled, sections, occurrences))
            score = round(sum(hit.points for hit in hits), 2)
            relation = ">=" if score >= threshold else "<"
            reason = f"score {score:g} {relation} threshold {threshold:g}"
            if refusal is None and score >= threshold:
                refusal = self._excluded(compiled, sections)
        accepted = score >= threshold and refusal is None
        if score >= threshold and refusal is not None:
            reason = f"{reason}, but {refusal}"
        return TopicScore(topic.id, score if accepted or not topic.is_query else 0.0, threshold, accepted,
                          reason, hits)

    @staticmethod
    def _excluded(compiled: _Compiled, sections: dict[str, str]) -> str | None:
        if compiled.exclude is None:
            return None
        for section in SECTIONS:
            found = compiled.exclude.search(sections[section])
            if found:
                return f"excluded: {found.group(0)!r} ({section})"
        return None

    @staticmethod
    def _hits(topic: Topic, compiled: _Compiled, sections: dict[str, str],
              occurrences: dict[str, tuple[list[_Match], list[_Match]]] | None = None
              ) -> Iterator[TermHit]:
        """The topic's terms found in the sections: ``occurrences`` (section -> its terms' and its
        negative phrases' occurrences, from the word index) when given, else its own scans."""
        if compiled.terms is None:
            return
        scoring = topic.scoring
        section_weight = {"title": scoring.title, "lead": scoring.lead, "body": scoring.body}
        places: dict[str, list[str]] = {}  # group -> sections of the counted occurrences
        negated: dict[str, int] = {}
        for section in SECTIONS:
            text = sections[section]
            if not text:
                continue
            if occurrences is not None:
                # Word positions: both are runs of whole words, so they overlap as their words do.
                matches, spans = occurrences[section]
                found = ((group, first, last + 1) for group, first, last in matches)
                negative = [(first, last + 1) for _group, first, last in spans]
            else:
                found = ((compiled.group_of(match.group()), *match.span())
                         for match in compiled.terms.finditer(text))
                negative = ([phrase.span() for phrase in compiled.negative.finditer(text)]
                            if compiled.negative is not None else [])
            for group, start, end in found:
                if any(start < stop and begin < end for begin, stop in negative):
                    negated[group] = negated.get(group, 0) + 1
                    places.setdefault(group, [])
                else:
                    places.setdefault(group, []).append(section)
        # Context supports, never decides nor outweighs: it counts once (where it weighs most), only
        # beside a keyword or strong term, and adds at most as much as those do together.
        points: dict[str, float] = {}
        for group, found_in in places.items():
            if group not in compiled.context and found_in:
                points[group] = _term_points([section_weight[s] for s in found_in], compiled.groups[group][1],
                                             scoring)
        budget = sum(points.values())
        deciding = budget > 0
        for group, found_in in places.items():
            if group in compiled.context and found_in and budget > 0:
                best = max(section_weight[s] for s in found_in)
                points[group] = min(compiled.groups[group][1] * best, budget)
                budget -= points[group]
        for group, found_in in places.items():
            term, weight = compiled.groups[group]
            counts = tuple((section, found_in.count(section)) for section in SECTIONS if section in found_in)
            yield TermHit(term, weight, counts, round(points.get(group, 0.0), 2), negated.get(group, 0),
                          alone=bool(found_in) and group in compiled.context and not deciding)


# What classification reads of an items row (`Classifier.score`): a row equal in these is
# classified the same.
CLASSIFIED_COLUMNS = ("source", "kind", "region", "country", "language", "title", "summary", "body")


def classified_view(item: Mapping[str, Any]) -> tuple[Any, ...]:
    """The part of an items row (or of the record a worker classified) that decides its topics."""
    return (*(item.get(column) for column in CLASSIFIED_COLUMNS), tuple(item_countries(dict(item))))


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


def store_topics(db: sqlite_utils.Database, item_id: int, scores: Mapping[str, float]) -> None:
    """Replace an item's topics by ``scores`` (topic id -> score)."""
    db.execute("DELETE FROM item_topics WHERE item_id = ?", [item_id])
    if scores:
        db.conn.executemany(
            "INSERT INTO item_topics (topic, item_id, score) VALUES (?, ?, ?)",
            [(topic, item_id, score) for topic, score in scores.items()],
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
        scores = classifier.scores_for(item, query_hits(db, classifier, item_id).get(item_id, set()))
        store_topics(db, item_id, scores)
    return list(scores)


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
        for topic_id, score in classifier.scores_for(item, hits.get(item["id"], set())).items():
            rows.append((topic_id, item["id"], item["feed_time"], score))
            counts[topic_id] += 1
    # With the feed time (feeds sort by it): the insert trigger then has nothing to look up.
    db.conn.executemany("INSERT INTO item_topics (topic, item_id, feed_time, score) VALUES (?, ?, ?, ?)",
                        rows)
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


# Here, not in the Scrapy stage: a worker that unpickles this function must not import
# Scrapy and Twisted (~30 MB a worker, not shared). Classifiers compiled in a worker, by topics file
# and fingerprint.
_worker_classifiers: dict[tuple[str, str], Classifier] = {}


def topics_in_worker(topics_path: str, fingerprint: str, item: dict[str, Any],
                     hits: frozenset[str]) -> dict[str, float] | None:
    """`Classifier.scores_for` in a worker process: the CPU-heavy, pure part of classifying
    (folding the text, matching every topic's keywords), a few ms a page that would
    otherwise run on the crawler's event loop. The classifier is compiled once per process.
    None when topics.toml no longer has ``fingerprint`` (edited during the crawl)."""
    key = (topics_path, fingerprint)
    classifier = _worker_classifiers.get(key)
    if classifier is None:
        topics = load_topics(topics_path)
        if topics.fingerprint != fingerprint:
            return None
        classifier = _worker_classifiers[key] = Classifier(topics)
    return classifier.scores_for(item, hits)
