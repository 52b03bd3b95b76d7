"""`presswatch search`, `show` and `stats` on the archive of the sample sites, and the query layer.

Result sets and their order are asserted exactly (by title: the crawl assigns
ids in arrival order, titles are stable). The sets are also checked against an
oracle that reads the text directly (tokens folded like FTS5's unicode61 with
remove_diacritics), so the expected lists are not just what the code returned.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import unicodedata

import pytest
import sqlite_utils
from click.testing import CliRunner

import presswatch.archive.search as search_module
from presswatch.archive.db import open_archive
from presswatch.archive.schema import MIGRATIONS, migrate
from presswatch.archive.search import QueryError, SearchQuery, check_values, parse_date, parse_query, search
from presswatch.cli.main import main
from tests.conftest import ROOT

# --------------------------------------------------------------------------- the oracle


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text or "")
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def tokens(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", fold(text))


def columns(item: dict) -> list[list[str]]:
    return [tokens(item["title"]), tokens(item["summary"]), tokens(item["body"])]


def has_phrase(item: dict, phrase: str) -> bool:
    words = tokens(phrase)
    return any(column[i:i + len(words)] == words for column in columns(item) for i in range(len(column)))


def has_prefix(item: dict, stem: str) -> bool:
    return any(token.startswith(fold(stem)) for column in columns(item) for token in column)


def newest_first(items: list[dict]) -> list[str]:
    """Titles by published_utc, newest first, undated last; equal times: the higher id first."""
    ordered = sorted(items, key=lambda item: (item["published_utc"] or "", item["id"]), reverse=True)
    return [item["title"] for item in ordered]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def db(crawled):
    database = open_archive(crawled.db_path, readonly=True)
    yield database
    database.close()


@pytest.fixture(scope="module")
def items(db) -> list[dict]:
    return list(db.query("SELECT * FROM items"))


def titles(db, **query) -> list[str]:
    return [row["title"] for row in search(db, SearchQuery(limit=100, **query)).rows]


def run(*args: str, db_path=None):
    """The presswatch command in this process; returns click's result."""
    extra = ["--db", str(db_path)] if db_path else []
    return CliRunner().invoke(main, [*args, *extra], catch_exceptions=False)


# --------------------------------------------------------------------------- phrases


FAMILY_REMITTANCES = [
    "Family Remittances and an Equitable Recovery: What the Financial Sector Can Do",
    "The Future of Family Remittances is Digital",
    "Remittances Prove Resilient in 2020, but Millions of Families Remain at Risk",
]


def test_phrase_ranked_by_relevance(db, items):
    assert titles(db, text='"family remittances"') == FAMILY_REMITTANCES
    assert set(FAMILY_REMITTANCES) == {item["title"] for item in items if has_phrase(item, "family remittances")}


def test_phrase_newest_first(db, items):
    assert titles(db, text='"family remittances"', sort="newest") == [
        "The Future of Family Remittances is Digital",
        "Remittances Prove Resilient in 2020, but Millions of Families Remain at Risk",
        "Family Remittances and an Equitable Recovery: What the Financial Sector Can Do",
    ]


def test_words_without_quotes_must_all_match_but_not_as_a_phrase(db, items):
    found = titles(db, text="remittances digital")
    assert found == titles(db, text="remittances AND digital") == [
        "The Future of Family Remittances is Digital",
        "Family Remittances and an Equitable Recovery: What the Financial Sector Can Do",
        "Remittances Prove Resilient in 2020, but Millions of Families Remain at Risk",
    ]
    assert set(found) == {item["title"] for item in items
                          if has_phrase(item, "remittances") and has_phrase(item, "digital")}


# --------------------------------------------------------------------------- boolean


def test_not(db, items):
    assert titles(db, text="remittances NOT moldova") == [
        "Remittances Prove Resilient in 2020, but Millions of Families Remain at Risk",
        "The Future of Family Remittances is Digital",
        "International Migrants Day: Migrants Drive Progress Towards the Sustainable Development Goals",
        "Migration Data Portal Adds New Indicators on the Impact of COVID-19 on Migration",
        "Reaching out to migrant households during COVID-19 outbreak: the increasing need of social workers in Cambodia",
        "“Luck would not have happened without misfortune’s help.”",
        "Children Left Behind: New Study Looks at Well-being of Migrant Workers' Children in Central Asia",
        "World Migration Report 2022 launched",
    ]
    expected = {item["title"] for item in items if has_phrase(item, "remittances") and not has_phrase(item, "moldova")}
    assert set(titles(db, text="remittances NOT moldova")) == expected


