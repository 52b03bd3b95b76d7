"""Pure normalisation of extracted fields, one module per concern.

Nothing here does I/O (apart from reading the package's own data file) or knows
about Scrapy: every function takes strings (and settings passed in by the caller)
and returns plain values, so the pipelines, the CLI and the tests share them.

* text.py ......... `clean_text`, `clean_title`: Unicode, spaces, paragraphs;
* urls.py ......... `canonical_url`: w3lib's canonical form, trackers from courlan;
* hashes.py ....... `item_uid` (of the canonical URL), `content_hash` (of the words);
* dates.py ........ `parse_page_date`, `dateline_date`, `choose_date`: dateparser, zoneinfo;
* language.py ..... `normalize_language`, `iso639_1`: pycountry, py3langid;
* countries.py .... `countries_mentioned`: babel + pycountry + countries.toml;
* article.py ...... `normalize_article`: all of the above applied to an Article.
"""
