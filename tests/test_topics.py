"""topics.toml: the bundled file loads, and every kind of mistake is one line naming file, line, topic, field."""

from __future__ import annotations

from pathlib import Path

import pytest

from presswatch.config.files import ConfigError
from presswatch.config.topics import Topic, fingerprint, load_topics

ROOT = Path(__file__).resolve().parent.parent
TOPICS = ROOT / "topics.toml"

GOOD = """\
[[topic]]
id = "remittances"
title = "Remittances"
description = "Money sent home."

[topic.rule.keywords]
en = ["remittance*", "money transfer"]
ro = ["remitențe"]

[[topic]]
id = "border"
title = "Belarus border"
query = "belarus* AND border*"

[topic.rule]
countries = ["BY", "LT"]
kinds = ["press_release"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_topics(path)
    message = str(caught.value)
    assert "\n" not in message, "a config error is one line"
    return message.replace(str(path), "topics.toml")


def topic(body: str, topic_id: str = "remittances") -> str:
    """One [[topic]] entry: a first line with the id, then ``body``."""
    return f'[[topic]]\nid = "{topic_id}"\ntitle = "Remittances"\n{body}'


def test_bundled_topics_load_and_cover_the_seed_topics():
    topics = load_topics(TOPICS)
    assert {
        "covid-19", "migration-health", "health-workers-diaspora", "remittances", "return-reintegration",
        "resettlement-refugees", "counter-trafficking", "labour-migration", "displacement-emergencies",
        "integration", "migration-data", "children-left-behind", "sdgs", "mic-work-employment",
        "mic-social-guarantees", "mic-education", "mic-foreigners",
    } <= set(topics.ids)
    # Keyword topics speak the sites' languages, not only English, and French and Spanish for the
    # global newsroom's releases (issue 15).
    for topic_id in ("covid-19", "remittances", "return-reintegration", "counter-trafficking", "labour-migration"):
        rule = topics.get(topic_id).rule
        assert set(rule.keywords) | set(rule.strong) == {"en", "ro", "uk", "ru", "hy", "lt", "fr", "es"}, topic_id
    assert topics.get("belarus-eu-border").query == "belarus* AND border*"
    assert topics.get("mic-education").rule.sources == ["micenter"]
    assert all(topic.description for topic in topics)


def test_minimal_file_and_defaults(tmp_path):
    topics = load_topics(write(tmp_path, GOOD))
    assert topics.ids == ["remittances", "border"]
    remittances = topics.get("remittances")
    assert remittances.rule.keywords == {"en": ["remittance*", "money transfer"], "ro": ["remitențe"]}
    assert remittances.rule.exclude == {} and remittances.rule.sources == [] and not remittances.is_query
    border = topics.get("border")
    assert border.is_query and border.description == "" and border.rule.countries == ["BY", "LT"]
    assert topics.fingerprint == fingerprint(GOOD)
    with pytest.raises(ConfigError, match=r"no topic 'nope' \(known: remittances, border\)"):
        topics.get("nope")


def test_fingerprint_follows_the_content(tmp_path):
    first = load_topics(write(tmp_path, GOOD)).fingerprint
    assert load_topics(write(tmp_path, GOOD)).fingerprint == first
    assert load_topics(write(tmp_path, GOOD + "\n# a comment\n")).fingerprint != first


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the file itself
        ('[[topic]]\nid = "x"\ntitle = \n', "topics.toml:3: TOML syntax error: Invalid value"),
        ('title = "x"\n', "topics.toml: unknown top-level key 'title' (expected [[topic]] tables)"),
        ("# nothing\n", "topics.toml: no [[topic]] entries"),
        # required fields, unknown keys, the id
        ('[[topic]]\nid = "remittances"\n[topic.rule.keywords]\nen = ["x"]\n',
         "topics.toml:1: topic 'remittances': title: missing required field"),
        (topic('colour = "red"\n[topic.rule.keywords]\nen = ["remittance"]\n'),
         "topics.toml:4: topic 'remittances': colour: unknown key"),
        (topic('[topic.rule]\nkeyword = ["remittance"]\n'),
         "topics.toml:5: topic 'remittances': rule.keyword: unknown key"),
        (topic('[topic.rule.keywords]\nen = ["remittance"]\n', topic_id="Remittances!"),
         "topics.toml:2: topic 'Remittances!': id: 'Remittances!' must be lowercase letters, digits and dashes"),
        ('[[topic]]\nid = "remittances"\ntitle = "  "\n[topic.rule.keywords]\nen = ["x"]\n',
         "topics.toml:3: topic 'remittances': title: must be a non-empty string"),
        # keywords
        (topic('[topic.rule.keywords]\nen = ["remittance"]\nxx = ["remesa"]\n'),
         "topics.toml:6: topic 'remittances': rule.keywords.xx: 'xx' is not an ISO 639-1 language code"),
        (topic('[topic.rule.keywords]\nen = "remittance"\n'),
         "topics.toml:5: topic 'remittances': rule.keywords.en: 'remittance' is not a list (write ['remittance'])"),
        (topic('[topic.rule.keywords]\nen = []\n'),
         "topics.toml:5: topic 'remittances': rule.keywords.en: empty list (remove the language or give words and phrases)"),
        (topic('[topic.rule.keywords]\nen = ["money transfer", "remit*tance"]\n'),
         "topics.toml:5: topic 'remittances': rule.keywords.en: 'remit*tance': '*' may only end a word of at least 3 letters (a prefix, e.g. 'remittance*')"),
        (topic('[topic.rule.keywords]\nro = ["re*"]\n'),
         "topics.toml:5: topic 'remittances': rule.keywords.ro: 're*': '*' may only end a word of at least 3 letters (a prefix, e.g. 'remittance*')"),
        (topic('[topic.rule.keywords]\nen = ["Remittance", "remittance"]\n'),
         "topics.toml:5: topic 'remittances': rule.keywords.en: 'remittance' is listed twice"),
        (topic('[topic.rule.keywords]\nen = ["-- "]\n'),
         "topics.toml:5: topic 'remittances': rule.keywords.en: '-- ' has no letters or digits"),
        (topic('[topic.rule.keywords]\nen = [42]\n'),
         "topics.toml:5: topic 'remittances': rule.keywords.en: 42 is not a string"),
        (topic('[topic.rule]\nexclude = { en = ["drug*", "drug*"] }\n[topic.rule.keywords]\nen = ["traffick*"]\n'),
         "topics.toml:5: topic 'remittances': rule.exclude.en: 'drug*' is listed twice"),
        # keywords or query
        (topic('description = "nothing to match"\n'),
         "topics.toml:1: topic 'remittances': rule: give rule.keywords (words and phrases per language) or a query (full-text search)"),
        (topic('query = "remittance*"\n[topic.rule.keywords]\nen = ["remittance"]\n'),
         "topics.toml:1: topic 'remittances': rule: give either rule.keywords or a query, not both"),
        (topic('query = "belarus AND"\n'),
         "topics.toml:4: topic 'remittances': query: 'belarus AND' is not a valid full-text query: fts5: syntax error near \"\""),
        (topic('query = "place:belarus"\n'),
         "topics.toml:4: topic 'remittances': query: 'place:belarus' is not a valid full-text query: no such column: place"),
        # filters
        (topic('[topic.rule]\nkinds = ["blog"]\n[topic.rule.keywords]\nen = ["remittance"]\n'),
         "topics.toml:5: topic 'remittances': rule.kinds.0: Input should be 'press_release', 'news', 'story', 'publication' or 'page' (got 'blog')"),
        (topic('[topic.rule]\ncountries = ["md"]\n[topic.rule.keywords]\nen = ["remittance"]\n'),
         "topics.toml:5: topic 'remittances': rule.countries.0: 'md' is not an ISO 3166-1 alpha-2 country code"),
        (topic('[topic.rule]\nlanguages = ["eng"]\n[topic.rule.keywords]\nen = ["remittance"]\n'),
         "topics.toml:5: topic 'remittances': rule.languages.0: 'eng' is not an ISO 639-1 language code"),
        (topic('[topic.rule]\nsources = ["IOM Press"]\n[topic.rule.keywords]\nen = ["remittance"]\n'),
         "topics.toml:5: topic 'remittances': rule.sources.0: 'IOM Press' is not a source id (lowercase letters, digits and dashes)"),
        (topic('[topic.rule]\nregions = "global"\n[topic.rule.keywords]\nen = ["remittance"]\n'),
         "topics.toml:5: topic 'remittances': rule.regions: Input should be a valid list (got 'global')"),
        # the same id twice
        (GOOD + topic('query = "remittance*"\n'),
         "topics.toml:19: topic 'remittances': id: duplicate topic id"),
    ],
)
def test_every_mistake_is_one_line_naming_line_topic_and_field(tmp_path, text, expected):
    assert error_of(tmp_path, text) == expected


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_topics(tmp_path / "nope.toml")
    assert str(caught.value) == f"{tmp_path / 'nope.toml'}: file not found"


def test_the_issue_example_format(tmp_path):
    """The line names the keyword table of the topic, as in `topics.toml:12: topic 'remittances': rule.keywords.en: ...`."""
    text = GOOD.replace('en = ["remittance*", "money transfer"]', 'en = ["remittance*", "*money"]')
    message = error_of(tmp_path, text)
    assert message.startswith("topics.toml:7: topic 'remittances': rule.keywords.en: '*money': ")


def test_topic_model_is_frozen():
    topic_model = Topic.model_validate({"id": "x", "title": "X", "query": "x"})
    with pytest.raises(Exception):  # noqa: B017 (pydantic's ValidationError for frozen instances)
        topic_model.id = "y"