TRAFFICKING = [
    "Pandemic Pushes More People into the Hands of Traffickers, IOM Warns on World Day against Trafficking in Persons",
    "Fake Job Offers Online Lure Migrants into Trafficking and Forced Criminality, IOM Warns",
    "Armenia Marks World Day against Trafficking in Persons with Survivor-Led Campaign",
    "Western Balkans: Governments and Civil Society Join Forces Against Human Trafficking",
    "WDATiP around the Region",
    "About the organization",
    "New Migrant Resource Centre Opens in Tbilisi",
    "Assisted Voluntary Return for Vulnerable Persons VI",
    "Ukraine: IOM Scales Up Assistance as Millions Flee Their Homes",
]


def test_or(db, items):
    assert titles(db, text="trafficking OR traffickers") == TRAFFICKING
    assert set(TRAFFICKING) == {item["title"] for item in items
                                if has_phrase(item, "trafficking") or has_phrase(item, "traffickers")}


def test_parentheses(db, items):
    found = titles(db, text="diaspora NOT (health OR doctors)")
    assert found == [
        "Diaspora Policy Must Start With Economic Policy",
        "Returning Migrants in Moldova Receive Grants to Start Small Businesses",
        "Migranții reveniți în Republica Moldova primesc granturi pentru a lansa mici afaceri",
        "Launch of Moldova Migration Data Profile",
        "Lansarea Profilului de date privind migrația al Republicii Moldova",
        "Migration Data Portal Adds New Indicators on the Impact of COVID-19 on Migration",
    ]
    assert set(found) == {item["title"] for item in items if has_phrase(item, "diaspora")
                          and not (has_phrase(item, "health") or has_phrase(item, "doctors"))}
    assert titles(db, text="covid-19 AND (vaccination OR vaccines)") == [
        "Migration Health Conference in Almaty Puts Needs of Migrant Workers in Central Asia on the Agenda",
        "IOM Urges Inclusion of All Migrants in COVID-19 Vaccination Plans",
        "Mobile Health Teams Reach Conflict-Affected Communities in Eastern Ukraine",
    ]


def test_column_filter(db, items):
    assert titles(db, text="title:ukraine", sort="newest") == [
        "Ukraine: IOM Scales Up Assistance as Millions Flee Their Homes",
        "IOM Supports People Fleeing Ukraine as They Arrive in the Republic of Moldova",
        "Mobile Health Teams Reach Conflict-Affected Communities in Eastern Ukraine",
        "IOM Ukraine Launches “No Single Portrait” Digital Campaign on Instagram",
    ]
    assert titles(db, text="title:ukraine", sort="newest") == newest_first(
        [item for item in items if "ukraine" in tokens(item["title"])])


# --------------------------------------------------------------------------- prefixes


def test_prefix_ranked(db, items):
    # traffick* finds the same items as trafficking OR traffickers, ranked as one term.
    assert titles(db, text="traffick*") == [
        "Pandemic Pushes More People into the Hands of Traffickers, IOM Warns on World Day against Trafficking in Persons",
        "Armenia Marks World Day against Trafficking in Persons with Survivor-Led Campaign",
        "Western Balkans: Governments and Civil Society Join Forces Against Human Trafficking",
        "Fake Job Offers Online Lure Migrants into Trafficking and Forced Criminality, IOM Warns",
        "WDATiP around the Region",
        "About the organization",
        "New Migrant Resource Centre Opens in Tbilisi",
        "Assisted Voluntary Return for Vulnerable Persons VI",
        "Ukraine: IOM Scales Up Assistance as Millions Flee Their Homes",
    ]
    assert set(titles(db, text="traffick*")) == {item["title"] for item in items if has_prefix(item, "traffick")}


REMITT_NEWEST = [
    "International Migrants Day: Migrants Drive Progress Towards the Sustainable Development Goals",
    "The Future of Family Remittances is Digital",
    "World Migration Report 2022 launched",
    "Diaspora Policy Must Start With Economic Policy",
    "Remittances Prove Resilient in 2020, but Millions of Families Remain at Risk",
    "Family Remittances and an Equitable Recovery: What the Financial Sector Can Do",
    "Launch of Moldova Migration Data Profile",
    "Migration Data Portal Adds New Indicators on the Impact of COVID-19 on Migration",
    "Children Left Behind: New Study Looks at Well-being of Migrant Workers' Children in Central Asia",
    "“Luck would not have happened without misfortune’s help.”",
    "Reaching out to migrant households during COVID-19 outbreak: the increasing need of social workers in Cambodia",
]


