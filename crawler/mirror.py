"""Fetch every site from a local mirror (the sample sites) while keeping real URLs.

With PRESSWATCH_MIRROR set (crawler.addons.MirrorAddon installs it), this download
handler sends each request for ``https://www.iom.int/news/x`` to ``http://127.0.0.1:N/news/x`` with
``Host: www.iom.int``, and hands Scrapy back a response whose URL is the real
one. Everything above the transport (robots.txt, offsite filtering, redirects,
link resolution, the archive) sees only real URLs. No request ever leaves for
the real host in mirror mode.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response


def mirrored_url(url: str, mirror: str) -> str:
    """``url``'s path and query on the mirror's scheme, host and port."""
    real, base = urlsplit(url), urlsplit(mirror)
    return urlunsplit((base.scheme, base.netloc, real.path or "/", real.query, ""))


class MirrorDownloadHandler(HTTP11DownloadHandler):
    """The HTTP/1.1 handler, talking to the mirror for every host."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.mirror = crawler.settings.get("PRESSWATCH_MIRROR", "")
        if not self.mirror:
            raise NotConfigured("PRESSWATCH_MIRROR is not set")

    async def download_request(self, request: Request) -> Response:
        host = urlsplit(request.url).netloc
        mirrored = request.replace(url=mirrored_url(request.url, self.mirror))
        mirrored.headers[b"Host"] = host.encode("idna")
        response = await super().download_request(mirrored)
        # Redirects point at real URLs (the server knows the Host it answered for).
        return response.replace(url=request.url, request=request)
