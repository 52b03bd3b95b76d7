"""Imported first in the worker pool's forkserver (pipelines/workers.py): the forkserver dies with
the crawl process that started it, and its workers with it (each asks the same of the forkserver)."""

from pipelines.workers import die_with_parent

die_with_parent()
