"""The per-source rules handed to a page's worker step, from sources.toml: what to extract,
how to normalise, what to derive.

Plain, picklable data in a light module: the crawl process builds them for every page,
and never needs the extraction libraries themselves when workers extract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the worker processes import this module: pydantic stays out of them
    from presswatch.config.sources import Source


@dataclass(frozen=True)
class ExtractionRules:
    """The per-source part of extraction: selectors from sources.toml (all optional)."""

    title: str | None = None
    body: str | None = None
    summary: str | None = None
    date: str | None = None
    author: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()  # (name, selector) of extra fields
    # Whether a date found only in the page's free text may date it: not on information
    # pages ("signed on 13 February 1998" is history, not the page's date).
    text_search_date: bool = True


NO_RULES = ExtractionRules()  # a source without selectors: everything found generically


@dataclass(frozen=True)
class NormalizationRules:
    """The per-source part of normalisation, from sources.toml."""

    languages: tuple[str, ...]
    date_languages: tuple[str, ...]
    timezone: str
    date_order: str | None = None  # "DMY" | "MDY" | "YMD"; default: the page language's order


def normalization_rules(source: Source) -> NormalizationRules:
    """The normalisation rules of a sources.toml source."""
    return NormalizationRules(
        languages=tuple(source.languages),
        date_languages=tuple(source.month_languages),
        timezone=source.timezone,
        date_order=source.date_order,
    )


@dataclass(frozen=True)
class DerivedRules:
    """What the later stages would otherwise ask of a worker once more, done in the same step: the
    near-duplicate fingerprint (with the source's boilerplate known so far) and the topic scores
    (topics.toml by path and fingerprint; the source's kind, region and country, as the items row
    will hold them). Each is checked against the archive where it is used, and redone if stale."""

    boilerplate: frozenset[int] | None = None  # None: no fingerprint here
    topics_path: str | None = None  # None: no topic scores here
    topics_fingerprint: str = ""
    kind: str | None = None
    region: str | None = None
    country: str | None = None


def extraction_rules(source: Source) -> ExtractionRules:
    """The extraction rules of a sources.toml source."""
    selectors = source.selectors
    return ExtractionRules(
        title=selectors.title,
        body=selectors.body,
        summary=selectors.summary,
        date=selectors.date,
        author=selectors.author,
        metadata=tuple(sorted(source.metadata.items())),
        text_search_date=source.kind != "page",
    )
