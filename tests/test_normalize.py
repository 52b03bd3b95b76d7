"""Tests for the pipelines.normalize package (pure functions: no network, no Scrapy)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from pipelines.normalize.countries import countries_mentioned
from pipelines.normalize.dates import dateline_date, parse_page_date
from pipelines.normalize.hashes import content_hash, item_uid
from pipelines.normalize.language import normalize_language
from pipelines.normalize.text import clean_text, clean_title
from pipelines.normalize.urls import canonical_url

VIENNA = ZoneInfo("Europe/Vienna")
CHISINAU = ZoneInfo("Europe/Chisinau")

# ------------------------------------------------------------------------- clean_text


def test_clean_text_none_and_empty():
    assert clean_text(None) == ""
    assert clean_text("") == ""
    assert clean_text(" \n\t\n ") == ""


def test_clean_text_nfc():
    assert clean_text("Chis\u0327ina\u0306u") == "Chi\u015fin\u0103u"


def test_clean_text_removes_xml_invalid_characters():
    text = "a\x00b\x01c\x08d\x1fe\ufffef\uffffg\ud800h\udfffi\tj\x7fk"
    assert clean_text(text) == "abcdefghi j\x7fk"


def test_clean_text_unicode_spaces_and_invisible_characters():
    text = "IOM\u00a0in\u2009Moldova\u202fand\u3000Kyiv,\u200b soft\u00adhyphen\ufeff"
    assert clean_text(text) == "IOM in Moldova and Kyiv, softhyphen"


def test_clean_text_lines_and_paragraphs():
    text = "  First   line\t\tof  para one \r\nsecond line\n\n\n \t \nPara two\n\n\n\nPara three  "
    assert clean_text(text) == "First line of para one\nsecond line\n\nPara two\n\nPara three"


def test_clean_text_form_feed_separates_lines():
    assert clean_text("a\x0cb\x0bc\u2028d\u2029e") == "a\nb\nc\nd\n\ne"


def test_clean_title_single_line():
    assert clean_title("  World Migration\n\nReport\u00a02022 \t launched\n") == (
        "World Migration Report 2022 launched"
    )
    assert clean_title(None) == ""


# ---------------------------------------------------------------------- canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # scheme/host lowercased, default port and fragment dropped, query sorted
        (
            "HTTPS://WWW.IOM.INT:443/News/Foo?b=2&a=1#section",
            "https://www.iom.int/News/Foo?a=1&b=2",
        ),
        ("http://Example.COM:80/a/", "http://example.com/a/"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://www.iom.int:80/x", "https://www.iom.int:80/x"),
        # http and https kept as given
        ("http://www.iom.int/news/x", "http://www.iom.int/news/x"),
        # trailing slash neither added nor removed
        ("https://www.iom.int/news/", "https://www.iom.int/news/"),
        ("https://www.iom.int/news", "https://www.iom.int/news"),
        # tracking parameters dropped (case-insensitive), content parameters kept
        (
            "https://www.iom.int/news/x?utm_source=tw&UTM_Medium=social&utm_campaign=c"
            "&fbclid=ab&gclid=cd&mc_cid=1&mc_eid=2&_ga=3&_gl=4&msclkid=5&pk_campaign=6&id=7",
            "https://www.iom.int/news/x?id=7",
        ),
        ("https://www.iom.int/news/x?utm_source=a", "https://www.iom.int/news/x"),
        # percent-encoding normalised (upper-case escapes, unreserved decoded, UTF-8)
        (
            "https://www.iom.int/news/caf%c3%a9/%7euser?q=%e2%82%ac",
            "https://www.iom.int/news/caf%C3%A9/~user?q=%E2%82%AC",
        ),
        ("https://www.iom.int/news/café?q=é", "https://www.iom.int/news/caf%C3%A9?q=%C3%A9"),
        ("https://www.iom.int/a/./b/../c", "https://www.iom.int/a/c"),
        # blank values kept
        ("https://www.iom.int/s?b=&a=1", "https://www.iom.int/s?a=1&b="),
        # userinfo kept as is
        ("https://User:Pw@Example.com:443/x", "https://User:Pw@example.com/x"),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_canonical_url_drops_trackers_courlan_knows_and_the_ones_we_add():
    # courlan's pattern (utm_, fbclid, ...) and our additions on top (HubSpot, TikTok, LinkedIn...).
    url = ("https://www.iom.int/news/x?ttclid=1&_hsenc=2&__hstc=3&hsa_cam=4&li_fat_id=5&igsh=6&spm=7"
           "&wickedid=8&gclsrc=9&fbclid=10&utm_term=11&page=2&type[0]=press_release")
    assert canonical_url(url) == "https://www.iom.int/news/x?page=2&type[0]=press_release"


def test_canonical_url_keeps_drupal_listing_params():
    url = (
        "https://www.iom.int/search?type[0]=press_release&type[1]=blog_list"
        "&type[2]=featured_stories&sort_bef_combine=created_DESC&page=2"
    )
    expected = (
        "https://www.iom.int/search?page=2&sort_bef_combine=created_DESC"
        "&type[0]=press_release&type[1]=blog_list&type[2]=featured_stories"
    )
    assert canonical_url(url) == expected
    # the percent-encoded form Drupal sometimes emits is the same URL
    encoded = url.replace("[", "%5B").replace("]", "%5D")
    assert canonical_url(encoded) == expected
    assert canonical_url("https://www.iom.int/search?type[0]=press_release&page=2") == (
        "https://www.iom.int/search?page=2&type[0]=press_release"
    )


def test_canonical_url_is_idempotent():
    for url in [
        "HTTPS://WWW.IOM.INT:443/News/Foo?b=2&a=1&utm_source=x#y",
        "https://www.iom.int/search?type%5B0%5D=press_release&page=2",
        "https://www.iom.int/news/café?q=a+b",
    ]:
        once = canonical_url(url)
        assert canonical_url(once) == once


# ------------------------------------------------------------------------- parse_date


@pytest.mark.parametrize(
    ("text", "languages", "expected"),
    [
        ("Jul 03, 2020", ["en"], datetime(2020, 7, 3, tzinfo=VIENNA)),
        ("01 December 2021", ["en"], datetime(2021, 12, 1, tzinfo=VIENNA)),
        ("2021-12-01", ["en"], datetime(2021, 12, 1, tzinfo=VIENNA)),
        ("16 iunie 2021", ["ro"], datetime(2021, 6, 16, tzinfo=VIENNA)),
        ("16 червня 2021", ["uk"], datetime(2021, 6, 16, tzinfo=VIENNA)),
        ("16 июня 2021", ["ru"], datetime(2021, 6, 16, tzinfo=VIENNA)),
        ("16 հունիսի 2021", ["hy"], datetime(2021, 6, 16, tzinfo=VIENNA)),
        ("2021 m. birželio 16 d.", ["lt"], datetime(2021, 6, 16, tzinfo=VIENNA)),
        ("2021 m. birželio 16", ["lt"], datetime(2021, 6, 16, tzinfo=VIENNA)),
        ("Wednesday, 16 June 2021", ["en"], datetime(2021, 6, 16, tzinfo=VIENNA)),
        ("16 June 2021 10:00", ["en"], datetime(2021, 6, 16, 10, 0, tzinfo=VIENNA)),
        ("  01 December\u00a02021\n", ["en"], datetime(2021, 12, 1, tzinfo=VIENNA)),
        # language tags are reduced to their language; English is always tried too
        ("16 iunie 2021", ["ro-RO"], datetime(2021, 6, 16, tzinfo=VIENNA)),
        ("01 December 2021", ["ro"], datetime(2021, 12, 1, tzinfo=VIENNA)),
        ("Published: 16 June 2021", ["en"], datetime(2021, 6, 16, tzinfo=VIENNA)),
    ],
)
def test_parse_date_local_formats(text, languages, expected):
    result = parse_page_date(text, languages, "Europe/Vienna")
    assert result == expected
    # no offset in the text: wall time in the given zone, as a zoneinfo zone
    assert result.tzinfo == VIENNA
    assert result.replace(tzinfo=None) == expected.replace(tzinfo=None)


def test_parse_date_offset_in_text_wins():
    result = parse_page_date("2021-12-01T10:30:00+01:00", ["en"], "Europe/Chisinau")
    assert result == datetime(2021, 12, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert result.utcoffset() == timedelta(hours=1)
    assert result.hour == 10

    zulu = parse_page_date("2021-12-01T10:30:00Z", [], "Europe/Chisinau")
    assert zulu == datetime(2021, 12, 1, 10, 30, tzinfo=UTC)
    assert zulu.utcoffset() == timedelta(0)


def test_parse_date_iso_without_offset_uses_timezone():
    result = parse_page_date("2021-12-01T10:30:00", ["en"], "Europe/Chisinau")
    assert result == datetime(2021, 12, 1, 10, 30, tzinfo=CHISINAU)
    assert result.tzinfo == CHISINAU


def test_parse_date_rfc_1123():
    result = parse_page_date("Wed, 16 Jun 2021 10:00:00 GMT", ["en"], "Europe/Chisinau")
    assert result == datetime(2021, 6, 16, 10, 0, tzinfo=UTC)
    assert result.utcoffset() == timedelta(0)
    offset = parse_page_date("Wed, 16 Jun 2021 10:00:00 +0300", ["en"], "Europe/Vienna")
    assert offset == datetime(2021, 6, 16, 7, 0, tzinfo=UTC)
    assert offset.utcoffset() == timedelta(hours=3)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "garbage",
        "IOM in Moldova",
        "16 June",  # no year
        "16 iunie",
        "2021",  # year only (the caller handles it)
        "June 2021",  # no day
        "today",
        "yesterday",
        "2 days ago",
        "in 2 days",
        "last Monday",
        "вчера",
        "2021-13-45",
        "1949-12-31",  # before 1950
        "2 December 1949",
        "2999-01-01",  # far future
    ],
)
def test_parse_date_rejects(text):
    assert parse_page_date(text, ["en", "ru"], "Europe/Vienna") is None


def test_parse_date_future_window():
    now = datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).strftime("%d %B %Y")
    in_five_days = (now + timedelta(days=5)).strftime("%d %B %Y")
    assert parse_page_date(tomorrow, ["en"], "UTC") is not None
    assert parse_page_date(in_five_days, ["en"], "UTC") is None


def test_parse_date_language_must_be_given():
    # Romanian month names are not read as English
    assert parse_page_date("16 iunie 2021", ["en"], "Europe/Chisinau") is None


# ---------------------------------------------------------------------- dateline_date

REF_AFTER = datetime(2021, 6, 20, 12, 0, tzinfo=UTC)
REF_BEFORE = datetime(2021, 6, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "languages"),
    [
        ("Chisinau - 16 June. IOM in Moldova launched today a new project.", ["en"]),
        ("Kyiv—16 June – IOM Ukraine delivered aid to ...", ["en"]),
        ("Chișinău, 16 iunie. OIM Moldova a lansat astăzi ...", ["ro"]),
        ("Київ, 16 червня – МОМ в Україні ...", ["uk"]),
        ("Москва, 16 июня – МОМ ...", ["ru"]),
        ("Երևան, 16 հունիսի – ՄԻԿ ...", ["hy"]),
        ("Vilnius, birželio 16 d. Tarptautinė migracijos organizacija ...", ["lt"]),
        ("Port-au-Prince - 16 June - IOM ...", ["en"]),
        ("St. Petersburg – 16 June. IOM ...", ["en"]),
        ("Chisinau, Moldova – 16 June. IOM ...", ["en"]),
        ("Geneva – June 16 – IOM ...", ["en"]),
    ],
)
def test_dateline_without_year(body, languages):
    assert dateline_date(body, languages, "Europe/Chisinau", REF_AFTER) == datetime(
        2021, 6, 16, tzinfo=CHISINAU
    )
    # the same date would be after the reference: the year before
    assert dateline_date(body, languages, "Europe/Chisinau", REF_BEFORE) == datetime(
        2020, 6, 16, tzinfo=CHISINAU
    )


def test_dateline_result_is_midnight_in_timezone():
    result = dateline_date("Chisinau - 16 June. IOM ...", ["en"], "Europe/Chisinau", REF_AFTER)
    assert result.tzinfo == CHISINAU
    assert (result.hour, result.minute, result.second) == (0, 0, 0)
    assert result.utcoffset() == timedelta(hours=3)


def test_dateline_with_year_uses_it():
    body = "Geneva – 1 December 2021 – IOM today launched the World Migration Report."
    expected = datetime(2021, 12, 1, tzinfo=ZoneInfo("Europe/Zurich"))
    assert dateline_date(body, ["en"], "Europe/Zurich", REF_AFTER) == expected
    assert dateline_date(body, ["en"], "Europe/Zurich", REF_BEFORE) == expected


@pytest.mark.parametrize(
    "body",
    [
        "Minsk – In response to the floods of 16 June, IOM Belarus ...",
        "IOM Ukraine today launched a project in Kyiv on 16 June to help returnees.",
        "Chisinau - IOM in Moldova launched today, 16 June, a new project.",
        "",
        "Minsk",
    ],
)
def test_dateline_absent(body):
    assert dateline_date(body, ["en"], "Europe/Minsk", REF_AFTER) is None


def test_dateline_only_looks_at_the_start():
    body = "Chisinau - IOM in Moldova launched a project. " + "x " * 100 + "Kyiv – 16 June."
    assert dateline_date(body, ["en"], "Europe/Chisinau", REF_AFTER) is None


def test_dateline_year_inference_edges():
    tz = "Europe/Chisinau"
    # the reference day itself is allowed ("not after")
    same_day = datetime(2021, 6, 16, 8, 0, tzinfo=CHISINAU)
    assert dateline_date("Kyiv – 16 June. IOM", ["en"], tz, same_day) == datetime(
        2021, 6, 16, tzinfo=CHISINAU
    )
    # the reference is compared in the page's time zone: 22:30 UTC is already 16 June
    late_utc = datetime(2021, 6, 15, 22, 30, tzinfo=UTC)
    assert dateline_date("Kyiv – 16 June. IOM", ["en"], tz, late_utc) == datetime(
        2021, 6, 16, tzinfo=CHISINAU
    )
    early_utc = datetime(2021, 6, 15, 20, 0, tzinfo=UTC)
    assert dateline_date("Kyiv – 16 June. IOM", ["en"], tz, early_utc) == datetime(
        2020, 6, 16, tzinfo=CHISINAU
    )
    # 29 February goes back to the last leap year
    assert dateline_date(
        "Kyiv – 29 February. IOM", ["en"], tz, datetime(2022, 3, 1, tzinfo=UTC)
    ) == datetime(2020, 2, 29, tzinfo=CHISINAU)
    # a naive reference is read in the page's time zone
    assert dateline_date("Kyiv – 16 June. IOM", ["en"], tz, datetime(2021, 6, 16)) == datetime(
        2021, 6, 16, tzinfo=CHISINAU
    )


# ----------------------------------------------------------------- normalize_language

LITHUANIAN = (
    "Tarptautinė migracijos organizacija (TMO) Lietuvoje kartu su partneriais pradeda "
    "naują projektą, skirtą migrantų integracijai ir jų teisių apsaugai."
)
ENGLISH = (
    "The International Organization for Migration (IOM) today launched a new programme "
    "to support migrants returning to Moldova, together with the Government and partners "
    "across the region, building on years of cooperation."
)
RUSSIAN_SHORT = "Знакомство с жизнью в Молдове"


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("EN_gb", "en"),
        ("eng", "en"),
        ("ro-RO", "ro"),
        ("ron", "ro"),
        ("rum", "ro"),  # ISO 639-2/B
        ("uk", "uk"),
        ("ukr", "uk"),
        ("hy-AM", "hy"),
        ("lt", "lt"),
        ("zh-Hans-CN", "zh"),
        ("iw", "he"),  # deprecated code
        ("English", "en"),
    ],
)
def test_normalize_language_declared(declared, expected):
    # a valid declaration wins over the text
    assert normalize_language(declared, LITHUANIAN) == expected


def test_normalize_language_invalid_declaration_falls_back_to_detection():
    for declared in (None, "", "und", "x-default", "gb", "zz-ZZ", "123"):
        assert normalize_language(declared, LITHUANIAN) == "lt"


def test_normalize_language_detection():
    assert normalize_language(None, LITHUANIAN) == "lt"
    assert normalize_language(None, ENGLISH) == "en"
    assert normalize_language(None, "") is None
    assert normalize_language(None, "   ") is None
    assert normalize_language("", "") is None
    # nothing to go on: no guess
    assert normalize_language(None, "Hello world") is None


def test_normalize_language_candidates():
    # short text: only the candidates are considered
    assert normalize_language(None, RUSSIAN_SHORT, ["ro", "ru"]) == "ru"
    assert normalize_language(None, RUSSIAN_SHORT, ["ro", "en"]) in {"ro", "en"}
    assert normalize_language(None, "Moldova", ["ro-RO"]) == "ro"
    # long text: a confident detection outside the candidates is kept
    assert normalize_language("xx", ENGLISH, ["ro", "ru"]) == "en"
    assert normalize_language(None, LITHUANIAN + " " + LITHUANIAN, ["en", "lt"]) == "lt"


# ------------------------------------------------------------------ countries_mentioned


def test_countries_english():
    text = (
        "IOM in the Republic of Moldova and Ukraine helps refugees travelling to Romania, "
        "Czechia and Viet Nam, with funding from the United States of America, the UK, "
        "the Russian Federation, Turkey, Türkiye and the Republic of Korea."
    )
    assert countries_mentioned(text) == [
        "CZ", "GB", "KR", "MD", "RO", "RU", "TR", "UA", "US", "VN"
    ]


def test_countries_aliases_and_variants():
    text = (
        "Czech Republic; Hong Kong SAR China; Côte d’Ivoire and Cote d'Ivoire; the "
        "Democratic Republic of the Congo; Bosnia and Herzegovina; St. Kitts and Nevis; "
        "Saint Lucia; Myanmar (Burma); U.S. policy; the US; Lao PDR."
    )
    assert countries_mentioned(text) == [
        "BA", "CD", "CI", "CZ", "HK", "KN", "LA", "LC", "MM", "US"
    ]


def test_countries_case_and_whole_words():
    assert countries_mentioned("We ate turkey in chad and guinea fowl.") == []
    assert countries_mentioned("Chad, Turkey and Georgia.") == ["GE", "TD", "TR"]
    # longer names win over the names they contain
    assert countries_mentioned("Guinea-Bissau, Papua New Guinea and Equatorial Guinea.") == [
        "GQ", "GW", "PG"
    ]
    assert countries_mentioned("Niger and Nigeria; Dominica; Sudan and South Sudan.") == [
        "DM", "NE", "NG", "SD", "SS"
    ]
    # blockers: the name inside another place name does not count
    assert countries_mentioned("He moved to New Jersey and New Mexico.") == []
    # a name glued to other letters does not match
    assert countries_mentioned("MoldovaX and XMoldova") == []
    # possessives and hyphenated compounds do
    assert countries_mentioned("Moldova's and Ukraine-based") == ["MD", "UA"]


def test_countries_only_real_iso_codes():
    text = "The European Union, the United Nations, Europe, the world and Kosovo."
    assert countries_mentioned(text) == []
    assert countries_mentioned("") == []


def test_countries_english_demonyms():
    text = "Armenian migrants, Syrians and Afghans met Ukrainian officials."
    assert countries_mentioned(text) == ["AF", "AM", "SY", "UA"]
    # language names are not country mentions
    assert countries_mentioned("Available in French, Spanish and Russian.") == []


def test_countries_russian():
    text = (
        "МОМ в Молдове помогает беженцам из Украины, прибывшим из России в Румынию; "
        "Российской Федерации и Соединенных Штатов; Литва."
    )
    assert countries_mentioned(text, ["ru"]) == ["LT", "MD", "RO", "RU", "UA", "US"]
    assert countries_mentioned("Молдовы и Молдовой", ["ru"]) == ["MD"]
    # "Того" is also a pronoun; "Груз" (cargo) is not Georgia
    assert countries_mentioned("Того же мнения. Грузом и Грузии.", ["ru"]) == ["GE"]


def test_countries_ukrainian():
    text = "МОМ в Україні та Молдові; з Росії до Польщі та Сполучених Штатів; Молдови."
    assert countries_mentioned(text, ["uk"]) == ["MD", "PL", "RU", "UA", "US"]


def test_countries_lithuanian():
    text = (
        "Tarptautinė migracijos organizacija Lietuvoje kartu su Moldovos ir Ukrainos "
        "partneriais; Jungtinėse Amerikos Valstijose ir Baltarusijoje."
    )
    assert countries_mentioned(text, ["lt"]) == ["BY", "LT", "MD", "UA", "US"]


def test_countries_romanian():
    text = (
        "OIM în Republica Moldova și Lituania, cu sprijinul Armeniei, României, Ucrainei, "
        "Statelor Unite ale Americii, Regatului Unit și Federaţiei Ruse."
    )
    assert countries_mentioned(text, ["ro"]) == ["AM", "GB", "LT", "MD", "RO", "UA", "US"]
    # cedilla and comma-below spellings are the same letter
    assert countries_mentioned("Federaţia Rusă și Federația Rusă", ["ro"]) == ["RU"]


def test_countries_armenian():
    text = "ՄԻԿ-ը Հայաստանում և Մոլդովայում, Ռուսաստանից և Ուկրաինայի"
    assert countries_mentioned(text, ["hy"]) == ["AM", "MD", "RU", "UA"]


def test_countries_other_language_names_need_the_language():
    # English is always searched; Lithuanian names only when asked for
    assert countries_mentioned("Lietuvoje ir Moldova") == ["MD"]
    assert countries_mentioned("Lietuvoje ir Moldova", ["lt"]) == ["LT", "MD"]
    assert countries_mentioned("Lietuvoje", ["lt-LT", "xx"]) == ["LT"]


def test_countries_result_sorted_unique():
    result = countries_mentioned("Ukraine, Moldova, Ukraine, Armenia, Moldova")
    assert result == ["AM", "MD", "UA"]


# ------------------------------------------------------------------------ content_hash


def test_content_hash_empty():
    assert content_hash("") is None
    assert content_hash(" \n\t ") is None


def test_content_hash_value():
    expected = hashlib.sha256(b"iom said hello world").hexdigest()
    assert content_hash("IOM said: Hello, world!") == expected


def test_content_hash_ignores_layout_case_quotes_punctuation():
    a = 'IOM said: "Hello, world!"\n\nSecond paragraph — here.'
    b = "iom said “hello world”   second paragraph - here"
    c = "IOM SAID «HELLO WORLD»\nSECOND\u00a0PARAGRAPH – HERE…"
    assert content_hash(a) == content_hash(b) == content_hash(c)
    assert len(content_hash(a)) == 64


def test_content_hash_words_are_letters_digits_and_marks_on_every_code_point():
    """The fast regular expressions keep exactly what the per-character rule keeps:
    letters and digits (str.isalnum) and combining marks; every other character separates words."""
    import sys
    import unicodedata

    from pipelines.normalize.hashes import _ASCII_NON_ALNUM, _NON_ASCII_NON_WORD, _keep_mark

    characters = "".join(chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF)
    expected = "".join(
        ch if ch.isalnum() or unicodedata.category(ch)[0] == "M" else " " for ch in characters
    ).split()
    assert _NON_ASCII_NON_WORD.sub(_keep_mark, _ASCII_NON_ALNUM.sub(" ", characters)).split() == expected
    # Armenian, Devanagari with its vowel signs (marks), Lithuanian: words survive whole.
    assert content_hash("Միգրացիա — मराठी; Migracijos!") == content_hash("միգրացիա मराठी migracijos")


def test_content_hash_differs_on_words():
    assert content_hash("IOM helps migrants") != content_hash("IOM helps refugees")


# ---------------------------------------------------------------------------- item_uid


def test_item_uid():
    canonical = "https://www.iom.int/news/world-migration-report-2022-launched"
    uid = item_uid(canonical)
    assert uid == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    assert len(uid) == 16 and all(ch in "0123456789abcdef" for ch in uid)
    assert item_uid(canonical) == uid
    assert item_uid(canonical + "/") != uid