def test_prefix_newest(db, items):
    assert titles(db, text="remitt*", sort="newest") == REMITT_NEWEST
    assert REMITT_NEWEST == newest_first([item for item in items if has_prefix(item, "remitt")])


def test_short_prefix_uses_the_prefix_index_and_diacritics_are_ignored(db, items):
    assert parse_query("rem*").costly is False and parse_query("remitt*").costly is True
    assert set(titles(db, text="rem* AND remitt*")) == set(REMITT_NEWEST)
    assert titles(db, text="svietimas") == ["Švietimas"]  # lt: Š folded to s
    assert titles(db, text="remitenț*") == ["Lansarea Profilului de date privind migrația al Republicii Moldova"]


# --------------------------------------------------------------------------- filters


def test_source_filter(db, items):
    found = titles(db, text="remitt*", sources=("iom-press",), sort="newest")
    assert found == [
        "International Migrants Day: Migrants Drive Progress Towards the Sustainable Development Goals",
        "The Future of Family Remittances is Digital",
        "World Migration Report 2022 launched",
        "Remittances Prove Resilient in 2020, but Millions of Families Remain at Risk",
        "Migration Data Portal Adds New Indicators on the Impact of COVID-19 on Migration",
        "Children Left Behind: New Study Looks at Well-being of Migrant Workers' Children in Central Asia",
    ]
    assert found == [title for title in REMITT_NEWEST
                     if next(i for i in items if i["title"] == title)["source"] == "iom-press"]
    both = titles(db, text="remitt*", sources=("iom-press", "moldova"), sort="newest")
    assert both == [title for title in REMITT_NEWEST if title in found or title.startswith("Launch of Moldova")]


def test_country_is_the_sources_or_one_named_in_the_text(db, items):
    armenia = titles(db, countries=("AM",))
    # The English and Armenian versions share a publication time: the one archived last comes first.
    same_time = sorted(armenia[1:3], key=lambda title: title.startswith("Armenia"))
    assert armenia[:1] + same_time + armenia[3:] == [
        "Diaspora Doctors Share Skills with Regional Hospitals in Armenia",
        "Հայաստանը նշեց Թրաֆիքինգի դեմ պայքարի համաշխարհային օրը՝ վերապրածների արշավով",
        "Armenia Marks World Day against Trafficking in Persons with Survivor-Led Campaign",
        "Family Remittances and an Equitable Recovery: What the Financial Sector Can Do",
        "IOM and UN Help Returned Armenian Migrants Back to Work During Pandemic",
        "Migration and displacement in Armenia: Three stories of loss and perseverance",
    ]
    assert armenia == newest_first([item for item in items
                                    if item["country"] == "AM" or "AM" in json.loads(item["countries"])])
    moldova = set(titles(db, countries=("MD",)))
    assert {item["title"] for item in items if item["source"] == "moldova"} <= moldova
    assert "Ukraine: IOM Scales Up Assistance as Millions Flee Their Homes" in moldova  # names Moldova
    about_moldova = titles(db, text="remitt*", countries=("MD",), sort="newest")
    assert about_moldova == [
        "Diaspora Policy Must Start With Economic Policy",
        "Family Remittances and an Equitable Recovery: What the Financial Sector Can Do",
        "Launch of Moldova Migration Data Profile",
    ]
    assert about_moldova == newest_first([item for item in items if has_prefix(item, "remitt") and (
        item["country"] == "MD" or "MD" in json.loads(item["countries"]))])


