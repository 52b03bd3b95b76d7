"""The workers' one step per page (pipelines/prepare.py): extraction, normalisation, identification,
and, when asked, the fingerprint and topic scores the later stages would otherwise ask for."""

from __future__ import annotations

from datetime import UTC, datetime

from pipelines import neardup
from pipelines.extract import extraction_rules
from pipelines.items import FetchedPage
from pipelines.normalize.article import normalization_rules
from pipelines.prepare import DerivedRules, prepare_article
from pipelines.topics import Classifier, classified_view
from presswatch.config.sources import load_sources
from presswatch.config.topics import load_topics
from tests.conftest import ROOT, SOURCES, file_response

IOM_PRESS = "https://www.iom.int/news/world-migration-report-2022-launched"


def _page(name: str, url: str, source: str) -> FetchedPage:
    return FetchedPage(source=source, url=url, html=file_response(name, url).text, status=200,
                       fetched=datetime(2026, 12, 4, 8, 0, tzinfo=UTC))


def test_one_step_extracts_normalises_identifies_fingerprints_and_scores_a_page():
    source = load_sources(SOURCES).get("iom-press")
    topics = load_topics(ROOT / "topics.toml")
    boilerplate = frozenset({neardup.paragraph_hash(["no", "such", "paragraph"])})
    rules = DerivedRules(boilerplate=boilerplate, topics_path=str(ROOT / "topics.toml"),
                         topics_fingerprint=topics.fingerprint, kind=source.kind, region=source.region,
                         country=source.country)
    prepared = prepare_article(_page("iom-press.html", IOM_PRESS, "iom-press"), extraction_rules(source),
                               normalization_rules(source), rules)
    article = prepared.article
    assert article is not None and prepared.dropped is None
    assert article.title == "World Migration Report 2022 launched"
    assert article.normalized and article.uid and article.content_hash
    assert article.published is not None and article.published.date().isoformat() == "2021-12-01"
    assert article.fingerprint == neardup.fingerprint(article.body, boilerplate)
    assert article.fingerprint.every_paragraph == neardup.paragraph_hashes(article.body)
    record = {"source": "iom-press", "kind": source.kind, "region": source.region, "country": source.country,
              "language": article.language, "title": article.title, "summary": article.summary,
              "body": article.body, "countries": article.countries}
    expected = Classifier(topics).scores_for(record)
    assert expected  # the release is in some topic: the comparison means something
    assert article.topic_scores == (topics.fingerprint, classified_view(record), expected)


def test_without_derived_rules_nothing_more_is_computed_and_a_page_without_text_is_dropped():
    source = load_sources(SOURCES).get("iom-press")
    prepared = prepare_article(_page("iom-press.html", IOM_PRESS, "iom-press"), extraction_rules(source),
                               normalization_rules(source))
    assert prepared.article is not None
    assert prepared.article.fingerprint is None and prepared.article.topic_scores is None
    empty = FetchedPage(source="iom-press", url=IOM_PRESS, html="<html><head><title></title></head><body></body></html>",
                        status=200, fetched=datetime(2026, 12, 4, tzinfo=UTC))
    dropped = prepare_article(empty, extraction_rules(source), normalization_rules(source))
    assert dropped.article is None
    assert dropped.dropped == ("no_body", "no text found: not archived")


def test_a_stale_topics_file_gives_no_scores():
    source = load_sources(SOURCES).get("iom-press")
    rules = DerivedRules(topics_path=str(ROOT / "topics.toml"), topics_fingerprint="edited since")
    prepared = prepare_article(_page("iom-press.html", IOM_PRESS, "iom-press"), extraction_rules(source),
                               normalization_rules(source), rules)
    assert prepared.article is not None and prepared.article.topic_scores is None
