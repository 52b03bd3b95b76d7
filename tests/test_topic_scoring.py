"""Issue 15: topics by relevance (scores, negative and context terms, pages), `topics explain`,
`topics evaluate` and the listing, and the targets on the editor-labelled corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines.topic_evaluation import evaluate, read_labelled
from pipelines.topics import Classifier, classify_item, reclassify_all
from presswatch.archive.db import open_archive
from presswatch.archive.schema import SCHEMA_VERSION, schema_version
from presswatch.cli.topics import topics_group
from presswatch.config.files import ConfigError
from presswatch.config.topics import load_topics
from tests.feed_helpers import insert_item

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT.parent / "shared" / "corpora" / "topics" / "labelled.jsonl"

TOPICS = """\
[[topic]]
id = "covid-19"
title = "COVID-19"
[topic.rule.keywords]
en = ["covid", "pandemic*", "covid-19 pandemic", "lockdown*"]
[topic.rule.negative]
en = ["after the pandemic"]

[[topic]]
id = "migration-data"
title = "Migration data"
[topic.rule.context]
en = ["data", "report"]
[topic.rule.keywords]
en = ["survey"]
[topic.rule.strong]
en = ["migration data"]

[[topic]]
id = "mic"
title = "Information centre"
include_pages = true
[topic.rule.keywords]
en = ["pension*"]