def test_language_region_kind_and_dates(db, items):
    assert titles(db, text="migra*", languages=("ro",)) == [
        "Lansarea Profilului de date privind migrația al Republicii Moldova",
        "Migranții reveniți în Republica Moldova primesc granturi pentru a lansa mici afaceri",
    ]
    news = titles(db, regions=("European Economic Area",), kinds=("news",))
    assert sorted(news[:2]) + news[2:] == [
        "Assisted Voluntary Return for Vulnerable Persons VI",  # these two: same time (en, lt)
        "Savanoriško grįžimo pagalba pažeidžiamiems asmenims VI",
        "Facilitating Refugee Resettlement to Lithuania",
        "Innovative Development of Intercultural Competences for Police Officers (IDIC)",  # undated: last
    ]
    assert news == newest_first([item for item in items
                                 if item["region"] == "European Economic Area" and item["kind"] == "news"])
    spring = titles(db, text="migrants", since="2022-03", until="2022-05", sort="newest")
    assert spring == [
        "Returning Migrants in Uzbekistan Get Job Counselling and Start-up Grants",
        "International Migration Review Forum: States Take Stock of Global Compact for Migration",
        "World Health Day: Migrant Health Workers Are Essential to Resilient Health Systems",
        "Ukraine: IOM Scales Up Assistance as Millions Flee Their Homes",
    ]
    assert spring == newest_first([item for item in items if has_phrase(item, "migrants")
                                   and "2022-03-01" <= (item["published_utc"] or "") < "2022-06-01"])
    # --until takes the whole day; --since the day from midnight UTC.
    day = titles(db, since="2021-06-15", until="2021-06-15", sort="newest")
    assert day == newest_first([item for item in items if (item["published_utc"] or "").startswith("2021-06-15")])
    assert len(day) == 5


def test_filter_values_are_checked_against_the_archive(db):
    checked = check_values(db, SearchQuery(regions=("european econ",), sources=("moldova",)), set())
    assert checked.regions == ("European Economic Area",)
    with pytest.raises(QueryError, match=r"--lang 'xx': no such language in the archive \(known: en, hy, lt"):
        check_values(db, SearchQuery(languages=("xx",)), set())
    # A topic of topics.toml nobody has been classified into yet is known: no results, no error.
    assert check_values(db, SearchQuery(topics=("new-topic",)), {"new-topic"}).topics == ("new-topic",)
    assert search(db, SearchQuery(topics=("new-topic",))).rows == []


def test_filters_only_list_newest_first(db, items):
    found = search(db, SearchQuery(sources=("publications",), limit=3))
    assert [row["title"] for row in found.rows] == newest_first(
        [item for item in items if item["source"] == "publications"])[:3]
    assert all(row["score"] is None for row in found.rows)


def test_topic_filter(archive_copy):
    db = open_archive(archive_copy)
    chosen = [row[0] for row in db.execute(
        "SELECT id FROM items WHERE source = 'moldova' ORDER BY published_utc, uid LIMIT 3")]
    with db.atomic():
        db.execute("DELETE FROM item_topics")
        for item_id in chosen:
            db.execute("INSERT INTO item_topics (topic, item_id) VALUES ('remittances', ?)", [item_id])
        db.execute("INSERT INTO item_topics (topic, item_id) VALUES ('covid-19', ?)", [chosen[0]])
    found = search(db, SearchQuery(topics=("remittances",)))
    assert [row["id"] for row in found.rows] == [row[0] for row in db.execute(
        "SELECT id FROM items WHERE id IN (?, ?, ?) ORDER BY published_utc DESC, id DESC", chosen)]
    assert next(row for row in found.rows if row["id"] == chosen[0])["topics"] == ["covid-19", "remittances"]
    both = search(db, SearchQuery(text="moldova", topics=("remittances", "covid-19"), sort="newest"))
    assert {row["id"] for row in both.rows} <= set(chosen)
    db.close()


# --------------------------------------------------------------------------- the plans


def synthetic_archive(count: int = 240):
    """Items with a known mix of words, sources, countries and dates, ids not in date order."""
    db = open_archive(":memory:")
    words = ["alpha", "beta", "gamma", "delta"]
    with db.atomic():
        for n in range(count):
            body = " ".join(
                [word for k, word in enumerate(words) if n % (k + 2) == 0] + ["common"] * (1 + n % 3)
                + (["rarity"] if n % 37 == 0 else []) + ["filler"] * (n % 11)
            )
            month = (n * 7919) % 60
            db["items"].insert({
                "uid": f"{(n * 2654435761) % 2**32:016x}", "source": ["s1", "s2", "s3"][n % 3],
                "kind": "news", "region": "r", "country": "MD" if n % 5 == 0 else None,
                "url": f"https://example.org/{n}", "title": f"Item {n}" + (" alpha" if n % 13 == 0 else ""),
                "summary": "", "body": body,
                "published": None if n % 17 == 0 else f"{2018 + month // 12}-{month % 12 + 1:02d}-10T00:00:00Z",
                "published_utc": None if n % 17 == 0 else f"{2018 + month // 12}-{month % 12 + 1:02d}-10T00:00:00Z",
                "language": "en", "countries": json.dumps(["UA"] if n % 4 == 0 else []),
                "first_seen": "2024-01-01T00:00:00Z", "fetched": "2024-01-01T00:00:00Z",
            })
            if n % 6 == 0:
                db.execute("INSERT INTO item_topics (topic, item_id) VALUES ('t', ?)", [n + 1])
    return db


