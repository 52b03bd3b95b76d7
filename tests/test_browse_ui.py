"""Issue 16: `browse` for people: internal tables hidden, items pages of 20, the page script.

The script's effect in a browser (items first, columns, cut cells, folded notes) is not
checked here: no headless browser in this environment (issue 16, point 6, not done).
"""

from __future__ import annotations

import asyncio

from datasette.app import Datasette

from presswatch.datasette_metadata import INTERNAL_TABLES, PLUGINS_DIR, database_name, metadata


def fetch(db_path, *paths: str):
    async def run():
        datasette = Datasette([str(db_path)], metadata=metadata(database_name(db_path)),
                              plugins_dir=str(PLUGINS_DIR))
        return [await datasette.client.get(path) for path in paths]

    return asyncio.run(run())


def test_internal_tables_are_hidden_and_items_come_in_pages_of_20(archive_copy):
    database, items, page = fetch(archive_copy, "/presswatch.json", "/presswatch/items.json",
                                  "/presswatch/items")
    tables = {table["name"]: table["hidden"] for table in database.json()["tables"]}
    assert not tables["items"] and not tables["crawl_runs"]
    assert all(tables[name] for name in (*INTERNAL_TABLES, "item_countries", "item_topics", "state"))
    assert len(items.json()["rows"]) == 20
    html = page.text
    assert "Column notes" in html and '"title", "summary", "url"]' in html
    assert html.count("presswatch-columns") == 1