[[topic]]
id = "pensions-news"
title = "Pensions news"
[topic.scoring]
threshold = 1.0
[topic.rule.keywords]
en = ["pension*"]
"""


@pytest.fixture
def topics_path(tmp_path) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(TOPICS, encoding="utf-8")
    return path


@pytest.fixture
def classifier(topics_path) -> Classifier:
    return Classifier(load_topics(topics_path))


def item(title: str, body: str = "", **fields) -> dict:
    return {"title": title, "summary": "", "body": body, "language": "en", "source": "iom-press",
            "kind": "press_release", "region": "global", "country": None, "countries": "[]", **fields}


PASSING = item("Ethical recruitment of nurses to Germany",
               "Geneva - IOM launched a recruitment programme for nurses.\n\n"
               "Recruitment slowed after the pandemic, and employers now look abroad.\n\n"
               "Nurses will start in 2024.")
ABOUT = item("Stranded migrants during the COVID-19 pandemic",
             "Geneva - Lockdowns left thousands of migrants stranded.\n\n"
             "The pandemic closed borders; covid tests are scarce.")


def test_one_passing_mention_is_not_enough_and_an_item_about_the_topic_is(classifier):
    assert classifier.topics_for(PASSING) == []
    assert classifier.scores_for(ABOUT) == {"covid-19": 9.0}
    decision = classifier.explain(ABOUT, "covid-19")
    assert decision.accepted and decision.threshold == 3.0
    # The first paragraph is short (under 150 characters): the lead is the first two.
    assert sorted(hit.describe() for hit in decision.hits) == [
        "'covid' x1: lead 1 = 2",
        "'covid-19 pandemic' x1: title 1 = 3",  # the phrase is one term, not 'covid' and 'pandemic'
        "'lockdown*' x1: lead 1 = 2",
        "'pandemic*' x1: lead 1 = 2",
    ]


def test_where_a_term_is_and_how_often_it_repeats_set_the_score(classifier):
    assert classifier.scores_for(item("Lockdowns")) == {"covid-19": 3.0}  # title: 3
    assert classifier.scores_for(item("A title", "Lockdowns.")) == {}  # lead: 2
    # Lead 2 (twice: the short first paragraph takes the next one), then the repeats at 0.5 each.
    assert classifier.scores_for(item("A title", "Lockdowns.\n\nLockdowns.\n\nLockdowns.")) == {"covid-19": 3.5}
    assert classifier.scores_for(item("A title", "Lockdowns.\n\nLockdowns.")) == {"covid-19": 3.0}
    assert classifier.scores_for(item("A title", "x" * 150 + "\n\nLockdowns.\n\nLockdowns.")) == {}
    # A short first paragraph (a dateline) takes the next one into the lead.
    assert classifier.explain(item("A title", "Geneva\n\nLockdowns.\n\nMore."), "covid-19").hits[0].where == (
        ("lead", 1),)


def test_negative_phrases_and_context_terms(classifier):
    decision = classifier.explain(item("After the pandemic", "After the pandemic, work resumed."), "covid-19")
    assert not decision.accepted and decision.score == 0
    assert decision.hits[0].negated == 2
    # Context terms support a topic but never decide alone, and count once.
    assert classifier.topics_for(item("Data report", "Data, data and a report.")) == []
    assert classifier.scores_for(item("A survey", "The data report, data.")) == {"migration-data": 5.0}
    assert classifier.scores_for(item("Migration data")) == {"migration-data": 6.0}
    # ...and add at most as much as the keywords and strong terms beside them: a survey mentioned in
    # the body (1) of a "Data report" is 1 + 1, not 1 + 1.5 + 1.5.
    decision = classifier.explain(item("Data report", "x" * 150 + "\n\nA survey."), "migration-data")
    assert (decision.score, decision.accepted) == (2.0, False)
    assert sorted(hit.describe() for hit in decision.hits) == [
        "'data' x0.5: title 1 = 1", "'report' x0.5: title 1 = 0", "'survey' x1: body 1 = 1"]


def test_information_pages_only_in_topics_that_take_them(classifier):
    page = item("Pensions", "Pensions for returning citizens.", kind="page")
    assert classifier.topics_for(page) == ["mic"]
    decision = classifier.explain(page, "pensions-news")
    assert not decision.accepted
    assert decision.reason == ("score 4 >= threshold 1, but an information page (kind page): "
                               "the topic does not take pages (include_pages)")
    assert classifier.topics_for({**page, "kind": "news"}) == ["mic", "pensions-news"]


def test_scores_are_stored_per_item_and_topic(archive, classifier):
    assert schema_version(archive) == SCHEMA_VERSION
    about = insert_item(archive, "https://www.iom.int/news/a", ABOUT["title"], body=ABOUT["body"])
    passing = insert_item(archive, "https://www.iom.int/news/b", PASSING["title"], body=PASSING["body"])
    assert classify_item(archive, classifier, about) == ["covid-19"]
    assert classify_item(archive, classifier, passing) == []
    assert archive.execute("SELECT topic, item_id, score FROM item_topics").fetchall() == [
        ("covid-19", about, 9.0)]
    archive.execute("DELETE FROM item_topics")
    assert reclassify_all(archive, classifier)["covid-19"] == 1
    assert archive.execute("SELECT topic, item_id, score FROM item_topics").fetchall() == [
        ("covid-19", about, 9.0)]


def test_explain_command_rejects_a_passing_mention_and_accepts_an_item_about_the_topic(tmp_path, topics_path):
    db_path = tmp_path / "archive.db"
    db = open_archive(db_path)
    passing = insert_item(db, "https://www.iom.int/news/recruitment", PASSING["title"], body=PASSING["body"])
    insert_item(db, "https://www.iom.int/news/stranded", ABOUT["title"], body=ABOUT["body"])
    once = insert_item(db, "https://www.iom.int/news/once", "Recruitment fair", body=(
        "Geneva - Employers from six countries met hundreds of candidates at the recruitment fair that IOM "
        "organised with the Ministry of Labour and the employment agencies this week.\n\nTravel resumed once lockdowns ended."))
    db.close()
    runner = CliRunner()
    args = ["--db", str(db_path), "--topics", str(topics_path)]
    result = runner.invoke(topics_group, ["explain", str(passing), "--topic", "covid-19", *args])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-2:] == [  # "after the pandemic" is a negative phrase
        "out covid-19: score 0 < threshold 3",
        "      'pandemic*' x1: nowhere = 0 (1 in negative phrases)",
    ]
    result = runner.invoke(topics_group, ["explain", str(once), "--topic", "covid-19", *args])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-2:] == [  # one passing mention in the body: 1 < 3
        "out covid-19: score 1 < threshold 3",
        "      'lockdown*' x1: body 1 = 1",
    ]
    result = runner.invoke(topics_group, ["explain", "https://www.iom.int/news/stranded", *args])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ABOUT["title"]
    assert "IN  covid-19: score 9 >= threshold 3" in lines
    assert "out migration-data: score 0 < threshold 3" in lines
    assert "      'lockdown*' x1: lead 1 = 2" in lines
    missing = runner.invoke(topics_group, ["explain", "https://nowhere.example/", *args])
    assert missing.exit_code == 1
    assert "no archived item 'https://nowhere.example/'" in missing.output


def test_listing_counts_shares_and_warns_about_a_topic_taking_a_quarter(tmp_path, topics_path):
    db_path = tmp_path / "archive.db"
    db = open_archive(db_path)
    insert_item(db, "https://www.iom.int/news/stranded", ABOUT["title"], body=ABOUT["body"])
    insert_item(db, "https://www.iom.int/news/recruitment", PASSING["title"], body=PASSING["body"])
    reclassify_all(db, Classifier(load_topics(topics_path)))
    db.close()
    result = CliRunner().invoke(topics_group, ["--db", str(db_path), "--topics", str(topics_path)])
    assert result.exit_code == 0, result.output
    assert [line.split()[:2] + line.split()[-2:] for line in result.output.splitlines()[2:6]] == [
        ["covid-19", "COVID-19", "1", "50%"], ["migration-data", "Migration", "0", "0%"],
        ["mic", "Information", "0", "0%"], ["pensions-news", "Pensions", "0", "0%"]]
    assert "4 topics over 2 active items" in result.output
    assert ("warning: topic 'covid-19' holds 1 of 2 items (50%), more than 25% of the archive"
            in result.output)


LABELLED_SMALL = [
    {"url": "https://example.org/1", "title": ABOUT["title"], "body": ABOUT["body"], "language": "en",
     "topics": ["covid-19"]},
    {"url": "https://example.org/2", "title": PASSING["title"], "body": PASSING["body"], "language": "en",
     "topics": []},
    {"url": "https://example.org/3", "title": "New migration data on lockdowns", "body": "A survey.",
     "language": "en", "topics": ["migration-data"]},
    {"url": "https://example.org/4", "title": "Data", "body": "Pensions rose.", "language": "en",
     "topics": ["migration-data"], "kind": "news"},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_evaluate_counts_per_topic_micro_and_macro(tmp_path, topics_path):
    labelled = write_jsonl(tmp_path / "labelled.jsonl", LABELLED_SMALL)
    result = CliRunner().invoke(topics_group, ["evaluate", str(labelled), "--topics", str(topics_path),
                                               "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [(row["url"], row["gold"], row["predicted"]) for row in report["items"]] == [
        ("https://example.org/1", ["covid-19"], ["covid-19"]),
        ("https://example.org/2", [], []),
        ("https://example.org/3", ["migration-data"], ["covid-19", "migration-data"]),
        ("https://example.org/4", ["migration-data"], ["pensions-news"]),
    ]
    assert report["items"][2]["scores"] == {"covid-19": 3.0, "migration-data": 8.0}
    assert report["topics"]["covid-19"] == {"tp": 1, "fp": 1, "fn": 0, "precision": 0.5, "recall": 1.0,
                                            "f1": 0.6667}
    assert report["topics"]["migration-data"] == {"tp": 1, "fp": 0, "fn": 1, "precision": 1.0, "recall": 0.5,
                                                  "f1": 0.6667}
    assert report["micro"] == {"tp": 2, "fp": 2, "fn": 1, "precision": 0.5, "recall": 0.6667, "f1": 0.5714}
    # Over the three topics labelled or assigned: (0.5 + 1 + 0) / 3, (1 + 0.5 + 0) / 3.
    assert report["macro"] == {"precision": 0.5, "recall": 0.5, "f1": 0.4444}
    text = CliRunner().invoke(topics_group, ["evaluate", str(labelled), "--topics", str(topics_path)])
    assert text.exit_code == 0, text.output
    assert "False positives (assigned, not labelled): 2" in text.output
    assert "False negatives (labelled, not assigned): 1" in text.output
    assert "    score 3 >= threshold 3 ['lockdown*' x1: title 1 = 3]" in text.output
    assert text.output.splitlines()[-4:] == [
        "False negatives (labelled, not assigned): 1",
        "  migration-data: Data",
        "    https://example.org/4",
        "    score 0 < threshold 3 ['data' x0.5: title 1 = 0 (context alone counts nothing)]",
    ]


def test_a_bad_labelled_line_is_one_error_naming_file_line_and_field(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [LABELLED_SMALL[0], {"url": "x", "title": "t", "body": "b",
                                                                    "language": "en", "topics": "covid-19"}])
    with pytest.raises(ConfigError, match=r"bad.jsonl:2: topics: must be a list of topic ids$"):
        read_labelled(path)
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no labelled items"):
        read_labelled(tmp_path / "empty.jsonl")


@pytest.mark.skipif(not LABELLED.exists(), reason="../shared/corpora/topics/labelled.jsonl is not here")
def test_the_bundled_topics_reach_the_targets_on_the_labelled_corpus():
    """Issue 15's targets: micro precision >= 0.90, recall >= 0.80, no topic below 0.75 precision."""
    result = evaluate(Classifier(load_topics(ROOT / "topics.toml")), read_labelled(LABELLED))
    micro = result.micro
    assert len(result.items) >= 60
    assert micro.precision >= 0.90, micro
    assert micro.recall >= 0.80, micro
    weak = {topic: round(counts.precision, 2) for topic, counts in result.measured.items()
            if counts.tp + counts.fp and counts.precision < 0.75}
    assert weak == {}