def reference(db, query: SearchQuery, candidates: int | None) -> list[int]:
    """The same search answered the naive way: every match, filtered, sorted in SQL."""
    conditions, params = [], []
    for f in search_module.build_filters(query):
        conditions.append(f.check_sql)
        params.extend(f.params)
    where = " AND ".join(conditions) or "1"
    if query.text and query.order == "relevance":
        rows = db.execute(
            f"SELECT f.rowid, bm25(items_fts, 5.0, 2.0, 1.0), i.published_utc, i.uid FROM items_fts f "
            f"JOIN items i ON i.id = f.rowid WHERE items_fts MATCH ? AND {where} ORDER BY f.rowid DESC",
            [parse_query(query.text).expression, *params]).fetchall()
        if candidates:
            rows = rows[:candidates]
        rows.sort(key=lambda row: (row[1], _desc(row[2]), -row[0]))
        return [row[0] for row in rows[:query.limit]]
    text = ""
    if query.text:
        text = "AND i.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)"
        params.append(parse_query(query.text).expression)
    return [row[0] for row in db.execute(
        f"SELECT i.id FROM items i WHERE {where} {text} ORDER BY i.published_utc DESC, i.id DESC LIMIT ?",
        [*params, query.limit])]


def _desc(value):
    return tuple(-ord(char) for char in (value or "")) + (1,)


PLAN_QUERIES = [
    dict(text="common"), dict(text="alpha"), dict(text="rarity"), dict(text="alph*"), dict(text="al*"),
    dict(text="alpha OR beta"), dict(text="common NOT gamma"), dict(text='"alpha beta"'),
    dict(text="common", sources=("s2",)), dict(text="alpha", countries=("MD",)),
    dict(text="common", countries=("UA", "MD"), since="2019-03", until="2021"),
    dict(text="common", topics=("t",)), dict(text="gamma", sources=("s1", "s3"), topics=("t",)),
    dict(text="common", since="2018-01", until="2018-01"), dict(text="alph*", since="2018-01", until="2018-02"),
    dict(sources=("s1",)), dict(countries=("UA",)), dict(since="2020-01-01", until="2020-12-31"), dict(),
]


@pytest.mark.parametrize("small, dense, check_cost", [(1000, 1000, 250), (3, 10**9, 250), (3, 3, 250), (3, 3, 0)],
                         ids=["fetch-and-sort", "collect-then-walk", "walk-and-check", "check-filtered"])
@pytest.mark.parametrize("sort", ["newest", "relevance"])
@pytest.mark.parametrize("spec", PLAN_QUERIES, ids=lambda spec: json.dumps(spec))
def test_every_plan_answers_like_the_naive_query(monkeypatch, spec, sort, small, dense, check_cost):
    """Small bounds force the walking and filter-driven plans; results must not change."""
    if sort == "relevance" and not spec.get("text"):
        pytest.skip("relevance needs a text")
    monkeypatch.setattr(search_module, "plan_bounds",
                        lambda db, limit: search_module.Bounds(240, small, dense))
    monkeypatch.setattr(search_module, "CHECK_COST", check_cost)
    db = synthetic_archive()
    for candidates in (1000, 7):
        query = SearchQuery(sort=sort, limit=10, candidates=candidates, **spec)
        result = search(db, query)
        expected = reference(db, query, candidates if sort == "relevance" else None)
        assert [row["id"] for row in result.rows] == expected, result.plan
        if sort == "relevance":
            matches = len(reference(db, SearchQuery(sort=sort, limit=10_000, **spec), None))
            assert result.exact == (matches <= candidates)


