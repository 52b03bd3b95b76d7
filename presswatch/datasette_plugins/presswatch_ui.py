"""`presswatch browse` made for the archive: items first, useful columns, short cells, notes folded.

Datasette 0.65 lists tables by name and shows every column and every cell in
full: on the items table that is ~1,000 px of column notes and rows several
screens tall. This plugin's script (extra_body_script) changes the pages in the
browser, nothing on the server:

- the database page lists `items` first;
- the items table shows ITEM_DEFAULT_COLUMNS unless the URL chooses (`_col`,
  `_nocol`), with a link to every column; long cells (body, summary) are cut
  to CELL_CHARS with the whole text in their tooltip (the row page shows them whole);
- the column notes are folded in a <details>.
"""

from __future__ import annotations

import json

from datasette import hookimpl

from presswatch.datasette_metadata import ITEM_DEFAULT_COLUMNS

CELL_CHARS = 240

_DATABASE_SCRIPT = """
(function () {
  var items = Array.prototype.find.call(document.querySelectorAll("div.db-table"), function (block) {
    var link = block.querySelector("h3 a");
    return link && link.getAttribute("href").split("/").pop() === "items";
  });
  if (items && items.parentNode) {
    items.parentNode.insertBefore(items, items.parentNode.querySelector("div.db-table"));
  }
})();
"""

_ITEMS_SCRIPT = """
(function () {
  var shown = %(columns)s, limit = %(limit)d;
  var notes = document.querySelector("dl.column-descriptions");
  if (notes) {
    var details = document.createElement("details");
    var summary = document.createElement("summary");
    summary.textContent = "Column notes";
    notes.parentNode.insertBefore(details, notes);
    details.appendChild(summary);
    details.appendChild(notes);
  }
  var params = new URLSearchParams(window.location.search);
  var table = document.querySelector("table.rows-and-columns");
  if (!table) { return; }
  if (!params.has("_col") && !params.has("_nocol")) {
    var hidden = [];
    table.querySelectorAll("th[data-column]").forEach(function (th) {
      var name = th.getAttribute("data-column");
      if (shown.indexOf(name) < 0 && name !== "Link") { hidden.push(name); }
    });
    hidden.forEach(function (name) {
      var cells = table.querySelectorAll('[data-column="' + name + '"], td.col-' + CSS.escape(name));
      cells.forEach(function (cell) { cell.style.display = "none"; });
    });
    if (hidden.length) {
      var note = document.createElement("p");
      note.className = "presswatch-columns";
      var all = document.createElement("a");
      table.querySelectorAll("th[data-column]").forEach(function (th) {
        var name = th.getAttribute("data-column");
        var pk = th.getAttribute("data-is-pk") === "1";
        if (name !== "Link" && !pk) { params.append("_col", name); }
      });
      all.href = "?" + params.toString();
      all.textContent = "show all " + (shown.length + hidden.length) + " columns";
      var told = hidden.length + " columns hidden (" + hidden.join(", ") + "): ";
      note.appendChild(document.createTextNode(told));
      note.appendChild(all);
      table.parentNode.insertBefore(note, table);
    }
  }
  table.querySelectorAll("td.col-body, td.col-summary").forEach(function (cell) {
    var text = cell.textContent;
    if (text.length > limit) {
      cell.title = text;
      cell.textContent = text.slice(0, limit).replace(/\\s+\\S*$/, "") + " …";
    }
  });
})();
"""


@hookimpl
def extra_body_script(template, database, table, columns, view_name, request, datasette):
    if view_name == "database":
        return _DATABASE_SCRIPT
    if view_name == "table" and table == "items":
        return _ITEMS_SCRIPT % {"columns": json.dumps(list(ITEM_DEFAULT_COLUMNS)), "limit": CELL_CHARS}
    return None
