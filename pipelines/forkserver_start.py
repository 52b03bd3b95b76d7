"""Imported first in the worker pool's forkserver (pipelines/workers.py): the forkserver dies with
the crawl process that started it, and its workers with it (each asks the same of the forkserver,
checking against the pid recorded here: a forkserver gone before a worker's request is noticed).
Its malloc is tuned before the extraction libraries are loaded (presswatch/malloc.py, issue 19); the
workers forked from it inherit the settings."""

import os

from pipelines import workers
from presswatch import malloc

workers.die_with_parent(int(os.environ.get(workers.POOL_PARENT_ENV) or 0) or None)
workers.forkserver_pid = os.getpid()
malloc.tune()