def test_relevance_with_few_candidates_says_so(db):
    result = search(db, SearchQuery(text="migrants", candidates=5))
    assert not result.exact and len(result.rows) == 5
    assert "newest 5 matches" in result.plan
    exact = search(db, SearchQuery(text="migrants", candidates=0, limit=100))
    assert exact.exact and exact.matches == len(exact.rows)


# --------------------------------------------------------------------------- query text


@pytest.mark.parametrize("text, expression", [
    ("remittances", '"remittances"'),
    ('"family remittances"', '"family remittances"'),
    ("family remittances", '"family" "remittances"'),
    ("remitt*", '"remitt"*'),
    ('"family remitt"*', '"family remitt"*'),
    ("COVID-19 AND vaccin*", '"COVID-19" AND "vaccin"*'),
    ("title:ukraine", 'title : "ukraine"'),
    ("title:(covid OR pandemic) NOT body:vaccine", 'title : ( "covid" OR "pandemic" ) NOT body : "vaccine"'),
    ("a -- b", '"a" "b"'),
    ("and or not", '"and" "or" "not"'),
])
def test_query_translation(text, expression):
    assert parse_query(text).expression == expression


@pytest.mark.parametrize("text, message", [
    ('"family remittances', "unbalanced quotes"),
    ("(covid OR pandemic", "unbalanced parentheses"),
    ("covid)", "unbalanced parentheses"),
    ("OR covid", "OR needs a term on each side"),
    ("covid AND", "AND needs a term on each side"),
    ("covid AND OR x", "OR needs a term on each side"),
    ("NOT covid", "NOT needs something to exclude from"),
    ("covid ()", "empty parentheses"),
    ("m*", "too short"),
    ("*", "'*' must follow a word"),
    ("title:", "must be followed by"),
    ("-- !!", "nothing to search for"),
])
def test_query_mistakes(text, message):
    with pytest.raises(QueryError, match=re.escape(message)):
        parse_query(text)


def test_dates():
    assert parse_date("2021-06", "--since") == "2021-06-01T00:00:00Z"
    assert parse_date("2021-06", "--until", end=True) == "2021-07-01T00:00:00Z"
    assert parse_date("2021-12", "--until", end=True) == "2022-01-01T00:00:00Z"
    assert parse_date("2021-02-28", "--until", end=True) == "2021-03-01T00:00:00Z"
    assert parse_date("2021", "--until", end=True) == "2022-01-01T00:00:00Z"
    for bad in ("2021-02-30", "21-06-01", "yesterday", "2021/06/01"):
        with pytest.raises(QueryError, match="is not a date"):
            parse_date(bad, "--since")


# --------------------------------------------------------------------------- the command


def test_json_and_csv_parse_back_to_the_same_rows(crawled):
    args = ["search", "remitt* OR diaspora", "--since", "2021", "--limit", "8"]
    as_json = run(*args, "--json", db_path=crawled.db_path)
    as_csv = run(*args, "--csv", db_path=crawled.db_path)
    assert as_json.exit_code == 0 and as_csv.exit_code == 0
    json_rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    csv_rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(json_rows) == 8
    for row in csv_rows:
        row["id"] = int(row["id"])
        row["score"] = float(row["score"]) if row["score"] else None
        for key in ("countries", "topics"):
            row[key] = row[key].split()
        for key, value in row.items():
            if value == "":
                row[key] = None
    assert csv_rows == json_rows
    db = open_archive(crawled.db_path, readonly=True)
    assert [row["title"] for row in json_rows] == titles(db, text="remitt* OR diaspora", since="2021")[:8]
    assert all("**" in row["snippet"] for row in json_rows)
    assert [row["score"] for row in json_rows] == sorted((row["score"] for row in json_rows), reverse=True)


def test_table_output(crawled):
    result = run("search", '"family remittances"', db_path=crawled.db_path)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "published", "source", "lang", "title", "snippet"]
    assert "**Family Remittances**" in result.stdout
    assert result.stdout.index("Family Remittances and an") < result.stdout.index("The Future of Family")


