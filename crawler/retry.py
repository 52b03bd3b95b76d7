"""Retries that honour Retry-After: a busy server (503, 429) says when to come back.

Scrapy's RetryMiddleware retries at once; a server that asked for a pause
would answer 503 again. This waits what the server asked for, within a bound
(PRESSWATCH_MAX_RETRY_AFTER seconds, default 60), then retries as Scrapy does.
A longer requested wait is not honoured: the page is retried next crawl.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings

from presswatch.http import parse_http_date


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    when = parse_http_date(text)
    if when is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    def __init__(self, settings: BaseSettings):
        super().__init__(settings)
        self.max_wait = settings.getfloat("PRESSWATCH_MAX_RETRY_AFTER", 60.0)

    # A coroutine where Scrapy's is a plain method: downloader middlewares may be either.
    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        if (response.status in (429, 503) and response.status in self.retry_http_codes | {429}
                and not request.meta.get("dont_retry")):
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None:
                if wait > self.max_wait:
                    return response  # too long: give up for this crawl, the errback records it
                await asyncio.sleep(wait)
                reason = f"{response.status} (waited {wait:g}s as Retry-After asked)"
                return self._retry(request, reason) or response
        return super().process_response(request, response)
