"""Topic classification: the pure matcher, the item_topics table, the crawl pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.items import Article
from pipelines.stages.classify import ClassifyPipeline
from pipelines.topics import (
    Classifier,
    classify_item,
    ensure_classified,
    fold,
    item_countries,
    keyword_pattern,
    reclassify_all,
    stored_fingerprint,
)
from presswatch.archive.db import open_archive
from presswatch.config.topics import TopicSet, load_topics
from tests.conftest import make_crawler
from tests.feed_helpers import copy_archive, insert_item

TOPICS = """\
[[topic]]
id = "remittances"
title = "Remittances"
[topic.rule.keywords]
en = ["remittance*", "money transfer"]
ro = ["remitențe", "transferuri de bani"]
uk = ["грошов* переказ*"]

[[topic]]
id = "trafficking"
title = "Counter-trafficking"
[topic.rule]
exclude = { en = ["drug trafficking"] }
[topic.rule.keywords]
en = ["traffick*", "forced labour"]
lt = ["prekyb* žmonėmis"]

[[topic]]
id = "moldova-return"
title = "Return to Moldova"
[topic.rule]
countries = ["MD"]
kinds = ["press_release", "news"]
languages = ["en", "ro"]
[topic.rule.keywords]
en = ["returning migrants", "left behind children"]
ro = ["migranți* reveniți", "Chișinău"]

[[topic]]
id = "mic"
title = "Migration Information Centre"
include_pages = true
[topic.rule]
sources = ["micenter"]
regions = ["European Economic Area"]
[topic.rule.keywords]
en = ["pension*"]

