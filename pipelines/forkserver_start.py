"""Imported first in the worker pool's forkserver (pipelines/workers.py): the forkserver dies with
the crawl process that started it, and its workers with it (each asks the same of the forkserver,
checking against the pid recorded here: a forkserver gone before a worker's request is noticed)."""

import os

from pipelines import workers

workers.die_with_parent(int(os.environ.get(workers.POOL_PARENT_ENV) or 0) or None)
workers.forkserver_pid = os.getpid()
