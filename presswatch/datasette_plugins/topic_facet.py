"""A Datasette facet for the topics of items, which live in item_topics, not in a column.

Metadata ``"facets": [{"topic": "topic"}]`` on the items table counts the
topics of the rows shown; each value filters with Datasette's ``_through``
(items whose id is in item_topics with that topic).
"""

from __future__ import annotations

import json

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.facets import Facet
from datasette.utils import path_with_added_args, path_with_removed_args


class TopicFacet(Facet):
    type = "topic"

    async def suggest(self):
        return []

    def _selected(self) -> tuple[str | None, str | None]:
        raw = self.request.args.get("_through")
        if not raw:
            return None, None
        try:
            through = json.loads(raw)
        except ValueError:
            return None, None
        wanted = ("item_topics", "topic")
        if isinstance(through, dict) and (through.get("table"), through.get("column")) == wanted:
            return str(through.get("value")), raw
        return None, None

    async def facet_results(self):
        if not self.get_configs() or self.table != "items":
            return [], []
        facet_size = self.get_facet_size()
        sql = (
            f"select topic as value, count(*) as count from item_topics "
            f"where item_id in (select id from ({self.sql})) "
            f"group by topic order by count desc, value limit {facet_size + 1}"
        )
        try:
            rows = await self.ds.execute(
                self.database, sql, self.params, truncate=False,
                custom_time_limit=self.ds.setting("facet_time_limit_ms"),
            )
        except QueryInterrupted:
            return [], ["topic"]
        selected, raw = self._selected()
        values = []
        for row in rows.rows[:facet_size]:
            is_selected = row["value"] == selected
            if is_selected:
                toggle = path_with_removed_args(self.request, {"_through": raw})
            else:
                through = json.dumps({"table": "item_topics", "column": "topic", "value": row["value"]},
                                     separators=(",", ":"))
                toggle = path_with_added_args(self.request, {"_through": through})
            values.append({
                "value": row["value"],
                "label": row["value"],
                "count": row["count"],
                "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(toggle)),
                "selected": is_selected,
            })
        return [{
            "name": "topic",
            "type": self.type,
            "hideable": False,
            "toggle_url": self.ds.urls.path(self.request.path),
            "results": values,
            "truncated": len(rows.rows) > facet_size,
        }], []


@hookimpl
def register_facet_classes():
    return [TopicFacet]
