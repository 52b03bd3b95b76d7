"""The Redis side of a shared crawl (issue 20): the item stream and the archive summary.

Crawl processes (`presswatch crawl --redis URL`) do not write the archive: they
append each extracted, normalised item to one Redis stream, and the one writer
(`presswatch store`) applies the stream to the SQLite archive. This module is
what both sides agree on: the key names, how an entry encodes an item, and the
summary of the archive that the writer publishes so that crawl processes can
crawl incrementally without the SQLite file (see crawler/distributed.py).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import redis

from pipelines import neardup
from pipelines.items import Article, RecheckedPage

PREFIX = "presswatch"
STREAM = f"{PREFIX}:items"  # one stream for every source: one writer, in order
GROUP = "writers"  # the consumer group of `presswatch store`
CRAWLERS = f"{PREFIX}:crawlers"  # ZSET crawl process -> last heartbeat (epoch s)
KNOWN = f"{PREFIX}:known"  # HASH archived URL -> [fetched, etag, last_modified]

# Entry kinds.
ARTICLE, RECHECK, RUN_START, RUN_END, PROBLEM = "article", "recheck", "run_start", "run_end", "problem"

_DATETIME_FIELDS = {"fetched", "published"}


def boilerplate_key(source: str) -> str:
    """SET of the source's boilerplate paragraph hashes: crawl processes fingerprint items with it."""
    return f"{PREFIX}:boilerplate:{source}"


def due_key(source: str) -> str:
    """ZSET of the source's active items: URL -> fetched (epoch s), for re-checks."""
    return f"{PREFIX}:due:{source}"


def last_run_key(source: str) -> str:
    """The status of the source's last finished crawl run (ok, degraded, failed...)."""
    return f"{PREFIX}:lastrun:{source}"


def connect(url: str) -> redis.Redis:
    """A client for ``url`` (redis://HOST:PORT/DB) that fails fast when the server is not there."""
    client = redis.Redis.from_url(url, socket_connect_timeout=10, health_check_interval=30)
    client.ping()
    return client


# Entries ----------------------------------------------------------------------


def encode(kind: str, run: str, payload: dict[str, Any],
           fingerprint: neardup.Fingerprint | None = None) -> dict[Any, Any]:
    """The fields of one stream entry (an article's with the near-duplicate fingerprint a crawl
    worker computed: the writer's costliest step, done where the CPU scales out)."""
    data = json.dumps(payload, ensure_ascii=False, default=_json_default)
    fields: dict[Any, Any] = {"kind": kind, "run": run, "data": data}
    if fingerprint is not None:
        fields["fingerprint"] = json.dumps({
            "paragraph_hashes": fingerprint.paragraph_hashes, "excluded": sorted(fingerprint.excluded),
            "words": fingerprint.words, "bands": fingerprint.bands,
            "signature": fingerprint.signature.hex() if fingerprint.signature is not None else None,
        })
    return fields


def decode_fingerprint(fields: dict[bytes, bytes]) -> neardup.Fingerprint | None:
    raw = fields.get(b"fingerprint")
    if raw is None:
        return None
    data = json.loads(raw)
    signature = bytes.fromhex(data["signature"]) if data["signature"] is not None else None
    return neardup.Fingerprint(tuple(data["paragraph_hashes"]), frozenset(data["excluded"]), data["words"],
                               signature, tuple(data["bands"]))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} in a stream entry")


# Worker-step results that travel in the entry's own fields (the fingerprint) or not at all.
_LOCAL_FIELDS = ("fingerprint", "topic_scores")


def article_payload(article: Article) -> dict[str, Any]:
    payload = dataclasses.asdict(article)
    for name in _LOCAL_FIELDS:
        payload.pop(name, None)
    return payload


def recheck_payload(page: RecheckedPage) -> dict[str, Any]:
    return dataclasses.asdict(page)


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def decode_article(payload: dict[str, Any]) -> Article:
    fields = dict(payload)
    for name in _DATETIME_FIELDS:
        fields[name] = _datetime(fields.get(name))
    fields["problems"] = [tuple(problem) for problem in fields.get("problems", [])]
    return Article(**fields)


def decode_recheck(payload: dict[str, Any]) -> RecheckedPage:
    fetched = _datetime(payload["fetched"])
    assert fetched is not None
    return RecheckedPage(payload["source"], payload["url"], int(payload["status"]), fetched)


def decode(fields: dict[bytes, bytes]) -> tuple[str, str, dict[str, Any]]:
    """(kind, run key, payload) of a stream entry."""
    return fields[b"kind"].decode(), fields[b"run"].decode(), json.loads(fields[b"data"])


def entry_order(entry_id: str | bytes) -> tuple[int, int]:
    """A stream entry id (``ms-seq``) as something that compares in stream order."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


# The archive summary ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KnownUrl:
    """What the summary says of one archived URL (an item, or a duplicate copy)."""

    url: str
    source: str
    fetched: str  # ISO 8601 UTC, as the archive stores it
    etag: str | None = None
    last_modified: str | None = None
    active: bool = False  # an active item (re-checked when due); copies and removed items are not


def epoch(iso_text: str) -> float:
    value = datetime.fromisoformat(iso_text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def publish_known(client: redis.Redis, known: Iterable[KnownUrl], chunk: int = 2000) -> int:
    """Write ``known`` into the summary (in pipelined chunks); how many URLs."""
    count = 0
    pipe = client.pipeline(transaction=False)
    for entry in known:
        pipe.hset(KNOWN, entry.url, json.dumps([entry.fetched, entry.etag, entry.last_modified]))
        if entry.active:
            pipe.zadd(due_key(entry.source), {entry.url: epoch(entry.fetched)})
        else:
            pipe.zrem(due_key(entry.source), entry.url)
        count += 1
        if count % chunk == 0:
            pipe.execute()
    pipe.execute()
    return count


def publish_boilerplate(client: redis.Redis, source: str, hashes: Iterable[int]) -> None:
    values = [str(value) for value in hashes]
    if values:
        client.sadd(boilerplate_key(source), *values)


def read_boilerplate(client: redis.Redis, source: str) -> frozenset[int]:
    return frozenset(int(value) for value in client.smembers(boilerplate_key(source)))


def lookup_known(client: redis.Redis, urls: list[str]) -> Iterator[tuple[str, str, str | None, str | None]]:
    """(url, fetched, etag, last_modified) of those of ``urls`` the summary knows, in order."""
    if not urls:
        return
    for url, value in zip(urls, client.hmget(KNOWN, urls), strict=True):
        if value is not None:
            fetched, etag, last_modified = json.loads(value)
            yield url, fetched, etag, last_modified
