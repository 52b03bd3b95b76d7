"""Datasette plugins for `presswatch browse` (loaded with `datasette serve --plugins-dir`)."""
