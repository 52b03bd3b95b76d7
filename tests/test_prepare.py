"""The workers' one step per page (pipelines/prepare.py): extraction, normalisation, identification,
and, when asked, the fingerprint and topic scores the later stages would otherwise ask for."""

from __future__ import annotations

from datetime import UTC, datetime

from pipelines import neardup
from pipelines.items import FetchedPage
from pipelines.prepare import prepare_article
from pipelines.rules import DerivedRules, extraction_rules, normalization_rules
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


def _derived_rows(db_path) -> dict[str, set]:
    """Topics, fingerprints and near-duplicate links by URL. Items another source's copy took over
    are left out of the fingerprints and links: their paragraphs stay counted under the source that
    stored them first, which depends on arrival order (noted in docs/performance.md)."""
    import sqlite3

    plain = "i.id NOT IN (SELECT item_id FROM duplicates WHERE source != i.source)"
    with sqlite3.connect(db_path) as conn:
        return {
            "topics": set(conn.execute(
                "SELECT i.url, t.topic, t.score FROM item_topics t JOIN items i ON i.id = t.item_id")),
            "signatures": set(conn.execute(
                "SELECT i.url, s.words, s.paragraphs, s.signature, s.bands FROM item_signatures s "
                f"JOIN items i ON i.id = s.item_id WHERE {plain}")),
            "links": set(conn.execute(
                "SELECT i.url, b.url, l.kind, l.similarity FROM story_links l JOIN items i ON i.id = l.item_id "
                f"JOIN items b ON b.id = l.other_item_id WHERE {plain} AND "
                "b.id NOT IN (SELECT item_id FROM duplicates WHERE source != b.source)")),
        }


def test_what_the_worker_step_derived_in_a_crawl_equals_a_recomputation(archive_copy):
    """The sample sites crawled with workers (fingerprints and topic scores computed in each page's
    worker step, then checked by StoryPipeline and ClassifyPipeline) hold exactly what
    `presswatch reclassify` and `presswatch stories --rebuild` compute from the archived items."""
    from tests.conftest import presswatch

    crawled = _derived_rows(archive_copy)
    assert len(crawled["topics"]) > 50 and crawled["signatures"] and crawled["links"]
    for command in (("reclassify", "--topics", str(ROOT / "topics.toml")), ("stories", "--rebuild")):
        result = presswatch(*command, "--db", str(archive_copy), *(
            ("--sources", str(SOURCES)) if command[0] == "stories" else ()))
        assert result.returncode == 0, result.stderr[-2000:]
    assert _derived_rows(archive_copy) == crawled


def test_the_crawl_process_does_not_load_the_extraction_libraries():
    """Its workers extract: the crawl process imports the stages, spider and CLI, and unpickles what
    a worker step returns, without trafilatura, htmldate or dateparser (~8 MB of its memory); it
    hands `prepare_article` over by name."""
    import pickle
    import subprocess
    import sys

    source = load_sources(SOURCES).get("iom-press")
    returned = pickle.dumps(prepare_article(_page("iom-press.html", IOM_PRESS, "iom-press"),
                                            extraction_rules(source), normalization_rules(source)))
    code = ("import pickle, sys, presswatch.cli.main, crawler.run, crawler.spiders.source, crawler.documents, "
            "pipelines.stages.extract, pipelines.stages.normalize, pipelines.stages.dedupe, "
            "pipelines.stages.store, pipelines.stages.stories, pipelines.stages.classify, "
            "pipelines.stages.documents; "
            "prepared = pickle.loads(sys.stdin.buffer.read()); "
            "print(prepared.article.title, sorted(m for m in ('trafilatura', 'htmldate', 'dateparser', "
            "'justext', 'pipelines.extract', 'pipelines.prepare') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, input=returned, capture_output=True,
                          check=True)
    assert done.stdout.decode().strip() == "World Migration Report 2022 launched []"
    from pipelines.stages.extract import PREPARE_ARTICLE
    assert PREPARE_ARTICLE.__name__ == "prepare_article" and PREPARE_ARTICLE is not prepare_article
