"""What the extraction workers share: imported and warmed up once, in the forkserver.

The worker pool forks its workers from a forkserver that imports this module first. Importing the
libraries is not enough: trafilatura, dateparser, the country-name matcher and the MinHash
permutations build their tables on first use, tens of MB a process. (The MinHash is computed with
numpy alone: datasketch would import scipy, ~50 MB, for nothing it uses; pipelines/neardup.py.) (The
language identifier's model, ~70 MB, is left to load in the workers that need it: pages that declare
their language, as IOM's do, never use it.) Built here, before any worker is forked, they are shared
copy-on-write by every worker instead of being built again in each; `gc.freeze()` keeps the garbage
collector from writing to (and so copying) those shared pages.

Measured on the benchmark pages (bench/run memory): see docs/performance.md.
"""

from __future__ import annotations

import gc
import logging
from datetime import UTC, datetime

from pipelines import (
    documents,  # noqa: F401  (pypdfium2, for the workers that read PDFs)
    neardup,
    topics,  # noqa: F401  (topic scoring in the workers: pydantic and the topics.toml model)
)
from pipelines.items import FetchedPage
from pipelines.prepare import prepare_article
from pipelines.rules import ExtractionRules, NormalizationRules

logger = logging.getLogger(__name__)

# A small page in the shape of an IOM release: enough to take every lazy path once.
_SAMPLE_URL = "https://www.iom.int/news/warm-up"
_SAMPLE_PARAGRAPH = (
    "GENEVA, 3 March - The International Organization for Migration (IOM) supports migrants "
    "and displaced people in Ukraine, Moldova, Romania and Armenia with shelter, health care "
    "and protection, working with governments and partners across the region."
)
_SAMPLE_HTML = f"""<!DOCTYPE html><html lang="en"><head><title>Warm-up | IOM</title>
<meta property="article:published_time" content="2024-03-03T10:00:00+01:00"></head>
<body><nav><a href="/">Home</a></nav><main><article>
<h1>IOM scales up support for displaced people</h1>
{"".join(f"<p>{_SAMPLE_PARAGRAPH} Paragraph {n}.</p>" for n in range(8))}
</article></main><footer>IOM</footer></body></html>"""


def warm_up() -> None:
    """Extract, normalise and fingerprint the sample page once, building every lazy table."""
    page = FetchedPage(source="warm-up", url=_SAMPLE_URL, html=_SAMPLE_HTML, status=200,
                       fetched=datetime.now(UTC))
    article = prepare_article(page, ExtractionRules(), NormalizationRules(("en",), ("en",), "UTC")).article
    neardup.fingerprint(article.body if article else "", frozenset())


try:
    warm_up()
except Exception:  # a warm-up failure only costs memory: the workers build the tables themselves
    logger.warning("worker warm-up failed", exc_info=True)
gc.freeze()