def test_the_bundled_topics_read_french_and_spanish_releases():
    classifier = Classifier(load_topics(ROOT / "topics.toml"))
    french = item("Journée mondiale contre la traite des personnes",
                  "Genève – L'OIM appelle à protéger les victimes de la traite.\n\n"
                  "La lutte contre la traite des êtres humains exige des données.", language="fr")
    assert classifier.topics_for(french) == ["counter-trafficking"]
    spanish = item("Las remesas crecen en América Latina",
                   "Los envíos de dinero de los trabajadores migrantes apoyan a sus familias.", language="es")
    assert classifier.topics_for(spanish) == ["remittances", "labour-migration"]
    # One passing mention in a French release is not enough either.
    assert classifier.topics_for(item("Foire de l'emploi", "Après la pandémie, les salons reprennent.",
                                      language="fr")) == []


@pytest.mark.parametrize(("body", "expected"), [
    ('[topic.scoring]\nthreshold = 0',
     "topics.toml:5: topic 'x': scoring.threshold: Input should be greater than 0 (got 0)"),
    ('[topic.scoring]\nlouder = 2', "topics.toml:5: topic 'x': scoring.louder: unknown key"),
    ('include_pages = "maybe"', "topics.toml:4: topic 'x': include_pages: Input should be a valid boolean"),
    ('[topic.rule.negative]\nen = "after"',
     "topics.toml:5: topic 'x': rule.negative.en: 'after' is not a list (write ['after'])"),
])
def test_scoring_mistakes_are_one_line_naming_line_topic_and_field(tmp_path, body, expected):
    path = tmp_path / "topics.toml"
    path.write_text(f'[[topic]]\nid = "x"\ntitle = "X"\n{body}\n[topic.rule.keywords]\nen = ["a"]\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_topics(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.replace(str(path), "topics.toml").startswith(expected), message


def _decisions_by_regex(classifier: Classifier, item: dict) -> list:
    """Every topic's decision with each topic's own regular expressions (no word index)."""
    from pipelines.topics import item_countries, item_sections

    sections = item_sections(item)
    return [classifier._decide(topic, item, sections, item_countries(item), frozenset(), True)
            for topic in classifier.topics]


WORD_INDEX_TOPICS = """\
[[topic]]
id = "overlaps"
title = "Overlapping terms"
[topic.rule.keywords]
en = ["migrant", "migrant work*", "migrant workers rights", "work*", "covid-19", "covid 19 cases", "state*-of the art"]
[topic.rule.negative]
en = ["not migrant*", "work* in progress"]

[[topic]]
id = "stems"
title = "Stems only"
[topic.rule.keywords]
en = ["remit*", "remittance*", "money sent home", "send* money"]
fr = ["transfert* de fonds", "envoi* d'argent"]
[topic.rule.context]
en = ["home"]
"""

WORD_INDEX_TEXTS = [
    "Migrant workers rights: migrant workers' rights, migrant work, migrants, a migrant-worker.",
    "Not migrants, but not migrant workers rights either; work in progress, works-in-progress.",
    "COVID-19 and covid19 19 and covid--19; state-of the art, states of the art, state of-the art.",
    "Remittances: money sent home, money\n\nsent home, sending money, remit, remitted money home.",
    "Transferts de fonds et envoi d'argent, envois d’argent, transfert de fonds.",
    "",
    "migrant",
]


def test_the_word_index_finds_what_each_topics_regular_expressions_find(tmp_path):
    """Scoring walks an item's words once for all topics (pipelines/topics.py `_TermIndex`): every
    decision and every term hit must be what each topic's own alternation gives, on tricky
    overlaps, stems, punctuation and languages, and on the editors' labelled texts."""
    path = tmp_path / "topics.toml"
    path.write_text(WORD_INDEX_TOPICS, encoding="utf-8")
    items = [{"title": text[:40], "summary": "", "body": text, "language": language}
             for text in WORD_INDEX_TEXTS for language in ("en", "fr", None)]
    classifiers = [Classifier(load_topics(path)), Classifier(load_topics(ROOT / "topics.toml"))]
    if LABELLED.exists():
        items += read_labelled(LABELLED)
    compared = 0
    for classifier in classifiers:
        for item in items:
            indexed = classifier.score(item, frozenset(), detail=True)
            assert indexed == _decisions_by_regex(classifier, item), item.get("title")
            compared += sum(1 for decision in indexed if decision.hits)
    assert compared > 25  # the comparison saw hits, not only empty decisions (35 without the corpus)