@pytest.mark.parametrize("args, message", [
    (["search", '"family remittances'], "Error: search: unbalanced quotes in query"),
    (["search", "covid AND"], "Error: search: AND needs a term on each side"),
    (["search", "covid", "--topic", "no-such-topic"], "Error: search: --topic 'no-such-topic': unknown topic"),
    (["search", "covid", "--since", "2021-13-01"], "Error: search: --since '2021-13-01' is not a date"),
    (["search", "covid", "--until", "last week"], "Error: search: --until 'last week' is not a date"),
    (["search", "covid", "--since", "2022", "--until", "2021"], "Error: search: --since 2022 is after --until 2021"),
    (["search", "covid", "--source", "nope"], "Error: search: --source 'nope': no such source in the archive"),
    (["search", "covid", "--country", "Atlantis"], "Error: search: --country 'Atlantis': not an ISO"),
    (["search", "covid", "--region", "mars"], "Error: search: --region 'mars': no such region"),
    (["search", "--sort", "relevance"], "Error: search: --sort relevance needs a query text"),
    (["show", "999999"], "Error: show: no item '999999'"),
])
def test_bad_queries_are_one_line_errors(crawled, args, message):
    result = run(*args, db_path=crawled.db_path)
    assert result.exit_code == 1
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_fts_errors_in_a_real_process_are_one_line(crawled):
    for query in ('"unbalanced', "(a OR", "NOT a"):
        process = subprocess.run([sys.executable, "-m", "presswatch", "search", query, "--db", str(crawled.db_path)],
                                 capture_output=True, text=True, cwd=ROOT, timeout=60)
        assert process.returncode == 1
        assert process.stderr.startswith("Error: search: ") and len(process.stderr.splitlines()) == 1
        assert process.stdout == ""


def test_sqlite_fts_error_is_explained(db, monkeypatch):
    # Should FTS5 still refuse an expression, the message names the query, in one line.
    monkeypatch.setattr(search_module, "parse_query", lambda text: search_module.ParsedQuery(text, "a AND AND b"))
    with pytest.raises(QueryError, match=r"^FTS5 cannot run query 'x': fts5: syntax error"):
        search(db, SearchQuery(text="x"))


def test_missing_archive(tmp_path):
    result = run("search", "x", db_path=tmp_path / "none.db")
    assert result.exit_code == 1 and "no such archive" in result.stderr
    assert not (tmp_path / "none.db").exists()


# --------------------------------------------------------------------------- show and stats


def test_show_by_id_uid_url_and_copy_url(crawled, db):
    item = next(db.query("SELECT * FROM items WHERE url = ?",
                         ["https://www.iom.int/news/future-family-remittances-digital"]))
    copy = "https://rovienna.iom.int/press/future-family-remittances-digital"
    for key in (str(item["id"]), item["uid"], item["url"], copy):
        result = run("show", key, "--json", db_path=crawled.db_path)
        assert result.exit_code == 0, result.stderr
        shown = json.loads(result.stdout)
        assert shown["id"] == item["id"] and shown["body"] == item["body"]
        assert [(d["url"], d["reason"]) for d in shown["duplicates"]] == [(copy, "same_content")]
    text = run("show", str(item["id"]), db_path=crawled.db_path).stdout
    assert text.startswith("The Future of Family Remittances is Digital\n")
    assert f"uid {item['uid']}" in text and copy in text and item["body"][:60] in text


def test_show_lists_earlier_versions(archive_copy):
    db = open_archive(archive_copy)
    item_id = db.execute("SELECT id FROM items ORDER BY uid LIMIT 1").fetchone()[0]
    db["item_versions"].insert({"item_id": item_id, "version": 1, "title": "An older title", "body": "old",
                                "fetched": "2021-01-01T00:00:00Z", "replaced": "2021-02-01T00:00:00Z"})
    db.close()
    result = run("show", str(item_id), db_path=archive_copy)
    assert "Earlier versions (1)" in result.stdout and "An older title" in result.stdout


def test_diff_finds_an_item_by_the_url_of_its_copy_as_show_does(archive_copy):
    """`presswatch diff` and `presswatch show` find items the same way (one find_item)."""
    url = "https://www.iom.int/news/future-family-remittances-digital"
    copy = "https://rovienna.iom.int/press/future-family-remittances-digital"
    db = open_archive(archive_copy)
    item = next(db.query("SELECT * FROM items WHERE url = ?", [url]))
    assert [row[0] for row in db.execute("SELECT url FROM duplicates WHERE item_id = ?", [item["id"]])] == [copy]
    db["item_versions"].insert({"item_id": item["id"], "version": 1, "title": "An older title",
                                "body": item["body"], "fetched": "2021-01-01T00:00:00Z",
                                "replaced": "2021-02-01T00:00:00Z"})
    db.close()
    for key in (copy, url, str(item["id"])):
        result = run("diff", key, db_path=archive_copy)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0] == "--- version 1, fetched 2021-01-01T00:00:00Z"
        assert lines[1] == f"+++ version 2 (current), fetched {item['fetched']}"
        assert "-An older title" in lines and "+The Future of Family Remittances is Digital" in lines
    missing = run("diff", "https://rovienna.iom.int/press/no-such-page", db_path=archive_copy)
    assert missing.exit_code == 1 and "no item 'https://rovienna.iom.int/press/no-such-page'" in missing.output


