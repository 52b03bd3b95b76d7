"""DomainGuard: the last word before any request leaves, whatever produced it.

OffsiteMiddleware filters the links a spider follows; a redirect produced
further down is only checked when it is scheduled, and silently. This checks
every request at the door, redirects and robots.txt included, against the
source's domains, and refuses with a reason the spider records.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request


class OffsiteRequest(IgnoreRequest):
    """A request for a host outside the source's domains."""


class DomainGuard:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DomainGuard:
        return cls(crawler)

    def process_request(self, request: Request, spider: Any = None) -> None:
        spider = self.crawler.spider
        config = getattr(spider, "config", None)
        if config is not None and not config.allows(request.url):
            raise OffsiteRequest(
                f"refused: {request.url} is outside the source's domains {config.allowed_domains}"
            )