[[topic]]
id = "belarus-border"
title = "Belarus border"
query = "belarus* AND border*"
"""


@pytest.fixture
def topics(tmp_path) -> TopicSet:
    path = tmp_path / "topics.toml"
    path.write_text(TOPICS, encoding="utf-8")
    return load_topics(path)


@pytest.fixture
def classifier(topics) -> Classifier:
    return Classifier(topics)


def item(title: str, body: str = "", *, language: str = "en", **fields) -> dict:
    return {"title": title, "summary": "", "body": body, "language": language, "source": "iom-press",
            "kind": "press_release", "region": "global", "country": None, "countries": "[]", **fields}


def test_fold_removes_case_diacritics_and_apostrophe_variants():
    assert fold("Chișinău Chişinău CHISINAU") == "chisinau chisinau chisinau"
    assert fold("Grįžimas ŽMONĖMIS") == "grizimas zmonemis"
    assert fold("Здоров’я здоровʼя") == "здоров'я здоров'я"
    assert fold("Ёлка й") == "елка и"
    assert keyword_pattern("left behind children") == r"left\W+behind\W+children"
    assert keyword_pattern("remittance*") == r"remittance\w*"


def test_whole_words_prefixes_and_phrases(classifier):
    assert classifier.topics_for(item("Family remittances are digital")) == ["remittances"]
    assert classifier.topics_for(item("REMITTANCE costs fall")) == ["remittances"]
    assert classifier.topics_for(item("The Money  Transfer app")) == ["remittances"]
    # Whole words only: no match inside another word, no suffix without a '*'.
    assert classifier.topics_for(item("Unremittance is not a word")) == []
    assert classifier.topics_for(item("money transfers")) == []
    assert classifier.topics_for(item("Traffickers arrested")) == ["trafficking"]


def test_summary_and_body_count_too(classifier):
    # Issue 15: one passing mention in the body (1) or the summary (2) is not enough any more...
    assert classifier.topics_for(item("A title", "Body about forced labour.")) == []
    assert classifier.topics_for({**item("A title"), "summary": "On remittances"}) == []
    # ...an item whose body and summary are about the topic is.
    assert classifier.topics_for(item("A title", "Body about forced labour.\n\nTraffickers use it.")) == [
        "trafficking"]
    assert classifier.topics_for({**item("A title", "Remittances fell."), "summary": "On remittances"}) == [
        "remittances"]


def test_item_language_picks_the_local_keywords_english_apply_to_all(classifier):
    assert classifier.topics_for(item("Remitențe în creștere", language="ro")) == ["remittances"]
    # Romanian keywords do not apply to an English item...
    assert classifier.topics_for(item("remitențe", language="en")) == []
    # ...English ones apply to every item.
    assert classifier.topics_for(item("Remittances в Україні", language="uk")) == ["remittances"]
    # Inflected Ukrainian with prefixes; Lithuanian without its diacritics still matches.
    assert classifier.topics_for(item("Грошові перекази зросли", language="uk")) == ["remittances"]
    assert classifier.topics_for(item("Kova su prekyba zmonemis", language="lt")) == ["trafficking"]
    assert classifier.topics_for(item("Kova su prekyba žmonėmis", language="en")) == []


def test_exclusions(classifier):
    assert classifier.topics_for(item("Drug trafficking routes")) == []
    assert classifier.topics_for(item("Human trafficking", "Not drug trafficking.")) == []
    assert classifier.topics_for(item("Human trafficking in the region")) == ["trafficking"]


def test_filters(classifier):
    moldova = item("Returning migrants open businesses", country="MD", countries='["MD", "IT"]')
    assert classifier.topics_for(moldova) == ["moldova-return"]
    # A global release that names Moldova counts for the country filter.
    assert classifier.topics_for(item("Returning migrants", countries='["MD"]')) == ["moldova-return"]
    assert classifier.topics_for(item("Returning migrants", countries='["UA"]')) == []
    assert classifier.topics_for(item("Returning migrants", countries='["MD"]', kind="publication")) == []
    assert classifier.topics_for(item("Returning migrants", countries='["MD"]', language="uk")) == []
    ro = item("Migranții reveniți la Chişinău", language="ro", country="MD")
    assert classifier.topics_for(ro) == ["moldova-return"]
    page = item("Pensions", source="micenter", kind="page", region="European Economic Area")
    assert classifier.topics_for(page) == ["mic"]
    assert classifier.topics_for({**page, "region": "global"}) == []
    assert classifier.topics_for({**page, "source": "lithuania"}) == []
    assert item_countries({"country": "LT", "countries": '["UA", "LT"]'}) == ["LT", "UA"]


def test_query_topics_need_their_hit(classifier):
    text = item("Stranded at the Belarus border")
    assert classifier.topics_for(text) == []
    assert classifier.topics_for(text, {"belarus-border"}) == ["belarus-border"]


def test_classify_item_and_reclassify_all(archive, classifier, topics):
    remit = insert_item(archive, "https://www.iom.int/news/a", "Remittances go digital")
    border = insert_item(archive, "https://www.iom.int/news/b", "Migrants stranded",
                         body="At the Belarusian border, IOM helps.")
    other = insert_item(archive, "https://www.iom.int/news/c", "Human trafficking", body="Belarus")
    assert classify_item(archive, classifier, remit) == ["remittances"]
    assert classify_item(archive, classifier, border) == ["belarus-border"]
    assert classify_item(archive, classifier, other) == ["trafficking"]
    assert classify_item(archive, classifier, 999) == []
    rows = sorted(archive.execute("SELECT topic, item_id FROM item_topics").fetchall())
    assert rows == sorted([("remittances", remit), ("belarus-border", border), ("trafficking", other)])
    # An item whose text changed is reclassified from scratch.
    archive["items"].update(remit, {"title": "Forced labour"})
    assert classify_item(archive, classifier, remit) == ["trafficking"]
    assert stored_fingerprint(archive) is None
    counts = reclassify_all(archive, classifier)
    assert counts == {"remittances": 0, "trafficking": 2, "moldova-return": 0, "mic": 0, "belarus-border": 1}
    assert stored_fingerprint(archive) == topics.fingerprint


def test_ensure_classified_only_when_topics_changed(archive, tmp_path, classifier):
    first = insert_item(archive, "https://www.iom.int/news/a", "Remittances go digital")
    assert ensure_classified(archive, classifier) == {
        "remittances": 1, "trafficking": 0, "moldova-return": 0, "mic": 0, "belarus-border": 0}
    # Unchanged file: nothing to do, even if rows were tampered with.
    archive.execute("DELETE FROM item_topics")
    assert ensure_classified(archive, classifier) is None
    assert archive.execute("SELECT count(*) FROM item_topics").fetchone() == (0,)
    # Changed file: everything again, with the new rules.
    changed = tmp_path / "changed.toml"
    changed.write_text(TOPICS.replace('en = ["remittance*", "money transfer"]', 'en = ["digital"]'),
                       encoding="utf-8")
    assert ensure_classified(archive, Classifier(load_topics(changed)))["remittances"] == 1
    assert archive.execute("SELECT topic, item_id FROM item_topics").fetchall() == [("remittances", first)]


def _article(item_id: int, outcome: str) -> Article:
    article = Article(source="iom-press", url="https://www.iom.int/news/a", title="t", body="b",
                      fetched=None)  # type: ignore[arg-type]
    article.outcome, article.item_id = outcome, item_id
    return article


def test_pipeline_classifies_new_and_updated_items(tmp_path):
    topics_path = tmp_path / "topics.toml"
    topics_path.write_text(TOPICS, encoding="utf-8")
    db_path = tmp_path / "archive.db"
    db = open_archive(db_path)
    old = insert_item(db, "https://www.iom.int/news/old", "Old remittances story")
    new = insert_item(db, "https://www.iom.int/news/new", "Forced labour in fishing")
    same = insert_item(db, "https://www.iom.int/news/same", "Money transfer apps")
    db.close()

    pipeline = ClassifyPipeline.from_crawler(make_crawler(PRESSWATCH_DB=str(db_path),
                                                          PRESSWATCH_TOPICS=str(topics_path)))
    pipeline.open_spider()  # first run with this file: the whole archive is classified
    db = open_archive(db_path)
    assert sorted(db.execute("SELECT topic, item_id FROM item_topics").fetchall()) == sorted(
        [("remittances", old), ("trafficking", new), ("remittances", same)])
    db.execute("DELETE FROM item_topics")
    for item_id, outcome in ((old, "unchanged"), (new, "new"), (same, "updated")):
        result = pipeline.process_item(_article(item_id, outcome))
        assert result.item_id == item_id
    pipeline.close_spider()
    assert sorted(db.execute("SELECT topic, item_id FROM item_topics").fetchall()) == sorted(
        [("trafficking", new), ("remittances", same)])
    assert pipeline.crawler.stats.get_stats() == {"presswatch/items_classified": 2}
    db.close()


def test_pipeline_survives_an_invalid_topics_file(tmp_path):
    topics_path = tmp_path / "topics.toml"
    topics_path.write_text('[[topic]]\nid = "x"\n', encoding="utf-8")
    db_path = tmp_path / "archive.db"
    db = open_archive(db_path)
    item_id = insert_item(db, "https://www.iom.int/news/a", "Remittances")
    db.execute("INSERT INTO state (key, value) VALUES ('topics_fingerprint', 'old')")
    db.close()
    pipeline = ClassifyPipeline.from_crawler(make_crawler(PRESSWATCH_DB=str(db_path),
                                                          PRESSWATCH_TOPICS=str(topics_path)))
    assert "title: missing required field" in pipeline.error
    pipeline.open_spider()
    assert pipeline.process_item(_article(item_id, "new")).item_id == item_id
    pipeline.close_spider()
    db = open_archive(db_path)
    # Nothing classified, and the next publish/reclassify will recompute everything.
    assert stored_fingerprint(db) is None
    assert db.execute("SELECT count(*) FROM item_topics").fetchone() == (0,)
    db.close()


def test_the_crawl_classified_items_as_they_arrived(crawled, tmp_path):
    """The real crawl ran ClassifyPipeline: the archive's item_topics is what a full
    reclassification with topics.toml gives, and the bundled topics catch the obvious items."""
    root_topics = load_topics(Path(__file__).resolve().parent.parent / "topics.toml")
    db = open_archive(crawled.db_path, readonly=True)
    during_crawl = set(db.execute("SELECT topic, item_id FROM item_topics").fetchall())
    assert stored_fingerprint(db) == root_topics.fingerprint
    titles = dict(db.execute("SELECT title, id FROM items").fetchall())
    db.close()
    copy = open_archive(copy_archive(crawled.db_path, tmp_path / "copy.db"))
    reclassify_all(copy, Classifier(root_topics))
    assert set(copy.execute("SELECT topic, item_id FROM item_topics").fetchall()) == during_crawl
    copy.close()

    def topics_of(title: str) -> set[str]:
        return {topic for topic, item_id in during_crawl if item_id == titles[title]}

    expected = {
        "The Future of Family Remittances is Digital": {"remittances", "covid-19"},
        "Remittances Prove Resilient in 2020, but Millions of Families Remain at Risk": {"remittances"},
        # Issue 15: "după ani de muncă în străinătate" (after years of work abroad) is a passing
        # mention of labour migration in a release about returnees' reintegration.
        "Migranții reveniți în Republica Moldova primesc granturi pentru a lansa mici afaceri":
            {"return-reintegration"},
        "Мобільні медичні бригади допомагають громадам на сході України, що постраждали від конфлікту":
            {"migration-health", "displacement-emergencies"},
        "Հայաստանը նշեց Թրաֆիքինգի դեմ պայքարի համաշխարհային օրը՝ վերապրածների արշավով": {"counter-trafficking"},
        "Savanoriško grįžimo pagalba pažeidžiamiems asmenims VI": {"return-reintegration"},
        "Children Left Behind: New Study Looks at Well-being of Migrant Workers' Children in Central Asia":
            {"children-left-behind", "labour-migration"},
        "Launch of Moldova Migration Data Profile": {"migration-data"},
        "Lansarea Profilului de date privind migrația al Republicii Moldova": {"migration-data"},
        "IOM and Partners Scaling Up Aid for Migrants and Refugees Stranded in Belarus":
            {"belarus-eu-border", "resettlement-refugees", "displacement-emergencies"},
        "Facilitating Refugee Resettlement to Lithuania": {"resettlement-refugees"},
        "Innovative Development of Intercultural Competences for Police Officers (IDIC)": {"integration"},
        "The MIPEX Health strand: a longitudinal, mixedmethods survey of policies on migrant health in 38 countries":
            {"integration", "migration-health"},
        "Diaspora Doctors Share Skills with Regional Hospitals in Armenia": {"health-workers-diaspora"},
        "Fair Recruitment Initiative to Protect Migrant Workers Travelling to the Gulf": {"labour-migration"},
        "Pakistan Floods: IOM Delivers Emergency Shelter to Displaced Families": {"displacement-emergencies"},
        "Migration Health in the Sustainable Development Goals (Bosnian-Croatian-Serbian)":
            {"sdgs", "migration-health"},
        "Work and employment": {"mic-work-employment"},
        "Darbas ir užimtumas": {"mic-work-employment"},
        "Social guarantees": {"mic-social-guarantees"},
        "Education": {"mic-education"},
        "Švietimas": {"mic-education"},
        "Foreigners in Lithuania": {"mic-foreigners"},
    }
    for title, wanted in expected.items():
        assert wanted <= topics_of(title), (title, topics_of(title))
    # The Information Centre's topics hold only its pages; the saved search only the border release
    # and its republication on eca.iom.int (issue 8: one story, one feed entry).
    mic = {item_id for topic, item_id in during_crawl if topic.startswith("mic-")}
    assert mic <= {titles[t] for t in ("Work and employment", "Darbas ir užimtumas", "Social guarantees",
                                       "Education", "Švietimas", "Foreigners in Lithuania", "Other issues",
                                       "About the organization", "Apie organizaciją", "Об организации")}
    assert {item_id for topic, item_id in during_crawl if topic == "belarus-eu-border"} == {
        titles["IOM and Partners Scaling Up Aid for Migrants and Refugees Stranded in Belarus"],
        titles["Belarus: Aid Stepped Up for Migrants and Refugees Stranded at the Border"]}
    # Nothing about trafficking slips into the remittances feed and vice versa.
    assert "counter-trafficking" not in topics_of("The Future of Family Remittances is Digital")
    assert "remittances" not in topics_of("Armenia Marks World Day against Trafficking in Persons with "
                                          "Survivor-Led Campaign")