def test_stats(crawled, db):
    result = run("stats", "--json", db_path=crawled.db_path)
    counts = json.loads(result.stdout)
    total = db.execute("SELECT count(*) FROM items").fetchone()[0]
    assert counts["items"] == total and counts["undated"] == db.execute(
        "SELECT count(*) FROM items WHERE published_utc IS NULL").fetchone()[0]
    assert counts["source"] == dict(db.execute("SELECT source, count(*) FROM items GROUP BY source").fetchall())
    assert counts["kind"]["press_release"] == db.execute(
        "SELECT count(*) FROM items WHERE kind = 'press_release'").fetchone()[0]
    assert sum(counts["month"].values()) == total and counts["month"]["2021-06"] == 7
    assert list(counts["month"])[-1] == "undated"
    assert sum(counts["language"].values()) == total
    assert sum(counts["topic"].values()) == db.execute("SELECT count(*) FROM item_topics").fetchone()[0]
    table = run("stats", "--by", "language", db_path=crawled.db_path).stdout
    assert table.startswith(f"{total} items (") and "language" in table and "source" not in table


# --------------------------------------------------------------------------- schema


def test_item_countries_follow_items_and_are_backfilled():
    db = sqlite_utils.Database(memory=True)
    for migration in MIGRATIONS[:4]:
        migration(db)
    db.execute("PRAGMA user_version = 4")
    base = {"kind": "news", "title": "t", "first_seen": "x", "fetched": "x"}
    db["items"].insert({**base, "uid": "a", "source": "moldova", "url": "u1", "country": "MD",
                        "countries": json.dumps(["UA", "MD"])})
    db["items"].insert({**base, "uid": "b", "source": "iom", "url": "u2", "country": None, "countries": "[]"})
    migrate(db)
    assert db.execute("SELECT country, item_id FROM item_countries ORDER BY 1").fetchall() == [("MD", 1), ("UA", 1)]
    db["items"].insert({**base, "uid": "c", "source": "iom", "url": "u3", "countries": json.dumps(["PL"])})
    db["items"].update(1, {"countries": json.dumps(["RO"])})
    db["items"].update(2, {"countries": "not json"})
    db.execute("DELETE FROM items WHERE id = 3")
    assert db.execute("SELECT country, item_id FROM item_countries ORDER BY 1").fetchall() == [("MD", 1), ("RO", 1)]


def test_every_filter_has_an_index(db):
    plans = {
        "source": "SELECT id FROM items WHERE source = 'x'",
        "kind": "SELECT id FROM items WHERE kind = 'x'",
        "region": "SELECT id FROM items WHERE region = 'x'",
        "language": "SELECT id FROM items WHERE language = 'x'",
        "date": "SELECT id FROM items WHERE published_utc >= 'x'",
        "country": "SELECT item_id FROM item_countries WHERE country = 'x'",
        "topic": "SELECT item_id FROM item_topics WHERE topic = 'x'",
    }
    for name, sql in plans.items():
        plan = " ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "SEARCH" in plan and ("INDEX" in plan or "PRIMARY KEY" in plan), (name, plan)


def test_schema_doc_covers_every_table_column_and_index():
    doc = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    db = open_archive(":memory:")
    shadow = re.compile(r"^items_fts_(data|idx|docsize|config|content)$")
    missing = []
    for table in db.table_names():
        if shadow.match(table):
            continue
        if f"### {table}" not in doc:
            missing.append(f"table {table}")
        for column in db[table].columns:
            if not re.search(rf"\b{re.escape(column.name)}\b", doc):
                missing.append(f"{table}.{column.name}")
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') "
                              "AND name NOT LIKE 'sqlite_autoindex%'"):
        if f"`{name}`" not in doc:
            missing.append(name)
    assert not missing, f"docs/schema.md does not document: {', '.join(missing)}"
